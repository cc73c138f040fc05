// Traffic watches with sharded collectors, against the relay stand-in and the real Redis: the owner
// of the scope's namespace runs the watch and counts every flow touching the scope exactly once
// (also those owned by another replica's namespace, and across a handover), and a sharded
// collector counts as a running collector.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TrafficCheck } from '../../../src/containment/traffic.js';
import { FlowCollector } from '../../../src/flows/collector.js';
import { FlowNormalizer } from '../../../src/flows/normalize.js';
import { ScopeWatchSet } from '../../../src/flows/scope-watch.js';
import { checkWatchSpec } from '../../../src/flows/watch-spec.js';
import { collectorRunning, flowsKeyPrefix, TrafficWatchRegistry } from '../../../src/flows/watch-registry.js';
import { FakeHubbleRelay } from '../../../src/sim/hubble/relay-server.js';
import { shopTraffic, type HubbleRecord } from '../../../src/sim/hubble/shop-traffic.js';
import { testRedisUrl, uniquePrefix } from '../../helpers/redis.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function redis(): Redis {
  const r = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  cleanup.push(() => r.quit());
  return r;
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000, state?: () => unknown): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${state ? `: ${JSON.stringify(await state())}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const SCOPE = { namespace: 'db', podNames: ['postgres-0'], labelSelector: { matchLabels: { app: 'postgres' } } };
const NAMESPACES = ['api', 'db', 'frontend', 'kube-system'];

/** What one watch over `window` counts of `records`, computed directly (the reference). */
function expectedCounters(records: readonly HubbleRecord[], window: { flowFrom: number; flowUntil: number }): Record<string, number> {
  const set = new ScopeWatchSet();
  set.add('ref', checkWatchSpec({ incidentId: 'ref', scope: SCOPE, fromMs: window.flowFrom, untilMs: window.flowUntil }), { ...window, resumeAfter: Number.NEGATIVE_INFINITY });
  const normalizer = new FlowNormalizer();
  for (const record of records) {
    const n = normalizer.normalizeRecord(record as unknown as Record<string, unknown>);
    if (n.ok) set.observe(n.flow);
  }
  return { ...set.drain('ref')!.counters };
}

describe('traffic watches with sharded collectors', () => {
  it('the owner of the scope namespace counts every flow touching the scope once, across a graceful handover', async () => {
    const relay = new FakeHubbleRelay();
    await relay.start();
    cleanup.push(() => relay.stop());
    const records = [...shopTraffic({ normalMinutes: 20, incidentMinutes: 2 })];
    const half = Math.floor(records.length / 2);
    const flowNow = Date.parse(records.at(-1)!.time) + 1_000;
    // The first minutes, before the watch's window: the relay lists the namespaces from them.
    const early = records.findIndex((x) => Date.parse(x.time) >= flowNow - 18 * 60_000);
    relay.publish(records.slice(0, early));
    const prefix = uniquePrefix('shard-watch');
    const r = redis();
    const check = new TrafficCheck(r, prefix);
    expect(await check.collectorRunning()).toBe(false);

    const make = (name: string): FlowCollector => {
      const collector = new FlowCollector({
        source: { kind: 'hubble-relay', address: relay.address, since: 0, backoff: { initialMs: 20, maxMs: 200 }, sharding: { leaseTtlMs: 1_500, heartbeatMs: 250 } },
        onAnomaly: () => undefined,
        redis: redis(),
        keyPrefix: flowsKeyPrefix(prefix),
        snapshotEveryMs: 300,
        instance: name,
        now: () => flowNow,
        trafficWatch: { tickMs: 100 },
      });
      cleanup.push(() => collector.stop());
      return collector;
    };
    let list: FlowCollector[] = [];
    const state = (): unknown => list.map((c) => ({ owned: c.shards!.owned, members: c.shards!.members.members?.length, watches: c.watchRunner?.watches.size }));
    const ownerOf = (ns: string): FlowCollector | undefined => list.find((c) => c.shards!.owned.includes(ns));
    // Member ids are random: the three are started again until api and db have different owners,
    // so that api → db flows are owned (in flow-owner.ts's sense) by a replica that is not db's.
    for (let attempt = 1; ; attempt++) {
      list = [make(`a${attempt}`), make(`b${attempt}`), make(`c${attempt}`)];
      for (const c of list) await c.start();
      await waitFor(() => list.every((c) => c.shards!.members.members?.length === 3) && list.flatMap((c) => c.shards!.owned).sort().join() === NAMESPACES.join(), 'the namespaces split over three', 15_000, state);
      if (ownerOf('api') !== ownerOf('db') || attempt === 20) break;
      for (const c of list) await c.stop();
    }
    expect(ownerOf('api')).not.toBe(ownerOf('db'));
    expect(await collectorRunning(r, prefix)).toBe(true); // no collector lock, a live lease

    // The watch covers the last 15 minutes of flow time (wall-clock window, shifted onto the flow clock at the claim).
    const wall = Date.now();
    await check.register('inc-1', SCOPE, wall - 15 * 60_000, wall + 120_000);
    const registry = new TrafficWatchRegistry(r, flowsKeyPrefix(prefix));
    await waitFor(async () => (await registry.read('inc-1'))?.claimedAt !== null, 'the watch claimed', 10_000, state);
    const owner = ownerOf('db')!;
    expect((await registry.read('inc-1'))!.collector).toBe(owner.shards!.members.id);
    expect(list.filter((c) => c.watchRunner!.watches.size > 0)).toEqual([owner]); // nobody else took it

    relay.publish(records.slice(early, half));
    const stored = (await registry.read('inc-1'))!;
    const window = { flowFrom: stored.flowFrom!, flowUntil: stored.flowUntil! };
    const firstHalf = expectedCounters(records.slice(0, half), window);
    expect(firstHalf['fwd:ingress']).toBeGreaterThan(0); // api → db: a flow another namespace may own
    const counters = async (): Promise<Record<string, number>> => ({ ...(await registry.read('inc-1'))!.counters });
    await waitFor(async () => JSON.stringify(await counters()) === JSON.stringify(firstHalf), 'the first half counted', 30_000, counters);

    // db's owner stops (final flush, then the namespaces go); the heir claims the watch and goes on.
    await owner.stop();
    const survivors = list.filter((c) => c !== owner);
    await waitFor(() => survivors.flatMap((c) => c.shards!.owned).sort().join() === NAMESPACES.join(), 'every namespace owned by a survivor', 15_000, state);
    const heir = survivors.find((c) => c.shards!.owned.includes('db'))!;
    await waitFor(async () => (await registry.read('inc-1'))!.collector === heir.shards!.members.id, 'the heir to claim the watch', 10_000, state);
    relay.publish(records.slice(half));
    const all = expectedCounters(records, window);
    await waitFor(async () => JSON.stringify(await counters()) === JSON.stringify(all), 'every flow counted', 30_000, counters);
    await new Promise((res) => setTimeout(res, 600)); // a few ticks: room for a double count, if there were one
    expect(await counters()).toEqual(all);
    const after = (await registry.read('inc-1'))!;
    expect({ flowFrom: after.flowFrom, flowUntil: after.flowUntil }).toEqual(window); // the first claim's window, kept

    for (const c of list) await c.stop(); // each leaves the lease
    expect(await collectorRunning(r, prefix)).toBe(false);
  }, 120_000);

  it('a replica whose namespace was taken has its flush refused and drops the watch, writing nothing', async () => {
    const relay = new FakeHubbleRelay();
    await relay.start();
    cleanup.push(() => relay.stop());
    const prefix = uniquePrefix('shard-watch-fence');
    const r = redis();
    const records = [...shopTraffic({ normalMinutes: 6, incidentMinutes: 0 })];
    const half = Math.floor(records.length / 2);
    relay.publish(records.slice(0, half));
    const collector = new FlowCollector({
      source: { kind: 'hubble-relay', address: relay.address, since: 0, backoff: { initialMs: 20, maxMs: 200 }, sharding: { leaseTtlMs: 60_000, heartbeatMs: 20_000 } },
      onAnomaly: () => undefined,
      redis: redis(),
      keyPrefix: flowsKeyPrefix(prefix),
      instance: 'only',
      now: () => Date.parse(records.at(-1)!.time) + 1_000,
      trafficWatch: { tickMs: 60_000 },
    });
    cleanup.push(() => collector.stop());
    await collector.start();
    await waitFor(() => collector.shards!.owned.includes('db') && collector.pipeline.counts.read === half, 'db owned and the first half read');
    const check = new TrafficCheck(r, prefix);
    const registry = new TrafficWatchRegistry(r, flowsKeyPrefix(prefix));
    await check.register('inc-1', SCOPE, Date.now() - 3_000_000, Date.now() + 60_000);
    await collector.watchRunner!.tick();
    expect(collector.watchRunner!.watches.size).toBe(1);
    expect(collector.shards!.fenceOf('api')).toEqual({ key: expect.stringMatching(/:shard:ns:api:owner$/), token: collector.shards!.members.id });
    expect(collector.shards!.fenceOf('no-such-namespace')).toBeNull();

    // Flows the watch gathers (not flushed yet: the tick is an hour away)...
    relay.publish(records.slice(half));
    await waitFor(() => collector.pipeline.counts.read === records.length, 'the second half read');
    const stored = (await registry.read('inc-1'))!;
    const gathered = expectedCounters(records.slice(half), { flowFrom: stored.flowFrom!, flowUntil: stored.flowUntil! });
    expect(Object.values(gathered).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // ...while someone else took db's owner key (a handover this replica has not seen yet).
    const fence = collector.shards!.fenceOf('db')!;
    await r.set(fence.key, 'other-replica', 'PX', 60_000);
    await collector.watchRunner!.tick();
    expect(collector.watchRunner!.watches.size).toBe(0);
    expect(Object.values((await registry.read('inc-1'))!.counters).every((n) => n === 0)).toBe(true);
    expect((await registry.read('inc-1'))!.collector).toBe(collector.shards!.members.id); // its claim, not overwritten
    expect(await r.get(fence.key)).toBe('other-replica');
  }, 60_000);
});
