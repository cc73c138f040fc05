// Loads and validates the configuration. Any problem is reported as `path: reason`, all at once.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { printable } from '../printable.js';
import type { RedisTarget } from '../redis/target.js';
import { clusterProblems } from './clusters.js';
import type { RedisSettings } from './redis-schema.js';
import { envSchema, fileConfigSchema, type Config, type FileConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const MAX_CONFIG_BYTES = 1024 * 1024;

export function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    // Both may quote the file (an unrecognized key): control characters escaped, length bounded.
    const path = issue.path.length > 0 ? printable(issue.path.join('.'), 200) : '(root)';
    return `${path}: ${printable(issue.message, 1000)}`;
  });
}

/** Validates an already-parsed config document plus the environment. Pure. */
export function buildConfig(document: unknown, env: NodeJS.ProcessEnv, source = 'config'): Config {
  const file = fileConfigSchema.safeParse(document ?? {});
  const secrets = envSchema.safeParse(env);
  const problems = [
    ...(file.success ? [] : formatIssues(file.error.issues)),
    ...(secrets.success ? [] : formatIssues(secrets.error.issues).map((p) => `env ${p}`)),
  ];
  if (!file.success || !secrets.success) throw new ConfigError(source, problems);
  const e = secrets.data;
  const crossProblems = clusterProblems(file.data);
  if (crossProblems.length > 0) throw new ConfigError(source, crossProblems);
  const redisTarget = redisTargetOf(file.data.redis, e);
  if (typeof redisTarget === 'string') throw new ConfigError(source, [redisTarget]);
  return {
    ...file.data,
    secrets: {
      slackBotToken: e.SLACK_BOT_TOKEN,
      slackSigningSecret: e.SLACK_SIGNING_SECRET,
      slackAppToken: e.SLACK_APP_TOKEN,
      webhookToken: e.NETPOL_WEBHOOK_TOKEN,
      auditWebhookToken: e.NETPOL_AUDIT_WEBHOOK_TOKEN,
      gitWebhookSecret: e.NETPOL_GIT_WEBHOOK_SECRET,
    },
    redisUrl: e.REDIS_URL,
    ...(redisTarget ? { redisTarget } : {}),
    kubeconfigPath: e.KUBECONFIG,
  };
}

type RedisEnv = Partial<Record<'REDIS_URL' | 'REDIS_USERNAME' | 'REDIS_PASSWORD' | 'REDIS_SENTINEL_PASSWORD', string>>;

/** Where Redis is, from the redis section and the environment; a string is the problem with them. */
export function redisTargetOf(settings: RedisSettings, env: RedisEnv): RedisTarget | string | undefined {
  const auth = { ...(env.REDIS_USERNAME ? { username: env.REDIS_USERNAME } : {}), ...(env.REDIS_PASSWORD ? { password: env.REDIS_PASSWORD } : {}) };
  if (settings.mode === 'single') {
    if (env.REDIS_USERNAME || env.REDIS_PASSWORD || env.REDIS_SENTINEL_PASSWORD) return 'env REDIS_USERNAME/REDIS_PASSWORD/REDIS_SENTINEL_PASSWORD are for redis.mode cluster or sentinel: in single mode put the credentials in REDIS_URL (redis://user:password@host:6379)';
    return env.REDIS_URL ? { mode: 'single', url: env.REDIS_URL } : undefined;
  }
  if (env.REDIS_URL) return `env REDIS_URL: redis.mode is ${settings.mode}, which connects to redis.${settings.mode === 'cluster' ? 'nodes' : 'sentinels'}: unset REDIS_URL (credentials go in REDIS_USERNAME / REDIS_PASSWORD)`;
  if (settings.mode === 'cluster') return { mode: 'cluster', nodes: settings.nodes ?? [], tls: settings.tls, ...auth };
  return {
    mode: 'sentinel',
    sentinels: settings.sentinels ?? [],
    masterName: settings.masterName ?? '',
    tls: settings.tls,
    ...auth,
    ...(env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
  };
}

/** Reads and parses the YAML file (no validation); errors name the file. */
export function readConfigDocument(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new ConfigError(path, ['file is larger than 1 MiB']);
  let document: unknown;
  try {
    document = parseYaml(text, { maxAliasCount: 50 });
  } catch (error) {
    throw new ConfigError(path, [`not valid YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
  if (document !== null && document !== undefined && (typeof document !== 'object' || Array.isArray(document))) {
    throw new ConfigError(path, ['(root): expected a mapping of settings']);
  }
  return document;
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  return buildConfig(readConfigDocument(path), env, path);
}

/** The file's settings alone, for commands that need no Slack secrets (e.g. export). */
export function loadFileSettings(path: string | undefined): FileConfig {
  const parsed = fileConfigSchema.partial({ slack: true }).safeParse(path ? (readConfigDocument(path) ?? {}) : {});
  if (!parsed.success) throw new ConfigError(path ?? 'defaults', formatIssues(parsed.error.issues));
  return parsed.data as FileConfig;
}
