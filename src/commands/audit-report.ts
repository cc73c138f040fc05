// `netpol-responder audit <path...> [--format md|json|sarif] [--matched FILE] [--unused-days N]`:
// the post-incident hardening audit of the NetworkPolicies of manifests (src/audit-report).
// Exit: 0 after a run (findings do not fail it: the report is for people, lint is for CI gates),
// 1 when a path cannot be read or a manifest is invalid, 2 on bad usage or a bad --matched file.
import { readFileSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { auditReport, type MatchedPolicies } from '../audit-report/checks.js';
import { AUDIT_FORMATS, renderJson, renderMarkdown, renderSarif, type LocatedAuditFinding, type LocatedAuditReport } from '../audit-report/render.js';
import { MAX_FILE_BYTES, STDIN_NAME, STDIN_PATH } from '../policy/load-files.js';
import { lineOf, splitSource } from '../policy/lint-locate.js';
import { printable } from '../printable.js';
import { cannotRead, errorCode } from './file-errors.js';
import { loadPaths, stdinTwice } from './policy-input.js';
import { parseCommand, pickFormat, usage, type Output } from './spec.js';
import { AUDIT_REPORT } from './specs.js';

export { AUDIT_REPORT };


function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Reads --matched: `{ "ns/name": "2026-11-30T10:00:00Z", ... }`. */
export function parseMatched(text: string): { ok: true; lastMatch: Map<string, Date> } | { ok: false; message: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, message: 'must be a JSON object of "namespace/policy": "ISO 8601 time"' };
  const lastMatch = new Map<string, Date>();
  for (const [key, value] of Object.entries(raw)) {
    const time = typeof value === 'string' ? new Date(value) : undefined;
    if (!time || Number.isNaN(time.getTime())) return { ok: false, message: `"${printable(key, 200)}": ${printable(JSON.stringify(value) ?? String(value), 100)} is not an ISO 8601 time` };
    if (!/^[^/]+\/[^/]+$/.test(key)) return { ok: false, message: `"${printable(key, 200)}" is not namespace/policy` };
    lastMatch.set(key, time);
  }
  return { ok: true, lastMatch };
}

function readMatched(path: string, days: number): { ok: true; matched: MatchedPolicies } | { ok: false; message: string } {
  let text: string;
  try {
    if (statSync(path).size > MAX_FILE_BYTES) return { ok: false, message: `--matched ${printable(path, 300)} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB` };
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, message: `--matched: ${cannotRead(path, errorCode(error))}` };
  }
  const parsed = parseMatched(text);
  if (!parsed.ok) return { ok: false, message: `--matched ${printable(path, 300)}: ${parsed.message}` };
  return { ok: true, matched: { lastMatch: parsed.lastMatch, now: new Date(), days } };
}

/** Adds the file (relative to the working directory) and line of each finding's object. */
function locate(findings: readonly LocatedAuditFinding[], cwd: string, stdinRead: boolean): LocatedAuditFinding[] {
  const isFile = new Map<string, boolean>();
  const texts = new Map<string, string | undefined>();
  const fileCheck = (file: string): boolean => {
    if (!isFile.has(file)) {
      try {
        isFile.set(file, statSync(resolve(cwd, file)).isFile());
      } catch {
        isFile.set(file, false);
      }
    }
    return isFile.get(file) === true;
  };
  const textOf = (file: string): string | undefined => {
    if (!texts.has(file)) {
      try {
        const path = resolve(cwd, file);
        texts.set(file, statSync(path).size <= MAX_FILE_BYTES ? readFileSync(path, 'utf8') : undefined);
      } catch {
        texts.set(file, undefined);
      }
    }
    return texts.get(file);
  };
  return findings.map((f) => {
    const fromStdin = stdinRead && f.source !== undefined && (f.source === STDIN_NAME || /^stdin[#.]/.test(f.source));
    const ref = f.source === undefined || fromStdin ? undefined : splitSource(f.source, fileCheck);
    if (!ref) return f;
    const text = textOf(ref.file);
    const line = text === undefined ? undefined : lineOf(text, ref);
    return { ...f, file: relative(cwd, resolve(cwd, ref.file)).split(sep).join('/'), ...(line !== undefined ? { line } : {}) };
  });
}

export async function run(argv: string[], out: Output = process): Promise<number> {
  const parsed = parseCommand(AUDIT_REPORT, argv, out);
  if (!parsed.ok) return parsed.exitCode;
  const format = pickFormat(parsed.values.format === 'markdown' ? 'md' : (parsed.values.format ?? 'md'), AUDIT_FORMATS);
  if (!format.ok) {
    out.stderr.write(`${format.message}\n`);
    return 2;
  }
  if (parsed.positionals.length === 0) {
    out.stderr.write(`audit: give at least one file or directory\n\n${usage(AUDIT_REPORT)}`);
    return 2;
  }
  if (stdinTwice(parsed.positionals)) {
    out.stderr.write('audit: "-" (standard input) can be given once\n');
    return 2;
  }
  const daysText = parsed.values['unused-days'] ?? '30';
  const days = /^\d{1,4}$/.test(daysText) ? Number(daysText) : Number.NaN;
  if (!(days >= 1)) {
    out.stderr.write(`audit: --unused-days must be a whole number of days from 1 to 9999, not "${printable(daysText, 40)}"\n`);
    return 2;
  }
  let matched: MatchedPolicies | undefined;
  if (parsed.values.matched !== undefined) {
    const read = readMatched(parsed.values.matched, days);
    if (!read.ok) {
      out.stderr.write(`audit: ${read.message}\n`);
      return 2;
    }
    matched = read.matched;
  }
  const loaded = await loadPaths(parsed.positionals, out.stderr, 'audit');
  if (!loaded) return 1;
  const report = auditReport(loaded.index, matched ? { matched } : {});
  const cwd = process.cwd();
  const located: LocatedAuditReport = { ...report, findings: locate(report.findings, cwd, parsed.positionals.includes(STDIN_PATH)) };
  if (format.format === 'json') out.stdout.write(renderJson(located));
  else if (format.format === 'sarif') out.stdout.write(renderSarif(located, toolVersion(), fallbackFile(located.findings)));
  else out.stdout.write(renderMarkdown(report));
  return 0;
}

/** The first file any finding points at: where SARIF places findings without a file of their own. */
function fallbackFile(findings: readonly LocatedAuditFinding[]): string | undefined {
  return findings.map((f) => f.file).find((f): f is string => f !== undefined);
}
