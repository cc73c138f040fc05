// Drift episodes in Redis. The monitor (watcher role), the Slack buttons (web role) and the revert
// job (worker role) all change episodes, so every write is one compare-and-set on the episode's
// version (a Lua script): a click and an evaluation never overwrite each other.
import type { RedisClient } from '../redis/connect.js';
import type { DriftEpisode } from './episode.js';

/** Episodes are kept this long after their last change (for the postmortem and reopening). */
const KEEP_MS = 30 * 86_400_000;
/** The index lists at most this many episodes (newest first). */
const MAX_LISTED = 5000;
/** Compare-and-set attempts of one update before it gives up (only under heavy contention). */
const MAX_ATTEMPTS = 50;

const CAS = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
else
  if not current then return 0 end
  if tostring(cjson.decode(current).version) ~= ARGV[1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4] - ARGV[3])
return 1
`;

type CasRedis = RedisClient & { netpolDriftCas(...args: string[]): Promise<number> };

export class DriftConflict extends Error {
  constructor(id: string) {
    super(`drift episode ${id} changed meanwhile`);
    this.name = 'DriftConflict';
  }
}

export class DriftStore {
  private readonly redis: CasRedis;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    if (!('netpolDriftCas' in redis)) redis.defineCommand('netpolDriftCas', { numberOfKeys: 2, lua: CAS });
    this.redis = redis as CasRedis;
  }

  private key(id: string): string {
    return `${this.prefix}:drift:episode:${id}`;
  }

  private get indexKey(): string {
    return `${this.prefix}:drift:episodes`;
  }

  async get(id: string): Promise<DriftEpisode | undefined> {
    if (!/^[A-Za-z0-9._-]{1,80}$/.test(id)) return undefined;
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as DriftEpisode) : undefined;
  }

  /** Episodes changed in the last 30 days, newest first. */
  async list(limit = MAX_LISTED): Promise<DriftEpisode[]> {
    const ids = await this.redis.zrevrange(this.indexKey, 0, Math.min(limit, MAX_LISTED) - 1);
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(ids.map((id) => this.key(id)));
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as DriftEpisode);
  }

  /** Stores `next` if the stored version is still `next.version - 1` (0: it must not exist yet). */
  async put(next: DriftEpisode): Promise<boolean> {
    const stored = await this.redis.netpolDriftCas(this.key(next.id), this.indexKey, String(next.version - 1), JSON.stringify(next), String(KEEP_MS), String(this.now()), next.id);
    return stored === 1;
  }

  async create(episode: Omit<DriftEpisode, 'version'>): Promise<DriftEpisode> {
    const created = { ...episode, version: 1 };
    if (!(await this.put(created))) throw new DriftConflict(episode.id);
    return created;
  }

  /**
   * Reads, changes and writes back, again on a conflict. `change` returns the new episode, or
   * undefined to leave it as it is. Resolves to the stored episode (undefined when unknown).
   */
  async update(id: string, change: (episode: DriftEpisode) => DriftEpisode | undefined): Promise<{ episode?: DriftEpisode; changed: boolean }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.get(id);
      if (!current) return { changed: false };
      const next = change(structuredClone(current));
      if (!next) return { episode: current, changed: false };
      const stored = { ...next, version: current.version + 1 };
      if (await this.put(stored)) return { episode: stored, changed: true };
      // Someone else wrote first: step back a little (jittered) before reading again.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
    }
    throw new DriftConflict(id);
  }
}
