// `netpol-responder lint <path...> [--format txt|json|sarif] [--config FILE]`: checks the
// NetworkPolicies of manifests for CI. Unreadable or invalid manifests are findings (NP000), so
// the rest is still checked and every format prints a full report. Exit: 1 when an error finding
// is not suppressed, 2 on usage or config errors, else 0.
import { readFileSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { buildIndex, type Issue } from '../policy/index.js';
import { MAX_FILE_BYTES, readManifests, STDIN_NAME, STDIN_PATH } from '../policy/load-files.js';
import { parseLintConfig, type LintConfig } from '../policy/lint-config.js';
import { formatFindingsText } from '../policy/lint-format.js';
import { lineOf, splitSource } from '../policy/lint-locate.js';
import { toSarif } from '../policy/lint-sarif.js';
import { failing, lint } from '../policy/lint.js';
import { printable } from '../printable.js';
import { cannotRead, errorCode } from './file-errors.js';
import { stdinTwice } from './policy-input.js';
import { parseCommand, pickFormat, usage, type Output } from './spec.js';
import { LINT } from './specs.js';

const FORMATS = ['txt', 'json', 'sarif'] as const;

function readConfig(path: string): { ok: true; config: LintConfig } | { ok: false; message: string } {
  let text: string;
  try {
    if (statSync(path).size > MAX_FILE_BYTES) return { ok: false, message: `--config ${printable(path, 300)} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB` };
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, message: `--config: ${cannotRead(path, errorCode(error))}` };
  }
  const parsed = parseLintConfig(text, path);
  if (parsed.ok) return parsed;
  return { ok: false, message: `--config ${printable(path, 300)} is invalid:\n${parsed.problems.map((p) => `  - ${printable(p, 500)}`).join('\n')}` };
}

/** The package's version, for SARIF's tool.driver. */
export function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Adds the file (relative to the working directory) and start line of each finding's object.
 * Objects read from standard input have no file, even when one is called "stdin".
 */
export function locate<T extends { source?: string }>(findings: readonly T[], cwd = process.cwd(), stdinRead = false): Array<T & { file?: string; line?: number }> {
  const isFile = new Map<string, boolean>();
  const texts = new Map<string, string | undefined>();
  const fileCheck = (file: string): boolean => {
    let known = isFile.get(file);
    if (known === undefined) {
      try {
        known = statSync(resolve(cwd, file)).isFile();
      } catch {
        known = false;
      }
      isFile.set(file, known);
    }
    return known;
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
    const file = relative(cwd, resolve(cwd, ref.file)).split(sep).join('/');
    return { ...f, file, ...(line !== undefined ? { line } : {}) };
  });
}

export async function run(argv: string[], out: Output = process): Promise<number> {
  const parsed = parseCommand(LINT, argv, out);
  if (!parsed.ok) return parsed.exitCode;
  const format = pickFormat(parsed.values.format ?? 'txt', FORMATS);
  if (!format.ok) {
    out.stderr.write(`${format.message}\n`);
    return 2;
  }
  if (parsed.positionals.length === 0) {
    out.stderr.write(`lint: give at least one file or directory\n\n${usage(LINT)}`);
    return 2;
  }
  if (stdinTwice(parsed.positionals)) {
    out.stderr.write(`lint: "-" (standard input) can be given once\n`);
    return 2;
  }
  let config: LintConfig | undefined;
  if (parsed.values.config !== undefined) {
    const read = readConfig(parsed.values.config);
    if (!read.ok) {
      out.stderr.write(`lint: ${read.message}\n`);
      return 2;
    }
    config = read.config;
  }
  const read = await readManifests(parsed.positionals);
  const { index, issues } = buildIndex(read.inputs);
  const unreadable: Issue[] = read.unreadable.map((u) => ({ severity: 'error', source: u.path, message: cannotRead(u.path, u.code) }));
  // --strict: a skipped file of a directory fails the run (NP000) instead of being a warning.
  const readIssues: Issue[] = parsed.values.strict === true ? read.issues.map((i) => (read.skipped.some((s) => s.path === i.source) ? { ...i, severity: 'error', message: `${i.message} (--strict)` } : i)) : read.issues;
  const all: Issue[] = [...unreadable, ...readIssues, ...issues];
  if (read.files === 0 && unreadable.length === 0) {
    all.push({ severity: 'error', source: parsed.positionals.join(', '), message: 'no .yaml, .yml or .json files found' });
  }
  const findings = locate(lint(index, { issues: all, ...(config ? { config } : {}) }), process.cwd(), parsed.positionals.includes(STDIN_PATH));
  if (format.format === 'json') out.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
  else if (format.format === 'sarif') out.stdout.write(`${JSON.stringify(toSarif(findings, toolVersion()), null, 2)}\n`);
  // Names and reasons come from the input: escaped so they cannot drive the terminal.
  else out.stdout.write(`${formatFindingsText(findings).split('\n').map((line) => printable(line)).join('\n')}`);
  return failing(findings).length > 0 ? 1 : 0;
}
