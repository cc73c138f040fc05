// A revision a responder typed (a commit sha, a tag, the tracked branch) as a commit of a policy
// repository's bare clone. The text is checked before any git process runs. The clone is fetched
// with --no-tags, so a tag is fetched on demand, alone, into a private ref namespace under a
// digest of its name: it can never shadow a short sha or a branch for the rest of the bot, and no
// tag name can make a ref path too long or clash with another.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { authPlan, fsAuthIo, type AuthIo } from './auth.js';
import { DEFAULT_FETCH_TIMEOUT_MS } from './config-schema.js';
import { describeGitFailure, scrub } from './errors.js';
import { GitExecError, runGit } from './exec.js';
import type { PolicyRepository } from './repository.js';

export const MAX_REVISION_LENGTH = 200;
/** Typed text longer than this is not even trimmed or echoed. */
const MAX_TYPED_LENGTH = 1024;
const SHA = /^[0-9a-f]{7,64}$/i;
const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const REPOSITORY = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAME_CHARS = /^[A-Za-z0-9._/+@-]+$/;
const READ_TIMEOUT_MS = 30_000;

/** What the text names: hex that may be a commit (or a tag of that name), or a tag or branch name. */
export type RevisionText = { kind: 'sha'; sha: string } | { kind: 'name'; name: string };

export type CheckedRevision = { ok: true; repository?: string; revision: RevisionText } | { ok: false; error: string };

/** The typed text quoted for a message: escaped, and cut when long. */
export function showTyped(text: string, max = 60): string {
  const quoted = JSON.stringify(text.length > max ? text.slice(0, max) : text);
  return text.length > max ? `${quoted.slice(0, -1)}…" (${text.length} characters)` : quoted;
}

/** Why `name` is not a ref name git would accept (git check-ref-format's rules, stricter on characters). */
function refNameProblem(name: string): string | undefined {
  if (name.length > MAX_REVISION_LENGTH) return `is ${name.length} characters long: a commit sha or a tag has at most ${MAX_REVISION_LENGTH}`;
  if (name.startsWith('-')) return 'starts with "-"';
  const bad = [...name].find((c) => !NAME_CHARS.test(c));
  if (bad !== undefined) return `contains ${bad === ' ' ? 'a space' : showTyped(bad)}: only letters, digits and . _ / + - @ are accepted`;
  if (name === '@') return 'is "@" alone, which git reads as HEAD';
  if (name.includes('..')) return 'contains ".."';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'has an empty path component';
  if (name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'))) return 'has a component that starts with "." or ends with ".lock"';
  if (name.endsWith('.')) return 'ends with "."';
  return undefined;
}

/**
 * Checks what a responder typed (pure): `[<repository>:]<sha or tag>`. A `tags/` or `refs/tags/`
 * prefix is taken off; `HEAD` names the tracked branch. Nothing is run here.
 */
export function checkRevisionText(text: unknown): CheckedRevision {
  if (typeof text !== 'string') return { ok: false, error: 'type a commit sha or a tag' };
  if (text.length > MAX_TYPED_LENGTH) return { ok: false, error: `the text is ${text.length} characters long: a commit sha or a tag has at most ${MAX_REVISION_LENGTH}` };
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, error: 'type a commit sha or a tag' };
  let repository: string | undefined;
  let rest = trimmed;
  const colon = trimmed.indexOf(':');
  if (colon >= 0) {
    repository = trimmed.slice(0, colon);
    rest = trimmed.slice(colon + 1);
    if (!REPOSITORY.test(repository)) return { ok: false, error: `${showTyped(repository)} before ":" is not a repository name (type <repository>:<sha or tag>)` };
    if (rest === '') return { ok: false, error: `type a commit sha or a tag after "${repository}:"` };
  }
  const name = rest.replace(/^(refs\/)?tags\//, '');
  const problem = refNameProblem(name);
  if (problem) return { ok: false, error: `${showTyped(rest)} is not a commit sha or a tag: it ${problem}` };
  const revision: RevisionText = SHA.test(name) ? { kind: 'sha', sha: name.toLowerCase() } : { kind: 'name', name };
  return { ok: true, ...(repository ? { repository } : {}), revision };
}

export type ResolvedRevision =
  | { ok: true; commit: string; committedAt: string; via: 'commit' | 'tag' | 'branch'; name: string }
  | { ok: false; error: string };

export interface ResolveOptions {
  /** File access for the remote's secrets (tests replace it). */
  authIo?: AuthIo;
  /** Bound of the tag fetch (default: the repositories' fetch timeout). */
  fetchTimeoutMs?: number;
  readTimeoutMs?: number;
}

type LocalLookup = { found: string } | { missing: true } | { error: string };

/** `git rev-parse --verify <rev>^{commit}` in the clone: the commit, missing, or why it cannot tell (ambiguous). */
async function lookUp(clonePath: string, rev: string, timeoutMs: number): Promise<LocalLookup> {
  try {
    const { stdout } = await runGit(['rev-parse', '--verify', '--end-of-options', `${rev}^{commit}`], { cwd: clonePath, timeoutMs, maxOutputBytes: 1024 });
    const sha = stdout.toString('utf8').trim();
    return FULL_SHA.test(sha) ? { found: sha } : { missing: true };
  } catch (error) {
    if (error instanceof GitExecError && error.failure === 'exit') {
      if (/ambiguous/i.test(error.stderr)) return { error: `the short sha ${rev} is ambiguous: type more of it` };
      return { missing: true };
    }
    return { error: `the clone cannot be read: ${(error as Error).message}` };
  }
}

/** The committer time of a commit, as an ISO time in UTC. */
export async function commitTime(repository: PolicyRepository, commit: string, timeoutMs = READ_TIMEOUT_MS): Promise<string> {
  if (!FULL_SHA.test(commit)) throw new Error(`not a full commit sha: ${showTyped(commit)}`);
  const { stdout } = await runGit(['log', '-1', '--format=%cI', '--end-of-options', commit], { cwd: repository.clonePath, timeoutMs, maxOutputBytes: 1024 });
  const ms = Date.parse(stdout.toString('utf8').trim());
  if (Number.isNaN(ms)) throw new Error(`${repository.config.name}: commit ${commit.slice(0, 12)} has no readable time`);
  return new Date(ms).toISOString();
}

/** Where a fetched tag is kept: a digest of the name, so any name makes one short, clash-free ref. */
export function fetchedTagRef(name: string): string {
  return `refs/netpol-restore/tags/${createHash('sha256').update(name).digest('hex')}`;
}

/** One tag fetch per clone at a time: two fetches updating the same ref would fight over its lock. */
const tagFetches = new Map<string, Promise<unknown>>();

function serialised<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tagFetches.get(key) ?? Promise.resolve();
  const next = previous.then(work, work);
  tagFetches.set(key, next);
  const forget = (): void => {
    if (tagFetches.get(key) === next) tagFetches.delete(key);
  };
  next.then(forget, forget);
  return next;
}

type TagLookup = { found: string } | { missing: true } | { error: string };

/** Fetches `refs/tags/<name>` alone from the remote (an argument array, bounded by a timeout) and peels it to a commit. */
async function fetchTag(repository: PolicyRepository, name: string, options: ResolveOptions): Promise<TagLookup> {
  const { url, branch } = repository.config;
  const plan = authPlan(repository.config, options.authIo ?? fsAuthIo);
  if ('error' in plan) return { error: plan.error };
  const local = fetchedTagRef(name);
  try {
    await serialised(repository.clonePath, () =>
      runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-auto-gc', '--end-of-options', url, `+refs/tags/${name}:${local}`], {
        cwd: repository.clonePath,
        globalArgs: plan.globalArgs,
        env: plan.env,
        timeoutMs: options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
        maxOutputBytes: 1024 * 1024,
      }),
    );
  } catch (error) {
    if (error instanceof GitExecError && error.failure === 'exit' && /couldn't find remote ref/i.test(error.stderr)) return { missing: true };
    const reason = error instanceof GitExecError ? describeGitFailure(error, { url, branch, secrets: plan.secrets }) : scrub((error as Error).message, plan.secrets);
    return { error: `the tag could not be fetched: ${reason}` };
  }
  const peeled = await lookUp(repository.clonePath, local, options.readTimeoutMs ?? READ_TIMEOUT_MS);
  if ('missing' in peeled) return { error: `tag ${name} does not name a commit` };
  return peeled;
}

/**
 * The commit a checked revision names in a repository: the tracked branch's head, a commit of the
 * clone, or a tag of the remote. A sha the clone lacks is looked for once more after a fetch of
 * the branch (it may have just been pushed); hex text may also be a tag's name.
 */
export async function resolveIn(repository: PolicyRepository, revision: RevisionText, options: ResolveOptions = {}): Promise<ResolvedRevision> {
  const repo = repository.config.name;
  const readTimeout = options.readTimeoutMs ?? READ_TIMEOUT_MS;
  if (repository.head() === undefined || !existsSync(join(repository.clonePath, 'HEAD'))) {
    const synced = await repository.sync();
    if (!synced.ok && repository.head() === undefined) return { ok: false, error: `${repo} is not cloned yet: ${synced.error}` };
  }
  const done = async (commit: string, via: 'commit' | 'tag' | 'branch', name: string): Promise<ResolvedRevision> => ({ ok: true, commit, committedAt: await commitTime(repository, commit, readTimeout), via, name });

  if (revision.kind === 'name' && (revision.name === repository.config.branch || revision.name === 'HEAD')) {
    const head = repository.head();
    return head ? done(head, 'branch', repository.config.branch) : { ok: false, error: `${repo} is not cloned yet` };
  }
  if (revision.kind === 'sha') {
    const local = await lookUp(repository.clonePath, revision.sha, readTimeout);
    if ('found' in local) return done(local.found, 'commit', revision.sha);
    if ('error' in local) return { ok: false, error: `${repo}: ${local.error}` };
  }
  const name = revision.kind === 'sha' ? revision.sha : revision.name;
  const tag = await fetchTag(repository, name, options);
  if ('found' in tag) return done(tag.found, 'tag', name);
  if ('error' in tag) return { ok: false, error: `${repo}: ${tag.error}` };
  if (revision.kind === 'sha') {
    const synced = await repository.sync();
    const again = synced.ok ? await lookUp(repository.clonePath, revision.sha, readTimeout) : undefined;
    if (again && 'found' in again) return done(again.found, 'commit', revision.sha);
    const fetched = synced.ok ? 'just fetched' : `as last fetched; the fetch now failed: ${synced.error}`;
    return { ok: false, error: `${repo}: no commit ${revision.sha} in the clone (branch ${repository.config.branch}, ${fetched}) and no tag of that name on the remote` };
  }
  return { ok: false, error: `${repo}: no tag ${name} on the remote (only the branch ${repository.config.branch} is fetched: type a commit sha or a tag)` };
}

/** Whether a commit is in the clone, without touching the remote (for picking among repositories). */
export async function hasCommit(repository: PolicyRepository, sha: string, timeoutMs = READ_TIMEOUT_MS): Promise<boolean> {
  if (!SHA.test(sha) || !existsSync(join(repository.clonePath, 'HEAD'))) return false;
  return 'found' in (await lookUp(repository.clonePath, sha, timeoutMs));
}
