// The change journal in Redis: every change to a NetworkPolicy-like object or a namespace's labels,
// with the object before and after, the managers that moved, when it was seen and its
// resourceVersion.
//
// Keys, under `<prefix>:journal`:
//   stream              STREAM  one entry per change (k kind, ns, n name, t type, rv, p previous
//                               entry of the same object, e {b before, a after, m managers, i})
//   state:<kind>        HASH    "<ns>/<name>" → "<head>|<rv>|<uid>|<L|D>\n<json>": the last known
//                               state (it supplies `before`, across restarts and takeovers)
//   live:<kind>         SET     names of live objects (what a fresh list is compared with)
//   tombstones:<kind>   ZSET    deleted names by time, forgotten once past the retention
//   since               STRING  ms of the first entry: stateAt cannot vouch for earlier times
//
// Why a stream: ids are time-ordered ("<ms>-<seq>"), so a time range is one XRANGE, two changes in
// the same millisecond still get two ordered ids, and retention is XADD MAXLEN plus XTRIM MINID on
// each write (exact: a write evicts at most what the previous one left, so it stays cheap). Queries
// filter by kind and namespace inside Redis (Lua), a page at a time. stateAt follows the object's own
// chain of entries (field p) back from its state, so it never scans other objects' changes.
import type { RedisClient } from '../redis/connect.js';
import { decide, type KnownState, type Observation } from './decide.js';
import { creationMsOf, observe, type ObjectRef } from './normalize.js';
import { parseQuery, parseRef, timeOf } from './query.js';
import { COMMIT, QUERY, WALK } from './scripts.js';
import { DEFAULT_LIMITS, isJournalKind, type JournalEntry, type JournalKind, type JournalLimits, type JournalQuery, type JournalRetention, type StateAt } from './types.js';

export interface Fence {
  /** The singleton lock's key and this instance's token: a write lands only while it holds. */
  key: string;
  token: string;
}

export type AppendResult =
  | { outcome: 'stored'; entries: JournalEntry[] }
  /** Only noise changed (a status, an annotation of a namespace): the state moved, no entry. */
  | { outcome: 'unchanged' }
  | { outcome: 'skipped'; reason: 'duplicate' | 'stale' | 'already-deleted' | 'other-incarnation' }
  /** The object is unusable (bad name, version, labels, nesting): nothing was written. */
  | { outcome: 'refused'; reason: string }
  /** The lock is no longer this instance's: nothing was written. */
  | { outcome: 'fenced' };

export interface JournalOptions {
  limits?: Partial<JournalLimits>;
  /** The watcher's clock (epoch ms); tests move it. */
  now?: () => number;
}

type Scripts = {
  netpolJournalCommit(...args: string[]): Promise<string[]>;
  netpolJournalQuery(...args: string[]): Promise<[string, number, Array<[string, string[]]>]>;
  netpolJournalWalk(...args: string[]): Promise<[string, string | [string, string[]]]>;
};

const MAX_ATTEMPTS = 10;
/**
 * Entries one query script reads. A script holds Redis for every client while it runs: 500
 * entries (the objects' bodies come with them) took up to 20 ms under load, in front of every
 * acknowledgement's PING; 100 keep it under 5 ms for a few more round trips.
 */
const SCAN_BUDGET = 100;
const WALK_HOPS = 1000;

function fieldOf(ref: ObjectRef): string {
  return `${ref.namespace ?? ''}/${ref.name}`;
}

function msOf(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

function parseState(value: string | null): { header: string; state: KnownState } | null {
  if (value === null) return null;
  const nl = value.indexOf('\n');
  const header = nl === -1 ? value : value.slice(0, nl);
  const [head = '', rv = '', uid = '', flag = 'D'] = header.split('|');
  let body: Partial<KnownState> = {};
  try {
    body = JSON.parse(value.slice(nl + 1)) as Partial<KnownState>;
  } catch {
    // A damaged body only costs `before` of the next entry.
  }
  return { header, state: { head, resourceVersion: rv, uid, live: flag === 'L', ...(flag === 'L' ? { object: body.object, digest: body.digest, managers: body.managers } : {}) } };
}

function fieldMap(fields: string[]): Map<string, string> {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
  return f;
}

function fieldValue(fields: string[], name: string): string | undefined {
  return fieldMap(fields).get(name);
}

/** A stream entry as a JournalEntry; undefined for anything this journal did not write. */
export function entryOf(id: string, fields: string[]): JournalEntry | undefined {
  const f = fieldMap(fields);
  const kind = f.get('k');
  const type = f.get('t');
  const name = f.get('n');
  if (!isJournalKind(kind) || (type !== 'added' && type !== 'modified' && type !== 'deleted') || !name) return undefined;
  let body: { b?: unknown; a?: unknown; m?: unknown; i?: unknown };
  try {
    body = JSON.parse(f.get('e') ?? '') as typeof body;
  } catch {
    return undefined;
  }
  const ns = f.get('ns') ?? '';
  const obj = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
  return {
    id,
    kind,
    ...(ns ? { namespace: ns } : {}),
    name,
    type,
    observedAt: new Date(msOf(id)).toISOString(),
    resourceVersion: f.get('rv') ?? '',
    before: obj(body.b),
    after: obj(body.a),
    managers: Array.isArray(body.m) ? (body.m as JournalEntry['managers']) : [],
    ...(body.i ? { inferred: true as const } : {}),
  };
}

/** Held (with a TTL) by the one watcher journalling changes: none means nothing is recorded now. */
export function watcherLockKey(prefix: string): string {
  return `${prefix}:watcher:lock`;
}

export class ChangeJournal {
  private readonly limits: JournalLimits;
  private readonly now: () => number;
  private readonly prefix: string;
  private readonly lockKey: string;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    readonly retention: JournalRetention,
    options: JournalOptions = {},
  ) {
    if (!Number.isFinite(retention.maxAgeMs) || retention.maxAgeMs <= 0) throw new Error(`journal retention: maxAgeMs must be positive (got ${retention.maxAgeMs})`);
    if (!Number.isInteger(retention.maxEntries) || retention.maxEntries < 1) throw new Error(`journal retention: maxEntries must be a positive whole number (got ${retention.maxEntries})`);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.now = options.now ?? Date.now;
    this.prefix = `${keyPrefix}:journal`;
    this.lockKey = watcherLockKey(keyPrefix);
    if (!('netpolJournalCommit' in redis)) {
      redis.defineCommand('netpolJournalCommit', { numberOfKeys: 6, lua: COMMIT });
      redis.defineCommand('netpolJournalQuery', { numberOfKeys: 1, lua: QUERY });
      redis.defineCommand('netpolJournalWalk', { numberOfKeys: 1, lua: WALK });
    }
  }

  get streamKey(): string {
    return `${this.prefix}:stream`;
  }

  private key(part: 'state' | 'live' | 'tombstones', kind: JournalKind): string {
    return `${this.prefix}:${part}:${kind}`;
  }

  private get scripts(): Scripts {
    return this.redis as unknown as Scripts;
  }

  /** Journals what a watch delivered (idempotent: the same version twice is stored once). */
  async append(kind: JournalKind, event: { type: 'added' | 'modified' | 'deleted'; object: unknown }, opts: { fence?: Fence } = {}): Promise<AppendResult> {
    if (!isJournalKind(kind)) throw new Error(`not a journal kind: ${String(kind)}`);
    const observed = observe(kind, event.object, this.limits);
    if ('error' in observed) return { outcome: 'refused', reason: observed.error };
    return this.commit(kind, observed.ref, { type: event.type, observed }, opts.fence);
  }

  /** Journals the deletion of an object a fresh list no longer shows (it went while nobody watched). */
  async appendGone(kind: JournalKind, ref: ObjectRef, opts: { fence?: Fence } = {}): Promise<AppendResult> {
    const checked = parseRef(kind, ref.namespace, ref.name);
    return this.commit(checked.kind, checked.ref, { type: 'gone' }, opts.fence);
  }

  private async commit(kind: JournalKind, ref: ObjectRef, what: Observation, fence: Fence | undefined): Promise<AppendResult> {
    const field = fieldOf(ref);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const prev = parseState(await this.redis.hget(this.key('state', kind), field));
      const decision = decide(prev?.state ?? null, what);
      if (decision.action === 'skip') return { outcome: 'skipped', reason: decision.reason };
      const { next, entries } = decision;
      const nowMs = Math.floor(this.now());
      const body = next.live ? JSON.stringify({ object: next.object, digest: next.digest, managers: next.managers }) : '{}';
      const reply = await this.scripts.netpolJournalCommit(
        this.streamKey,
        this.key('state', kind),
        this.key('live', kind),
        this.key('tombstones', kind),
        fence?.key ?? `${this.prefix}:no-fence`,
        `${this.prefix}:since`,
        fence?.token ?? '',
        field,
        prev?.header ?? '',
        String(nowMs),
        String(this.retention.maxEntries),
        String(Math.max(0, nowMs - this.retention.maxAgeMs)),
        kind,
        ref.namespace ?? '',
        ref.name,
        next.resourceVersion,
        next.uid,
        next.live ? '1' : '0',
        body,
        String(entries.length),
        ...entries.flatMap((e) => [e.type, e.resourceVersion, e.type === 'added' ? String(creationMsOf(e.after) ?? '') : '', JSON.stringify({ b: e.before, a: e.after, m: e.managers, ...(e.inferred ? { i: 1 } : {}) })]),
      );
      if (reply[0] === 'fenced') return { outcome: 'fenced' };
      if (reply[0] === 'conflict') continue;
      if (entries.length === 0) return { outcome: 'unchanged' };
      const stored = entries.map((e, i): JournalEntry => {
        const id = String(reply[i + 1]);
        return { id, kind, ...(ref.namespace ? { namespace: ref.namespace } : {}), name: ref.name, observedAt: new Date(msOf(id)).toISOString(), ...e };
      });
      return { outcome: 'stored', entries: stored };
    }
    throw new Error(`journal: ${kind} ${field} kept changing under ${MAX_ATTEMPTS} attempts to record it`);
  }

  /** Entries observed in [since, until], oldest first, filtered by kind and namespace. */
  async query(q: JournalQuery): Promise<JournalEntry[]> {
    const p = parseQuery(q);
    const floor = this.now() - this.retention.maxAgeMs;
    let start = `${Math.max(p.sinceMs, floor, 0)}-0`;
    const end = p.untilMs === undefined ? '+' : String(p.untilMs);
    const kinds = p.kinds ?? [];
    const spaces = p.namespaces ?? [];
    const out: JournalEntry[] = [];
    while (out.length < p.limit) {
      const [last, exhausted, batch] = await this.scripts.netpolJournalQuery(
        this.streamKey,
        start,
        end,
        String(SCAN_BUDGET),
        String(p.limit - out.length),
        p.clusterScoped ? '1' : '0',
        p.withoutSightings ? String(p.withoutSightings.createdBeforeMs) : '',
        String(p.withoutSightings?.afterMs ?? 0),
        String(kinds.length),
        ...kinds,
        String(spaces.length),
        ...spaces,
      );
      for (const [id, fields] of batch) {
        const entry = entryOf(id, fields);
        if (entry) out.push(entry);
      }
      if (Number(exhausted) === 1 || last === '') break;
      start = `(${last}`;
    }
    return out;
  }

  /** The object as of `at`: the `after` of its latest entry at or before that time. */
  async stateAt(kind: JournalKind, namespace: string | undefined, name: string, at: string | Date): Promise<Record<string, unknown> | null> {
    return (await this.lookup(kind, namespace, name, at)).object;
  }

  /** stateAt, saying which entry it comes from and whether the journal can vouch for that time. */
  async lookup(kind: JournalKind, namespace: string | undefined, name: string, at: string | Date): Promise<StateAt> {
    const { ref } = parseRef(kind, namespace, name);
    const atMs = timeOf('at', at);
    const [value, since] = await Promise.all([this.redis.hget(this.key('state', kind), fieldOf(ref)), this.redis.get(`${this.prefix}:since`)]);
    const covered = since !== null && atMs >= Number(since) && atMs >= this.now() - this.retention.maxAgeMs;
    const known = parseState(value);
    if (!known || known.state.head === '') return { object: null, known: covered };
    const { head } = known.state;
    if (msOf(head) <= atMs) {
      const [entry] = await this.redis.xrange(this.streamKey, head, head);
      // Its entry trimmed away, the state is still what that entry said (minus noise since).
      if (!entry) return { object: known.state.live ? (known.state.object ?? null) : null, known: true };
      return { object: entryOf(entry[0], entry[1])?.after ?? null, entryId: head, known: true };
    }
    let from = head;
    for (;;) {
      const [status, result] = await this.scripts.netpolJournalWalk(this.streamKey, from, String(atMs), String(WALK_HOPS));
      if (status === 'continue') {
        from = String(result);
        continue;
      }
      if ((status !== 'found' && status !== 'first') || !Array.isArray(result)) return { object: null, known: false };
      // `before` of the first entry after `at` is the state at `at`. With no entry before it, the
      // object did not exist as far as the journal knows, which counts if it was watching then.
      const entry = entryOf(result[0], result[1]);
      const previous = fieldValue(result[1], 'p');
      return { object: entry?.before ?? null, ...(status === 'found' && previous ? { entryId: previous } : {}), known: status === 'found' || covered };
    }
  }

  /** Whether a watcher is journalling changes now (its lock is held). */
  async watched(): Promise<boolean> {
    return (await this.redis.exists(this.lockKey)) === 1;
  }

  /** The resourceVersion the journal last recorded for an object (undefined: unknown or deleted). */
  async versionOf(kind: JournalKind, namespace: string | undefined, name: string): Promise<string | undefined> {
    const { ref } = parseRef(kind, namespace, name);
    const known = parseState(await this.redis.hget(this.key('state', kind), fieldOf(ref)));
    return known?.state.live ? known.state.resourceVersion : undefined;
  }

  /** The objects of `kind` the journal holds as live (to compare with a fresh list). */
  async liveObjects(kind: JournalKind): Promise<ObjectRef[]> {
    const fields = await this.redis.smembers(this.key('live', kind));
    return fields.map((f) => {
      const slash = f.indexOf('/');
      const namespace = f.slice(0, slash);
      return { ...(namespace ? { namespace } : {}), name: f.slice(slash + 1) };
    });
  }

  /** How many entries the stream holds now. */
  async size(): Promise<number> {
    return this.redis.xlen(this.streamKey);
  }
}
