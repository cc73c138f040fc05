// The drift monitor's place in the roles: it runs next to the journal watcher (and only while that
// replica holds the watcher lock), is told of every journalled change, and hears of Git pushes
// from whichever replica runs the web role through a Redis channel.
import type { RedisClient } from '../redis/connect.js';
import type { AuditStore } from '../audit/store.js';
import type { PolicyRepositories } from '../git/index.js';
import type { GitPush } from '../git/push-webhook.js';
import type { ChangeJournal } from '../journal/index.js';
import type { KubeGateway } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { JobQueue } from '../queue/bullmq.js';
import type { DriftConfig } from './config-schema.js';
import { DriftMonitor, type DriftMonitorOptions } from './monitor.js';
import type { DriftStore } from './store.js';

export function gitPushChannel(prefix: string): string {
  return `${prefix}:drift:git-push`;
}

/** Web role: a verified push is handed to the watcher role (any replica may receive the webhook). */
export function publishPush(redis: RedisClient, prefix: string): (push: GitPush) => Promise<void> {
  return async (push) => {
    await redis.publish(gitPushChannel(prefix), JSON.stringify({ repository: push.repository, commit: push.commit ?? null }));
  };
}

export interface DriftRoleOptions {
  config: DriftConfig;
  gateway: KubeGateway;
  git: PolicyRepositories;
  store: DriftStore;
  queue: JobQueue;
  journal: ChangeJournal;
  audit: AuditStore;
  fieldManager: string;
  argocdNamespace: string;
  /** A connection of its own for the push channel (a subscriber can do nothing else). */
  subscriber: RedisClient;
  prefix: string;
  isActive(): boolean;
  logger: Logger;
  /** The watched cluster the evaluations read (absent: listed each time). */
  view?: DriftMonitorOptions['view'];
  urgentBusy?: DriftMonitorOptions['urgentBusy'];
  /** Namespaces watched beyond the configuration (the hardening step's). */
  watched?: DriftMonitorOptions['watched'];
}

export async function startDriftRole(options: DriftRoleOptions): Promise<{ monitor: DriftMonitor; stop(): Promise<void> }> {
  const { queue, logger, subscriber } = options;
  const monitor = new DriftMonitor({
    config: options.config,
    gateway: options.gateway,
    git: options.git,
    store: options.store,
    journal: options.journal,
    audit: options.audit,
    fieldManager: options.fieldManager,
    argocdNamespace: options.argocdNamespace,
    isActive: options.isActive,
    logger,
    ...(options.view ? { view: options.view } : {}),
    ...(options.urgentBusy ? { urgentBusy: options.urgentBusy } : {}),
    ...(options.watched ? { watched: options.watched } : {}),
    alert: (episode, delayMs) => queue.enqueue({ name: 'drift-alert', data: { episodeId: episode.id, version: episode.version } }, delayMs ? { delayMs } : {}),
  });
  const channel = gitPushChannel(options.prefix);
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    let repository: unknown;
    try {
      repository = (JSON.parse(message) as { repository?: unknown }).repository;
    } catch {
      return;
    }
    if (typeof repository !== 'string' || !options.isActive()) return;
    void monitor.pushed(repository).catch((error: unknown) => logger.warn({ err: error, repository }, 'drift: handling a push failed'));
  });
  await subscriber.subscribe(channel);
  monitor.start();
  return {
    monitor,
    async stop() {
      await monitor.stop();
      await subscriber.unsubscribe(channel).catch(() => undefined);
      subscriber.disconnect();
    },
  };
}
