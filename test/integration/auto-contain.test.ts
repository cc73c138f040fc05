// Automatic response on a real redis-server: the sliding-window limiter (both limits, retries,
// the window sliding, many parallel attempts over several connections never exceeding a limit,
// hostile input refused with nothing recorded) and the responder that uses it with the anomaly
// store and the real job queue.
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { AutoContainLimiter, type AutoContainLimits } from '../../src/anomaly/auto-limit.js';
import { AutoResponder } from '../../src/anomaly/auto-response.js';
import type { AutoContainRule } from '../../src/anomaly/auto-rules.js';
import { AnomalyStore } from '../../src/anomaly/store.js';
import type { Anomaly } from '../../src/flows/types.js';
import type { OpenRequest } from '../../src/incident/transitions.js';
import { silentLogger } from '../../src/log.js';
import { createJobQueue, QUEUE_NAMES } from '../../src/queue/bullmq.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

const redis = testRedis();
const extra = [testRedis(), testRedis(), testRedis()];
afterAll(() => {
  for (const r of [redis, ...extra]) r.disconnect();
});

const limiter = (limits: Partial<AutoContainLimits> = {}, prefix = uniquePrefix('auto'), connection = redis) =>
  new AutoContainLimiter(connection, prefix, { perNamespace: 3, total: 5, windowMs: 3_600_000, ...limits });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('automatic containment limiter on a real Redis', () => {
  it('allows perNamespace uses in a namespace, then refuses with when the next is allowed', async () => {
    const l = limiter();
    const started = Date.now();
    for (const id of ['a1', 'a2', 'a3']) expect(await l.take('db', id)).toEqual({ allowed: true, repeated: false });
    const refused = await l.take('db', 'a4');
    expect(refused).toMatchObject({ allowed: false, limit: 'namespace', namespace: 'db', count: 3, max: 3, windowMs: 3_600_000 });
    const retryAt = (refused as { retryAt: number }).retryAt;
    expect(retryAt).toBeGreaterThanOrEqual(started + 3_600_000 - 1000);
    expect(retryAt).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1000);
    // The refused use was not recorded: another namespace still has room.
    expect(await l.usage('db')).toEqual({ namespace: 3, total: 3 });
    expect(await l.take('api', 'b1')).toEqual({ allowed: true, repeated: false });
  });

  it('refuses past the total across namespaces, recording nothing', async () => {
    const l = limiter({ perNamespace: 2, total: 3 });
    expect((await l.take('db', 'x1')).allowed).toBe(true);
    expect((await l.take('api', 'x2')).allowed).toBe(true);
    expect((await l.take('frontend', 'x3')).allowed).toBe(true);
    expect(await l.take('web', 'x4')).toMatchObject({ allowed: false, limit: 'total', count: 3, max: 3 });
    // The namespace limit is checked first.
    expect(await l.take('db', 'x5')).toMatchObject({ allowed: false, limit: 'total' });
    expect((await l.take('db', 'x6')).allowed).toBe(false);
    expect(await l.usage('web')).toEqual({ namespace: 0, total: 3 });
  });

  it('counts a retried use once, even when the limit is reached', async () => {
    const l = limiter({ perNamespace: 1, total: 1 });
    expect(await l.take('db', 'same')).toEqual({ allowed: true, repeated: false });
    expect(await l.take('db', 'same')).toEqual({ allowed: true, repeated: true });
    expect((await l.take('db', 'other')).allowed).toBe(false);
    expect(await l.usage('db')).toEqual({ namespace: 1, total: 1 });
  });

  it('slides: uses leave the window as it passes, and the keys expire with it', async () => {
    const prefix = uniquePrefix('auto');
    const l = limiter({ perNamespace: 2, total: 2, windowMs: 1000 }, prefix);
    expect((await l.take('db', 'w1')).allowed).toBe(true);
    await sleep(500);
    expect((await l.take('db', 'w2')).allowed).toBe(true);
    expect((await l.take('db', 'w3')).allowed).toBe(false);
    await sleep(600); // w1 has left the window, w2 has not (for another ~400 ms)
    expect((await l.take('db', 'w4')).allowed).toBe(true);
    expect((await l.take('db', 'w5')).allowed).toBe(false);
    await sleep(1300);
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });

  it('never exceeds either limit under many parallel attempts over several connections', async () => {
    const prefix = uniquePrefix('auto');
    const limits = { perNamespace: 3, total: 7, windowMs: 3_600_000 };
    const limiters = [redis, ...extra].map((c) => new AutoContainLimiter(c, prefix, limits));
    const namespaces = ['db', 'api', 'frontend', 'payments', 'search'];
    const attempts = Array.from({ length: 400 }, (_, i) => ({ namespace: namespaces[i % namespaces.length] as string, id: `use-${i}` }));
    const outcomes = await Promise.all(attempts.map((a, i) => limiters[i % limiters.length]!.take(a.namespace, a.id).then((o) => ({ ...a, o }))));
    const allowed = outcomes.filter((x) => x.o.allowed);
    expect(allowed).toHaveLength(7);
    for (const ns of namespaces) expect(allowed.filter((x) => x.namespace === ns).length).toBeLessThanOrEqual(3);
    const usage = await Promise.all(namespaces.map((ns) => limiters[0]!.usage(ns)));
    expect(usage.reduce((sum, u) => sum + u.namespace, 0)).toBe(7);
    expect(usage.every((u) => u.total === 7 && u.namespace <= 3)).toBe(true);

    // One namespace hammered on its own: exactly perNamespace get through.
    const single = new AutoContainLimiter(redis, uniquePrefix('auto'), limits);
    const burst = await Promise.all(Array.from({ length: 200 }, (_, i) => single.take('db', `burst-${i}`)));
    expect(burst.filter((o) => o.allowed)).toHaveLength(3);
  });

  it('refuses hostile input before touching Redis', async () => {
    const prefix = uniquePrefix('auto');
    const l = limiter({}, prefix);
    for (const namespace of ['', 'DB', 'db*', '../all', 'a'.repeat(64), 'db\r\nFLUSHALL', 'db ']) {
      await expect(l.take(namespace, 'id')).rejects.toThrow(/not a namespace name/);
    }
    for (const id of ['', 'has space', 'x'.repeat(301), 'new\nline', 'é']) {
      await expect(l.take('db', id)).rejects.toThrow(/use id/);
    }
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    for (const limits of [{ perNamespace: 0 }, { total: 0 }, { perNamespace: 1.5 }, { windowMs: 0 }, { windowMs: Number.NaN }]) {
      expect(() => limiter(limits)).toThrow(/invalid automatic containment limits/);
    }
  });
});

function anomaly(n: number, namespace: string, app: string, severity: Anomaly['severity'] = 'critical'): Anomaly {
  return {
    id: `test:${namespace}/${app}@${n}`,
    kind: 'external-alert',
    severity,
    title: `${app} misbehaves`,
    workload: { namespace, name: app, kind: '' },
    scope: { namespace, podSelector: { app }, reason: 'from the labels' },
    baseline: { metric: 'm', expected: 0, observed: 1, unit: 'alert', description: 'raised by a test' },
    evidence: [],
    dedupeKey: `test:${namespace}/${app}`,
    firstSeen: n,
    lastSeen: n,
    origin: 'alertmanager',
    details: {},
  };
}

describe('automatic responder on a real Redis and job queue', () => {
  const prefix = uniquePrefix('auto');
  const store = new AnomalyStore(redis, prefix, 3_600_000);
  const queue = createJobQueue(redis, prefix);
  const bull = new Queue(QUEUE_NAMES.proposals, { connection: redis, prefix: `${prefix}:bull` });
  afterAll(async () => {
    await queue.close();
    await bull.close();
  });
  const rules: AutoContainRule[] = [{ minSeverity: 'high', strategy: 'cilium', maxDuration: 120_000 }];
  const held = new Map<string, string>();
  const limits = new AutoContainLimiter(redis, prefix, { perNamespace: 2, total: 10, windowMs: 3_600_000 });
  const responder = new AutoResponder({
    rules,
    limiter: limits,
    openIncidentFor: async (key) => held.get(key),
    store,
    queue,
    protectedNamespaces: new Set(['kube-system']),
    channel: 'C0INCIDENTS',
    logger: silentLogger,
    clock: () => new Date('2026-11-23T10:00:00Z'),
  });
  const saved = async (a: Anomaly) => {
    await store.save(a, new Date());
    return (await store.get(a.id))!;
  };
  const openJob = async (incidentId: string) => (await bull.getJob(`open.${incidentId}`))?.data as { request: OpenRequest } | undefined;

  it('contains: records the decision on the anomaly and queues the open request with its automatic settings', async () => {
    const record = await responder.respond(await saved(anomaly(1, 'db', 'postgres')));
    expect(record.decision).toMatchObject({ kind: 'auto-contained', user: 'bot:automatic-response', rule: 0, maxDuration: 120_000 });
    const stored = (await store.get(record.anomaly.id))!;
    expect(stored.decision).toEqual(record.decision);
    const job = await openJob(record.decision!.incidentId!);
    expect(job?.request).toEqual({
      id: record.decision!.incidentId,
      scope: { namespace: 'db', selector: 'app=postgres', labelSelector: { matchLabels: { app: 'postgres' } } },
      reason: 'postgres misbehaves',
      requestedBy: 'bot:automatic-response',
      channel: 'C0INCIDENTS',
      anomalyIds: [record.anomaly.id],
      auto: { rule: 0, strategy: 'cilium', maxDuration: 120_000, anomalyId: record.anomaly.id },
    });
    // A retried alert job changes nothing: no second use, the same open job.
    await responder.respond(stored);
    expect(await limits.usage('db')).toEqual({ namespace: 1, total: 1 });
    expect((await bull.getJobs(['waiting', 'prioritized', 'delayed', 'active'])).filter((j) => j.name === 'open')).toHaveLength(1);
  });

  it('a crash after the limit counted it but before the decision: the retry is not counted again', async () => {
    const a = anomaly(2, 'api', 'orders');
    await limits.take('api', a.id);
    const record = await responder.respond(await saved(a));
    expect(record.decision?.kind).toBe('auto-contained');
    expect(await limits.usage('api')).toEqual({ namespace: 1, total: 2 });
  });

  it('skips a scope an incident already holds, and refuses past the limit, each noted on the anomaly', async () => {
    held.set('db/app=redis-cache', '20261123-held01');
    const skipped = await responder.respond(await saved(anomaly(3, 'db', 'redis-cache')));
    expect(skipped.decision).toBeUndefined();
    expect(skipped.autoResponse).toMatchObject({ outcome: 'skipped', reason: 'incident `20261123-held01` is already open for this scope' });
    expect((await store.get(skipped.anomaly.id))!.autoResponse).toEqual(skipped.autoResponse);
    expect(await limits.usage('db')).toEqual({ namespace: 1, total: 2 });

    expect((await responder.respond(await saved(anomaly(4, 'db', 'backup')))).decision?.kind).toBe('auto-contained');
    const refused = await responder.respond(await saved(anomaly(5, 'db', 'metrics')));
    expect(refused.decision).toBeUndefined();
    expect(refused.autoResponse).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/^2 per hour in `db` already; the next is allowed after /) });
    // Noted once: the alert job retried does not ask the limiter again.
    expect(await responder.respond((await store.get(refused.anomaly.id))!)).toMatchObject({ autoResponse: refused.autoResponse });
  });

  it('leaves protected namespaces, unmatched anomalies and decided ones alone', async () => {
    const protectedRecord = await saved(anomaly(6, 'kube-system', 'coredns'));
    expect(await responder.respond(protectedRecord)).toEqual(protectedRecord);
    const low = await saved(anomaly(7, 'api', 'search', 'medium'));
    expect(await responder.respond(low)).toEqual(low);
    const decided = await saved(anomaly(8, 'api', 'cart'));
    await store.decide(decided.anomaly.id, { kind: 'dismissed', user: 'U0BOB', at: 't' });
    const again = (await store.get(decided.anomaly.id))!;
    expect(await responder.respond(again)).toEqual(again);
    expect(await limits.usage('kube-system')).toEqual({ namespace: 0, total: 3 });
    expect((await store.get(protectedRecord.anomaly.id))!.autoResponse).toBeUndefined();
  });
});
