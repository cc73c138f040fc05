// The hardening audit core (src/audit-report/checks.ts) and its renderers: each check on a small
// cluster that trips it and one that does not, the score, the netpol-analyzer fixtures, ANP/BANP,
// and hostile input (huge lists, names with Markdown/HTML/control characters, invalid objects).
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AUDIT_RULES, auditReport, namespaceScore, type AuditReport, type AuditRuleId } from '../../src/audit-report/checks.js';
import { markdownText, renderJson, renderMarkdown, renderSarif } from '../../src/audit-report/render.js';
import { buildIndex, type LoadInput } from '../../src/policy/index.js';
import { readManifests } from '../../src/policy/load-files.js';
import { sarifProblems } from '../helpers/sarif-shape.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

const ns = (name: string, labels: Record<string, string> = {}): LoadInput => ({ object: { kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } }, source: `ns-${name}.yaml` });
const pod = (namespace: string, name: string, labels: Record<string, string>): LoadInput => ({ object: { kind: 'Pod', metadata: { namespace, name, labels }, spec: { containers: [{ name: 'c' }] } }, source: `pod-${name}.yaml` });
const np = (namespace: string, name: string, spec: Record<string, unknown>): LoadInput => ({
  object: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec },
  source: `np-${name}.yaml`,
});
const denyAll = (namespace: string): LoadInput => np(namespace, 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });

function ids(report: AuditReport, ruleId: AuditRuleId): string[] {
  return report.findings.filter((f) => f.ruleId === ruleId).map((f) => f.object);
}

const BASE = [ns('shop'), pod('shop', 'web-1', { app: 'web' }), pod('shop', 'db-1', { app: 'db' })];

describe('audit checks', () => {
  it('no-default-deny: reported per namespace with the missing directions; not with a podSelector: {} policy', () => {
    const open = auditReport([...BASE]);
    const f = open.findings.find((x) => x.ruleId === 'audit/no-default-deny');
    expect(f).toMatchObject({ namespace: 'shop', object: 'Namespace shop', source: 'ns-shop.yaml', level: 'warning' });
    expect(f?.message).toContain('ingress or egress');
    const ingressOnly = auditReport([...BASE, np('shop', 'deny-in', { podSelector: {}, policyTypes: ['Ingress'] })]);
    expect(ingressOnly.findings.find((x) => x.ruleId === 'audit/no-default-deny')?.message).toMatch(/no default-deny egress policy/);
    expect(ids(auditReport([...BASE, denyAll('shop')]), 'audit/no-default-deny')).toEqual([]);
    // A policy on some pods only is no default deny.
    expect(ids(auditReport([...BASE, np('shop', 'web', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress', 'Egress'] })]), 'audit/no-default-deny')).toEqual(['Namespace shop']);
  });

  it('unselected-pods: per direction, naming the pods; none once a policy covers them', () => {
    const report = auditReport([...BASE, np('shop', 'web-in', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] })]);
    const found = report.findings.filter((f) => f.ruleId === 'audit/unselected-pods');
    expect(found.map((f) => [f.direction, f.items])).toEqual([
      ['ingress', ['shop/db-1']],
      ['egress', ['shop/db-1', 'shop/web-1']],
    ]);
    expect(found[0]?.message).toBe('1 of 2 pods of namespace shop are selected by no ingress policy: they accept any traffic');
    expect(ids(auditReport([...BASE, denyAll('shop')]), 'audit/unselected-pods')).toEqual([]);
  });

  it('allows-any-address: 0.0.0.0/0, ::/0 and an empty from; not a narrower block', () => {
    const report = auditReport([
      ...BASE,
      np('shop', 'v4', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443 }] }] }),
      np('shop', 'v6', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '::/0' } }], ports: [{ port: 443 }] }] }),
      np('shop', 'empty-from', { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] }),
      np('shop', 'narrow', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 443 }] }] }),
      np('shop', 'with-except', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }], ports: [{ port: 443 }] }] }),
    ]);
    expect(ids(report, 'audit/allows-any-address')).toEqual(['NetworkPolicy shop/empty-from', 'NetworkPolicy shop/v4', 'NetworkPolicy shop/v6']);
    expect(report.findings.find((f) => f.object === 'NetworkPolicy shop/v6' && f.ruleId === 'audit/allows-any-address')?.items).toEqual(['egress[0]: ipBlock ::/0 (::/0)']);
  });

  it('allows-all-ports and allows-all-namespaces, with the rules that do it', () => {
    const report = auditReport([
      ...BASE,
      np('shop', 'any-port', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] }),
      np('shop', 'all-ns', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'prom' } } }], ports: [{ port: 9090 }] }] }),
      np('shop', 'tight', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } } }], ports: [{ port: 8080, endPort: 8081 }] }] }),
    ]);
    expect(ids(report, 'audit/allows-all-ports')).toEqual(['NetworkPolicy shop/any-port']);
    expect(report.findings.find((f) => f.ruleId === 'audit/allows-all-namespaces')?.items).toEqual(['ingress[0]: namespaceSelector {} with podSelector app=prom']);
    expect(ids(report, 'audit/allows-all-namespaces')).toEqual(['NetworkPolicy shop/all-ns']);
  });

  it('ignores the rules of a direction the policy does not affect', () => {
    const report = auditReport([...BASE, np('shop', 'ingress-only', { podSelector: {}, policyTypes: ['Ingress'], egress: [{}] })]);
    expect(ids(report, 'audit/allows-any-address')).toEqual([]);
  });

  it('selects-no-pod: a selector no pod matches, or a namespace without pods; not run without pods', () => {
    const report = auditReport([...BASE, np('shop', 'typo', { podSelector: { matchLabels: { app: 'wbe' } } }), np('shop', 'ok', { podSelector: { matchLabels: { app: 'web' } } }), np('empty', 'x', { podSelector: {} })]);
    expect(ids(report, 'audit/selects-no-pod')).toEqual(['NetworkPolicy empty/x', 'NetworkPolicy shop/typo']);
    expect(report.findings.find((f) => f.object === 'NetworkPolicy empty/x' && f.ruleId === 'audit/selects-no-pod')?.message).toContain('the input has no pod in namespace empty');
    const policiesOnly = auditReport([np('shop', 'typo', { podSelector: { matchLabels: { app: 'wbe' } } })]);
    expect(ids(policiesOnly, 'audit/selects-no-pod')).toEqual([]);
    expect(policiesOnly.checks).toContainEqual({ id: 'audit/selects-no-pod', run: false, reason: 'the input has no pods' });
    expect(policiesOnly.checks).toContainEqual({ id: 'audit/unselected-pods', run: false, reason: 'the input has no pods' });
  });

  it('unused-policy: not run without matches; with them, policies not matched within the window (never a pure deny: it matches no flow by design)', () => {
    const objects = [...BASE, denyAll('shop'), np('shop', 'web-in', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] }), np('shop', 'old', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })];
    const unknown = auditReport(objects);
    expect(ids(unknown, 'audit/unused-policy')).toEqual([]);
    expect(unknown.checks.find((c) => c.id === 'audit/unused-policy')).toMatchObject({ run: false });
    const now = new Date('2026-12-01T00:00:00Z');
    const lastMatch = new Map([
      ['shop/web-in', new Date('2026-11-30T00:00:00Z')],
      ['shop/old', new Date('2026-10-01T00:00:00Z')],
    ]);
    const known = auditReport(objects, { matched: { lastMatch, now } });
    expect(ids(known, 'audit/unused-policy')).toEqual(['NetworkPolicy shop/old']);
    expect(known.findings.find((f) => f.object === 'NetworkPolicy shop/old' && f.ruleId === 'audit/unused-policy')?.message).toBe('no flow has matched shop/old in 30 days (last match 2026-10-01T00:00:00.000Z)');
    expect(ids(auditReport(objects, { matched: { lastMatch, now, days: 90 } }), 'audit/unused-policy')).toEqual([]);
  });

  it('admin-override: ANPs by priority then the BANP, with action, subject and rules', () => {
    const anp = (name: string, priority: number, action: string): LoadInput => ({
      object: {
        apiVersion: 'policy.networking.k8s.io/v1alpha1',
        kind: 'AdminNetworkPolicy',
        metadata: { name },
        spec: { priority, subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } }, ingress: [{ name: 'r', action, from: [{ namespaces: {} }] }] },
      },
      source: `anp-${name}.yaml`,
    });
    const banp: LoadInput = {
      object: { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'BaselineAdminNetworkPolicy', metadata: { name: 'default' }, spec: { subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }] }] } },
      source: 'banp.yaml',
    };
    const report = auditReport([...BASE, banp, anp('z-allow', 5, 'Allow'), anp('a-deny', 50, 'Deny')]);
    const found = report.findings.filter((f) => f.ruleId === 'audit/admin-override');
    expect(found.map((f) => f.object)).toEqual(['AdminNetworkPolicy z-allow', 'AdminNetworkPolicy a-deny', 'BaselineAdminNetworkPolicy default']);
    expect(found[0]?.message).toBe('AdminNetworkPolicy z-allow (priority 5) (Allow) selects every pod of namespaces kubernetes.io/metadata.name=shop: 2 pods in 1 namespaces; its Allow and Deny rules win over NetworkPolicies, Pass hands over to them');
    expect(found[0]?.items).toEqual(['ingress[0] "r": Allow from every namespace']);
    expect(found[2]?.items).toEqual(['egress[0]: Deny to networks 0.0.0.0/0']);
    expect(report.totals.adminPolicies).toBe(3);
    expect(ids(auditReport([...BASE]), 'audit/admin-override')).toEqual([]);
  });

  it('reports invalid objects as findings and audits the rest', () => {
    const report = auditReport([...BASE, { object: { kind: 'NetworkPolicy', metadata: { namespace: 'shop', name: 'bad' }, spec: { podSelector: { matchLabels: 7 } } }, source: 'bad.yaml' }, { object: 'not an object', source: 'junk.yaml' }]);
    const invalid = report.findings.filter((f) => f.ruleId === 'audit/invalid-input');
    expect(invalid.length).toBeGreaterThanOrEqual(2);
    expect(invalid.every((f) => f.level === 'error')).toBe(true);
    expect(invalid.map((f) => f.source)).toEqual(expect.arrayContaining(['bad.yaml', 'junk.yaml']));
    expect(ids(report, 'audit/no-default-deny')).toEqual(['Namespace shop']);
  });

  it('is deterministic: the same input in any order gives the same report', () => {
    const objects = [...BASE, ns('b'), pod('b', 'x', { app: 'x' }), np('shop', 'web-in', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] })];
    expect(renderJson(auditReport([...objects].reverse()))).toBe(renderJson(auditReport(objects)));
  });
});

describe('namespace score', () => {
  it('follows the documented formula', () => {
    expect(namespaceScore(undefined, undefined, undefined)).toBe(100);
    expect(namespaceScore(new Set(['ingress', 'egress']), { ingress: 1, egress: 1 }, undefined)).toBe(30);
    expect(namespaceScore(new Set(['egress']), { ingress: 0, egress: 0.5 }, undefined)).toBe(80);
    // Caps: 3 any-address policies cost 20, not 30.
    expect(namespaceScore(undefined, undefined, { anyAddress: 3, allNamespaces: 1, allPorts: 10, noPod: 0, unused: 0 })).toBe(100 - 20 - 5 - 10);
    expect(namespaceScore(new Set(['ingress', 'egress']), { ingress: 1, egress: 1 }, { anyAddress: 9, allNamespaces: 9, allPorts: 9, noPod: 9, unused: 9 })).toBe(0);
  });

  it('scores a hardened namespace 100 and an open one lower, lowest first', () => {
    const report = auditReport([...BASE, ns('safe'), pod('safe', 's', { app: 's' }), denyAll('safe')]);
    expect(report.scores).toEqual([
      { namespace: 'shop', score: 30, pods: 2, policies: 0 },
      { namespace: 'safe', score: 100, pods: 1, policies: 1 },
    ]);
  });
});

describe('audit on the netpol-analyzer fixtures', () => {
  for (const set of ['netpol', 'netpol-anp']) {
    const root = join(fixtures, set, 'tests');
    for (const name of readdirSync(root).sort()) {
      it(`${set}/${name}: runs every check and renders valid output`, async () => {
        const read = await readManifests([join(root, name)]);
        const { index, issues } = buildIndex(read.inputs);
        const report = auditReport(index, { issues });
        expect(report.scores.length).toBe(report.totals.namespaces);
        for (const s of report.scores) expect(s.score).toBeGreaterThanOrEqual(0);
        expect(sarifProblems(JSON.parse(renderSarif({ ...report, findings: report.findings.map((f) => ({ ...f, file: 'm.yaml', line: 1 })) }, '1.0.0')))).toEqual([]);
        expect(renderMarkdown(report)).toContain('# NetworkPolicy audit');
        if (set === 'netpol-anp') expect(report.findings.some((f) => f.ruleId === 'audit/admin-override')).toBe(true);
      });
    }
  }

  it('core_pods_without_host_ip: the allow-everything policy is flagged on all three counts', async () => {
    const read = await readManifests([join(fixtures, 'netpol', 'tests', 'core_pods_without_host_ip')]);
    const report = auditReport(read.inputs);
    const policies = new Set(report.findings.filter((f) => f.ruleId.startsWith('audit/allows-')).map((f) => f.object));
    expect(policies.size).toBe(1);
    expect(report.findings.filter((f) => f.ruleId.startsWith('audit/allows-')).map((f) => f.ruleId).sort()).toEqual(['audit/allows-all-namespaces', 'audit/allows-all-ports', 'audit/allows-any-address']);
  });
});

describe('renderers and hostile input', () => {
  it('escapes Markdown, HTML and control characters in text from the input', () => {
    // printable() turns ESC into the text \x1b; its backslash is then escaped so Markdown shows it.
    expect(markdownText('<img src=x onerror=alert(1)> **bold** [link](http://x) | a`b\u001b[2J\nline')).toBe(
      '&lt;img src=x onerror=alert(1)&gt; \\*\\*bold\\*\\* \\[link\\](http://x) \\| a\\`b\\\\x1b\\[2J\\\\nline',
    );
    const report = auditReport([...BASE, { object: { kind: 'NetworkPolicy', metadata: { namespace: 'shop', name: '<script>alert(1)</script>\u0007' }, spec: {} }, source: 'evil|[x](y).yaml' }]);
    const md = renderMarkdown(report);
    expect(md).not.toContain('<script>');
    expect(md).not.toContain('\u0007');
    expect(md).not.toMatch(/\[x\]\(y\)/);
  });

  it('caps the items of a finding and the findings per rule in Markdown; JSON keeps every finding', () => {
    const many: LoadInput[] = [ns('big')];
    for (let i = 0; i < 5000; i++) many.push(pod('big', `p-${i}`, { app: `a${i}` }));
    for (let i = 0; i < 300; i++) many.push(np('big', `typo-${i}`, { podSelector: { matchLabels: { app: `none-${i}` } } }));
    const report = auditReport(many);
    const unselected = report.findings.find((f) => f.ruleId === 'audit/unselected-pods' && f.direction === 'egress');
    expect(unselected?.items?.length).toBe(20);
    expect(unselected?.more).toBe(4980);
    expect(ids(report, 'audit/selects-no-pod').length).toBe(300);
    const md = renderMarkdown(report);
    expect(md).toContain('… and 4980 more');
    expect(md).toContain('… and 100 more (see the JSON or SARIF output)');
    expect(JSON.parse(renderJson(report)).findings.length).toBe(report.findings.length);
  });

  it('SARIF: every rule, stable rule ids and fingerprints, a fallback location for findings without a file', () => {
    const report = auditReport([...BASE, np('shop', 'any', { podSelector: {}, ingress: [{}] })]);
    const sarif = JSON.parse(renderSarif(report, '1.2.3', 'manifests/shop.yaml'));
    expect(sarifProblems(sarif)).toEqual([]);
    expect(sarif.runs[0].tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(AUDIT_RULES.map((r) => r.id));
    expect(sarif.runs[0].results.every((r: { locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }) => r.locations[0]?.physicalLocation.artifactLocation.uri === 'manifests/shop.yaml')).toBe(true);
    // Scaling the namespace changes counts but not fingerprints (GitHub keeps the same alert).
    const scaled = auditReport([...BASE, pod('shop', 'web-2', { app: 'web' }), np('shop', 'any', { podSelector: {}, ingress: [{}] })]);
    const prints = (r: AuditReport): string[] => JSON.parse(renderSarif(r, '1', 'f.yaml')).runs[0].results.map((x: { partialFingerprints: Record<string, string> }) => x.partialFingerprints['netpolResponderAudit/v1']);
    expect(prints(scaled)).toEqual(prints(report));
  });

  it('handles a synthetic 1k-pod cluster', () => {
    const report = auditReport(syntheticCluster({ pods: 1000, seed: 3 }).map((object) => ({ object })));
    expect(report.totals.pods).toBeGreaterThanOrEqual(1000);
    expect(report.findings.filter((f) => f.ruleId === 'audit/invalid-input')).toEqual([]);
    expect(report.scores.length).toBe(report.totals.namespaces);
  });
});
