import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuditEvent } from '../../../src/audit/parse.js';
import { AuditStore, storedForm } from '../../../src/audit/store.js';
import type { AuditChange } from '../../../src/audit/types.js';
import { auditEvent, type EventSpec } from '../../helpers/audit-events.js';
import { testRedis, uniquePrefix } from '../../helpers/redis.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-30T12:00:00Z');
let redis: Redis;
beforeAll(() => {
  redis = testRedis();
});
afterAll(() => redis.quit());

function change(spec: EventSpec): AuditChange {
  const parsed = parseAuditEvent(auditEvent(spec));
  if (!parsed.change) throw new Error(`not a change: ${parsed.skip}`);
  return parsed.change;
}

const at = (minutesBeforeNow: number): string => new Date(NOW - minutesBeforeNow * 60_000).toISOString();

describe('AuditStore on Redis', () => {
  it('stores a change once per auditID, whichever source brings it again', async () => {
    const store = new AuditStore(redis, uniquePrefix('audit'), { maxAgeMs: 30 * DAY, maxEntries: 1000 });
    const c = change({ auditID: 'dup-1', time: at(5) });
    expect(await store.save([c, c], NOW)).toEqual({ stored: 1, duplicates: 1, expired: 0 });
    expect(await store.save([c], NOW)).toEqual({ stored: 0, duplicates: 1, expired: 0 });
    // Another connection (the webhook in the web role, the follower elsewhere), at the same time.
    const other = new AuditStore(redis.duplicate(), (store as unknown as { prefix: string }).prefix, { maxAgeMs: 30 * DAY, maxEntries: 1000 });
    const many = Array.from({ length: 50 }, (_, i) => change({ auditID: `par-${i % 10}`, time: at(i) }));
    const outcomes = await Promise.all([store.save(many, NOW), other.save(many, NOW), store.save(many.slice(0, 25), NOW)]);
    expect(outcomes.reduce((n, o) => n + o.stored, 0)).toBe(10);
    expect(await store.size()).toBe(11);
    await (other as unknown as { redis: Redis }).redis.quit();
  });

  it('answers by time window, namespace (with Namespace objects and cluster-scoped policies), resource and refusal', async () => {
    const store = new AuditStore(redis, uniquePrefix('audit'), { maxAgeMs: 30 * DAY, maxEntries: 1000 });
    await store.save(
      [
        change({ auditID: 'np-db', namespace: 'db', time: at(50) }),
        change({ auditID: 'np-web', namespace: 'web', time: at(40) }),
        change({ auditID: 'ns-db', resource: 'namespaces', name: 'db', time: at(30), requestObject: { metadata: { labels: { team: 'x' } } } }),
        change({ auditID: 'anp', resource: 'adminnetworkpolicies', name: 'quarantine', time: at(20) }),
        change({ auditID: 'cnp-db', resource: 'ciliumnetworkpolicies', namespace: 'db', time: at(10) }),
        change({ auditID: 'refused-db', namespace: 'db', code: 403, username: 'mallory', time: at(5) }),
      ],
      NOW,
    );
    const ids = (changes: AuditChange[]) => changes.map((c) => c.auditID);
    expect(ids(await store.query({ since: at(60) }))).toEqual(['np-db', 'np-web', 'ns-db', 'anp', 'cnp-db', 'refused-db']);
    expect(ids(await store.query({ since: at(45), until: at(15) }))).toEqual(['np-web', 'ns-db', 'anp']);
    expect(ids(await store.query({ since: at(60), namespaces: ['db'] }))).toEqual(['np-db', 'ns-db', 'anp', 'cnp-db', 'refused-db']);
    expect(ids(await store.query({ since: at(60), namespaces: ['db'], clusterScoped: false, refused: false }))).toEqual(['np-db', 'ns-db', 'cnp-db']);
    expect(ids(await store.query({ since: at(60), resources: ['networkpolicies'] }))).toEqual(['np-db', 'np-web', 'refused-db']);
    expect(ids(await store.query({ since: at(60), limit: 2 }))).toEqual(['cnp-db', 'refused-db']);
    expect(ids(await store.query({ since: at(60), namespaces: ['nowhere'], clusterScoped: false }))).toEqual([]);
    const full = (await store.query({ since: at(11), until: at(9) }))[0];
    expect(full).toEqual(change({ auditID: 'cnp-db', resource: 'ciliumnetworkpolicies', namespace: 'db', time: at(10) }));
  });

  it('keeps at most maxEntries (the oldest go, keys and all) and nothing older than maxAge', async () => {
    const prefix = uniquePrefix('audit');
    const store = new AuditStore(redis, prefix, { maxAgeMs: DAY, maxEntries: 100 });
    const changes = Array.from({ length: 130 }, (_, i) => change({ auditID: `e-${String(i).padStart(3, '0')}`, time: at(130 - i) }));
    expect(await store.save(changes, NOW)).toEqual({ stored: 130, duplicates: 0, expired: 0 });
    expect(await store.size()).toBe(100);
    const kept = await store.query({ since: at(1000) });
    expect(kept.map((c) => c.auditID)).toEqual(changes.slice(30).map((c) => c.auditID));
    expect(await redis.exists(`${prefix}:audit:change:e-000`, `${prefix}:audit:change:e-029`)).toBe(0);
    expect(await redis.exists(`${prefix}:audit:change:e-030`)).toBe(1);
    // Namespace index trimmed to the same bound.
    expect(await redis.zcard(`${prefix}:audit:ns:db`)).toBe(100);

    const old = change({ auditID: 'too-old', time: new Date(NOW - 2 * DAY).toISOString() });
    expect(await store.save([old], NOW)).toEqual({ stored: 0, duplicates: 0, expired: 1 });
    // A change expires maxAge after it happened, not after it was received.
    const other = uniquePrefix('audit');
    const late = change({ auditID: 'late', time: new Date(NOW - DAY + 60_000).toISOString() });
    await new AuditStore(redis, other, { maxAgeMs: DAY, maxEntries: 100 }).save([late], NOW);
    const ttl = await redis.pttl(`${other}:audit:change:late`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('drops bodies too large to keep, request first, and says so', async () => {
    const big = 'x'.repeat(20_000);
    const c = change({ auditID: 'big', requestObject: { spec: { note: big } }, responseObject: { spec: { note: big.slice(0, 1000) } } });
    const once = JSON.parse(storedForm(c, 8192)) as AuditChange;
    expect(once.requestObject).toBeUndefined();
    expect(once.responseObject).toEqual({ spec: { note: big.slice(0, 1000) } });
    expect(once.truncated).toBe(true);
    const both = JSON.parse(storedForm(c, 1024)) as AuditChange;
    expect(both.responseObject).toBeUndefined();
    expect(both.truncated).toBe(true);
    expect(JSON.parse(storedForm(c, 1_000_000))).toEqual(c);
  });

  it('refuses a query whose window is not a time', async () => {
    const store = new AuditStore(redis, uniquePrefix('audit'), { maxAgeMs: DAY, maxEntries: 100 });
    await expect(store.query({ since: 'yesterday' })).rejects.toThrow(/invalid audit query window/);
    await expect(store.query({ since: at(5), until: 'later' })).rejects.toThrow(/invalid audit query window/);
  });
});
