// What to render in a commit's tree (pure): the kustomizations to build, the plain manifest files
// to read, and what is left out and why. A kustomization another one includes (a base, a
// component), or one inside another's directory, is not built on its own: its objects come out
// of the outer build. Files inside a kustomization's or a chart's directory are never read plainly,
// except the files a resources-only kustomization lists (what kustomize would output unchanged).
import { posix } from 'node:path';
import type { HelmChartConfig } from './config-schema.js';
import { isKustomizationPath, isManifestPath } from './manifests.js';
import type { TreeEntry } from './objects.js';

export interface RenderLayout {
  /** Plain manifest files to read, in path order. */
  plain: Array<{ path: string; oid: string; size: number }>;
  /** Kustomization directories to build ('' is the repository root), with their kustomization file. */
  kustomize: Array<{ dir: string; file: string }>;
  /** Files left out, with the reason. */
  skipped: Array<{ path: string; reason: string }>;
}

export interface LayoutLimits {
  maxFileBytes: number;
  maxFiles: number;
}

/** The directory of a repository path, '' for the root. */
export function dirOf(path: string): string {
  const dir = posix.dirname(path);
  return dir === '.' ? '' : dir;
}

/** Whether `path` is `dir` or below it ('' holds everything). */
export function isInside(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The local directories a kustomization includes (resources, bases, components), as repository paths. */
export function includedDirs(dir: string, kustomization: unknown): string[] {
  if (!isRecord(kustomization)) return [];
  const out: string[] = [];
  for (const field of ['resources', 'bases', 'components']) {
    const list = kustomization[field];
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      if (typeof entry !== 'string' || entry === '' || entry.includes('://')) continue;
      const resolved = posix.normalize(posix.join(dir === '' ? '.' : dir, entry)).replace(/\/+$/, '');
      if (!resolved.startsWith('..') && !posix.isAbsolute(resolved)) out.push(resolved === '.' ? '' : resolved);
    }
  }
  return out;
}

/**
 * The files of a kustomization that only lists files of its own directory tree as resources (no
 * patches, generators, namespace, labels, bases…). `kustomize build` outputs those files' objects
 * unchanged, so they are read as plain files: no tool needed, and each object keeps its own file.
 * Undefined when the kustomization does anything more, or names a file the tree does not hold
 * (then the tool builds it, and says what is wrong).
 */
export function resourcesOnly(dir: string, kustomization: unknown, blobs: ReadonlySet<string>): string[] | undefined {
  if (!isRecord(kustomization)) return undefined;
  if (kustomization.kind !== undefined && kustomization.kind !== 'Kustomization') return undefined;
  if (Object.keys(kustomization).some((k) => k !== 'apiVersion' && k !== 'kind' && k !== 'resources')) return undefined;
  const list = kustomization.resources ?? [];
  if (!Array.isArray(list)) return undefined;
  const files: string[] = [];
  for (const entry of list) {
    if (typeof entry !== 'string' || entry === '' || entry.includes('://')) return undefined;
    const resolved = posix.normalize(posix.join(dir === '' ? '.' : dir, entry));
    // Outside its own directory kustomize's load restrictor refuses the file: the tool says so.
    if (!isInside(resolved, dir) || posix.isAbsolute(resolved) || !blobs.has(resolved) || !isManifestPath(resolved) || isKustomizationPath(resolved)) return undefined;
    files.push(resolved);
  }
  return files;
}

/**
 * The layout of a commit under the configured paths. `entries` is the tree under those paths;
 * `kustomizations` maps each kustomization file to its parsed content (undefined: unreadable).
 */
export function renderLayout(entries: TreeEntry[], kustomizations: Map<string, unknown>, helm: HelmChartConfig[], limits: LayoutLimits): RenderLayout {
  const skipped: RenderLayout['skipped'] = [];
  const kustomizationFiles = new Map<string, string>();
  const chartDirs = new Set<string>(helm.map((h) => h.chart));
  for (const entry of entries) {
    if (isKustomizationPath(entry.path) && !kustomizationFiles.has(dirOf(entry.path))) kustomizationFiles.set(dirOf(entry.path), entry.path);
    if (posix.basename(entry.path) === 'Chart.yaml') {
      const dir = dirOf(entry.path);
      if (!helm.some((h) => isInside(dir, h.chart))) skipped.push({ path: entry.path, reason: 'a Helm chart that the repository configuration does not name under helm: not rendered' });
      chartDirs.add(dir);
    }
  }
  const kustomizeDirs = [...kustomizationFiles.keys()];
  const included = new Set<string>();
  for (const [dir, file] of kustomizationFiles) for (const target of includedDirs(dir, kustomizations.get(file))) if (target !== dir) included.add(target);
  const blobs = new Set(entries.filter((e) => e.type === 'blob' && e.mode !== '120000').map((e) => e.path));
  const toBuild = kustomizeDirs
    .filter((dir) => !included.has(dir))
    .filter((dir) => !kustomizeDirs.some((outer) => outer !== dir && isInside(dir, outer)))
    .filter((dir) => {
      const content = kustomizations.get(kustomizationFiles.get(dir) as string);
      return !(isRecord(content) && content.kind === 'Component');
    })
    .sort();
  // Resources-only kustomizations are read as their files; the others are built.
  const listed = new Set<string>();
  const kustomize: RenderLayout['kustomize'] = [];
  for (const dir of toBuild) {
    const file = kustomizationFiles.get(dir) as string;
    const files = resourcesOnly(dir, kustomizations.get(file), blobs);
    if (files) for (const f of files) listed.add(f);
    else kustomize.push({ dir, file });
  }
  const valuesFiles = new Set(helm.flatMap((h) => h.values));
  const plain: RenderLayout['plain'] = [];
  let beyondLimit = 0;
  for (const entry of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const { path } = entry;
    if (!isManifestPath(path) || isKustomizationPath(path) || valuesFiles.has(path)) continue;
    if (!listed.has(path) && (kustomizeDirs.some((dir) => isInside(path, dir)) || [...chartDirs].some((dir) => isInside(path, dir)))) continue;
    if (entry.type === 'commit') skipped.push({ path, reason: 'a submodule: not followed' });
    else if (entry.mode === '120000') skipped.push({ path, reason: 'a symbolic link: not followed' });
    else if (entry.type !== 'blob') continue;
    else if ((entry.size ?? 0) > limits.maxFileBytes) skipped.push({ path, reason: `larger than ${limits.maxFileBytes} bytes (${entry.size} bytes): not read` });
    else if (plain.length >= limits.maxFiles) beyondLimit++;
    else plain.push({ path, oid: entry.oid, size: entry.size ?? 0 });
  }
  if (beyondLimit > 0) skipped.push({ path: plain[plain.length - 1]?.path ?? '', reason: `${beyondLimit} more manifest files after this one were not read (more than ${limits.maxFiles})` });
  return { plain, kustomize, skipped };
}
