import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { BaselineStore } from '../../../src/flows/baseline-store.js';
import { FlowCollector } from '../../../src/flows/collector.js';
import { SingletonLock } from '../../../src/redis/singleton-lock.js';
import { FlowPipeline } from '../../../src/flows/pipeline.js';
import type { Anomaly } from '../../../src/flows/types.js';
import { FakeHubbleRelay } from '../../../src/sim/hubble/relay-server.js';
import { shopTimeline, shopTraffic } from '../../../src/sim/hubble/shop-traffic.js';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis.js';
import { startTcpProxy } from '../../helpers/tcp-proxy.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function redis(): Redis {
  const r = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  cleanup.push(() => r.quit());
  return r;
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const kinds = (list: Anomaly[]): string[] => list.map((a) => `${a.kind} ${a.workload.namespace}/${a.workload.name}`).sort();

describe('baseline snapshots in Redis', () => {
  it('a restart from the snapshot raises exactly what an uninterrupted run raises', async () => {
    const records = [...shopTraffic()].map((r) => JSON.stringify(r));
    const cut = records.findIndex((l) => JSON.parse(l).flow.time >= new Date(shopTimeline().incidentStart - 10 * 60_000).toISOString());
    const straight = new FlowPipeline();
    const expected = records.flatMap((l) => straight.processLine(l));

    const store = new BaselineStore(redis(), { prefix: uniquePrefix('snap'), chunkSize: 7 });
    const before = new FlowPipeline();
    for (const l of records.slice(0, cut)) before.processLine(l);
    const saved = await store.save(before.baseline, before.watermark);
    expect(saved.edges).toBe(before.baseline.edgeCount);
    expect(saved.edges).toBeGreaterThan(7); // several chunks

    const loaded = await store.load(before.watermark);
    if (!loaded.baseline) throw new Error(loaded.reason);
    expect(loaded.baseline.edgeCount).toBe(before.baseline.edgeCount);
    expect(loaded.baseline.snapshot()).toEqual(before.baseline.snapshot());
    const after = new FlowPipeline({}, loaded.baseline);
    const raised = records.slice(cut).flatMap((l) => after.processLine(l));
    expect(kinds(raised)).toEqual(kinds(expected));
  });

  it('reports a missing, corrupt or stale snapshot instead of throwing, and keeps one generation', async () => {
    const r = redis();
    const prefix = uniquePrefix('snap');
    const store = new BaselineStore(r, { prefix, chunkSize: 5, maxAgeMs: 60_000 });
    expect(await store.load(0)).toEqual({ baseline: null, reason: 'no snapshot' });
    const p = new FlowPipeline();
    for (const rec of shopTraffic({ normalMinutes: 3, incidentMinutes: 0 })) p.processLine(JSON.stringify(rec));
    await store.save(p.baseline, 1000);
    const second = await store.save(p.baseline, 2000);
    expect((await r.keys(`${prefix}:baseline:*:meta`)).length).toBe(1);
    expect(await store.load(2000 + 120_000)).toMatchObject({ baseline: null });
    await r.set(`${prefix}:baseline:${second.generation}:edges:1`, '{corrupt');
    const corrupt = await store.load(2000);
    expect(corrupt.baseline).toBeNull();
    expect(!corrupt.baseline && corrupt.reason).toContain('corrupt');
  });
});

describe('collector lock', () => {
  it('one holder at a time; a standby takes over when the holder dies, and at once when it stops', async () => {
    const key = `${uniquePrefix('lock')}:collector:lock`;
    const events: string[] = [];
    const a = new SingletonLock(redis(), { key, ttlMs: 400, instance: 'a', onAcquired: () => void events.push('a+'), onLost: () => void events.push('a-') });
    const b = new SingletonLock(redis(), { key, ttlMs: 400, instance: 'b', onAcquired: () => void events.push('b+'), onLost: () => void events.push('b-') });
    cleanup.push(() => a.stop(), () => b.stop());
    await a.start();
    await b.start();
    expect(a.isHeld).toBe(true);
    expect(b.isHeld).toBe(false);
    await new Promise((r) => setTimeout(r, 600)); // renewals keep it past the TTL
    expect(a.isHeld && !b.isHeld).toBe(true);

    const died = Date.now();
    a.abandon(); // crash: no release
    await waitFor(() => b.isHeld, 3_000);
    expect(Date.now() - died).toBeGreaterThanOrEqual(200);
    expect(await b.holder()).toBe(b.token);

    const c = new SingletonLock(redis(), { key, ttlMs: 60_000, intervalMs: 50, instance: 'c' });
    cleanup.push(() => c.stop());
    await c.start();
    expect(c.isHeld).toBe(false);
    await b.stop(); // graceful: released, no TTL wait
    await waitFor(() => c.isHeld, 1_000);
    expect(events).toEqual(['a+', 'b+']);
  });

  it('a holder cut off from Redis stops before its lock can expire, so a standby never overlaps it', async () => {
    const proxy = await startTcpProxy(Number(new URL(testRedisUrl()).port));
    const cutOff = new Redis(`redis://127.0.0.1:${proxy.port}`, { maxRetriesPerRequest: null });
    cleanup.push(() => proxy.close());
    cleanup.push(() => cutOff.disconnect());
    const key = `${uniquePrefix('lock')}:collector:lock`;
    const events: { what: string; at: number }[] = [];
    let reason = '';
    const a = new SingletonLock(cutOff, {
      key,
      ttlMs: 600,
      intervalMs: 150,
      onAcquired: () => void events.push({ what: 'a+', at: performance.now() }),
      onLost: (why) => {
        reason = why;
        events.push({ what: 'a-', at: performance.now() });
      },
    });
    const b = new SingletonLock(redis(), { key, ttlMs: 600, intervalMs: 50, onAcquired: () => void events.push({ what: 'b+', at: performance.now() }) });
    cleanup.push(() => a.abandon());
    cleanup.push(() => b.stop());
    await a.start();
    await b.start();
    expect(a.isHeld).toBe(true);

    proxy.partition(true); // renewals now hang: no error, no answer
    await waitFor(() => b.isHeld, 3_000);
    expect(events.map((e) => e.what)).toEqual(['a+', 'a-', 'b+']);
    expect(reason).toContain('could not renew the lock before it could expire');
    expect(a.isHeld).toBe(false);
    // a stopped while its last renewal still covered it: b could not have started earlier.
    expect(events[2]!.at - events[1]!.at).toBeGreaterThan(0);
  });

  it('a holder keeps its lock through a short Redis stall shorter than the TTL', async () => {
    const proxy = await startTcpProxy(Number(new URL(testRedisUrl()).port));
    const stalled = new Redis(`redis://127.0.0.1:${proxy.port}`, { maxRetriesPerRequest: null });
    cleanup.push(() => proxy.close());
    cleanup.push(() => stalled.disconnect());
    let lost = '';
    const a = new SingletonLock(stalled, { key: `${uniquePrefix('lock')}:collector:lock`, ttlMs: 2_000, intervalMs: 200, onLost: (why) => void (lost = why) });
    cleanup.push(() => a.stop());
    await a.start();
    proxy.partition(true);
    await new Promise((r) => setTimeout(r, 500)); // a renewal or two wait for an answer
    proxy.partition(false);
    // The partition healed within the TTL: the held renewals complete and the lock stays held.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(lost).toBe('');
    expect(a.isHeld).toBe(true);
  });

  it('a holder whose lock was taken away notices on its next renewal and stops', async () => {
    const r = redis();
    const key = `${uniquePrefix('lock')}:collector:lock`;
    let lost = '';
    const a = new SingletonLock(r, { key, ttlMs: 300, onLost: (reason) => void (lost = reason) });
    cleanup.push(() => a.stop());
    await a.start();
    await r.set(key, 'someone-else');
    await waitFor(() => lost !== '', 2_000);
    expect(a.isHeld).toBe(false);
    expect(await r.get(key)).toBe('someone-else'); // never deletes another holder's lock
  });
});

describe('collector end to end: relay stand-in → pipeline → onAnomaly, with failover', () => {
  it('raises the shop exfiltration once, from the active collector only; a standby takes over with the snapshot', async () => {
    const relay = new FakeHubbleRelay();
    await relay.start();
    cleanup.push(() => relay.stop());
    const records = [...shopTraffic({ normalMinutes: 70, incidentMinutes: 3 })];
    const incidentAt = records.findIndex((r) => Date.parse(r.time) >= shopTimeline({ normalMinutes: 70 }).incidentStart);
    relay.publish(records.slice(0, incidentAt));

    const prefix = uniquePrefix('coll');
    const seen: Record<string, Anomaly[]> = { a: [], b: [] };
    const make = (name: string): FlowCollector => {
      const collector = new FlowCollector({
        source: { kind: 'hubble-relay', address: relay.address, since: 0, backoff: { initialMs: 20, maxMs: 100 } },
        onAnomaly: (a) => void seen[name]?.push(a),
        redis: redis(),
        keyPrefix: prefix,
        lockTtlMs: 300,
        snapshotEveryMs: 0,
        instance: name,
        now: () => Date.parse(records.at(-1)?.time ?? '') + 1_000,
      });
      cleanup.push(() => collector.stop());
      return collector;
    };
    const a = make('a');
    const b = make('b');
    await a.start();
    await b.start();
    expect(a.isActive).toBe(true);
    expect(b.isActive).toBe(false);
    await waitFor(() => a.pipeline.counts.read === incidentAt, 10_000);
    await a.stop(); // snapshot + release
    const requestsBefore = relay.requests.length;
    // Active first, then the snapshot is read (the stream starts only after it): wait for both.
    await waitFor(() => b.isActive && b.pipeline.baseline.edgeCount > 0, 3_000);
    expect(b.pipeline.baseline.edgeCount).toBe(a.pipeline.baseline.edgeCount);
    await waitFor(() => relay.requests.length > requestsBefore, 3_000); // b's GetFlows has reached the relay
    // The standby resumed the stream at the snapshot's newest flow, not from the beginning.
    const resume = relay.requests.at(-1)?.since as { seconds: number };
    expect(resume.seconds).toBe(Math.floor(a.pipeline.watermark / 1000));
    expect(b.pipeline.counts.read).toBeLessThan(5);

    relay.publish(records.slice(incidentAt));
    await waitFor(() => seen.b?.some((x) => x.kind === 'new-external-egress') === true, 10_000);
    expect(seen.a).toEqual([]);
    expect(kinds(seen.b ?? [])).toContain('new-external-egress db/postgres');
  });
});

describe('the embedded shop relay', () => {
  it('serves the normal history, then the incident on demand; a collector raises the exfiltration', async () => {
    const { startShopRelay } = await import('../../../src/sim/hubble/shop-relay.js');
    const shop = await startShopRelay({ normalMinutes: 65, incidentMinutes: 2 });
    cleanup.push(() => shop.stop());
    const raised: Anomaly[] = [];
    const collector = new FlowCollector({ source: { kind: 'hubble-relay', address: shop.address, since: 0 }, onAnomaly: (a) => void raised.push(a), now: () => shop.incidentStart + 3_600_000 });
    cleanup.push(() => collector.stop());
    await collector.start();
    await waitFor(() => collector.pipeline.counts.read > 0 && (collector.relayClient?.stats.delivered ?? 0) === collector.pipeline.counts.read);
    await new Promise((r) => setTimeout(r, 100));
    expect(raised).toEqual([]);
    expect(shop.triggerIncident()).toBeGreaterThan(0);
    expect(shop.triggerIncident()).toBe(0);
    await waitFor(() => raised.some((a) => a.kind === 'new-external-egress'));
    expect(raised.find((a) => a.kind === 'new-external-egress')?.scope.podSelector).toEqual({ app: 'postgres' });
  });
});
