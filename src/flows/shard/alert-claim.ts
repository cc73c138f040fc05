// Dedupe across collector replicas. Each replica's AlertGate folds repeats of an event into one
// alert, but a namespace that moves to another replica arrives there with an empty gate, and the
// new owner replays the stream from the last baseline snapshot: without a shared record it would
// alert again for an event the previous owner already reported. So before an anomaly is raised,
// its dedupe key is claimed in Redis: a key claimed less than one cooldown (in flow time) before
// is the same event, and is not raised again. One key per dedupe key (a hash of it: dedupe keys
// hold workload names from the flows), under the collector's prefix, expiring after the cooldown.
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../redis/connect.js';

// KEYS[1] claim; ARGV flow time, cooldown ms, ttl ms. 1 = claimed (raise it), 0 = already raised.
// A value that is not a number (garbage) counts as no claim and is overwritten.
const CLAIM = `
local last = tonumber(redis.call('GET', KEYS[1]))
local t = tonumber(ARGV[1])
local cooldown = tonumber(ARGV[2])
if last and math.abs(t - last) < cooldown then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`;

export class AlertClaims {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly cooldownMs: number,
  ) {}

  keyOf(dedupeKey: string): string {
    return `${this.prefix}:alerted:${createHash('sha256').update(dedupeKey).digest('hex').slice(0, 32)}`;
  }

  /** true when this replica may raise it. Throws when Redis fails (the caller decides). */
  async claim(dedupeKey: string, flowTime: number): Promise<boolean> {
    const ttl = Math.max(60_000, Math.ceil(this.cooldownMs) + 60_000);
    const result = await this.redis.eval(CLAIM, 1, this.keyOf(dedupeKey), String(flowTime), String(this.cooldownMs), String(ttl));
    return result === 1;
  }
}
