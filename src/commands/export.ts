// `netpol-responder export <id> --format md|json [--out DIR]`: writes the postmortem timeline locally.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadFileSettings } from '../config/load.js';
import { IncidentStore } from '../incident/store.js';
import { loadPlaybook, PlaybookError } from '../playbook/load.js';
import { connectRedis, RedisUnreachableError } from '../redis/connect.js';
import { exportFormats, postmortemFileName, renderPostmortem, type ExportFormat } from '../timeline/render.js';
import { configPath } from './config-path.js';

const USAGE = 'usage: netpol-responder export <incident-id> [--format md|json] [--out DIR] [--config FILE]   (needs REDIS_URL)';

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { format: { type: 'string', default: 'md' }, out: { type: 'string' }, config: { type: 'string' } } });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [id, ...extra] = parsed.positionals;
  const format = parsed.values.format as string;
  if (!id || extra.length > 0 || !(exportFormats as readonly string[]).includes(format)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    process.stderr.write('REDIS_URL is not set: point it at the Redis the bot keeps its incidents in.\n');
    return 1;
  }
  try {
    const settings = loadFileSettings(configPath(parsed.values.config));
    const playbook = loadPlaybook(settings.playbook.path);
    const redis = await connectRedis(redisUrl);
    try {
      const store = new IncidentStore(redis, settings.redis.keyPrefix);
      const incident = await store.get(id);
      if (!incident) {
        process.stderr.write(`no incident with id "${id}" (key prefix "${settings.redis.keyPrefix}")\n`);
        return 1;
      }
      const content = renderPostmortem(format as ExportFormat, {
        incident,
        timeline: await store.timeline(id),
        stepTitles: Object.fromEntries(playbook.steps.map((s) => [s.id, s.title])),
        generatedAt: new Date(),
      });
      const dir = parsed.values.out ?? settings.export.dir;
      mkdirSync(dir, { recursive: true });
      const file = join(dir, postmortemFileName(id, format as ExportFormat));
      writeFileSync(file, content);
      process.stdout.write(`${file}\n`);
      return 0;
    } finally {
      redis.disconnect();
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof PlaybookError || error instanceof RedisUnreachableError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
