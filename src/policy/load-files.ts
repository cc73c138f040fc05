// The only part of src/policy that touches the file system: finds manifest files under the
// given paths and parses them into documents for loadObjects (which stays pure).
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { LoadInput } from './load-objects.js';
import type { Issue } from './model.js';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

export interface ReadResult {
  inputs: LoadInput[];
  issues: Issue[];
  files: number;
}

async function listFiles(path: string, out: string[], issues: Issue[]): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    issues.push({ severity: 'error', source: path, message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
    return;
  }
  if (info.isFile()) {
    out.push(path);
    return;
  }
  if (!info.isDirectory()) return;
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = join(path, e.name);
    if (e.isDirectory()) {
      if (!e.name.startsWith('.')) await listFiles(full, out, issues);
    } else if (e.isFile() && MANIFEST_EXTENSIONS.has(extname(e.name).toLowerCase())) {
      out.push(full);
    }
  }
}

/** Parses the text of one manifest file into documents; YAML errors carry the line number. */
export function parseManifestText(text: string, source: string): ReadResult {
  const inputs: LoadInput[] = [];
  const issues: Issue[] = [];
  if (source.toLowerCase().endsWith('.json')) {
    try {
      inputs.push({ object: JSON.parse(text) as unknown, source });
    } catch (error) {
      issues.push({ severity: 'error', source, message: `invalid JSON: ${(error as Error).message}` });
    }
    return { inputs, issues, files: 1 };
  }
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const where = list.length > 1 ? `${source}#${i + 1}` : source;
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const line = e?.linePos?.[0]?.line;
      issues.push({ severity: 'error', source: where, message: `invalid YAML${line ? ` at line ${line}` : ''}: ${e?.message.split('\n')[0] ?? 'parse error'}` });
      return;
    }
    try {
      inputs.push({ object: doc.toJS({ maxAliasCount: 100 }) as unknown, source: where });
    } catch (error) {
      issues.push({ severity: 'error', source: where, message: `invalid YAML: ${(error as Error).message}` });
    }
  });
  return { inputs, issues, files: 1 };
}

/** Reads files and directories (recursively: *.yaml, *.yml, *.json, in name order). */
export async function readManifests(paths: readonly string[]): Promise<ReadResult> {
  const files: string[] = [];
  const issues: Issue[] = [];
  for (const p of paths) await listFiles(p, files, issues);
  const inputs: LoadInput[] = [];
  for (const file of files) {
    const info = await stat(file);
    if (info.size > MAX_FILE_BYTES) {
      issues.push({ severity: 'error', source: file, message: `file is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB` });
      continue;
    }
    const parsed = parseManifestText(await readFile(file, 'utf8'), file);
    inputs.push(...parsed.inputs);
    issues.push(...parsed.issues);
  }
  return { inputs, issues, files: files.length };
}
