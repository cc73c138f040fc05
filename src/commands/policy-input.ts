// Shared by analyze/diff/lint: read manifests from paths (or "-" for standard input), load them,
// report issues on stderr.
import type { Readable } from 'node:stream';
import { printable } from '../printable.js';
import { buildIndex, type Issue, type PolicyIndex } from '../policy/index.js';
import { readManifests, STDIN_PATH } from '../policy/load-files.js';
import { cannotRead } from './file-errors.js';

export function formatIssue(issue: Issue): string {
  return printable(`${issue.severity}: ${issue.source}${issue.object ? ` (${issue.object})` : ''}: ${issue.message}`, 2000);
}

export interface LoadedInput {
  index: PolicyIndex;
  issues: Issue[];
  files: number;
}

/** Standard input can be read once: a command taking paths refuses "-" given twice. */
export function stdinTwice(paths: readonly string[]): boolean {
  return paths.filter((p) => p === STDIN_PATH).length > 1;
}

/**
 * Reads and indexes the manifests; problems are written to stderr and the result is undefined
 * when any is an error. A path that cannot be read is one plain line: `cannot read <path>: <reason>`.
 * Files of directories that hold no Kubernetes object are skipped with a warning each, or, with
 * `strict`, refused (one error line each).
 */
export async function loadPaths(paths: readonly string[], stderr: NodeJS.WritableStream, label?: string, stdin?: Readable, strict = false): Promise<LoadedInput | undefined> {
  const read = await readManifests(paths, stdin ? { stdin } : {});
  for (const u of read.unreadable) stderr.write(`${cannotRead(u.path, u.code)}\n`);
  if (read.unreadable.length > 0) return undefined;
  if (strict && read.skipped.length > 0) {
    for (const s of read.skipped) stderr.write(`${label ? `${label}: ` : ''}${formatIssue({ severity: 'error', source: s.path, message: `${s.reason.replace(/: skipped$/, '')} (--strict)` })}\n`);
    return undefined;
  }
  const { index, issues } = buildIndex(read.inputs);
  const all = [...read.issues, ...issues];
  for (const issue of all) stderr.write(`${label ? `${label}: ` : ''}${formatIssue(issue)}\n`);
  if (all.some((i) => i.severity === 'error')) return undefined;
  if (read.files === 0) {
    stderr.write(`error: no .yaml, .yml or .json files under ${printable(paths.join(', '), 300)}\n`);
    return undefined;
  }
  return { index, issues: all, files: read.files };
}
