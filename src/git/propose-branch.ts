// Pushes a proposal's files as a branch: one commit on top of the base branch's tip at the remote,
// built with plumbing in the repository's bare clone (hash-object, a private index file,
// write-tree, commit-tree), so the clone's refs and objects the trace step reads are untouched and
// nothing is checked out; deletions are removed from that index. The token reaches git the same
// way as for fetches (auth.ts): never in argv, a log line or a message. A re-run with the same
// files (and deletions) pushes nothing; a re-run with other files replaces the branch only when the bot made its tip, with --force-with-lease.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { authPlan, fsAuthIo, type AuthIo, type GitAuthPlan } from './auth.js';
import { ChangeProposalError, type ChangeProposalRequest } from './change-proposal.js';
import type { GitRepositoryConfig } from './config-schema.js';
import { GitExecError, runGit, type GitRunOptions } from './exec.js';
import { pushFailure } from './propose-checks.js';
import { redactUrl } from './url.js';

/** The committer of every proposal commit: how a re-run recognises the bot's own branch. */
export const PROPOSAL_COMMITTER = { name: 'netpol-responder', email: 'netpol-responder@users.noreply.invalid' } as const;

export interface ProposalBranchTarget {
  config: Pick<GitRepositoryConfig, 'name' | 'url' | 'auth'>;
  /** The repository's bare clone (PolicyRepository.clonePath); created when missing. */
  clonePath: string;
}

export interface PushedBranch {
  branch: string;
  commit: string;
  /** The base branch's name and the commit the proposal sits on. */
  base: string;
  baseCommit: string;
  /** false: the branch already held exactly these files on this base (a re-run), nothing was pushed. */
  pushed: boolean;
}

export interface PushOptions {
  baseBranch: string;
  /** Timeout of each call to the remote (default 120 s). */
  remoteTimeoutMs?: number;
  authIo?: AuthIo;
}

const LOCAL_TIMEOUT_MS = 30_000;

export async function pushProposalBranch(target: ProposalBranchTarget, request: ChangeProposalRequest, options: PushOptions): Promise<PushedBranch> {
  const { config, clonePath } = target;
  const { branch } = request;
  const base = options.baseBranch;
  // The base branch is protected here whatever the host says: a proposal is reviewed before it lands.
  if (branch === base) throw new ChangeProposalError(`branch ${branch} is the base branch: a proposal never pushes onto it; give it a branch of its own`, 'protected-branch');
  const plan = authPlan(config, options.authIo ?? fsAuthIo);
  if ('error' in plan) throw new ChangeProposalError(`${redactUrl(config.url)}: ${plan.error} (git.repositories[${config.name}].auth)`, 'auth');
  const remote = new Remote(config, clonePath, plan, branch, options.remoteTimeoutMs ?? 120_000);
  await ensureClone(clonePath);

  const heads = await remote.lsRemote([base, branch]);
  const remoteBase = heads.get(base);
  if (!remoteBase) throw new ChangeProposalError(`${redactUrl(config.url)}: the base branch ${base} does not exist on the remote`, 'not-found');
  const existing = heads.get(branch);
  // Private refs: the trace step's refs/remotes/origin/* stay exactly what its fetches made them.
  const baseRef = `refs/netpol-responder/base/${base}`;
  const headRef = `refs/netpol-responder/head/${branch}`;
  await remote.fetch([`+refs/heads/${base}:${baseRef}`, ...(existing ? [`+refs/heads/${branch}:${headRef}`] : [])]);

  const local = (args: string[], extra: GitRunOptions = {}) => runGit(args, { cwd: clonePath, timeoutMs: LOCAL_TIMEOUT_MS, ...extra });
  const tree = await buildTree(clonePath, remoteBase, request);
  const baseTree = (await local(['rev-parse', '--verify', '--end-of-options', `${remoteBase}^{tree}`])).stdout.toString('utf8').trim();
  if (tree === baseTree) throw new ChangeProposalError(`branch ${base} already holds these files exactly: there is nothing to propose`, 'conflict');

  if (existing) {
    const [existingTree, parents, committer] = (await local(['show', '-s', '--format=%T%x00%P%x00%ce', '--end-of-options', existing])).stdout.toString('utf8').trim().split('\u0000');
    if (existingTree === tree && parents === remoteBase) return { branch, commit: existing, base, baseCommit: remoteBase, pushed: false };
    if (committer !== PROPOSAL_COMMITTER.email) {
      throw new ChangeProposalError(`${redactUrl(config.url)}: branch ${branch} already exists with commits not made by the bot: it is left alone; give the proposal another branch name`, 'conflict');
    }
  }
  const author = request.author ?? PROPOSAL_COMMITTER;
  const message = `${request.title.trim()}\n\n${request.body.trim()}\n`;
  const commit = (
    await local(['commit-tree', tree, '-p', remoteBase, '-F', '-'], {
      input: message,
      env: {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: PROPOSAL_COMMITTER.name,
        GIT_COMMITTER_EMAIL: PROPOSAL_COMMITTER.email,
      },
    })
  ).stdout
    .toString('utf8')
    .trim();
  // The lease: the branch must still be what ls-remote saw (absent, or the bot's old tip).
  await remote.push(commit, existing);
  return { branch, commit, base, baseCommit: remoteBase, pushed: true };
}

/** The tree of the base commit with the files written over it, built in a private index file. */
async function buildTree(clonePath: string, baseCommit: string, request: ChangeProposalRequest): Promise<string> {
  const indexFile = join(clonePath, `netpol-propose-${randomBytes(6).toString('hex')}.index`);
  const env = { GIT_INDEX_FILE: indexFile };
  const run = (args: string[], extra: GitRunOptions = {}) => runGit(args, { cwd: clonePath, timeoutMs: LOCAL_TIMEOUT_MS, ...extra, env: { ...env, ...extra.env } });
  try {
    await run(['read-tree', '--end-of-options', baseCommit]);
    const entries: string[] = [];
    for (const file of request.files) {
      const blob = (await run(['hash-object', '-w', '--stdin'], { input: file.content })).stdout.toString('utf8').trim();
      entries.push(`100644 ${blob}\t${file.path}\u0000`);
    }
    const deleted = await deletionsOnBase(run, request.deletions ?? []);
    // Mode 0 and a null id: --index-info's way of removing a path.
    for (const path of deleted) entries.push(`0 ${'0'.repeat(40)}\t${path}\u0000`);
    await run(['update-index', '-z', '--add', '--index-info'], { input: entries.join('') });
    const tree = (await run(['write-tree'])).stdout.toString('utf8').trim();
    // --index-info replaces silently: a file where the base has a directory (or below one of its
    // files) would delete what is there. A proposal only adds and changes files.
    const changes = (await run(['diff-tree', '-r', '-z', '--no-renames', '--name-status', `${baseCommit}^{tree}`, tree])).stdout.toString('utf8').split('\u0000');
    for (let i = 0; i + 1 < changes.length; i += 2) {
      if (changes[i] === 'D' && !deleted.has(changes[i + 1] ?? '')) {
        throw new ChangeProposalError(`the files do not fit the base branch's tree: writing them would delete ${JSON.stringify((changes[i + 1] ?? '').slice(0, 200))} (a file where it has a directory, or below one of its files)`, 'invalid');
      }
    }
    return tree;
  } finally {
    rmSync(indexFile, { force: true });
    rmSync(`${indexFile}.lock`, { force: true });
  }
}

/**
 * The requested deletions the base's tree holds as files. A path it does not hold is ignored (a
 * re-run after the deletion merged proposes the same tree); a directory or a submodule is refused.
 */
async function deletionsOnBase(run: (args: string[], extra?: GitRunOptions) => Promise<{ stdout: Buffer }>, deletions: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  if (deletions.length === 0) return out;
  const listed = (await run(['ls-files', '-z', '--stage', '--', ...deletions], { env: { GIT_LITERAL_PATHSPECS: '1' } })).stdout.toString('utf8').split('\u0000');
  const modes = new Map<string, string>();
  for (const line of listed) {
    const tab = line.indexOf('\t');
    if (tab > 0) modes.set(line.slice(tab + 1), line.split(' ')[0] ?? '');
  }
  for (const path of deletions) {
    const mode = modes.get(path);
    if (mode === undefined) {
      if ([...modes.keys()].some((p) => p.startsWith(`${path}/`))) throw new ChangeProposalError(`cannot delete ${JSON.stringify(path.slice(0, 200))}: it is a directory on the base branch (a proposal deletes files only)`, 'invalid');
      continue;
    }
    if (mode === '160000') throw new ChangeProposalError(`cannot delete ${JSON.stringify(path.slice(0, 200))}: it is a submodule`, 'invalid');
    out.add(path);
  }
  return out;
}

async function ensureClone(clonePath: string): Promise<void> {
  if (existsSync(join(clonePath, 'HEAD'))) return;
  mkdirSync(dirname(clonePath), { recursive: true, mode: 0o700 });
  // Also what PolicyRepository does first: `git init` on an existing repository changes nothing.
  await runGit(['init', '--quiet', '--bare', clonePath], { timeoutMs: LOCAL_TIMEOUT_MS });
}

/** The calls to the remote, each with the auth plan and its failure as a ChangeProposalError. */
class Remote {
  constructor(
    private readonly config: ProposalBranchTarget['config'],
    private readonly clonePath: string,
    private readonly plan: GitAuthPlan,
    private readonly branch: string,
    private readonly timeoutMs: number,
  ) {}

  private async run(args: string[]): Promise<Buffer> {
    try {
      const { stdout } = await runGit(args, { cwd: this.clonePath, globalArgs: this.plan.globalArgs, env: this.plan.env, timeoutMs: this.timeoutMs, maxOutputBytes: 1024 * 1024 });
      return stdout;
    } catch (error) {
      if (error instanceof GitExecError) throw pushFailure(error, { repository: this.config.name, url: this.config.url, branch: this.branch, secrets: this.plan.secrets });
      throw error;
    }
  }

  /** The tips of these branches at the remote (absent: no such branch). */
  async lsRemote(branches: string[]): Promise<Map<string, string>> {
    const refs = branches.map((b) => `refs/heads/${b}`);
    const out = (await this.run(['ls-remote', '--heads', '--end-of-options', this.config.url, ...refs])).toString('utf8');
    const tips = new Map<string, string>();
    for (const line of out.split('\n')) {
      const [sha, ref] = line.split('\t');
      // ls-remote matches patterns by their tail: keep exact names only.
      if (sha && ref && refs.includes(ref)) tips.set(ref.slice('refs/heads/'.length), sha);
    }
    return tips;
  }

  async fetch(refspecs: string[]): Promise<void> {
    await this.run(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-auto-gc', '--end-of-options', this.config.url, ...refspecs]);
  }

  async push(commit: string, expected: string | undefined): Promise<void> {
    const ref = `refs/heads/${this.branch}`;
    await this.run(['push', '--quiet', '--porcelain', `--force-with-lease=${ref}:${expected ?? ''}`, '--end-of-options', this.config.url, `${commit}:${ref}`]);
  }
}
