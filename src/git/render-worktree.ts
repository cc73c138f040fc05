// A commit's tree written out of the bare clone into a private directory, for the tools that read
// files (kustomize, helm). Git writes it through a temporary index (no work tree, hooks or
// filters of the clone are involved). Files over the size limit are left out, and symbolic links
// that resolve outside the directory are removed before any tool runs, so a build cannot read
// the host's files through them (kustomize's load restrictor is a second line).
import { lstatSync, mkdirSync, realpathSync, unlinkSync } from 'node:fs';
import { join, sep } from 'node:path';
import { runGit } from './exec.js';
import { listTree } from './objects.js';

export interface WorktreeLimits {
  maxFileBytes: number;
  /** More files than this, or more bytes in all: not written at all. */
  maxFiles: number;
  maxTotalBytes: number;
  timeoutMs: number;
}

export type Worktree = { ok: true; tree: string; skipped: Array<{ path: string; reason: string }> } | { ok: false; error: string };

/** Writes the commit's tree to `<workDir>/tree` (workDir must be private and empty). */
export async function writeWorktree(repoDir: string, commit: string, workDir: string, limits: WorktreeLimits): Promise<Worktree> {
  const entries = (await listTree(repoDir, commit, [''], limits.timeoutMs)).filter((e) => e.type === 'blob');
  const skipped: Array<{ path: string; reason: string }> = [];
  const wanted = entries.filter((e) => {
    if ((e.size ?? 0) <= limits.maxFileBytes) return true;
    skipped.push({ path: e.path, reason: `larger than ${limits.maxFileBytes} bytes (${e.size} bytes): not given to the build` });
    return false;
  });
  const total = wanted.reduce((n, e) => n + (e.size ?? 0), 0);
  if (wanted.length > limits.maxFiles || total > limits.maxTotalBytes) {
    return { ok: false, error: `the commit holds ${wanted.length} files, ${total} bytes: more than the ${limits.maxFiles} files or ${limits.maxTotalBytes} bytes written out for a build` };
  }
  const tree = join(workDir, 'tree');
  mkdirSync(tree, { recursive: true, mode: 0o700 });
  const env = { GIT_INDEX_FILE: join(workDir, 'index') };
  await runGit(['read-tree', '--end-of-options', commit], { cwd: repoDir, env, timeoutMs: limits.timeoutMs });
  if (wanted.length > 0) {
    await runGit(['checkout-index', '-z', '--stdin'], {
      cwd: repoDir,
      env,
      globalArgs: [`--work-tree=${tree}`],
      input: `${wanted.map((e) => e.path).join('\u0000')}\u0000`,
      timeoutMs: limits.timeoutMs,
      maxOutputBytes: 1024 * 1024,
    });
  }
  skipped.push(...removeEscapingLinks(tree, wanted.filter((e) => e.mode === '120000').map((e) => e.path)));
  return { ok: true, tree, skipped };
}

/** Removes the links that lead outside `tree` or nowhere; says which led outside. */
function removeEscapingLinks(tree: string, links: string[]): Array<{ path: string; reason: string }> {
  const root = realpathSync(tree);
  const out: Array<{ path: string; reason: string }> = [];
  for (const link of links) {
    const file = join(tree, link);
    let target: string | undefined;
    try {
      if (!lstatSync(file).isSymbolicLink()) continue;
      target = realpathSync(file);
    } catch {
      target = undefined; // dangling, or a loop
    }
    if (target !== undefined && (target === root || target.startsWith(root + sep))) continue;
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
    if (target !== undefined) out.push({ path: link, reason: 'a symbolic link leading outside the repository: removed before the build' });
  }
  return out;
}
