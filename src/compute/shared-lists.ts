// Whole-cluster lists handed to the compute threads without copying them for every task.
//
// A task's input is copied to its thread (structured clone), synchronously, on the main thread: a
// cluster of 10k pods and 10k policies took 150–300 ms of event loop per task, and a containment
// sends it three times. Fifty containments at once held Slack's acknowledgements and the flow
// collector up for seconds. Here a list is cut by namespace, each part serialized once into a
// SharedArrayBuffer and kept while that namespace's objects are the same ones (the watched view
// hands out the same objects until they change), so a task costs the main thread only the parts
// that changed. A thread decodes each part once and keeps it while tasks keep using it, frozen so
// that no task can change what the next one reads.
//
// The parts go in one order whatever order the objects come in: namespaces by name, objects by name
// within one. The urgent thread refreshes its index in place only when the lists come in the order
// of the last task, and a scope read fresh comes last in its lists (readScopeLive): in the order it
// came, each containment's first task rebuilt every namespace's rules.
import { deserialize, serialize } from 'node:v8';
import { namespaceOfObject } from '../kube/resources.js';
import type { LiveObjects } from '../policy/index.js';

export interface SharedPart {
  /** Unique to these bytes: a thread keeps what it decoded under it. */
  id: number;
  bytes: SharedArrayBuffer;
}

/** A list as its namespaces' parts, in order. */
export interface SharedList {
  sharedParts: SharedPart[];
}

type ListName = keyof LiveObjects;
export type SharedLive = { [K in ListName]?: readonly unknown[] | SharedList };

/** Lists shorter than this are sent as they are: cutting them saves nothing. */
const SHARE_FROM = 500;

// ---- main thread ----

let nextId = 1;
/** The last part made for each list and namespace, with the objects it holds and the share that last used it. */
const made = new Map<string, { items: unknown[]; part: SharedPart; used: number }>();
let shares = 0;
/** A part no share used for this many shares is let go (a namespace deleted, a list no task sends). */
const KEEP_FOR_SHARES = 64;

const sameItems = (a: readonly unknown[], b: readonly unknown[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function nameOf(item: unknown): string {
  const name = (item as { metadata?: { name?: unknown } } | null | undefined)?.metadata?.name;
  return typeof name === 'string' ? name : '';
}

/** By name; a stable sort, so a name listed twice keeps its order (the later one still wins). */
const byName = (a: unknown, b: unknown): number => {
  const x = nameOf(a);
  const y = nameOf(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

function partOf(key: string, items: unknown[]): SharedPart {
  const kept = made.get(key);
  if (kept && sameItems(kept.items, items)) {
    kept.used = shares;
    return kept.part;
  }
  const encoded = serialize([...items].sort(byName));
  const bytes = new SharedArrayBuffer(encoded.length);
  new Uint8Array(bytes).set(encoded);
  const part = { id: nextId++, bytes };
  made.set(key, { items, part, used: shares });
  return part;
}

/** One list (of shareLive) as shared parts: a part per namespace, by namespace name; objects by name within a part. */
function shareList(name: string, items: readonly unknown[]): readonly unknown[] | SharedList {
  if (items.length < SHARE_FROM) return items;
  const byNamespace = new Map<string, unknown[]>();
  for (const item of items) {
    const ns = namespaceOfObject(item) ?? '';
    let group = byNamespace.get(ns);
    if (!group) byNamespace.set(ns, (group = []));
    group.push(item);
  }
  const namespaces = [...byNamespace.keys()].sort();
  return { sharedParts: namespaces.map((ns) => partOf(`${name}\0${ns}`, byNamespace.get(ns) as unknown[])) };
}

/** The live objects with every long list shared. */
export function shareLive(live: LiveObjects): SharedLive {
  shares++;
  const out: SharedLive = {};
  for (const [name, items] of Object.entries(live) as Array<[ListName, readonly unknown[] | undefined]>) {
    if (items !== undefined) out[name] = shareList(name, items);
  }
  for (const [key, entry] of made) if (shares - entry.used > KEEP_FOR_SHARES) made.delete(key);
  return out;
}

// ---- compute thread ----

/** Parts decoded on this thread, with the task count when last used. */
const decoded = new Map<number, { items: readonly unknown[]; used: number }>();
let tasks = 0;
/** A part no task used for this many tasks is let go. */
const KEEP_FOR_TASKS = 8;

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

function itemsOf(part: SharedPart): readonly unknown[] {
  let entry = decoded.get(part.id);
  if (!entry) {
    const items = deserialize(Buffer.from(part.bytes)) as unknown;
    if (!Array.isArray(items)) throw new Error(`shared part ${part.id} does not hold a list`);
    deepFreeze(items);
    decoded.set(part.id, (entry = { items, used: tasks }));
  }
  entry.used = tasks;
  return entry.items;
}

const isShared = (list: unknown): list is SharedList => typeof list === 'object' && list !== null && Array.isArray((list as SharedList).sharedParts);

/** The live objects a task was given, lists whole again; the thread calls `settled()` after each task. */
export function openLive(live: SharedLive | LiveObjects): LiveObjects {
  const out: LiveObjects = {};
  for (const [name, list] of Object.entries(live) as Array<[ListName, SharedLive[ListName]]>) {
    if (list === undefined) continue;
    out[name] = isShared(list) ? list.sharedParts.flatMap((part) => itemsOf(part)) : list;
  }
  return out;
}

/**
 * The same lists in their parts, each part the very (frozen) array the thread keeps for it while
 * tasks keep using it; a list not shared is one part. For what is worked out part by part and
 * kept per part (a fingerprint).
 */
export function openLiveParts(live: SharedLive | LiveObjects): { [K in ListName]?: ReadonlyArray<readonly unknown[]> } {
  const out: { [K in ListName]?: ReadonlyArray<readonly unknown[]> } = {};
  for (const [name, list] of Object.entries(live) as Array<[ListName, SharedLive[ListName]]>) {
    if (list === undefined) continue;
    out[name] = isShared(list) ? list.sharedParts.map((part) => itemsOf(part)) : [list];
  }
  return out;
}

/** A task is done: parts unused for a while are let go. */
export function settled(): void {
  tasks++;
  for (const [id, entry] of decoded) if (tasks - entry.used > KEEP_FOR_TASKS) decoded.delete(id);
}

/** For tests: how many parts this thread holds decoded. */
export function sharedListStats(): { decoded: number } {
  return { decoded: decoded.size };
}
