// Starts the bot's roles (web: Slack app; worker: step jobs; collector: flows) in this process,
// sharing one Redis. Start-up fails fast on what retrying cannot fix (config, kubeconfig, Redis, a
// refused token), waits with backoff for what passes (Slack or the Kubernetes API unreachable,
// shown on /readyz), and closes everything it opened when it gives up. stop() closes in reverse:
// intake first, then running jobs (finished or handed back by the deadline), connections last.
import type { RedisClient } from './redis/connect.js';
import type { Config } from './config/schema.js';
import { AnomalyDesk } from './anomaly/desk.js';
import { protectedRuleProblems } from './anomaly/auto-rules.js';
import { AnomalyStore } from './anomaly/store.js';
import { AuditStore } from './audit/store.js';
import type { FlowCollector } from './flows/collector.js';
import { IncidentStore } from './incident/store.js';
import { ChangeJournal } from './journal/index.js';
import { createKubeGateway, loadKubeConfig } from './kube/index.js';
import type { BackoffOptions } from './lifecycle/backoff.js';
import { waitForDependencies, type Dependency } from './lifecycle/dependencies.js';
import { judgeKubeError, kubeApiCheck } from './lifecycle/kube-check.js';
import { Readiness } from './lifecycle/readiness.js';
import { Resources } from './lifecycle/resources.js';
import { judgeSlackError, slackAuthTest, type SlackIdentity } from './lifecycle/slack-auth.js';
import { createLogger, type Logger } from './log.js';
import { BotMetrics, startMetricsServer } from './metrics.js';
import { IncidentEngine } from './playbook/engine.js';
import { loadPlaybook } from './playbook/load.js';
import type { Playbook } from './playbook/schema.js';
import { stepActionCheck } from './playbook/steps/index.js';
import type { ClusterAccess } from './playbook/steps/types.js';
import type { JobQueue } from './queue/bullmq.js';
import { connectRedis, disconnectRedis } from './redis/connect.js';
import { withDeadline } from './redis/deadline.js';
import { configForCluster } from './config/clusters.js';
import { portInUse, StartupError } from './lifecycle/startup-error.js';
import { protectedNamespaces, startClusterRoles, type ClusterRuntime } from './runtime/cluster-roles.js';
import { startWebFront } from './runtime/web-front.js';

export { protectedNamespaces };

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

/** Settings errors found before anything is opened. */
function checkRoles(config: Config): void {
  if (!config.roles.includes('collector')) return;
  if (!config.collector) throw new StartupError('the collector role needs a `collector` section in the configuration (source of flows)');
  if (!(config.slack.alertsChannel ?? config.slack.incidentChannel)) {
    throw new StartupError('the collector role needs slack.alertsChannel (or slack.incidentChannel) to post anomalies to');
  }
}

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
    resources.add('compute metrics', metrics.observeCompute());
    let metricsPort: number | undefined;
    if (config.metrics) {
      // Up before the waits below, so /readyz can say what the bot is waiting for.
      const { port, host } = config.metrics;
      const metricsServer = await startMetricsServer(metrics, port, host, () => readiness.check()).catch((error: unknown) => {
        throw portInUse(error, 'metrics.port', port, host);
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
