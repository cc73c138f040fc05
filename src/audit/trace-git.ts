// `trace --repo`: where each change came from, judged against a local clone of the policy
// repository (src/git: a bare clone of it, its history per object, classifyChange). Only
// committed history counts: uncommitted edits in the working tree are not Git's word.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { classifyChange, gitRepositorySchema, PolicyRepository, verdictOf } from '../git/index.js';
import { runGit } from '../git/exec.js';
import type { GitVerdict } from './trace-report.js';
import { kindOfResource, WATCHED_RESOURCES, isWatchedResource, type AuditChange } from './types.js';

/** Commits this long before a change are looked at; older states come as the state before the window. */
const LOOKBACK_MS = 30 * 86_400_000;

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function currentBranch(dir: string): Promise<string> {
  const { stdout } = await runGit(['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: dir, timeoutMs: 10_000, maxOutputBytes: 4096 });
  const branch = stdout.toString('utf8').trim();
  if (branch === '' || branch === 'HEAD') throw new Error(`${dir} has no branch checked out (detached HEAD): name one with --branch`);
  return branch;
}

/** The object after the change: null for a deletion, undefined when the event carries no body. */
function afterOf(change: AuditChange): Obj | null | undefined {
  if (change.verb === 'delete' || change.verb === 'deletecollection') return null;
  if (isObj(change.responseObject) && isObj(change.responseObject.metadata)) return change.responseObject;
  return undefined;
}

async function classifyOne(repo: PolicyRepository, change: AuditChange): Promise<GitVerdict> {
  const ref = change.objectRef;
  if (!ref.name) return { kind: 'unknown', reason: 'the event names no object (a collection request)' };
  const after = afterOf(change);
  if (after === undefined) {
    return { kind: 'unknown', reason: 'the event carries no response body (recorded at Metadata level): record these writes at RequestResponse (deploy/audit-policy.yaml)' };
  }
  const namespaced = isWatchedResource(ref.resource) ? WATCHED_RESOURCES[ref.resource].namespaced : true;
  const annotations = after && isObj(after.metadata) && isObj(after.metadata.annotations) ? (after.metadata.annotations as Record<string, string>) : undefined;
  const key = { kind: kindOfResource(ref.resource), ...(namespaced && ref.namespace ? { namespace: ref.namespace } : {}), name: ref.name, ...(annotations ? { annotations } : {}) };
  const trail = await repo.trail(key, new Date(Date.parse(change.at) - LOOKBACK_MS).toISOString());
  const actor = {
    tool: change.tool,
    username: change.impersonatedUser?.username ?? change.user.username,
    ...(change.impersonatedUser ? { impersonatedBy: change.user.username } : {}),
    ...(change.fieldManager ? { manager: change.fieldManager } : {}),
  };
  return verdictOf(classifyChange({ after, actor, at: change.at, commits: trail.commits, ...(trail.before ? { before: trail.before } : {}) }));
}

export type RepositoryVerdicts = { ok: true; verdicts: Map<string, GitVerdict>; head: string } | { ok: false; error: string };

/** Classifies every change that went through (refused attempts changed nothing) against the repository at `dir`. */
export async function classifyAgainstRepository(dir: string, changes: readonly AuditChange[], options: { branch?: string; paths?: string[] } = {}): Promise<RepositoryVerdicts> {
  const path = resolve(dir);
  let branch: string;
  try {
    branch = options.branch ?? (await currentBranch(path));
  } catch (error) {
    const message = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    return { ok: false, error: `--repo ${path}: not a Git repository with a branch (${message.split('\n')[0]})` };
  }
  const config = gitRepositorySchema.safeParse({ name: 'trace', url: path, branch, ...(options.paths?.length ? { paths: options.paths } : {}) });
  if (!config.success) {
    return { ok: false, error: config.error.issues.map((i) => `${i.path[0] === 'paths' ? '--paths' : i.path[0] === 'branch' ? '--branch' : '--repo'}: ${i.message}`).join('; ') };
  }
  const scratch = mkdtempSync(join(tmpdir(), 'netpol-trace-git-'));
  try {
    const repo = new PolicyRepository(config.data, { dir: scratch });
    const synced = await repo.sync();
    if (!synced.ok) return { ok: false, error: `--repo ${path}: ${synced.error}` };
    const verdicts = new Map<string, GitVerdict>();
    for (const change of changes) {
      if (change.refused) continue;
      try {
        verdicts.set(change.auditID, await classifyOne(repo, change));
      } catch (error) {
        verdicts.set(change.auditID, { kind: 'unknown', reason: `the repository could not be read: ${(error as Error).message}` });
      }
    }
    return { ok: true, verdicts, head: synced.head };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
