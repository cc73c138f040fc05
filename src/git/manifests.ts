// The Kubernetes objects a file of the policy repository declares (pure): multi-document YAML,
// JSON, and `List` objects (each item counts). Only identities are kept for the index; the
// objects themselves are parsed again when asked for (objectAt).
import { isMap, isNode, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { plainYamlDocuments } from './render-plain-yaml.js';

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

/** A document that could not be read, and the line (1-based) where the parser stopped. */
export interface LocatedProblem {
  message: string;
  line?: number;
}

export interface LocatedDocument {
  document: number;
  value: unknown;
  /** Line of the document's content, and of each item of a top-level `items` sequence. */
  line?: number;
  itemLines?: Array<number | undefined>;
}

/** Every document of the text as plain data, with its index; unreadable ones are reported. */
export function parseDocuments(text: string, path: string): { documents: Array<{ document: number; value: unknown }>; problems: string[] } {
  const { documents, problems } = parseLocatedDocuments(text, path, false);
  return { documents: documents.map(({ document, value }) => ({ document, value })), problems: problems.map((p) => p.message) };
}

/** parseDocuments with line numbers (the yaml library's node ranges, or the fast reader's equal ones; JSON costs a second parse, so only on request). */
function parseLocatedDocuments(text: string, path: string, jsonWithLines: boolean): { documents: LocatedDocument[]; problems: LocatedProblem[] } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (/\.json$/i.test(path)) {
    let value: unknown;
    try {
      value = JSON.parse(body) as unknown;
    } catch (error) {
      const message = (error as Error).message.split('\n')[0] ?? '';
      const position = /at position (\d+)/.exec(message);
      return { documents: [], problems: [{ message: `invalid JSON: ${message}`, ...(position ? { line: lineAt(body, Number(position[1])) } : {}) }] };
    }
    return { documents: [{ document: 0, value, ...(jsonWithLines ? jsonLines(body) : {}) }], problems: [] };
  }
  // Plain block YAML (nearly every manifest) has a cheaper reader with the library's answers.
  const plain = plainYamlDocuments(body);
  if (plain) return plain.length > MAX_DOCUMENTS ? { documents: [], problems: [{ message: `more than ${MAX_DOCUMENTS} documents` }] } : { documents: plain, problems: [] };
  return yamlDocumentsByLibrary(body);
}

/** Every document of a YAML text by the YAML library, with lines: the reference reader, for any YAML. */
export function yamlDocumentsByLibrary(body: string): { documents: LocatedDocument[]; problems: LocatedProblem[] } {
  const documents: LocatedDocument[] = [];
  const problems: LocatedProblem[] = [];
  const lineCounter = new LineCounter();
  let parsed: ReturnType<typeof parseAllDocuments>;
  try {
    parsed = parseAllDocuments(body, { uniqueKeys: false, prettyErrors: false, lineCounter });
  } catch (error) {
    return { documents, problems: [{ message: `invalid YAML: ${(error as Error).message.split('\n')[0]}` }] };
  }
  const list = Array.isArray(parsed) ? parsed : [];
  if (list.length > MAX_DOCUMENTS) return { documents, problems: [{ message: `more than ${MAX_DOCUMENTS} documents` }] };
  list.forEach((doc, index) => {
    const failed = doc.errors[0];
    if (failed) {
      // An error at the very end (an unclosed bracket) is reported on the last line, not past it.
      const at = Math.min(failed.pos[0], Math.max(0, body.trimEnd().length - 1));
      problems.push({ message: `document ${index}: invalid YAML: ${failed.message.split('\n')[0] ?? 'parse error'}`, line: lineCounter.linePos(at).line });
      return;
    }
    try {
      documents.push({ document: index, value: doc.toJS({ maxAliasCount: MAX_ALIASES }) as unknown, ...linesOf(doc, lineCounter) });
    } catch (error) {
      problems.push({ message: `document ${index}: invalid YAML: ${(error as Error).message.split('\n')[0]}`, ...linesOf(doc, lineCounter) });
    }
  });
  return { documents, problems };
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < Math.min(offset, text.length); i++) if (text.charCodeAt(i) === 0x0a) line++;
  return line;
}

/** Lines of a JSON document: JSON.parse is authoritative, a YAML parse (JSON is YAML) only tells where things are. */
function jsonLines(body: string): { line?: number; itemLines?: Array<number | undefined> } {
  try {
    const lineCounter = new LineCounter();
    const docs = parseAllDocuments(body, { prettyErrors: false, lineCounter });
    const [doc] = Array.isArray(docs) ? docs : [];
    return doc && doc.errors.length === 0 ? linesOf(doc, lineCounter) : {};
  } catch {
    return {};
  }
}

function linesOf(doc: Document, lines: LineCounter): { line?: number; itemLines?: Array<number | undefined> } {
  const start = doc.contents?.range?.[0];
  if (start === undefined) return {};
  const line = lines.linePos(start).line;
  const items = isMap(doc.contents) ? doc.contents.get('items', true) : undefined;
  if (!isSeq(items)) return { line };
  return { line, itemLines: items.items.map((item) => (isNode(item) && item.range ? lines.linePos(item.range[0]).line : undefined)) };
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
  const { objects, problems } = locatedObjects(text, path, false);
  return { objects: objects.map(({ line: _line, ...rest }) => rest), problems: problems.map((p) => p.message) };
}

/** manifestObjects with the line (1-based) of each object and of each problem. */
export function locatedObjects(text: string, path: string, jsonWithLines = true): { objects: Array<ManifestObject & { line?: number }>; problems: LocatedProblem[] } {
  const { documents, problems } = parseLocatedDocuments(text, path, jsonWithLines);
  const objects: Array<ManifestObject & { line?: number }> = [];
  for (const { document, value, line, itemLines } of documents) {
    if (isList(value)) {
      value.items.forEach((item, index) => {
        const itemLine = itemLines?.[index] ?? line;
        if (isRecord(item)) objects.push({ document, item: index, object: item, ...(itemLine !== undefined ? { line: itemLine } : {}) });
      });
    } else if (isRecord(value)) {
      objects.push({ document, object: value, ...(line !== undefined ? { line } : {}) });
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
