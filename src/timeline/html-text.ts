// Text from an incident made safe for the HTML export: control characters made visible, cut to a
// length, then HTML-escaped (text and attribute values alike). Pure.
import { printable } from '../printable.js';

/** Longest text any one value of the incident may take in the document. */
export const HTML_TEXT_MAX = 2000;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes &, <, >, " and ': safe in element text and in quoted attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch] ?? ch);
}

/** Any value as one printable, capped, escaped line (non-strings become ''). */
export function txt(value: unknown, max: number = HTML_TEXT_MAX): string {
  if (typeof value === 'number' || typeof value === 'boolean') return esc(String(value));
  return typeof value === 'string' ? esc(printable(value, max)) : '';
}

/**
 * Like txt(), with the Slack-style `code` spans the summaries use shown as <code> and *bold*
 * markers dropped. Runs on escaped text, so a span can only wrap text that is already safe.
 */
export function richText(value: unknown, max: number = HTML_TEXT_MAX): string {
  return txt(value, max)
    .replace(/`([^`\n]{1,400})`/g, '<code>$1</code>')
    .replace(/\*([^*\n]{1,200})\*/g, '$1');
}

/** The same for text that may keep its line breaks (inside <pre>): each line printable and capped. */
export function multiline(value: unknown, max: number = HTML_TEXT_MAX, maxLines = 200): string {
  if (typeof value !== 'string') return '';
  const lines = value.split('\n');
  const kept = lines.slice(0, maxLines).map((l) => txt(l, max));
  return [...kept, ...(lines.length > maxLines ? [`… ${lines.length - maxLines} more lines`] : [])].join('\n');
}

/** A number fit for an SVG attribute: finite, at most two decimals. */
export function num(n: number): string {
  if (!Number.isFinite(n)) return '0';
  return String(Math.round(n * 100) / 100);
}
