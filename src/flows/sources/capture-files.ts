// The files behind the capture paths given to `replay`: a file stands for itself, "-" for
// standard input, a directory for its capture files in name order. Hubble's flow exporter rotates
// `events.log` into `events-<timestamp>.log`, and those names sort before `events.log`, so a
// directory of them replays oldest first.
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

export const CAPTURE_EXTENSIONS = ['.json', '.jsonl', '.log'] as const;
export const STDIN_PATH = '-';

export type CaptureListing =
  | { ok: true; files: string[] }
  /** `code` is an errno code (ENOENT, EACCES…) or EMPTYDIR for a directory without capture files. */
  | { ok: false; path: string; code: string };

async function filesOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => !e.name.startsWith('.') && (CAPTURE_EXTENSIONS as readonly string[]).includes(extname(e.name).toLowerCase()))
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => join(dir, name));
}

/** Expands the paths in order; the first one that cannot be read stops the listing. */
export async function listCaptures(paths: readonly string[]): Promise<CaptureListing> {
  const files: string[] = [];
  for (const path of paths) {
    if (path === STDIN_PATH) {
      files.push(path);
      continue;
    }
    try {
      if (!(await stat(path)).isDirectory()) {
        files.push(path);
        continue;
      }
      const inside = await filesOf(path);
      if (inside.length === 0) return { ok: false, path, code: 'EMPTYDIR' };
      files.push(...inside);
    } catch (error) {
      return { ok: false, path, code: (error as NodeJS.ErrnoException).code ?? String(error) };
    }
  }
  return { ok: true, files };
}
