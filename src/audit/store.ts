// Audit changes in Redis, bounded: each change is a string key that expires `maxAge` after the
// change happened, indexed by time (one sorted set for all, one per namespace, one for the
// cluster-scoped policies). At most `maxEntries` are kept: the oldest go first. A change is stored
// once per auditID, whichever source (log file, webhook, a rotated file read again) brings it.
import type { RedisClient } from '../redis/connect.js';
import { namespaceOfChange, type AuditChange, type AuditQuery } from './types.js';

export interface AuditRetention {
  maxAgeMs: number;
  maxEntries: number;
}

export interface SaveOutcome {
  /** New changes stored. */
  stored: number;
  /** Already stored (same auditID). */
  duplicates: number;
  /** Older than the retention: not stored. */
  expired: number;
}

// KEYS: change, index, scope index. ARGV: json, score, ttl ms, auditID, min score, max entries, change key prefix, max age ms.
const SAVE_SCRIPT = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[5])
local limit = tonumber(ARGV[6])
local over = redis.call('ZCARD', KEYS[2]) - limit
if over > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
  for _, id in ipairs(old) do redis.call('DEL', ARGV[7] .. id) end
end
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(limit + 1))
return 1
`;

const MGET_CHUNK = 500;
const DEFAULT_LIMIT = 10_000;

type SaveCommand = (change: string, index: string, scope: string, ...args: string[]) => Promise<number>;

/** The change as stored: bodies are dropped (request first) when the whole would exceed `maxBytes`. */
export function storedForm(change: AuditChange, maxBytes: number): string {
  let json = JSON.stringify(change);
  if (Buffer.byteLength(json) <= maxBytes) return json;
  const { requestObject: _request, ...withoutRequest } = change;
  json = JSON.stringify({ ...withoutRequest, truncated: true });
  if (Buffer.byteLength(json) <= maxBytes) return json;
  const { responseObject: _response, ...bare } = withoutRequest;
  return JSON.stringify({ ...bare, truncated: true });
}

/** Oldest first; events of one instant by auditID, so every reader lists them in one order. */
export function byTimeThenId(a: AuditChange, b: AuditChange): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : a.auditID < b.auditID ? -1 : a.auditID > b.auditID ? 1 : 0;
}

export class AuditStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly retention: AuditRetention,
    /** Largest stored form of one change (bodies beyond it are dropped). */
    private readonly maxStoredBytes = 262_144,
  ) {
    if (!('netpolAuditSave' in redis)) redis.defineCommand('netpolAuditSave', { numberOfKeys: 3, lua: SAVE_SCRIPT });
  }

  private get changePrefix(): string {
    return `${this.prefix}:audit:change:`;
  }
  private get indexKey(): string {
    return `${this.prefix}:audit:index`;
  }
  private scopeKey(namespace: string | undefined): string {
    return namespace === undefined ? `${this.prefix}:audit:cluster` : `${this.prefix}:audit:ns:${namespace}`;
  }

  /** Stores new changes (once per auditID); changes older than the retention are not stored. */
  async save(changes: readonly AuditChange[], now = Date.now()): Promise<SaveOutcome> {
    const outcome: SaveOutcome = { stored: 0, duplicates: 0, expired: 0 };
    if (changes.length === 0) return outcome;
    const { maxAgeMs, maxEntries } = this.retention;
    const pipeline = this.redis.pipeline();
    const save = (pipeline as unknown as { netpolAuditSave: SaveCommand }).netpolAuditSave.bind(pipeline);
    let queued = 0;
    for (const change of changes) {
      const at = Date.parse(change.at);
      const ttl = Math.min(at + maxAgeMs - now, maxAgeMs);
      if (!Number.isFinite(ttl) || ttl <= 0) {
        outcome.expired += 1;
        continue;
      }
      void save(
        this.changePrefix + change.auditID,
        this.indexKey,
        this.scopeKey(namespaceOfChange(change)),
        storedForm(change, this.maxStoredBytes),
        String(at),
        String(Math.ceil(ttl)),
        change.auditID,
        String(now - maxAgeMs),
        String(maxEntries),
        this.changePrefix,
        String(maxAgeMs),
      );
      queued += 1;
    }
    if (queued === 0) return outcome;
    const replies = (await pipeline.exec()) ?? [];
    for (const [error, reply] of replies) {
      if (error) throw error;
      if (reply === 1) outcome.stored += 1;
      else outcome.duplicates += 1;
    }
    return outcome;
  }

  /** Changes in the window, oldest first (see AuditQuery for the filters and the limit). */
  async query(q: AuditQuery): Promise<AuditChange[]> {
    const min = Date.parse(q.since);
    const max = q.until === undefined ? Number.POSITIVE_INFINITY : Date.parse(q.until);
    if (!Number.isFinite(min) || Number.isNaN(max)) throw new Error(`invalid audit query window: since ${q.since}, until ${q.until ?? '(open)'}`);
    const limit = Math.max(1, Math.min(q.limit ?? DEFAULT_LIMIT, this.retention.maxEntries));
    const keys = q.namespaces ? [...new Set(q.namespaces)].map((ns) => this.scopeKey(ns)) : [this.indexKey];
    if (q.namespaces && q.clusterScoped !== false) keys.push(this.scopeKey(undefined));
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.zrevrangebyscore(key, Number.isFinite(max) ? max : '+inf', min, 'LIMIT', 0, this.retention.maxEntries);
    const ids = new Set<string>();
    for (const [error, reply] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      for (const id of reply as string[]) ids.add(id);
    }
    const resources = q.resources ? new Set(q.resources) : undefined;
    const changes: AuditChange[] = [];
    const all = [...ids];
    for (let i = 0; i < all.length; i += MGET_CHUNK) {
      const values = await this.redis.mget(all.slice(i, i + MGET_CHUNK).map((id) => this.changePrefix + id));
      for (const value of values) {
        if (value === null) continue; // evicted for the entry limit; its index entries age out
        const change = JSON.parse(value) as AuditChange;
        if (resources && !resources.has(change.objectRef.resource)) continue;
        if (q.refused === false && change.refused) continue;
        changes.push(change);
      }
    }
    changes.sort(byTimeThenId);
    return changes.length > limit ? changes.slice(changes.length - limit) : changes;
  }

  /** How many changes are kept now. */
  async size(): Promise<number> {
    return this.redis.zcard(this.indexKey);
  }
}
