// The Redis heartbeat over a real connection to a real redis-server: fresh while Redis answers,
// stale within its window once a network partition holds the PINGs, fresh again once it heals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisHeartbeat } from '../../src/redis/heartbeat.js';
import { testRedisUrl } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

let proxy: TcpProxy;
let client: Redis;

beforeAll(async () => {
  const target = new URL(testRedisUrl());
  proxy = await startTcpProxy(Number(target.port), target.hostname);
  client = new Redis({ host: '127.0.0.1', port: proxy.port, maxRetriesPerRequest: null, lazyConnect: true });
  await client.connect();
});
afterAll(async () => {
  proxy?.partition(false);
  client?.disconnect();
  await proxy?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(10);
  }
  return Date.now() - start;
}

describe('RedisHeartbeat against redis-server', () => {
  it('is fresh while Redis answers, stale within the window of a partition, and fresh again after it heals', async () => {
    let pings = 0;
    const heartbeat = new RedisHeartbeat(
      () => {
        pings += 1;
        return client.ping();
      },
      { intervalMs: 50, freshMs: 300 },
    );
    heartbeat.start();
    try {
      await until(() => heartbeat.fresh, 2000);
      await sleep(400);
      expect(heartbeat.fresh).toBe(true);
      expect(pings).toBeGreaterThan(3);

      proxy.partition(true);
      const staleAfter = await until(() => !heartbeat.fresh, 2000);
      // Stale no later than the window after the last PING answered before the partition was sent.
      expect(staleAfter).toBeLessThanOrEqual(300 + 150);
      const heldAt = pings;
      await sleep(500);
      // The held PING is the only one: nothing piles up behind the partition.
      expect(pings).toBe(heldAt);
      expect(heartbeat.fresh).toBe(false);

      proxy.partition(false);
      await until(() => heartbeat.fresh, 2000);
      expect(pings).toBeGreaterThan(heldAt);
    } finally {
      heartbeat.stop();
    }
  });
});
