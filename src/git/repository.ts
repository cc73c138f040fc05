// One policy repository: a bare clone fetched on an interval and on demand, and the questions the
// trace step asks of it. A bare clone because nothing is ever checked out (no symlink can lead
// outside it, no filter or hook runs) and every read names its commit. Remote trouble never
// throws: sync() says what went wrong and the last good clone keeps serving.
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { authPlan, type AuthIo, fsAuthIo } from './auth.js';
import { CommitIndexer, Lru } from './commit-index.js';
import { DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_FILE_BYTES, normaliseRepoPath, type GitRepositoryConfig } from './config-schema.js';
import { describeGitFailure, scrub } from './errors.js';
import { GitExecError, runGit } from './exec.js';
import { locateIn, pickDeclared, type CommitIndex, type Location, type ObjectKey } from './locate.js';
import { followChain, LOG_FORMAT, parseLog, type GitCommit } from './log.js';
import { manifestObjects } from './manifests.js';
import { readBlobs, readRevisions, resolveCommit } from './objects.js';
import { renderDesiredState, type DesiredState } from './render.js';
import { RenderCache } from './render-cache.js';
import { commitWebUrl, redactUrl } from './url.js';

export type SyncResult = { ok: true; head: string; changed: boolean } | { ok: false; error: string; head?: string };

export interface RepositorySettings {
  /** Parent directory of the clones (git.dir). */
  dir: string;
  maxFileBytes?: number;
  maxFiles?: number;
  fetchTimeoutMs?: number;
  /** Timeout of local reads (ls-tree, cat-file, log). */
  readTimeoutMs?: number;
  logger?: Logger;
  /** File access for secrets (tests replace it). */
  authIo?: AuthIo;
  /** Where kubectl, kustomize and helm are looked for when rendering (default: the process's PATH). */
  toolPath?: string;
  toolTimeoutMs?: number; // one kustomize build or helm template run
  /** Parent of the temporary directories a render writes a commit's tree to (default: `dir`, writable where /tmp may not be). */
  workDir?: string;
}

export interface RepositoryStatus {
  name: string;
  url: string;
  branch: string;
  head?: string;
  lastSync?: { at: string; ok: boolean; error?: string };
  lastSuccessAt?: string;
}

/** The states of one object along a file's history, newest first, for classifyChange. */
export interface ObjectTrail {
  /** The file that declares the object at head, or the one a commit of the window deleted (absent: never declared in the window). */
  location?: Location;
  /** The commit that deleted that file, when head no longer declares the object. */
  deletedIn?: string;
  commits: Array<{ commit: GitCommit; object: Record<string, unknown> | undefined }>;
  /** The newest commit before the window that touched the file, and the object there. */
  before?: { commit: GitCommit; object: Record<string, unknown> | undefined };
}

const SHA = /^[0-9a-f]{4,64}$/;
/** Rendered commits kept: head, the one before it, and a few an incident looked at. */
const RENDER_CACHE_ENTRIES = 4;

export class PolicyRepository {
  readonly clonePath: string;
  private readonly indexer: CommitIndexer;
  /** Renders by commit; a render in progress is shared by every caller asking for its commit. */
  private readonly renders = new Lru<string, Promise<DesiredState>>(RENDER_CACHE_ENTRIES);
  /** Plain files parsed by earlier renders, by blob: a new commit parses only the files it changed. */
  readonly renderCache = new RenderCache();
  private readonly logger: Logger;
  private readonly fetchTimeoutMs: number;
  private readonly readTimeoutMs: number;
  private readonly ref: string;
  private headSha: string | undefined;
  private inflight: Promise<SyncResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSync: RepositoryStatus['lastSync'];
  private lastSuccessAt: string | undefined;

  constructor(
    readonly config: GitRepositoryConfig,
    private readonly settings: RepositorySettings,
  ) {
    // The url is part of the directory name: pointing the config at another remote starts a fresh clone.
    const urlHash = createHash('sha256').update(`${config.url}\n${config.branch}`).digest('hex').slice(0, 10);
    this.clonePath = join(settings.dir, `${config.name}-${urlHash}.git`);
    this.ref = `refs/remotes/origin/${config.branch}`;
    this.logger = (settings.logger ?? silentLogger).child({ component: 'git', repository: config.name });
    this.fetchTimeoutMs = settings.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    this.readTimeoutMs = settings.readTimeoutMs ?? 30_000;
    this.indexer = new CommitIndexer(this.clonePath, config.paths.map(normaliseRepoPath), {
      maxFileBytes: settings.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      maxFiles: settings.maxFiles ?? 50_000,
      timeoutMs: this.readTimeoutMs,
    });
  }

  /** Syncs now, then every fetchInterval (the timer does not keep the process alive). */
  start(): Promise<SyncResult> {
    if (!this.timer) {
      this.timer = setInterval(() => void this.sync(), this.config.fetchInterval);
      this.timer.unref();
    }
    return this.sync();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The commit the branch pointed at after the last good fetch. */
  head(): string | undefined {
    return this.headSha;
  }

  status(): RepositoryStatus {
    return {
      name: this.config.name,
      url: redactUrl(this.config.url),
      branch: this.config.branch,
      ...(this.headSha ? { head: this.headSha } : {}),
      ...(this.lastSync ? { lastSync: this.lastSync } : {}),
      ...(this.lastSuccessAt ? { lastSuccessAt: this.lastSuccessAt } : {}),
    };
  }

  /** Clone or fetch. One at a time: a call while one runs gets that one's result. */
  sync(): Promise<SyncResult> {
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetch(): Promise<SyncResult> {
    const prepared = this.prepare();
    const result = prepared ?? (await this.fetchRemote());
    if (!result.ok && this.headSha === undefined && existsSync(this.clonePath)) {
      // A clone left by an earlier run still serves while the remote is unreachable.
      this.headSha = await resolveCommit(this.clonePath, this.ref, this.readTimeoutMs);
      if (this.headSha) result.head = this.headSha;
    }
    const at = new Date().toISOString();
    this.lastSync = { at, ok: result.ok, ...(result.ok ? {} : { error: result.error }) };
    if (result.ok) {
      this.lastSuccessAt = at;
      if (result.changed) this.logger.info({ head: result.head }, 'policy repository updated');
    } else {
      this.logger.warn({ error: result.error, head: this.headSha }, 'policy repository fetch failed; the last good clone keeps serving');
    }
    return result;
  }

  /** Creates the clone directory when needed; a reason when that is impossible. */
  private prepare(): SyncResult | undefined {
    try {
      mkdirSync(this.settings.dir, { recursive: true, mode: 0o700 });
      accessSync(this.settings.dir, constants.W_OK);
    } catch (error) {
      return { ok: false, error: `git.dir ${this.settings.dir} is not a writable directory: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
    }
    return undefined;
  }

  private async fetchRemote(): Promise<SyncResult> {
    const { url, branch } = this.config;
    const plan = authPlan(this.config, this.settings.authIo ?? fsAuthIo);
    if ('error' in plan) return { ok: false, error: `${redactUrl(url)}: ${plan.error}`, ...(this.headSha ? { head: this.headSha } : {}) };
    try {
      if (!existsSync(join(this.clonePath, 'HEAD'))) {
        await runGit(['init', '--quiet', '--bare', this.clonePath], { timeoutMs: this.readTimeoutMs });
      }
      // "+": a force-pushed branch replaces ours (the local ref follows the remote).
      await runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-auto-gc', '--end-of-options', url, `+refs/heads/${branch}:${this.ref}`], {
        cwd: this.clonePath,
        globalArgs: plan.globalArgs,
        env: plan.env,
        timeoutMs: this.fetchTimeoutMs,
        maxOutputBytes: 1024 * 1024,
      });
    } catch (error) {
      const reason = error instanceof GitExecError ? describeGitFailure(error, { url, branch, secrets: plan.secrets }) : scrub((error as Error).message, plan.secrets);
      return { ok: false, error: reason, ...(this.headSha ? { head: this.headSha } : {}) };
    }
    const head = await resolveCommit(this.clonePath, this.ref, this.readTimeoutMs);
    if (!head) return { ok: false, error: `${redactUrl(url)}: branch ${branch} was fetched but cannot be read from the clone` };
    const changed = head !== this.headSha;
    this.headSha = head;
    if (changed) await this.compact();
    return { ok: true, head, changed };
  }

  /** Packs loose objects now and then; a failure only costs disk space. */
  private async compact(): Promise<void> {
    try {
      await runGit(['-c', 'gc.autoDetach=false', 'gc', '--auto', '--quiet'], { cwd: this.clonePath, timeoutMs: this.fetchTimeoutMs });
    } catch (error) {
      this.logger.debug({ error: (error as Error).message }, 'git gc --auto failed');
    }
  }

  /** The head, or the one the first sync is about to produce. */
  private async currentHead(): Promise<string | undefined> {
    if (this.headSha === undefined && this.inflight) await this.inflight;
    return this.headSha;
  }

  private async commitOf(at: string | undefined): Promise<string | undefined> {
    if (at === undefined) return this.currentHead();
    if (!SHA.test(at) || !existsSync(this.clonePath)) return undefined;
    return resolveCommit(this.clonePath, at, this.readTimeoutMs);
  }

  /** The index of a commit (default: head): which file declares what, and what was skipped. */
  async index(at?: string): Promise<CommitIndex | undefined> {
    const commit = await this.commitOf(at);
    return commit ? this.indexer.index(commit) : undefined;
  }

  /** The desired policies at a commit (default: head; undefined: unknown, or nothing cloned yet). Rendered once per commit: the same commit gives the same object. */
  async desiredState(at?: string): Promise<DesiredState | undefined> {
    const commit = await this.commitOf(at);
    if (!commit) return undefined;
    const cached = this.renders.get(commit);
    if (cached) return cached;
    const rendering = renderDesiredState({
      repository: this.config.name,
      repoDir: this.clonePath,
      commit,
      paths: this.config.paths.map(normaliseRepoPath),
      helm: this.config.helm ?? [],
      maxFileBytes: this.settings.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      maxFiles: this.settings.maxFiles ?? 50_000,
      readTimeoutMs: this.readTimeoutMs,
      ...(this.settings.toolTimeoutMs ? { toolTimeoutMs: this.settings.toolTimeoutMs } : {}),
      ...(this.settings.toolPath !== undefined ? { toolPath: this.settings.toolPath } : {}),
      workRoot: this.settings.workDir ?? this.settings.dir,
      cache: this.renderCache,
    });
    this.renders.set(commit, rendering);
    // A failed render (git could not be read) is not kept: the next call tries again.
    rendering.catch(() => this.renders.delete(commit));
    return rendering;
  }

  /** The file that declares a live object at a commit (default: head). */
  async locate(obj: ObjectKey, at?: string): Promise<Location | undefined> {
    const index = await this.index(at);
    return index ? locateIn(index, obj) : undefined;
  }

  /** The object as a commit declares it (parsed), or undefined when it does not. */
  async objectAt(obj: ObjectKey, sha: string): Promise<Record<string, unknown> | undefined> {
    const index = await this.index(sha);
    if (!index) return undefined;
    const location = locateIn(index, obj);
    const file = location ? index.files.get(location.path) : undefined;
    if (!location || !file) return undefined;
    const blob = (await readBlobs(this.clonePath, [file.oid], this.settings.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES, this.readTimeoutMs)).get(file.oid);
    if (!blob) return undefined;
    const found = manifestObjects(blob.toString('utf8'), file.path).objects.find((o) => o.document === location.document && o.item === location.item);
    return found?.object;
  }

  /** Commits of the branch that touched the file between since and until (renames followed), newest first. */
  async commitsTouching(path: string, since: string, until?: string): Promise<GitCommit[]> {
    const sinceIso = isoOf(since, 'since');
    // `until` is applied here, not by git: git would drop the later commits before following a rename in them.
    const untilMs = until === undefined ? Infinity : Date.parse(isoOf(until, 'until'));
    const commits = await this.log(path, [`--since=${sinceIso}`]);
    return commits.filter((c) => Date.parse(c.time) <= untilMs);
  }

  /** The last `limit` commits that touched the file (renames followed), newest first. */
  async history(path: string, options: { limit?: number } = {}): Promise<GitCommit[]> {
    const limit = Math.max(1, Math.min(options.limit ?? 20, 1000));
    return this.log(path, [`--max-count=${limit}`]);
  }

  /** The branch's commit at a time: the newest one committed at or before it. */
  async commitAt(time: string): Promise<string | undefined> {
    const head = await this.currentHead();
    if (!head) return undefined;
    const { stdout } = await runGit(['rev-list', '--max-count=1', `--before=${isoOf(time, 'time')}`, '--end-of-options', head], {
      cwd: this.clonePath,
      timeoutMs: this.readTimeoutMs,
      maxOutputBytes: 1024,
    });
    const sha = stdout.toString('utf8').trim();
    return sha === '' ? undefined : sha;
  }

  /**
   * The object along its file's history: each commit in the window with the object it declared,
   * and the last commit before the window that touched it. What classifyChange takes.
   */
  async trail(obj: ObjectKey, since: string, until?: string): Promise<ObjectTrail> {
    const atHead = await this.locate(obj);
    const deleted = atHead ? undefined : await this.lastDeclared(obj, since);
    const location = atHead ?? deleted?.location;
    if (!location) return { commits: [] };
    const commits = await this.objectsAlong(obj, await this.commitsTouching(location.path, since, until));
    const before = await this.stateBefore(obj, since);
    return { location, ...(deleted ? { deletedIn: deleted.commit } : {}), commits, ...(before ? { before } : {}) };
  }

  /**
   * Where an object head no longer declares was last declared: a file that a commit since `since`
   * deleted (newest first, at most 50 such commits) and that declared it just before.
   */
  private async lastDeclared(obj: ObjectKey, since: string): Promise<{ location: Location; commit: string } | undefined> {
    const head = await this.currentHead();
    if (!head) return undefined;
    const specs = this.config.paths.map(normaliseRepoPath).filter((p) => p !== '');
    const { stdout } = await runGit(['log', '--diff-filter=D', '-z', '--name-only', '--format=%x1e%H', '--max-count=50', `--since=${isoOf(since, 'since')}`, '--end-of-options', head, '--', ...specs], {
      cwd: this.clonePath,
      env: { GIT_LITERAL_PATHSPECS: '1' },
      timeoutMs: this.readTimeoutMs,
      maxOutputBytes: 16 * 1024 * 1024,
    });
    for (const record of stdout.toString('utf8').split('\u001e').slice(1)) {
      const [sha, ...paths] = record.split('\u0000').map((t) => t.replace(/^\n/, ''));
      const parent = sha ? await resolveCommit(this.clonePath, `${sha}^`, this.readTimeoutMs) : undefined;
      if (!sha || !parent) continue;
      const location = locateIn(await this.indexer.index(parent), obj);
      if (location && paths.includes(location.path)) return { location, commit: sha };
    }
    return undefined;
  }

  /**
   * The object at each of these commits (from commitsTouching): the file each commit names is
   * read in one batch; an object not found there (the file deleted, or the object moved to another
   * file) is looked up in the commit's index.
   */
  async objectsAlong(obj: ObjectKey, commits: GitCommit[]): Promise<Array<{ commit: GitCommit; object: Record<string, unknown> | undefined }>> {
    const maxEach = this.settings.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    const readable = commits.filter((c) => c.change !== 'deleted' && c.path !== undefined && !/[\r\n]/.test(c.path));
    let blobs: Array<Buffer | undefined> = [];
    try {
      blobs = await readRevisions(this.clonePath, readable.map((c) => `${c.sha}:${c.path}`), maxEach, this.readTimeoutMs);
    } catch (error) {
      if (!(error instanceof GitExecError)) throw error;
      this.logger.debug({ error: error.message }, 'batch read failed; reading commit by commit');
    }
    const fromFile = new Map(readable.map((c, i) => [c.sha, blobs[i]]));
    return Promise.all(
      commits.map(async (commit) => {
        const blob = fromFile.get(commit.sha);
        const found = blob && commit.path ? pickDeclared(obj, manifestObjects(blob.toString('utf8'), commit.path).objects) : undefined;
        return { commit, object: found ?? (await this.objectAt(obj, commit.sha)) };
      }),
    );
  }

  /** The commit that last touched the object's file before `time` (its path then may differ), and the object there. */
  private async stateBefore(obj: ObjectKey, time: string): Promise<ObjectTrail['before']> {
    const then = await this.commitAt(new Date(Date.parse(isoOf(time, 'since')) - 1000).toISOString());
    const location = then ? await this.locate(obj, then) : undefined;
    if (!then || !location) return undefined;
    const [previous] = await this.log(location.path, ['--max-count=1'], then);
    return previous ? { commit: previous, object: await this.objectAt(obj, then) } : undefined;
  }

  private async log(path: string, extra: string[], start?: string): Promise<GitCommit[]> {
    const file = checkedPath(path);
    const from = start ?? (await this.currentHead());
    if (!from) return [];
    const { stdout } = await runGit(['log', '--follow', '-z', '--name-status', `--format=${LOG_FORMAT}`, ...extra, '--end-of-options', from, '--', file], {
      cwd: this.clonePath,
      // The path is a file name, never a glob.
      env: { GIT_LITERAL_PATHSPECS: '1' },
      timeoutMs: this.readTimeoutMs,
      maxOutputBytes: 64 * 1024 * 1024,
    });
    return followChain(parseLog(stdout)).map((commit) => {
      const url = commitWebUrl(this.config.url, commit.sha, this.config.provider);
      return url ? { ...commit, url } : commit;
    });
  }
}

function isoOf(time: string, what: string): string {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) throw new Error(`${what} is not a time: ${JSON.stringify(time).slice(0, 80)}`);
  return new Date(ms).toISOString();
}

/** A repository path as the index gives it: relative, no "..", nothing git could take as an option. */
function checkedPath(path: string): string {
  const normal = normaliseRepoPath(path);
  // eslint-disable-next-line no-control-regex
  if (normal === '' || path.startsWith('/') || normal.split('/').includes('..') || /[\x00-\x1f]/.test(normal)) {
    throw new Error(`not a file path inside the repository: ${JSON.stringify(path).slice(0, 200)}`);
  }
  return normal;
}
