// Why a Redis Cluster client could not start: ioredis says only "None of startup nodes is
// available" whether the nodes are down, are not cluster nodes, or form a cluster that does not
// serve every slot yet. Asking each startup node directly tells these apart.
import { Redis } from 'ioredis';
import type { RedisTarget } from './target.js';

export type ClusterProblem =
  | { kind: 'not-ready'; state: string }
  | { kind: 'not-a-cluster'; node: string }
  | { kind: 'unreachable' };

type ClusterTarget = Extract<RedisTarget, { mode: 'cluster' }>;

async function askNode(target: ClusterTarget, host: string, port: number, timeoutMs: number): Promise<string> {
  const connection = new Redis({
    host,
    port,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  });
  connection.on('error', () => undefined);
  try {
    await connection.connect();
    return String(await connection.cluster('INFO'));
  } finally {
    connection.disconnect();
  }
}

/** What is wrong with the cluster behind these startup nodes, judged by the first that answers. */
export async function diagnoseCluster(target: ClusterTarget, timeoutMs: number): Promise<ClusterProblem> {
  for (const { host, port } of target.nodes.slice(0, 3)) {
    try {
      const info = await askNode(target, host, port, timeoutMs);
      const state = /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
      if (state !== 'ok') return { kind: 'not-ready', state };
    } catch (error) {
      if (/cluster support disabled/i.test((error as Error).message)) return { kind: 'not-a-cluster', node: `${host}:${port}` };
    }
  }
  return { kind: 'unreachable' };
}
