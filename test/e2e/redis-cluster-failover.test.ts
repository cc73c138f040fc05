// The bot on a real Redis Cluster (3 masters, 3 replicas on loopback): a whole incident, with the
// master that serves the bot's hash tag killed while the approved step runs. Its replica takes
// over; the incident completes, the approval is acted on once, and nothing is applied twice.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { hashSlot } from '../../src/redis/target.js';
import { click, DEMO_USERS, openIncident, playbookUntilValidate } from '../helpers/environment.js';
import { expectCompletedOnce, redisClusterToolsMissing, startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.js';
import { uniquePrefix } from '../helpers/redis.js';

const missing = redisClusterToolsMissing();
if (missing) console.warn(`Redis Cluster end-to-end tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('the bot on a Redis Cluster', () => {
  let cluster: TestRedisCluster;
  let env: EmbeddedEnvironment;
  const prefix = uniquePrefix('cluster');

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    env = await startEmbeddedEnvironment({
      // Two startup nodes: the client discovers the rest.
      redis: { mode: 'cluster', nodes: cluster.nodes.slice(0, 2).map((n) => `${n.host}:${n.port}`) },
      keyPrefix: prefix,
      playbookPath: playbookUntilValidate(),
    });
  }, 120_000);
  afterAll(async () => {
    await env?.stop();
    await cluster?.stop();
  }, 60_000);

  it('completes an incident while the master of its hash slot fails over; approval once, applied once', async () => {
    const tag = env.config.redis.keyPrefix;
    expect(tag).toBe(`{${prefix}}`);
    const { incidentId, message } = await openIncident(env, 'incident db -- exfiltration during a Redis failover');

    const master = await cluster.masterFor(tag);
    const approved = await click(env, message, DEMO_USERS.approver.id);
    expect(approved.status).toBe(200);
    // Everything written so far is on the replica; what the running step writes next meets the failover.
    await cluster.syncReplica(tag);
    await cluster.kill(master);
    const promoted = await cluster.waitForFailover(tag, master);
    expect(promoted).not.toBe(master);

    await expectCompletedOnce(env, incidentId);
  }, 180_000);

  it('keeps every key it wrote in the one slot of its hash tag', async () => {
    const tag = env.config.redis.keyPrefix;
    const keys: string[] = [];
    // Every live node, masters and replicas alike: the test looks; the bot never scans.
    for (const { host, port } of cluster.nodes) {
      const node = new Redis({ host, port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      node.on('error', () => undefined);
      try {
        await node.connect();
        keys.push(...(await node.keys('*')));
      } catch {
        // The killed master.
      } finally {
        node.disconnect();
      }
    }
    const ours = keys.filter((k) => k.includes(prefix));
    expect(ours.length).toBeGreaterThan(10);
    expect(ours.filter((k) => !k.startsWith(tag))).toEqual([]);
    expect(new Set(ours.map(hashSlot))).toEqual(new Set([hashSlot(tag)]));
    // BullMQ's queue is among them.
    expect(ours.some((k) => k.startsWith(`${tag}:bull:`))).toBe(true);
  });
});
