// Incidents in Redis. A record is a hash {json, version}; its timeline is a stream. Every change
// goes through one Lua script that checks the version, writes the record and appends the events,
// so two clicks on Approve cannot both win and state and timeline never disagree.
import type { RedisClient } from '../redis/connect.js';
import type { StoredTimelineEvent, TimelineEvent } from '../timeline/types.js';
import type { Incident } from './model.js';
import { incidentKeys, type IncidentKeys } from './keys.js';
import type { Transition } from './transitions.js';
import { currentWriteScope, WriteTooLate } from '../redis/write-deadline.js';

// KEYS: record, timeline, scope, index. ARGV: expectedVersion, json, releaseScope(0/1), id, createdAtMs, deadlineMs, events...
// expectedVersion -1 creates: fails with the holder's id when the scope is already taken.
// deadlineMs (0: none) is a Slack click's deadline: a write Redis receives after it is refused
// (src/redis/write-deadline.ts), by Redis's clock.
const WRITE_SCRIPT = `
local deadline = tonumber(ARGV[6])
if deadline > 0 then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > deadline then return {0, 'late'} end
end
local current = redis.call('HGET', KEYS[1], 'version')
local expected = tonumber(ARGV[1])
if expected == -1 then
  if current then return {0, 'exists'} end
  local holder = redis.call('GET', KEYS[3])
  if holder then return {0, 'scope', holder} end
  redis.call('SET', KEYS[3], ARGV[4])
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
elseif (not current) or tonumber(current) ~= expected then
  return {0, 'version'}
end
local version = (expected == -1) and 1 or (expected + 1)
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'version', version)
if ARGV[3] == '1' and redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
for i = 7, #ARGV do redis.call('XADD', KEYS[2], '*', 'event', ARGV[i]) end
return {1, tostring(version)}
`;

export class IncidentNotFound extends Error {
  constructor(id: string) {
    super(`no incident with id "${id}"`);
    this.name = 'IncidentNotFound';
  }
}

export type CreateResult = { created: true; incident: Incident } | { created: false; openIncidentId: string };

const MAX_CAS_ATTEMPTS = 20;

export class IncidentStore {
  readonly keys: IncidentKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    /** Told of the timeline events of every write that went through (metrics). */
    private readonly onWritten: (events: readonly TimelineEvent[]) => void = () => undefined,
  ) {
    this.keys = incidentKeys(prefix);
    if (!('netpolWrite' in redis)) redis.defineCommand('netpolWrite', { numberOfKeys: 4, lua: WRITE_SCRIPT });
  }

  private async write(incident: Incident, expectedVersion: number, events: TimelineEvent[], releaseScope: boolean): Promise<[number, string, string?]> {
    const next = { ...incident, version: expectedVersion === -1 ? 1 : expectedVersion + 1 };
    const scope = currentWriteScope();
    const run = (this.redis as unknown as { netpolWrite(...args: (string | number)[]): Promise<[number, string, string?]> }).netpolWrite;
    const result = await run.call(
      this.redis,
      this.keys.incident(incident.id),
      this.keys.timeline(incident.id),
      this.keys.scope(incident.scopeKey),
      this.keys.index(),
      expectedVersion,
      JSON.stringify(next),
      releaseScope ? '1' : '0',
      incident.id,
      Date.parse(incident.createdAt),
      scope?.deadlineMs ?? 0,
      ...events.map((e) => JSON.stringify(e)),
    );
    if (result[0] === 0 && result[1] === 'late') throw new WriteTooLate();
    if (result[0] === 1) {
      if (scope) scope.wrote = true;
      this.onWritten(events);
    }
    return result;
  }

  /** Creates the incident unless its scope already has an open one. */
  async create(transition: Transition): Promise<CreateResult> {
    const [ok, reason, holder] = await this.write(transition.incident, -1, transition.events, false);
    if (ok === 1) return { created: true, incident: { ...transition.incident, version: 1 } };
    if (reason === 'scope' && holder) return { created: false, openIncidentId: holder };
    throw new Error(`incident ${transition.incident.id} already exists`);
  }

  async get(id: string): Promise<Incident | undefined> {
    const json = await this.redis.hget(this.keys.incident(id), 'json');
    return json ? (JSON.parse(json) as Incident) : undefined;
  }

  async require(id: string): Promise<Incident> {
    const incident = await this.get(id);
    if (!incident) throw new IncidentNotFound(id);
    return incident;
  }

  /**
   * Applies a pure transition atomically: re-reads and re-applies on a concurrent change. `apply`
   * may throw (e.g. TransitionRefused) to abort with nothing written, or return null for "no change".
   */
  async transition<T extends Transition>(id: string, apply: (incident: Incident) => T | null): Promise<T | null> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
      const current = await this.require(id);
      const outcome = apply(current);
      if (!outcome) return null;
      const [ok] = await this.write(outcome.incident, current.version, outcome.events, outcome.releaseScope ?? false);
      if (ok === 1) return { ...outcome, incident: { ...outcome.incident, version: current.version + 1 } };
    }
    throw new Error(`incident ${id}: too many concurrent changes, giving up`);
  }

  async openIncidentFor(scopeKey: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.scope(scopeKey))) ?? undefined;
  }

  /** Most recent incidents first. */
  async list(limit = 20): Promise<Incident[]> {
    const ids = await this.redis.zrevrange(this.keys.index(), 0, limit - 1);
    const all = await Promise.all(ids.map((id) => this.get(id)));
    return all.filter((i): i is Incident => i !== undefined);
  }

  async timeline(id: string, after = '-', count = 10_000): Promise<StoredTimelineEvent[]> {
    const start = after === '-' ? '-' : `(${after}`;
    const entries = await this.redis.xrange(this.keys.timeline(id), start, '+', 'COUNT', count);
    return entries.map(([streamId, fields]) => {
      const index = fields.indexOf('event');
      const event = JSON.parse(fields[index + 1] ?? '{}') as TimelineEvent;
      return { ...event, id: streamId };
    });
  }

  /** Appends events that do not change the record (e.g. an export was made). */
  async appendEvents(id: string, events: TimelineEvent[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const event of events) pipeline.xadd(this.keys.timeline(id), '*', 'event', JSON.stringify(event));
    await pipeline.exec();
  }

  /** Last timeline event already posted to the Slack thread. */
  async threadCursor(id: string): Promise<string> {
    return (await this.redis.get(this.keys.threadCursor(id))) ?? '-';
  }

  async setThreadCursor(id: string, cursor: string): Promise<void> {
    await this.redis.set(this.keys.threadCursor(id), cursor);
  }

  /** Marks the incident's Slack view as out of date; whoever holds the thread lock redraws it. */
  async markDirty(id: string): Promise<void> {
    await this.redis.set(this.keys.dirty(id), '1');
  }

  /** Clears the mark and tells whether it was set. */
  async takeDirty(id: string): Promise<boolean> {
    return (await this.redis.getdel(this.keys.dirty(id))) !== null;
  }

  async isDirty(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.dirty(id))) === 1;
  }

  /** How long the thread lock is still held (0: free), e.g. by a process that died holding it. */
  async threadLockRemainingMs(id: string): Promise<number> {
    return Math.max(0, await this.redis.pttl(this.keys.threadLock(id)));
  }

  /** Runs `fn` only if no other process is posting this incident's thread; false when busy. */
  async withThreadLock(id: string, fn: () => Promise<void>, ttlMs = 15_000): Promise<boolean> {
    const token = `${process.pid}-${Math.random()}`;
    const ok = await this.redis.set(this.keys.threadLock(id), token, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') return false;
    try {
      await fn();
    } finally {
      // Release only our own lock (it may have expired and been taken by someone else).
      await this.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, this.keys.threadLock(id), token);
    }
    return true;
  }
}
