// The Kubernetes objects a file of the policy repository declares (pure): multi-document YAML,
// JSON, and `List` objects (each item counts). Only identities are kept for the index; the
// objects themselves are parsed again when asked for (objectAt).
import { parseAllDocuments } from 'yaml';

export interface ManifestEntry {
  kind: string;
  name: string;
  /** Absent when the file does not say (kustomize may set it from kustomization.yaml). */
  namespace?: string;
  apiVersion?: string;
  /** Index of the YAML document in the file (0-based). */
  document: number;
  /** Index in `items` when the document is a List. */
  item?: number;
}

export interface ParsedManifest {
  entries: ManifestEntry[];
  /** `namespace:` of a kustomization.yaml: kustomize puts its resources in it. */
  kustomizeNamespace?: string;
  /** Documents that could not be read (the others still count), without the file's path. */
  problems: string[];
}

export interface ManifestObject {
  document: number;
  item?: number;
  object: Record<string, unknown>;
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;
const KUSTOMIZATION = /(^|\/)(kustomization\.ya?ml|Kustomization)$/;
const MAX_DOCUMENTS = 10_000;
const MAX_ALIASES = 100;

export function isManifestPath(path: string): boolean {
  return MANIFEST_EXT.test(path) || KUSTOMIZATION.test(path);
}

export function isKustomizationPath(path: string): boolean {
  return KUSTOMIZATION.test(path);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every document of the text as plain data, with its index; unreadable ones are reported. */
export function parseDocuments(text: string, path: string): { documents: Array<{ document: number; value: unknown }>; problems: string[] } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const problems: string[] = [];
  if (/\.json$/i.test(path)) {
    try {
      return { documents: [{ document: 0, value: JSON.parse(body) as unknown }], problems };
    } catch (error) {
      return { documents: [], problems: [`invalid JSON: ${(error as Error).message.split('\n')[0]}`] };
    }
  }
  const documents: Array<{ document: number; value: unknown }> = [];
  let parsed: ReturnType<typeof parseAllDocuments>;
  try {
    parsed = parseAllDocuments(body, { uniqueKeys: false, prettyErrors: false });
  } catch (error) {
    return { documents, problems: [`invalid YAML: ${(error as Error).message.split('\n')[0]}`] };
  }
  const list = Array.isArray(parsed) ? parsed : [];
  if (list.length > MAX_DOCUMENTS) return { documents, problems: [`more than ${MAX_DOCUMENTS} documents`] };
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      problems.push(`document ${index}: invalid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? 'parse error'}`);
      return;
    }
    try {
      documents.push({ document: index, value: doc.toJS({ maxAliasCount: MAX_ALIASES }) as unknown });
    } catch (error) {
      problems.push(`document ${index}: invalid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  });
  return { documents, problems };
}

function identity(value: unknown): Omit<ManifestEntry, 'document' | 'item'> | undefined {
  if (!isRecord(value) || typeof value.kind !== 'string' || !isRecord(value.metadata)) return undefined;
  const { name, namespace } = value.metadata;
  if (typeof name !== 'string' || name === '') return undefined;
  return {
    kind: value.kind,
    name,
    ...(typeof namespace === 'string' && namespace !== '' ? { namespace } : {}),
    ...(typeof value.apiVersion === 'string' ? { apiVersion: value.apiVersion } : {}),
  };
}

function isList(value: unknown): value is Record<string, unknown> & { items: unknown[] } {
  return isRecord(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

/** Every object of the file, Lists expanded, with where it sits. */
export function manifestObjects(text: string, path: string): { objects: ManifestObject[]; problems: string[] } {
  const { documents, problems } = parseDocuments(text, path);
  const objects: ManifestObject[] = [];
  for (const { document, value } of documents) {
    if (isList(value)) {
      value.items.forEach((item, index) => {
        if (isRecord(item)) objects.push({ document, item: index, object: item });
      });
    } else if (isRecord(value)) {
      objects.push({ document, object: value });
    }
  }
  return { objects, problems };
}

/** The identities the file declares (what the index keeps). */
export function manifestEntries(text: string, path: string): ParsedManifest {
  const { objects, problems } = manifestObjects(text, path);
  const entries: ManifestEntry[] = [];
  let kustomizeNamespace: string | undefined;
  for (const { document, item, object } of objects) {
    if (isKustomizationPath(path) && (object.kind === undefined || object.kind === 'Kustomization') && typeof object.namespace === 'string') {
      kustomizeNamespace = object.namespace;
      continue;
    }
    const id = identity(object);
    if (id) entries.push({ ...id, document, ...(item !== undefined ? { item } : {}) });
  }
  return { entries, problems, ...(kustomizeNamespace ? { kustomizeNamespace } : {}) };
}

/**
 * The file path in a `config.kubernetes.io/origin` annotation (kustomize's originAnnotations,
 * a small YAML map: `path: policies/db/x.yaml`, plus `repo`/`ref` for remote resources). Undefined
 * when absent, unreadable, or pointing at another repository.
 */
export function originPath(annotations: Record<string, string> | undefined): string | undefined {
  const raw = annotations?.['config.kubernetes.io/origin'];
  if (typeof raw !== 'string' || raw.length > 4096) return undefined;
  let value: unknown;
  try {
    value = parseAllDocuments(raw, { prettyErrors: false }) as unknown;
    const docs = Array.isArray(value) ? value : [];
    if (docs.length !== 1 || docs[0].errors.length > 0) return undefined;
    value = docs[0].toJS({ maxAliasCount: 10 }) as unknown;
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.path !== 'string' || value.path === '') return undefined;
  // A resource fetched from another repository (repo: …) is not in ours.
  if (typeof value.repo === 'string' && value.repo !== '') return undefined;
  return value.path;
}
