// A watch on one kind that survives what clusters do to watches: it lists, then watches from the
// list's resourceVersion; after a dropped stream it resumes from the last resourceVersion it saw
// (an event's or a BOOKMARK's); when the server no longer has that version (410 Gone, or "too
// large" after the cluster was rebuilt) it lists again and reports the difference.
//
// The guarantee, for the objects the watch selects: every change is delivered, in order, exactly
// once, as added / modified / deleted, and the handler's view (the objects it was told about)
// always converges to the cluster's. Across a stream cut nothing is lost or doubled, because the
// server replays exactly the events after the resumed version, and an event for a version already
// delivered is dropped. After a relist, changes the history no longer holds arrive merged: one
// modified per changed object (or deleted then added when it was recreated under the same name),
// one deleted per object that went away. Handlers run one at a time, in order; a handler that throws
// is reported through onError and the watch goes on.

import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, explainKubeError, toKubeApiError } from './errors.js';
import { collectionPath } from './kinds.js';
import { parseLabelSelector } from './label-selector.js';
import type { ObjectClient } from './objects.js';
import type { KubeObject } from './resources.js';

export type WatchEventType = 'added' | 'modified' | 'deleted';

export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

export interface KindWatchOptions {
  /** One namespace; absent watches every namespace (namespaced kinds). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Ask the server for BOOKMARK events (default true): resuming then starts from a recent version. */
  bookmarks?: boolean;
  /** The server ends each stream after this long and the watch resumes (default 300). */
  timeoutSeconds?: number;
  /** Wait between failed attempts, doubling from initialMs up to maxMs (default 100 ms, 10 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** After the first list has been delivered, and after every relist. */
  onSynced?: (info: { resourceVersion: string; relist: boolean }) => void;
  /** Failures the watch recovers from by itself (it never throws them). */
  onError?: (error: Error) => void;
}

export interface WatchStats {
  lists: number;
  streams: number;
  events: number;
  bookmarks: number;
  /** Events dropped because their version had been delivered already. */
  duplicates: number;
  /** Events that were not objects with a name and a resourceVersion. */
  malformed: number;
}

export interface KindWatch {
  /** Resolves once the initial list has been delivered (or the watch was stopped first). */
  readonly synced: Promise<void>;
  /** The version up to which every change has been delivered. */
  resourceVersion(): string;
  readonly stats: Readonly<WatchStats>;
  /**
   * Lists again soon (ending the stream, or the wait before a retry), as a fresh watch would:
   * onSynced follows once the difference has been delivered.
   */
  relist(): void;
  /** Ends the stream and waits for the handler to finish what it was given. */
  stop(): Promise<void>;
}

type Outcome = { kind: 'closed' } | { kind: 'expired' } | { kind: 'failed'; error: KubeApiError };

function keyOf(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

function isWatchable(obj: unknown): obj is KubeObject & { metadata: { name: string; resourceVersion: string } } {
  const meta = typeof obj === 'object' && obj !== null ? (obj as KubeObject).metadata : undefined;
  return typeof meta?.name === 'string' && meta.name !== '' && typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '';
}

export function watchKind<T extends KubeObject>(
  kc: KubeConfig,
  client: ObjectClient<T>,
  handler: (event: WatchEvent<T>) => void | Promise<void>,
  opts: KindWatchOptions = {},
): KindWatch {
  const info = client.info;
  // Mistakes in the arguments are the caller's to fix now, not failures to retry forever.
  if (opts.labelSelector !== undefined && opts.labelSelector.trim() !== '') parseLabelSelector(opts.labelSelector);
  if (opts.namespace !== undefined && !info.namespaced) throw new KubeApiError({ status: 400, reason: 'BadRequest', message: `${info.kind} is cluster-scoped: watch it without a namespace` });
  if (opts.namespace !== undefined && opts.namespace.trim() === '') throw new KubeApiError({ status: 400, reason: 'BadRequest', message: 'namespace must not be blank (leave it out to watch every namespace)' });
  const known = new Map<string, T>();
  const stats: WatchStats = { lists: 0, streams: 0, events: 0, bookmarks: 0, duplicates: 0, malformed: 0 };
  const initialMs = opts.backoff?.initialMs ?? 100;
  const maxMs = opts.backoff?.maxMs ?? 10_000;
  let lastRV = '';
  let stopped = false;
  let relistAsked = false;
  let wake: () => void = () => {};
  let endStream: () => void = () => {};
  let queue: Promise<void> = Promise.resolve();
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  const report = (error: unknown): void => opts.onError?.(error instanceof Error ? error : new Error(String(error)));

  const emit = (type: WatchEventType, object: T): void => {
    stats.events++;
    queue = queue.then(() => handler({ type, object })).catch(report);
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const delay = (attempt: number): number => Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));

  /** Lists and tells the handler how the cluster differs from what it was told before. */
  const relist = async (): Promise<void> => {
    const list = await client.list({
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
      ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
    });
    stats.lists++;
    const seen = new Set<string>();
    for (const item of list.items) {
      const key = keyOf(item);
      seen.add(key);
      const prev = known.get(key);
      known.set(key, item);
      if (!prev) emit('added', item);
      else if (prev.metadata?.uid !== item.metadata?.uid) {
        emit('deleted', prev);
        emit('added', item);
      } else if (prev.metadata?.resourceVersion !== item.metadata?.resourceVersion) emit('modified', item);
    }
    for (const [key, prev] of [...known]) {
      if (seen.has(key)) continue;
      known.delete(key);
      emit('deleted', prev);
    }
    lastRV = list.resourceVersion;
    await queue;
    opts.onSynced?.({ resourceVersion: lastRV, relist: stats.lists > 1 });
    markSynced();
  };

  const onEvent = (type: string, obj: unknown): Outcome | undefined => {
    if (type === 'BOOKMARK') {
      const rv = (obj as KubeObject | undefined)?.metadata?.resourceVersion;
      if (typeof rv === 'string' && rv !== '') lastRV = rv;
      stats.bookmarks++;
      return undefined;
    }
    if (type === 'ERROR') {
      const status = obj as { code?: unknown; message?: unknown; reason?: unknown } | undefined;
      if (status?.code === 410) return { kind: 'expired' };
      return { kind: 'failed', error: new KubeApiError({ status: typeof status?.code === 'number' ? status.code : 500, reason: String(status?.reason ?? 'InternalError'), message: `watch ${info.plural}: ${String(status?.message ?? 'error event')}` }) };
    }
    if ((type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') || !isWatchable(obj)) {
      stats.malformed++;
      return undefined;
    }
    const object = obj as unknown as T;
    const key = keyOf(object);
    const prev = known.get(key);
    const rv = obj.metadata.resourceVersion;
    lastRV = rv;
    if (type === 'DELETED') {
      // A delete for an object never delivered (or already reported gone by a relist) is no news.
      if (!prev) return undefined;
      known.delete(key);
      emit('deleted', object);
      return undefined;
    }
    if (prev && prev.metadata?.resourceVersion === rv) {
      stats.duplicates++;
      return undefined;
    }
    known.set(key, object);
    emit(prev ? 'modified' : 'added', object);
    return undefined;
  };

  /** One watch stream from lastRV until it ends, breaks, or the watch stops. */
  const stream = (): Promise<Outcome> =>
    new Promise<Outcome>((resolve) => {
      let settled = false;
      let controller: AbortController | undefined;
      const finish = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        controller?.abort();
        resolve(outcome);
      };
      endStream = () => finish({ kind: 'closed' });
      stats.streams++;
      const query = {
        resourceVersion: lastRV,
        allowWatchBookmarks: opts.bookmarks ?? true,
        timeoutSeconds: opts.timeoutSeconds ?? 300,
        ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
        ...(opts.fieldSelector ? { fieldSelector: opts.fieldSelector } : {}),
      };
      const failed = (error: unknown): void => {
        const code = (error as { statusCode?: unknown } | null)?.statusCode;
        if (code === 410 || code === 504) return finish({ kind: 'expired' });
        const base =
          typeof code === 'number'
            ? new KubeApiError({ status: code, reason: code === 403 ? 'Forbidden' : code === 404 ? 'NotFound' : 'Unknown', message: code === 404 ? 'the server could not find the requested resource' : `watch ${info.plural}: HTTP ${code}`, cause: error })
            : toKubeApiError(error, `watch ${info.plural}`);
        finish({ kind: 'failed', error: explainKubeError(base, { verb: 'watch', group: info.group, version: info.version, kind: info.kind, resource: info.plural, custom: info.custom, ...(opts.namespace ? { namespace: opts.namespace } : {}) }) });
      };
      new Watch(kc)
        .watch(
          collectionPath(info, opts.namespace),
          query,
          (type, obj) => {
            if (settled) return;
            const outcome = onEvent(type, obj);
            if (outcome) finish(outcome);
          },
          (error) => (error ? failed(error) : finish({ kind: 'closed' })),
        )
        .then((c) => {
          controller = c;
          if (settled) c.abort();
        }, failed);
    });

  const loop = async (): Promise<void> => {
    let attempt = 0;
    let needList = true;
    while (!stopped) {
      if (relistAsked) needList = true;
      if (needList) {
        relistAsked = false;
        try {
          await relist();
          needList = false;
          attempt = 0;
        } catch (error) {
          report(error);
          await sleep(delay(attempt++));
          continue;
        }
      }
      // Asked for while the list was in flight, or before the stream began.
      if (relistAsked) continue;
      const startedAt = Date.now();
      const eventsBefore = stats.events + stats.bookmarks;
      const outcome = await stream();
      if (stopped) break;
      if (outcome.kind === 'expired' || relistAsked) {
        needList = true;
        continue;
      }
      const productive = stats.events + stats.bookmarks > eventsBefore || Date.now() - startedAt > 1000;
      if (productive) attempt = 0;
      if (outcome.kind === 'failed') report(outcome.error);
      // A stream that ended at once with nothing in it is a failure in disguise: back off.
      if (outcome.kind === 'failed' || !productive) await sleep(delay(attempt++));
    }
  };
  const running = loop().catch(report);

  return {
    synced,
    resourceVersion: () => lastRV,
    stats,
    relist() {
      if (stopped) return;
      relistAsked = true;
      endStream();
      wake();
    },
    async stop() {
      stopped = true;
      endStream();
      wake();
      await running;
      await queue;
      markSynced();
    },
  };
}
