// `netpol-tests.yaml`: the network test cases a repository keeps next to its policies. Parsed
// with positions so that every problem reads `file:line:col: cases[3].port: reason`, and all of
// them are reported at once (a CI run should not reveal mistakes one per push). Pure.
import { isNode, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { portNameError } from '../policy/compile-policy.js';
import { printable } from '../printable.js';
import { parseTestEndpoint } from './endpoint.js';

export const NET_TEST_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type NetTestProtocol = (typeof NET_TEST_PROTOCOLS)[number];
export type NetTestOrigin = 'file' | 'learned' | 'anomaly';

export interface NetTestCase {
  name?: string;
  /** `namespace/workload`, `namespace/workload[Kind]`, `namespace/pod`, an IP or a CIDR. */
  from: string;
  to: string;
  /** A number 1-65535, or a port name resolved on the destination pod. */
  port: number | string;
  protocol: NetTestProtocol;
  expect: 'allow' | 'deny';
  origin: NetTestOrigin;
  /** Line of the case in its file (origin 'file'). */
  line?: number;
}

export const NET_TEST_LIMITS = {
  maxFileBytes: 4 * 1024 * 1024,
  maxCases: 10_000,
  maxNameLength: 200,
  /** Problems kept (and printed); the rest are counted. */
  maxProblems: 200,
} as const;

export interface NetTestProblem {
  line: number;
  col: number;
  /** `cases[3].port`, or `(file)` for the whole file. */
  path: string;
  message: string;
}

export class NetTestFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: NetTestProblem[],
    /** Problems found beyond NET_TEST_LIMITS.maxProblems. */
    readonly omitted = 0,
  ) {
    const lines = problems.map((p) => `${printable(file, 300)}:${p.line}:${p.col}: ${p.path}: ${p.message}`);
    if (omitted > 0) lines.push(`… and ${omitted} more problem(s)`);
    super(lines.join('\n'));
    this.name = 'NetTestFileError';
  }
}

const CASE_KEYS = ['name', 'from', 'to', 'port', 'protocol', 'expect'] as const;

/** A required field read by hand, for messages that say what is expected (`.optional()` for the others). */
function field<T>(what: string, read: (value: unknown) => T | { error: string }) {
  return z.unknown().transform((value, ctx): T => {
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: `${what} is required` });
      return z.NEVER;
    }
    const out = read(value);
    if (typeof out === 'object' && out !== null && 'error' in out) {
      ctx.addIssue({ code: 'custom', message: out.error });
      return z.NEVER;
    }
    return out as T;
  });
}

// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const readName = (v: unknown): string | { error: string } => {
  if (typeof v !== 'string') return { error: 'name must be a string' };
  const name = v.trim();
  if (name.length === 0) return { error: 'name must not be empty (leave it out to name the case by its connection)' };
  if (name.length > NET_TEST_LIMITS.maxNameLength) return { error: `name is longer than ${NET_TEST_LIMITS.maxNameLength} characters` };
  if (CONTROL.test(name)) return { error: 'name must not contain control characters (line breaks, tabs, escapes)' };
  return name;
};

const readEndpoint = (what: string) => (v: unknown): string | { error: string } => {
  if (typeof v !== 'string') return { error: `${what} must be a string: <namespace>/<workload>, an IP address or a CIDR` };
  const parsed = parseTestEndpoint(v);
  return typeof parsed === 'string' ? { error: parsed } : v;
};

const readPort = (v: unknown): number | string | { error: string } => {
  if (typeof v === 'number') {
    return Number.isInteger(v) && v >= 1 && v <= 65535 ? v : { error: `port ${v} is out of range (1-65535)` };
  }
  if (typeof v !== 'string') return { error: 'port must be a number 1-65535 or a port name' };
  if (/^\d+$/.test(v)) return readPort(Number(v));
  const bad = portNameError(v);
  return bad ? { error: printable(bad, 200) } : v;
};

const readChoice =
  <T extends string>(what: string, choices: readonly T[], upper: boolean) =>
  (v: unknown): T | { error: string } => {
    const text = typeof v === 'string' ? (upper ? v.toUpperCase() : v.toLowerCase()) : undefined;
    if (text !== undefined && (choices as readonly string[]).includes(text)) return text as T;
    return { error: `${what} must be one of ${choices.join(', ')}${typeof v === 'string' ? ` (got "${printable(v, 40)}")` : ''}` };
  };

const caseSchema = z.strictObject({
  name: field('name', readName).optional(),
  from: field('from', readEndpoint('from')),
  to: field('to', readEndpoint('to')),
  port: field('port', readPort),
  protocol: field('protocol', readChoice('protocol', NET_TEST_PROTOCOLS, true)).optional(),
  expect: field('expect', readChoice('expect', ['allow', 'deny'] as const, false)),
});

function isAddress(text: string): boolean {
  const parsed = parseTestEndpoint(text);
  return typeof parsed !== 'string' && parsed.kind === 'address';
}

function pathText(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(file)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${printable(String(p), 60)}`)).join('');
}

class Problems {
  readonly list: NetTestProblem[] = [];
  omitted = 0;

  constructor(
    private readonly document: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Position of the deepest node of `path` that exists; with `key`, of that key in its mapping. */
  position(path: readonly (string | number)[], key?: string): { line: number; col: number } {
    if (key !== undefined) {
      const map = path.length === 0 ? this.document.contents : this.document.getIn(path, true);
      const items = isNode(map) && 'items' in map && Array.isArray(map.items) ? (map.items as unknown[]) : [];
      const pair = items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
      if (isPair(pair) && isNode(pair.key) && pair.key.range) return this.lines.linePos(pair.key.range[0]);
    }
    for (let depth = path.length; depth >= 0; depth -= 1) {
      const node = depth === 0 ? this.document.contents : this.document.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]);
    }
    return { line: 1, col: 1 };
  }

  add(path: readonly (string | number)[], message: string, key?: string): void {
    if (this.list.length >= NET_TEST_LIMITS.maxProblems) {
      this.omitted += 1;
      return;
    }
    const at = this.position(path, key);
    this.list.push({ ...at, path: pathText(key !== undefined ? [...path, key] : path), message });
  }
}

function unknownKeyMessage(valid: readonly string[]): string {
  return `unknown key (valid: ${valid.join(', ')})`;
}

/**
 * Parses the text of a netpol-tests.yaml. Throws NetTestFileError listing every problem, in
 * file order. Case names must be unique (they identify a case in reports and JUnit output);
 * unnamed cases are named by their connection.
 */
export function parseTestCases(text: string, file: string): { cases: NetTestCase[] } {
  const bytes = Buffer.byteLength(text);
  if (bytes > NET_TEST_LIMITS.maxFileBytes) {
    throw new NetTestFileError(file, [{ line: 1, col: 1, path: '(file)', message: `the file is ${(bytes / 1024 / 1024).toFixed(1)} MiB; at most ${NET_TEST_LIMITS.maxFileBytes / 1024 / 1024} MiB is read` }]);
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  // Only the first syntax error: the parser's later ones are mostly echoes of it.
  const syntax = document.errors[0];
  if (syntax) {
    const pos = syntax.linePos?.[0] ?? { line: 1, col: 1 };
    const reason = (syntax.message.split('\n')[0] ?? 'invalid YAML').replace(/ at line \d+, column \d+:?$/, '');
    throw new NetTestFileError(file, [{ line: pos.line, col: pos.col, path: '(file)', message: `invalid YAML: ${printable(reason, 300)}` }]);
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new NetTestFileError(file, [{ line: 1, col: 1, path: '(file)', message: `invalid YAML: ${(error as Error).message}` }]);
  }
  const problems = new Problems(document, lines);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    problems.add([], data === null || data === undefined ? 'the file is empty: expected a mapping with a `cases:` list' : 'expected a mapping with a `cases:` list');
    throw new NetTestFileError(file, problems.list);
  }
  for (const key of Object.keys(data)) if (key !== 'cases') problems.add([], unknownKeyMessage(['cases']), key);
  const list = (data as { cases?: unknown }).cases;
  if (!Array.isArray(list)) {
    problems.add(['cases'], list === undefined ? 'cases is required: a list of {name?, from, to, port, protocol?, expect}' : 'cases must be a list of {name?, from, to, port, protocol?, expect}');
    throw new NetTestFileError(file, problems.list);
  }
  if (list.length === 0) problems.add(['cases'], 'cases is empty: give at least one case');
  if (list.length > NET_TEST_LIMITS.maxCases) {
    problems.add(['cases'], `${list.length} cases; at most ${NET_TEST_LIMITS.maxCases} are allowed (split the file, or test fewer connections)`);
    throw new NetTestFileError(file, problems.list);
  }

  const cases: NetTestCase[] = [];
  const names = new Map<string, number>();
  list.forEach((item, i) => {
    const at = ['cases', i];
    const line = problems.position(at).line;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.add(at, 'a case must be a mapping {name?, from, to, port, protocol?, expect}');
      return;
    }
    const parsed = caseSchema.safeParse(item);
    const invalid = new Set<string | number>();
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        if (path[0] !== undefined) invalid.add(path[0]);
        if (issue.code === 'unrecognized_keys') for (const key of issue.keys) problems.add([...at, ...path], unknownKeyMessage(CASE_KEYS), key);
        else problems.add([...at, ...path], issue.message);
      }
    }
    // Checks across fields, on the fields that are valid on their own (so every mistake shows at once).
    const raw = item as Record<string, unknown>;
    const valid = (key: string): boolean => raw[key] !== undefined && !invalid.has(key);
    let ok = parsed.success;
    if (valid('from') && valid('to') && isAddress(raw.from as string) && isAddress(raw.to as string)) {
      problems.add([...at, 'to'], 'from and to are both addresses: one side must be a workload of the cluster');
      ok = false;
    }
    if (valid('port') && valid('to') && typeof raw.port === 'string' && !/^\d+$/.test(raw.port) && isAddress(raw.to as string)) {
      problems.add([...at, 'port'], `named port "${raw.port}" is resolved on the destination pod, but to is an address: give the port number`);
      ok = false;
    }
    if (valid('name')) {
      const name = readName(raw.name) as string;
      const first = names.get(name);
      if (first !== undefined) {
        problems.add([...at, 'name'], `"${printable(name, 80)}" is already the name of cases[${first}] (line ${problems.position(['cases', first]).line}): names identify cases in reports`);
        ok = false;
      } else names.set(name, i);
    }
    if (ok && parsed.success) {
      const c = parsed.data;
      cases.push({ ...(c.name !== undefined ? { name: c.name } : {}), from: c.from, to: c.to, port: c.port, protocol: c.protocol ?? 'TCP', expect: c.expect, origin: 'file', line });
    }
  });
  if (problems.list.length > 0) {
    const sorted = [...problems.list].sort((a, b) => a.line - b.line || a.col - b.col);
    throw new NetTestFileError(file, sorted, problems.omitted);
  }
  return { cases };
}

/** How a case is called in reports: its name, else its connection. */
export function caseTitle(c: Pick<NetTestCase, 'name' | 'from' | 'to' | 'port' | 'protocol'>): string {
  return c.name ?? `${c.from} → ${c.to} ${c.port}/${c.protocol}`;
}
