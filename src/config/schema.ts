// The configuration schema: one YAML file for settings, environment variables for secrets.
// Every field is documented in README.md ("Configuration reference").
import { z } from 'zod';
import { DRIFT_DEFAULTS, driftSchema } from '../drift/config-schema.js';
import { durationSchema } from './duration.js';
import { DEFAULT_LANE_SLOTS } from '../queue/jobs.js';
import { DEFAULT_PLAYBOOK_PATH } from './package-files.js';
import { ANOMALY_KINDS, DEFAULT_AUTO_MAX_DURATION_MS, MAX_AUTO_MAX_DURATION_MS, SEVERITIES } from '../anomaly/auto-rules.js';
import { STRATEGIES } from '../containment/strategy.js';
import { auditSchema } from '../audit/config-schema.js';
import { AUDIT_REPORT_DEFAULTS, auditReportSchema } from '../audit-report/config-schema.js';
import { gitSchema } from '../git/config-schema.js';
import { redisSchema } from './redis-schema.js';
import { clustersSchema } from './clusters.js';
import type { RedisTarget } from '../redis/target.js';

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id like U0123ABCD');
const slackUsergroupId = z.string().regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group id like S0123ABCD');
const slackChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id like C0123ABCD');
const dns1123Label = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lower-case letters, digits, "-")')
  .max(63);

const positive = z.number().positive().max(1e6);
const atLeastOne = z.number().int().min(1).max(1e9);
const enabled = z.boolean();

/** Overrides of the detectors' thresholds (src/flows/detect/config.ts); every field optional. */
export const detectorsSchema = z
  .object({
    newExternalEgress: z.object({ enabled }).partial().strict(),
    newEastWestEdge: z.object({ enabled }).partial().strict(),
    volumeSpike: z
      .object({ enabled, minHistoryBuckets: atLeastOne, madFactor: positive, minRatio: positive, minCount: atLeastOne, edgeDevFactor: positive, edgeMinRatio: positive, edgeMinCount: atLeastOne })
      .partial()
      .strict(),
    policyDenySpike: z.object({ enabled, minHistoryBuckets: atLeastOne, madFactor: positive, minRatio: positive, minCount: atLeastOne }).partial().strict(),
    fanOut: z.object({ enabled, minDistinct: atLeastOne, peakFactor: positive }).partial().strict(),
  })
  .partial()
  .strict();

/** The baseline's time scales and memory bounds that operators tune; every field optional. */
export const baselineSchema = z
  .object({
    /** Rate bucket length (volume and deny spikes are judged per bucket). */
    bucket: durationSchema,
    /** Buckets of history kept per workload for the median/MAD. */
    historyBuckets: z.number().int().min(5).max(10_000),
    /** Half-life of an edge's weight: how fast retired peers fade. */
    halfLife: durationSchema,
    /** Window in which distinct destinations are counted for fan-out. */
    fanoutWindow: durationSchema,
    maxEdgesPerWorkload: z.number().int().min(16).max(1_000_000),
    maxEdgesTotal: z.number().int().min(1000).max(100_000_000),
    maxWorkloads: z.number().int().min(10).max(10_000_000),
    /** Prefix lengths that group external addresses into one peer. */
    cidrV4Prefix: z.number().int().min(8).max(32),
    cidrV6Prefix: z.number().int().min(16).max(128),
    /** DNS suffixes that are cluster-internal (never external egress). */
    clusterDomains: z.array(z.string().min(1).max(253)).max(100),
  })
  .partial()
  .strict()
  .refine((b) => b.bucket === undefined || b.bucket >= 1000, { message: 'bucket must be at least 1s', path: ['bucket'] });

/**
 * Sharded collectors (collector.source.sharding): every replica renews a lease; the live ones split
 * the relay's namespaces by rendezvous hashing. A dead replica's namespaces move after leaseTtl.
 */
export const shardingSchema = z
  .object({
    /** A replica that stops renewing for this long is gone and its namespaces move to the others. */
    leaseTtl: durationSchema.refine((ms) => ms >= 1_000 && ms <= 300_000, 'must be between 1s and 5m').default(15_000),
    /** Lease renewal and namespace-list refresh period (default leaseTtl / 3). */
    heartbeat: durationSchema.refine((ms) => ms >= 50, 'must be at least 50ms').optional(),
    /** Each owned namespace's baseline is saved this often: what a successor starts from if this replica dies. */
    snapshotEvery: durationSchema.refine((ms) => ms >= 100 && ms <= 3_600_000, 'must be between 100ms and 1h').default(60_000),
  })
  .strict()
  .refine((s) => s.heartbeat === undefined || s.heartbeat * 2 <= s.leaseTtl, { message: 'heartbeat must be at most half of leaseTtl', path: ['heartbeat'] })
  .transform((s) => ({
    leaseTtlMs: s.leaseTtl,
    ...(s.heartbeat !== undefined ? { heartbeatMs: s.heartbeat } : {}),
    snapshotEveryMs: s.snapshotEvery,
  }));

/** The flow collector (role "collector"): where flows come from and how anomalies are judged. */
export const collectorSchema = z
  .object({
    source: z.discriminatedUnion('kind', [
      z
        .object({
          kind: z.literal('hubble-relay'),
          /** host:port of Hubble Relay's gRPC API, e.g. hubble-relay.kube-system.svc:80 */
          address: z.string().regex(/^[^\s:/]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'must be host:port'),
          namespaces: z.object({ allow: z.array(z.string()).optional(), deny: z.array(z.string()).optional() }).strict().optional(),
          /** Start from the relay's buffer at this time (ISO-8601) instead of new flows only. */
          since: z.iso.datetime().transform((t) => Date.parse(t)).optional(),
          /** Ask the relay only for the Flow fields the collector reads (GetFlowsRequest.field_mask). */
          fieldMask: z.boolean().default(true),
          /** Split the namespaces between the collector replicas; absent = one active replica, the others stand by. */
          sharding: shardingSchema.optional(),
        })
        .strict(),
      z.object({ kind: z.literal('jsonl-file'), path: z.string().min(1), fromEnd: z.boolean().default(true) }).strict(),
    ]),
    /** A workload is not reported on until it has been watched this long. */
    learningPeriod: durationSchema.default(3_600_000),
    /** One alert per ongoing event: repeats closer together than this are folded into it. */
    cooldown: durationSchema.default(900_000),
    /** "Dismiss as expected" mutes an anomaly's dedupe key for this long. */
    dismissFor: durationSchema.default(7 * 86_400_000),
    /** Detector thresholds; each figure left out keeps its default (docs/flows.md). */
    detectors: detectorsSchema.optional(),
    /** Baseline time scales and memory bounds; each figure left out keeps its default. */
    baseline: baselineSchema.optional(),
  })
  .strict();

/** One automatic response rule: anomalies it matches are contained at once, without approval, time-boxed. */
export const autoContainRuleSchema = z
  .object({
    /** Anomaly kinds that match (any when absent). */
    kinds: z.array(z.enum(ANOMALY_KINDS)).min(1).max(ANOMALY_KINDS.length).optional(),
    /** The lowest severity that matches (any when absent). */
    minSeverity: z.enum(SEVERITIES).optional(),
    /** Namespaces (of the suggested scope) that match (any when absent). */
    namespaces: z.array(dns1123Label).min(1).max(1000).optional(),
    /** Containment strategy, over the playbook's contain step. */
    strategy: z.enum(['auto', ...STRATEGIES]).optional(),
    /** The time box: lifted (and verified) when it runs out, unless an approver keeps it. */
    maxDuration: durationSchema
      .refine((ms) => ms > 0 && ms <= MAX_AUTO_MAX_DURATION_MS, 'must be more than 0 and at most 24h: automatic containment is always time-boxed')
      .default(DEFAULT_AUTO_MAX_DURATION_MS),
  })
  .strict()
  .refine((r) => r.kinds !== undefined || r.minSeverity !== undefined || r.namespaces !== undefined, {
    message: 'a rule needs at least one of kinds, minSeverity or namespaces (to match every anomaly, say minSeverity: low)',
  });

const AUTO_LIMIT_DEFAULTS = { perNamespace: 3, total: 3, window: 3_600_000 };

/** The brake on automatic response: at most this many automatic containments per sliding window. */
export const autoContainLimitSchema = z
  .object({
    perNamespace: z.number().int().min(1).max(100).default(AUTO_LIMIT_DEFAULTS.perNamespace),
    total: z.number().int().min(1).max(1000).default(AUTO_LIMIT_DEFAULTS.total),
    window: durationSchema.refine((ms) => ms >= 1000 && ms <= 7 * 86_400_000, 'must be between 1s and 7d').default(AUTO_LIMIT_DEFAULTS.window),
  })
  .strict()
  .default(AUTO_LIMIT_DEFAULTS);

export const fileConfigSchema = z
  .object({
    slack: z
      .object({
        /** Channel where incidents opened outside a slash command (e.g. from anomalies) are posted. */
        incidentChannel: slackChannelId.optional(),
        /** Channel where anomalies are posted with "Open incident"; defaults to incidentChannel. */
        alertsChannel: slackChannelId.optional(),
        /** Channel where the drift monitor posts drifts from Git; defaults to alertsChannel, then incidentChannel. */
        driftChannel: slackChannelId.optional(),
        approvers: z
          .object({
            users: z.array(slackUserId).default([]),
            usergroups: z.array(slackUsergroupId).default([]),
          })
          .strict()
          .refine((a) => a.users.length + a.usergroups.length > 0, 'at least one approver user or user group is required'),
        /** Web API base URL; only changed to point the bot at the embedded Slack stand-in. */
        apiUrl: z.url().optional(),
        port: z.number().int().min(0).max(65535).default(3000),
        host: z.string().default('0.0.0.0'),
        /** How long a user group's member list is cached when checking approvers. */
        approverCacheSeconds: z.number().int().min(0).max(3600).default(60),
      })
      .strict(),
    redis: redisSchema,
    kube: z
      .object({
        /** Namespace the bot itself runs in; always protected from containment. */
        botNamespace: dns1123Label.default('netpol-responder'),
        fieldManager: z.string().min(1).max(128).default('netpol-responder'),
        /** Retries for transient API errors (5xx, 429, network) when applying a policy. */
        applyRetries: z.number().int().min(0).max(10).default(3),
        applyRetryDelayMs: z.number().int().min(0).max(60_000).default(200),
      })
      .strict()
      .default({ botNamespace: 'netpol-responder', fieldManager: 'netpol-responder', applyRetries: 3, applyRetryDelayMs: 200 }),
    containment: z
      .object({
        /** Priority of the quarantine AdminNetworkPolicy (0 is the highest precedence; 1000 the lowest). */
        anpPriority: z.number().int().min(0).max(1000).default(0),
        argocd: z
          .object({
            /** Set argocd.argoproj.io/skip-reconcile on the Argo CD Application of a patched policy while contained (needs get/patch on applications). */
            skipReconcile: z.boolean().default(false),
            /** Where Applications live when a tracking id does not say. */
            namespace: dns1123Label.default('argocd'),
          })
          .strict()
          .default({ skipReconcile: false, namespace: 'argocd' }),
      })
      .strict()
      .default({ anpPriority: 0, argocd: { skipReconcile: false, namespace: 'argocd' } }),
    playbook: z
      .object({ path: z.string().min(1).default(DEFAULT_PLAYBOOK_PATH) })
      .strict()
      .default({ path: DEFAULT_PLAYBOOK_PATH }),
    collector: collectorSchema.optional(),
    /** Several Kubernetes clusters served by this bot (src/config/clusters.ts); absent: the one of KUBECONFIG. */
    clusters: clustersSchema.optional(),
    /** Kubernetes audit evidence: retention, the webhook's body limit, the followed log file. */
    audit: auditSchema,
    /** Policy repositories (GitOps): clones the trace step reads history from. */
    git: gitSchema.optional(),
    /** The drift monitor (watcher role): live policies against the policy repositories. */
    drift: driftSchema.default(DRIFT_DEFAULTS),
    /** The scheduled audit report (worker role): the live cluster's audit posted to Slack. */
    auditReport: auditReportSchema.default(AUDIT_REPORT_DEFAULTS),
    anomalies: z
      .object({
        /** Anomalies this recent in a namespace are shown when an incident is opened there. */
        recentWindow: durationSchema.default(3_600_000),
        /** How long anomalies are kept in Redis. */
        keepFor: durationSchema.default(7 * 86_400_000),
        /** Automatic response, off when empty: the first matching rule contains without approval. */
        autoContain: z.array(autoContainRuleSchema).max(50).default([]),
        autoContainLimit: autoContainLimitSchema,
      })
      .strict()
      .default({ recentWindow: 3_600_000, keepFor: 7 * 86_400_000, autoContain: [], autoContainLimit: AUTO_LIMIT_DEFAULTS }),
    roles: z
      .array(z.enum(['web', 'worker', 'collector', 'watcher']))
      .min(1)
      .default(['web', 'worker', 'watcher']),
    /** The change journal the watcher role keeps (src/journal): bounded by age and by count. */
    journal: z
      .object({
        maxAge: durationSchema.refine((ms) => ms >= 60_000 && ms <= 366 * 86_400_000, 'must be between 1m and 366d').default(30 * 86_400_000),
        maxEntries: z.number().int().min(100).max(10_000_000).default(200_000),
        /** A stored object larger than this (once stripped of noise) is replaced by a truncation marker. */
        maxObjectBytes: z.number().int().min(4096).max(4 * 1024 * 1024).default(256 * 1024),
      })
      .strict()
      .default({ maxAge: 30 * 86_400_000, maxEntries: 200_000, maxObjectBytes: 256 * 1024 }),
    worker: z
      .object({
        /** Slots for urgent work: approved steps, clicks, alerts, lifts, restore steps. */
        concurrency: z.number().int().min(1).max(256).default(8),
        /** Slots for opening incidents (drawing up proposals). */
        proposalConcurrency: z.number().int().min(1).max(256).default(DEFAULT_LANE_SLOTS.proposals),
        /** Slots for the steps that run by themselves (traces, validations): few, so they leave the CPU to the rest. */
        backgroundConcurrency: z.number().int().min(1).max(256).default(DEFAULT_LANE_SLOTS.background),
        /** A job whose worker stops renewing its lock for this long is handed to another worker. */
        lockDurationMs: z.number().int().min(1000).max(600_000).default(30_000),
        stalledIntervalMs: z.number().int().min(500).max(600_000).default(15_000),
      })
      .strict()
      .default({ concurrency: 8, proposalConcurrency: DEFAULT_LANE_SLOTS.proposals, backgroundConcurrency: DEFAULT_LANE_SLOTS.background, lockDurationMs: 30_000, stalledIntervalMs: 15_000 }),
    /** Prometheus metrics on their own port (off unless set): every role can expose them. */
    metrics: z
      .object({
        port: z.number().int().min(0).max(65535),
        host: z.string().default('0.0.0.0'),
      })
      .strict()
      .optional(),
    shutdown: z
      .object({
        /** After SIGTERM/SIGINT, the process exits within this; in-flight jobs still running near its end go back to the queue. Keep it under the pod's terminationGracePeriodSeconds (30 s by default). */
        graceMs: z.number().int().min(1000, 'must be at least 1000 (1 s)').max(600_000, 'must be at most 600000 (10 min)').default(25_000),
      })
      .strict()
      .default({ graceMs: 25_000 }),
    export: z.object({ dir: z.string().min(1).default('postmortem') }).strict().default({ dir: 'postmortem' }),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export const envSchema = z.object({
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, 'must be a bot token starting with xoxb-'),
  SLACK_SIGNING_SECRET: z.string().min(8, 'must be the app signing secret'),
  SLACK_APP_TOKEN: z.string().regex(/^xapp-/, 'must be an app-level token starting with xapp-').optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Redis Cluster and Sentinel modes: the ACL user and password of the Redis servers (single mode keeps them in REDIS_URL). */
  REDIS_USERNAME: z.string().min(1).max(256).optional(),
  REDIS_PASSWORD: z.string().min(1).max(1024).optional(),
  /** Sentinel mode: the password of the Sentinels themselves, when they require one. */
  REDIS_SENTINEL_PASSWORD: z.string().min(1).max(1024).optional(),
  KUBECONFIG: z.string().optional(),
  /** Shared secret the Alertmanager / Falcosidekick webhooks must present; webhooks are off without it. */
  NETPOL_WEBHOOK_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Bearer token kube-apiserver's audit webhook must present on /webhooks/k8s-audit; that webhook is off without it. */
  NETPOL_AUDIT_WEBHOOK_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Secret of the GitHub / GitLab push webhook on /webhooks/git (HMAC key for GitHub, X-Gitlab-Token for GitLab); that webhook is off without it. */
  NETPOL_GIT_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
});

export type FileConfig = z.infer<typeof fileConfigSchema>;
export type EnvConfig = z.infer<typeof envSchema>;

export interface Config extends FileConfig {
  secrets: { slackBotToken: string; slackSigningSecret: string; slackAppToken?: string; webhookToken?: string; auditWebhookToken?: string; gitWebhookSecret?: string };
  redisUrl?: string;
  /** Where Redis is (built from redis.mode and the REDIS_* variables); absent in single mode without REDIS_URL. */
  redisTarget?: RedisTarget;
  kubeconfigPath?: string;
  /** The kubeconfig context to use (clusters[].kube.context); absent: its current context. */
  kubeContext?: string;
  /** Set in a runtime serving one of `clusters`: its name, shown in every message about it. */
  clusterName?: string;
}
