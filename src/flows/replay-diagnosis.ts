// What replay tells a user whose capture did not give what they expected (pure): what a file
// that holds no flow seems to be instead, and how long a capture is against the learning period.
import { printable } from '../printable.js';

export const EXPECTED_INPUT = "replay reads `hubble observe -o json` output (one JSON record per line) or the Hubble flow exporter's file (events.log).";

/** The beginning of a line as it may be shown: escaped, cut to a few dozen characters. */
export function excerpt(line: string, max = 100): string {
  return printable(line, max);
}

const COMPACT = /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(\.\d+)?: /;
const YAML_START = /^(---|%YAML|apiVersion:|kind:|[A-Za-z_][\w.-]*:(\s|$)|- )/;

function binary(line: string): boolean {
  let odd = 0;
  for (const ch of line.slice(0, 512)) {
    const code = ch.codePointAt(0) ?? 0;
    if ((code < 0x20 && ch !== '\t') || code === 0xfffd || (code >= 0x7f && code < 0xa0)) odd += 1;
  }
  return odd > 0 && odd * 20 >= Math.min(line.length, 512);
}

/**
 * What the first lines of an input that held no flow look like, with the fix when there is one
 * (undefined when nothing is recognised). `lines` are raw, non-blank and may be cut short.
 */
export function guessInput(lines: readonly string[]): string | undefined {
  const content = lines.filter((l) => !l.startsWith('#'));
  if (content.some((l) => COMPACT.test(l))) return 'It looks like `hubble observe` text output: capture with `hubble observe -o json` instead.';
  const first = content[0] ?? '';
  if (/^\s*[[{]\s*$/.test(first) || (/^\s*[[{]/.test(first) && content.slice(1).some((l) => /^\s+"/.test(l)))) {
    return 'It looks like JSON spread over several lines: replay needs one record per line (e.g. `jq -c .` turns an array or pretty-printed records into lines).';
  }
  if (content.some(binary)) return 'It looks like binary data: if it is a compressed capture (.gz), decompress it first.';
  if (YAML_START.test(first)) return 'It looks like YAML (Kubernetes manifests go to `analyze`, `diff` and `lint`).';
  return undefined;
}

/** "1 h 5 min", "2 min 30 s", "45 s", "0.8 s". */
export function durationText(ms: number): string {
  if (ms < 10_000) return `${Math.round(ms / 100) / 10} s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return rest > 0 ? `${m} min ${rest} s` : `${m} min`;
  return `${rest} s`;
}

/** Why no anomaly can come out of a capture that never left the learning period, and what to do. */
export function learningNote(spanMs: number, learningPeriodMs: number): string {
  const minutes = spanMs / 60_000;
  // Below a tenth of a minute there is no useful learning period to suggest: only --learn helps.
  const shorter = minutes >= 0.1 ? `, or make the learning period shorter than the capture (--learning-minutes N, N below ${minutes < 10 ? Math.floor(minutes * 10) / 10 : Math.floor(minutes)})` : '';
  return (
    `No anomaly could be raised: the capture spans ${durationText(spanMs)} of flows, within the ${durationText(learningPeriodMs)} learning period, ` +
    `so all of it was learned as normal traffic. Learn from a capture of normal traffic first (--learn CAPTURE)${shorter}.`
  );
}
