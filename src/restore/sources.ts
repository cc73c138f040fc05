// The known-good sources of a restore (issue step 4), in the order the responder is offered them:
// 1. Git at the last commit before the cause, 2. the journal's snapshot just before the cause
// (works without Git), 3. Git HEAD of the tracked branch, 4. a commit SHA or tag the responder
// types. Each is offered whether or not it can be used, with the reason when not; loading one gives
// the scope's policies as that source holds them. Git sources name every repository's commit, so
// what was offered is exactly what is loaded, however the branches move in between.
import type { AuthIo } from '../git/auth.js';
import { mergeStates, type DesiredState } from '../git/render.js';
import type { PolicyRepositories } from '../git/repositories.js';
import type { PolicyRepository, SyncResult } from '../git/repository.js';
import { checkRevisionText, commitTime, hasCommit, resolveIn, showTyped, type RevisionText } from '../git/revision.js';
import type { ChangeJournal } from '../journal/store.js';
import { journalCoverage, journalSnapshot } from './journal-snapshot.js';
import { beforeCauseGitLabel, checkScope, clockTime, headLabel, inScope, journalLabel, msOf, RestoreSourceError, TYPED_LABEL, typedLabel } from './source-text.js';
import type { GitRevision, KnownGoodSource, KnownGoodState } from './source-types.js';

export type { GitRevision, KnownGoodObject, KnownGoodSource, KnownGoodState, ObjectIdentity, SourceKind } from './source-types.js';
export { describeOption, RestoreSourceError } from './source-text.js';

export interface SourceContext {
  git?: PolicyRepositories;
  journal?: ChangeJournal;
  /** The cause step 2 found (its key is `Kind/namespace/name`), or none. */
  cause?: { key: string; at: string } | null;
  /** The restore scope: the incident's namespace and those whose objects the cause touched. */
  namespaces: string[];
  /** Fetch every repository before reading heads (default true); a failed fetch leaves the last good clone. */
  fetch?: boolean;
  /** File access for a remote's secrets when a typed tag is fetched (tests replace it). */
  authIo?: AuthIo;
  /** Bound of a typed tag's fetch (git.fetchTimeout). */
  fetchTimeoutMs?: number;
}

type Synced = Map<string, SyncResult>;

const NO_GIT = 'no policy repository is configured (git.repositories)';
const NO_CAUSE = 'step 2 found no cause: there is no "before" to go back to';

function unavailable(kind: KnownGoodSource['kind'], label: string, reason: string): KnownGoodSource {
  return { kind, label, available: false, reason };
}

/** The instant before the cause, or why there is none. */
function beforeCause(ctx: SourceContext): { atMs: number; causeAt: string } | { reason: string } {
  if (!ctx.cause) return { reason: NO_CAUSE };
  const ms = msOf(ctx.cause.at);
  if (ms === undefined) return { reason: `the cause's time ${showTyped(String(ctx.cause.at), 40)} is not a time` };
  return { atMs: ms - 1, causeAt: new Date(ms).toISOString() };
}

async function syncAll(git: PolicyRepositories): Promise<Synced> {
  const results = await Promise.all(git.list.map(async (repo) => [repo.config.name, await repo.sync()] as const));
  return new Map(results);
}

/** Repositories without a head (never fetched), as one reason; undefined when every one has its head. */
function missingHeads(git: PolicyRepositories, synced: Synced): string | undefined {
  const missing = git.list.filter((r) => r.head() === undefined);
  if (missing.length === 0) return undefined;
  return missing
    .map((r) => {
      const result = synced.get(r.config.name);
      return `${r.config.name} is not cloned yet${result && !result.ok ? ` (${result.error})` : ' (no fetch has succeeded)'}`;
    })
    .join('; ');
}

/** A failed fetch while the last good clone serves: what to know before choosing a Git source. */
function fetchCaveat(synced: Synced): string | undefined {
  const failed = [...synced].filter(([, r]) => !r.ok).map(([name, r]) => `${name}: the fetch failed (${(r as { error: string }).error}), the last good clone is used`);
  return failed.length > 0 ? failed.join('; ') : undefined;
}

function gitFields(revisions: GitRevision[]): Pick<KnownGoodSource, 'repository' | 'commit' | 'revisions'> {
  const [only] = revisions;
  return { ...(revisions.length === 1 && only ? { repository: only.repository, commit: only.commit } : {}), revisions };
}

async function gitBeforeCause(ctx: SourceContext, synced: Synced): Promise<KnownGoodSource> {
  const kind = 'git-before-cause';
  const label = 'Git at the last commit before the cause';
  const git = ctx.git;
  if (!git || git.list.length === 0) return unavailable(kind, label, NO_GIT);
  const before = beforeCause(ctx);
  if ('reason' in before) return unavailable(kind, label, before.reason);
  const missing = missingHeads(git, synced);
  if (missing) return unavailable(kind, label, missing);
  const at = new Date(before.atMs).toISOString();
  const revisions: GitRevision[] = [];
  for (const repo of git.list) {
    const name = repo.config.name;
    try {
      const commit = await repo.commitAt(at);
      if (!commit) return unavailable(kind, label, `${name} has no commit before the cause (${clockTime(before.causeAt, before.causeAt)}): its history starts later`);
      revisions.push({ repository: name, commit, committedAt: await commitTime(repo, commit) });
    } catch (error) {
      return unavailable(kind, label, `${name}: its history cannot be read (${(error as Error).message})`);
    }
  }
  const caveat = fetchCaveat(synced);
  return { kind, label: beforeCauseGitLabel(revisions, before.causeAt), available: true, ...(caveat ? { caveat } : {}), ...gitFields(revisions), at };
}

async function journalBeforeCause(ctx: SourceContext, scope: ReadonlySet<string>): Promise<KnownGoodSource> {
  const kind = 'journal-before-cause';
  const before = beforeCause(ctx);
  const label = 'causeAt' in before ? journalLabel(before.causeAt) : "The journal's snapshot just before the cause";
  if (!ctx.journal) return unavailable(kind, label, 'no change journal is configured: nothing recorded how the policies were');
  if ('reason' in before) return unavailable(kind, label, before.reason);
  const coverage = await journalCoverage(ctx.journal, scope, before.atMs);
  if (!coverage.known) return unavailable(kind, label, coverage.reason);
  return { kind, label, available: true, at: new Date(before.atMs).toISOString() };
}

async function gitHead(ctx: SourceContext, synced: Synced): Promise<KnownGoodSource> {
  const kind = 'git-head';
  const git = ctx.git;
  const branches = [...new Set((git?.list ?? []).map((r) => r.config.branch))];
  const label = `Git HEAD of ${branches.length === 1 ? branches[0] : 'the tracked branches'}`;
  if (!git || git.list.length === 0) return unavailable(kind, 'Git HEAD of the tracked branch', NO_GIT);
  const missing = missingHeads(git, synced);
  if (missing) return unavailable(kind, label, missing);
  const revisions = await Promise.all(git.list.map(async (repo) => ({ repository: repo.config.name, commit: repo.head() as string, committedAt: await commitTime(repo, repo.head() as string) })));
  const caveat = fetchCaveat(synced);
  const branchOf = new Map(git.list.map((r) => [r.config.name, r.config.branch]));
  return { kind, label: headLabel(revisions, branchOf), available: true, ...(caveat ? { caveat } : {}), ...gitFields(revisions) };
}

function typedOption(ctx: SourceContext): KnownGoodSource {
  if (!ctx.git || ctx.git.list.length === 0) return unavailable('git-revision', TYPED_LABEL, NO_GIT);
  return { kind: 'git-revision', label: TYPED_LABEL, available: true, needsInput: true };
}

/**
 * The four sources in the issue's order, each available or not with the reason. The default is
 * `defaultOption`: the first available one that needs no typing.
 */
export async function knownGoodOptions(ctx: SourceContext): Promise<KnownGoodSource[]> {
  const scope = checkScope(ctx.namespaces);
  const synced: Synced = ctx.git && ctx.fetch !== false ? await syncAll(ctx.git) : new Map();
  return Promise.all([
    orUnavailable('git-before-cause', 'Git at the last commit before the cause', gitBeforeCause(ctx, synced)),
    orUnavailable('journal-before-cause', "The journal's snapshot just before the cause", journalBeforeCause(ctx, scope)),
    orUnavailable('git-head', 'Git HEAD of the tracked branch', gitHead(ctx, synced)),
    typedOption(ctx),
  ]);
}

/** A source that could not even be examined (git or Redis failing) is offered as unavailable, with the error. */
async function orUnavailable(kind: KnownGoodSource['kind'], label: string, examined: Promise<KnownGoodSource>): Promise<KnownGoodSource> {
  try {
    return await examined;
  } catch (error) {
    return unavailable(kind, label, `it cannot be examined: ${(error as Error).message}`);
  }
}

export function defaultOption(options: KnownGoodSource[]): KnownGoodSource | undefined {
  return options.find((o) => o.available && !o.needsInput);
}

/** Picks the repository the typed text is about: named, the only one, or the one whose clone holds the sha. */
async function pickRepository(git: PolicyRepositories, named: string | undefined, revision: RevisionText): Promise<PolicyRepository | string> {
  const names = git.list.map((r) => r.config.name).join(', ');
  if (named !== undefined) return git.get(named) ?? `no repository is named ${named} (configured: ${names})`;
  if (git.list.length === 1) return git.list[0] as PolicyRepository;
  if (revision.kind === 'sha') {
    const holding = (await Promise.all(git.list.map(async (r) => ((await hasCommit(r, revision.sha)) ? r : undefined)))).filter((r): r is PolicyRepository => r !== undefined);
    if (holding.length === 1) return holding[0] as PolicyRepository;
    if (holding.length === 0) return `no clone holds commit ${revision.sha} (configured: ${names}): type <repository>:<sha or tag> to look for it on that repository's remote`;
  }
  return `several repositories are configured: type <repository>:<sha or tag> (configured: ${names})`;
}

/** Option 4: what the responder typed, as a source (unavailable with a clear reason for anything unusable; nothing runs for bad text). */
export async function resolveRevision(ctx: SourceContext, text: string): Promise<KnownGoodSource> {
  const kind = 'git-revision';
  const checked = checkRevisionText(text);
  if (!checked.ok) return unavailable(kind, TYPED_LABEL, checked.error);
  const typed = `${checked.repository ? `${checked.repository}:` : ''}${checked.revision.kind === 'sha' ? checked.revision.sha : checked.revision.name}`;
  const label = `Git ${typed}`;
  const git = ctx.git;
  if (!git || git.list.length === 0) return unavailable(kind, label, NO_GIT);
  const repo = await pickRepository(git, checked.repository, checked.revision);
  if (typeof repo === 'string') return { ...unavailable(kind, label, repo), typed };
  const resolved = await resolveIn(repo, checked.revision, { ...(ctx.authIo ? { authIo: ctx.authIo } : {}), ...(ctx.fetchTimeoutMs ? { fetchTimeoutMs: ctx.fetchTimeoutMs } : {}) });
  if (!resolved.ok) return { ...unavailable(kind, label, resolved.error), typed };
  // The other repositories stay at their head: the known-good state is always every repository's policies.
  const others = git.list.filter((r) => r !== repo);
  const missing = others.filter((r) => r.head() === undefined).map((r) => r.config.name);
  if (missing.length > 0) return { ...unavailable(kind, label, `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not cloned yet: the other repositories' policies are unknown`), typed };
  const chosen: GitRevision = { repository: repo.config.name, commit: resolved.commit, committedAt: resolved.committedAt };
  const rest: GitRevision[] = await Promise.all(others.map(async (r) => ({ repository: r.config.name, commit: r.head() as string, committedAt: await commitTime(r, r.head() as string) })));
  const revisions = git.list.map((r) => (r === repo ? chosen : (rest.find((o) => o.repository === r.config.name) as GitRevision)));
  return { kind, label: typedLabel(chosen, resolved.via, resolved.name, rest), available: true, ...gitFields(revisions), typed };
}

async function loadGit(source: KnownGoodSource, git: PolicyRepositories | undefined, scope: ReadonlySet<string>): Promise<KnownGoodState> {
  const revisions = source.revisions ?? [];
  if (!git || revisions.length === 0) throw new RestoreSourceError(`${source.label}: ${git ? 'names no commit' : NO_GIT}`);
  const states: DesiredState[] = [];
  for (const revision of revisions) {
    const repo = git.get(revision.repository);
    if (!repo) throw new RestoreSourceError(`${source.label}: the repository ${revision.repository} is no longer configured`);
    let state: DesiredState | undefined;
    try {
      state = await repo.desiredState(revision.commit);
    } catch (error) {
      throw new RestoreSourceError(`${source.label}: ${revision.repository}@${revision.commit.slice(0, 12)} cannot be rendered: ${(error as Error).message}`);
    }
    if (!state) throw new RestoreSourceError(`${source.label}: commit ${revision.commit.slice(0, 12)} is not in the clone of ${revision.repository}`);
    states.push(state);
  }
  const merged = mergeStates(states);
  const problems = merged.problems.map((p) => `${p.repository}: ${p.message}`);
  const objects = merged.objects
    .filter((o) => inScope(o.namespace, scope))
    .map((o) => ({ kind: o.kind, ...(o.namespace !== undefined ? { namespace: o.namespace } : {}), name: o.name, object: o.object, source: o.source }));
  return { source, objects, problems, complete: problems.length === 0, unknown: [] };
}

/** The scope's policies as a source holds them. Throws a RestoreSourceError when the source cannot be read at all. */
export async function loadKnownGood(source: KnownGoodSource, ctx: SourceContext): Promise<KnownGoodState> {
  if (!source.available) throw new RestoreSourceError(`${source.label} is not available: ${source.reason ?? 'no reason given'}`);
  if (source.needsInput) throw new RestoreSourceError('type a commit sha or a tag first: resolveRevision turns it into a source');
  const scope = checkScope(ctx.namespaces);
  if (source.kind !== 'journal-before-cause') return loadGit(source, ctx.git, scope);
  const atMs = msOf(source.at);
  if (!ctx.journal || atMs === undefined) throw new RestoreSourceError(`${source.label}: ${ctx.journal ? 'names no time' : 'no change journal is configured'}`);
  const coverage = await journalCoverage(ctx.journal, scope, atMs);
  if (!coverage.known) throw new RestoreSourceError(`${source.label} is no longer available: ${coverage.reason}`);
  const snapshot = await journalSnapshot(ctx.journal, scope, atMs);
  const partial = snapshot.unknown.length > 0 ? `partial: the journal cannot tell ${snapshot.unknown.length} object${snapshot.unknown.length === 1 ? '' : 's'}, left out of the restore` : undefined;
  return {
    source: partial ? { ...source, caveat: partial } : source,
    objects: snapshot.objects,
    problems: snapshot.problems,
    complete: snapshot.unknown.length === 0 && snapshot.problems.length === 0,
    unknown: snapshot.unknown,
  };
}
