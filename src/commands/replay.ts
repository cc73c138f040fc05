// `netpol-responder replay <flows.jsonl|-> [--learn <normal.jsonl>] [--format text|json]`:
// captured Hubble output (`hubble observe -o json`, the exporter file) through the collector's
// pipeline, offline.
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, formatIssues, readConfigDocument } from '../config/load.js';
import { pipelineOptionsOf, type CollectorSettings } from '../config/pipeline-options.js';
import { collectorSchema } from '../config/schema.js';
import { formatReplayText, replay, type ReplayInput } from '../flows/replay.js';

const USAGE = `usage: netpol-responder replay <flows.jsonl|-> [--learn <normal.jsonl>] [--format text|json]
                                [--config FILE] [--learning-minutes N] [--cooldown-minutes N]

Runs captured Hubble JSON lines through the anomaly pipeline. With --learn, the baseline is learned
from that file first; otherwise the first --learning-minutes (default 60) of the stream are learned.
"-" reads standard input. --config takes the thresholds, baseline bounds, learning period and
cooldown from the \`collector\` section of a configuration file (the bot's own, or one holding only
that section); --learning-minutes and --cooldown-minutes override it.
`;

/** The bot's configuration file, or one with only a collector section (its source may be left out). */
const tuningFileSchema = z.looseObject({ collector: collectorSchema.partial({ source: true }).optional() });

function collectorSettings(path: string): CollectorSettings {
  const parsed = tuningFileSchema.safeParse(readConfigDocument(path) ?? {});
  if (!parsed.success) throw new ConfigError(path, formatIssues(parsed.error.issues));
  return parsed.data.collector ?? {};
}

async function input(path: string): Promise<ReplayInput | string> {
  if (path === '-') return { name: 'stdin', stream: process.stdin };
  try {
    await access(path);
  } catch {
    return `cannot read ${path}`;
  }
  return { name: path, stream: createReadStream(path) };
}

function minutes(value: string | undefined, name: string): number | undefined | string {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 && n <= 525_600 ? n * 60_000 : `--${name} must be a number of minutes`;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        learn: { type: 'string' },
        format: { type: 'string', default: 'text' },
        'learning-minutes': { type: 'string' },
        'cooldown-minutes': { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const format = parsed.values.format;
  const [path, ...extra] = parsed.positionals;
  if (!path || extra.length > 0 || (format !== 'text' && format !== 'json')) {
    process.stderr.write(USAGE);
    return 2;
  }
  const learning = minutes(parsed.values['learning-minutes'], 'learning-minutes');
  const cooldown = minutes(parsed.values['cooldown-minutes'], 'cooldown-minutes');
  for (const problem of [learning, cooldown]) {
    if (typeof problem === 'string') {
      process.stderr.write(`${problem}\n${USAGE}`);
      return 2;
    }
  }
  let settings: CollectorSettings = {};
  if (parsed.values.config !== undefined) {
    try {
      settings = collectorSettings(parsed.values.config);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
  }
  const main = await input(path);
  const learn = parsed.values.learn !== undefined ? await input(parsed.values.learn) : null;
  for (const i of [main, learn]) {
    if (typeof i === 'string') {
      process.stderr.write(`netpol-responder replay: ${i}\n`);
      return 1;
    }
  }
  const options = pipelineOptionsOf({
    ...settings,
    ...(typeof cooldown === 'number' ? { cooldown } : {}),
    ...(typeof learning === 'number' ? { learningPeriod: learning } : {}),
  });
  const report = await replay(main as ReplayInput, learn as ReplayInput | null, options);
  process.stdout.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReplayText(report));
  return 0;
}
