// Shared by analyze/diff/lint: read manifests from paths, load them, report issues on stderr.
import { buildIndex, type Issue, type PolicyIndex } from '../policy/index.js';
import { readManifests } from '../policy/load-files.js';

export function formatIssue(issue: Issue): string {
  return `${issue.severity}: ${issue.source}${issue.object ? ` (${issue.object})` : ''}: ${issue.message}`;
}

export interface LoadedInput {
  index: PolicyIndex;
  issues: Issue[];
  files: number;
}

/** Reads and indexes the manifests; issues are written to stderr. Returns undefined on errors. */
export async function loadPaths(paths: readonly string[], stderr: NodeJS.WritableStream, label?: string): Promise<LoadedInput | undefined> {
  const read = await readManifests(paths);
  const { index, issues } = buildIndex(read.inputs);
  const all = [...read.issues, ...issues];
  for (const issue of all) stderr.write(`${label ? `${label}: ` : ''}${formatIssue(issue)}\n`);
  if (all.some((i) => i.severity === 'error')) return undefined;
  if (read.files === 0) {
    stderr.write(`error: no .yaml, .yml or .json files under ${paths.join(', ')}\n`);
    return undefined;
  }
  return { index, issues: all, files: read.files };
}
