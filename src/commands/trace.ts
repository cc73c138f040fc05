// `netpol-responder trace`: kube-apiserver audit logs (files, rotated and gzipped ones, a
// directory, stdin) → who changed which NetworkPolicy or Namespace, with which tool; optionally
// judged against a clone of the policy repository. Flags and usage: TRACE in ./specs.ts.
import { stat } from 'node:fs/promises';
import { auditFilesIn, openAuditFile } from '../audit/files.js';
import { classifyAgainstRepository } from '../audit/trace-git.js';
import { formatTraceText, inputProblem, TraceCollector, type GitVerdict, type TraceFilter } from '../audit/trace-report.js';
import { parseDuration } from '../config/duration.js';
import { readLines } from '../flows/sources/jsonl.js';
import { printable } from '../printable.js';
import { cannotRead, errorCode } from './file-errors.js';
import { parseCommand, pickFormat, usageError } from './spec.js';
import { TRACE } from './specs.js';

const STDIN = '-';
/** One audit event with both bodies of a large object fits; a longer line is skipped and counted. */
const MAX_LINE = 16 * 1024 * 1024;

/** An ISO time, or a duration meaning that long before now; a message when it is neither. */
function timeArg(value: string | undefined, flag: string, now: number): string | undefined | { error: string } {
  if (value === undefined) return undefined;
  if (/^\d+(ms|s|m|h|d)$/.test(value)) return new Date(now - parseDuration(value)).toISOString();
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) return { error: `--${flag}: "${printable(value, 60)}" is not a time (ISO-8601 like 2026-11-30T10:00:00Z, or a duration ago like 30m, 2h, 7d)` };
  return new Date(ms).toISOString();
}

/** The files behind the inputs, in order; or why one cannot be read. */
async function inputFiles(paths: readonly string[]): Promise<string[] | string> {
  const files: string[] = [];
  for (const path of paths) {
    if (path === STDIN) {
      files.push(path);
      continue;
    }
    try {
      if (!(await stat(path)).isDirectory()) {
        files.push(path);
        continue;
      }
      const inside = await auditFilesIn(path);
      if (inside.length === 0) return `no audit logs (*.log, *.json, *.jsonl, plain or .gz) in ${printable(path, 300)}`;
      files.push(...inside);
    } catch (error) {
      return cannotRead(path, errorCode(error));
    }
  }
  return files;
}

async function readAll(files: readonly string[], collector: TraceCollector): Promise<string | undefined> {
  for (const file of files) {
    collector.beginSource(file === STDIN ? 'stdin' : file);
    try {
      const stream = file === STDIN ? process.stdin : await openAuditFile(file);
      await readLines(stream, { onLine: (line) => collector.onLine(line), onOversized: (n) => collector.onOversized(n) }, MAX_LINE);
    } catch (error) {
      const code = errorCode(error);
      // zlib's "unexpected end of file" and friends: a .gz cut short (still being written, or copied half).
      return (error as { errno?: number }).errno !== undefined && /^Z_/.test(code) ? `cannot read ${printable(file, 300)}: damaged gzip (${(error as Error).message})` : cannotRead(file, code);
    }
  }
  return undefined;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(TRACE, argv);
  if (!parsed.ok) return parsed.exitCode;
  const { values, positionals } = parsed;
  const format = pickFormat(values.format ?? 'txt', ['txt', 'json'] as const);
  if (!format.ok) return usageError(TRACE, format.message);
  const inputs = [...(values['audit-log'] ?? []), ...positionals];
  if ((values['audit-log'] ?? []).length === 0) return usageError(TRACE, 'give at least one audit log with --audit-log (a file, a directory or "-")');
  if (inputs.filter((p) => p === STDIN).length > 1) return usageError(TRACE, '"-" (standard input) can be given once');
  if (values.repo === undefined && (values.branch !== undefined || values.paths !== undefined)) return usageError(TRACE, '--branch and --paths go with --repo');
  const now = Date.now();
  const since = timeArg(values.since, 'since', now);
  const until = timeArg(values.until, 'until', now);
  for (const t of [since, until]) if (typeof t === 'object') return usageError(TRACE, t.error);
  if (typeof since === 'string' && typeof until === 'string' && since > until) return usageError(TRACE, `--since (${since}) is after --until (${until})`);
  const namespace = values.namespace;
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) return usageError(TRACE, `--namespace: "${printable(namespace, 80)}" is not a namespace name`);

  const files = await inputFiles(inputs);
  if (typeof files === 'string') {
    process.stderr.write(`${files}\n`);
    return 1;
  }
  const collector = new TraceCollector();
  const readError = await readAll(files, collector);
  if (readError) {
    process.stderr.write(`${readError}\n`);
    return 1;
  }
  const filter: TraceFilter = { ...(typeof since === 'string' ? { since } : {}), ...(typeof until === 'string' ? { until } : {}), ...(namespace ? { namespace } : {}) };
  let git: Map<string, GitVerdict> | undefined;
  if (values.repo !== undefined) {
    const probe = collector.report(filter);
    const result = await classifyAgainstRepository(values.repo, [...probe.changes, ...probe.refused], {
      ...(values.branch ? { branch: values.branch } : {}),
      ...(values.paths ? { paths: values.paths.flatMap((p) => p.split(',')).filter((p) => p !== '') } : {}),
    });
    if (!result.ok) {
      process.stderr.write(`${printable(result.error, 600)}\n`);
      return 1;
    }
    git = result.verdicts;
  }
  const report = collector.report(filter, git);
  const problem = inputProblem(report);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    return 1;
  }
  process.stdout.write(format.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatTraceText(report));
  return 0;
}
