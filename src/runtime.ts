// Starts the bot's roles (web: Slack app; worker: step jobs; collector: flows) in this process,
// sharing one Redis. Start-up fails fast on what retrying cannot fix (config, kubeconfig, Redis, a
// refused token), waits with backoff for what passes (Slack or the Kubernetes API unreachable,
// shown on /readyz), and closes everything it opened when it gives up. stop() closes in reverse:
// intake first, then running jobs (finished or handed back by the deadline), connections last.
import { createSlackWebClient } from './slack/web-client.js';
import type { RedisClient } from './redis/connect.js';
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
import { clusterOfRequest, ClusterRoutes, type ClusterFront } from './slack/cluster-routes.js';
import { configForCluster } from './config/clusters.js';
import type { CustomRoute } from '@slack/bolt';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GitRepositoryConfig } from './git/config-schema.js';
import type { GitPush } from './git/push-webhook.js';
import { WebhookRateLimiter } from './webhook-rate-limit.js';
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
  redis: RedisClient;
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
  /** Each cluster's pieces by name, when the bot serves several (config `clusters`); the fields above are the first one's. */
  clusters: ReadonlyMap<string, Omit<RunningBot, 'stop' | 'metricsPort' | 'readiness' | 'port' | 'clusters'>>;
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

interface ServedCluster {
  /** The runtime's configuration: the whole file, or one of `clusters` applied to it (configForCluster). */
  config: Config;
  cluster: ClusterAccess;
  server?: string;
}

/** The clusters this bot serves: those of `clusters`, or the one of KUBECONFIG (or options.cluster). */
function clustersOf(options: StartOptions): ServedCluster[] {
  const { config } = options;
  const access = (c: Config): ServedCluster => {
    if (options.cluster && !config.clusters) return { config: c, cluster: options.cluster };
    const kc = loadKubeConfig({ kubeconfigPath: c.kubeconfigPath, ...(c.kubeContext ? { context: c.kubeContext } : {}) });
    return { config: c, cluster: createKubeGateway(kc), server: kc.getCurrentCluster()?.server };
  };
  if (!config.clusters) return [access(config)];
  return config.clusters.map((cluster) => {
    try {
      return access(configForCluster(config, cluster));
    } catch (error) {
      throw new StartupError(`cluster "${cluster.name}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  });
}

export async function startBot(options: StartOptions): Promise<RunningBot> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.log.level });
  // Cheap local checks first: nothing is open yet if one fails.
  const playbook = loadPlaybook(config.playbook.path, stepActionCheck);
  checkRoles(config);
  const autoProblems = protectedRuleProblems(config.anomalies.autoContain, protectedNamespaces(playbook, config));
  if (autoProblems.length > 0) throw new StartupError(autoProblems.join('; '));
  if (!config.redisTarget) throw new StartupError('REDIS_URL is not set: point it at the Redis the bot keeps its state in (or set redis.mode to cluster or sentinel).');
  const served = clustersOf(options);

  const resources = new Resources(logger);
  const readiness = new Readiness();
  readiness.notReady('startup', 'starting');
  try {
    // 3 s: a Redis that does not answer fails start-up well within 5 s (Kubernetes restarts the pod).
    const redis = await connectRedis(config.redisTarget, 3000, (error, connection) => logger.warn({ err: error, connection }, 'Redis connection error; reconnecting'));
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
    const kubeChecks: Dependency<void>[] = served.map(({ config: c, cluster, server }) => ({
      component: c.clusterName ? `kube:${c.clusterName}` : 'kube',
      title: c.clusterName ? `Kubernetes API of cluster ${c.clusterName}` : 'Kubernetes API',
      attempt: () => kubeApiCheck(cluster, config.kube.botNamespace),
      judge: (error) => judgeKubeError(error, server),
    }));
    const context = { readiness, logger, ...(options.signal ? { signal: options.signal } : {}), ...(options.backoff ? { backoff: options.backoff } : {}) };
    const [identity] = (await waitForDependencies<unknown[]>([slackCheck, ...(needsCluster ? kubeChecks : [])], context)) as [SlackIdentity, ...unknown[]];

    const shared = { options, logger, redis, playbook, identity, metrics, readiness, resources };
    const runtimes: ClusterRuntime[] = [];
    for (const one of served) {
      const clusterLog = one.config.clusterName ? logger.child({ cluster: one.config.clusterName }) : logger;
      runtimes.push(await startClusterRoles({ ...shared, logger: clusterLog, cluster: one.cluster }, one.config));
    }
    const port = config.roles.includes('web') ? await startWebFront(shared, runtimes) : undefined;
    observeClusters(metrics, runtimes);
    const bot = { ...runtimes[0]!.bot, port, clusters: new Map(runtimes.flatMap((r) => (r.name ? [[r.name, r.bot] as const] : []))) };
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
          return { handedBack: runtimes.flatMap((r) => r.handedBack) };
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

/** Metrics are the bot's, summed over the clusters it serves (the collector's: the first cluster's). */
function observeClusters(metrics: BotMetrics, runtimes: ClusterRuntime[]): void {
  metrics.observeQueue(async () => {
    const total: Record<string, number> = {};
    for (const counts of await Promise.all(runtimes.map((r) => r.bot.queue.counts()))) for (const [state, n] of Object.entries(counts)) total[state] = (total[state] ?? 0) + n;
    return total;
  });
  const collector = runtimes.find((r) => r.bot.collector)?.bot.collector;
  if (collector) metrics.observeCollector(collector);
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
  redis: RedisClient;
  cluster: ClusterAccess;
  playbook: Playbook;
  identity: SlackIdentity;
  metrics: BotMetrics;
  readiness: Readiness;
  resources: Resources;
}

/** What one cluster's roles expose to the bot (RunningBot) and to the Slack front. */
type ClusterBot = Omit<RunningBot, 'stop' | 'metricsPort' | 'readiness' | 'port' | 'clusters'>;

/** One cluster's runtime: its pieces, what the Slack front routes to, and the jobs its worker handed back (filled in by stop()). */
interface ClusterRuntime {
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
async function startClusterRoles(ctx: RoleContext, config: Config): Promise<ClusterRuntime> {
  const { options, logger, redis, cluster, playbook, metrics, resources } = ctx;
  const prefix = config.redis.keyPrefix;
  const client = createSlackWebClient(config.secrets.slackBotToken, config.slack.apiUrl, slackClientLogger(logger));
  const chat = new WebApiChat(client, config.slack.apiUrl);
  const store = new IncidentStore(redis, prefix, (events) => metrics.recordTimelineEvents(events));
  const queue = createJobQueue(redis, prefix, logger.child({ role: 'queue' }));
  resources.add('job queue', () => queue.close());
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
      protectedNamespaces: guarded,
      namespaceExists: (name: string) => cluster.namespaceExists(name),
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

/** The Slack front (web role): one receiver for every cluster served, routing each request to its cluster. */
async function startWebFront(ctx: Omit<RoleContext, 'cluster'>, runtimes: ClusterRuntime[]): Promise<number | undefined> {
  const { options, logger, redis, identity, readiness, resources } = ctx;
  const { config } = options;
  const prefix = config.redis.keyPrefix;
  const { approvers } = runtimes[0]!;
  const web = createSlackApp({
    signingSecret: config.secrets.slackSigningSecret,
    botToken: config.secrets.slackBotToken,
    appToken: config.secrets.slackAppToken,
    apiUrl: config.slack.apiUrl,
    identity,
    readiness: () => readiness.check(),
    boltLogger: slackClientLogger(logger.child({ role: 'web' })),
    clusters: new ClusterRoutes(runtimes.map((r) => r.front)),
    approvers,
    webhookToken: config.secrets.webhookToken,
    webhookLimiter: new WebhookRateLimiter({ redis, keyPrefix: prefix, logger: logger.child({ role: 'web' }) }),
    extraRoutes: [...clusterRoutes(runtimes, 'audit'), ...gitPushRoutes(config, runtimes, logger)],
    logger: logger.child({ role: 'web' }),
  });
  const wanted = options.port ?? config.slack.port;
  const port = await untilAborted(web.start(wanted, config.slack.host), options.signal).catch(async (error: unknown) => {
    await web.stop().catch(() => undefined);
    throw config.secrets.slackAppToken ? appTokenError(error) : inUse(error, 'slack.port', wanted, config.slack.host);
  });
  resources.add('slack receiver', () => web.stop(), intakeBudget);
  return port;
}

/**
 * A route every cluster serves (the audit webhook): the one cluster's as it is; with several, one
 * route that hands each request to the cluster its `?cluster=<name>` names.
 */
function clusterRoutes(runtimes: ClusterRuntime[], which: 'audit'): CustomRoute[] {
  const routes = runtimes.flatMap((r) => (r[which] ? [{ name: r.name, route: r[which] }] : []));
  if (routes.length === 0) return [];
  if (runtimes.length === 1) return [routes[0]!.route];
  const byName = new Map(routes.map((r) => [r.name, r.route]));
  const names = runtimes.flatMap((r) => (r.name ? [r.name] : []));
  return [
    {
      ...routes[0]!.route,
      handler: (req: IncomingMessage, res: ServerResponse) => {
        const picked = clusterOfRequest(req.url, names);
        const route = 'error' in picked ? undefined : byName.get(picked.name);
        if (!route) {
          const error = 'error' in picked ? picked.error : `cluster "${picked.name}" does not take this webhook (its token is not configured)`;
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error }));
          return;
        }
        return route.handler(req as never, res as never);
      },
    },
  ];
}

/** The Git push webhook: one route for every repository of every cluster; a push wakes each cluster that follows it. */
function gitPushRoutes(config: Config, runtimes: ClusterRuntime[], logger: Logger): CustomRoute[] {
  const following = runtimes.flatMap((r) => (r.gitPush ? [r.gitPush] : []));
  if (!config.secrets.gitWebhookSecret || following.length === 0) return [];
  const repositories = [...new Map(following.flatMap((f) => f.repositories).map((repo) => [`${repo.name}\n${repo.url}\n${repo.branch}`, repo])).values()];
  const onPush = async (push: GitPush): Promise<void> => {
    await Promise.all(following.filter((f) => f.repositories.some((repo) => repo.name === push.repository)).map((f) => f.onPush(push)));
  };
  return [gitWebhookRoute({ secret: config.secrets.gitWebhookSecret, repositories, onPush, logger: logger.child({ role: 'web' }) })];
}
