// Writes Git history into a bare repository in one `git fast-import` run: authors, dates, files,
// renames, symlinks and force-pushes, as fast for 5,000 commits as for 5. The embedded
// environment's policy repository, the Git tests and the Git benchmark are built with it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGit } from '../git/exec.js';

export interface HistoryPerson {
  name: string;
  email: string;
}

export interface HistoryCommit {
  author: HistoryPerson;
  /** Defaults to the author. */
  committer?: HistoryPerson;
  /** Author and committer time. */
  time: Date | string;
  /** A later committer time (a rebase or a merge through a web UI). */
  committerTime?: Date | string;
  message: string;
  /** path → new content; null deletes the file. */
  files?: Record<string, string | Buffer | null>;
  /** [from, to]: git records a rename when the content stays (mostly) the same. */
  renames?: Array<[string, string]>;
  /** path → link target. */
  symlinks?: Record<string, string>;
}

export interface WriteOptions {
  branch?: string;
  /**
   * The parent of the first commit: a sha, 'tip' (the branch's current commit, the default) or
   * 'none' (a new root). Anything but the tip rewrites the branch, as a force-push does.
   */
  parent?: string;
}

function epoch(time: Date | string): number {
  const ms = typeof time === 'string' ? Date.parse(time) : time.getTime();
  if (Number.isNaN(ms)) throw new Error(`not a time: ${String(time)}`);
  return Math.floor(ms / 1000);
}

function ident(person: HistoryPerson, time: Date | string): string {
  return `${person.name} <${person.email}> ${epoch(time)} +0000`;
}

function data(content: string | Buffer): Buffer[] {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return [Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from('\n')];
}

function quotePath(path: string): string {
  // fast-import takes C-style quoted paths; quoting always is simplest.
  return JSON.stringify(path);
}

/** An empty bare repository whose HEAD names `branch`. */
export async function createBareRepository(dir: string, branch = 'main'): Promise<void> {
  await runGit(['init', '--quiet', '--bare', `--initial-branch=${branch}`, dir]);
}

/** The branch's commit, or undefined when it does not exist yet. */
export async function branchTip(repoDir: string, branch = 'main'): Promise<string | undefined> {
  try {
    const { stdout } = await runGit(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { cwd: repoDir });
    return stdout.toString('utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Appends commits to a branch of a bare repository; returns their shas in order. */
export async function writeHistory(repoDir: string, commits: HistoryCommit[], options: WriteOptions = {}): Promise<string[]> {
  if (commits.length === 0) return [];
  const branch = options.branch ?? 'main';
  const ref = `refs/heads/${branch}`;
  const tip = await branchTip(repoDir, branch);
  const parent = options.parent === undefined || options.parent === 'tip' ? tip : options.parent === 'none' ? undefined : options.parent;
  const rewrite = parent !== tip;
  const parts: Buffer[] = [];
  const push = (text: string): void => {
    parts.push(Buffer.from(text));
  };
  if (rewrite) push(`reset ${ref}\n${parent ? `from ${parent}\n` : ''}\n`);
  commits.forEach((commit, i) => {
    push(`commit ${ref}\nmark :${i + 1}\n`);
    push(`author ${ident(commit.author, commit.time)}\n`);
    push(`committer ${ident(commit.committer ?? commit.author, commit.committerTime ?? commit.time)}\n`);
    parts.push(...data(commit.message));
    if (i === 0 && parent && !rewrite) push(`from ${parent}\n`);
    for (const [from, to] of commit.renames ?? []) push(`R ${quotePath(from)} ${quotePath(to)}\n`);
    for (const [path, content] of Object.entries(commit.files ?? {})) {
      if (content === null) push(`D ${quotePath(path)}\n`);
      else {
        push(`M 100644 inline ${quotePath(path)}\n`);
        parts.push(...data(content));
      }
    }
    for (const [path, target] of Object.entries(commit.symlinks ?? {})) {
      push(`M 120000 inline ${quotePath(path)}\n`);
      parts.push(...data(target));
    }
    push('\n');
  });
  const marksDir = mkdtempSync(join(tmpdir(), 'netpol-git-marks-'));
  const marks = join(marksDir, 'marks');
  try {
    await runGit(['fast-import', '--quiet', ...(rewrite ? ['--force'] : []), `--export-marks=${marks}`], {
      cwd: repoDir,
      input: Buffer.concat(parts),
      timeoutMs: 300_000,
    });
    const shas = new Map<number, string>();
    for (const line of readFileSync(marks, 'utf8').split('\n')) {
      const m = /^:(\d+) ([0-9a-f]{40,64})$/.exec(line);
      if (m) shas.set(Number(m[1]), m[2] as string);
    }
    return commits.map((_, i) => shas.get(i + 1) as string);
  } finally {
    rmSync(marksDir, { recursive: true, force: true });
  }
}
