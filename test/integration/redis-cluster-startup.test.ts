// Start-up against a Redis Cluster that cannot serve the bot: a cluster that is not ready
// (CLUSTERDOWN), a startup node that is a standalone Redis, nodes nobody listens on, a malformed
// node list. Each is one line naming the fix, and the bot writes nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, RedisClusterNotReadyError, RedisNotAClusterError, RedisUnreachableError } from '../../src/redis/connect.js';
import { freePort, startRedisProcess, type RedisProcess } from '../../src/redis/throwaway.js';
import { redisClusterToolsMissing } from '../helpers/redis-cluster.js';
import { testRedisUrl } from '../helpers/redis.js';
import { spawnCli, writeServeConfig } from '../helpers/serve-process.js';

const missing = redisClusterToolsMissing();
if (missing) console.warn(`Redis Cluster start-up tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('start-up against a Redis Cluster that cannot serve', () => {
  let dir: string;
  let lone: RedisProcess;
  let kubeconfig: string;
  const single = () => new URL(testRedisUrl());

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netpol-cluster-startup-'));
    // A cluster node that was never given slots: cluster_state:fail, every command CLUSTERDOWN.
    const port = await freePort();
    mkdirSync(join(dir, 'lone'));
    lone = await startRedisProcess(['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--dir', join(dir, 'lone'), '--save', '', '--appendonly', 'no'], port);
    // Redis is checked before the Kubernetes API is called: an unreachable server is enough.
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
  });
  afterAll(async () => {
    await lone?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a cluster that is not ready is CLUSTERDOWN named, with the fix', async () => {
    const error = await connectRedis({ mode: 'cluster', nodes: [{ host: '127.0.0.1', port: lone.port }], tls: false }, 3000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisClusterNotReadyError);
    expect((error as Error).message).toBe(
      `Redis Cluster (startup nodes 127.0.0.1:${lone.port}) is not ready (cluster_state:fail, commands fail with CLUSTERDOWN): not every hash slot is served. ` +
        'Finish or repair the cluster (redis-cli --cluster create / --cluster fix), check it with redis-cli --cluster check <node>, then start again.',
    );
  });

  it('a standalone Redis given as a cluster node says to use single mode', async () => {
    const port = Number(single().port);
    const error = await connectRedis({ mode: 'cluster', nodes: [{ host: '127.0.0.1', port }], tls: false }, 3000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisNotAClusterError);
    expect((error as Error).message).toContain(`127.0.0.1:${port} is not a cluster node (cluster support disabled)`);
    expect((error as Error).message).toContain('redis.mode: single and REDIS_URL');
  });

  it('nodes nobody listens on name redis.nodes', async () => {
    const port = await freePort();
    const error = await connectRedis({ mode: 'cluster', nodes: [{ host: '127.0.0.1', port }], tls: false }, 2000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot reach Redis Cluster \\(startup nodes 127\\.0\\.0\\.1:${port}\\) \\(.+\\)\\. Check redis\\.nodes`));
  });

  it('Sentinels nobody listens on name redis.sentinels and redis.masterName', async () => {
    const port = await freePort();
    const error = await connectRedis({ mode: 'sentinel', sentinels: [{ host: '127.0.0.1', port }], masterName: 'mymaster', tls: false }, 2000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as Error).message).toContain(`cannot reach Redis master "mymaster" (Sentinels 127.0.0.1:${port})`);
    expect((error as Error).message).toContain('Check redis.sentinels, redis.masterName');
  });

  const serve = (redis: Record<string, unknown>) => {
    const file = writeServeConfig({ slack: { approvers: { users: ['U0BOB'] }, port: 0, host: '127.0.0.1' }, redis, roles: ['worker'] });
    return spawnCli(['serve', '--config', file], { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'signing-secret-0123', KUBECONFIG: kubeconfig });
  };

  it('`serve` against a cluster that is not ready: one line, exit 1, nothing written', async () => {
    const p = serve({ keyPrefix: 'startup', mode: 'cluster', nodes: [`127.0.0.1:${lone.port}`] });
    const { code } = await p.exited;
    expect(code).toBe(1);
    expect(p.stderr.trim().split('\n')).toEqual([expect.stringContaining('is not ready (cluster_state:fail, commands fail with CLUSTERDOWN)')]);
    const node = new Redis({ host: '127.0.0.1', port: lone.port, maxRetriesPerRequest: 0 });
    try {
      expect(await node.dbsize()).toBe(0);
    } finally {
      node.disconnect();
    }
  });

  it('`serve` with a malformed node list: one line per problem, exit 1', async () => {
    const p = serve({ keyPrefix: '{startup}', mode: 'cluster', nodes: ['redis-0', '127.0.0.1:99999'] });
    const { code } = await p.exited;
    expect(code).toBe(1);
    const lines = p.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^invalid configuration/);
    expect(lines).toContainEqual(expect.stringMatching(/redis\.keyPrefix: .*no braces: in cluster mode the bot adds the hash tag itself/));
    expect(lines).toContainEqual(expect.stringContaining('redis.nodes.0: must be host:port (e.g. redis-0.redis:6379 or [fd00::1]:6379), not "redis-0"'));
    expect(lines).toContainEqual(expect.stringContaining('redis.nodes.1: must be host:port'));
  });
});
