// A fast reader for the plain block YAML that policy repositories and rendering tools hold: block
// maps and sequences, plain and simply quoted scalars, `{}` and `[]`, comments, `---` between
// documents. The full YAML library costs ~0.2 ms per small manifest, most of a 10k-policy render;
// this reader is several times cheaper. Anything outside the subset (anchors, aliases, tags,
// flow collections with content, block or multi-line scalars, escapes, duplicate keys, tabs,
// directives, unusual characters) gives undefined and the caller uses the library, so every
// answer here is the library's (YAML 1.2 core schema, the same values and lines): a differential
// test holds the two together.

/** One document: its value, the line (1-based) where its content starts, and those of a top-level `items` sequence. */
export interface PlainDocument {
  document: number;
  value: unknown;
  line?: number;
  itemLines?: Array<number | undefined>;
}

/** Thrown inside the reader: the text is outside the subset. */
class OutsideSubset extends Error {}

const outside = (): never => {
  throw new OutsideSubset();
};

/** Plain keys the reader takes (label and field names); anything else goes to the library. */
const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;
/** What may not start a plain scalar (YAML's indicators), besides `-` before a space. */
const INDICATOR = /^[?:,[\]{}#&*!|>'"%@`]/;
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;
/** Characters that are line breaks or marks to some YAML readers: never in the fast path. */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const SPECIAL_ANYWHERE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufeff\t]/;
/** The library refuses implicit keys over 1024 characters; long ones are left to it. */
const MAX_KEY = 1000;
const DOCUMENT_MARKER = /^---(?: +(?:#.*)?)?$/;

/** A plain scalar's value under the YAML 1.2 core schema, tested in the library's order. */
export function resolvePlain(s: string): unknown {
  // Most scalars are words: only null, true and false start with a letter and are not strings.
  const c = s.charCodeAt(0) | 0x20;
  if (c >= 0x61 && c <= 0x7a && c !== 0x6e /* n */ && c !== 0x74 /* t */ && c !== 0x66 /* f */) return s;
  if (/^(?:~|[Nn]ull|NULL)$/.test(s)) return null;
  if (/^(?:[Tt]rue|TRUE)$/.test(s)) return true;
  if (/^(?:[Ff]alse|FALSE)$/.test(s)) return false;
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)) return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}

/** As the library turns a key into a property name. */
function propertyName(key: unknown): string {
  return key === null ? '' : String(key);
}

/** Sets a property as the library does (a key seen before is redefined in place; never __proto__). */
function setProperty(map: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') outside();
  if (!(key in map)) {
    map[key] = value;
    return;
  }
  if (Object.prototype.hasOwnProperty.call(map, key)) outside(); // a duplicate key: the library's business
  Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The meaningful lines of the text (neither blank nor comment-only), with their indent. */
interface Lines {
  text: string[];
  indent: number[];
  lineNo: number[];
  /** Index in the arrays above where each document starts, and one past the last line. */
  docStarts: number[];
  docEnd: number[];
}

function scanLines(body: string): Lines | undefined {
  if (SPECIAL_ANYWHERE.test(body)) return undefined;
  const raw = body.split('\n');
  const crlf = body.includes('\r');
  const lines: Lines = { text: [], indent: [], lineNo: [], docStarts: [], docEnd: [] };
  let docOpen = false;
  let sawContent = false;
  for (let i = 0; i < raw.length; i++) {
    let line = raw[i] as string;
    if (crlf) {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.includes('\r')) return undefined;
    }
    let indent = 0;
    while (indent < line.length && line.charCodeAt(indent) === 0x20) indent++;
    if (indent === line.length || line.charCodeAt(indent) === 0x23 /* # */) continue;
    if (indent === 0) {
      const c = line.charCodeAt(0);
      if (c === 0x2d /* - */ && line.startsWith('---')) {
        if (!DOCUMENT_MARKER.test(line)) return undefined;
        // Content before the first marker is a document; only comments before it are not.
        if (docOpen || sawContent) lines.docEnd.push(lines.text.length);
        lines.docStarts.push(lines.text.length);
        docOpen = true;
        continue;
      }
      if (c === 0x2e /* . */ && line.startsWith('...')) return undefined;
      if (c === 0x25 /* % */) return undefined;
    }
    if (!docOpen) {
      lines.docStarts.push(lines.text.length);
      docOpen = true;
    }
    sawContent = true;
    lines.text.push(line);
    lines.indent.push(indent);
    lines.lineNo.push(i + 1);
  }
  if (docOpen) lines.docEnd.push(lines.text.length);
  return lines;
}

/** A key at `col` of the line: the property name and where its value starts; undefined when the line holds no key there. */
function keyAt(text: string, col: number): { name: string; after: number } | undefined {
  const c = text[col];
  if (c === '"' || c === "'") {
    const end = closingQuote(text, col);
    if (end === undefined || text[end + 1] !== ':') return undefined;
    if (end - col > MAX_KEY) outside();
    if (end + 2 < text.length && text[end + 2] !== ' ') return undefined;
    return { name: printable(quotedValue(text, col, end)), after: end + 2 };
  }
  for (let j = col; j < text.length; j++) {
    const ch = text.charCodeAt(j);
    if (ch === 0x23 /* # */ && text.charCodeAt(j - 1) === 0x20) return undefined; // a comment before any key
    if (ch === 0x3a /* : */ && (j + 1 === text.length || text.charCodeAt(j + 1) === 0x20)) {
      const key = text.slice(col, j);
      if (!PLAIN_KEY.test(key) || key.length > MAX_KEY) outside();
      return { name: propertyName(resolvePlain(key)), after: j + 1 };
    }
  }
  return undefined;
}

/** Index of the quote closing the one at `start`, or undefined (not closed on this line, or an escape). */
function closingQuote(text: string, start: number): number | undefined {
  const q = text[start];
  for (let j = start + 1; j < text.length; j++) {
    const ch = text[j];
    if (q === '"' && ch === '\\') outside();
    if (ch !== q) continue;
    if (q === "'" && text[j + 1] === "'") {
      j++;
      continue;
    }
    return j;
  }
  return undefined;
}

/** Keys and values are printable ASCII here (comments may hold anything). */
function printable(s: string): string {
  return NOT_PRINTABLE_ASCII.test(s) ? outside() : s;
}

function quotedValue(text: string, start: number, end: number): string {
  const inner = text.slice(start + 1, end);
  return text[start] === "'" ? inner.replaceAll("''", "'") : inner;
}

/** Nothing but spaces and a comment from `from` on. */
function restIsEmpty(text: string, from: number): boolean {
  let j = from;
  while (j < text.length && text.charCodeAt(j) === 0x20) j++;
  return j === text.length || (text.charCodeAt(j) === 0x23 && j > from);
}

function isSeqItem(text: string, col: number): boolean {
  return text.charCodeAt(col) === 0x2d && (col + 1 === text.length || text.charCodeAt(col + 1) === 0x20);
}

/** A value that ends on its line: a scalar, a quoted string, `{}` or `[]`. */
function inlineValue(text: string, col: number): unknown {
  const c = text[col] as string;
  if (c === '"' || c === "'") {
    const end = closingQuote(text, col);
    if (end === undefined || !restIsEmpty(text, end + 1)) outside();
    return printable(quotedValue(text, col, end as number));
  }
  if (c === '{' || c === '[') {
    if (text[col + 1] !== (c === '{' ? '}' : ']') || !restIsEmpty(text, col + 2)) outside();
    return c === '{' ? {} : [];
  }
  if (INDICATOR.test(c) || isSeqItem(text, col)) outside();
  let end = text.indexOf(' #', col);
  if (end < 0) end = text.length;
  while (end > col && text.charCodeAt(end - 1) === 0x20) end--;
  const scalar = text.slice(col, end);
  if (scalar.includes(': ') || scalar.endsWith(':')) outside();
  return resolvePlain(printable(scalar));
}

class Reader {
  pos = 0;
  private end = 0;
  constructor(private readonly lines: Lines) {}

  document(start: number, end: number): { value: unknown; line?: number; itemLines?: Array<number | undefined> } {
    this.pos = start;
    this.end = end;
    if (start === end) return { value: null };
    const itemLines: Array<number | undefined> = [];
    const value = this.node(start, this.lines.indent[start] as number, { topItems: itemLines });
    if (this.pos !== end) outside();
    const line = this.lines.lineNo[start];
    return { value, line, ...(value !== null && typeof value === 'object' && !Array.isArray(value) && Array.isArray((value as Record<string, unknown>).items) ? { itemLines } : {}) };
  }

  /**
   * The block node whose content starts at line p, column col. `items` collects the lines of a
   * top-level map's `items` entries (topItems), or of this node's entries when it is that sequence.
   */
  private node(p: number, col: number, lines: { topItems?: Array<number | undefined>; seqItems?: Array<number | undefined> }): unknown {
    const text = this.lines.text[p] as string;
    if (isSeqItem(text, col)) return this.sequence(p, col, lines.seqItems);
    const key = keyAt(text, col);
    if (key) return this.mapping(p, col, lines.topItems, key);
    return outside(); // a scalar on a line of its own: the library's business
  }

  /** The block map from line p, column col; `firstKey` is its first key, already read there. */
  private mapping(p: number, col: number, itemLines: Array<number | undefined> | undefined, firstKey: { name: string; after: number }): Record<string, unknown> {
    const { text: texts, indent } = this.lines;
    const map: Record<string, unknown> = {};
    this.pos = p;
    let first = true;
    while (this.pos < this.end) {
      const q = this.pos;
      const text = texts[q] as string;
      if (!first) {
        if ((indent[q] as number) < col) break;
        if (indent[q] !== col || isSeqItem(text, col)) outside();
      }
      const key = first ? firstKey : (keyAt(text, col) ?? outside());
      first = false;
      const lines = itemLines && key.name === 'items' ? itemLines : undefined;
      let value: unknown;
      if (restIsEmpty(text, key.after)) {
        const next = q + 1;
        if (next < this.end && (indent[next] as number) > col) value = this.node(next, indent[next] as number, { seqItems: lines });
        else if (next < this.end && indent[next] === col && isSeqItem(texts[next] as string, col)) value = this.sequence(next, col, lines);
        else {
          value = null;
          this.pos = next;
        }
      } else {
        let v = key.after;
        while (text.charCodeAt(v) === 0x20) v++;
        value = inlineValue(text, v);
        this.pos = q + 1;
        if (this.pos < this.end && (indent[this.pos] as number) > col) outside(); // a continuation line
      }
      setProperty(map, key.name, value);
    }
    return map;
  }

  private sequence(p: number, col: number, itemLines: Array<number | undefined> | undefined): unknown[] {
    const { text: texts, indent, lineNo } = this.lines;
    const list: unknown[] = [];
    this.pos = p;
    while (this.pos < this.end) {
      const q = this.pos;
      const text = texts[q] as string;
      if ((indent[q] as number) < col) break;
      if (indent[q] !== col) outside();
      if (!isSeqItem(text, col)) break;
      let k = col + 1;
      while (text.charCodeAt(k) === 0x20) k++;
      if (restIsEmpty(text, col + 1)) {
        const next = q + 1;
        if (next < this.end && (indent[next] as number) > col) {
          itemLines?.push(lineNo[next]);
          list.push(this.node(next, indent[next] as number, {}));
        } else {
          itemLines?.push(lineNo[q]);
          list.push(null);
          this.pos = next;
        }
        continue;
      }
      itemLines?.push(lineNo[q]);
      if (isSeqItem(text, k)) outside(); // `- - x`
      const key = keyAt(text, k);
      if (key) {
        list.push(this.mapping(q, k, undefined, key));
        continue;
      }
      list.push(inlineValue(text, k));
      this.pos = q + 1;
      if (this.pos < this.end && (indent[this.pos] as number) > col) outside();
    }
    return list;
  }
}

/**
 * The documents of a YAML text (without a byte-order mark) when it is plain block YAML, each
 * with its value and lines exactly as the YAML library gives them; undefined otherwise.
 */
export function plainYamlDocuments(body: string): PlainDocument[] | undefined {
  const lines = scanLines(body);
  if (!lines) return undefined;
  const reader = new Reader(lines);
  const documents: PlainDocument[] = [];
  try {
    for (let d = 0; d < lines.docStarts.length; d++) {
      const { value, line, itemLines } = reader.document(lines.docStarts[d] as number, lines.docEnd[d] as number);
      documents.push({ document: d, value, ...(line !== undefined ? { line } : {}), ...(itemLines ? { itemLines } : {}) });
    }
  } catch (error) {
    if (error instanceof OutsideSubset || error instanceof RangeError) return undefined;
    throw error;
  }
  return documents;
}
