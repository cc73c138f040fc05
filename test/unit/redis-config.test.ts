import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { configProblems } from '../helpers/config-problems.js';
import { effectiveKeyPrefix, hashSlot, parseHostPort } from '../../src/redis/target.js';

const env = { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'signing-secret-0123' };
const base = { slack: { approvers: { users: ['U0BOB'] } } };

const problems = (redis: unknown, extraEnv: Record<string, string> = {}): string[] => configProblems({ ...base, redis }, { ...env, ...extraEnv });

describe('redis configuration', () => {
  it('single mode is as before: the prefix as written, the target from REDIS_URL', () => {
    const config = buildConfig({ ...base, redis: { keyPrefix: 'shop' } }, { ...env, REDIS_URL: 'redis://:pw@10.0.0.5:6379' });
    expect(config.redis.keyPrefix).toBe('shop');
    expect(config.redisTarget).toEqual({ mode: 'single', url: 'redis://:pw@10.0.0.5:6379' });
    expect(buildConfig(base, env).redis).toEqual({ keyPrefix: 'netpol', mode: 'single', tls: false });
    expect(buildConfig(base, env).redisTarget).toBeUndefined();
  });

  it('cluster mode hash-tags the prefix and parses the nodes; credentials come from the environment', () => {
    const config = buildConfig({ ...base, redis: { mode: 'cluster', nodes: ['redis-0.redis:6379', '[fd00::1]:7000'], tls: true } }, { ...env, REDIS_PASSWORD: 'secret' });
    expect(config.redis.keyPrefix).toBe('{netpol}');
    expect(config.redisTarget).toEqual({ mode: 'cluster', nodes: [{ host: 'redis-0.redis', port: 6379 }, { host: 'fd00::1', port: 7000 }], tls: true, password: 'secret' });
  });

  it('sentinel mode keeps the prefix and takes the Sentinels password apart', () => {
    const config = buildConfig({ ...base, redis: { keyPrefix: 'np', mode: 'sentinel', sentinels: ['s-0:26379'], masterName: 'mymaster' } }, { ...env, REDIS_PASSWORD: 'a', REDIS_SENTINEL_PASSWORD: 'b' });
    expect(config.redis.keyPrefix).toBe('np');
    expect(config.redisTarget).toEqual({ mode: 'sentinel', sentinels: [{ host: 's-0', port: 26379 }], masterName: 'mymaster', tls: false, password: 'a', sentinelPassword: 'b' });
  });

  it('a malformed node list names each bad entry', () => {
    expect(problems({ mode: 'cluster', nodes: ['redis-0', 'a:0', 'b:65536', 'c:6379 ', 'http://d:6379'] })).toEqual([
      'redis.nodes.0: must be host:port (e.g. redis-0.redis:6379 or [fd00::1]:6379), not "redis-0"',
      'redis.nodes.1: must be host:port (e.g. redis-0.redis:6379 or [fd00::1]:6379), not "a:0"',
      'redis.nodes.2: must be host:port (e.g. redis-0.redis:6379 or [fd00::1]:6379), not "b:65536"',
      'redis.nodes.3: must be host:port (e.g. redis-0.redis:6379 or [fd00::1]:6379), not "c:6379 "',
      'redis.nodes.4: must be host:port (e.g. redis-0.redis:6379 or [fd00::1]:6379), not "http://d:6379"',
    ]);
    expect(problems({ mode: 'cluster', nodes: 'redis-0:6379,redis-1:6379' })).toEqual([expect.stringMatching(/^redis\.nodes: .*array/)]);
    expect(problems({ mode: 'cluster', nodes: [] })).toEqual(['redis.nodes: needs at least one host:port']);
  });

  it('a key prefix with braces or empty is refused: the bot adds the hash tag itself', () => {
    for (const keyPrefix of ['{netpol}', 'net{pol', '', '{}']) {
      expect(problems({ keyPrefix, mode: 'cluster', nodes: ['r:6379'] })).toEqual([
        'redis.keyPrefix: letters, digits, "_" and "-" only (no braces: in cluster mode the bot adds the hash tag itself)',
      ]);
    }
    expect(() => effectiveKeyPrefix('{x}', 'cluster')).toThrow(/without braces/);
    expect(() => effectiveKeyPrefix('', 'cluster')).toThrow(/non-empty/);
  });

  it('settings of one mode given to another name the fix', () => {
    expect(problems({ mode: 'cluster' })).toEqual([expect.stringMatching(/^redis\.nodes: cluster mode needs nodes/)]);
    expect(problems({ nodes: ['r:6379'] })).toEqual(['redis.nodes: nodes is for mode: cluster (mode is single): set mode: cluster or remove nodes']);
    expect(problems({ mode: 'sentinel', sentinels: ['s:26379'] })).toEqual([expect.stringMatching(/^redis\.masterName: sentinel mode needs masterName/)]);
    expect(problems({ mode: 'cluster', nodes: ['r:6379'], masterName: 'm' })).toEqual([expect.stringMatching(/^redis\.masterName: sentinels and masterName are for mode: sentinel/)]);
    expect(problems({ tls: true })).toEqual(['redis.tls: single mode takes TLS from the URL: use a rediss:// REDIS_URL and remove tls']);
    expect(problems({ mode: 'cluster', nodes: ['r:6379'] }, { REDIS_URL: 'redis://r:6379' })).toEqual([expect.stringMatching(/^env REDIS_URL: redis\.mode is cluster, .*unset REDIS_URL/)]);
    expect(problems({}, { REDIS_PASSWORD: 'x' })).toEqual([expect.stringMatching(/in single mode put the credentials in REDIS_URL/)]);
    expect(problems({ mode: 'raft' })).toEqual([expect.stringMatching(/^redis\.mode: /)]);
  });

  it('hash slots are the ones Redis computes', () => {
    // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
    expect(hashSlot('123456789')).toBe(12739);
    expect(hashSlot('foo')).toBe(12182);
    expect(hashSlot('{user1000}.following')).toBe(hashSlot('user1000'));
    expect(hashSlot('foo{}{bar}')).not.toBe(hashSlot('bar'));
    expect(hashSlot('foo{{bar}}zap')).toBe(hashSlot('{bar'));
    expect(hashSlot('{netpol}:incident:1')).toBe(hashSlot('{netpol}:bull:incident-jobs:wait'));
  });

  it('parses host:port, bracketed IPv6, and nothing else', () => {
    expect(parseHostPort('10.0.0.1:6379')).toEqual({ host: '10.0.0.1', port: 6379 });
    expect(parseHostPort('[::1]:6379')).toEqual({ host: '::1', port: 6379 });
    for (const bad of ['::1:6379', 'host', ':6379', 'host:', 'host:abc', 'a b:1']) expect(parseHostPort(bad)).toBeUndefined();
  });
});
