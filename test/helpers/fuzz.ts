// Shared pieces of the property tests (test/unit/fuzz-*.test.ts): the run count, the checks every
// input family gets (a clear error, no prototype pollution) and structure-aware mutations of a
// valid sample (keys deleted, types swapped, huge strings, deep nesting, `__proto__` and friends).
import fc from 'fast-check';
import { expect } from 'vitest';

/** Runs per property: 200 in `npm test`; more with FUZZ_RUNS (e.g. FUZZ_RUNS=20000 for chaos runs). */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 200);

export function fuzzOptions(seed: number): { seed: number; numRuns: number } {
  return { seed, numRuns: FUZZ_RUNS };
}

/** Per-test timeout: 5 s at the default, growing with FUZZ_RUNS (set with vi.setConfig in each file). */
export const FUZZ_TIMEOUT_MS = Math.max(5000, FUZZ_RUNS * 10);

const CHUNK = 1000;

/**
 * fc.assert in chunks of 1000 runs (seeds seed, seed+1, ...), yielding to the event loop between
 * them: a long synchronous run (FUZZ_RUNS=20000) would otherwise starve vitest's worker RPC. At the
 * default (200 runs) this is one fc.assert with the given seed.
 */
export async function fuzzAssert<Ts>(property: fc.IProperty<Ts>, options: fc.Parameters<Ts> & { seed: number; numRuns: number }): Promise<void> {
  for (let done = 0, chunk = 0; done < options.numRuns; chunk++) {
    const runs = Math.min(CHUNK, options.numRuns - done);
    fc.assert(property, { ...options, seed: options.seed + chunk, numRuns: runs });
    done += runs;
    if (done < options.numRuns) await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Keys that reach Object.prototype or shadow its methods when a parser copies or stringifies. */
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'toJSON'] as const;

const BASELINE = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

/** Object.prototype as it was when this module loaded: no key added, `({}).polluted` unset. */
export function expectNoPollution(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort().join(',')).toBe(BASELINE);
  const probe = {} as Record<string, unknown>;
  expect(probe.polluted).toBeUndefined();
  expect(probe.isAdmin).toBeUndefined();
}

// Control characters and bidi overrides; tab and line feed are fine in a message.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u;

/** A message a person can act on: non-empty, at most `max` characters, nothing unprintable. */
export function expectClearMessage(message: unknown, max: number): void {
  expect(typeof message).toBe('string');
  const text = message as string;
  expect(text.trim().length).toBeGreaterThan(0);
  expect(text.length).toBeLessThanOrEqual(max);
  expect(text).not.toMatch(UNPRINTABLE);
}

/** Arrays nested `depth` deep around `inner`. */
export function nested(depth: number, inner: unknown = 1): unknown {
  let value: unknown = inner;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Values that break assumptions: wrong types, huge strings, deep nesting, hostile objects. */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1e308, '', [], {}, '\u0000\u001b[2J\u202e', 'x'.repeat(100_000)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(...HOSTILE_KEYS).map((key) => withOwnKey({}, key, { polluted: true, isAdmin: true })),
  fc.integer({ min: 50, max: 2000 }).map((depth) => nested(depth)),
);

/** Sets `key` as an own property (as JSON.parse does for "__proto__"), not through the setter. */
export function withOwnKey<T extends object>(target: T, key: string, value: unknown): T {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

type Path = (string | number)[];

function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (out.length > 2000) return out;
  if (Array.isArray(value)) value.forEach((item, i) => pathsOf(item, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) pathsOf(item, [...prefix, key], out);
  return out;
}

interface Mutation {
  path: Path;
  op: 'delete' | 'replace' | 'hostile' | 'stringify';
  value: unknown;
  key: string;
}

function apply(root: unknown, mutation: Mutation): unknown {
  const { path, op } = mutation;
  if (path.length === 0) return op === 'replace' ? mutation.value : op === 'hostile' && root !== null && typeof root === 'object' ? withOwnKey(root, mutation.key, mutation.value) : root;
  let parent: unknown = root;
  for (const step of path.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return root;
    parent = (parent as Record<string | number, unknown>)[step];
  }
  if (parent === null || typeof parent !== 'object') return root;
  const holder = parent as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (!Object.prototype.hasOwnProperty.call(holder, last)) return root;
  switch (op) {
    case 'delete':
      // Not splice(): an earlier mutation may have given the array an own `constructor`, which splice() follows.
      if (Array.isArray(holder)) {
        for (let i = Number(last); i < holder.length - 1; i++) holder[i] = holder[i + 1];
        holder.length -= 1;
      }
      else delete holder[last];
      break;
    case 'replace':
      withOwnKey(holder, String(last), mutation.value);
      break;
    case 'stringify':
      holder[last] = JSON.stringify(holder[last]) ?? 'undefined';
      break;
    case 'hostile': {
      const target = holder[last];
      if (target !== null && typeof target === 'object') withOwnKey(target, mutation.key, mutation.value);
      else withOwnKey(holder, mutation.key, mutation.value);
      break;
    }
  }
  return root;
}

/** 1..maxMutations structure-aware mutations of a deep copy of `sample` (a JSON value). */
export function mutationsOf(sample: unknown, maxMutations = 4): fc.Arbitrary<unknown> {
  const paths = pathsOf(sample);
  const mutation: fc.Arbitrary<Mutation> = fc.record({
    path: fc.constantFrom(...paths),
    op: fc.constantFrom<Mutation['op']>('delete', 'replace', 'replace', 'hostile', 'stringify'),
    value: oddValue,
    key: fc.constantFrom<string>(...HOSTILE_KEYS),
  });
  return fc.array(mutation, { minLength: 1, maxLength: maxMutations }).map((mutations) => {
    let value = JSON.parse(JSON.stringify(sample)) as unknown;
    for (const m of mutations) value = apply(value, m);
    return value;
  });
}

/** Values that defeat String(), `+`, `${}` and key lookups: own toString/valueOf that are not functions, and type swaps. */
export const hostileValue: fc.Arbitrary<unknown> = fc.constantFrom<unknown>(
  { toString: 1 },
  { valueOf: 1, toString: 'x' },
  [{ toString: 1 }],
  withOwnKey({}, '__proto__', { polluted: true }),
  { constructor: { prototype: { polluted: true } } },
  null,
  [],
  {},
  0,
  true,
  'x'.repeat(100_000),
);

/** A valid sample with one of its fields (any depth) replaced by a hostile value. */
export function fieldSwapsOf(sample: unknown): fc.Arbitrary<unknown> {
  const paths = pathsOf(sample).filter((path) => path.length > 0);
  return fc.tuple(fc.constantFrom(...paths), hostileValue).map(([path, value]) => apply(JSON.parse(JSON.stringify(sample)) as unknown, { path, op: 'replace', value, key: '' }));
}

/** Like JSON.stringify, but never throws (a value with a throwing toJSON becomes "null"). */
export function toJsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return 'null';
  }
}

/** Text of any kind, as a parser of text sees it: random bytes, random JSON, or a mutated valid sample. */
export function textAround(sample: unknown): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 500 }),
    fc.uint8Array({ maxLength: 500 }).map((bytes) => Buffer.from(bytes).toString('utf8')),
    fc.json({ maxDepth: 4 }),
    mutationsOf(sample).map(toJsonText),
    mutationsOf(sample).map(toJsonText),
    fieldSwapsOf(sample).map(toJsonText),
    fieldSwapsOf(sample).map(toJsonText),
  );
}
