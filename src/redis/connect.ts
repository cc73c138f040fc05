// Connects to Redis (one server, a Redis Cluster, or the master Sentinels point to) and fails fast,
// with a message naming the fix, when it cannot be reached or a cluster is not serving every slot.
// Every connection of the family (the client and every duplicate of it, including those BullMQ
// makes for its blocking reads) has an 'error' listener, so a Redis outage is logged, never an
// unhandled 'error' event; disconnectRedis() closes the whole family.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { diagnoseCluster } from './cluster-check.js';
import { describeTarget, redactUrl, type RedisTarget } from './target.js';

export { redactUrl };

/** What the stores, the queue and the roles are given: one server's client, or a cluster's. */
export type RedisClient = Redis | Cluster;

export class RedisUnreachableError extends Error {
  constructor(target: string | RedisTarget, cause: string) {
    const where = typeof target === 'string' ? describeTarget({ mode: 'single', url: target }) : describeTarget(target);
    super(`cannot reach ${where} (${cause}). ${fixFor(typeof target === 'string' ? 'single' : target.mode)}`);
    this.name = 'RedisUnreachableError';
  }
}

function fixFor(mode: RedisTarget['mode']): string {
  switch (mode) {
    case 'single':
      return 'Start redis-server or set REDIS_URL to a reachable Redis.';
    case 'cluster':
      return 'Check redis.nodes (some of the cluster nodes, host:port), REDIS_USERNAME/REDIS_PASSWORD and redis.tls.';
    case 'sentinel':
      return 'Check redis.sentinels, redis.masterName (as in the Sentinels "sentinel monitor" line), REDIS_PASSWORD/REDIS_SENTINEL_PASSWORD and redis.tls.';
  }
}

/** The cluster answered but does not serve every hash slot (CLUSTERDOWN): commands would fail. */
export class RedisClusterNotReadyError extends Error {
  constructor(target: RedisTarget, state: string) {
    super(
      `${describeTarget(target)} is not ready (cluster_state:${state}, commands fail with CLUSTERDOWN): not every hash slot is served. ` +
        'Finish or repair the cluster (redis-cli --cluster create / --cluster fix), check it with redis-cli --cluster check <node>, then start again.',
    );
    this.name = 'RedisClusterNotReadyError';
  }
}

/** redis.mode is cluster but a startup node is a standalone Redis. */
export class RedisNotAClusterError extends Error {
  constructor(target: RedisTarget, node: string) {
    super(
      `${describeTarget(target)}: ${node} is not a cluster node (cluster support disabled). ` +
        'Point redis.nodes at Redis Cluster nodes, or for a single Redis set redis.mode: single and REDIS_URL.',
    );
    this.name = 'RedisNotAClusterError';
  }
}

/** Told about a connection's errors: the first of each outage, and again when the error changes. */
export type RedisErrorListener = (error: Error, connection: string) => void;

const families = new WeakMap<RedisClient, Set<RedisClient>>();

function reportErrors(client: RedisClient, name: string, onError: RedisErrorListener | undefined): void {
  let last: string | undefined;
  const report = (error: Error): void => {
    // A reconnect loop repeats the same error every few hundred ms: once per outage is enough.
    if (error.message === last) return;
    last = error.message;
    onError?.(error, name);
  };
  client.on('error', report);
  // A cluster also reports each node's connection errors (a master going down before its failover).
  if (client instanceof Cluster) client.on('node error', (error: Error, address: string) => report(new Error(`${address}: ${error.message}`)));
  client.on('ready', () => {
    last = undefined;
  });
}

type Duplicate = (...args: unknown[]) => RedisClient;

/** The connectionName a duplicate was asked for: Redis.duplicate(options), Cluster.duplicate(nodes, { redisOptions }). */
function duplicateName(client: RedisClient, args: unknown[]): string | undefined {
  if (client instanceof Cluster) return (args[1] as ClusterOptions | undefined)?.redisOptions?.connectionName;
  return (args[0] as Partial<RedisOptions> | undefined)?.connectionName;
}

/** Makes every duplicate (and its duplicates) report its errors and join the family. */
function adoptDuplicates(client: RedisClient, family: Set<RedisClient>, onError: RedisErrorListener | undefined): void {
  const duplicate = (client.duplicate as Duplicate).bind(client);
  (client as { duplicate: Duplicate }).duplicate = (...args: unknown[]): RedisClient => {
    const copy = duplicate(...args);
    family.add(copy);
    copy.on('end', () => family.delete(copy));
    reportErrors(copy, duplicateName(client, args) ?? `duplicate-${family.size}`, onError);
    adoptDuplicates(copy, family, onError);
    return copy;
  };
}

/** Once up, reconnect after transient drops instead of giving up (duplicates copy the options). */
const reconnectDelay = (times: number): number => Math.min(times * 200, 2000);

function newClient(target: RedisTarget, timeoutMs: number): RedisClient {
  // disconnectTimeout bounds how long a closed connection keeps a timer (and so the process) alive.
  // BullMQ needs maxRetriesPerRequest: null on connections it blocks on.
  const common = { lazyConnect: true, maxRetriesPerRequest: null, connectTimeout: timeoutMs, disconnectTimeout: 500 } satisfies RedisOptions;
  const auth = target.mode === 'single' ? {} : { ...(target.username ? { username: target.username } : {}), ...(target.password ? { password: target.password } : {}) };
  switch (target.mode) {
    case 'single':
      return new Redis(target.url, { ...common, retryStrategy: () => null });
    case 'cluster':
      return new Cluster(target.nodes, {
        lazyConnect: true,
        // The start-up check below reads cluster_state itself, to say what is wrong.
        enableReadyCheck: false,
        clusterRetryStrategy: () => null,
        // While a master fails over (up to about twice cluster-node-timeout), commands for its
        // slots are retried instead of failed: 120 tries, 500 ms apart, about a minute.
        retryDelayOnFailover: 500,
        retryDelayOnClusterDown: 500,
        retryDelayOnTryAgain: 200,
        maxRedirections: 120,
        slotsRefreshTimeout: timeoutMs,
        redisOptions: { ...common, ...auth, ...(target.tls ? { tls: {} } : {}) },
      });
    case 'sentinel':
      return new Redis({
        ...common,
        ...auth,
        sentinels: target.sentinels,
        name: target.masterName,
        ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
        ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
        retryStrategy: () => null,
        sentinelRetryStrategy: () => null,
        // Not failoverDetector: in ioredis 5 its disconnect during a reconnect ends the client for good.
        // A demoted master still answers, read-only: reconnect (via the Sentinels) and resend the command.
        reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
      });
  }
}

/** cluster_state from CLUSTER INFO ("ok" when every slot is served). */
async function clusterState(client: Cluster): Promise<string> {
  const info = String(await client.cluster('INFO'));
  return /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
}

/** A connected client: `target` is a RedisTarget, or a redis:// URL (single mode). */
export async function connectRedis(url: string, timeoutMs?: number, onError?: RedisErrorListener): Promise<Redis>;
export async function connectRedis(target: RedisTarget, timeoutMs?: number, onError?: RedisErrorListener): Promise<RedisClient>;
export async function connectRedis(target: string | RedisTarget, timeoutMs = 5000, onError?: RedisErrorListener): Promise<RedisClient> {
  const resolved: RedisTarget = typeof target === 'string' ? { mode: 'single', url: target } : target;
  const client = newClient(resolved, timeoutMs);
  // The first failure is reported by the rejected connect() below, not as an unhandled event.
  const ignoreStartupError = (): void => {};
  client.on('error', ignoreStartupError);
  client.on('node error', ignoreStartupError);
  // connectTimeout covers the TCP connect only: a server that accepts but never answers needs its own bound.
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  let state = 'ok';
  try {
    await Promise.race([
      client.connect().then(async () => {
        if (client instanceof Cluster) state = await clusterState(client);
        else await client.ping();
      }),
      silent,
    ]);
  } catch (error) {
    client.disconnect();
    if (resolved.mode === 'cluster') {
      const problem = await diagnoseCluster(resolved, timeoutMs);
      if (problem.kind === 'not-ready') throw new RedisClusterNotReadyError(resolved, problem.state);
      if (problem.kind === 'not-a-cluster') throw new RedisNotAClusterError(resolved, problem.node);
    }
    throw new RedisUnreachableError(target, (error as Error).message || 'connection failed');
  } finally {
    clearTimeout(timer);
  }
  if (state !== 'ok' && client instanceof Cluster) {
    client.disconnect();
    throw new RedisClusterNotReadyError(resolved, state);
  }
  client.off('error', ignoreStartupError);
  client.off('node error', ignoreStartupError);
  reportErrors(client, 'main', onError);
  const family = new Set<RedisClient>([client]);
  families.set(client, family);
  adoptDuplicates(client, family, onError);
  if (client instanceof Cluster) {
    client.options.clusterRetryStrategy = reconnectDelay;
    // Reconnects check cluster_state like any ioredis cluster client.
    client.options.enableReadyCheck = true;
  } else {
    client.options.retryStrategy = reconnectDelay;
    if (resolved.mode === 'sentinel') client.options.sentinelRetryStrategy = reconnectDelay;
  }
  return client;
}

/** Disconnects the client and every duplicate made from it (or from them). */
export function disconnectRedis(client: RedisClient): void {
  for (const member of families.get(client) ?? [client]) member.disconnect();
}
