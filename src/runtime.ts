// Starts the bot's roles (web: Slack app; worker: step jobs; collector: flows) in this process,
// sharing one Redis. Start-up fails fast on what retrying cannot fix (config, kubeconfig, Redis, a
// refused token), waits with backoff for what passes (Slack or the Kubernetes API unreachable,
// shown on /readyz), and closes everything it opened when it gives up. stop() closes in reverse:
// intake first, then running jobs (finished or handed back by the deadline), connections last.
import { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import { pipelineOptionsOf } from './config/pipeline-options.js';
import type { Config } from './config/schema.js';
import { startCollectorRole } from './anomaly/collector-role.js';
import { AnomalyDesk } from './anomaly/desk.js';
import { AutoContainLimiter } from './anomaly/auto-limit.js';
import { protectedRuleProblems } from './anomaly/auto-rules.js';
import { anomalyLookup } from './anomaly/lookup.js';
import { AnomalyStore } from './anomaly/store.js';
import { AuditFileSource } from './audit/file-source.js';
import { AuditStore } from './audit/store.js';
import { startAuditReportRole } from './audit-report/role.js';
import { auditWebhookRoute } from './audit/webhook-route.js';
import type { FlowCollector } from './flows/collector.js';
import { containmentDeps, type ContainmentSettings } from './containment/execute.js';
import { ContainmentGuard } from './containment/guard.js';
import { ContainmentLedger } from './containment/ledger.js';
import { LiveClusterView } from './restore/cluster-view.js';
import { RestoreStore } from './restore/plan-store.js';
import { TrafficCheck } from './containment/traffic.js';
import { IncidentStore } from './incident/store.js';
import { ChangeJournal } from './journal/index.js';
import { DriftDesk } from './drift/desk.js';
import { learnedEdges } from './nettest/learned.js';
import { runRevertJob } from './drift/revert.js';
import { publishPush } from './drift/role.js';
import { DriftStore } from './drift/store.js';
import { driftWatch, WatchedNamespaces } from './drift/watched-namespaces.js';
import { createChangeProposer } from './git/propose-changes.js';
import { gitWebhookRoute } from './git/push-webhook.js';
import { PolicyRepositories } from './git/index.js';
import { createKubeGateway, loadKubeConfig } from './kube/index.js';
import { untilAborted, type BackoffOptions } from './lifecycle/backoff.js';
import { waitForDependencies, type Dependency } from './lifecycle/dependencies.js';
import { jobsGraceMs } from './lifecycle/grace.js';
import { judgeKubeError, kubeApiCheck } from './lifecycle/kube-check.js';
import { Readiness } from './lifecycle/readiness.js';
import { Resources } from './lifecycle/resources.js';
import { appTokenError, judgeSlackError, slackAuthTest, slackClientLogger, type SlackIdentity } from './lifecycle/slack-auth.js';
import { StartupError } from './lifecycle/startup-error.js';
import { createLogger, type Logger } from './log.js';
import { BotMetrics, startMetricsServer } from './metrics.js';
import { IncidentEngine } from './playbook/engine.js';
import { loadPlaybook } from './playbook/load.js';
import type { Playbook } from './playbook/schema.js';
import { stepActionCheck, stepHandlers } from './playbook/steps/index.js';
import type { ClusterAccess } from './playbook/steps/types.js';
import { createJobQueue, startJobWorker, type JobQueue } from './queue/bullmq.js';
import type { IncidentJob } from './queue/jobs.js';
import { connectRedis, disconnectRedis } from './redis/connect.js';
import { withDeadline } from './redis/deadline.js';
import { createSlackApp } from './slack/app.js';
import { ApproverDirectory } from './slack/approvers.js';
import { WebApiChat } from './slack/chat.js';
import { startWatcherRole } from './watcher-role.js';

export interface StartOptions {
  config: Config;
  /** Flow-time clock for the collector (the embedded environment replays a scenario with its own times). */
  flowClock?: () => number;
  /** Cluster access; built from the kubeconfig (KUBECONFIG / in-cluster) when absent. */
  cluster?: ClusterAccess;
  logger?: Logger;
  /** HTTP port for the Slack receiver (overrides config.slack.port; 0 picks a free one). */
  port?: number;
  /** Aborting it (a stop signal during start-up) ends the waits; startBot then rejects with StartupInterrupted. */
  signal?: AbortSignal;
  /** Retry schedule of the start-up checks (Slack, Kubernetes API). */
  backoff?: BackoffOptions;
}

export interface StopOutcome {
  /** Ids of jobs still running at the deadline and handed back to the queue. */
  handedBack: string[];
}

export interface RunningBot {
  /** Port of the Slack HTTP receiver, when the web role runs over HTTP. */
  port?: number;
  engine: IncidentEngine;
  store: IncidentStore;
  queue: JobQueue;
  playbook: Playbook;
  redis: Redis;
  desk?: AnomalyDesk;
  anomalies: AnomalyStore;
  /** Kubernetes audit changes (from the audit webhook and the followed audit log). */
  audit: AuditStore;
  /** The change journal (kept by the watcher role; readable from every role). */
  journal: ChangeJournal;
  collector?: FlowCollector;
  /** Port of the metrics endpoint, when `metrics` is configured. */
  metricsPort?: number;
  readiness: Readiness;
  /** Stops within `graceMs` (default config.shutdown.graceMs); never throws. */
  stop(options?: { graceMs?: number }): Promise<StopOutcome>;
}

export function protectedNamespaces(playbook: Playbook, config: Config): Set<string> {
  return new Set([...playbook.parameters.protectedNamespaces, config.kube.botNamespace]);
}

/** Settings errors found before anything is opened. */
function checkRoles(config: Config): void {
  if (!config.roles.includes('collector')) return;
  if (!config.collector) throw new StartupError('the collector role needs a `collector` section in the configuration (source of flows)');
  if (!(config.slack.alertsChannel ?? config.slack.incidentChannel)) {
    throw new StartupError('the collector role needs slack.alertsChannel (or slack.incidentChannel) to post anomalies to');
  }
}

function inUse(error: unknown, setting: string, port: number, host: string): unknown {
  if ((error as NodeJS.ErrnoException)?.code !== 'EADDRINUSE') return error;
  return new StartupError(`${setting}: ${host}:${port} is already in use by another process; stop it or choose another port`, { cause: error });
}

/** Stopping intake (a request being answered, a last baseline snapshot) must leave running jobs most of the grace period. */
const intakeBudget = (remainingMs: number): number => Math.min(5000, remainingMs * 0.2);

function clusterOf(options: StartOptions): { cluster: ClusterAccess; server?: string } {
  if (options.cluster) return { cluster: options.cluster };
  const kc = loadKubeConfig({ kubeconfigPath: options.config.kubeconfigPath });
  return { cluster: createKubeGateway(kc), server: kc.getCurrentCluster()?.server };
}

export async function startBot(options: StartOptions): Promise<RunningBot> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.log.level });
  // Cheap local checks first: nothing is open yet if one fails.
  const playbook = loadPlaybook(config.playbook.path, stepActionCheck);
  checkRoles(config);
  const autoProblems = protectedRuleProblems(config.anomalies.autoContain, protectedNamespaces(playbook, config));
  if (autoProblems.length > 0) throw new StartupError(autoProblems.join('; '));
  if (!config.redisUrl) throw new StartupError('REDIS_URL is not set: point it at the Redis the bot keeps its state in.');
  const { cluster, server } = clusterOf(options);

  const resources = new Resources(logger);
  const readiness = new Readiness();
  readiness.notReady('startup', 'starting');
  try {
    // 3 s: a Redis that does not answer fails start-up well within 5 s (Kubernetes restarts the pod).
    const redis = await connectRedis(config.redisUrl, 3000, (error, connection) => logger.warn({ err: error, connection }, 'Redis connection error; reconnecting'));
    resources.add('redis', () => disconnectRedis(redis));
    readiness.probe('redis', () => withDeadline(redis.ping(), 2000).then(() => undefined), 2500);

    const metrics = new BotMetrics();
    let metricsPort: number | undefined;
    if (config.metrics) {
      // Up before the waits below, so /readyz can say what the bot is waiting for.
      const { port, host } = config.metrics;
      const metricsServer = await startMetricsServer(metrics, port, host, () => readiness.check()).catch((error: unknown) => {
        throw inUse(error, 'metrics.port', port, host);
      });
      resources.add('metrics server', () => metricsServer.close());
      metricsPort = metricsServer.port;
    }

    const slackCheck: Dependency<SlackIdentity> = {
      component: 'slack',
      title: 'Slack API',
      attempt: () => slackAuthTest(config.secrets.slackBotToken, config.slack.apiUrl, logger),
      judge: (error) => judgeSlackError(error, config.slack.apiUrl),
    };
    // The web, worker and watcher roles use the cluster; a collector alone never calls its API.
    const needsCluster = config.roles.includes('web') || config.roles.includes('worker') || config.roles.includes('watcher');
    const kubeCheck: Dependency<void> = {
      component: 'kube',
      title: 'Kubernetes API',
      attempt: () => kubeApiCheck(cluster, config.kube.botNamespace),
      judge: (error) => judgeKubeError(error, server),
    };
    const context = { readiness, logger, ...(options.signal ? { signal: options.signal } : {}), ...(options.backoff ? { backoff: options.backoff } : {}) };
    const [identity] = needsCluster ? await waitForDependencies([slackCheck, kubeCheck], context) : await waitForDependencies([slackCheck], context);

    const { handedBack, ...bot } = await startRoles({ options, logger, redis, cluster, playbook, identity, metrics, readiness, resources });
    readiness.forget('startup');
    logger.info({ roles: config.roles, port: bot.port, metricsPort, playbook: playbook.name, botUserId: identity.botUserId }, 'netpol-responder started');

    let stopping: Promise<StopOutcome> | undefined;
    return {
      ...bot,
      metricsPort,
      readiness,
      stop({ graceMs = config.shutdown.graceMs } = {}) {
        stopping ??= (async () => {
          readiness.notReady('shutdown', 'shutting down');
          await resources.closeAll(Date.now() + graceMs);
          return { handedBack: [...handedBack] };
        })();
        return stopping;
      },
    };
  } catch (error) {
    // Whatever was opened must not keep the process alive (or hold Redis) after a failed start.
    await resources.closeAll(Date.now() + 3000);
    throw error;
  }
}

function engineSettings(config: Config): ContainmentSettings {
  return {
    fieldManager: config.kube.fieldManager,
    applyRetries: config.kube.applyRetries,
    applyRetryDelayMs: config.kube.applyRetryDelayMs,
    containment: { anpPriority: config.containment.anpPriority, argocdSkipReconcile: config.containment.argocd.skipReconcile, argocdNamespace: config.containment.argocd.namespace },
  };
}

interface RoleContext {
  options: StartOptions;
  logger: Logger;
  redis: Redis;
  cluster: ClusterAccess;
  playbook: Playbook;
  identity: SlackIdentity;
  metrics: BotMetrics;
  readiness: Readiness;
  resources: Resources;
}

/** The roles, and the jobs the worker handed back when it was closed (filled in by stop()). */
type StartedRoles = Omit<RunningBot, 'stop' | 'metricsPort' | 'readiness'> & { handedBack: readonly string[] };

/** Builds the shared pieces and starts the configured roles, registering each for shutdown. */
async function startRoles(ctx: RoleContext): Promise<StartedRoles> {
  const { options, logger, redis, cluster, playbook, identity, metrics, readiness, resources } = ctx;
  const { config } = options;
  const prefix = config.redis.keyPrefix;
  const client = new WebClient(config.secrets.slackBotToken, {
    slackApiUrl: config.slack.apiUrl,
    retryConfig: { retries: 5, factor: 1.5, minTimeout: 200 },
    logger: slackClientLogger(logger),
  });
  const chat = new WebApiChat(client, config.slack.apiUrl);
  const store = new IncidentStore(redis, prefix, (events) => metrics.recordTimelineEvents(events));
  const queue = createJobQueue(redis, prefix, logger.child({ role: 'queue' }));
  resources.add('job queue', () => queue.close());
  metrics.observeQueue(() => queue.counts());
  // Namespaces, pods and policies as watches keep them, started by the first reader (a restore step,
  // a drift evaluation); stopped after every role that reads it.
  const clusterView = new LiveClusterView(cluster, { logger: logger.child({ module: 'cluster-view' }) });
  resources.add('cluster view', () => clusterView.stop());
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
      ? new DriftDesk({ store: driftStore, queue, chat, approvers, channel: driftChannel, incidentChannel: config.slack.incidentChannel, protectedNamespaces: guarded, selfHealGraceMs: config.drift.selfHealGrace, logger: logger.child({ role: 'drift' }) })
      : undefined;
  const proposeChanges = git ? createChangeProposer(git, { logger: logger.child({ role: 'git' }) }) : undefined;
  const engine = new IncidentEngine({
    store,
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
    await startWatcherRole({ config, cluster, redis, prefix, retention, journal, audit, ...(git ? { git } : {}), driftStore, queue, resources, intakeBudget, logger, workloads: () => clusterView.workloads() });
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
    metrics.observeCollector(collector);
  }
  let port: number | undefined;
  if (config.roles.includes('web')) {
    const web = createSlackApp({
      signingSecret: config.secrets.slackSigningSecret,
      botToken: config.secrets.slackBotToken,
      appToken: config.secrets.slackAppToken,
      apiUrl: config.slack.apiUrl,
      identity,
      readiness: () => readiness.check(),
      boltLogger: slackClientLogger(logger.child({ role: 'web' })),
      engine,
      store,
      queue,
      protectedNamespaces: guarded,
      namespaceExists: (name) => cluster.namespaceExists(name),
      desk,
      webhookToken: config.secrets.webhookToken,
      extraRoutes: [
        ...(config.secrets.auditWebhookToken
          ? [auditWebhookRoute({ token: config.secrets.auditWebhookToken, store: audit, maxBodyBytes: config.audit.webhook.maxBodyBytes, parse: auditParse, logger: logger.child({ role: 'web' }) })]
          : []),
        ...(config.secrets.gitWebhookSecret && config.git && config.git.repositories.length > 0
          ? [gitWebhookRoute({ secret: config.secrets.gitWebhookSecret, repositories: config.git.repositories, onPush: publishPush(redis, prefix), logger: logger.child({ role: 'web' }) })]
          : []),
      ],
      driftDesk,
      ...(engine.restore ? { restore: engine.restore } : {}),
      logger: logger.child({ role: 'web' }),
    });
    const wanted = options.port ?? config.slack.port;
    port = await untilAborted(web.start(wanted, config.slack.host), options.signal).catch(async (error: unknown) => {
      await web.stop().catch(() => undefined);
      throw config.secrets.slackAppToken ? appTokenError(error) : inUse(error, 'slack.port', wanted, config.slack.host);
    });
    resources.add('slack receiver', () => web.stop(), intakeBudget);
  }
  return {
    port,
    engine,
    store,
    queue,
    playbook,
    redis,
    desk,
    anomalies: anomalyStore,
    audit,
    journal,
    collector,
    handedBack,
  };
}
