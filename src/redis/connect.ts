// Connects to Redis and fails fast, with a message naming the fix, when it cannot be reached.
import { Redis } from 'ioredis';

export class RedisUnreachableError extends Error {
  constructor(url: string, cause: string) {
    super(`cannot reach Redis at ${redactUrl(url)} (${cause}). Start redis-server or set REDIS_URL to a reachable Redis.`);
    this.name = 'RedisUnreachableError';
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** A connected client; BullMQ needs maxRetriesPerRequest: null on connections it blocks on. */
export async function connectRedis(url: string, timeoutMs = 5000, onError?: (error: Error) => void): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null, connectTimeout: timeoutMs, retryStrategy: () => null });
  // The first failure is reported by the rejected connect() below, not as an unhandled event.
  const ignoreStartupError = (): void => {};
  client.on('error', ignoreStartupError);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new RedisUnreachableError(url, (error as Error).message || 'connection failed');
  }
  client.off('error', ignoreStartupError);
  client.on('error', (error: Error) => onError?.(error));
  // Once up, reconnect after transient drops instead of giving up.
  client.options.retryStrategy = (times) => Math.min(times * 200, 2000);
  return client;
}
