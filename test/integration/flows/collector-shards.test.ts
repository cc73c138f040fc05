// Sharded collectors in one process against the relay stand-in and the real Redis: membership by
// lease, the namespace split, exactly-once processing, handover with the stored baseline, alert
// dedupe across replicas, and bad contents of the keys they share.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
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

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000, state?: () => unknown): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${state ? `: ${JSON.stringify(state())}` : ''}`);
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
    const relay = new FakeHubbleRelay();
    await relay.start();
    cleanup.push(() => relay.stop());
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
    const relay = new FakeHubbleRelay();
    await relay.start();
    cleanup.push(() => relay.stop());
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
    const relay = new FakeHubbleRelay();
    await relay.start();
    cleanup.push(() => relay.stop());
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
    const relay = new FakeHubbleRelay();
    await relay.start();
    cleanup.push(() => relay.stop());
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
    const relay = new FakeHubbleRelay();
    await relay.start();
    cleanup.push(() => relay.stop());
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
