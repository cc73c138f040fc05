// Property tests: YAML inputs — NetworkPolicy manifests as lint reads them (parseManifestText →
// buildIndex → lint), playbooks (parsePlaybook with the real step actions) and the configuration
// file (loadConfig). Random text, random JSON and mutations of the shipped samples (as data and as
// text: alias bombs, deep nesting, odd tags, `__proto__` merge keys): each is loaded or refused
// with the documented error, whose problems are short and printable.
// Runs per property: FUZZ_RUNS (default 200, fixed seed; more runs go in chunks of 1000, seeds seed, seed+1, ...); e.g. `FUZZ_RUNS=20000 npx vitest run test/unit/fuzz-yaml.test.ts`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { parsePlaybook, PlaybookError } from '../../src/playbook/load.js';
import { stepActionCheck } from '../../src/playbook/steps/index.js';
import { buildIndex, lint } from '../../src/policy/index.js';
import { parseManifestText } from '../../src/policy/load-files.js';
import { expectClearMessage, expectNoPollution, fieldSwapsOf, FUZZ_TIMEOUT_MS, fuzzAssert, fuzzOptions, mutationsOf, toJsonText } from '../helpers/fuzz.js';

const SEED = 13_401;
const PROBLEM_MAX = 2000;
const root = join(import.meta.dirname, '../..');

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });
afterEach(() => expectNoPollution());

function yamlText(value: unknown): string {
  try {
    return stringifyYaml(value, { aliasDuplicateObjects: false });
  } catch {
    return toJsonText(value);
  }
}

/** Hostile YAML constructs, spliced into valid text. */
const YAML_SNIPPETS = [
  'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n',
  '__proto__: {polluted: true}\n',
  '<<: {__proto__: {polluted: true}}\n',
  'constructor: {prototype: {polluted: true}}\n',
  'x: !!js/function "function () { return 1 }"\n',
  'x: !!binary AAAA\n',
  'x: !custom {a: 1}\n',
  '? [a, b]\n: c\n',
  `x: ${'['.repeat(2000)}${']'.repeat(2000)}\n`,
  `x: ${'{a: '.repeat(500)}1${'}'.repeat(500)}\n`,
  '%YAML 1.1\n---\n',
  '---\n...\n---\n',
  'x: "\u0000\u001b[2J\u202e"\n',
  '\t- bad indent\n',
  `x: ${'y'.repeat(100_000)}\n`,
  'x: *undefined_alias\n',
  'x: 0x1F\ny: 1e400\nz: .nan\n',
];

/** Text-level mutations of a valid YAML document: a snippet spliced in, a cut, characters dropped. */
function textMutationsOf(text: string): fc.Arbitrary<string> {
  const lines = text.split('\n');
  return fc.oneof(
    fc.tuple(fc.nat(lines.length), fc.constantFrom(...YAML_SNIPPETS)).map(([at, snippet]) => [...lines.slice(0, at), snippet, ...lines.slice(at)].join('\n')),
    fc.nat(text.length).map((at) => text.slice(0, at)),
    fc.tuple(fc.nat(text.length), fc.constantFrom(':', '-', '"', "'", '&', '*', '!', '|', '>', '\t', '{', '[', '#', '%', '@', '`', '\u0000', '\ufeff')).map(([at, ch]) => `${text.slice(0, at)}${ch}${text.slice(at)}`),
  );
}

function inputsOf(text: string, sample: unknown): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 400 }),
    fc.json({ maxDepth: 4 }),
    fc.constantFrom(...YAML_SNIPPETS),
    textMutationsOf(text),
    textMutationsOf(text),
    mutationsOf(sample).map(yamlText),
    mutationsOf(sample).map(toJsonText),
    fieldSwapsOf(sample).map(yamlText),
  );
}

describe('NetworkPolicy manifests as lint reads them', () => {
  const text = readFileSync(join(root, 'test/fixtures/netpol/tests/netpol_named_port_test_2/netpol.yaml'), 'utf8');
  const documents = text.split(/^---$/m).filter((d) => d.trim() !== '').map((d) => parseYaml(d) as unknown);

  it('any text is loaded, indexed and linted, or reported as an issue; never an exception', async () => {
    await fuzzAssert(
      fc.property(inputsOf(text, documents.length === 1 ? documents[0] : documents), (input) => {
        const read = parseManifestText(input, 'fuzz.yaml', 'auto');
        const { index, issues } = buildIndex(read.inputs);
        const findings = lint(index, { issues: [...read.issues, ...issues] });
        for (const issue of [...read.issues, ...issues]) expectClearMessage(issue.message, PROBLEM_MAX);
        expect(Array.isArray(findings)).toBe(true);
      }),
      fuzzOptions(SEED),
    );
  });
});

function expectProblems(problems: readonly string[]): void {
  expect(problems.length).toBeGreaterThan(0);
  for (const problem of problems.slice(0, 50)) expectClearMessage(problem, PROBLEM_MAX);
}

describe('playbooks (parsePlaybook)', () => {
  const text = readFileSync(join(root, 'playbooks/netpol-incident.yaml'), 'utf8');
  const sample = parseYaml(text) as unknown;

  it('the shipped playbook loads (the mutations start from a valid one)', () => {
    expect(parsePlaybook(text, 'pb.yaml', stepActionCheck).steps.length).toBeGreaterThan(0);
  });

  it('any text is a playbook or a PlaybookError with clear problems', async () => {
    await fuzzAssert(
      fc.property(inputsOf(text, sample), (input) => {
        try {
          parsePlaybook(input, 'pb.yaml', stepActionCheck);
        } catch (error) {
          expect(error).toBeInstanceOf(PlaybookError);
          expectProblems((error as PlaybookError).problems);
        }
      }),
      fuzzOptions(SEED + 1),
    );
  });
});

describe('configuration file (loadConfig)', () => {
  const text = readFileSync(join(root, 'deploy/netpol-responder.example.yaml'), 'utf8');
  const sample = parseYaml(text) as unknown;
  // Frozen: loading must not change the environment it reads (a write would throw in strict mode).
  const env = Object.freeze({ SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app' });
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-config-'));
  const file = join(dir, 'config.yaml');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('any file is a configuration or a ConfigError with clear problems', async () => {
    await fuzzAssert(
      fc.property(inputsOf(text, sample), (input) => {
        writeFileSync(file, input);
        try {
          loadConfig(file, env);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expectProblems((error as ConfigError).problems);
        }
      }),
      fuzzOptions(SEED + 2),
    );
  });
});

describe('counterexamples found by the properties (kept as examples)', () => {
  it('an unknown key with control characters is quoted escaped in a configuration problem, and a huge one is cut', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fuzz-config-'));
    try {
      const file = join(dir, 'config.yaml');
      const env = { SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app' };
      const problemsOf = (text: string): string[] => {
        writeFileSync(file, text);
        try {
          loadConfig(file, env);
        } catch (error) {
          if (error instanceof ConfigError) return error.problems;
          throw error;
        }
        return [];
      };
      expect(problemsOf('"\\u0000\\e[2Jx": 1\n')).toContain('(root): Unrecognized key: "\\x00\\x1b[2Jx"');
      const [long] = problemsOf(`${'k'.repeat(50_000)}: 1\n`);
      expect(long?.length).toBeLessThanOrEqual(1100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a NetworkPolicy with a 100 000-character port name: the issue quoting it is cut', () => {
    const text = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: a\n  namespace: b\nspec:\n  podSelector: {}\n  ingress:\n    - ports:\n        - port: ${'x'.repeat(100_000)}\n          protocol: SCTP\n`;
    const { issues } = buildIndex(parseManifestText(text, 'f.yaml', 'auto').inputs);
    expect(issues.map((i) => i.message)).toEqual([expect.stringMatching(/^spec\.ingress\[0\]\.ports\[0\]\.port: "x{900,}…$/)]);
    expect(issues[0]?.message.length).toBeLessThanOrEqual(1400);
  });

  it('an unknown kind with control and bidi characters is quoted escaped in the issue', () => {
    const { issues } = buildIndex(parseManifestText('kind: "\\0\\e[2J\\u202e"\nmetadata: {name: a}\n', 'f.yaml', 'auto').inputs);
    expect(issues.map((i) => i.message)).toEqual([expect.stringContaining('"\\x00\\x1b[2J\\u202e"')]);
  });

  it('the same in a playbook problem', () => {
    const text = readFileSync(join(root, 'playbooks/netpol-incident.yaml'), 'utf8').replace('kind: Playbook\n', 'kind: Playbook\n"\\u202eevil": 1\n');
    try {
      parsePlaybook(text, 'pb.yaml', stepActionCheck);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PlaybookError);
      expect((error as PlaybookError).problems).toEqual([expect.stringMatching(/^pb\.yaml:\d+:\d+: \(root\): Unrecognized key: "\\u202eevil"$/)]);
    }
  });
});
