// Text taken from the user's input (a line of a capture, an argument, a path) made safe to print
// on a terminal: control characters and bidirectional overrides are escaped, so a hostile input
// cannot move the cursor, clear the screen or reorder what the reader sees.

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/gu;

function escape(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (ch === '\t') return '\\t';
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** The text with unsafe characters escaped, cut to `max` characters (with "…") when longer. */
export function printable(text: string, max = Number.POSITIVE_INFINITY): string {
  // Cut first (by code points, never splitting a surrogate pair) so a huge input costs little.
  const chars = Array.from(text.length > max * 2 + 2 ? text.slice(0, max * 2 + 2) : text);
  const cut = chars.length > max;
  const kept = cut ? chars.slice(0, max).join('') : chars.join('');
  return `${kept.replace(UNSAFE, escape)}${cut ? '…' : ''}`;
}

/** A multi-line text (a report) with every line made printable; the line breaks stay. */
export function printableLines(text: string): string {
  return text.split('\n').map((line) => printable(line)).join('\n');
}
