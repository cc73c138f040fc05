// The fast reader of plain block YAML against the YAML library: whenever the fast reader answers,
// its documents, values (key order, number kinds) and lines are the library's, for generated
// manifests in every style the library writes, hand-made edge cases, and thousands of random
// mutations of them; everything outside the subset is left to the library (undefined).
import { describe, expect, it } from 'vitest';
import { stringify, type ToStringOptions } from 'yaml';
import { locatedObjects, yamlDocumentsByLibrary } from '../../src/git/manifests.js';
import { plainYamlDocuments, resolvePlain } from '../../src/git/render-plain-yaml.js';
import { seededRandom } from '../../src/sim/random.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';

/** A value as text with key order and number kinds (NaN, -0, Infinity) kept, for exact comparison. */
function canon(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? 'n:-0' : `n:${String(value)}`;
  if (Array.isArray(value)) return `[${value.map(canon).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    if (Object.getPrototypeOf(value) !== Object.prototype) return `proto?${JSON.stringify(value)}`;
    return `{${Object.keys(value).map((k) => `${JSON.stringify(k)}:${canon((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return `${typeof value}:${JSON.stringify(value)}`;
}

const byLibrary = (text: string) => {
  const { documents, problems } = yamlDocumentsByLibrary(text);
  return { problems, documents: documents.map((d) => ({ document: d.document, value: canon(d.value), line: d.value !== null && typeof d.value === 'object' ? d.line : undefined, itemLines: d.itemLines })) };
};

/** The fast reader's answer in the library's form, or undefined when it leaves the text to the library. */
const fast = (text: string) => {
  const documents = plainYamlDocuments(text);
  return documents?.map((d) => ({ document: d.document, value: canon(d.value), line: d.value !== null && typeof d.value === 'object' ? d.line : undefined, itemLines: d.itemLines }));
};

/** Asserts agreement; says whether the fast reader answered. */
function agrees(text: string): boolean {
  const answer = fast(text);
  if (answer === undefined) return false;
  const reference = byLibrary(text);
  expect({ text, problems: reference.problems }).toEqual({ text, problems: [] });
  // Lines of items matter only where an item is an object (the others are not used).
  const items = (docs: typeof answer) => docs.map((d) => ({ ...d, itemLines: d.itemLines === undefined ? undefined : d.itemLines.filter((_, i) => itemIsObject(text, d.document, i)) }));
  expect({ text, documents: items(answer) }).toEqual({ text, documents: items(reference.documents) });
  return true;
}

function itemIsObject(text: string, document: number, index: number): boolean {
  const doc = yamlDocumentsByLibrary(text).documents.find((d) => d.document === document)?.value as { items?: unknown[] } | undefined;
  const item = doc?.items?.[index];
  return item !== null && typeof item === 'object' && !Array.isArray(item);
}

const TRICKY = [
  'true', 'True', 'TRUE', 'yes', 'no', 'on', 'off', 'null', 'Null', '~', '', ' ', '1', '-1', '+1', '01', '0755', '0o17', '0x1F', '0b101', '1_000', '1e3', '1.5e-3',
  '.5', '5.', '1.0', '1.50', '.inf', '-.Inf', '.nan', '.NaN', '1:20', '10.0.0.0/8', 'a: b', 'a:b', 'a:', ':a', '#x', 'x #y', 'x#y', "it's", 'say "hi"', ' lead', 'trail ',
  '-', '- a', '-a', '--', '---', '...', '?', '? x', '@x', '`x', '%x', '&a', '*a', '!t', '|', '>', 'a,b', '[x]', '{x}', '[]', '{}', "'q'", '"q"', 'é', 'a\tb', 'two\nlines',
  'a  b', '__proto__', 'constructor', 'toString', 'x'.repeat(1100), '9007199254740993', '-0', '0.0', '1e400',
];

/** Manifest-like: a map at the top, mostly scalars and maps inside, now and then a list of lists. */
function randomValue(rand: () => number, depth: number): unknown {
  const r = depth === 0 ? 0.9 : rand();
  if (depth > 3 || r < 0.45) {
    const s = rand();
    if (s < 0.15) return TRICKY[Math.floor(rand() * TRICKY.length)];
    if (s < 0.5) return ['web', 'networking.k8s.io/v1', '10.0.0.0/24', 'TCP', 'kube-system', 'db-0', 'Ingress'][Math.floor(rand() * 7)];
    if (s < 0.7) return Math.floor(rand() * 70000) - 5;
    if (s < 0.8) return [0.5, -2.25, 1e21, NaN, Infinity, -0, 3][Math.floor(rand() * 7)];
    if (s < 0.9) return rand() < 0.5;
    return null;
  }
  if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => (rand() < 0.9 ? randomValue(rand, depth + 1) : randomValue(rand, 4)));
  const map: Record<string, unknown> = {};
  for (let i = Math.floor(rand() * 5); i > 0; i--) {
    const key = rand() < 0.9 ? ['name', 'app.kubernetes.io/name', 'k8s-app', 'ports', 'items', 'x_y', 'port'][Math.floor(rand() * 7)] : TRICKY[Math.floor(rand() * TRICKY.length)];
    map[key as string] = randomValue(rand, depth + 1);
  }
  return map;
}

const STYLES: ToStringOptions[] = [
  {},
  { indentSeq: false },
  { indent: 4 },
  { defaultStringType: 'QUOTE_DOUBLE' },
  { defaultStringType: 'QUOTE_SINGLE', defaultKeyType: 'PLAIN' },
  { lineWidth: 0 },
  { lineWidth: 20, minContentWidth: 5 },
  { collectionStyle: 'flow' },
  { nullStr: '~', trueStr: 'True' },
];

/** Random line edits: indentation, deleted, doubled and swapped lines, comments, markers, tabs. */
function mutate(text: string, rand: () => number): string {
  const lines = text.split('\n');
  const at = () => Math.floor(rand() * lines.length);
  for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
    const i = at();
    const line = lines[i] ?? '';
    const r = rand();
    if (r < 0.15) lines[i] = ` ${line}`;
    else if (r < 0.3) lines[i] = line.replace(/^ {1,2}/, '');
    else if (r < 0.4) lines.splice(i, 1);
    else if (r < 0.5) lines.splice(i, 0, line);
    else if (r < 0.6) lines.splice(i, 0, `${' '.repeat(Math.floor(rand() * 6))}# comment`);
    else if (r < 0.65) lines.splice(i, 0, '---');
    else if (r < 0.75) lines[i] = `${line} # note`;
    else if (r < 0.8) lines[i] = line.replace(' ', '\t');
    else if (r < 0.9) {
      const j = at();
      [lines[i], lines[j]] = [lines[j] ?? '', line];
    } else lines[i] = `${line}${[':', ' x', ': y', "'", '"', ' &a', ' *a', ' |', ' {', ' ['][Math.floor(rand() * 10)]}`;
  }
  return lines.join(rand() < 0.1 ? '\r\n' : '\n');
}

describe('the fast reader of plain block YAML', () => {
  it('reads the manifests the library writes, with the library’s values and lines', () => {
    const policies = (syntheticCluster({ pods: 100, policiesPerPod: 2, openNamespaces: 0, seed: 3 }) as Array<Record<string, unknown>>).filter((o) => o.kind === 'NetworkPolicy');
    const file = policies.map((p) => stringify(p)).join('---\n');
    expect(agrees(file)).toBe(true);
    expect(agrees(`# policies of ns-0\n---\n${file}---\n`)).toBe(true);
    expect(agrees(stringify({ apiVersion: 'v1', kind: 'List', items: policies.slice(0, 5) }))).toBe(true);
    expect(agrees(stringify({ apiVersion: 'v1', kind: 'List', items: policies.slice(0, 5) }, { indentSeq: false }))).toBe(true);
    expect(agrees(policies.map((p) => stringify(p, { indent: 4 })).join('---\n'))).toBe(true);
    const objects = locatedObjects(file, 'p.yaml').objects;
    expect(objects).toHaveLength(policies.length);
    expect(objects[1]?.line).toBe(file.split('\n').indexOf('---') + 2);
  });

  it('agrees with the library on hand-made cases, and leaves what is outside the subset to it', () => {
    const taken = [
      '', '# only a comment\n', '---\n', 'a: 1\n---\n', '---\na: 1\n---\n---\nb: 1\n', '# c\n---\na: 1', 'a: 1\n---\n# only\n---\nb: 2', '\n\n  a: 1\n  b: 2\n',
      'items:\n-\n  a: 1\n- # c\n  b: 2\n-   c: 3\n    d: 4\n', 'kind: List\nitems:\n  - a: 1\n  - b\n  -\n  - c: [] # x\n', 'a:\n  # c\n  b: 1\n', 'a: b\n  # c\n', 'a:\n- 1\n- 2\nb: 3', 'a:\n -\n',
      '1: a\n1.5: b\ntrue: c\nnull: d\n0x1F: e\n1e3: f\n', 'a: it\'s "x"\n', 'a: b,c[d]\n', 'a: "x #y" # z\nb: \'it\'\'s\'\n', '--- # first\na: 1\n---   \nb: 2\n', 'a: 1\r\nb:\r\n- 2\r\n',
      'a: x # é ü — comments may hold anything\n', 'k: {}\nl: []\n', 'constructor: 1\ntoString: 2\n', 'a: -1\nb: +2\nc: .5\nd: 1e3\ne: 0o17\nf: 0x1f\ng: .nan\nh: -.inf\ni: 1_000\n',
      '- a\n- b: 1\n  c: 2\n-\n  - x\n', 'a:\n  b:\n    c:\n      d: 1\n  e: 2\nf: 3\n', 'a: x:y\nb: http://h:80/p\n',
    ];
    for (const text of taken) expect(agrees(text), text).toBe(true);
    const leftToLibrary = [
      'a: &x 1\nb: *x\n', 'a: !!str 1\n', 'a: |\n  text\n', 'a: >\n  text\n', 'a: [1, 2]\n', 'a: {b: 1}\n', 'k: x\n  y\n', 'a: "x\n  y"\n', 'a: "\\n"\n', 'a: 1\na: 2\n', '1: a\n1.0: b\n', 'a:\tb\n',
      '%YAML 1.2\n---\na: 1\n', 'a: 1\n...\n', '? a\n: b\n', '- - a\n', 'a: é\n', '"é": 1\n', '<<: {a: 1}\n', '__proto__: 1\n', 'a: b: c\n', 'a: b:\n', 'x\n', 'key:\n  "scalar"\n',
      '--- a: 1\n', `${'k'.repeat(1100)}: 1\n`, 'a: 1\n b: 2\n', 'a:\n  - 1\n - 2\n', 'a: 1\u2028b: 2\n', 'a: 1\rb: 2\n', 'a: 1\n\ufeffb: 2\n',
    ];
    for (const text of leftToLibrary) expect(fast(text), text).toBeUndefined();
    // …and through locatedObjects those texts still read as the library reads them.
    expect(locatedObjects('a: &x 1\nb: *x\n', 'p.yaml').objects).toEqual([{ document: 0, object: { a: 1, b: 1 }, line: 1 }]);
  });

  it('agrees with the library on generated YAML in every style, and on thousands of random mutations of it', () => {
    const rand = seededRandom(20260301);
    let answered = 0;
    let mutatedAnswered = 0;
    for (let i = 0; i < 1500; i++) {
      const docs = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => randomValue(rand, 0));
      const style = STYLES[i % STYLES.length];
      const text = docs.map((d) => stringify(d, style)).join(rand() < 0.5 ? '---\n' : '--- # next\n');
      if (agrees(text)) answered++;
      for (let m = 0; m < 4; m++) if (agrees(mutate(text, rand))) mutatedAnswered++;
    }
    // The fast reader is not idle: it answers for most generated texts and many mutated ones.
    expect(answered).toBeGreaterThan(300);
    expect(mutatedAnswered).toBeGreaterThan(500);
  });

  it('agrees with the library on random soups of block lines (any indentation, items, keys, comments, markers)', () => {
    const rand = seededRandom(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const parts = ['', '- ', '- - ', '-', 'a:', 'b:', 'items:', 'a: 1', 'b: x', 'c: "q"', "d: 'it''s'", 'e: {}', 'f: []', '- a: 1', '- x', '- # c', '# c', 'g: 1 # c', 'h: x:y', 'i: -1', '---', '--- # d', 'j: ~'];
    let answered = 0;
    for (let i = 0; i < 20_000; i++) {
      const lines = Array.from({ length: 1 + Math.floor(rand() * 7) }, () => `${' '.repeat(pick([0, 0, 1, 2, 2, 3, 4, 6]))}${pick(parts)}${rand() < 0.1 ? ' ' : ''}`);
      if (agrees(lines.join('\n'))) answered++;
    }
    expect(answered).toBeGreaterThan(2000);
  });

  it('resolves plain scalars as the core schema does', () => {
    expect([resolvePlain('~'), resolvePlain('NULL'), resolvePlain('True'), resolvePlain('FALSE'), resolvePlain('0o17'), resolvePlain('-12'), resolvePlain('0x1F')]).toEqual([null, null, true, false, 15, -12, 31]);
    expect([resolvePlain('.inf'), resolvePlain('-.INF'), resolvePlain('1e3'), resolvePlain('2.50'), resolvePlain('yes'), resolvePlain('0b1'), resolvePlain('1_0'), resolvePlain('True!')]).toEqual([Infinity, -Infinity, 1000, 2.5, 'yes', '0b1', '1_0', 'True!']);
    expect(resolvePlain('.NaN')).toBeNaN();
  });

  it('survives hostile input: deep nesting, many documents, huge lines, without throwing', () => {
    const deep = Array.from({ length: 20_000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
    expect(() => plainYamlDocuments(deep)).not.toThrow();
    const many = 'a: 1\n---\n'.repeat(10_001);
    expect(locatedObjects(many, 'p.yaml')).toEqual({ objects: [], problems: [{ message: 'more than 10000 documents' }] });
    const wide = `a: ${'x'.repeat(2_000_000)}\n`;
    expect(agrees(wide)).toBe(true);
    expect(plainYamlDocuments(`a: ${'['.repeat(100_000)}\n`)).toBeUndefined();
  });
});
