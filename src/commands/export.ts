// `netpol-responder export <id> --format md|json|html [--out DIR]`: writes the postmortem timeline locally,
// with Slack user ids resolved to names as the bot's own export does. Flags and usage: EXPORT in ./specs.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadFileSettings, redisTargetOf } from '../config/load.js';
import { IncidentStore } from '../incident/store.js';
import { loadPlaybook, PlaybookError } from '../playbook/load.js';
import { connectRedis, RedisClusterNotReadyError, RedisNotAClusterError, RedisUnreachableError } from '../redis/connect.js';
import { exportFormats, postmortemFileName, renderPostmortem } from '../timeline/render.js';
import { configPath } from './config-path.js';
import { parseCommand, pickFormat, usageError } from './spec.js';
import { EXPORT } from './specs.js';
import { postmortemUserIds, slackUserNames } from './user-names.js';

/** Incident ids as the bot makes them; anything else (a path, a glob) never names a file. */
const INCIDENT_ID = /^[a-z0-9][a-z0-9-]{2,40}$/;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(EXPORT, argv);
  if (!parsed.ok) return parsed.exitCode;
  const format = pickFormat(parsed.values.format ?? 'md', exportFormats);
  if (!format.ok) return usageError(EXPORT, format.message);
  const [id, ...extra] = parsed.positionals;
  if (!id) return usageError(EXPORT, 'which incident? give its id, e.g. 20261123-a1b2c3');
  if (extra.length > 0) return usageError(EXPORT, `one incident id at a time (got ${parsed.positionals.length})`);
  if (!INCIDENT_ID.test(id)) return usageError(EXPORT, `"${id.slice(0, 60)}" is not an incident id (lower-case letters, digits and "-", like 20261123-a1b2c3)`);
  try {
    const settings = loadFileSettings(configPath(parsed.values.config));
    // Single mode needs REDIS_URL; cluster and sentinel modes find Redis from the file's settings.
    const target = redisTargetOf(settings.redis, process.env);
    if (typeof target === 'string' || !target) {
      process.stderr.write(`${target ?? 'REDIS_URL is not set: point it at the Redis the bot keeps its incidents in.'}\n`);
      return 1;
    }
    const playbook = loadPlaybook(settings.playbook.path);
    const redis = await connectRedis(target);
    try {
      const store = new IncidentStore(redis, settings.redis.keyPrefix);
      const incident = await store.get(id);
      if (!incident) {
        process.stderr.write(`no incident with id "${id}" (key prefix "${settings.redis.keyPrefix}")\n`);
        return 1;
      }
      const timeline = await store.timeline(id);
      const lookup = await slackUserNames(postmortemUserIds(incident, timeline), { token: process.env.SLACK_BOT_TOKEN, apiUrl: settings.slack?.apiUrl });
      if (lookup.warning) process.stderr.write(`${lookup.warning}\n`);
      const content = renderPostmortem(format.format, {
        incident,
        timeline,
        stepTitles: Object.fromEntries(playbook.steps.map((s) => [s.id, s.title])),
        userNames: lookup.names,
        generatedAt: new Date(),
      });
      const dir = parsed.values.out ?? settings.export.dir;
      mkdirSync(dir, { recursive: true });
      const file = join(dir, postmortemFileName(id, format.format));
      writeFileSync(file, content);
      process.stdout.write(`${file}\n`);
      return 0;
    } finally {
      redis.disconnect();
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof PlaybookError || error instanceof RedisUnreachableError || error instanceof RedisClusterNotReadyError || error instanceof RedisNotAClusterError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
