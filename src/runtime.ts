// Starts the bot's roles (web: Slack app; worker: step jobs) in this process, sharing one Redis.
import { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import { pipelineOptionsOf } from './config/pipeline-options.js';
import type { Config } from './config/schema.js';
import { startCollectorRole, type CollectorRole } from './anomaly/collector-role.js';
import { AnomalyDesk } from './anomaly/desk.js';
import { anomalyLookup } from './anomaly/lookup.js';
import { AnomalyStore } from './anomaly/store.js';
import type { FlowCollector } from './flows/collector.js';
import { IncidentStore } from './incident/store.js';
import { createKubeGateway, loadKubeConfig } from './kube/index.js';
import { createLogger, type Logger } from './log.js';
import { BotMetrics, startMetricsServer, type MetricsServer } from './metrics.js';
import { IncidentEngine } from './playbook/engine.js';
import { loadPlaybook } from './playbook/load.js';
import type { Playbook } from './playbook/schema.js';
import { stepActionCheck, stepHandlers } from './playbook/steps/index.js';
import type { ClusterAccess } from './playbook/steps/types.js';
import { createJobQueue, startJobWorker, type JobQueue, type JobWorker } from './queue/bullmq.js';
import type { IncidentJob } from './queue/jobs.js';
import { connectRedis } from './redis/connect.js';
import { withDeadline } from './redis/deadline.js';
import { createSlackApp, type SlackSurface } from './slack/app.js';
import { ApproverDirectory } from './slack/approvers.js';
import { WebApiChat } from './slack/chat.js';

export interface StartOptions {
  config: Config;
  /** Flow-time clock for the collector (the embedded environment replays a scenario with its own times). */
  flowClock?: () => number;
  /** Cluster access; built from the kubeconfig (KUBECONFIG / in-cluster) when absent. */
  cluster?: ClusterAccess;
  logger?: Logger;
  /** HTTP port for the Slack receiver (overrides config.slack.port; 0 picks a free one). */
  port?: number;
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
  collector?: FlowCollector;
  /** Port of the metrics endpoint, when `metrics` is configured. */
  metricsPort?: number;
  stop(): Promise<void>;
}

export function protectedNamespaces(playbook: Playbook, config: Config): Set<string> {
  return new Set([...playbook.parameters.protectedNamespaces, config.kube.botNamespace]);
}

export async function startBot(options: StartOptions): Promise<RunningBot> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const playbook = loadPlaybook(config.playbook.path, stepActionCheck);
  if (!config.redisUrl) throw new Error('REDIS_URL is not set: point it at the Redis the bot keeps its state in.');
  const redis = await connectRedis(config.redisUrl, 5000, (error) => logger.warn({ err: error }, 'Redis connection error; reconnecting'));
  const prefix = config.redis.keyPrefix;
  const cluster = options.cluster ?? createKubeGateway(loadKubeConfig({ kubeconfigPath: config.kubeconfigPath }));
  const client = new WebClient(config.secrets.slackBotToken, { slackApiUrl: config.slack.apiUrl, retryConfig: { retries: 5, factor: 1.5, minTimeout: 200 } });
  const chat = new WebApiChat(client, config.slack.apiUrl);
  const metrics = new BotMetrics();
  const store = new IncidentStore(redis, prefix, (events) => metrics.recordTimelineEvents(events));
  const queue = createJobQueue(redis, prefix);
  metrics.observeQueue(() => queue.counts());
  const approvers = new ApproverDirectory(config.slack.approvers, chat, config.slack.approverCacheSeconds * 1000);
  const guarded = protectedNamespaces(playbook, config);
  const anomalyStore = new AnomalyStore(redis, prefix, config.anomalies.keepFor);
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
        onRaised: (anomaly) => metrics.recordAnomaly(anomaly),
      })
    : undefined;
  const engine = new IncidentEngine({
    store,
    queue,
    playbook,
    handlers: stepHandlers,
    chat,
    cluster,
    anomalies: anomalyLookup(anomalyStore, config.anomalies.recentWindow),
    approvers,
    settings: { fieldManager: config.kube.fieldManager, applyRetries: config.kube.applyRetries, applyRetryDelayMs: config.kube.applyRetryDelayMs },
    logger,
  });

  let worker: JobWorker | undefined;
  let workerConnection: Redis | undefined;
  if (config.roles.includes('worker')) {
    // Workers block on their own connection.
    workerConnection = redis.duplicate();
    const process = async (job: IncidentJob): Promise<void> => {
      if (job.name !== 'anomaly-alert') return engine.handle(job);
      if (desk) await desk.postAlert(job.data.anomalyId);
    };
    worker = startJobWorker(workerConnection, prefix, process, config.worker, logger.child({ role: 'worker' }));
  }
  let collectorRole: CollectorRole | undefined;
  let collectorConnection: Redis | undefined;
  if (config.roles.includes('collector')) {
    if (!config.collector) throw new Error('the collector role needs a `collector` section in the configuration (source of flows)');
    if (!desk) throw new Error('the collector role needs slack.alertsChannel (or slack.incidentChannel) to post anomalies to');
    collectorConnection = redis.duplicate();
    collectorRole = await startCollectorRole({
      source: config.collector.source,
      redis: collectorConnection,
      keyPrefix: prefix,
      desk,
      store: anomalyStore,
      pipeline: pipelineOptionsOf(config.collector),
      logger: logger.child({ role: 'collector' }),
      now: options.flowClock,
    });
  }
  let web: SlackSurface | undefined;
  let port: number | undefined;
  if (config.roles.includes('web')) {
    web = createSlackApp({
      signingSecret: config.secrets.slackSigningSecret,
      botToken: config.secrets.slackBotToken,
      appToken: config.secrets.slackAppToken,
      apiUrl: config.slack.apiUrl,
      engine,
      store,
      queue,
      protectedNamespaces: guarded,
      desk,
      webhookToken: config.secrets.webhookToken,
      logger: logger.child({ role: 'web' }),
    });
    port = await web.start(options.port ?? config.slack.port, config.slack.host);
  }
  if (collectorRole) metrics.observeCollector(collectorRole.collector);
  let metricsServer: MetricsServer | undefined;
  if (config.metrics) {
    // Ready while Redis answers: every role keeps its state there.
    const ready = async (): Promise<void> => {
      await withDeadline(redis.ping(), 2000);
    };
    metricsServer = await startMetricsServer(metrics, config.metrics.port, config.metrics.host, ready);
  }
  logger.info({ roles: config.roles, port, metricsPort: metricsServer?.port, playbook: playbook.name }, 'netpol-responder started');

  return {
    port,
    engine,
    store,
    queue,
    playbook,
    redis,
    desk,
    anomalies: anomalyStore,
    collector: collectorRole?.collector,
    metricsPort: metricsServer?.port,
    async stop() {
      await metricsServer?.close();
      await collectorRole?.stop();
      await web?.stop();
      await worker?.close();
      await queue.close();
      workerConnection?.disconnect();
      collectorConnection?.disconnect();
      redis.disconnect();
    },
  };
}
