// Diffs for the HTML export: validate's field diffs (`+ path: live`, `- path: Git`,
// `~ path: Git → live`) and the restore plan's changes, one <span> per line in a <pre>: added
// lines green, removed red, changed ones with the old value red and the new green. Pure.
import { txt } from './html-text.js';

export type DiffLineKind = 'add' | 'del' | 'chg' | 'ctx';

export interface DiffLine {
  kind: DiffLineKind;
  text: string;
}

/** Lines and characters a diff may take in the document. */
export const DIFF_LIMITS = { lines: 200, line: 400 } as const;

export function classifyDiffLine(line: string): DiffLineKind {
  if (line.startsWith('+')) return 'add';
  if (line.startsWith('-')) return 'del';
  if (line.startsWith('~')) return 'chg';
  return 'ctx';
}

export function diffLines(lines: unknown, max: number = DIFF_LIMITS.lines): { lines: DiffLine[]; more: number } {
  const all = Array.isArray(lines) ? lines.filter((l): l is string => typeof l === 'string') : [];
  return { lines: all.slice(0, max).map((text) => ({ kind: classifyDiffLine(text), text })), more: Math.max(0, all.length - max) };
}

function lineHtml(line: DiffLine): string {
  if (line.kind === 'chg') {
    // `~ path: old → new`: the old value struck in red, the new in green.
    const arrow = line.text.lastIndexOf(' → ');
    const colon = line.text.indexOf(': ');
    if (arrow > colon && colon > 0) {
      const head = line.text.slice(0, colon + 2);
      const before = line.text.slice(colon + 2, arrow);
      const after = line.text.slice(arrow + 3);
      const room = Math.max(20, DIFF_LIMITS.line - head.length);
      return `<span class="d-chg">${txt(head, DIFF_LIMITS.line)}<del>${txt(before, room)}</del> → <ins>${txt(after, room)}</ins></span>`;
    }
  }
  return `<span class="d-${line.kind}">${txt(line.text, DIFF_LIMITS.line)}</span>`;
}

/** One diff as a <pre>, with a caption; an empty diff says so. */
export function diffHtml(caption: string, lines: unknown, more = 0): string {
  const parsed = diffLines(lines);
  const extra = parsed.more + (Number.isInteger(more) && more > 0 ? more : 0);
  const head = `<div class="diff"><div class="diff-head">${txt(caption, 300)}</div>`;
  if (parsed.lines.length === 0) return `${head}<p class="muted">No field differences recorded.</p></div>`;
  // Block spans, no newline between them: a newline inside <pre> would add an empty line.
  const body = parsed.lines.map(lineHtml).join('');
  return `${head}<pre>${body}${extra > 0 ? `<span class="d-ctx">… and ${extra} more</span>` : ''}</pre></div>`;
}

export const DIFF_CSS = `
.diff{margin:.5rem 0 1rem;border:1px solid #d0d7de;border-radius:6px;overflow:hidden}
.diff-head{background:#f6f8fa;padding:.3rem .6rem;font:600 .85rem ui-monospace,monospace;border-bottom:1px solid #d0d7de}
.diff pre{margin:0;padding:.4rem 0;overflow-x:auto;font:.8rem/1.45 ui-monospace,monospace}
.diff pre span{display:block;padding:0 .6rem;white-space:pre}
.d-add{background:#e6ffec;color:#116329}.d-del{background:#ffebe9;color:#82071e}.d-chg{background:#fff8c5;color:#4d2d00}
.d-chg del{background:#ffcecb;color:#82071e}.d-chg ins{background:#abf2bc;color:#116329;text-decoration:none}
.d-ctx{color:#57606a}`;
