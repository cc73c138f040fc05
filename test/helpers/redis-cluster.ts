// Real Redis Clusters and Sentinel setups on loopback for tests: redis-server processes in a temp
// dir (each under the throwaway watchdog, so they go when the test process goes), torn down with
// their dir. A test can crash a master (SIGKILL) and wait for its replica to take over.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { waitForContained, waitForPlaybookFinished } from './environment.js';
import { freePort, redisServerAvailable, startRedisProcess, type RedisProcess } from '../../src/redis/throwaway.js';
import { hashSlot, type HostPort } from '../../src/redis/target.js';

/** Why cluster and Sentinel tests cannot run here, or undefined when they can. */
export function redisClusterToolsMissing(): string | undefined {
  if (!redisServerAvailable()) return 'redis-server is not installed (apt-get install -y redis-server)';
  const cli = spawnSync('redis-cli', ['--version'], { stdio: 'ignore' });
  if (cli.error || cli.status !== 0) return 'redis-cli is not installed (it comes with the redis-server package)';
  return undefined;
}

async function poll<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs one command on a short-lived connection to one server. */
async function ask(port: number, ...command: string[]): Promise<unknown> {
  const connection = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  connection.on('error', () => undefined);
  try {
    await connection.connect();
    return await connection.call(command[0] as string, ...command.slice(1));
  } finally {
    connection.disconnect();
  }
}

const field = (info: string, name: string): string | undefined => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];

export interface TestRedisCluster {
  /** Every node, masters and replicas, as started. */
  nodes: HostPort[];
  /** The port of the master serving a key's slot now (asked of a live node). */
  masterFor(key: string): Promise<number>;
  /** SIGKILLs a node. */
  kill(port: number): Promise<void>;
  /** Waits until a replica serves the slot of `key` instead of `oldMaster`, and the cluster is ok. */
  waitForFailover(key: string, oldMaster: number, timeoutMs?: number): Promise<number>;
  /** Waits until the master of `key` has sent its writes to a replica (WAIT), so a crash loses none. */
  syncReplica(key: string): Promise<void>;
  stop(): Promise<void>;
}

/** A cluster of `masters` masters with one replica each, node timeout 1 s (failover in a few seconds). */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'netpol-redis-cluster-'));
  const servers = new Map<number, RedisProcess>();
  const stopAll = async (): Promise<void> => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * 2; i++) {
      const port = await freePort();
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000'];
      servers.set(port, await startRedisProcess([...args, '--save', '', '--appendonly', 'no', '--dir', nodeDir, '--loglevel', 'warning'], port));
    }
    const ports = [...servers.keys()];
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    // Every node sees every slot served, and every replica is in sync with its master.
    await poll('cluster_state:ok on every node', async () => {
      for (const port of ports) if (field(String(await ask(port, 'CLUSTER', 'INFO')), 'cluster_state') !== 'ok') return undefined;
      return true;
    }, 30_000);
    await poll('replicas in sync', async () => {
      for (const port of ports) {
        const info = String(await ask(port, 'INFO', 'replication'));
        if (field(info, 'role') === 'slave' && field(info, 'master_link_status') !== 'up') return undefined;
      }
      return true;
    }, 30_000);
  } catch (error) {
    await stopAll();
    throw error;
  }
  const live = (): number[] => [...servers.keys()];
  const masterFor = async (key: string): Promise<number> => {
    const slot = hashSlot(key);
    for (const port of live()) {
      try {
        const ranges = (await ask(port, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (range) return range[2][1];
      } catch {
        // That node is down: ask the next.
      }
    }
    throw new Error(`no live node knows who serves slot ${slot}`);
  };
  return {
    nodes: live().map((port) => ({ host: '127.0.0.1', port })),
    masterFor,
    async kill(port) {
      await servers.get(port)?.kill();
      servers.delete(port);
    },
    waitForFailover(key, oldMaster, timeoutMs = 30_000) {
      return poll(`failover away from master ${oldMaster}`, async () => {
        const now = await masterFor(key);
        if (now === oldMaster) return undefined;
        return field(String(await ask(now, 'CLUSTER', 'INFO')), 'cluster_state') === 'ok' ? now : undefined;
      }, timeoutMs);
    },
    async syncReplica(key) {
      const acked = Number(await ask(await masterFor(key), 'WAIT', '1', '5000'));
      if (acked < 1) throw new Error('no replica acknowledged the writes within 5 s');
    },
    stop: stopAll,
  };
}

export interface TestRedisSentinels {
  masterName: string;
  sentinels: HostPort[];
  /** The port of the master the Sentinels name now. */
  master(): Promise<number>;
  /** SIGKILLs the current master. */
  killMaster(): Promise<number>;
  /** Waits until the Sentinels name a master other than `oldMaster` and it accepts writes. */
  waitForFailover(oldMaster: number, timeoutMs?: number): Promise<number>;
  /** Waits until the master has sent its writes to the replica (WAIT), so a crash loses none. */
  syncReplica(): Promise<void>;
  stop(): Promise<void>;
}

/** One master, one replica, three Sentinels (quorum 2), down-after 1 s. */
export async function startRedisSentinels(masterName = 'netpol-master'): Promise<TestRedisSentinels> {
  const dir = mkdtempSync(join(tmpdir(), 'netpol-redis-sentinel-'));
  const servers = new Map<number, RedisProcess>();
  const stopAll = async (): Promise<void> => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  const sentinelPorts: number[] = [];
  const data = async (port: number, extra: string[]): Promise<void> => {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir);
    servers.set(port, await startRedisProcess(['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', nodeDir, '--loglevel', 'warning', ...extra], port));
  };
  const askSentinel = async (): Promise<number> => {
    for (const port of sentinelPorts) {
      try {
        const address = (await ask(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [string, string] | null;
        if (address) return Number(address[1]);
      } catch {
        // Ask the next.
      }
    }
    throw new Error('no Sentinel answered');
  };
  try {
    const masterPort = await freePort();
    await data(masterPort, []);
    const replicaPort = await freePort();
    await data(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]);
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const nodeDir = join(dir, `sentinel-${port}`);
      mkdirSync(nodeDir);
      // Sentinels rewrite their configuration file: it lives in their own dir.
      const conf = join(nodeDir, 'sentinel.conf');
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${nodeDir}`,
          'loglevel warning',
          `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      servers.set(port, await startRedisProcess([conf, '--sentinel'], port));
      sentinelPorts.push(port);
    }
    await poll('replica in sync', async () => (field(String(await ask(replicaPort, 'INFO', 'replication')), 'master_link_status') === 'up' ? true : undefined), 30_000);
    // A failover needs a quorum: every Sentinel knows the replica and the two other Sentinels.
    await poll('Sentinels know each other and the replica', async () => {
      for (const port of sentinelPorts) {
        const others = (await ask(port, 'SENTINEL', 'SENTINELS', masterName)) as unknown[];
        const replicas = (await ask(port, 'SENTINEL', 'REPLICAS', masterName)) as unknown[];
        if (others.length < 2 || replicas.length < 1) return undefined;
      }
      return true;
    }, 30_000);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    masterName,
    sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
    master: askSentinel,
    async killMaster() {
      const port = await askSentinel();
      await servers.get(port)?.kill();
      servers.delete(port);
      return port;
    },
    waitForFailover(oldMaster, timeoutMs = 30_000) {
      return poll(`Sentinel failover away from ${oldMaster}`, async () => {
        const now = await askSentinel();
        if (now === oldMaster) return undefined;
        return field(String(await ask(now, 'INFO', 'replication')), 'role') === 'master' ? now : undefined;
      }, timeoutMs);
    },
    async syncReplica() {
      const acked = Number(await ask(await askSentinel(), 'WAIT', '1', '5000'));
      if (acked < 1) throw new Error('no replica acknowledged the writes within 5 s');
    },
    stop: stopAll,
  };
}

/**
 * After a failover in the middle of an incident (steps 1–3 of the shipped playbook): it completed,
 * the approval was asked for and acted on once, and the quarantine was applied once.
 */
export async function expectCompletedOnce(env: EmbeddedEnvironment, incidentId: string): Promise<void> {
  const name = `netpol-responder-quarantine-${incidentId}`;
  await waitForContained(env, incidentId, 90_000);
  await waitForPlaybookFinished(env, incidentId, 90_000);
  const types = (await env.bot!.store.timeline(incidentId)).map((e) => e.type);
  expect(types.filter((t) => t === 'approval.requested')).toHaveLength(1);
  // Step 1 needs the approval; steps 2 and 3 approve themselves: three in all, one per step.
  expect(types.filter((t) => t === 'step.approved')).toHaveLength(3);
  expect(types.filter((t) => t === 'policy.applied')).toHaveLength(1);
  expect(types).toContain('containment.proven');
  expect(types.at(-1)).toBe('incident.summary');
  const applies = env.kube.requests.filter((r) => (r.method === 'PATCH' || r.method === 'POST') && r.path.includes(name) && !r.query.dryRun && r.status < 300);
  expect(applies).toHaveLength(1);
  expect(env.kube.get('NetworkPolicy', 'db', name)).toBeDefined();
}
