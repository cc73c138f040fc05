// Reading a commit's tree and blobs from the bare clone with git's plumbing. Nothing is checked
// out, so a symlink in the repository is only a blob holding its target: it can never make the
// bot read a file outside the clone.
import { runGit } from './exec.js';

export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  /** Blob size in bytes (undefined for trees and submodules). */
  size?: number;
  path: string;
}

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Parses `git ls-tree -r -z --long` output. */
export function parseLsTree(output: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const record of output.toString('utf8').split('\u0000')) {
    if (record === '') continue;
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const [mode, type, oid, size] = record.slice(0, tab).split(/ +/);
    if (!mode || !type || !oid || !OID.test(oid)) continue;
    entries.push({ mode, type, oid, ...(size && size !== '-' ? { size: Number(size) } : {}), path: record.slice(tab + 1) });
  }
  return entries;
}

export async function listTree(repoDir: string, commit: string, paths: string[], timeoutMs: number): Promise<TreeEntry[]> {
  // An empty path means the whole tree; git wants no pathspec for that.
  const specs = paths.includes('') ? [] : paths;
  // After --end-of-options every word is a tree or a path (a "--" would be a path too).
  const { stdout } = await runGit(['ls-tree', '-r', '-z', '--long', '--end-of-options', commit, ...specs], { cwd: repoDir, timeoutMs, maxOutputBytes: 256 * 1024 * 1024 });
  return parseLsTree(stdout);
}

/** Parses `git cat-file --batch` output into oid → content (missing objects are left out). */
export function parseBatch(output: Buffer): Map<string, Buffer> {
  const blobs = new Map<string, Buffer>();
  let pos = 0;
  while (pos < output.length) {
    const newline = output.indexOf(0x0a, pos);
    if (newline < 0) break;
    const header = output.subarray(pos, newline).toString('utf8').split(' ');
    pos = newline + 1;
    if (header.length !== 3) continue; // "<oid> missing"
    const size = Number(header[2]);
    if (!Number.isSafeInteger(size) || size < 0 || pos + size > output.length) break;
    blobs.set(header[0] as string, output.subarray(pos, pos + size));
    pos += size + 1;
  }
  return blobs;
}

/** Reads many blobs in one git process; `expectedBytes` bounds what git may print. */
export async function readBlobs(repoDir: string, oids: string[], expectedBytes: number, timeoutMs: number): Promise<Map<string, Buffer>> {
  if (oids.length === 0) return new Map();
  const valid = oids.filter((oid) => OID.test(oid));
  const { stdout } = await runGit(['cat-file', '--batch'], {
    cwd: repoDir,
    input: `${valid.join('\n')}\n`,
    timeoutMs,
    maxOutputBytes: expectedBytes + valid.length * 100 + 1024,
  });
  return parseBatch(stdout);
}

/** The commit a revision names in the clone, or undefined (unknown, or not a commit). */
export async function resolveCommit(repoDir: string, rev: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const { stdout } = await runGit(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { cwd: repoDir, timeoutMs, maxOutputBytes: 1024 });
    const sha = stdout.toString('utf8').trim();
    return OID.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads `<commit>:<path>` blobs in one git process, in input order (undefined: no such file at
 * that commit, or larger than `maxEach`). Paths must not hold a newline (the batch protocol's separator).
 */
export async function readRevisions(repoDir: string, revs: string[], maxEach: number, timeoutMs: number): Promise<Array<Buffer | undefined>> {
  if (revs.length === 0) return [];
  if (revs.some((rev) => /[\r\n]/.test(rev))) throw new Error('a revision with a line break cannot be read in a batch');
  const { stdout } = await runGit(['cat-file', '--batch'], {
    cwd: repoDir,
    input: `${revs.join('\n')}\n`,
    timeoutMs,
    maxOutputBytes: revs.length * (maxEach + 200) + 1024,
  });
  const out: Array<Buffer | undefined> = [];
  let pos = 0;
  for (let i = 0; i < revs.length && pos < stdout.length; i++) {
    const newline = stdout.indexOf(0x0a, pos);
    if (newline < 0) break;
    const header = stdout.subarray(pos, newline).toString('utf8');
    pos = newline + 1;
    const m = /^[0-9a-f]{40,64} (\w+) (\d+)$/.exec(header);
    if (!m) {
      out.push(undefined); // "<rev> missing" or "ambiguous"
      continue;
    }
    const size = Number(m[2]);
    if (pos + size > stdout.length) break;
    out.push(m[1] === 'blob' && size <= maxEach ? stdout.subarray(pos, pos + size) : undefined);
    pos += size + 1;
  }
  while (out.length < revs.length) out.push(undefined);
  return out;
}

/** Items (blobs with their sizes) in groups of at most `maxItems` and `maxBytes`: one `cat-file --batch` call each, its output bounded. */
export function* batches<T extends { size: number }>(items: T[], maxItems: number, maxBytes: number): Generator<T[]> {
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (batch.length > 0 && (batch.length >= maxItems || bytes + item.size > maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += item.size;
  }
  if (batch.length > 0) yield batch;
}
