// The only part of src/policy that touches the file system: finds manifest files under the
// given paths (or reads standard input for "-") and parses them into documents for loadObjects
// (which stays pure).
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parseAllDocuments } from 'yaml';
import type { LoadInput } from './load-objects.js';
import type { Issue } from './model.js';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
export const MAX_FILE_BYTES = 64 * 1024 * 1024;
/** The path that means standard input, and the name its documents carry in messages. */
export const STDIN_PATH = '-';
export const STDIN_NAME = 'stdin';

/** A path that could not be read at all, with the system's error code (ENOENT, EACCES…). */
export interface Unreadable {
  path: string;
  code: string;
}

/** A file found in a directory that holds no Kubernetes object (Chart.yaml, package.json...). */
export interface Skipped {
  path: string;
  reason: string;
}

export interface ReadResult {
  inputs: LoadInput[];
  issues: Issue[];
  files: number;
  unreadable: Unreadable[];
  /** Files of directories left out (each also has a warning in `issues`); `--strict` refuses them. */
  skipped: Skipped[];
}

export const SKIPPED_REASON = 'not a Kubernetes manifest (no document has a kind): skipped';

/** A document that looks like a Kubernetes object (or a List of them): a mapping with a kind. */
function looksLikeObject(x: unknown): boolean {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && typeof (x as Record<string, unknown>).kind === 'string';
}

export type Syntax = 'json' | 'yaml' | 'auto';

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

interface Listed {
  path: string;
  /** Found by walking a directory (not named on the command line). */
  walked: boolean;
}

/** Files to read under a path: the path itself unless it is a directory (so pipes and `<(…)` work too). */
async function listFiles(path: string, out: Listed[], unreadable: Unreadable[], walked = false): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    unreadable.push({ path, code: codeOf(error) });
    return;
  }
  if (!info.isDirectory()) {
    out.push({ path, walked });
    return;
  }
  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (error) {
    unreadable.push({ path, code: codeOf(error) });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = join(path, e.name);
    if (e.isDirectory()) {
      if (!e.name.startsWith('.')) await listFiles(full, out, unreadable, true);
    } else if (e.isFile() && MANIFEST_EXTENSIONS.has(extname(e.name).toLowerCase())) {
      out.push({ path: full, walked: true });
    }
  }
}

/** The syntax a file's name promises; anything else (stdin, a pipe, foo.txt) is sniffed. */
function syntaxOf(source: string): Syntax {
  const ext = extname(source).toLowerCase();
  return ext === '.json' ? 'json' : ext === '.yaml' || ext === '.yml' ? 'yaml' : 'auto';
}

function parseYaml(text: string, source: string, out: ReadResult): void {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const where = list.length > 1 ? `${source}#${i + 1}` : source;
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const line = e?.linePos?.[0]?.line;
      out.issues.push({ severity: 'error', source: where, message: `invalid YAML${line ? ` at line ${line}` : ''}: ${e?.message.split('\n')[0] ?? 'parse error'}` });
      return;
    }
    try {
      out.inputs.push({ object: doc.toJS({ maxAliasCount: 100 }) as unknown, source: where });
    } catch (error) {
      out.issues.push({ severity: 'error', source: where, message: `invalid YAML: ${(error as Error).message}` });
    }
  });
}

/**
 * Parses the text of one manifest file into documents; YAML errors carry the line number.
 * `auto`: a text that starts like JSON and parses as JSON is JSON, anything else is YAML (a
 * superset of JSON, so a JSON document with a mistake is still reported as JSON's error).
 */
export function parseManifestText(text: string, source: string, syntax: Syntax = syntaxOf(source)): ReadResult {
  const out: ReadResult = { inputs: [], issues: [], files: 1, unreadable: [], skipped: [] };
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const looksJson = /^\s*[[{]/.test(body);
  if (syntax === 'json' || (syntax === 'auto' && looksJson)) {
    try {
      out.inputs.push({ object: JSON.parse(body) as unknown, source });
      return out;
    } catch (error) {
      const yaml = syntax === 'auto' ? parseManifestText(body, source, 'yaml') : undefined;
      if (yaml && yaml.issues.length === 0) return yaml;
      out.issues.push({ severity: 'error', source, message: `invalid JSON: ${(error as Error).message.split('\n')[0]}` });
      return out;
    }
  }
  parseYaml(body, source, out);
  return out;
}

/** The whole stream as text, or null once it passes `maxBytes` (reading stops there). */
export async function readBounded(stream: Readable, maxBytes: number): Promise<string | null> {
  const decoder = new StringDecoder('utf8');
  let text = '';
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    bytes += buffer.length;
    if (bytes > maxBytes) {
      stream.destroy();
      return null;
    }
    text += decoder.write(buffer);
  }
  return text + decoder.end();
}

async function readOne({ path, walked }: Listed, stdin: Readable, maxBytes: number, out: ReadResult): Promise<void> {
  const isStdin = path === STDIN_PATH;
  const source = isStdin ? STDIN_NAME : path;
  let text: string | null;
  try {
    if (!isStdin && (await stat(path)).size > maxBytes) text = null;
    else text = await readBounded(isStdin ? stdin : createReadStream(path), maxBytes);
  } catch (error) {
    out.unreadable.push({ path, code: codeOf(error) });
    return;
  }
  if (text === null) {
    const limit = maxBytes % (1024 * 1024) === 0 ? `${maxBytes / 1024 / 1024} MB` : `${maxBytes} bytes`;
    out.issues.push({ severity: 'error', source, message: `larger than ${limit}` });
    return;
  }
  if (isStdin && text.trim().length === 0) {
    out.issues.push({ severity: 'error', source, message: 'nothing was read from standard input' });
    return;
  }
  const parsed = parseManifestText(text, source, isStdin ? 'auto' : syntaxOf(path));
  // Repositories keep Chart.yaml, values.yaml, package.json, workflows... next to manifests: a
  // file found in a directory that parses but holds no Kubernetes object is left out, once.
  if (walked && parsed.issues.length === 0 && !parsed.inputs.some((i) => looksLikeObject(i.object))) {
    out.skipped.push({ path, reason: SKIPPED_REASON });
    out.issues.push({ severity: 'warning', source, message: SKIPPED_REASON });
    return;
  }
  out.inputs.push(...parsed.inputs);
  out.issues.push(...parsed.issues);
}

export interface ReadOptions {
  /** Where "-" reads from (default: process.stdin). */
  stdin?: Readable;
  /** Largest file (or standard input) read, in bytes. */
  maxBytes?: number;
}

/**
 * Reads files and directories (recursively: *.yaml, *.yml, *.json, in name order; hidden
 * directories skipped) and "-" (standard input: YAML documents or JSON). A path that is not a
 * directory is read whatever its name. Files of directories that hold no Kubernetes object are
 * listed in `skipped` with a warning each.
 */
export async function readManifests(paths: readonly string[], options: ReadOptions = {}): Promise<ReadResult> {
  const out: ReadResult = { inputs: [], issues: [], files: 0, unreadable: [], skipped: [] };
  const files: Listed[] = [];
  for (const p of paths) {
    if (p === STDIN_PATH) files.push({ path: p, walked: false });
    else await listFiles(p, files, out.unreadable);
  }
  for (const file of files) await readOne(file, options.stdin ?? process.stdin, options.maxBytes ?? MAX_FILE_BYTES, out);
  out.files = files.length;
  return out;
}
