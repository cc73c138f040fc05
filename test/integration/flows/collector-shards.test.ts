// Sharded collectors in one process against the relay stand-in and the real Redis: membership by
// lease, the namespace split, exactly-once processing, handover with the stored baseline, alert
// dedupe across replicas, bad contents of the keys they share, and traffic watches: the owner of the
// scope's namespace counts every flow touching the scope exactly once (also those owned by another
// replica's namespace, and across a handover), and a sharded collector counts as running.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TrafficCheck } from '../../../src/containment/traffic.js';
import { FlowNormalizer } from '../../../src/flows/normalize.js';
import { ScopeWatchSet } from '../../../src/flows/scope-watch.js';
import { checkWatchSpec } from '../../../src/flows/watch-spec.js';
import { collectorMembersKey, collectorRunning, flowsKeyPrefix, TrafficWatchRegistry } from '../../../src/flows/watch-registry.js';
import { Baseline } from '../../../src/flows/baseline.js';
import { BaselineStore } from '../../../src/flows/baseline-store.js';
import { FlowCollector } from '../../../src/flows/collector.js';
import { AlertClaims } from '../../../src/flows/shard/alert-claim.js';
import { NamespaceClaims } from '../../../src/flows/shard/namespace-claims.js';
import { assignOwners, keysOwnedBy } from '../../../src/flows/shard/rendezvous.js';
import type { Anomaly } from '../../../src/flows/types.js';
import { LeaseMembers } from '../../../src/redis/lease-members.js';
import { FakeHubbleRelay } from '../../../src/sim/hubble/relay-server.js';
import { shopTimeline, shopTraffic, type HubbleRecord } from '../../../src/sim/hubble/shop-traffic.js';
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

/** The relay stand-in, started, and stopped after the test. */
async function startedRelay(): Promise<FakeHubbleRelay> {
  const relay = new FakeHubbleRelay();
  await relay.start();
  cleanup.push(() => relay.stop());
  return relay;
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000, state?: () => unknown): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${state ? `: ${JSON.stringify(await state())}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('lease members', () => {
  it('members see each other; a crashed one drops out after the TTL, a stopped one at once', async () => {
    const key = `${uniquePrefix('lease')}:members`;
    const seen: Record<string, (string[] | null)[]> = { a: [], b: [], c: [] };
    const make = (name: string): LeaseMembers => {
      const m = new LeaseMembers(redis(), { key, ttlMs: 900, intervalMs: 150, instance: name, onMembers: (list) => void seen[name]!.push(list) });
      cleanup.push(() => m.stop());
      return m;
    };
    const [a, b, c] = [make('a'), make('b'), make('c')];
    await a.start();
    await b.start();
    await c.start();
    const all = [a.id, b.id, c.id].sort();
    await waitFor(() => [a, b, c].every((m) => m.members?.join() === all.join()), 'all three to see all three');
    expect(a.id).toMatch(/^a-[0-9a-f]{12}$/);

    c.abandon(); // crash: no leave
    const crashed = Date.now();
    await waitFor(() => a.members?.length === 2 && b.members?.length === 2, 'the crashed member to drop out');
    expect(Date.now() - crashed).toBeGreaterThanOrEqual(500); // not before its lease could have run out
    expect(a.members).toEqual([a.id, b.id].sort());

    await b.stop(); // leaves at once
    expect(seen.b!.at(-1)).toBeNull();
    await waitFor(() => a.members?.length === 1, 'the stopped member to be gone', 1_000);
  });

  it('a lease key holding garbage: a string is reported and left alone; bad entries are ignored or dropped', async () => {
    const r = redis();
    const key = `${uniquePrefix('lease')}:members`;
    await r.set(key, 'not a sorted set');
    const calls: (string[] | null)[] = [];
    const m = new LeaseMembers(r, { key, ttlMs: 600, intervalMs: 100, onMembers: (list) => void calls.push(list) });
    cleanup.push(() => m.stop());
    await m.start();
    await new Promise((res) => setTimeout(res, 400));
    expect(m.members).toBeNull();
    expect(calls).toEqual([]); // never counted itself a member
    expect(m.lastError).toContain('the lease key holds a string, not a sorted set');
    expect(await r.get(key)).toBe('not a sorted set');

    // Entries a member never writes: a far-future score (would never expire), and ids that are not member ids.
    await r.del(key);
    await r.zadd(key, '+inf', 'immortal-1', Date.now() + 10_000_000, 'far-future-2', Date.now() + 500, 'bad id with spaces', Date.now() + 500, '{x}');
    // Two renewals reported after the entries were written: at least one ran after them.
    const reported = calls.length;
    await waitFor(() => calls.length >= reported + 2, 'the member to renew after the entries were written');
    expect(m.members).toEqual([m.id]);
    expect(await r.zscore(key, 'immortal-1')).toBeNull();
    expect(await r.zscore(key, 'far-future-2')).toBeNull();
  });
});

describe('alert claims across replicas', () => {
  it('one claim per event (within a cooldown of flow time); garbage is overwritten; a wrong-type key throws', async () => {
    const r = redis();
    const prefix = uniquePrefix('claim');
    const claims = new AlertClaims(r, prefix, 60_000);
    expect(await claims.claim('new-external-egress|db/postgres|203.0.113.66', 1_000_000)).toBe(true);
    expect(await claims.claim('new-external-egress|db/postgres|203.0.113.66', 1_030_000)).toBe(false);
    expect(await claims.claim('new-external-egress|db/postgres|203.0.113.66', 1_000_000 - 30_000)).toBe(false); // a replay of earlier flows
    expect(await claims.claim('new-external-egress|db/postgres|203.0.113.66', 1_070_000)).toBe(true); // a later event
    expect(await claims.claim('other key', 1_000_000)).toBe(true);
    const key = claims.keyOf('hostile {tag} key\n');
    expect(key.startsWith(`${prefix}:alerted:`)).toBe(true);
    expect(key).toMatch(/:[0-9a-f]{32}$/);
    await r.set(key, 'garbage');
    expect(await claims.claim('hostile {tag} key\n', 5)).toBe(true);
    expect(await r.get(key)).toBe('5');
    await r.del(key);
    await r.hset(key, 'x', '1');
    await expect(claims.claim('hostile {tag} key\n', 5)).rejects.toThrow(/WRONGTYPE/);
  });
});

describe('namespace owner keys', () => {
  it('held by a live member: wait; by garbage or a gone member: taken; a wrong-type key: an error, nothing changed', async () => {
    const r = redis();
    const prefix = uniquePrefix('owner');
    const me = new NamespaceClaims(r, prefix, 'me-1', 5_000);
    const other = new NamespaceClaims(r, prefix, 'other-2', 5_000);
    expect([...(await other.claim(['db'], ['me-1', 'other-2'])).held]).toEqual(['db']);
    expect([...(await me.claim(['db'], ['me-1', 'other-2'])).held]).toEqual([]); // the other is live and holds it
    expect([...(await me.claim(['db'], ['me-1'])).held]).toEqual(['db']); // the other is gone
    await me.release('db');
    await other.release('db'); // not the holder: no effect
    await r.set(me.keyOf('api'), '{garbage}\n');
    await r.hset(me.keyOf('web'), 'x', '1');
    const result = await me.claim(['api', 'web'], ['me-1']);
    expect([...result.held]).toEqual(['api']);
    expect(result.errors.join()).toMatch(/web: .*WRONGTYPE/);
    expect(await r.hget(me.keyOf('web'), 'x')).toBe('1');
    expect(await r.get(me.keyOf('db'))).toBeNull();
  });
});

describe('sharded collectors against the relay stand-in', () => {
  it('split the namespaces, process each flow once, and hand a dead replica\'s namespace over with its baseline; the exfiltration is alerted once', async () => {
    const relay = await startedRelay();
    const records = [...shopTraffic({ normalMinutes: 70, incidentMinutes: 3 })];
    const incidentAt = records.findIndex((x) => Date.parse(x.time) >= shopTimeline({ normalMinutes: 70 }).incidentStart);
    relay.publish(records.slice(0, incidentAt));

    const prefix = uniquePrefix('shards');
    const raised: { by: string; anomaly: Anomaly }[] = [];
    const make = (name: string): FlowCollector => {
      const collector = new FlowCollector({
        source: { kind: 'hubble-relay', address: relay.address, since: 0, backoff: { initialMs: 20, maxMs: 200 }, sharding: { leaseTtlMs: 1_500, heartbeatMs: 250 } },
        onAnomaly: (anomaly) => void raised.push({ by: name, anomaly }),
        redis: redis(),
        keyPrefix: prefix,
        snapshotEveryMs: 300,
        instance: name,
        now: () => Date.parse(records.at(-1)?.time ?? '') + 1_000,
      });
      cleanup.push(() => collector.stop());
      return collector;
    };
    const collectors = { a: make('a'), b: make('b'), c: make('c') };
    const list = Object.values(collectors);
    for (const c of list) await c.start();
    const namespaces = ['api', 'db', 'frontend', 'kube-system'];
    const ids = (): string[] => list.map((c) => c.shards!.members.id);
    // The first replica up owns everything for a moment; once all three see each other (and the
    // newcomers waited for it to let go of the owner keys), each owns its rendezvous share.
    const settled = (): boolean => {
      const owners = assignOwners(ids(), namespaces);
      return list.every((c) => c.shards!.members.members?.length === 3 && c.shards!.owned.join() === namespaces.filter((ns) => owners.get(ns) === c.shards!.members.id).join());
    };
    const state = (): unknown => list.map((c) => ({ id: c.shards!.members.id, members: c.shards!.members.members?.length, owned: c.shards!.owned, counts: c.pipeline.counts, relay: c.relayClient?.stats }));
    await waitFor(settled, 'the namespaces split by rendezvous', 15_000, state);
    expect(list.flatMap((c) => c.shards!.owned).sort()).toEqual(namespaces);

    // Every flow of the history is accepted by exactly one replica (all shop flows have a pod side).
    const accepted = (): number => list.reduce((n, c) => n + c.pipeline.counts.accepted, 0);
    await waitFor(() => accepted() === incidentAt, `${incidentAt} flows accepted in total`, 60_000, state);
    await new Promise((r) => setTimeout(r, 500));
    expect(accepted()).toBe(incidentAt);
    // What reached a replica and was not its own was left to its owner; what it had seen before a handover, dropped.
    for (const c of list) {
      const { read, accepted: mine, skipped } = c.pipeline.counts;
      expect(Object.keys(skipped).filter((k) => k !== 'other_shard' && k !== 'replayed')).toEqual([]);
      expect(read).toBe(mine + (skipped.other_shard ?? 0) + (skipped.replayed ?? 0));
    }

    // The replica owning db dies (no snapshot on the way out, no leave) after a periodic snapshot.
    const dbOwner = list.find((c) => c.shards!.owned.includes('db'))!;
    const dbEdges = dbOwner.shards!.partitions.get('db')!.pipeline.baseline.edgeCount;
    expect(dbEdges).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 700)); // a snapshot period or two
    dbOwner.shards!.abandon();
    const died = Date.now();
    const survivors = list.filter((c) => c !== dbOwner);
    await waitFor(() => survivors.some((c) => c.shards!.owned.includes('db')), 'db taken over');
    const heir = survivors.find((c) => c.shards!.owned.includes('db'))!;
    expect(Date.now() - died).toBeLessThan(30_000);
    // All of the dead replica's namespaces move, each to exactly one survivor.
    await waitFor(() => survivors.flatMap((c) => c.shards!.owned).sort().join() === namespaces.join(), 'every namespace owned by a survivor', 15_000, state);
    expect(Date.now() - died).toBeLessThan(30_000);
    // Learned state kept: db's baseline came from the snapshot, not from empty learning.
    const partition = heir.shards!.partitions.get('db')!;
    expect(heir.shards!.takeovers).toBeGreaterThan(0);
    expect(partition.pipeline.baseline.edgeCount).toBe(dbEdges);

    relay.publish(records.slice(incidentAt));
    await waitFor(() => raised.some((x) => x.anomaly.kind === 'new-external-egress'), 'the exfiltration alert', 30_000);
    await new Promise((r) => setTimeout(r, 1_500)); // time for a duplicate to show up, if any
    const exfil = raised.filter((x) => x.anomaly.kind === 'new-external-egress' && x.anomaly.workload.namespace === 'db');
    expect(exfil.map((x) => x.by)).toEqual([heir === collectors.a ? 'a' : heir === collectors.b ? 'b' : 'c']);
  }, 180_000);

  it('a namespace handed over before its owner read any of its flows is replayed by the next owner, not skipped', async () => {
    // The relay lists the namespaces from older flows; both replicas stream from `since`, after
    // them, with a clock later than every flow (a backlog being read). The first replica up owns
    // everything and hands half over before any flow of it arrived.
    const relay = await startedRelay();
    const records = [...shopTraffic({ normalMinutes: 20, incidentMinutes: 0 })];
    const cut = Math.floor(records.length / 2);
    relay.publish(records.slice(0, cut));
    const since = Date.parse(records[cut]!.time);
    const prefix = uniquePrefix('shards-handover');
    const make = (name: string): FlowCollector => {
      const collector = new FlowCollector({
        source: { kind: 'hubble-relay', address: relay.address, since, backoff: { initialMs: 20, maxMs: 200 }, sharding: { leaseTtlMs: 1_500, heartbeatMs: 250 } },
        onAnomaly: () => undefined,
        redis: redis(),
        keyPrefix: prefix,
        snapshotEveryMs: 0,
        instance: name,
        now: () => Date.parse(records.at(-1)!.time) + 3_600_000,
      });
      cleanup.push(() => collector.stop());
      return collector;
    };
    const a = make('a');
    await a.start();
    await waitFor(() => a.shards!.owned.length === 4, 'the first replica to own every namespace');
    // Member ids are random, and rendezvous over four namespaces gives a second replica none of
    // them 1 time in 16: such a replica has nothing to take over, so another one is started.
    const namespaces = a.shards!.owned;
    let b = make('b');
    await b.start();
    for (let i = 1; keysOwnedBy(b.shards!.members.id, [a.shards!.members.id, b.shards!.members.id], namespaces).length === 0 && i <= 20; i++) {
      await b.stop();
      b = make(`b${i}`);
      await b.start();
    }
    const state = (): unknown => [a, b].map((c) => ({ owned: c.shards!.owned, counts: c.pipeline.counts }));
    await waitFor(() => b.shards!.owned.length > 0 && a.shards!.owned.length + b.shards!.owned.length === 4 && a.shards!.members.members?.length === 2, 'the handover', 15_000, state);
    expect(b.shards!.takeovers).toBeGreaterThan(0); // b took namespaces a had saved

    const later = records.slice(cut);
    relay.publish(later);
    const accepted = (): number => a.pipeline.counts.accepted + b.pipeline.counts.accepted;
    await waitFor(() => accepted() === later.length, `all ${later.length} flows accepted`, 30_000, state);
    for (const c of [a, b]) expect(c.pipeline.counts.skipped.replayed ?? 0).toBe(0);
  }, 60_000);

  it('a namespace gained from an older snapshot replays the stream; an owned namespace with a flow older than the relay client\'s window does not get it again', async () => {
    // alpha has one flow, beta flows for 10 s after it: alpha's flow falls out of the relay
    // client's own re-send window. gamma then shows up with a snapshot older than alpha's flow, so
    // the stream restarts before it and the relay sends it again.
    const relay = await startedRelay();
    const template = [...shopTraffic({ normalMinutes: 1, incidentMinutes: 0 })][0]!;
    const t0 = Date.parse('2026-01-15T09:00:00Z');
    type Side = { namespace: string; labels: string[] };
    const flowIn = (ns: string, time: number, port: number): HubbleRecord => {
      const copy = structuredClone(template);
      const iso = new Date(time).toISOString();
      copy.time = iso;
      copy.flow.time = iso;
      for (const side of [copy.flow.source, copy.flow.destination] as Side[]) {
        side.namespace = ns;
        side.labels = side.labels.map((l) => (l.startsWith('k8s:io.kubernetes.pod.namespace=') ? `k8s:io.kubernetes.pod.namespace=${ns}` : l));
      }
      (copy.flow.l4 as { TCP: { source_port: number } }).TCP.source_port = port;
      return copy;
    };
    const beta = Array.from({ length: 100 }, (_, i) => flowIn('beta', t0 + 100 * (i + 1), 40_000 + i));
    relay.publish([flowIn('alpha', t0, 39_999), ...beta]);

    const prefix = uniquePrefix('shards-window');
    const r = redis();
    await new BaselineStore(r, { prefix: `${prefix}:shard:ns:gamma` }).save(new Baseline(), t0 - 500);
    const collector = new FlowCollector({
      source: { kind: 'hubble-relay', address: relay.address, since: t0 - 1_000, backoff: { initialMs: 20, maxMs: 200 }, sharding: { leaseTtlMs: 1_500, heartbeatMs: 150 } },
      onAnomaly: () => undefined,
      redis: r,
      keyPrefix: prefix,
      snapshotEveryMs: 0,
      now: () => t0 + 60_000,
    });
    cleanup.push(() => collector.stop());
    await collector.start();
    const counts = (): unknown => ({ owned: collector.shards!.owned, counts: collector.pipeline.counts, relay: collector.relayClient?.stats });
    await waitFor(() => collector.pipeline.counts.accepted === 101, 'alpha and beta flows accepted', 15_000, counts);

    relay.publish([flowIn('gamma', t0 + 11_000, 41_000)]);
    await waitFor(() => collector.shards!.owned.includes('gamma') && collector.pipeline.counts.accepted >= 102, 'gamma taken and its flow accepted', 15_000, counts);
    expect(collector.shards!.takeovers).toBe(1);
    await new Promise((res) => setTimeout(res, 500));
    expect(collector.pipeline.counts.accepted).toBe(102);
    // All 101 came again: the ones in the relay client's window it dropped itself, the rest the namespaces did.
    expect((collector.pipeline.counts.skipped.replayed ?? 0) + collector.relayClient!.stats.duplicatesDropped).toBe(101);
  }, 30_000);

  it('a relay slow to list its namespaces does not hold up the lease: the replica keeps its namespaces', async () => {
    const relay = await startedRelay();
    relay.publish([...shopTraffic({ normalMinutes: 5, incidentMinutes: 0 })]);
    const collector = new FlowCollector({
      source: { kind: 'hubble-relay', address: relay.address, backoff: { initialMs: 20, maxMs: 200 }, sharding: { leaseTtlMs: 1_000, heartbeatMs: 200 } },
      onAnomaly: () => undefined,
      redis: redis(),
      keyPrefix: uniquePrefix('shards-slow-list'),
      snapshotEveryMs: 0,
    });
    cleanup.push(() => collector.stop());
    await collector.start();
    await waitFor(() => collector.shards!.owned.length === 4, 'the replica to own the namespaces');
    // Each namespace list now takes longer than the lease: the renewals must go on meanwhile.
    relay.faults.namespacesDelayMs = 1_500;
    const lost: string[] = [];
    const until = Date.now() + 4_000;
    while (Date.now() < until) {
      if (collector.shards!.members.members === null || collector.shards!.owned.length < 4) lost.push(new Date().toISOString());
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(lost).toEqual([]);
  }, 30_000);

  it('a replica that owns nothing does not stream (an empty whitelist would be every flow)', async () => {
    const relay = await startedRelay();
    const collector = new FlowCollector({
      source: { kind: 'hubble-relay', address: relay.address, sharding: { leaseTtlMs: 1_000, heartbeatMs: 200 } },
      onAnomaly: () => undefined,
      redis: redis(),
      keyPrefix: uniquePrefix('shards'),
    });
    cleanup.push(() => collector.stop());
    await collector.start();
    await new Promise((r) => setTimeout(r, 600));
    expect(collector.shards!.namespaces).toEqual([]);
    expect(collector.isActive).toBe(false);
    expect(relay.requests).toEqual([]);
  });
});

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
    const relay = await startedRelay();
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

  it('a collector counts as running by the sharded lease only while a member is live; a lease key holding garbage counts none', async () => {
    const r = redis();
    const prefix = uniquePrefix('shard-running');
    const key = collectorMembersKey(prefix);
    const [seconds] = await r.time();
    await r.zadd(key, Number(seconds) * 1000 - 5_000, 'gone-1');
    expect(await collectorRunning(r, prefix)).toBe(false); // expired entry
    await r.zadd(key, Number(seconds) * 1000 + 60_000, 'live-2');
    expect(await collectorRunning(r, prefix)).toBe(true);
    await r.del(key);
    await r.set(key, 'not a sorted set');
    expect(await collectorRunning(r, prefix)).toBe(false);
    expect(await r.get(key)).toBe('not a sorted set'); // left as it is
  });

  it('a replica whose namespace was taken has its flush refused and drops the watch, writing nothing', async () => {
    const relay = await startedRelay();
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
