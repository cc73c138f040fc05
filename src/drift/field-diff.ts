// A compact field diff between two canonical objects (from ./normalize.ts, set-like lists in their
// written order), and its text form. Set-like lists are compared as sets: an element that moved is
// no change; one that changed is paired with its counterpart and diffed inside. Ordered lists are
// aligned on their common elements, so one inserted rule is one line, not a shift of every index.
// Pure.
import { canonicalText } from './normalize.js';

/** `added`: only the live object has it; `removed`: only Git's has it; `changed`: both, different. */
export interface FieldDiff {
  path: string;
  op: 'added' | 'removed' | 'changed';
  live?: unknown;
  desired?: unknown;
  /** An ordered list holds the same elements in another order (live/desired: their names or the lists). */
  reordered?: true;
}

interface Sides {
  live: WeakSet<unknown[]>;
  desired: WeakSet<unknown[]>;
}

/** Above this many candidate pairs, leftover set elements are listed as added and removed, not paired. */
const MAX_PAIRING = 10_000;
/** Above this many cells, ordered lists are compared position by position instead of aligned. */
const MAX_ALIGNMENT = 1_000_000;

type Obj = Record<string, unknown>;

function isRecord(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function child(path: string, key: string): string {
  if (!PLAIN_KEY.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

function sameType(a: unknown, b: unknown): boolean {
  return Array.isArray(a) === Array.isArray(b) && isRecord(a) === isRecord(b);
}

/** How alike two map elements are: fields equal on both count 2, fields present on both count 1. */
function likeness(a: unknown, b: unknown, sides: Sides): number {
  if (!isRecord(a) || !isRecord(b)) return 0;
  let score = 0;
  for (const key of Object.keys(a)) {
    if (!(key in b)) continue;
    score += canonicalText(a[key], sides.live) === canonicalText(b[key], sides.desired) ? 2 : 1;
  }
  return score;
}

class Differ {
  readonly out: FieldDiff[] = [];
  constructor(private readonly sides: Sides) {}

  value(live: unknown, desired: unknown, path: string): void {
    if (Array.isArray(live) && Array.isArray(desired)) {
      if (this.sides.live.has(live) || this.sides.desired.has(desired)) this.set(live, desired, path);
      else this.list(live, desired, path);
      return;
    }
    if (isRecord(live) && isRecord(desired)) return this.map(live, desired, path);
    if (canonicalText(live, this.sides.live) !== canonicalText(desired, this.sides.desired)) this.out.push({ path, op: 'changed', live, desired });
  }

  private map(live: Obj, desired: Obj, path: string): void {
    const keys = [...new Set([...Object.keys(live), ...Object.keys(desired)])].sort();
    for (const key of keys) {
      const p = child(path, key);
      if (!(key in desired)) this.out.push({ path: p, op: 'added', live: live[key] });
      else if (!(key in live)) this.out.push({ path: p, op: 'removed', desired: desired[key] });
      else this.value(live[key], desired[key], p);
    }
  }

  /** Pairs leftover elements that look alike and diffs them; the rest are added or removed. */
  private leftovers(live: unknown[], liveIdx: number[], desired: unknown[], desiredIdx: number[], path: string, positional: boolean): void {
    const pairs = new Map<number, number>();
    if (positional) {
      for (let k = 0; k < Math.min(liveIdx.length, desiredIdx.length); k++) {
        const i = liveIdx[k] as number;
        const j = desiredIdx[k] as number;
        if (sameType(live[i], desired[j])) pairs.set(i, j);
      }
    } else if (liveIdx.length === 1 && desiredIdx.length === 1 && sameType(live[liveIdx[0] as number], desired[desiredIdx[0] as number])) {
      pairs.set(liveIdx[0] as number, desiredIdx[0] as number);
    } else if (liveIdx.length * desiredIdx.length <= MAX_PAIRING) {
      const free = new Set(liveIdx);
      for (const j of desiredIdx) {
        let best: number | undefined;
        let bestScore = 0;
        for (const i of free) {
          const score = likeness(live[i], desired[j], this.sides);
          if (score > bestScore) [best, bestScore] = [i, score];
        }
        if (best !== undefined) {
          pairs.set(best, j);
          free.delete(best);
        }
      }
    }
    const paired = new Set(pairs.values());
    for (const i of liveIdx) {
      const j = pairs.get(i);
      if (j === undefined) this.out.push({ path: `${path}[${i}]`, op: 'added', live: live[i] });
      else this.value(live[i], desired[j], `${path}[${i}]`);
    }
    for (const j of desiredIdx) if (!paired.has(j)) this.out.push({ path: `${path}[${j}]`, op: 'removed', desired: desired[j] });
  }

  private set(live: unknown[], desired: unknown[], path: string): void {
    const liveTexts = live.map((v) => canonicalText(v, this.sides.live));
    const desiredTexts = desired.map((v) => canonicalText(v, this.sides.desired));
    // Set semantics: an element the other side has is no difference, and neither is a duplicate.
    const onlyIn = (texts: string[], other: Set<string>): number[] => {
      const seen = new Set<string>();
      const out: number[] = [];
      texts.forEach((t, i) => {
        if (!other.has(t) && !seen.has(t)) out.push(i);
        seen.add(t);
      });
      return out;
    };
    this.leftovers(live, onlyIn(liveTexts, new Set(desiredTexts)), desired, onlyIn(desiredTexts, new Set(liveTexts)), path, false);
  }

  private list(live: unknown[], desired: unknown[], path: string): void {
    const lt = live.map((v) => canonicalText(v, this.sides.live));
    const dt = desired.map((v) => canonicalText(v, this.sides.desired));
    if (lt.length === dt.length && lt.every((t, i) => t === dt[i])) return;
    if (lt.length === dt.length && [...lt].sort().join('\u0000') === [...dt].sort().join('\u0000')) {
      this.out.push({ path, op: 'changed', live: orderOf(live), desired: orderOf(desired), reordered: true });
      return;
    }
    const matches = live.length * desired.length <= MAX_ALIGNMENT ? align(lt, dt) : [];
    let i = 0;
    let j = 0;
    for (const [mi, mj] of [...matches, [live.length, desired.length] as const]) {
      const liveGap = range(i, mi);
      const desiredGap = range(j, mj);
      if (liveGap.length > 0 || desiredGap.length > 0) this.leftovers(live, liveGap, desired, desiredGap, path, true);
      i = mi + 1;
      j = mj + 1;
    }
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
}

/** Rule names when every element has one (AdminNetworkPolicy rules), else the elements. */
function orderOf(list: unknown[]): unknown[] {
  return list.every((v) => isRecord(v) && typeof v.name === 'string') ? list.map((v) => (v as Obj).name) : list;
}

/** Index pairs of a longest common subsequence of two text lists. */
function align(a: string[], b: string[]): Array<readonly [number, number]> {
  const n = a.length;
  const m = b.length;
  const table = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number): number => table[i * (m + 1) + j] as number;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) table[i * (m + 1) + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
  }
  const out: Array<readonly [number, number]> = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push([i, j]);
      i++;
      j++;
    } else if (at(i + 1, j) >= at(i, j + 1)) i++;
    else j++;
  }
  return out;
}

/** The field differences from Git's canonical object to the live one (paths like `spec.ingress[0].from[1].ipBlock.cidr`). */
export function diffCanonical(live: Obj, desired: Obj, sets: Sides): FieldDiff[] {
  const differ = new Differ(sets);
  differ.value(live, desired, '');
  return differ.out;
}

const MAX_VALUE_TEXT = 100;
/** Strings shown unquoted: not empty, not padded, nothing that reads as a number, boolean, null or structure. */
const NEEDS_QUOTES = /^$|^\s|\s$|[\n"'{}[\],]|^(true|false|null|[-+]?\d+(\.\d+)?)$/;

function render(value: unknown): string {
  if (typeof value === 'string') return NEEDS_QUOTES.test(value) ? JSON.stringify(value) : value;
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  if (isRecord(value)) return `{${Object.entries(value).map(([k, v]) => `${PLAIN_KEY.test(k) ? k : JSON.stringify(k)}: ${render(v)}`).join(', ')}}`;
  return String(value);
}

function short(value: unknown): string {
  const text = render(value);
  return text.length > MAX_VALUE_TEXT ? `${text.slice(0, MAX_VALUE_TEXT - 1)}…` : text;
}

/**
 * One line per difference: `~ path: <Git> → <live>`, `+ path: <live>` (only live has it),
 * `- path: <Git>` (only Git has it). At most `maxLines` lines, the last saying how many more.
 */
export function formatFieldDiff(diff: readonly FieldDiff[], maxLines = 20): string[] {
  const limit = Number.isFinite(maxLines) ? Math.max(1, Math.floor(maxLines)) : 20;
  const line = (d: FieldDiff): string => {
    if (d.op === 'added') return `+ ${d.path}: ${short(d.live)}`;
    if (d.op === 'removed') return `- ${d.path}: ${short(d.desired)}`;
    return `~ ${d.path}: ${d.reordered ? 'order ' : ''}${short(d.desired)} → ${short(d.live)}`;
  };
  if (diff.length <= limit) return diff.map(line);
  const shown = diff.slice(0, limit - 1).map(line);
  const more = diff.length - shown.length;
  return [...shown, `… ${more} more difference${more === 1 ? '' : 's'}`];
}
