// Suppressions: the lint-ignore annotation (parsing, malformed and hostile values), the config
// file (zod validation with paths, oversized and hostile YAML), and how both mark findings.
import { describe, expect, it } from 'vitest';
import { failing, lint } from '../../src/policy/lint.js';
import { buildLintConfig, MAX_CONFIG_BYTES, parseLintConfig, type LintConfig } from '../../src/policy/lint-config.js';
import { IGNORE_ANNOTATION, parseIgnoreAnnotation } from '../../src/policy/lint-suppress.js';
import { index, netpol } from '../helpers/policy.js';

function annotated(namespace: string, name: string, value: unknown, spec: Record<string, unknown>): Record<string, unknown> {
  const p = netpol(namespace, name, spec);
  return { ...p, metadata: { namespace, name, annotations: { [IGNORE_ANNOTATION]: value } } };
}

const denyEgress = { podSelector: {}, policyTypes: ['Egress'] };

function config(document: unknown): LintConfig {
  const r = buildLintConfig(document, 'lint.yaml');
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

describe('parseIgnoreAnnotation', () => {
  it('one entry, several per line or ";", rule ids in any case or rule names', () => {
    expect(parseIgnoreAnnotation('NP011: DNS blocked on purpose')).toEqual({ entries: [{ rule: 'NP011', reason: 'DNS blocked on purpose' }], errors: [] });
    expect(parseIgnoreAnnotation('np011: a; NP010 : b\n egress-to-everywhere: c: with colon \n\n')).toEqual({
      entries: [
        { rule: 'NP011', reason: 'a' },
        { rule: 'NP010', reason: 'b' },
        { rule: 'NP012', reason: 'c: with colon' },
      ],
      errors: [],
    });
  });

  it('malformed values name the entry and the reason', () => {
    expect(parseIgnoreAnnotation('NP011').errors).toEqual(['entry 1 "NP011": the reason is missing (write "NP011: why it is accepted")']);
    expect(parseIgnoreAnnotation('NP011:   ').errors[0]).toMatch(/reason is missing/);
    expect(parseIgnoreAnnotation('NP999: x').errors).toEqual(['entry 1 "NP999: x": unknown rule "NP999" (a rule id such as NP011, or its name)']);
    expect(parseIgnoreAnnotation('DNS blocked on purpose').errors[0]).toMatch(/unknown rule "DNS blocked on purpose"/);
    expect(parseIgnoreAnnotation('NP011: ok; : no rule').errors).toEqual(['entry 2 ": no rule": unknown rule "" (a rule id such as NP011, or its name)']);
    expect(parseIgnoreAnnotation('').errors[0]).toMatch(/empty/);
    expect(parseIgnoreAnnotation(' ; \n ').errors[0]).toMatch(/empty/);
  });

  it('rules about a namespace, the input or suppressions cannot be suppressed on a policy', () => {
    expect(parseIgnoreAnnotation('NP002: recipes').errors[0]).toMatch(/NP002 is not about one policy.*--config/);
    expect(parseIgnoreAnnotation('NP000: x').errors[0]).toMatch(/NP000 is not about one policy/);
    expect(parseIgnoreAnnotation('NP040: x').errors[0]).toMatch(/NP040 is not about one policy/);
  });

  it('non-string, oversized and hostile values are refused without work', () => {
    expect(parseIgnoreAnnotation(11).errors[0]).toMatch(/must be a string.*not number/);
    expect(parseIgnoreAnnotation(['NP011: x']).errors[0]).toMatch(/not a list/);
    expect(parseIgnoreAnnotation(null).errors[0]).toMatch(/must be a string/);
    expect(parseIgnoreAnnotation({ NP011: 'x' }).errors[0]).toMatch(/not object/);
    expect(parseIgnoreAnnotation(`NP011: ${'x'.repeat(20_000)}`).errors[0]).toMatch(/longer than 16384 characters/);
    expect(parseIgnoreAnnotation(Array.from({ length: 101 }, () => 'NP011: x').join(';')).errors[0]).toMatch(/more than 100 entries/);
    const long = parseIgnoreAnnotation(`${'Z'.repeat(500)}: x`).errors[0] ?? '';
    expect(long.length).toBeLessThan(300);
    expect(parseIgnoreAnnotation('NP011: \u0000\u202e tricky').entries).toEqual([{ rule: 'NP011', reason: '\u0000\u202e tricky' }]);
  });
});

describe('annotation suppressions', () => {
  it('a DNS-blocking policy passes with a suppression, listed with its reason and origin', () => {
    const bare = lint(index([netpol('a', 'deny-egress', denyEgress)]));
    expect(failing(bare).map((f) => f.id)).toEqual(['NP011']);
    const findings = lint(index([annotated('a', 'deny-egress', 'NP011: DNS blocked on purpose', denyEgress)]));
    expect(failing(findings)).toEqual([]);
    const nps = findings.find((f) => f.id === 'NP011');
    expect(nps?.suppressed).toEqual({ reason: 'DNS blocked on purpose', by: `annotation ${IGNORE_ANNOTATION} on a/deny-egress`, kind: 'annotation' });
    expect(nps?.severity).toBe('error');
  });

  it('applies only to its own policy', () => {
    const findings = lint(index([annotated('a', 'one', 'NP011: on purpose', denyEgress), netpol('a', 'two', denyEgress), netpol('b', 'one', denyEgress)]));
    expect(failing(findings).map((f) => f.object)).toEqual(['a/two', 'b/one']);
  });

  it('a malformed annotation is an error finding and suppresses nothing (not even its valid entries)', () => {
    const findings = lint(index([annotated('a', 'p', 'NP011: fine; NP01l: typo', denyEgress)]));
    expect(failing(findings).map((f) => f.id).sort()).toEqual(['NP011', 'NP040']);
    const bad = findings.find((f) => f.id === 'NP040');
    expect(bad).toMatchObject({ object: 'a/p', namespace: 'a', policy: 'p' });
    expect(bad?.message).toMatch(/entry 2 "NP01l: typo": unknown rule "NP01l"/);
  });

  it('an entry that matches nothing is an info finding (NP041)', () => {
    const findings = lint(index([annotated('a', 'p', 'NP010: public', { podSelector: {}, policyTypes: ['Ingress'] })]));
    expect(findings.map((f) => `${f.id} ${f.severity} ${f.object}`)).toEqual(['NP041 info a/p']);
    expect(findings[0]?.message).toMatch(/suppresses NP010, but the policy has no NP010 finding/);
  });
});

describe('config file', () => {
  it('parses ignore entries (rule by id or name) and ignoreNamespaces', () => {
    const r = parseLintConfig('ignore:\n  - rule: egress-without-dns\n    namespace: a\n    policy: p\n    reason: "  on purpose "\nignoreNamespaces: [infra]\n', 'lint.yaml');
    expect(r).toEqual({ ok: true, config: { ignore: [{ rule: 'NP011', namespace: 'a', policy: 'p', reason: 'on purpose' }], ignoreNamespaces: ['infra'], source: 'lint.yaml' } });
    expect(parseLintConfig('', 'x')).toEqual({ ok: true, config: { ignore: [], source: 'x' } });
    expect(parseLintConfig('# only a comment\n')).toEqual({ ok: true, config: { ignore: [] } });
  });

  it('every problem has its path and reason', () => {
    const problems = (text: string): string[] => {
      const r = parseLintConfig(text);
      return r.ok ? [] : r.problems;
    };
    expect(problems('ignore:\n  - rule: NP011\n')).toEqual(['ignore[0].reason: reason is required']);
    expect(problems('ignore:\n  - rule: NP011\n    reason: "   "\n')).toEqual(['ignore[0].reason: reason is required: say why the finding is accepted']);
    expect(problems('ignore:\n  - {rule: NP999, reason: x}\n  - {reason: x}\n')).toEqual([
      'ignore[0].rule: unknown rule "NP999" (a rule id such as NP011, or a name such as egress-without-dns)',
      'ignore[1].rule: rule is required',
    ]);
    expect(problems('ignore:\n  - {rule: NP011, reason: x, polcy: p}\n')).toEqual(['ignore[0]: Unrecognized key: "polcy"']);
    expect(problems('ignore: {rule: NP011}\n')).toEqual(['ignore: ignore must be a list of {rule, namespace?, policy?, reason}']);
    expect(problems('ignore:\n  - {rule: 11, reason: x, namespace: ""}\n')).toEqual(['ignore[0].rule: rule must be a string', 'ignore[0].namespace: namespace must not be empty']);
    expect(problems('ignores: []\n')).toEqual(['(root): Unrecognized key: "ignores"']);
    expect(problems('- rule: NP011\n')[0]).toMatch(/^\(root\): /);
    expect(problems('ignoreNamespaces: kube-system\n')).toEqual(['ignoreNamespaces: ignoreNamespaces must be a list of namespace names']);
  });

  it('YAML errors name the line; hostile and oversized input is refused', () => {
    expect(parseLintConfig('ignore:\n  - rule: NP011\n   reason: x\n')).toEqual({ ok: false, problems: ['line 3: Sequence item without - indicator'] });
    expect(parseLintConfig('ignore: []\nignore: []\n')).toEqual({ ok: false, problems: ['line 2: Map keys must be unique'] });
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
    expect(parseLintConfig(bomb)).toMatchObject({ ok: false, problems: [expect.stringMatching(/alias/i)] });
    expect(parseLintConfig('x'.repeat(MAX_CONFIG_BYTES + 1))).toEqual({ ok: false, problems: ['(root): the file is larger than 1024 KiB'] });
    const many = `ignore:\n${'  - {rule: NP011, reason: x}\n'.repeat(10_001)}`;
    expect(parseLintConfig(many)).toEqual({ ok: false, problems: ['ignore: more than 10000 entries'] });
    expect(parseLintConfig(`ignore:\n  - {rule: NP011, reason: ${'r'.repeat(2001)}}\n`)).toMatchObject({ ok: false, problems: ['ignore[0].reason: reason is longer than 2000 characters'] });
  });

  it('suppresses by rule, namespace and policy; says which entry did it', () => {
    const objects = [netpol('a', 'p', denyEgress), netpol('a', 'q', denyEgress), netpol('b', 'p', denyEgress)];
    const run = (ignore: unknown[]): string[] =>
      lint(index(objects), { config: config({ ignore }) })
        .filter((f) => f.id === 'NP011')
        .map((f) => `${f.object}${f.suppressed ? ` (${f.suppressed.by}: ${f.suppressed.reason})` : ''}`);
    expect(run([{ rule: 'NP011', reason: 'all' }])).toEqual(['a/p (lint.yaml ignore[0]: all)', 'a/q (lint.yaml ignore[0]: all)', 'b/p (lint.yaml ignore[0]: all)']);
    expect(run([{ rule: 'NP011', namespace: 'a', reason: 'ns' }])).toEqual(['a/p (lint.yaml ignore[0]: ns)', 'a/q (lint.yaml ignore[0]: ns)', 'b/p']);
    expect(run([{ rule: 'NP011', policy: 'p', reason: 'name' }])).toEqual(['a/p (lint.yaml ignore[0]: name)', 'a/q', 'b/p (lint.yaml ignore[0]: name)']);
    expect(run([{ rule: 'NP011', namespace: 'a', policy: 'q', reason: 'one' }])).toEqual(['a/p', 'a/q (lint.yaml ignore[0]: one)', 'b/p']);
    expect(run([{ rule: 'NP010', reason: 'other rule' }])).toEqual(['a/p', 'a/q', 'b/p']);
  });

  it('suppresses namespace findings and malformed annotations; the annotation wins over the config', () => {
    const objects = [annotated('a', 'p', 'NP011: from the annotation; bogus', denyEgress), annotated('a', 'q', 'NP011: from the annotation', denyEgress)];
    const findings = lint(index(objects), { config: config({ ignore: [{ rule: 'NP002', namespace: 'a', reason: 'egress only' }, { rule: 'NP040', reason: 'legacy' }, { rule: 'NP011', reason: 'config' }] }) });
    expect(failing(findings)).toEqual([]);
    const by = Object.fromEntries(findings.map((f) => [`${f.id} ${f.object}`, f.suppressed?.by]));
    expect(by).toEqual({
      'NP002 a': 'lint.yaml ignore[0]',
      'NP040 a/p': 'lint.yaml ignore[1]',
      'NP011 a/p': 'lint.yaml ignore[2]',
      'NP011 a/q': `annotation ${IGNORE_ANNOTATION} on a/q`,
    });
  });

  it('an entry that matches nothing is NP041, located in the config file', () => {
    const findings = lint(index([netpol('a', 'p', { podSelector: {}, policyTypes: ['Ingress'] })]), { config: config({ ignore: [{ rule: 'NP011', namespace: 'zz', reason: 'gone' }] }) });
    expect(findings).toEqual([
      expect.objectContaining({ id: 'NP041', severity: 'info', object: 'lint.yaml ignore[0]', source: 'lint.yaml.ignore[0]', message: 'ignore[0] (NP011, namespace zz) matches no finding' }),
    ]);
  });

  it('ignoreNamespaces replaces the default list', () => {
    const objects = [{ kind: 'Namespace', metadata: { name: 'infra' } }, { kind: 'Namespace', metadata: { name: 'kube-system' } }];
    expect(lint(index(objects)).map((f) => f.object)).toEqual(['infra']);
    expect(lint(index(objects), { config: config({ ignoreNamespaces: ['infra'] }) }).map((f) => f.object)).toEqual(['kube-system']);
  });
});
