// `netpol-responder replay <flows.jsonl|-> [--learn <normal.jsonl>] [--format text|json]`:
// captured Hubble output (`hubble observe -o json`, the exporter file) through the collector's
// pipeline, offline.
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatReplayText, replay, type ReplayInput } from '../flows/replay.js';

const USAGE = `usage: netpol-responder replay <flows.jsonl|-> [--learn <normal.jsonl>] [--format text|json]
                                [--learning-minutes N] [--cooldown-minutes N]

Runs captured Hubble JSON lines through the anomaly pipeline. With --learn, the baseline is learned
from that file first; otherwise the first --learning-minutes (default 60) of the stream are learned.
"-" reads standard input.
`;

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
  const main = await input(path);
  const learn = parsed.values.learn !== undefined ? await input(parsed.values.learn) : null;
  for (const i of [main, learn]) {
    if (typeof i === 'string') {
      process.stderr.write(`netpol-responder replay: ${i}\n`);
      return 1;
    }
  }
  const report = await replay(main as ReplayInput, learn as ReplayInput | null, {
    ...(typeof cooldown === 'number' ? { cooldownMs: cooldown } : {}),
    ...(typeof learning === 'number' ? { baseline: { learningPeriodMs: learning } } : {}),
  });
  process.stdout.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReplayText(report));
  return 0;
}
