// `netpol-responder replay`: captured Hubble output (`hubble observe -o json`, the exporter's
// file) through the collector's pipeline, offline. Flags and usage: REPLAY in ./specs.ts.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError, formatIssues, readConfigDocument } from '../config/load.js';
import { pipelineOptionsOf, type CollectorSettings } from '../config/pipeline-options.js';
import { collectorSchema } from '../config/schema.js';
import { CaptureReadError, formatReplayText, inputProblem, replay, type ReplayInput } from '../flows/replay.js';
import { CAPTURE_EXTENSIONS, listCaptures, STDIN_PATH } from '../flows/sources/capture-files.js';
import { printable } from '../printable.js';
import { cannotRead, errorCode } from './file-errors.js';
import { parseCommand, pickFormat, usageError } from './spec.js';
import { REPLAY } from './specs.js';

/** The bot's configuration file, or one with only a collector section (its source may be left out). */
const tuningFileSchema = z.looseObject({ collector: collectorSchema.partial({ source: true }).optional() });

/** The collector section of --config, or the message that says why it cannot be used. */
async function collectorSettings(path: string): Promise<CollectorSettings | string> {
  try {
    if ((await stat(path)).isDirectory()) return cannotRead(path, 'EISDIR');
  } catch (error) {
    return cannotRead(path, errorCode(error));
  }
  try {
    const parsed = tuningFileSchema.safeParse(readConfigDocument(path) ?? {});
    if (!parsed.success) return new ConfigError(path, formatIssues(parsed.error.issues)).message;
    return parsed.data.collector ?? {};
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

function minutes(value: string | undefined, name: string): number | undefined | string {
  if (value === undefined) return undefined;
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) && n >= 0 && n <= 525_600 ? n * 60_000 : `--${name} must be a number of minutes from 0 to 525600 (got "${value}")`;
}

/** The captures behind the paths, each opened when its turn comes; or why one cannot be read. */
async function captures(paths: readonly string[]): Promise<ReplayInput[] | string> {
  const listing = await listCaptures(paths);
  if (!listing.ok) {
    return listing.code === 'EMPTYDIR' ? `no ${CAPTURE_EXTENSIONS.map((e) => `*${e}`).join(', ')} files in ${printable(listing.path, 300)}` : cannotRead(listing.path, listing.code);
  }
  return listing.files.map((file) => (file === STDIN_PATH ? { name: 'stdin', open: () => process.stdin } : { name: file, open: () => createReadStream(file) }));
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(REPLAY, argv);
  if (!parsed.ok) return parsed.exitCode;
  const { values, positionals } = parsed;
  const format = pickFormat(values.format ?? 'txt', ['txt', 'json'] as const);
  if (!format.ok) return usageError(REPLAY, format.message);
  if (positionals.length === 0) return usageError(REPLAY, 'give at least one capture (a file, a directory or "-")');
  const learnPaths = values.learn ?? [];
  if ([...positionals, ...learnPaths].filter((p) => p === STDIN_PATH).length > 1) return usageError(REPLAY, '"-" (standard input) can be given once');
  const learning = minutes(values['learning-minutes'], 'learning-minutes');
  const cooldown = minutes(values['cooldown-minutes'], 'cooldown-minutes');
  for (const problem of [learning, cooldown]) if (typeof problem === 'string') return usageError(REPLAY, problem);

  const settings = values.config === undefined ? {} : await collectorSettings(values.config);
  const main = await captures(positionals);
  const learn = await captures(learnPaths);
  for (const problem of [settings, main, learn]) {
    if (typeof problem === 'string') {
      process.stderr.write(`${problem}\n`);
      return 1;
    }
  }
  const options = pipelineOptionsOf({
    ...(settings as CollectorSettings),
    ...(typeof cooldown === 'number' ? { cooldown } : {}),
    ...(typeof learning === 'number' ? { learningPeriod: learning } : {}),
  });
  let report;
  try {
    report = await replay(main as ReplayInput[], learn as ReplayInput[], options);
  } catch (error) {
    if (!(error instanceof CaptureReadError)) throw error;
    process.stderr.write(`${cannotRead(error.source, error.code)}\n`);
    return 1;
  }
  const problem = inputProblem(report);
  if (problem) {
    process.stderr.write(problem);
    return 1;
  }
  process.stdout.write(format.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReplayText(report));
  return 0;
}
