// Connects to Redis and fails fast, with a message naming the fix, when it cannot be reached.
// Every connection of the family (the client and every duplicate of it, including those BullMQ
// makes for its blocking reads) has an 'error' listener, so a Redis outage is logged, never an
// unhandled 'error' event; disconnectRedis() closes the whole family.
import { Redis, type RedisOptions } from 'ioredis';

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

/** Told about a connection's errors: the first of each outage, and again when the error changes. */
export type RedisErrorListener = (error: Error, connection: string) => void;

const families = new WeakMap<Redis, Set<Redis>>();

function reportErrors(client: Redis, name: string, onError: RedisErrorListener | undefined): void {
  let last: string | undefined;
  client.on('error', (error: Error) => {
    // A reconnect loop repeats the same error every few hundred ms: once per outage is enough.
    if (error.message === last) return;
    last = error.message;
    onError?.(error, name);
  });
  client.on('ready', () => {
    last = undefined;
  });
}

/** Makes every duplicate (and its duplicates) report its errors and join the family. */
function adoptDuplicates(client: Redis, family: Set<Redis>, onError: RedisErrorListener | undefined): void {
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (override?: Partial<RedisOptions>): Redis => {
    const copy = duplicate(override);
    family.add(copy);
    copy.on('end', () => family.delete(copy));
    reportErrors(copy, override?.connectionName ?? `duplicate-${family.size}`, onError);
    adoptDuplicates(copy, family, onError);
    return copy;
  };
}

/** A connected client; BullMQ needs maxRetriesPerRequest: null on connections it blocks on. */
export async function connectRedis(url: string, timeoutMs = 5000, onError?: RedisErrorListener): Promise<Redis> {
  // disconnectTimeout bounds how long a closed connection keeps a timer (and so the process) alive.
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null, connectTimeout: timeoutMs, retryStrategy: () => null, disconnectTimeout: 500 });
  // The first failure is reported by the rejected connect() below, not as an unhandled event.
  const ignoreStartupError = (): void => {};
  client.on('error', ignoreStartupError);
  // connectTimeout covers the TCP connect only: a server that accepts but never answers needs its own bound.
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([client.connect().then(() => client.ping()), silent]);
  } catch (error) {
    client.disconnect();
    throw new RedisUnreachableError(url, (error as Error).message || 'connection failed');
  } finally {
    clearTimeout(timer);
  }
  client.off('error', ignoreStartupError);
  reportErrors(client, 'main', onError);
  const family = new Set<Redis>([client]);
  families.set(client, family);
  adoptDuplicates(client, family, onError);
  // Once up, reconnect after transient drops instead of giving up (duplicates copy the options).
  client.options.retryStrategy = (times) => Math.min(times * 200, 2000);
  return client;
}

/** Disconnects the client and every duplicate made from it (or from them). */
export function disconnectRedis(client: Redis): void {
  for (const member of families.get(client) ?? [client]) member.disconnect();
}
