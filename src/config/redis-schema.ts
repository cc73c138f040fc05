// The `redis` section: the key prefix and where Redis is (one server, a Redis Cluster, or a master
// watched by Sentinels). Passwords never live here: they come from the environment (load.ts).
import { z } from 'zod';
import { printable } from '../printable.js';
import { effectiveKeyPrefix, parseHostPort, type HostPort } from '../redis/target.js';

const hostPort = z
  .string()
  .max(300)
  .transform((text, ctx): HostPort => {
    const parsed = parseHostPort(text);
    if (!parsed) {
      ctx.addIssue({ code: 'custom', message: `must be host:port (e.g. redis-0.redis:6379 or [fd00::1]:6379), not "${printable(text, 60)}"` });
      return z.NEVER;
    }
    return parsed;
  });

const hostPortList = z.array(hostPort).min(1, 'needs at least one host:port').max(64);

const DEFAULTS = { keyPrefix: 'netpol', mode: 'single' as const, tls: false };

export const redisSchema = z
  .object({
    /**
     * Prefix of every Redis key and BullMQ queue the bot uses, so several installs can share a Redis.
     * In cluster mode the bot wraps it in a hash tag ("netpol" is used as "{netpol}"): after parsing,
     * keyPrefix is the prefix as used.
     */
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, "_" and "-" only (no braces: in cluster mode the bot adds the hash tag itself)')
      .default(DEFAULTS.keyPrefix),
    /** single: one server at REDIS_URL; cluster: a Redis Cluster (nodes); sentinel: the master Sentinels name (sentinels, masterName). */
    mode: z.enum(['single', 'cluster', 'sentinel']).default(DEFAULTS.mode),
    /** cluster: some of the cluster's nodes, host:port; the rest are discovered. */
    nodes: hostPortList.optional(),
    /** sentinel: the Sentinels, host:port. */
    sentinels: hostPortList.optional(),
    /** sentinel: the master's name in the Sentinels' configuration (`sentinel monitor <name> ...`). */
    masterName: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" and "-" only')
      .optional(),
    /** cluster and sentinel: connect to the Redis servers over TLS (single mode: use a rediss:// URL). */
    tls: z.boolean().default(DEFAULTS.tls),
  })
  .strict()
  .superRefine((r, ctx) => {
    const problem = (path: string, message: string): void => void ctx.addIssue({ code: 'custom', path: [path], message });
    if (r.mode === 'cluster' && !r.nodes) problem('nodes', 'cluster mode needs nodes: some of the cluster nodes as host:port, e.g. [redis-0.redis:6379, redis-1.redis:6379]');
    if (r.mode !== 'cluster' && r.nodes) problem('nodes', `nodes is for mode: cluster (mode is ${r.mode}): set mode: cluster or remove nodes`);
    if (r.mode === 'sentinel' && !r.sentinels) problem('sentinels', 'sentinel mode needs sentinels: the Sentinels as host:port, e.g. [sentinel-0:26379, sentinel-1:26379, sentinel-2:26379]');
    if (r.mode === 'sentinel' && !r.masterName) problem('masterName', 'sentinel mode needs masterName: the name in the Sentinels "sentinel monitor <name> ..." line');
    if (r.mode !== 'sentinel' && (r.sentinels || r.masterName)) problem(r.sentinels ? 'sentinels' : 'masterName', `sentinels and masterName are for mode: sentinel (mode is ${r.mode}): set mode: sentinel or remove them`);
    if (r.mode === 'single' && r.tls) problem('tls', 'single mode takes TLS from the URL: use a rediss:// REDIS_URL and remove tls');
  })
  .transform((r) => ({ ...r, keyPrefix: effectiveKeyPrefix(r.keyPrefix, r.mode) }))
  .default(DEFAULTS);

export type RedisSettings = z.infer<typeof redisSchema>;
