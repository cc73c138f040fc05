// One watch per kind for a whole process, shared by everyone who watches that kind unfiltered.
//
// The worker's change journal, containment guard and restore cluster view each watch pods and
// policies across the cluster. Each watch used to list and hold its own copy of every object: at
// 10k pods and 10k policies that is tens of thousands of objects more on the heap, and the major
// collections they cost stall the event loop that approvals and containments run on. Shared, the
// kind is listed and held once, and every subscriber sees it through the same objects.
//
// A subscriber gets what a watch of its own would give (watch.ts): the objects as 'added' then
// onSynced, every change after in order, onSynced again after each relist, and its own handler
// queue, so a slow subscriber (the journal waiting on Redis) never holds up the others. One that
// joins while the shared watch has reported trouble may be joining a watch that is behind, so it
// asks for a relist and is given the objects once that is done, as a fresh watch would list them.

import type { KindWatch, KindWatchOptions, WatchEvent, WatchEventType } from './watch.js';

/** Opens the one underlying watch of a kind (watchKind on the gateway's client). */
export type OpenWatch = (handler: (event: WatchEvent<unknown>) => void, opts: KindWatchOptions) => KindWatch;

interface Subscriber {
  handler: (event: WatchEvent<unknown>) => void | Promise<void>;
  opts: KindWatchOptions;
  queue: Promise<void>;
  /** Given the objects and its first onSynced: it gets every event from then on. */
  attached: boolean;
  stopped: boolean;
  markSynced: () => void;
}

interface Shared {
  watch: KindWatch;
  objects: Map<string, unknown>;
  subscribers: Set<Subscriber>;
  /** The underlying watch has delivered a list. */
  listed: boolean;
  /** It reported trouble since its last list: it may be behind until it lists again. */
  troubled: boolean;
}

function keyOf(object: unknown): string {
  const meta = (object as { metadata?: { namespace?: string; name?: string } }).metadata;
  return `${meta?.namespace ?? ''}/${meta?.name ?? ''}`;
}

/** True when `opts` watch the whole kind, so one shared watch can serve them. */
export function isShareable(opts: KindWatchOptions): boolean {
  return opts.namespace === undefined && !opts.labelSelector?.trim() && !opts.fieldSelector?.trim();
}

/** Options that change how the underlying stream runs: subscribers share only when these agree. */
function streamKey(kind: string, opts: KindWatchOptions): string {
  return JSON.stringify([kind, opts.bookmarks ?? true, opts.timeoutSeconds ?? 300, opts.backoff?.initialMs ?? 100, opts.backoff?.maxMs ?? 10_000]);
}

export interface WatchHub {
  subscribe(kind: string, open: OpenWatch, handler: (event: WatchEvent<unknown>) => void | Promise<void>, opts: KindWatchOptions): KindWatch;
  /** Underlying watches open now (for tests and diagnostics). */
  readonly open: number;
}

export function createWatchHub(): WatchHub {
  const shared = new Map<string, Shared>();

  const report = (sub: Subscriber, error: unknown): void => sub.opts.onError?.(error instanceof Error ? error : new Error(String(error)));
  const deliver = (sub: Subscriber, type: WatchEventType, object: unknown): void => {
    sub.queue = sub.queue.then(() => sub.handler({ type, object })).catch((error: unknown) => report(sub, error));
  };
  const synced = (sub: Subscriber, info: { resourceVersion: string; relist: boolean }): void => {
    sub.queue = sub.queue.then(() => {
      if (sub.stopped) return;
      sub.opts.onSynced?.(info);
      sub.markSynced();
    }).catch((error: unknown) => report(sub, error));
  };
  const attach = (entry: Shared, sub: Subscriber): void => {
    sub.attached = true;
    for (const object of entry.objects.values()) deliver(sub, 'added', object);
    synced(sub, { resourceVersion: entry.watch.resourceVersion(), relist: false });
  };

  const openShared = (key: string, open: OpenWatch, opts: KindWatchOptions): Shared => {
    const entry: Shared = { watch: undefined as unknown as KindWatch, objects: new Map(), subscribers: new Set(), listed: false, troubled: false };
    entry.watch = open(
      (event) => {
        const key = keyOf(event.object);
        if (event.type === 'deleted') entry.objects.delete(key);
        else entry.objects.set(key, event.object);
        for (const sub of entry.subscribers) if (sub.attached) deliver(sub, event.type, event.object);
      },
      {
        ...(opts.bookmarks !== undefined ? { bookmarks: opts.bookmarks } : {}),
        ...(opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {}),
        ...(opts.backoff ? { backoff: opts.backoff } : {}),
        // Runs once every event of the list has been handled: the objects are the list's.
        onSynced: (info) => {
          entry.listed = true;
          entry.troubled = false;
          for (const sub of entry.subscribers) {
            if (sub.attached) synced(sub, info);
            else attach(entry, sub);
          }
        },
        onError: (error) => {
          entry.troubled = true;
          for (const sub of entry.subscribers) report(sub, error);
        },
      },
    );
    shared.set(key, entry);
    return entry;
  };

  return {
    get open() {
      return shared.size;
    },
    subscribe(kind, open, handler, opts) {
      const key = streamKey(kind, opts);
      const entry = shared.get(key) ?? openShared(key, open, opts);
      let markSynced: () => void = () => undefined;
      const syncedOnce = new Promise<void>((resolve) => (markSynced = resolve));
      const sub: Subscriber = { handler, opts, queue: Promise.resolve(), attached: false, stopped: false, markSynced };
      entry.subscribers.add(sub);
      if (entry.listed && !entry.troubled) attach(entry, sub);
      else if (entry.listed) entry.watch.relist();
      // (Not listed yet: the first list attaches it.)
      return {
        synced: syncedOnce,
        resourceVersion: () => entry.watch.resourceVersion(),
        stats: entry.watch.stats,
        relist: () => entry.watch.relist(),
        async stop() {
          if (sub.stopped) return;
          // What it was given is still handled; nothing more is given, and no further onSynced.
          sub.stopped = true;
          entry.subscribers.delete(sub);
          markSynced();
          // The last one out ends the watch; a subscriber arriving meanwhile opens a new one.
          if (entry.subscribers.size === 0 && shared.get(key) === entry) {
            shared.delete(key);
            await entry.watch.stop();
          }
          await sub.queue;
        },
      };
    },
  };
}
