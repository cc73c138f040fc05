// Live members of a sharded role (the flow collectors), by lease: every member renews its entry in
// one sorted set, scored by when the entry expires (Redis's clock, so the members' clocks do not
// matter). The renewal, the removal of expired entries and the read of who is live are one Lua
// script on one key, so every member sees a consistent list. A member that stops renewing (killed,
// partitioned) drops out of the list `ttlMs` after its last renewal.
//
// Like SingletonLock, a member fences itself: it counts itself a member only until the TTL of its
// last confirmed renewal runs out (minus a safety margin). Past that, others may already have taken
// its share, so it reports "no members" and its owner gives everything up.
//
// A key holding something else (not a sorted set) is reported as an error and left as it is: no
// member counts itself live until an operator fixes it. Entries that are not member ids, or that
// expire implausibly far ahead (written by hand, or by a member with a far larger TTL), are dropped.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RedisClient } from './connect.js';
import { DeadlinePassed, withDeadline } from './deadline.js';
import { defaultIntervalMs, fencingMarginMs, RenewalLoop } from './renewal-loop.js';

// KEYS[1] the set; ARGV: member, ttl ms, "1" renew / "0" leave. Returns the live members.
const HEARTBEAT = `
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'zset' and kind ~= 'none' then return redis.error_reply('LEASEKEY the lease key holds a ' .. kind .. ', not a sorted set') end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '(' .. (now + 4 * ttl), '+inf')
if ARGV[3] == '1' then redis.call('ZADD', KEYS[1], now + ttl, ARGV[1]) else redis.call('ZREM', KEYS[1], ARGV[1]) end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], 4 * ttl) end
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

/** What a member id may look like (ours are "<instance>-<hex>"). */
export const MEMBER_ID = /^[A-Za-z0-9._-]{1,100}$/;

export interface LeaseMembersOptions {
  /** The sorted set, e.g. "netpol:<cluster>:flows:collector:members" (under the configured key prefix). */
  key: string;
  ttlMs?: number;
  /** Renewal period (default ttl/3). */
  intervalMs?: number;
  /** Shown in the member id. */
  instance?: string;
  /** After every renewal: the live members (sorted, this member included); null once this member is not (or no longer) live. */
  onMembers: (members: string[] | null, reason: string) => void | Promise<void>;
}

export class LeaseMembers {
  readonly id: string;
  readonly ttlMs: number;
  private readonly safetyMs: number;
  private readonly loop: RenewalLoop;
  private confirmedAt = Number.NEGATIVE_INFINITY;
  private current: string[] | null = null;
  lastError: string | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: LeaseMembersOptions,
  ) {
    this.ttlMs = options.ttlMs ?? 15_000;
    const intervalMs = options.intervalMs ?? defaultIntervalMs(this.ttlMs);
    this.safetyMs = fencingMarginMs(intervalMs, this.ttlMs);
    this.loop = new RenewalLoop(intervalMs, () => this.tick());
    const instance = (options.instance ?? 'collector').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60);
    this.id = `${instance}-${randomBytes(6).toString('hex')}`;
  }

  /** The live members as last confirmed, or null. */
  get members(): string[] | null {
    return this.current;
  }

  /** Joins (first renewal) and keeps renewing. Resolves after the first attempt. */
  async start(): Promise<void> {
    await this.loop.start();
  }

  /** Leaves at once, so the others take this member's share without waiting for the TTL. */
  async stop(): Promise<void> {
    await this.loop.stop();
    await withDeadline(this.redis.eval(HEARTBEAT, 1, this.options.key, this.id, String(this.ttlMs), '0'), this.ttlMs).catch(() => undefined);
    await this.publish(null, 'stopped');
  }

  /** Stops without leaving: what a crashed process leaves behind (tests use it). */
  abandon(): void {
    this.loop.abandon();
  }

  private async tick(): Promise<void> {
    const sentAt = performance.now();
    if (this.current !== null && sentAt >= this.confirmedAt + this.ttlMs - this.safetyMs) {
      // The process stalled past its lease (a long GC or a starved event loop): the others may have
      // dropped it and taken its share. Give everything up before renewing; it is claimed afresh.
      await this.publish(null, 'the lease ran out before it could be renewed');
    }
    try {
      const reply = await withDeadline(this.redis.eval(HEARTBEAT, 1, this.options.key, this.id, String(this.ttlMs), '1'), this.ttlMs - this.safetyMs);
      if (!this.loop.isRunning) return;
      this.confirmedAt = sentAt;
      this.lastError = null;
      const live = (Array.isArray(reply) ? reply : []).filter((m): m is string => typeof m === 'string' && MEMBER_ID.test(m));
      if (!live.includes(this.id)) live.push(this.id);
      await this.publish(live.sort(), 'renewed');
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      // Still covered by the last confirmed renewal: keep the share; past it (or never confirmed), give it up.
      if (error instanceof DeadlinePassed || performance.now() >= this.confirmedAt + this.ttlMs - this.safetyMs) {
        await this.publish(null, `membership not renewed: ${this.lastError}`);
      }
    }
  }

  private async publish(members: string[] | null, reason: string): Promise<void> {
    // Every renewal is reported (the owner refreshes what it owns each time); "not live" only once.
    const repeatNull = members === null && this.current === null;
    this.current = members;
    if (!repeatNull) await this.options.onMembers(members, reason);
  }
}
