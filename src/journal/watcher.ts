// The watcher role: one active per cluster (a Redis lock), it watches NetworkPolicies, Namespaces,
// and the AdminNetworkPolicies, BaselineAdminNetworkPolicies and CiliumNetworkPolicies the cluster
// serves, cluster-wide, and journals every change.
//
// The watch helper (src/kube/watch.ts) resumes from resourceVersion, relists after 410 Gone and
// keeps its resume point fresh with bookmarks. What it cannot know is what happened while no
// watcher ran (before start, between a crash and a takeover): after each list the watcher compares
// the objects listed with those the journal holds as live and journals the missing ones as deleted
// (inferred). Objects listed again are no news to the journal unless they changed (decide.ts).
//
// A write that fails (Redis down) is retried while this replica holds the lock, so the watch
// does not move past a change the journal has not stored. Every write is fenced by the lock: a
// replica that lost it cannot write after its successor started.
import type { RedisClient } from '../redis/connect.js';
import type { KindWatch, KubeGateway, WatchEvent } from '../kube/index.js';
import type { Logger } from '../log.js';
import { SingletonLock } from '../redis/singleton-lock.js';
import { JournalQueryError } from './query.js';
import { watcherLockKey, type AppendResult, type ChangeJournal, type Fence } from './store.js';

export { watcherLockKey };
import { JOURNAL_KINDS, type JournalKind } from './types.js';

export interface JournalWatcherOptions {
  gateway: KubeGateway;
  /** The lock's connection. */
  redis: RedisClient;
  keyPrefix: string;
  journal: ChangeJournal;
  logger: Logger;
  lockTtlMs?: number;
  /** How often served kinds are looked up again, so a CRD installed later gets watched (default 60 s). */
  discoveryIntervalMs?: number;
  /** Retry schedule of the watches. */
  watchBackoff?: { initialMs?: number; maxMs?: number };
  /** First pause before retrying a failed journal write, doubling up to 5 s (default 200 ms). */
  retryMs?: number;
  /** Shown in the lock value. */
  instance?: string;
  /** Told of every write's outcome (metrics, tests, the benchmark). */
  onResult?: (kind: JournalKind, result: AppendResult) => void;
}

/** Watched wherever the API is: core and networking.k8s.io/v1. The others only when served. */
const ALWAYS: ReadonlySet<JournalKind> = new Set<JournalKind>(['NetworkPolicy', 'Namespace']);

interface Tail {
  watch: KindWatch;
  /** What this watch has been told is there (keys "<ns>/<name>"), to compare with the journal after a list. */
  live: Set<string>;
  chain: Promise<void>;
  synced: Promise<void>;
}

export interface WatcherStats {
  stored: number;
  unchanged: number;
  skipped: number;
  refused: number;
  fenced: number;
  writeErrors: number;
}

function keyOf(obj: unknown): string {
  const meta = (obj as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  return `${typeof meta?.namespace === 'string' ? meta.namespace : ''}/${String(meta?.name ?? '')}`;
}

export class JournalWatcher {
  readonly lock: SingletonLock;
  readonly stats: WatcherStats = { stored: 0, unchanged: 0, skipped: 0, refused: 0, fenced: 0, writeErrors: 0 };
  private readonly tails = new Map<JournalKind, Tail>();
  private readonly wakers = new Set<() => void>();
  private running = false;
  private generation = 0;
  private discoveryTimer: NodeJS.Timeout | null = null;
  private discovering: Promise<void> = Promise.resolve();

  constructor(private readonly options: JournalWatcherOptions) {
    this.lock = new SingletonLock(options.redis, {
      key: watcherLockKey(options.keyPrefix),
      instance: options.instance ?? 'watcher',
      ...(options.lockTtlMs ? { ttlMs: options.lockTtlMs } : {}),
      onAcquired: () => this.activate(),
      onLost: (reason) => this.deactivate(reason),
    });
  }

  get isActive(): boolean {
    return this.running;
  }

  /** The kinds watched right now. */
  get kinds(): JournalKind[] {
    return JOURNAL_KINDS.filter((k) => this.tails.has(k));
  }

  async start(): Promise<void> {
    await this.lock.start();
  }

  async stop(): Promise<void> {
    await this.lock.stop();
    await this.deactivate('stopped');
  }

  /**
   * Resolves once the kinds are known and every watch has journalled its first list (and compared
   * it with the journal). A watch that cannot list (no permission, API down) keeps it waiting.
   */
  async ready(): Promise<void> {
    await this.discovering;
    await Promise.all([...this.tails.values()].map(async (t) => (await t.synced, await t.chain)));
  }

  private activate(): void {
    if (this.running) return;
    this.running = true;
    const generation = ++this.generation;
    this.options.logger.info('change journal watcher active');
    // Not awaited: the lock renews only after this returns, and a first list can take a while.
    this.discovering = this.discover(generation);
  }

  private async deactivate(reason: string): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.discoveryTimer) clearTimeout(this.discoveryTimer);
    this.discoveryTimer = null;
    for (const wake of this.wakers) wake();
    // A discovery still in flight (the API slow to answer) sees the new generation and starts nothing.
    const tails = [...this.tails.values()];
    this.tails.clear();
    await Promise.all(tails.map((t) => t.watch.stop()));
    this.options.logger.info({ reason }, 'change journal watcher stood down');
  }

  private active(generation: number): boolean {
    return this.running && generation === this.generation;
  }

  /** Watches the kinds the cluster serves (and stops those it no longer does), then looks again later. */
  private async discover(generation: number): Promise<void> {
    const { gateway, logger } = this.options;
    let served: Set<JournalKind>;
    let failed = false;
    try {
      const discovery = await gateway.discoverKinds();
      served = new Set(JOURNAL_KINDS.filter((k) => ALWAYS.has(k) || discovery[k].served));
    } catch (error) {
      failed = true;
      logger.warn({ err: error }, 'change journal: API discovery failed; watching NetworkPolicies and Namespaces, looking again shortly');
      served = new Set([...ALWAYS, ...this.tails.keys()]);
    }
    for (const kind of JOURNAL_KINDS) {
      if (!this.active(generation)) return;
      const tail = this.tails.get(kind);
      if (served.has(kind) && !tail) this.tails.set(kind, this.follow(kind, generation));
      if (!served.has(kind) && tail) {
        this.tails.delete(kind);
        logger.info({ kind }, 'change journal: kind no longer served; its watch stops');
        await tail.watch.stop();
      }
    }
    if (!this.active(generation)) return;
    const next = failed ? 5000 : (this.options.discoveryIntervalMs ?? 60_000);
    this.discoveryTimer = setTimeout(() => {
      this.discovering = this.discover(generation);
    }, next);
    this.discoveryTimer.unref();
  }

  private follow(kind: JournalKind, generation: number): Tail {
    const { gateway, journal, logger } = this.options;
    let markSynced: () => void = () => undefined;
    const tail: Tail = { live: new Set(), chain: Promise.resolve(), synced: new Promise((r) => (markSynced = r)), watch: undefined as unknown as KindWatch };
    const enqueue = (task: () => Promise<void>): Promise<void> => (tail.chain = tail.chain.then(task));
    const handler = (event: WatchEvent<unknown>): Promise<void> => {
      const key = keyOf(event.object);
      if (event.type === 'deleted') tail.live.delete(key);
      else tail.live.add(key);
      return enqueue(() => this.write(kind, generation, (fence) => journal.append(kind, event, { fence })));
    };
    tail.watch = gateway.watch(kind, handler as never, {
      ...(this.options.watchBackoff ? { backoff: this.options.watchBackoff } : {}),
      onError: (error) => logger.warn({ err: error, kind }, 'change journal: watch trouble (it recovers by itself)'),
      // Called once the list's events are journalled (the helper waits for its handler first).
      onSynced: () => {
        const listed = new Set(tail.live);
        void enqueue(() => this.reconcile(kind, generation, listed)).then(markSynced);
      },
    });
    return tail;
  }

  /** Objects the journal holds as live that a fresh list no longer shows went while nobody watched. */
  private async reconcile(kind: JournalKind, generation: number, listed: Set<string>): Promise<void> {
    const held = (await this.retrying(kind, generation, () => this.options.journal.liveObjects(kind))) ?? [];
    for (const ref of held) {
      if (listed.has(`${ref.namespace ?? ''}/${ref.name}`)) continue;
      await this.write(kind, generation, (fence) => this.options.journal.appendGone(kind, ref, { fence }));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  /** Runs a Redis operation, retrying failures while this replica is active (undefined once it is not). */
  private async retrying<T>(kind: JournalKind, generation: number, op: () => Promise<T>): Promise<T | undefined> {
    let pause = this.options.retryMs ?? 200;
    while (this.active(generation)) {
      try {
        return await op();
      } catch (error) {
        if (error instanceof JournalQueryError) throw error;
        this.stats.writeErrors++;
        this.options.logger.warn({ err: error, kind }, 'change journal: Redis trouble; retrying');
        await this.sleep(pause);
        pause = Math.min(pause * 2, 5000);
      }
    }
    return undefined;
  }

  /** One journal write, retried while this replica is active, its outcome counted and reported. */
  private async write(kind: JournalKind, generation: number, op: (fence: Fence) => Promise<AppendResult>): Promise<void> {
    const { logger } = this.options;
    const fence = { key: watcherLockKey(this.options.keyPrefix), token: this.lock.token };
    let result: AppendResult | undefined;
    try {
      result = await this.retrying(kind, generation, () => op(fence));
    } catch (error) {
      logger.warn({ err: error, kind }, 'change journal: a name it holds is not valid; skipped');
      return;
    }
    if (!result) return;
    this.stats[result.outcome]++;
    if (result.outcome === 'refused') logger.warn({ kind, reason: result.reason }, 'change journal: refused an object from the watch');
    if (result.outcome === 'fenced') logger.warn({ kind }, 'change journal: the watcher lock is no longer ours; not writing');
    this.options.onResult?.(kind, result);
  }
}
