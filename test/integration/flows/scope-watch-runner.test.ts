// The collector side of traffic watches, tick by tick, on a real redis-server: claiming, the flow
// clock, flushing without a Redis call per flow, closing, and a takeover after a crash.
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { TrafficCheck } from '../../../src/containment/traffic.js';
import { FlowPipeline } from '../../../src/flows/pipeline.js';
import { ScopeWatchRunner } from '../../../src/flows/scope-watch-runner.js';
import type { Flow } from '../../../src/flows/types.js';
import { collectorLockKey, flowsKeyPrefix, TrafficWatchRegistry, watchIndexKey } from '../../../src/flows/watch-registry.js';
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

const WALL = Date.UTC(2026, 4, 2, 12, 0, 0);
/** A flow clock standing still, as in the embedded environment. */
const FLOW_NOW = Date.UTC(2026, 0, 15, 11, 30, 0);
const postgres = { ...pod('db', 'postgres', '10.244.2.31'), pod: 'postgres-0' };
const exfil = world('203.0.113.66');
const SCOPE = { namespace: 'db', podNames: ['postgres-0'], labelSelector: { matchLabels: { app: 'postgres' } } };

function setup(prefix = uniquePrefix('watch')) {
  const r = redis();
  const clock = { wall: WALL };
  const check = new TrafficCheck(r, prefix, { now: () => clock.wall });
  const registry = new TrafficWatchRegistry(r, flowsKeyPrefix(prefix), { now: () => clock.wall });
  const runner = (token: string, pipeline = new FlowPipeline()) => {
    const run = new ScopeWatchRunner({ registry, pipeline, fenceFor: () => ({ key: collectorLockKey(prefix), token }), now: () => FLOW_NOW, wallNow: () => clock.wall, tickMs: 3_600_000, closeGraceMs: 2_000 });
    cleanup.push(() => run.stop(false));
    return { run, pipeline };
  };
  return { r, prefix, clock, check, registry, runner };
}

async function evalCalls(r: Redis): Promise<number> {
  const info = await r.info('commandstats');
  return [...info.matchAll(/cmdstat_(?:eval|evalsha):calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

const leak = (time: number): Flow => flow(postgres, exfil, 443, time);
const drop = (time: number): Flow => ({ ...flow(postgres, exfil, 443, time), verdict: 'DROPPED', dropReason: 'POLICY_DENIED' });

describe('ScopeWatchRunner', () => {
  it('claims on the flow clock, tallies without Redis calls per flow, flushes, closes and leaves the index', async () => {
    const { r, prefix, clock, check, runner } = setup();
    await r.set(collectorLockKey(prefix), 'a:1', 'PX', 60_000);
    const { run, pipeline } = runner('a:1');
    await run.start();
    expect(pipeline.tap).toBeNull(); // nothing to watch: the hot path pays a null check only

    await check.register('inc-1', SCOPE, WALL - 500, WALL + 30_000);
    await run.tick();
    expect(pipeline.tap).not.toBeNull();
    const claimed = await check.readTrafficVerdict('inc-1');
    // Wall times shifted by (flow clock − wall clock) at the claim.
    expect(claimed?.window).toMatchObject({ flowFromMs: FLOW_NOW - 500, flowUntilMs: FLOW_NOW + 30_000, complete: false });

    const calls = await evalCalls(r);
    for (let i = 0; i < 2_000; i++) pipeline.processFlow(i % 2 ? leak(FLOW_NOW + i) : drop(FLOW_NOW + i), FLOW_NOW);
    pipeline.processFlow(leak(FLOW_NOW - 600), FLOW_NOW); // before the window
    expect(await evalCalls(r)).toBe(calls);
    await run.tick();
    expect(await evalCalls(r)).toBe(calls + 1); // one fenced flush for the watch
    expect(await check.readTrafficVerdict('inc-1')).toMatchObject({ status: 'forwarded', forwarded: { egress: 1_000 }, dropped: { egress: 1_000 } });

    clock.wall = WALL + 31_000; // past the end, within the grace: still open
    await run.tick();
    expect((await check.readTrafficVerdict('inc-1'))?.window.complete).toBe(false);
    clock.wall = WALL + 32_000;
    await run.tick();
    expect((await check.readTrafficVerdict('inc-1'))?.window.complete).toBe(true);
    expect(pipeline.tap).toBeNull();
    expect(await r.zcard(watchIndexKey(flowsKeyPrefix(prefix)))).toBe(0);
  });

  it('a replica without the lock claims nothing and writes nothing', async () => {
    const { r, prefix, check, runner } = setup();
    await r.set(collectorLockKey(prefix), 'a:1', 'PX', 60_000);
    const { run, pipeline } = runner('b:2');
    await run.start();
    await check.register('inc-1', SCOPE, WALL, WALL + 30_000);
    await run.tick();
    expect(pipeline.tap).toBeNull();
    expect((await check.readTrafficVerdict('inc-1'))?.status).toBe('no-collector');
  });

  it('a crashed holder: the successor keeps the stored flow window and counts only after what was flushed', async () => {
    const { r, prefix, clock, check, runner } = setup();
    const lockKey = collectorLockKey(prefix);
    await r.set(lockKey, 'a:1', 'PX', 60_000);
    const first = runner('a:1');
    await first.run.start();
    await check.register('inc-1', SCOPE, WALL, WALL + 30_000);
    await first.run.tick();
    for (let i = 0; i < 5; i++) first.pipeline.processFlow(drop(FLOW_NOW + i), FLOW_NOW);
    await first.run.tick();
    first.pipeline.processFlow(drop(FLOW_NOW + 10), FLOW_NOW); // gathered, never flushed: the crash

    // The lock passes to b, whose flow clock has moved on; it replays from before the last flush.
    await r.set(lockKey, 'b:2', 'PX', 60_000);
    clock.wall = WALL + 5_000;
    const pipeline = new FlowPipeline();
    const second = new ScopeWatchRunner({
      registry: new TrafficWatchRegistry(r, flowsKeyPrefix(prefix), { now: () => clock.wall }),
      pipeline,
      fenceFor: () => ({ key: lockKey, token: 'b:2' }),
      now: () => FLOW_NOW + 60_000,
      wallNow: () => clock.wall,
      tickMs: 3_600_000,
    });
    cleanup.push(() => second.stop(false));
    await second.start();
    for (let i = 0; i < 5; i++) pipeline.processFlow(drop(FLOW_NOW + i), FLOW_NOW + 60_000); // already counted by a
    pipeline.processFlow(drop(FLOW_NOW + 10), FLOW_NOW + 60_000);
    pipeline.processFlow(drop(FLOW_NOW + 29_999), FLOW_NOW + 60_000);
    pipeline.processFlow(drop(FLOW_NOW + 30_001), FLOW_NOW + 60_000); // past the stored window
    await second.tick();
    // a's late flush is fenced out.
    await first.run.tick();
    const verdict = await check.readTrafficVerdict('inc-1');
    expect(verdict).toMatchObject({ dropped: { egress: 7 }, window: { flowFromMs: FLOW_NOW, flowUntilMs: FLOW_NOW + 30_000, collector: 'b:2' } });
  });

  it('a failed flush keeps the tallies for the next one', async () => {
    const { r, prefix, check, runner } = setup();
    await r.set(collectorLockKey(prefix), 'a:1', 'PX', 60_000);
    const { run, pipeline } = runner('a:1');
    await run.start();
    await check.register('inc-1', SCOPE, WALL, WALL + 30_000);
    await run.tick();
    pipeline.processFlow(drop(FLOW_NOW + 1), FLOW_NOW);
    // Redis refuses the script (a read-only replica, OOM…): simulated by a lock key of the wrong type.
    await r.del(collectorLockKey(prefix));
    await r.hset(collectorLockKey(prefix), 'x', '1');
    await expect(run.tick()).rejects.toThrow(/WRONGTYPE/);
    pipeline.processFlow(drop(FLOW_NOW + 2), FLOW_NOW);
    await r.del(collectorLockKey(prefix));
    await r.set(collectorLockKey(prefix), 'a:1', 'PX', 60_000);
    await run.tick();
    expect((await check.readTrafficVerdict('inc-1'))?.dropped.egress).toBe(2);
  });
});
