import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisServerMissingError, startThrowawayRedis, resolveRedis } from '../../src/redis/throwaway.js';

describe('throwaway redis-server', () => {
  it('starts a private server on a free port and stops it', async () => {
    const redis = await startThrowawayRedis();
    const client = new Redis(redis.url);
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
    await redis.stop();
    const again = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    again.on('error', () => {});
    await expect(again.connect()).rejects.toThrow();
    again.disconnect();
  });

  it('names the fix when redis-server is missing', async () => {
    await expect(startThrowawayRedis('/nonexistent/redis-server')).rejects.toBeInstanceOf(RedisServerMissingError);
    await expect(startThrowawayRedis('/nonexistent/redis-server')).rejects.toThrow(/apt-get install -y redis-server.*REDIS_URL/s);
  });

  it('uses REDIS_URL when it is set and starts nothing', async () => {
    const redis = await resolveRedis({ REDIS_URL: 'redis://127.0.0.1:6399' });
    expect(redis.url).toBe('redis://127.0.0.1:6399');
    expect(redis.port).toBe(6399);
  });
});
