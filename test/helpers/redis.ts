import { randomBytes } from 'node:crypto';
import { afterAll, inject } from 'vitest';
import { Redis } from 'ioredis';

export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A key prefix no other test file uses, so tests share one server without interfering. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export function testRedis(): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
}

/** A connection factory for a test file: every connection it opened is closed after the file's tests. */
export function redisConnections(): () => Redis {
  const connections: Redis[] = [];
  afterAll(() => {
    for (const c of connections) c.disconnect();
  });
  return () => {
    const r = testRedis();
    connections.push(r);
    return r;
  };
}
