// Where a finding's object sits in its file: the loader names objects `file`, `file#2` (2nd YAML
// document) or `file#2.items[3]` (list item); this turns such a name and the file's text into a
// line number, for `file:line` in the text output and region.startLine in SARIF. Pure: the
// caller reads the files.
import { isMap, isSeq, LineCounter, parseAllDocuments, type Node } from 'yaml';

export interface SourceRef {
  file: string;
  /** 1-based YAML document number; undefined for a file of one document. */
  document?: number;
  /** Keys and list indexes from the document root to the object, e.g. ['items', 3]. */
  path: Array<string | number>;
}

const SUFFIX = /^(?:#(\d+))?((?:\.[A-Za-z_][\w-]*|\[\d+\])*)$/;

function pathOf(text: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const m of text.matchAll(/\.([A-Za-z_][\w-]*)|\[(\d+)\]/g)) out.push(m[1] !== undefined ? m[1] : Number(m[2]));
  return out;
}

/**
 * Splits a source name into file, document and path. File names may themselves contain `#` or
 * `.`, so the longest prefix that `isFile` accepts wins; undefined when none does (`live:...`).
 */
export function splitSource(source: string, isFile: (file: string) => boolean): SourceRef | undefined {
  for (let i = source.length; i > 0; i--) {
    const rest = source.slice(i);
    if (rest !== '' && !'#.['.includes(rest[0] as string)) continue;
    const m = SUFFIX.exec(rest);
    if (!m) continue;
    const file = source.slice(0, i);
    if (!isFile(file)) continue;
    return { file, ...(m[1] !== undefined ? { document: Number(m[1]) } : {}), path: pathOf(m[2] ?? '') };
  }
  return undefined;
}

function child(node: unknown, key: string | number): unknown {
  if (isMap(node)) return node.get(key, true);
  if (isSeq(node) && typeof key === 'number') return node.items[key];
  return undefined;
}

/** 1-based line where the object starts, or undefined when the text does not hold it. */
export function lineOf(text: string, ref: Pick<SourceRef, 'document' | 'path'>): number | undefined {
  const counter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: counter });
  if (!Array.isArray(docs)) return undefined;
  const doc = docs[(ref.document ?? 1) - 1];
  if (!doc) return undefined;
  let node: unknown = doc.contents;
  let line: number | undefined;
  const lineAt = (n: unknown): number | undefined => {
    const range = (n as Node | null)?.range;
    return range ? counter.linePos(range[0]).line : undefined;
  };
  line = lineAt(node) ?? counter.linePos(doc.range[0]).line;
  for (const key of ref.path) {
    node = child(node, key);
    const at = lineAt(node);
    // A path the text does not hold (edited since it was read): keep the deepest line found.
    if (at === undefined) break;
    line = at;
  }
  return line;
}
