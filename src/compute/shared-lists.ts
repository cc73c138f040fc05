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
//
// Git's desired objects are shared the same way (shareDesired), in their own order within a
// namespace. A part is kept on a thread while the tasks that send its list use it: Git's objects
// outlast the many containment and trace tasks between two validations.
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
/** The last part made for each list and namespace, with the objects it holds and the share of its list that last used it. */
const made = new Map<string, { items: unknown[]; part: SharedPart; used: number }>();
/** How many times each list was shared. */
const shares = new Map<string, number>();
/** A part its list's shares did not use for this many shares is let go (a namespace deleted). */
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

/** How a list is cut: each item's namespace, and whether a part is sorted by name. */
interface Cut {
  namespaceOf(item: unknown): string;
  sortByName: boolean;
}

const LIVE_CUT: Cut = { namespaceOf: (item) => namespaceOfObject(item) ?? '', sortByName: true };
const DESIRED_LIST = 'desired';
// Git's objects keep their own order within a namespace: of two with one identity the later one
// is used, and both are in the same namespace's part.
const DESIRED_CUT: Cut = {
  namespaceOf: (item) => {
    const ns = (item as { namespace?: unknown } | null | undefined)?.namespace;
    return typeof ns === 'string' ? ns : '';
  },
  sortByName: false,
};

function partOf(key: string, items: unknown[], cut: Cut, share: number): SharedPart {
  const kept = made.get(key);
  if (kept && sameItems(kept.items, items)) {
    kept.used = share;
    return kept.part;
  }
  const encoded = serialize(cut.sortByName ? [...items].sort(byName) : items);
  const bytes = new SharedArrayBuffer(encoded.length);
  new Uint8Array(bytes).set(encoded);
  const part = { id: nextId++, bytes };
  made.set(key, { items, part, used: share });
  return part;
}

/** One list as shared parts: a part per namespace, by namespace name. */
function shareList(name: string, items: readonly unknown[], cut: Cut): readonly unknown[] | SharedList {
  if (items.length < SHARE_FROM) return items;
  const share = (shares.get(name) ?? 0) + 1;
  shares.set(name, share);
  const byNamespace = new Map<string, unknown[]>();
  for (const item of items) {
    const ns = cut.namespaceOf(item);
    let group = byNamespace.get(ns);
    if (!group) byNamespace.set(ns, (group = []));
    group.push(item);
  }
  const namespaces = [...byNamespace.keys()].sort();
  const parts = namespaces.map((ns) => partOf(`${name}\0${ns}`, byNamespace.get(ns) as unknown[], cut, share));
  for (const [key, entry] of made) if (key.startsWith(`${name}\0`) && share - entry.used > KEEP_FOR_SHARES) made.delete(key);
  return { sharedParts: parts };
}

/** The live objects with every long list shared; objects by name within a namespace. */
export function shareLive(live: LiveObjects): SharedLive {
  const out: SharedLive = {};
  for (const [name, items] of Object.entries(live) as Array<[ListName, readonly unknown[] | undefined]>) {
    if (items !== undefined) out[name] = shareList(name, items, LIVE_CUT);
  }
  return out;
}

/**
 * Git's desired objects shared the same way (by their `namespace`, in their own order within one):
 * the render of a commit is the same objects until the head moves, so a thread keeps them decoded,
 * and what it derived from them, across tasks.
 */
export function shareDesired<T extends { namespace?: string }>(objects: readonly T[]): readonly T[] | SharedList {
  return shareList(DESIRED_LIST, objects, DESIRED_CUT) as readonly T[] | SharedList;
}

// ---- compute thread ----

/** Parts decoded on this thread: their list, and the task and the use of their list when last used. */
const decoded = new Map<number, { items: readonly unknown[]; list: string; task: number; use: number }>();
let tasks = 0;
/** Per list: the tasks that used it, and the last one that did. */
const listUses = new Map<string, { uses: number; lastTask: number }>();
/** A part its list's tasks did not use for this many of them is let go (its namespace changed). */
const KEEP_FOR_USES = 8;
/** A part no task at all used for this many tasks is let go (its list is no longer sent). */
const KEEP_FOR_TASKS = 256;

/** Freezes `value` and all it holds: what a thread's memos read by identity must not change. */
export function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/** This task uses `list`: its use count. */
function using(list: string): number {
  let uses = listUses.get(list);
  if (!uses) listUses.set(list, (uses = { uses: 0, lastTask: -1 }));
  if (uses.lastTask !== tasks) {
    uses.uses++;
    uses.lastTask = tasks;
  }
  return uses.uses;
}

function itemsOf(part: SharedPart, list: string): readonly unknown[] {
  const use = using(list);
  let entry = decoded.get(part.id);
  if (!entry) {
    const items = deserialize(Buffer.from(part.bytes)) as unknown;
    if (!Array.isArray(items)) throw new Error(`shared part ${part.id} does not hold a list`);
    deepFreeze(items);
    decoded.set(part.id, (entry = { items, list, task: tasks, use }));
  }
  entry.task = tasks;
  entry.use = use;
  return entry.items;
}

const isShared = (list: unknown): list is SharedList => typeof list === 'object' && list !== null && Array.isArray((list as SharedList).sharedParts);

/** The live objects a task was given, lists whole again; the thread calls `settled()` after each task. */
export function openLive(live: SharedLive | LiveObjects): LiveObjects {
  const out: LiveObjects = {};
  for (const [name, list] of Object.entries(live) as Array<[ListName, SharedLive[ListName]]>) {
    if (list === undefined) continue;
    out[name] = isShared(list) ? list.sharedParts.flatMap((part) => itemsOf(part, name)) : list;
  }
  return out;
}

/** Desired objects a task was given (shareDesired), whole again and frozen. */
export function openDesired<T>(objects: readonly T[] | SharedList): readonly T[] {
  if (!isShared(objects)) {
    deepFreeze(objects);
    return objects;
  }
  return objects.sharedParts.flatMap((part) => itemsOf(part, DESIRED_LIST)) as T[];
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
    out[name] = isShared(list) ? list.sharedParts.map((part) => itemsOf(part, name)) : [list];
  }
  return out;
}

/** A task is done: parts unused for a while are let go. */
export function settled(): void {
  tasks++;
  for (const [id, entry] of decoded) {
    const uses = listUses.get(entry.list)?.uses ?? 0;
    if (uses - entry.use > KEEP_FOR_USES || tasks - entry.task > KEEP_FOR_TASKS) decoded.delete(id);
  }
}

/** For tests: how many parts this thread holds decoded. */
export function sharedListStats(): { decoded: number } {
  return { decoded: decoded.size };
}
