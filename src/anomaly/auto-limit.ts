// The brake on automatic containment: at most `perNamespace` automatic containments per namespace
// and `total` across namespaces within a sliding window, so whoever can trigger anomalies cannot
// use the bot to take production down. One Lua script checks both limits and records the use only
// when both allow it, so parallel attempts (several workers, many anomalies at once) never exceed
// them. Redis's own clock times the window: replicas with skewed clocks still agree.
import type { RedisClient } from '../redis/connect.js';

export interface AutoContainLimits {
  perNamespace: number;
  total: number;
  windowMs: number;
}

export type LimitOutcome =
  /** Allowed and recorded; `repeated` when this use was recorded already (a retried job). */
  | { allowed: true; repeated: boolean }
  | {
      allowed: false;
      /** Which limit refused it. */
      limit: 'namespace' | 'total';
      namespace: string;
      /** Uses in the window, and the limit they reached. */
      count: number;
      max: number;
      windowMs: number;
      /** When the oldest counted use leaves the window (epoch ms): the next one is allowed then. */
      retryAt: number;
    };

// KEYS: namespace window, total window. ARGV: windowMs, perNamespace, total, use id.
// Returns {1, repeated} or {0, which (1 namespace, 2 total), count, oldest score}.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZSCORE', KEYS[2], ARGV[4]) then return {1, 1} end
local function oldest(key)
  local first = redis.call('ZRANGE', KEYS[key], 0, 0, 'WITHSCORES')
  return first[2] or tostring(now)
end
local inNamespace = redis.call('ZCARD', KEYS[1])
if inNamespace >= tonumber(ARGV[2]) then return {0, 1, inNamespace, oldest(1)} end
local total = redis.call('ZCARD', KEYS[2])
if total >= tonumber(ARGV[3]) then return {0, 2, total, oldest(2)} end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], window)
return {1, 0}
`;

/** Use ids come from anomaly ids: printable ASCII of sane length only. */
const USE_ID = /^[\x21-\x7e]{1,300}$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export class AutoContainLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    readonly limits: AutoContainLimits,
  ) {
    if (!(Number.isInteger(limits.perNamespace) && limits.perNamespace >= 1 && Number.isInteger(limits.total) && limits.total >= 1 && limits.windowMs >= 1)) {
      throw new Error(`invalid automatic containment limits: ${JSON.stringify(limits)}`);
    }
  }

  private namespaceKey(namespace: string): string {
    return `${this.prefix}:auto-contain:ns:${namespace}`;
  }
  private get totalKey(): string {
    return `${this.prefix}:auto-contain:all`;
  }

  /**
   * Asks for one automatic containment in `namespace`, identified by `useId` (the anomaly's id,
   * so a retried job does not count twice). Atomic: both limits are checked and the use recorded
   * in one step.
   */
  async take(namespace: string, useId: string): Promise<LimitOutcome> {
    if (!NAMESPACE.test(namespace)) throw new Error(`not a namespace name: ${JSON.stringify(namespace.slice(0, 80))}`);
    if (!USE_ID.test(useId)) throw new Error('a use id is 1 to 300 printable ASCII characters');
    const { perNamespace, total, windowMs } = this.limits;
    const reply = (await this.redis.eval(TAKE, 2, this.namespaceKey(namespace), this.totalKey, String(windowMs), String(perNamespace), String(total), useId)) as [number, number, number?, string?];
    if (reply[0] === 1) return { allowed: true, repeated: reply[1] === 1 };
    const limit = reply[1] === 1 ? 'namespace' : 'total';
    return { allowed: false, limit, namespace, count: Number(reply[2]), max: limit === 'namespace' ? perNamespace : total, windowMs, retryAt: Number(reply[3]) + windowMs };
  }

  /** Uses counted now in a namespace and in total (for tests and diagnostics). */
  async usage(namespace: string): Promise<{ namespace: number; total: number }> {
    const since = `(${Date.now() - this.limits.windowMs}`;
    const [inNamespace, all] = await Promise.all([this.redis.zcount(this.namespaceKey(namespace), since, '+inf'), this.redis.zcount(this.totalKey, since, '+inf')]);
    return { namespace: inNamespace, total: all };
  }
}

function windowText(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms === size) return name;
    if (ms % size === 0) return `${ms / size} ${name}s`;
  }
  return `${ms} ms`;
}

/** "3 per hour in `db` already", for the alert and the log. */
export function describeRefusal(outcome: Extract<LimitOutcome, { allowed: false }>): string {
  const where = outcome.limit === 'namespace' ? `in \`${outcome.namespace}\`` : 'across all namespaces';
  return `${outcome.max} per ${windowText(outcome.windowMs)} ${where} already; the next is allowed after ${new Date(outcome.retryAt).toISOString()}`;
}
