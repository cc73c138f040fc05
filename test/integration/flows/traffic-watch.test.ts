// The traffic half of the containment proof, end to end on real parts: a real redis-server, the
// Hubble Relay stand-in over gRPC, and the bot's collector role (two replicas, in the embedded
// environment); the worker's side (TrafficCheck) shares nothing with them but Redis.
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeTrafficVerdict } from '../../../src/containment/traffic-describe.js';
import { TrafficCheck, TrafficWatchError, type TrafficVerdict } from '../../../src/containment/traffic.js';
import { DEFAULT_DNS_TARGET, ScopeWatchSet } from '../../../src/flows/scope-watch.js';
import { collectorLockKey, flowsKeyPrefix, TrafficWatchRegistry, watchIndexKey, watchKeys } from '../../../src/flows/watch-registry.js';
import { checkWatchSpec } from '../../../src/flows/watch-spec.js';
import type { RunningBot } from '../../../src/runtime.js';
import type { EmbeddedEnvironment } from '../../../src/sim/environment.js';
import { startTestEnvironment } from '../../helpers/environment.js';
import { testRedis, uniquePrefix } from '../../helpers/redis.js';
import { flow, pod, world } from '../../unit/flows/helpers.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function redis(): Redis {
  const r = testRedis();
  cleanup.push(() => r.quit());
  return r;
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const POSTGRES = { namespace: 'db', podNames: ['postgres-0'], labelSelector: { matchLabels: { app: 'postgres' } } };

describe('traffic watches with the collector role', () => {
  let env: EmbeddedEnvironment;
  let a: RunningBot;
  let b: RunningBot;
  let r: Redis;
  let check: TrafficCheck;
  let registry: TrafficWatchRegistry;
  let prefix: string;
  const early = { id: 'inc-early', from: 0 };

  beforeAll(async () => {
    env = await startTestEnvironment({ flows: true, startBot: false });
    prefix = env.config.redis.keyPrefix;
    r = testRedis();
    check = new TrafficCheck(r, prefix);
    registry = new TrafficWatchRegistry(r, flowsKeyPrefix(prefix));
    // Registered while no collector runs: the first holder claims it when it starts.
    expect(await check.collectorRunning()).toBe(false);
    early.from = Date.now();
    await check.register(early.id, { namespace: 'frontend', podNames: [] }, early.from, early.from + 8_000);
    a = await env.startBot({ roles: ['collector'] });
    b = await env.startBot({ roles: ['collector'] });
    await waitFor("the collector to read the relay's history", () => (a.collector?.pipeline.counts.read ?? 0) >= env.hubble!.historyFlows, 20_000);
  });
  afterAll(async () => {
    r?.disconnect();
    await env?.stop();
  });

  async function claimed(id: string): Promise<number> {
    const record = await waitFor(`${id} to be claimed`, async () => {
      const rec = await registry.read(id);
      return rec?.claimedAt != null ? rec : undefined;
    });
    return (record.claimedAt as number) - (record.registeredAt as number);
  }

  async function watchOnce(id: string, emit: () => number): Promise<TrafficVerdict> {
    const from = Date.now();
    await check.register(id, POSTGRES, from, from + 3_000);
    expect(await claimed(id)).toBeLessThan(1_000);
    expect(emit()).toBeGreaterThan(0);
    const verdict = await check.waitForTrafficVerdict(id, { slackMs: 8_000 });
    if (!verdict) throw new Error('no verdict');
    return verdict;
  }

  it('one replica holds the lock and claims a watch registered before it started', async () => {
    expect(a.collector?.isActive).toBe(true);
    expect(b.collector?.isActive).toBe(false);
    expect(await check.collectorRunning()).toBe(true);
    expect(await r.get(collectorLockKey(prefix))).toMatch(/^instance:/);
    expect(await claimed(early.id)).toBeLessThan(8_000);
  });

  it('dropped exfiltration, dropped clients and kept DNS: clean; flows outside the window do not count', async () => {
    const holder = await r.get(collectorLockKey(prefix));
    const verdict = await watchOnce('inc-dropped', () => {
      const inside = env.hubble!.emitAfterContainment({ spacingMs: 20 });
      // A minute later on the flow clock: past the window.
      return inside + env.hubble!.emitAfterContainment({ start: env.hubble!.flowNow + 60_000, spacingMs: 20 });
    });
    expect(verdict).toMatchObject({ status: 'clean', forwarded: { egress: 0, ingress: 0 }, dropped: { egress: 10, ingress: 4 }, dnsForwarded: 3, other: 0 });
    expect(verdict.window).toMatchObject({ complete: true, collector: holder, durationMs: 3_000 });
    expect(verdict.window.flowFromMs).toBeGreaterThan(env.hubble!.flowNow - 1_000);
    expect(verdict.samples.dropped.map((s) => `${s.direction} ${s.from} → ${s.to}:${s.port} ${s.dropReason} ×${s.count}`).sort()).toEqual([
      'egress db/postgres-0 → 203.0.113.66:443 POLICY_DENIED ×10',
      'ingress api/orders-7c5d9b8f4c-kq2wz → db/postgres-0:5432 POLICY_DENIED ×2',
      'ingress api/payments-5b7f8c6d94-tn4rx → db/postgres-0:5432 POLICY_DENIED ×2',
    ]);
    expect(describeTrafficVerdict(verdict).summary).toBe('Traffic check (3 s): 0 flows forwarded, 14 dropped, DNS to kube-dns 3 forwarded — containment holds on the wire');
  });

  it('an established connection the CNI keeps: forwarded, with its sample and the restart', async () => {
    const verdict = await watchOnce('inc-forwarded', () => env.hubble!.emitAfterContainment({ spacingMs: 20, droppedExfil: 3, droppedIngress: 0, dns: 1, forwardedExfil: 5, forwardedReplies: 2 }));
    expect(verdict).toMatchObject({ status: 'forwarded', forwarded: { egress: 7, ingress: 0 }, dropped: { egress: 3, ingress: 0 }, dnsForwarded: 1 });
    expect(verdict.samples.forwarded).toHaveLength(1);
    expect(verdict.samples.forwarded[0]).toMatchObject({ from: 'db/postgres-0', to: '203.0.113.66', port: 443, protocol: 'TCP', verdict: 'FORWARDED', scopePod: 'postgres-0', count: 7 });
    const words = describeTrafficVerdict(verdict);
    expect(words.summary).toMatch(/^Traffic check \(3 s\): 7 flows still forwarded, not DNS: db\/postgres-0 → 203\.0\.113\.66:443 TCP at 2026-01-15T/);
    expect(words.summary).toContain('likely an established connection the CNI keeps (conntrack); restart the pod (kubectl -n db delete pod postgres-0) to cut it');
  });

  it('the early watch saw its window through with nothing to judge, and closed windows leave the index', async () => {
    const verdict = await check.waitForTrafficVerdict(early.id);
    expect(verdict).toMatchObject({ status: 'no-traffic', window: { complete: true } });
    expect(await r.zcard(watchIndexKey(flowsKeyPrefix(prefix)))).toBe(0);
  });

  it('the standby records nothing until it holds the lock; after a graceful stop it takes over', async () => {
    expect(b.collector?.pipeline.tap).toBeNull();
    const before = await r.get(collectorLockKey(prefix));
    await a.stop();
    await waitFor('the standby to take over', () => b.collector?.isActive === true, 10_000);
    const holder = await r.get(collectorLockKey(prefix));
    expect(holder).not.toBe(before);
    // The new holder resumes the relay's stream from the last snapshot: wait until it caught up.
    await waitFor('the standby to catch up', () => (b.collector?.pipeline.counts.read ?? 0) > 0 && b.collector?.relayClient?.stats.delivered === b.collector?.pipeline.counts.read);
    const verdict = await watchOnce('inc-takeover', () => env.hubble!.emitAfterContainment({ spacingMs: 20, droppedExfil: 2, droppedIngress: 0, dns: 0 }));
    expect(verdict).toMatchObject({ status: 'clean', dropped: { egress: 2, ingress: 0 }, window: { collector: holder } });
  });
});

describe('traffic watches without a collector, and the fencing', () => {
  it('no collector: not verified by traffic, at once', async () => {
    const prefix = uniquePrefix('traffic');
    const check = new TrafficCheck(redis(), prefix);
    expect(await check.collectorRunning()).toBe(false);
    const now = Date.now();
    await check.register('inc-alone', POSTGRES, now, now + 30_000);
    const started = Date.now();
    const verdict = await check.waitForTrafficVerdict('inc-alone');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(verdict).toMatchObject({ status: 'no-collector', reason: 'no flow collector is running', window: { complete: false, flowFromMs: null } });
    expect(describeTrafficVerdict(verdict!).summary).toBe('Traffic check: not verified by traffic: no flow collector is running');
    expect(await check.readTrafficVerdict('inc-unknown')).toBeNull();
  });

  it('bad registrations are refused and write nothing', async () => {
    const r = redis();
    const prefix = uniquePrefix('traffic');
    const check = new TrafficCheck(r, prefix);
    const now = Date.now();
    await expect(check.register('bad|id', POSTGRES, now, now + 1000)).rejects.toThrow(TrafficWatchError);
    await expect(check.register('inc-1', { namespace: 'DB', podNames: [] }, now, now + 1000)).rejects.toThrow(/scope.namespace/);
    await expect(check.register('inc-1', POSTGRES, now, now)).rejects.toThrow(/window is empty/);
    await expect(check.readTrafficVerdict('../../etc')).rejects.toThrow(/incident id/);
    expect(await r.keys(`${prefix}:*`)).toEqual([]);
  });

  /** A registry with the collector lock held and one watch on postgres registered for `incidentId`. */
  async function registered(incidentId: string) {
    const r = redis();
    const prefix = uniquePrefix('traffic');
    const registry = new TrafficWatchRegistry(r, flowsKeyPrefix(prefix));
    const lock = { key: collectorLockKey(prefix), token: 'holder:1' };
    await r.set(lock.key, lock.token, 'PX', 60_000);
    const now = Date.now();
    const spec = checkWatchSpec({ incidentId, scope: POSTGRES, fromMs: now, untilMs: now + 30_000 });
    const { gen } = await registry.register(spec);
    return { r, prefix, registry, lock, now, spec, gen };
  }

  it("a replica asked again about a watch another replica's namespace holds decides from the spec it read; a replaced registration is never claimed from it", async () => {
    const { r, prefix, registry, lock, now, spec, gen } = await registered('inc-2');
    const member = `inc-2|${gen}`;
    const window = (s: typeof spec) => ({ flowFrom: s.fromMs, flowUntil: s.untilMs });
    const specs = new Map<string, typeof spec>();
    expect(await registry.claim(member, () => null, window, specs)).toBe('not-ours');
    expect(specs.get(member)).toEqual(spec);
    // Not read again: a spec overwritten since (here, corrupt) changes nothing for this entry.
    const hash = watchKeys(flowsKeyPrefix(prefix), 'inc-2').hash;
    await r.hset(hash, 'spec', '{"incidentId":');
    expect(await registry.claim(member, () => null, window, specs)).toBe('not-ours');
    expect(await registry.claim(member, () => null, window)).toEqual({ error: 'watch spec is not JSON' });
    // Registered again: the old entry's kept spec is refused by the claim itself; the new entry reads its own.
    const again = await registry.register({ ...spec, untilMs: now + 60_000 });
    expect(await registry.claim(member, () => lock, window, specs)).toBe('gone');
    expect(await registry.read('inc-2')).toMatchObject({ gen: again.gen, claimedAt: null });
    expect(await registry.claim(`inc-2|${again.gen}`, () => lock, window, specs)).toMatchObject({ spec: { untilMs: now + 60_000 }, flowUntil: now + 60_000 });
  });

  it('a flush without the lock, or for a replaced registration, changes nothing; a corrupt spec is not claimed', async () => {
    const { r, prefix, registry, lock, now, spec, gen } = await registered('inc-1');
    const member = `inc-1|${gen}`;
    expect([...(await registry.active(0)).keys()]).toEqual([member]);
    const claim = await registry.claim(member, () => lock, (s) => ({ flowFrom: s.fromMs, flowUntil: s.untilMs }));
    expect(claim).toMatchObject({ flowFrom: now, flowUntil: now + 30_000 });

    const set = new ScopeWatchSet();
    set.add(member, spec, { flowFrom: now, flowUntil: now + 30_000, resumeAfter: Number.NEGATIVE_INFINITY });
    const postgres = { ...pod('db', 'postgres'), pod: 'postgres-0' };
    set.observe({ ...flow(postgres, world('203.0.113.66'), 443, now + 1), verdict: 'DROPPED', dropReason: 'POLICY_DENIED' });
    const delta = set.drain(member)!;
    expect(await registry.flush(delta, spec, { key: lock.key, token: 'standby:2' }, false)).toBe('lock-lost');
    expect((await registry.read('inc-1'))?.counters['drop:egress']).toBe(0);
    expect(await registry.flush(delta, spec, lock, false)).toBe('ok');
    expect((await registry.read('inc-1'))?.counters['drop:egress']).toBe(1);

    // Registered again (a re-run of the step): the old generation's flushes are refused, its counts gone.
    const again = await registry.register({ ...spec, fromMs: now + 1000, untilMs: now + 31_000 });
    expect(await registry.flush(delta, spec, lock, false)).toBe('gone');
    const fresh = await registry.read('inc-1');
    expect(fresh).toMatchObject({ gen: again.gen, claimedAt: null, counters: { 'drop:egress': 0 } });
    expect([...(await registry.active(0)).keys()]).toEqual([`inc-1|${again.gen}`]);

    // A corrupt spec (written by something else) is reported, not claimed, not thrown.
    await r.hset(watchKeys(flowsKeyPrefix(prefix), 'inc-1').hash, 'spec', '{"incidentId":');
    expect(await registry.claim(`inc-1|${again.gen}`, () => lock, () => ({ flowFrom: 0, flowUntil: 1 }))).toEqual({ error: 'watch spec is not JSON' });
    await expect(new TrafficCheck(r, prefix).readTrafficVerdict('inc-1')).rejects.toThrow(/cannot be read: watch spec is not JSON/);
    expect(DEFAULT_DNS_TARGET.podLabels).toEqual({ 'k8s-app': 'kube-dns' });
  });
});
