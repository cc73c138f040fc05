// The traffic verification of a restore step on real parts: a real redis-server, the Hubble Relay
// stand-in over gRPC and the bot's collector role (embedded environment). The collector learns the
// shop's normal traffic (its baseline gives the edges that must be open), the worker's side
// registers a watch over the incident namespace through TrafficCheck, and judgeTraffic reads the
// window: client connections to postgres dropped is a failed restore; a quiet window has nothing
// to judge.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrafficCheck } from '../../src/containment/traffic.js';
import { flowsKeyPrefix, TrafficWatchRegistry } from '../../src/flows/watch-registry.js';
import { learnedEdges } from '../../src/nettest/learned.js';
import type { LearnedEdge } from '../../src/nettest/matrix.js';
import { judgeTraffic, RESTORE_WATCH_SAMPLES, restoreWatchScope } from '../../src/restore/traffic-judge.js';
import type { RunningBot } from '../../src/runtime.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { startTestEnvironment } from '../helpers/environment.js';
import { testRedis } from '../helpers/redis.js';

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The exfiltration the incident was opened for, as the anomaly's probe names it (by pod). */
const EXFIL = { src: 'db/postgres-0', dst: '203.0.113.66', port: 443, protocol: 'TCP' };

describe('a restore step judged on the wire', () => {
  let env: EmbeddedEnvironment;
  let bot: RunningBot;
  let r: Redis;
  let check: TrafficCheck;
  let registry: TrafficWatchRegistry;
  let expectedOpen: LearnedEdge[];

  beforeAll(async () => {
    env = await startTestEnvironment({ flows: true, startBot: false });
    const prefix = env.config.redis.keyPrefix;
    r = testRedis();
    check = new TrafficCheck(r, prefix);
    registry = new TrafficWatchRegistry(r, flowsKeyPrefix(prefix));
    bot = await env.startBot({ roles: ['collector'] });
    await waitFor("the collector to read the relay's history", () => (bot.collector?.pipeline.counts.read ?? 0) >= env.hubble!.historyFlows, 20_000);
    // The snapshot the collector role keeps, read back as the validate step reads it.
    await bot.collector!.snapshot();
    const learned = await learnedEdges(r, prefix, ['db'], env.hubble!.flowNow);
    expect(learned.unavailable).toBeUndefined();
    expectedOpen = learned.edges;
  });
  afterAll(async () => {
    r?.disconnect();
    await env?.stop();
  });

  async function watch(id: string, windowMs: number): Promise<void> {
    const from = Date.now();
    await check.register(id, restoreWatchScope('db', ['postgres-0']), from, from + windowMs, { samples: RESTORE_WATCH_SAMPLES });
    // Flows reaching the collector before it holds the watch are not counted: emit after the claim.
    await waitFor(`${id} to be claimed`, async () => ((await registry.read(id))?.claimedAt != null ? true : undefined));
  }

  it('the clients of postgres dropped in the window: the restore step fails on traffic', async () => {
    expect(expectedOpen).toContainEqual({ src: 'api/orders', dst: 'db/postgres', port: 5432, protocol: 'TCP' });
    expect(expectedOpen).toContainEqual({ src: 'api/payments', dst: 'db/postgres', port: 5432, protocol: 'TCP' });
    await watch('inc-restore-drop', 3_000);
    // Still the quarantine's traffic: client connections dropped at postgres-0, the exfiltration dropped, DNS kept.
    expect(env.hubble!.emitAfterContainment({ spacingMs: 20 })).toBeGreaterThan(0);
    const verdict = await check.waitForTrafficVerdict('inc-restore-drop', { slackMs: 8_000 });
    expect(verdict).toMatchObject({ status: 'clean', window: { complete: true }, dropped: { egress: 10, ingress: 4 } });

    const judged = judgeTraffic({ verdict, expectedOpen, anomalyFlows: [EXFIL] });
    expect(judged.status).toBe('fail');
    expect(judged.lines).toEqual([
      'Traffic (3 s): 2 expected edges dropped',
      'api/orders → db/postgres:5432/TCP should be open (learned, allowed by known-good) but was dropped: POLICY_DENIED (seen as api/orders-7c5d9b8f4c-kq2wz → db/postgres-0, 2 flows)',
      'api/payments → db/postgres:5432/TCP should be open (learned, allowed by known-good) but was dropped: POLICY_DENIED (seen as api/payments-5b7f8c6d94-tn4rx → db/postgres-0, 2 flows)',
    ]);
    // The exfiltration alone, dropped, is what a restore wants to see of the anomaly.
    const exfilOnly = judgeTraffic({ verdict, expectedOpen: expectedOpen.filter((e) => e.dst !== 'db/postgres'), anomalyFlows: [EXFIL] });
    expect(exfilOnly.status).toBe('pass');
    expect(exfilOnly.lines).toContain('Still dropped (anomaly): db/postgres-0 → 203.0.113.66:443/TCP (10 flows)');
  });

  it('a quiet window: no traffic to judge, not a pass', async () => {
    await watch('inc-restore-quiet', 2_000);
    const verdict = await check.waitForTrafficVerdict('inc-restore-quiet', { slackMs: 8_000 });
    expect(verdict).toMatchObject({ status: 'no-traffic', window: { complete: true } });
    expect(judgeTraffic({ verdict, expectedOpen, anomalyFlows: [EXFIL] })).toEqual({ status: 'no-traffic', lines: ['No traffic to judge: no flows to or from namespace db in 2 s'] });
  });
});
