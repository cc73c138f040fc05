// SARIF output (checked against the SARIF 2.1.0 required properties and GitHub's needs), text
// rendering, and locating objects in their files (source names → file and line).
import { describe, expect, it } from 'vitest';
import { lint, LINT_RULES, RULE_IDS } from '../../src/policy/lint.js';
import { formatFindingsText } from '../../src/policy/lint-format.js';
import { lineOf, splitSource } from '../../src/policy/lint-locate.js';
import { pathToUri, toSarif, type LocatedFinding } from '../../src/policy/lint-sarif.js';
import { IGNORE_ANNOTATION } from '../../src/policy/lint-suppress.js';
import { buildLintConfig } from '../../src/policy/lint-config.js';
import { index, netpol } from '../helpers/policy.js';
import { sarifProblems } from '../helpers/sarif-shape.js';

type SarifResult = { ruleId: string; level: string; message: { text: string }; locations?: unknown[]; suppressions?: Array<{ kind: string; justification: string }>; partialFingerprints: Record<string, string> };

function sample(): LocatedFinding[] {
  const annotated = { ...netpol('a', 'quiet', { podSelector: {}, policyTypes: ['Egress'] }), metadata: { namespace: 'a', name: 'quiet', annotations: { [IGNORE_ANNOTATION]: 'NP011: DNS blocked on purpose' } } };
  const cfg = buildLintConfig({ ignore: [{ rule: 'NP010', namespace: 'a', reason: 'public web' }] }, 'lint.yaml');
  if (!cfg.ok) throw new Error('config');
  const findings = lint(index([annotated, netpol('a', 'loud', { podSelector: { matchLabels: { app: 'x' } }, policyTypes: ['Egress'] }), netpol('a', 'open', { podSelector: {}, ingress: [{}] })]), { config: cfg.config });
  return findings.map((f, i) => ({ ...f, file: `dir with space/p#${i}.yaml`, line: i + 3 }));
}

describe('SARIF', () => {
  it('the log has every required property, closed property sets and GitHub’s location needs', () => {
    const log = toSarif(sample(), '1.2.3');
    expect(sarifProblems(log)).toEqual([]);
    const json = JSON.parse(JSON.stringify(log));
    expect(json.runs[0].tool.driver).toMatchObject({ name: 'netpol-responder', version: '1.2.3' });
    expect(json.runs[0].tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(RULE_IDS);
    expect(json.runs[0].tool.driver.rules[RULE_IDS.indexOf('NP011')]).toMatchObject({ id: 'NP011', name: 'egress-without-dns', defaultConfiguration: { level: 'error' }, shortDescription: { text: LINT_RULES.NP011.summary } });
    expect(json.runs[0].tool.driver.rules[RULE_IDS.indexOf('NP030')].defaultConfiguration.level).toBe('note');
  });

  it('results: level, message with object and fix, relative URI, start line, suppressions with the reason', () => {
    const log = toSarif(sample(), '1.2.3') as { runs: Array<{ results: SarifResult[] }> };
    const results = log.runs[0]?.results ?? [];
    const byRule = (id: string): SarifResult[] => results.filter((r) => r.ruleId === id);
    const quiet = byRule('NP011').find((r) => r.message.text.startsWith('a/quiet:'));
    const loud = byRule('NP011').find((r) => r.message.text.startsWith('a/loud:'));
    expect(quiet?.suppressions).toEqual([{ kind: 'inSource', status: 'accepted', justification: 'DNS blocked on purpose', properties: { source: `annotation ${IGNORE_ANNOTATION} on a/quiet` } }]);
    expect(loud?.suppressions).toBeUndefined();
    expect(loud?.level).toBe('error');
    expect(loud?.message.text).toMatch(/^a\/loud: isolates egress of pods app=x but nothing allows DNS .*\. Fix: add an egress rule to kube-dns/);
    expect(byRule('NP010')[0]?.suppressions?.[0]).toMatchObject({ kind: 'external', justification: 'public web' });
    const loc = (results[0]?.locations as Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }>)[0];
    expect(loc?.physicalLocation).toEqual({ artifactLocation: { uri: 'dir%20with%20space/p%230.yaml' }, region: { startLine: 3 } });
  });

  it('fingerprints depend on rule and object, not on lines', () => {
    const a = toSarif(sample(), 'x') as { runs: Array<{ results: SarifResult[] }> };
    const moved = toSarif(sample().map((f) => ({ ...f, line: 99 })), 'x') as { runs: Array<{ results: SarifResult[] }> };
    const prints = (log: typeof a): string[] => (log.runs[0]?.results ?? []).map((r) => r.partialFingerprints['netpolResponderFinding/v1'] ?? '');
    expect(prints(moved)).toEqual(prints(a));
    expect(new Set(prints(a)).size).toBe(prints(a).length);
  });

  it('a finding without a file has no location (the checker says GitHub needs one)', () => {
    const log = toSarif([{ ...(sample()[0] as LocatedFinding), file: undefined }], 'x');
    expect(sarifProblems(log)).toEqual(['$.runs[0].results[0].locations: GitHub code scanning needs a location']);
  });

  it('the checker catches what the schema forbids', () => {
    const log = JSON.parse(JSON.stringify(toSarif(sample(), 'x')));
    log.runs[0].results[0].level = 'fatal';
    log.runs[0].results[0].locations[0].physicalLocation.region.startLine = 0;
    log.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri = '/abs/p.yaml';
    log.runs[0].results[1].suppressions = [{ justification: 'x' }];
    log.runs[0].results[1].extra = 1;
    delete log.runs[0].results[2].message;
    log.runs[0].tool.driver.rules[0].defaultConfiguration.level = 'info';
    expect(sarifProblems(log)).toEqual([
      '$.runs[0].tool.driver.rules[0].defaultConfiguration.level: must be one of none, note, warning, error',
      '$.runs[0].results[0].level: must be one of none, note, warning, error',
      '$.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri: "/abs/p.yaml" is not a relative URI reference',
      '$.runs[0].results[0].locations[0].physicalLocation.region.startLine: must be an integer >= 1',
      '$.runs[0].results[1]: property "extra" is not defined by SARIF 2.1.0',
      '$.runs[0].results[1].suppressions[0]: missing required property "kind"',
      '$.runs[0].results[1].suppressions[0].kind: must be one of inSource, external',
      '$.runs[0].results[2]: missing required property "message"',
      '$.runs[0].results[2].message: must be an object',
    ]);
  });

  it('pathToUri escapes each segment and keeps ..', () => {
    expect(pathToUri('../x/a b#1?.yaml')).toBe('../x/a%20b%231%3F.yaml');
    expect(pathToUri('a\\b\\c.yaml')).toBe('a/b/c.yaml');
    expect(pathToUri('ns:1/p.yaml')).toBe('ns%3A1/p.yaml');
  });
});

describe('text output', () => {
  it('active findings with location and fix, then the suppressed ones with reason and origin, then counts', () => {
    const text = formatFindingsText(sample());
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ERROR NP011 egress-without-dns a\/loud: isolates egress/);
    expect(lines[1]).toMatch(/^ {2}at: dir with space\/p#\d\.yaml:\d+$/);
    expect(lines[2]).toMatch(/^ {2}fix: /);
    const s = lines.indexOf('suppressed:');
    expect(lines.slice(s + 1)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^ {2}ERROR NP011 egress-without-dns a\/quiet: /), `    reason: DNS blocked on purpose (annotation ${IGNORE_ANNOTATION} on a/quiet)`, '    reason: public web (lint.yaml ignore[0])']),
    );
    expect(lines.at(-1)).toMatch(/^1 error\(s\), \d+ warning\(s\), \d+ info; 2 suppressed$/);
  });

  it('without a file the source is shown; nothing found says so', () => {
    expect(formatFindingsText([{ ...(sample()[0] as LocatedFinding), file: undefined, line: undefined, source: 'live:NetworkPolicy[3]' }])).toContain('  at: live:NetworkPolicy[3]\n');
    expect(formatFindingsText([])).toBe('0 error(s), 0 warning(s), 0 info\n');
  });
});

describe('locating objects', () => {
  const files = new Set(['a.yaml', 'we#ird.yaml', 'x.yaml#3.yaml', 'lint.yaml']);
  const isFile = (f: string): boolean => files.has(f);

  it('splits loader source names into file, document and path', () => {
    expect(splitSource('a.yaml', isFile)).toEqual({ file: 'a.yaml', path: [] });
    expect(splitSource('a.yaml#2', isFile)).toEqual({ file: 'a.yaml', document: 2, path: [] });
    expect(splitSource('a.yaml#2.items[3].items[0]', isFile)).toEqual({ file: 'a.yaml', document: 2, path: ['items', 3, 'items', 0] });
    expect(splitSource('a.yaml.items[1]', isFile)).toEqual({ file: 'a.yaml', path: ['items', 1] });
    expect(splitSource('we#ird.yaml#4', isFile)).toEqual({ file: 'we#ird.yaml', document: 4, path: [] });
    expect(splitSource('x.yaml#3.yaml', isFile)).toEqual({ file: 'x.yaml#3.yaml', path: [] });
    expect(splitSource('lint.yaml.ignore[2]', isFile)).toEqual({ file: 'lint.yaml', path: ['ignore', 2] });
    expect(splitSource('live:NetworkPolicy[0]', isFile)).toBeUndefined();
    expect(splitSource('', isFile)).toBeUndefined();
  });

  const text = ['# leading comment', 'kind: Namespace', 'metadata: {name: a}', '---', '', 'kind: List', 'items:', '- kind: Pod', '  metadata: {name: p}', '- kind: List', '  items:', '  - kind: NetworkPolicy', '    metadata: {name: n}', ''].join('\n');

  it('finds the start line of documents and list items', () => {
    expect(lineOf(text, { path: [] })).toBe(2);
    expect(lineOf(text, { document: 1, path: [] })).toBe(2);
    expect(lineOf(text, { document: 2, path: [] })).toBe(6);
    expect(lineOf(text, { document: 2, path: ['items', 0] })).toBe(8);
    expect(lineOf(text, { document: 2, path: ['items', 1, 'items', 0] })).toBe(12);
    expect(lineOf('{"kind": "List",\n "items": [\n  {"kind": "Pod"},\n  {"kind": "Pod"}]}', { path: ['items', 1] })).toBe(4);
    expect(lineOf('ignore:\n  - rule: NP011\n    reason: x\n  - rule: NP010\n', { path: ['ignore', 1] })).toBe(4);
  });

  it('a path or document the text does not hold keeps the deepest line found, or none', () => {
    expect(lineOf(text, { document: 2, path: ['items', 9] })).toBe(8);
    expect(lineOf(text, { document: 7, path: [] })).toBeUndefined();
    expect(lineOf('', { path: [] })).toBeUndefined();
    expect(lineOf('kind: [unclosed\n', { path: [] })).toBe(1);
  });
});
