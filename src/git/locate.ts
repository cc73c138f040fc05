// Which file of a commit declares a live object (pure). First the origin annotation kustomize
// leaves (config.kubernetes.io/origin), then kind/namespace/name; a file that names no namespace
// (kustomize sets it from kustomization.yaml) matches by kind and name, and the answer says so.
import { posix } from 'node:path';
import { originPath, type ManifestEntry, type ManifestObject } from './manifests.js';

export interface ObjectKey {
  kind: string;
  namespace?: string;
  name: string;
  annotations?: Record<string, string>;
}

export interface IndexedFile {
  path: string;
  /** The blob id: the same content in another commit is the same entry (parsed once). */
  oid: string;
  entries: ManifestEntry[];
  kustomizeNamespace?: string;
}

export interface CommitIndex {
  commit: string;
  files: Map<string, IndexedFile>;
  /** kind + name → every declaration of it. */
  byKindName: Map<string, Array<{ file: IndexedFile; entry: ManifestEntry }>>;
  /** Directory → namespace of its kustomization.yaml. */
  kustomizeNamespaces: Map<string, string>;
  /** Files not read, and why (size limit, symlink, submodule, unreadable document). */
  skipped: Array<{ path: string; reason: string }>;
}

export type LocateMatch = 'origin' | 'exact' | 'kustomization' | 'name-only';

export interface Location {
  path: string;
  document: number;
  item?: number;
  /** How the file was found: the origin annotation, kind/namespace/name, the namespace of a kustomization.yaml above the file, or kind/name alone (the file names no namespace). */
  match: LocateMatch;
  /** Other files that declare it too, when the choice was not unique. */
  alsoIn?: string[];
}

const key = (kind: string, name: string): string => `${kind}\u0000${name}`;

export function buildCommitIndex(commit: string, files: IndexedFile[], skipped: CommitIndex['skipped']): CommitIndex {
  const index: CommitIndex = { commit, files: new Map(), byKindName: new Map(), kustomizeNamespaces: new Map(), skipped };
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    index.files.set(file.path, file);
    if (file.kustomizeNamespace) index.kustomizeNamespaces.set(posix.dirname(file.path), file.kustomizeNamespace);
    for (const entry of file.entries) {
      const k = key(entry.kind, entry.name);
      const list = index.byKindName.get(k);
      if (list) list.push({ file, entry });
      else index.byKindName.set(k, [{ file, entry }]);
    }
  }
  return index;
}

/** The namespace kustomize would give a namespace-less file: its directory's kustomization, or the nearest above. */
export function inferredNamespace(index: CommitIndex, path: string): string | undefined {
  let dir = posix.dirname(path);
  for (;;) {
    const ns = index.kustomizeNamespaces.get(dir);
    if (ns) return ns;
    if (dir === '.' || dir === '/' || dir === '') return undefined;
    dir = posix.dirname(dir);
  }
}

/**
 * The origin annotation's path made safe to compare: it is relative to the top-level
 * kustomization, which we do not know, so leading "../" are dropped and the rest must be a suffix
 * of a file's path. Absolute or empty paths are ignored (the annotation is not trusted).
 */
export function originSuffix(path: string): string | undefined {
  if (path.startsWith('/') || path.includes('\\') || path.includes('\u0000')) return undefined;
  const normal = posix.normalize(path).replace(/^(\.\.\/)+/, '');
  if (normal === '.' || normal === '..' || normal.startsWith('../') || normal === '') return undefined;
  return normal;
}

function namespaceFits(entry: ManifestEntry, obj: ObjectKey): boolean {
  return entry.namespace === undefined || entry.namespace === obj.namespace;
}

function at(c: { file: IndexedFile; entry: ManifestEntry }, match: LocateMatch, others: Array<{ file: IndexedFile }>): Location {
  const alsoIn = [...new Set(others.map((o) => o.file.path).filter((p) => p !== c.file.path))];
  return {
    path: c.file.path,
    document: c.entry.document,
    ...(c.entry.item !== undefined ? { item: c.entry.item } : {}),
    match,
    ...(alsoIn.length > 0 ? { alsoIn } : {}),
  };
}

export function locateIn(index: CommitIndex, obj: ObjectKey): Location | undefined {
  const candidates = index.byKindName.get(key(obj.kind, obj.name)) ?? [];
  if (candidates.length === 0) return undefined;
  const origin = originPath(obj.annotations);
  const suffix = origin === undefined ? undefined : originSuffix(origin);
  if (suffix) {
    const fromOrigin = candidates.filter((c) => (c.file.path === suffix || c.file.path.endsWith(`/${suffix}`)) && namespaceFits(c.entry, obj));
    if (fromOrigin[0]) return at(fromOrigin[0], 'origin', fromOrigin);
  }
  const exact = candidates.filter((c) => c.entry.namespace === obj.namespace);
  if (exact[0]) return at(exact[0], 'exact', exact);
  if (obj.namespace === undefined) return undefined;
  const bare = candidates.filter((c) => c.entry.namespace === undefined);
  const byKustomization = bare.filter((c) => inferredNamespace(index, c.file.path) === obj.namespace);
  if (byKustomization[0]) return at(byKustomization[0], 'kustomization', byKustomization);
  // Files whose kustomization names another namespace declare someone else's object.
  const open = bare.filter((c) => inferredNamespace(index, c.file.path) === undefined);
  if (open[0]) return at(open[0], 'name-only', open);
  return undefined;
}

/** The object among a file's objects: kind and name, its namespace or none (as locateIn ranks them). */
export function pickDeclared(obj: ObjectKey, objects: ManifestObject[]): Record<string, unknown> | undefined {
  const metaOf = (o: ManifestObject): Record<string, unknown> => (typeof o.object.metadata === 'object' && o.object.metadata !== null ? (o.object.metadata as Record<string, unknown>) : {});
  const namespaceOf = (o: ManifestObject): string | undefined => {
    const ns = metaOf(o).namespace;
    return typeof ns === 'string' && ns !== '' ? ns : undefined;
  };
  const same = objects.filter((o) => o.object.kind === obj.kind && metaOf(o).name === obj.name);
  const exact = same.find((o) => namespaceOf(o) === obj.namespace);
  if (exact || obj.namespace === undefined) return exact?.object;
  return same.find((o) => namespaceOf(o) === undefined)?.object;
}
