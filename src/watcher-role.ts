// The watcher role: the change journal's watcher (one active per cluster, on its own Redis
// connection) and, with policy repositories configured, the drift monitor beside it, told of every
// journalled change and acting only while this replica holds the watcher lock.
import type { RedisClient } from './redis/connect.js';
import type { AuditStore } from './audit/store.js';
import type { Config } from './config/schema.js';
import { startDriftRole, type DriftRoleOptions } from './drift/role.js';
import type { DriftStore } from './drift/store.js';
import { WatchedNamespaces } from './drift/watched-namespaces.js';
import type { PolicyRepositories } from './git/index.js';
import { ChangeJournal, JournalWatcher, type JournalRetention } from './journal/index.js';
import type { KubeGateway } from './kube/index.js';
import type { Resources } from './lifecycle/resources.js';
import type { Logger } from './log.js';
import type { JobQueue } from './queue/bullmq.js';

export interface WatcherRoleOptions {
  config: Config;
  cluster: KubeGateway;
  redis: RedisClient;
  prefix: string;
  retention: JournalRetention;
  /** The journal the other roles read (the drift monitor reads actors from it). */
  journal: ChangeJournal;
  audit: AuditStore;
  git?: PolicyRepositories;
  driftStore: DriftStore;
  queue: JobQueue;
  resources: Resources;
  /** What stopping intake may take of the remaining grace period. */
  intakeBudget: (remainingMs: number) => number;
  logger: Logger;
  /** The watched cluster the drift monitor reads (the view shared with the restore and the containment). */
  view?: DriftRoleOptions['view'];
  /** Whether this process's worker runs urgent jobs now: drift evaluations wait for them (a few seconds at most). */
  urgentBusy?: DriftRoleOptions['urgentBusy'];
}

export async function startWatcherRole(options: WatcherRoleOptions): Promise<void> {
  const { config, cluster, redis, prefix, git, resources, intakeBudget, logger } = options;
  const watcherRedis = redis.duplicate();
  let onJournalled: (() => void) | undefined;
  const watcher = new JournalWatcher({
    gateway: cluster,
    redis: watcherRedis,
    keyPrefix: prefix,
    journal: new ChangeJournal(watcherRedis, prefix, options.retention, { limits: { maxObjectBytes: config.journal.maxObjectBytes } }),
    logger: logger.child({ role: 'watcher' }),
    onResult: (_kind, result) => {
      if (result.outcome === 'stored') onJournalled?.();
    },
  });
  // With drift.enabled off the monitor still runs, idle, for the namespaces the hardening step adds.
  if (git) {
    const watched = new WatchedNamespaces(redis, prefix);
    const drift = await startDriftRole({
      config: config.drift,
      gateway: cluster,
      git,
      store: options.driftStore,
      queue: options.queue,
      journal: options.journal,
      audit: options.audit,
      fieldManager: config.kube.fieldManager,
      argocdNamespace: config.containment.argocd.namespace,
      subscriber: redis.duplicate(),
      prefix,
      isActive: () => watcher.isActive,
      logger: logger.child({ role: 'drift' }),
      ...(options.view ? { view: options.view } : {}),
      ...(options.urgentBusy ? { urgentBusy: options.urgentBusy } : {}),
      watched: () => watched.list(),
    });
    onJournalled = () => drift.monitor.changed();
    resources.add('drift monitor', () => drift.stop(), intakeBudget);
  }
  await watcher.start();
  resources.add(
    'change journal watcher',
    async () => {
      await watcher.stop();
      watcherRedis.disconnect();
    },
    intakeBudget,
  );
}
