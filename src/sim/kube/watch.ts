// Watch streams: one JSON event per line over a chunked response that stays open until the
// client goes away (or timeoutSeconds passes). Resumes from a resourceVersion like the apiserver,
// sends BOOKMARK events to clients that allow them, and can be cut on purpose (WatchHub).

import type { ServerResponse } from 'node:http';
import { apiVersionOf, type ResourceType } from './resources.js';
import { filterMatches, parseFilter } from './selectors.js';
import { badRequest, failure } from './status.js';
import { metaOf, type KubeObject, type ObjectStore, type StoreEvent, type WatchEventType } from './store.js';

/** One open stream, as the hub sees it. */
interface OpenWatch {
  bookmark(): void;
  cut(): void;
}

/**
 * The open watch streams of one server. Bookmarks go out every `bookmarkIntervalMs` (the
 * apiserver sends them about once a minute) and on demand; cut() drops every stream abruptly, as
 * a failing load balancer or apiserver would.
 */
export class WatchHub {
  private readonly open = new Set<OpenWatch>();

  constructor(readonly bookmarkIntervalMs = 60_000) {}

  add(w: OpenWatch): () => void {
    this.open.add(w);
    return () => this.open.delete(w);
  }

  get size(): number {
    return this.open.size;
  }

  /** Sends a BOOKMARK now on every stream whose client asked for them. */
  bookmarkAll(): void {
    for (const w of [...this.open]) w.bookmark();
  }

  /** Destroys every open stream's connection without a final chunk; returns how many were cut. */
  cutAll(): number {
    const all = [...this.open];
    for (const w of all) w.cut();
    return all.length;
  }
}

export interface WatchRequest {
  store: ObjectStore;
  hub: WatchHub;
  rt: ResourceType;
  namespace?: string;
  query: URLSearchParams;
  res: ServerResponse;
  /** Renders an object for this client (plain JSON or a Table row), chosen from its Accept header. */
  render?: (obj: KubeObject) => unknown;
}

export function startWatch(w: WatchRequest): void {
  const { store, rt, namespace, query, res } = w;
  const filter = parseFilter(rt, query);
  const rvText = query.get('resourceVersion') ?? '';
  if (rvText !== '' && !/^\d+$/.test(rvText)) throw badRequest(`invalid resource version: ${JSON.stringify(rvText)}`);
  const bookmarks = query.get('allowWatchBookmarks') === 'true' || query.get('allowWatchBookmarks') === '1';
  const timeoutText = query.get('timeoutSeconds');
  const timeoutSeconds = timeoutText === null ? 0 : Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) throw badRequest(`invalid timeoutSeconds: ${timeoutText}`);

  const render = w.render ?? ((o: KubeObject) => ({ apiVersion: apiVersionOf(rt), kind: rt.kind, ...o }));
  const relevant = (obj: KubeObject): boolean =>
    obj.kind === rt.kind && (namespace === undefined || metaOf(obj).namespace === namespace) && filterMatches(rt, filter, obj);

  // Like the apiserver's watch cache: an object that stops matching the selection is DELETED for
  // this watcher, one that starts matching is ADDED.
  const translate = (e: StoreEvent): { type: WatchEventType; object: KubeObject } | undefined => {
    if (e.resource.resource !== rt.resource) return undefined;
    const now = relevant(e.object);
    if (e.type !== 'MODIFIED' || !e.previous) return now ? { type: e.type, object: e.object } : undefined;
    const before = relevant(e.previous);
    if (now && before) return { type: 'MODIFIED', object: e.object };
    if (now) return { type: 'ADDED', object: e.object };
    if (before) return { type: 'DELETED', object: e.object };
    return undefined;
  };

  // Everything below runs synchronously up to subscribe(), so no store event can slip between
  // the replay and the live stream.
  const backlog: Array<{ type: WatchEventType; object: KubeObject }> = [];
  if (rvText === '' || rvText === '0') {
    for (const obj of store.list(rt, namespace)) if (relevant(obj)) backlog.push({ type: 'ADDED', object: obj });
  } else {
    const events = store.eventsSince(Number(rvText));
    if (events === 'expired') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const gone = failure(410, 'Expired', `too old resource version: ${rvText} (${store.resourceVersion()})`).status;
      res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
      return;
    }
    for (const e of events) {
      const out = translate(e);
      if (out) backlog.push(out);
    }
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  const send = (type: WatchEventType, object: KubeObject): void => {
    if (!res.writableEnded) res.write(`${JSON.stringify({ type, object: render(object) })}\n`);
  };
  for (const e of backlog) send(e.type, e.object);
  res.flushHeaders();

  const unsubscribe = store.subscribe((e: StoreEvent) => {
    const out = translate(e);
    if (out) send(out.type, out.object);
  });
  // A bookmark carries only the resourceVersion up to which this stream has seen everything:
  // events are written synchronously as the store commits them, so that is the store's version.
  const bookmark = (): void => {
    if (!bookmarks || res.writableEnded) return;
    res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata: { resourceVersion: store.resourceVersion() } } })}\n`);
  };
  const ticker = bookmarks ? setInterval(bookmark, w.hub.bookmarkIntervalMs) : undefined;
  ticker?.unref();
  let timer: NodeJS.Timeout | undefined;
  let forget = (): void => {};
  const stop = (): void => {
    unsubscribe();
    forget();
    if (timer) clearTimeout(timer);
    if (ticker) clearInterval(ticker);
    if (!res.writableEnded) res.end();
  };
  forget = w.hub.add({ bookmark, cut: () => res.destroy() });
  if (timeoutSeconds > 0) timer = setTimeout(stop, timeoutSeconds * 1000);
  res.on('close', stop);
}
