// Traffic watches in Redis: the worker registers one per contained incident; the collector that
// holds the lock claims it, flushes its tallies and closes it; the worker reads the record back.
// Every write of the collector is fenced by the lock (Lua: the lock must still hold its token), so
// a replica that lost the lock cannot add to a successor's counts; and by the registration's
// generation, so a re-registered watch never receives counts of its previous window.
//
// Keys, under the flows prefix `<prefix>:flows` (the collector role's):
//   watch:index        ZSET  "<incident>|<gen>" scored by the wall-clock end of the window
//   watch:<incident>   HASH  gen, spec, registeredAt, claimedAt, collector, heartbeatAt, closedAt,
//                            flowFrom, flowUntil, flushedFlowTime, counters, conn:<key> counts
//   watch:<incident>:fwd / :drop   LIST  first distinct samples (JSON), capped
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';
import { COUNTER_FIELDS, type CounterField, type FlowSample, type WatchDelta, type WatchSpec } from './scope-watch.js';
import { checkIncidentId, parseWatchSpec, WATCH_LIMITS } from './watch-spec.js';

/** The collector role keeps its keys (lock, baseline, watches) under this prefix. */
export function flowsKeyPrefix(prefix: string): string {
  return `${prefix}:flows`;
}

/** The collector lock of the role started with `prefix` (what FlowCollector builds from the flows prefix). */
export function collectorLockKey(prefix: string): string {
  return `${flowsKeyPrefix(prefix)}:collector:lock`;
}

/** The lease of sharded collectors (shard/sharded-flows.ts keeps it under "<flows prefix>:shard"). */
export function collectorMembersKey(prefix: string): string {
  return `${flowsKeyPrefix(prefix)}:shard:members`;
}

/**
 * Is a flow collector running for this prefix: is the single collector's lock held, or does a
 * sharded collector's lease have a live member (scored by when it expires, on Redis's clock)?
 */
export async function collectorRunning(redis: RedisClient, prefix: string): Promise<boolean> {
  if ((await redis.exists(collectorLockKey(prefix))) === 1) return true;
  const [seconds, micros] = await redis.time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  // A lease key holding something else (WRONGTYPE) has no live member (lease-members.ts says the
  // same): a containment then says "not verified by traffic" instead of failing on it.
  const live = await redis.zcount(collectorMembersKey(prefix), `(${now}`, '+inf').catch((error: unknown) => {
    if (String((error as Error)?.message).startsWith('WRONGTYPE')) return 0;
    throw error;
  });
  return live > 0;
}

export interface WatchKeys {
  index: string;
  hash: string;
  forwarded: string;
  dropped: string;
}

export function watchKeys(flowsPrefix: string, incidentId: string): WatchKeys {
  const hash = `${flowsPrefix}:watch:${incidentId}`;
  return { index: `${flowsPrefix}:watch:index`, hash, forwarded: `${hash}:fwd`, dropped: `${hash}:drop` };
}

export function watchIndexKey(flowsPrefix: string): string {
  return `${flowsPrefix}:watch:index`;
}

/** "<incident>|<gen>" ⇄ parts (incident ids never hold '|'). */
export function watchMember(incidentId: string, gen: string): string {
  return `${incidentId}|${gen}`;
}

export function parseMember(member: string): { incidentId: string; gen: string } | null {
  const bar = member.indexOf('|');
  if (bar <= 0) return null;
  return { incidentId: member.slice(0, bar), gen: member.slice(bar + 1) };
}

const REGISTER = `
local old = redis.call('hget', KEYS[2], 'gen')
if old then redis.call('zrem', KEYS[1], ARGV[1] .. '|' .. old) end
redis.call('del', KEYS[2], KEYS[3], KEYS[4])
redis.call('hset', KEYS[2], 'gen', ARGV[2], 'spec', ARGV[3], 'registeredAt', ARGV[4])
redis.call('pexpire', KEYS[2], ARGV[5])
redis.call('zadd', KEYS[1], ARGV[6], ARGV[1] .. '|' .. ARGV[2])
redis.call('zremrangebyscore', KEYS[1], '-inf', '(' .. ARGV[7])
return 1`;

// -1: the lock is not ours; -2: the watch was re-registered or is gone.
const CLAIM = `
if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('hget', KEYS[2], 'gen') ~= ARGV[2] then return -2 end
if not redis.call('hget', KEYS[2], 'flowFrom') then
  redis.call('hset', KEYS[2], 'claimedAt', ARGV[4], 'flowFrom', ARGV[5], 'flowUntil', ARGV[6])
end
redis.call('hset', KEYS[2], 'collector', ARGV[3], 'heartbeatAt', ARGV[4])
return redis.call('hmget', KEYS[2], 'spec', 'flowFrom', 'flowUntil', 'flushedFlowTime')`;

// ARGV: token gen now ttl maxFwd maxDrop flowTime close member nCounters [field n]... nFwd [json]... nDrop [json]...
const FLUSH = `
if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('hget', KEYS[2], 'gen') ~= ARGV[2] then return -2 end
redis.call('hset', KEYS[2], 'heartbeatAt', ARGV[3])
local t = tonumber(ARGV[7])
if t then
  local cur = tonumber(redis.call('hget', KEYS[2], 'flushedFlowTime'))
  if (not cur) or t > cur then redis.call('hset', KEYS[2], 'flushedFlowTime', ARGV[7]) end
end
local i = 10
local n = tonumber(ARGV[i])
for j = 1, n do redis.call('hincrby', KEYS[2], ARGV[i + 2 * j - 1], ARGV[i + 2 * j]) end
i = i + 2 * n + 1
n = tonumber(ARGV[i])
for j = 1, n do
  if redis.call('llen', KEYS[3]) < tonumber(ARGV[5]) then redis.call('rpush', KEYS[3], ARGV[i + j]) end
end
i = i + n + 1
n = tonumber(ARGV[i])
for j = 1, n do
  if redis.call('llen', KEYS[4]) < tonumber(ARGV[6]) then redis.call('rpush', KEYS[4], ARGV[i + j]) end
end
if ARGV[8] == '1' then
  redis.call('hset', KEYS[2], 'closedAt', ARGV[3])
  redis.call('zrem', KEYS[5], ARGV[9])
end
redis.call('pexpire', KEYS[2], ARGV[4])
redis.call('pexpire', KEYS[3], ARGV[4])
redis.call('pexpire', KEYS[4], ARGV[4])
return 1`;

/** An index entry this long past its window's end was never closed: no collector will take it. */
const STALE_INDEX_MS = 10 * 60_000;

export interface RegistryOptions {
  /** How long a watch's record stays readable after its window (default 24 h). */
  retentionMs?: number;
  now?: () => number;
}

export type FenceResult = 'ok' | 'lock-lost' | 'gone';

/**
 * What fences a collector's writes to a watch: a key that must still hold the token. The collector
 * lock for a single collector; for sharded collectors, the owner key of the scope's namespace.
 */
export interface WatchFence {
  key: string;
  token: string;
}

function fence(result: unknown): FenceResult {
  return result === -1 ? 'lock-lost' : result === -2 ? 'gone' : 'ok';
}

export interface ClaimedWatch {
  spec: WatchSpec;
  flowFrom: number;
  flowUntil: number;
  /** Newest flow time a previous holder flushed (NaN when none). */
  flushedFlowTime: number;
}

/** Everything stored for one incident's watch. */
export interface WatchRecord {
  gen: string;
  spec: WatchSpec | null;
  /** Why the stored spec could not be read, when it could not. */
  specError: string | null;
  registeredAt: number | null;
  claimedAt: number | null;
  collector: string | null;
  heartbeatAt: number | null;
  closedAt: number | null;
  flowFrom: number | null;
  flowUntil: number | null;
  flushedFlowTime: number | null;
  counters: Record<CounterField, number>;
  connections: Record<string, number>;
  forwardedSamples: FlowSample[];
  droppedSamples: FlowSample[];
}

function num(value: string | undefined | null): number | null {
  if (value === undefined || value === null || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

const str = (v: unknown, max = 512): string => (typeof v === 'string' ? v.slice(0, max) : '');

/** A stored sample, or null when it is not one (records are read defensively). */
export function parseSample(json: string): FlowSample | null {
  if (json.length > 8192) return null;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object' || typeof v.time !== 'number' || !Number.isFinite(v.time)) return null;
  const port = typeof v.port === 'number' && Number.isInteger(v.port) && v.port >= 0 && v.port <= 65535 ? v.port : 0;
  return {
    time: v.time,
    verdict: str(v.verdict, 32),
    dropReason: str(v.dropReason, 64),
    direction: v.direction === 'ingress' ? 'ingress' : 'egress',
    from: str(v.from),
    to: str(v.to),
    port,
    protocol: str(v.protocol, 16),
    reply: v.reply === true,
    scopePod: str(v.scopePod),
    peerName: str(v.peerName),
    key: str(v.key, 2048),
  };
}

export class TrafficWatchRegistry {
  readonly flowsPrefix: string;
  private readonly retentionMs: number;
  private readonly now: () => number;

  /** `flowsPrefix`: the collector's key prefix, `flowsKeyPrefix(<bot key prefix>)`. */
  constructor(
    private readonly redis: RedisClient,
    flowsPrefix: string,
    options: RegistryOptions = {},
  ) {
    this.flowsPrefix = flowsPrefix;
    this.retentionMs = options.retentionMs ?? 86_400_000;
    this.now = options.now ?? Date.now;
  }

  private ttl(untilMs: number): number {
    return Math.max(1000, Math.ceil(untilMs - this.now() + this.retentionMs));
  }

  /** Writes a checked spec (see checkWatchSpec); a watch already registered for the incident is replaced. */
  async register(spec: WatchSpec): Promise<{ gen: string }> {
    const gen = randomBytes(6).toString('hex');
    const k = watchKeys(this.flowsPrefix, spec.incidentId);
    const now = this.now();
    // Index entries whose window ended long ago (no collector was there to close them) go.
    const pruneBefore = now - STALE_INDEX_MS;
    await this.redis.eval(REGISTER, 4, k.index, k.hash, k.forwarded, k.dropped, spec.incidentId, gen, JSON.stringify(spec), String(now), String(this.ttl(spec.untilMs)), String(spec.untilMs), String(pruneBefore));
    return { gen };
  }

  /** Watches whose window (plus `graceMs`) has not ended, by wall clock: member → end of window. */
  async active(graceMs: number): Promise<Map<string, number>> {
    const flat = await this.redis.zrangebyscore(watchIndexKey(this.flowsPrefix), this.now() - graceMs, '+inf', 'WITHSCORES', 'LIMIT', 0, 1000);
    const out = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i] as string, Number(flat[i + 1]));
    return out;
  }

  /**
   * Claims a watch for the holder of its fence, recorded as the watch's collector (`fenceFor` null:
   * not this collector's, 'not-ours'); the flow window is fixed by the first claim and kept by later ones.
   * `specs` keeps the specs read, by index entry: a replica asked again about a watch another
   * replica's namespace holds decides without reading it again. (A registration made since is
   * another entry; the claim itself checks that the entry is still the registration's.)
   */
  async claim(
    member: string,
    fenceFor: (spec: WatchSpec) => WatchFence | null,
    flowWindow: (spec: WatchSpec) => { flowFrom: number; flowUntil: number },
    specs?: Map<string, WatchSpec>,
  ): Promise<ClaimedWatch | FenceResult | 'not-ours' | { error: string }> {
    const parts = parseMember(member);
    if (!parts) return { error: `malformed index entry ${JSON.stringify(member.slice(0, 80))}` };
    const k = watchKeys(this.flowsPrefix, parts.incidentId);
    // The spec is needed to compute the window: read it first, then claim atomically.
    let spec = specs?.get(member);
    if (!spec) {
      const raw = await this.redis.hget(k.hash, 'spec');
      if (raw === null) return 'gone';
      try {
        spec = parseWatchSpec(raw);
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error) };
      }
      specs?.set(member, spec);
    }
    const lock = fenceFor(spec);
    if (!lock) return 'not-ours';
    const w = flowWindow(spec);
    const result = await this.redis.eval(CLAIM, 2, lock.key, k.hash, lock.token, parts.gen, lock.token, String(this.now()), String(w.flowFrom), String(w.flowUntil));
    if (!Array.isArray(result)) return fence(result);
    const [, flowFrom, flowUntil, flushed] = result as (string | null)[];
    return { spec, flowFrom: num(flowFrom) ?? w.flowFrom, flowUntil: num(flowUntil) ?? w.flowUntil, flushedFlowTime: num(flushed) ?? Number.NaN };
  }

  /** Adds a delta (fenced); with `close`, also marks the window closed and drops it from the index. */
  async flush(delta: WatchDelta, spec: WatchSpec, lock: WatchFence, close: boolean): Promise<FenceResult> {
    const parts = parseMember(delta.member);
    if (!parts) return 'gone';
    const k = watchKeys(this.flowsPrefix, parts.incidentId);
    const counters: string[] = [];
    for (const f of COUNTER_FIELDS) if (delta.counters[f] > 0) counters.push(f, String(delta.counters[f]));
    for (const [key, n] of delta.connections) counters.push(`conn:${key}`, String(n));
    const args = [
      lock.token,
      parts.gen,
      String(this.now()),
      String(this.ttl(spec.untilMs)),
      String(spec.samples.forwarded),
      String(spec.samples.dropped),
      Number.isNaN(delta.maxFlowTime) ? '' : String(delta.maxFlowTime),
      close ? '1' : '0',
      delta.member,
      String(counters.length / 2),
      ...counters,
      String(delta.forwardedSamples.length),
      ...delta.forwardedSamples.map((s) => JSON.stringify(s)),
      String(delta.droppedSamples.length),
      ...delta.droppedSamples.map((s) => JSON.stringify(s)),
    ];
    return fence(await this.redis.eval(FLUSH, 5, lock.key, k.hash, k.forwarded, k.dropped, k.index, ...args));
  }

  /** The stored record of an incident's watch, or null when none is registered (or it expired). */
  async read(incidentId: string): Promise<WatchRecord | null> {
    checkIncidentId(incidentId);
    const k = watchKeys(this.flowsPrefix, incidentId);
    const [hash, fwd, drop] = await Promise.all([
      this.redis.hgetall(k.hash),
      this.redis.lrange(k.forwarded, 0, WATCH_LIMITS.maxSamples - 1),
      this.redis.lrange(k.dropped, 0, WATCH_LIMITS.maxSamples - 1),
    ]);
    if (!hash.gen) return null;
    let spec: WatchSpec | null = null;
    let specError: string | null = null;
    try {
      spec = parseWatchSpec(hash.spec ?? '');
    } catch (error) {
      specError = error instanceof Error ? error.message : String(error);
    }
    const counters = Object.fromEntries(COUNTER_FIELDS.map((f) => [f, Math.max(0, num(hash[f]) ?? 0)])) as Record<CounterField, number>;
    const connections: Record<string, number> = {};
    for (const [field, value] of Object.entries(hash)) if (field.startsWith('conn:')) connections[field.slice(5)] = Math.max(0, num(value) ?? 0);
    const samples = (list: string[]): FlowSample[] => list.map(parseSample).filter((s): s is FlowSample => s !== null);
    return {
      gen: hash.gen,
      spec,
      specError,
      registeredAt: num(hash.registeredAt),
      claimedAt: num(hash.claimedAt),
      collector: hash.collector ?? null,
      heartbeatAt: num(hash.heartbeatAt),
      closedAt: num(hash.closedAt),
      flowFrom: num(hash.flowFrom),
      flowUntil: num(hash.flowUntil),
      flushedFlowTime: num(hash.flushedFlowTime),
      counters,
      connections,
      forwardedSamples: samples(fwd),
      droppedSamples: samples(drop),
    };
  }
}
