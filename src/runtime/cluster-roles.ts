// One cluster's runtime: its stores, queue, engine, and the roles (worker, watcher, collector,
// audit report) that run for it, each registered for shutdown. The Slack front (web-front.ts)
// routes to it; the process starts one per cluster served (runtime.ts).
import { createSlackWebClient } from '../slack/web-client.js';
import { disconnectRedis, type RedisClient } from '../redis/connect.js';
import { RedisHeartbeat } from '../redis/heartbeat.js';
import { pipelineOptionsOf } from '../config/pipeline-options.js';
import type { Config } from '../config/schema.js';
import { startCollectorRole } from '../anomaly/collector-role.js';
import { AnomalyDesk } from '../anomaly/desk.js';
import { AutoContainLimiter } from '../anomaly/auto-limit.js';
import { anomalyLookup } from '../anomaly/lookup.js';
import { AnomalyStore } from '../anomaly/store.js';
import { AuditFileSource } from '../audit/file-source.js';
import { AuditStore } from '../audit/store.js';
import { startAuditReportRole } from '../audit-report/role.js';
import { auditWebhookRoute } from '../audit/webhook-route.js';
import type { FlowCollector } from '../flows/collector.js';
import { containmentDeps, type ContainmentSettings } from '../containment/execute.js';
import { ContainmentGuard } from '../containment/guard.js';
import { ContainmentLedger } from '../containment/ledger.js';
import { NamespaceNames } from '../kube/namespace-names.js';
import { LiveClusterView } from '../restore/cluster-view.js';
import { RestoreStore } from '../restore/plan-store.js';
import { TrafficCheck } from '../containment/traffic.js';
import { IncidentStore } from '../incident/store.js';
import { ChangeJournal } from '../journal/index.js';
import { DriftDesk } from '../drift/desk.js';
import { learnedEdges } from '../nettest/learned.js';
import { runRevertJob } from '../drift/revert.js';
import { publishPush } from '../drift/role.js';
import { DriftStore } from '../drift/store.js';
import { driftWatch, WatchedNamespaces } from '../drift/watched-namespaces.js';
import { createChangeProposer } from '../git/propose-changes.js';
import { PolicyRepositories } from '../git/index.js';
import { jobsGraceMs } from '../lifecycle/grace.js';
import { Readiness } from '../lifecycle/readiness.js';
import { Resources } from '../lifecycle/resources.js';
import { slackClientLogger, type SlackIdentity } from '../lifecycle/slack-auth.js';
import type { Logger } from '../log.js';
import { BotMetrics } from '../metrics.js';
import { IncidentEngine } from '../playbook/engine.js';
import type { Playbook } from '../playbook/schema.js';
import { stepHandlers } from '../playbook/steps/index.js';
import type { ClusterAccess } from '../playbook/steps/types.js';
import { createJobQueue, startJobWorker } from '../queue/bullmq.js';
import type { IncidentJob } from '../queue/jobs.js';
import type { ClusterFront } from '../slack/cluster-routes.js';
import type { CustomRoute } from '@slack/bolt';
import type { GitRepositoryConfig } from '../git/config-schema.js';
import type { GitPush } from '../git/push-webhook.js';
import { ApproverDirectory } from '../slack/approvers.js';
import { WebApiChat } from '../slack/chat.js';
import { startWatcherRole } from '../watcher-role.js';
import type { RunningBot, StartOptions } from '../runtime.js';

function engineSettings(config: Config): ContainmentSettings {
  return {
    fieldManager: config.kube.fieldManager,
    applyRetries: config.kube.applyRetries,
    applyRetryDelayMs: config.kube.applyRetryDelayMs,
    containment: { anpPriority: config.containment.anpPriority, argocdSkipReconcile: config.containment.argocd.skipReconcile, argocdNamespace: config.containment.argocd.namespace },
  };
}

export interface RoleContext {
  options: StartOptions;
  logger: Logger;
  redis: RedisClient;
  cluster: ClusterAccess;
  playbook: Playbook;
  identity: SlackIdentity;
  metrics: BotMetrics;
  readiness: Readiness;
  resources: Resources;
}

/** What one cluster's roles expose to the bot (RunningBot) and to the Slack front. */
export type ClusterBot = Omit<RunningBot, 'stop' | 'metricsPort' | 'readiness' | 'port' | 'clusters'>;

/** One cluster's runtime: its pieces, what the Slack front routes to, and the jobs its worker handed back (filled in by stop()). */
export interface ClusterRuntime {
  name?: string;
  bot: ClusterBot;
  front: ClusterFront;
  approvers: ApproverDirectory;
  config: Config;
  handedBack: readonly string[];
  /** HTTP routes of this cluster's webhooks (audit, git push), mounted by the Slack front. */
  audit?: CustomRoute;
  gitPush?: { repositories: GitRepositoryConfig[]; onPush: (push: GitPush) => Promise<void> };
}

/** Builds one cluster's pieces and starts its roles (all but web), registering each for shutdown. */
export async function startClusterRoles(ctx: RoleContext, config: Config): Promise<ClusterRuntime> {
  const { options, logger, redis, cluster, playbook, metrics, resources } = ctx;
  const prefix = config.redis.keyPrefix;
  const client = createSlackWebClient(config.secrets.slackBotToken, config.slack.apiUrl, slackClientLogger(logger));
  const chat = new WebApiChat(client, config.slack.apiUrl);
  const store = new IncidentStore(redis, prefix, (events) => metrics.recordTimelineEvents(events));
  // The acknowledgements' Redis check has a connection of its own: on the shared one it waited
  // behind whatever else the process had sent (a journal read, a timeline), up to 300 ms under load.
  const pings = config.roles.includes('web') ? redis.duplicate() : undefined;
  if (pings) resources.add('redis (acknowledgement checks)', () => disconnectRedis(pings));
  const queue = createJobQueue(redis, prefix, logger.child({ role: 'queue' }), pings);
  resources.add('job queue', () => queue.close());
  const redisHeartbeat = pings ? new RedisHeartbeat(() => pings.ping()) : undefined;
  if (redisHeartbeat) {
    redisHeartbeat.start();
    resources.add('redis heartbeat', async () => redisHeartbeat.stop());
  }
  // Namespaces, pods and policies as watches keep them, started by the first reader (a restore step,
  // a drift evaluation); stopped after every role that reads it.
  const clusterView = new LiveClusterView(cluster, { logger: logger.child({ module: 'cluster-view' }) });
  resources.add('cluster view', () => clusterView.stop());
  // The web role answers `/netpol incident <namespace>` from a namespace watch, not an API call per command.
  const namespaceNames = config.roles.includes('web') ? new NamespaceNames(cluster, logger.child({ module: 'namespace-names' })) : undefined;
  if (namespaceNames) {
    namespaceNames.start();
    resources.add('namespace names', () => namespaceNames.stop());
    // Ready to answer from the watch when the API lists in time; otherwise commands ask the API until it does.
    if (!(await namespaceNames.inSync(2000))) logger.warn('namespace watch not in sync within 2 s: slash commands ask the API server until it is');
  }
  const approvers = new ApproverDirectory(config.slack.approvers, chat, config.slack.approverCacheSeconds * 1000);
  const guarded = protectedNamespaces(playbook, config);
  const anomalyStore = new AnomalyStore(redis, prefix, config.anomalies.keepFor);
  const audit = new AuditStore(redis, prefix, { maxAgeMs: config.audit.retention.maxAge, maxEntries: config.audit.retention.maxEntries }, config.audit.maxStoredBytes);
  const auditParse = { botFieldManager: config.kube.fieldManager };
  if (config.audit.logFile) {
    // The apiserver's log is on its node: whichever process is configured with it follows it.
    const { path, history, pollInterval, maxLineBytes } = config.audit.logFile;
    const auditLog = new AuditFileSource({ path, history, pollMs: pollInterval, maxLineBytes, maxAgeMs: config.audit.retention.maxAge, store: audit, parse: auditParse, logger: logger.child({ role: 'audit-log' }) });
    await auditLog.start();
    resources.add('audit log follower', () => auditLog.stop(), intakeBudget);
  }
  const alertsChannel = config.slack.alertsChannel ?? config.slack.incidentChannel;
  const desk = alertsChannel
    ? new AnomalyDesk({
        store: anomalyStore,
        queue,
        chat,
        approvers,
        alertsChannel,
        incidentChannel: config.slack.incidentChannel,
        protectedNamespaces: guarded,
        dismissForMs: config.collector?.dismissFor ?? 7 * 86_400_000,
        ...(config.clusterName ? { cluster: config.clusterName } : {}),
        logger: logger.child({ role: 'anomalies' }),
        onRaised: (anomaly) => {
          metrics.recordAnomaly(anomaly);
          // An incident in its post-restore watch window hears when its anomaly fires again.
          void engine.restoreRunner?.noticeAnomaly(anomaly).catch((error: unknown) => logger.warn({ err: error }, 'checking the restore watch windows failed'));
        },
        autoContain: {
          rules: config.anomalies.autoContain,
          limiter: new AutoContainLimiter(redis, prefix, { ...config.anomalies.autoContainLimit, windowMs: config.anomalies.autoContainLimit.window }),
          openIncidentFor: (scopeKey) => store.openIncidentFor(scopeKey),
        },
      })
    : undefined;
  const ledger = new ContainmentLedger(redis, prefix);
  const retention = { maxAgeMs: config.journal.maxAge, maxEntries: config.journal.maxEntries };
  const journal = new ChangeJournal(redis, prefix, retention, { limits: { maxObjectBytes: config.journal.maxObjectBytes } });
  // Policy repositories: clones fetched on an interval where steps run (worker) and drift is watched (watcher).
  const git = config.git && config.git.repositories.length > 0 ? new PolicyRepositories(config.git, logger.child({ role: 'git' })) : undefined;
  const driftStore = new DriftStore(redis, prefix);
  const driftChannel = config.slack.driftChannel ?? alertsChannel;
  const driftDesk =
    git && driftChannel
      ? new DriftDesk({ store: driftStore, queue, chat, approvers, channel: driftChannel, incidentChannel: config.slack.incidentChannel, protectedNamespaces: guarded, selfHealGraceMs: config.drift.selfHealGrace, ...(config.clusterName ? { cluster: config.clusterName } : {}), logger: logger.child({ role: 'drift' }) })
      : undefined;
  const proposeChanges = git ? createChangeProposer(git, { logger: logger.child({ role: 'git' }) }) : undefined;
  const engine = new IncidentEngine({
    store,
    ...(config.clusterName ? { clusterName: config.clusterName } : {}),
    queue,
    playbook,
    handlers: stepHandlers,
    chat,
    cluster,
    anomalies: anomalyLookup(anomalyStore, config.anomalies.recentWindow),
    approvers,
    settings: engineSettings(config),
    protectedNamespaces: guarded,
    ledger,
    traffic: new TrafficCheck(redis, prefix),
    journal,
    audit,
    ...(git ? { git } : {}),
    driftIgnore: config.drift.ignore,
    restore: new RestoreStore(redis, prefix),
    clusterView,
    // The collector role snapshots its baseline to Redis; any role can read the learned edges.
    ...(config.collector ? { learnedEdges: (namespaces: string[]) => learnedEdges(redis, prefix, namespaces) } : {}),
    // Step 5 delivers its files as a branch and a pull/merge request, and turns drift monitoring on.
    ...(proposeChanges ? { proposeChanges } : {}),
    permalink: (channel: string, ts: string) => chat.permalink(channel, ts),
    driftWatch: driftWatch(new WatchedNamespaces(redis, prefix), config.drift, git ? undefined : 'no policy repository is configured (git.repositories), and drift is compared with Git'),
    logger,
  });

  const handedBack: string[] = [];
  let urgentBusy: (() => boolean) | undefined;
  if (config.roles.includes('worker')) {
    const process = async (job: IncidentJob): Promise<void> => {
      if (job.name === 'anomaly-alert') {
        if (desk) await desk.postAlert(job.data.anomalyId);
        return;
      }
      if (job.name === 'drift-alert') {
        if (driftDesk) await driftDesk.postAlert(job.data.episodeId);
        return;
      }
      if (job.name === 'drift-revert') {
        if (git) await runRevertJob(job.data, { gateway: cluster, git, store: driftStore, queue, fieldManager: config.kube.fieldManager, logger: logger.child({ role: 'drift' }) });
        return;
      }
      return engine.handle(job);
    };
    // Workers block on their own connection (a duplicate: it reports its errors like the rest).
    const worker = startJobWorker(redis.duplicate(), prefix, process, config.worker, logger.child({ role: 'worker' }));
    urgentBusy = () => worker.activeIn('urgent') > 0;
    // The scheduled audit report: posted once per period whichever worker replica takes it.
    await startAuditReportRole({ config, redis, prefix, cluster, chat, resources, logger });
    // Keeps active containments in force (pods joining, policies reverted); one active per cluster.
    const guardLog = logger.child({ role: 'containment-guard' });
    const guard = new ContainmentGuard({
      gateway: cluster,
      deps: containmentDeps(cluster, ledger, engineSettings(config), guardLog, (ms) => new Promise((r) => setTimeout(r, ms))),
      redis: redis.duplicate(),
      keyPrefix: prefix,
      report: async (incidentId, events) => {
        await store.appendEvents(incidentId, events);
        await engine.publish(incidentId);
      },
      logger: guardLog,
      view: clusterView,
    });
    await guard.start();
    resources.add('containment guard', () => guard.stop(), intakeBudget);
    resources.add('worker', async (deadline) => {
      handedBack.push(...(await worker.close(jobsGraceMs(deadline - Date.now()))).handedBack);
    });
  }
  if (git && (config.roles.includes('worker') || config.roles.includes('watcher'))) {
    // The first clone may take a while: the bot starts meanwhile, and a trace syncs on demand.
    void git.start().then((results) => {
      for (const { name, result } of results) if (!result.ok) logger.warn({ repository: name, error: result.error }, 'policy repository not synced; retrying on its interval');
    });
    resources.add('policy repositories', () => git.stop());
  }
  let collector: FlowCollector | undefined;
  if (config.roles.includes('watcher')) {
    // Journals policy and namespace-label changes, and watches drift from Git; one active per cluster.
    await startWatcherRole({ config, cluster, redis, prefix, retention, journal, audit, ...(git ? { git } : {}), driftStore, queue, resources, intakeBudget, logger, view: clusterView, ...(urgentBusy ? { urgentBusy } : {}) });
  }
  if (config.roles.includes('collector') && config.collector && desk) {
    const role = await startCollectorRole({
      source: config.collector.source,
      redis: redis.duplicate(),
      keyPrefix: prefix,
      desk,
      store: anomalyStore,
      pipeline: pipelineOptionsOf(config.collector),
      logger: logger.child({ role: 'collector' }),
      now: options.flowClock,
    });
    resources.add('collector', () => role.stop(), intakeBudget);
    collector = role.collector;
  }
  return {
    ...(config.clusterName ? { name: config.clusterName } : {}),
    config,
    bot: { engine, store, queue, playbook, redis, desk, anomalies: anomalyStore, audit, journal, collector },
    front: {
      ...(config.clusterName ? { name: config.clusterName } : {}),
      engine,
      store,
      queue,
      ...(redisHeartbeat ? { redisHeartbeat } : {}),
      protectedNamespaces: guarded,
      // A namespace the watch holds exists (the incident's job checks again); the API is asked about any other.
      namespaceExists: async (name: string) => namespaceNames?.has(name) ?? cluster.namespaceExists(name),
      ...(desk ? { desk } : {}),
      ...(driftDesk ? { driftDesk } : {}),
      ...(engine.restore ? { restore: engine.restore } : {}),
    },
    approvers,
    handedBack,
    ...(config.secrets.auditWebhookToken
      ? { audit: auditWebhookRoute({ token: config.secrets.auditWebhookToken, store: audit, maxBodyBytes: config.audit.webhook.maxBodyBytes, parse: auditParse, logger: logger.child({ role: 'web' }) }) }
      : {}),
    ...(config.git && config.git.repositories.length > 0 ? { gitPush: { repositories: config.git.repositories, onPush: publishPush(redis, prefix) } } : {}),
  };
}

export function protectedNamespaces(playbook: Playbook, config: Config): Set<string> {
  return new Set([...playbook.parameters.protectedNamespaces, config.kube.botNamespace]);
}

/** Stopping intake (a request being answered, a last baseline snapshot) must leave running jobs most of the grace period. */
export const intakeBudget = (remainingMs: number): number => Math.min(5000, remainingMs * 0.2);
