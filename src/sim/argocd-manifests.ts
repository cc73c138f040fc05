// What the simulated Argo CD controller would apply for an Application: the source revision
// resolved to a commit of the bare repository, then the manifests at that commit under the source
// path (a kustomization's plain `resources` list, or every YAML file below the path), parsed and
// validated all together. Anything hostile or malformed fails the whole read, so a sync writes
// either every object or none. Git runs through runGit (argument arrays, no shell).
import { posix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runGit } from '../git/exec.js';
import { apiVersionOf, KINDS, type KindInfo, type KindName } from '../kube/kinds.js';

/** A file larger than this is refused rather than parsed. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** More objects than this in one Application is refused. */
export const MAX_SYNC_OBJECTS = 1000;
/** Nested kustomizations deeper than this are refused (a cycle would never end). */
const MAX_KUSTOMIZE_DEPTH = 10;
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
/** Only the plain list of resources is simulated; patches, generators and the rest would change the objects. */
const KUSTOMIZATION_KEYS = new Set(['apiVersion', 'kind', 'resources']);
/** Branches, tags, shas and HEAD: nothing git could read as an option or a revision expression. */
const REVISION = /^[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}$/;
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** A sync that cannot go on: its message goes to status.operationState as Argo CD's would. */
export class SyncFailure extends Error {
  override readonly name = 'SyncFailure';
  constructor(
    message: string,
    /** The commit, once resolved, and what was applied before the failure. */
    readonly partial: { revision?: string; applied?: Manifest[] } = {},
  ) {
    super(message);
  }
}

/** One object from Git, ready to apply (its namespace filled in from the destination). */
export interface Manifest {
  info: KindInfo;
  /** Empty for cluster-scoped kinds. */
  namespace: string;
  name: string;
  file: string;
  object: Record<string, unknown>;
}

export interface ManifestSource {
  /** The bare repository's directory. */
  repoDir: string;
  revision: string;
  /** spec.source.path ('' or '.' is the repository's root). */
  path: string;
  /** spec.destination.namespace: where namespaced objects without a namespace go. */
  destinationNamespace: string | undefined;
}

interface TreeEntry {
  mode: string;
  type: string;
  sha: string;
  size: number;
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** The commit `revision` names in the repository, or a SyncFailure. */
export async function resolveRevision(repoDir: string, revision: string): Promise<string> {
  if (!REVISION.test(revision) || revision.includes('..')) throw new SyncFailure(`revision "${revision}" is not a branch, tag or commit`);
  try {
    const { stdout } = await runGit(['rev-parse', '--verify', '--quiet', `${revision}^{commit}`], { cwd: repoDir, timeoutMs: 30_000 });
    const sha = stdout.toString('utf8').trim();
    if (/^[0-9a-f]{40,64}$/.test(sha)) return sha;
  } catch {
    // rev-parse exits 1 for an unknown revision: reported below
  }
  throw new SyncFailure(`unable to resolve '${revision}' to a commit SHA`);
}

/** Every blob of the commit, by path (the whole tree, filtered here: no pathspec magic from a spec). */
async function listTree(repoDir: string, commit: string): Promise<Map<string, TreeEntry>> {
  const { stdout } = await runGit(['ls-tree', '-r', '-l', '-z', '--full-tree', commit], { cwd: repoDir, timeoutMs: 30_000, maxOutputBytes: 64 * 1024 * 1024 });
  const entries = new Map<string, TreeEntry>();
  for (const record of stdout.toString('utf8').split('\0')) {
    const m = /^(\d+) (\w+) ([0-9a-f]+) +(-|\d+)\t(.+)$/s.exec(record);
    if (m) entries.set(m[5] as string, { mode: m[1] as string, type: m[2] as string, sha: m[3] as string, size: m[4] === '-' ? 0 : Number(m[4]) });
  }
  return entries;
}

/** A path inside the repository, normalised ('' is the root); undefined when it leaves it. */
function inRepo(path: string): string | undefined {
  const normal = posix.normalize(path.trim() === '' ? '.' : path.trim()).replace(/\/+$/, '');
  if (normal === '.' || normal === '') return '';
  if (posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../')) return undefined;
  return normal;
}

function under(dir: string, file: string): boolean {
  return dir === '' || file.startsWith(`${dir}/`);
}

async function readBlob(repoDir: string, file: string, entry: TreeEntry): Promise<string> {
  if (entry.mode === '120000') throw new SyncFailure(`${file}: symbolic links are not followed`);
  if (entry.type !== 'blob') throw new SyncFailure(`${file}: not a file`);
  if (entry.size > MAX_MANIFEST_BYTES) throw new SyncFailure(`${file}: ${entry.size} bytes is over the ${MAX_MANIFEST_BYTES}-byte limit for a manifest`);
  const { stdout } = await runGit(['cat-file', 'blob', entry.sha], { cwd: repoDir, timeoutMs: 30_000, maxOutputBytes: MAX_MANIFEST_BYTES });
  return stdout.toString('utf8');
}

/** The manifest files of `dir`: its kustomization's resources, else every YAML file below it. */
async function manifestFiles(repoDir: string, tree: Map<string, TreeEntry>, dir: string, depth: number): Promise<string[]> {
  const kustomization = KUSTOMIZATION_FILES.map((name) => (dir === '' ? name : `${dir}/${name}`)).find((file) => tree.has(file));
  if (kustomization === undefined) {
    return [...tree.keys()].filter((file) => under(dir, file) && /\.ya?ml$/i.test(file)).sort();
  }
  if (depth >= MAX_KUSTOMIZE_DEPTH) throw new SyncFailure(`${kustomization}: kustomizations nested more than ${MAX_KUSTOMIZE_DEPTH} deep`);
  const docs = parseYaml(kustomization, await readBlob(repoDir, kustomization, tree.get(kustomization) as TreeEntry));
  const spec = docs[0];
  if (docs.length !== 1 || !isObject(spec)) throw new SyncFailure(`${kustomization}: not a kustomization`);
  const unsupported = Object.keys(spec).filter((key) => !KUSTOMIZATION_KEYS.has(key));
  if (unsupported.length > 0) throw new SyncFailure(`${kustomization}: ${unsupported.join(', ')} not simulated (only a plain resources list is)`);
  const resources = spec.resources ?? [];
  if (!Array.isArray(resources) || !resources.every((r) => typeof r === 'string')) throw new SyncFailure(`${kustomization}: resources must be a list of paths`);
  const files: string[] = [];
  for (const resource of resources as string[]) {
    const target = resource.includes('://') ? undefined : inRepo(posix.join(dir, resource));
    if (target === undefined) throw new SyncFailure(`${kustomization}: resource "${resource}" is outside the repository`);
    if (tree.has(target)) files.push(target);
    else if ([...tree.keys()].some((file) => under(target, file))) files.push(...(await manifestFiles(repoDir, tree, target, depth + 1)));
    else throw new SyncFailure(`${kustomization}: resource "${resource}" does not exist at this revision`);
  }
  return files;
}

/** Every document's value; a syntax error, an alias bomb or nesting that blows the stack is a SyncFailure. */
function parseYaml(file: string, text: string): unknown[] {
  try {
    return parseAllDocuments(text).map((doc) => {
      if (doc.errors.length > 0) throw new SyncFailure(`${file}: ${firstLine(doc.errors[0])}`);
      return doc.toJS({ maxAliasCount: 100 }) as unknown;
    });
  } catch (error) {
    throw error instanceof SyncFailure ? error : new SyncFailure(`${file}: ${firstLine(error)}`);
  }
}

/** One YAML document as an object the controller may apply, or a SyncFailure naming the file. */
function toManifest(file: string, index: number, value: unknown, destinationNamespace: string | undefined): Manifest {
  const where = `${file} (document ${index + 1})`;
  if (!isObject(value)) throw new SyncFailure(`${where}: not a Kubernetes object`);
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !isObject(metadata)) throw new SyncFailure(`${where}: apiVersion, kind and metadata are required`);
  const info = Object.hasOwn(KINDS, kind) ? KINDS[kind as KindName] : undefined;
  if (!info || apiVersionOf(info) !== apiVersion) throw new SyncFailure(`${where}: ${apiVersion} ${kind} is not a kind this controller can apply`);
  const { name, namespace } = metadata;
  if (typeof name !== 'string' || !NAME.test(name)) throw new SyncFailure(`${where}: metadata.name must be a DNS name`);
  if (namespace !== undefined && (typeof namespace !== 'string' || !NAME.test(namespace))) throw new SyncFailure(`${where}: metadata.namespace must be a DNS name`);
  for (const key of ['labels', 'annotations'] as const) {
    const map = metadata[key];
    if (map !== undefined && (!isObject(map) || !Object.values(map).every((v) => typeof v === 'string'))) throw new SyncFailure(`${where}: metadata.${key} must map strings to strings`);
  }
  if (!info.namespaced) {
    if (namespace !== undefined) throw new SyncFailure(`${where}: ${kind} is cluster-scoped but has a namespace`);
    return { info, namespace: '', name, file, object: value };
  }
  const ns = namespace ?? destinationNamespace;
  if (!ns) throw new SyncFailure(`${where}: no namespace, and the Application's destination has none`);
  return { info, namespace: ns, name, file, object: { ...value, metadata: { ...metadata, namespace: ns } } };
}

export function manifestKey(m: { info: KindInfo; namespace: string; name: string }): string {
  return m.namespace ? `${m.info.kind}/${m.namespace}/${m.name}` : `${m.info.kind}/${m.name}`;
}

/** The commit and every object the source declares at it, all validated; a SyncFailure otherwise. */
export async function readManifests(source: ManifestSource): Promise<{ commit: string; manifests: Manifest[] }> {
  const commit = await resolveRevision(source.repoDir, source.revision);
  try {
    return { commit, manifests: await manifestsAt(source, commit) };
  } catch (error) {
    throw error instanceof SyncFailure ? new SyncFailure(error.message, { revision: commit }) : error;
  }
}

async function manifestsAt(source: ManifestSource, commit: string): Promise<Manifest[]> {
  const path = inRepo(source.path);
  if (path === undefined) throw new SyncFailure(`path "${source.path}" is outside the repository`);
  const tree = await listTree(source.repoDir, commit);
  if (path !== '' && ![...tree.keys()].some((file) => under(path, file))) throw new SyncFailure(`${path}: app path does not exist`);
  const manifests: Manifest[] = [];
  const seen = new Map<string, string>();
  const files = new Set(await manifestFiles(source.repoDir, tree, path, 0));
  if (files.size > MAX_SYNC_OBJECTS) throw new SyncFailure(`more than ${MAX_SYNC_OBJECTS} manifest files under ${path || 'the repository root'}`);
  for (const file of files) {
    const text = await readBlob(source.repoDir, file, tree.get(file) as TreeEntry);
    for (const [index, value] of parseYaml(file, text).entries()) {
      if (value === null || value === undefined) continue;
      const manifest = toManifest(file, index, value, source.destinationNamespace);
      const key = manifestKey(manifest);
      const earlier = seen.get(key);
      if (earlier !== undefined) throw new SyncFailure(`${key} appears twice (${earlier} and ${file})`);
      seen.set(key, file);
      manifests.push(manifest);
      if (manifests.length > MAX_SYNC_OBJECTS) throw new SyncFailure(`more than ${MAX_SYNC_OBJECTS} objects under ${path || 'the repository root'}`);
    }
  }
  return manifests;
}
