// Lint rules as pure functions over small clusters: NP000/NP009 (load problems as findings),
// NP002 (namespace-wide isolation, null matchLabels), NP010 ports, NP011 without pods, NP012.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIndex, connectivity, formatConnections } from '../../src/policy/index.js';
import { describePorts } from '../../src/policy/lint-exposure.js';
import { failing, issueFindings, lint, LINT_RULES, RULE_IDS } from '../../src/policy/lint.js';
import { parseManifestText } from '../../src/policy/load-files.js';
import { index, netpol, ns, pod } from '../helpers/policy.js';

const ids = (objects: unknown[]): string[] => lint(index(objects)).map((f) => `${f.id} ${f.object}`);
const only = (objects: unknown[], id: string): string[] => lint(index(objects)).filter((f) => f.id === id).map((f) => f.message);
const web = { podSelector: { matchLabels: { app: 'web' } } };

describe('the rule catalogue', () => {
  it('has unique names, a severity, texts and a scope for every id', () => {
    const names = RULE_IDS.map((id) => LINT_RULES[id].name);
    expect(new Set(names).size).toBe(names.length);
    for (const id of RULE_IDS) {
      expect(id).toMatch(/^NP\d{3}$/);
      expect(LINT_RULES[id].summary.length).toBeGreaterThan(10);
      expect(LINT_RULES[id].help.length).toBeGreaterThan(10);
    }
    expect(RULE_IDS).toEqual(expect.arrayContaining(['NP000', 'NP012', 'NP031', 'NP040', 'NP041']));
  });

  it('docs/policy-engine.md lists every rule with its name and severity', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'policy-engine.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| (NP\d{3}) \| ([a-z-]+) \| (error|warning|info) \|/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    expect(rows).toEqual(RULE_IDS.map((id) => `${id} ${LINT_RULES[id].name} ${LINT_RULES[id].severity}`));
  });
});

describe('NP000 / NP009: problems of the input are findings', () => {
  it('an invalid policy is an error finding with its source and reason; the others are still linted', () => {
    const bad = netpol('a', 'bad', { podSelector: { matchLabels: { app: 7 } } });
    const open = netpol('a', 'open', { ...web, ingress: [{}] });
    const { index: idx, issues } = buildIndex([
      { object: bad, source: 'p.yaml#1' },
      { object: open, source: 'p.yaml#2' },
      { object: { kind: 'Gadget', metadata: { name: 'g' } }, source: 'p.yaml#3' },
    ]);
    const findings = lint(idx, { issues });
    expect(findings.map((f) => `${f.id} ${f.severity} ${f.object}`)).toEqual([
      'NP000 error NetworkPolicy a/bad',
      'NP002 warning a',
      'NP010 warning a/open ingress[0]',
      'NP009 warning p.yaml#3',
    ]);
    expect(findings[0]).toMatchObject({ namespace: 'a', policy: 'bad', source: 'p.yaml#1' });
    expect(findings[0]?.message).toMatch(/^spec\.podSelector: matchLabels: label value 7 must be a string/);
    expect(failing(findings).map((f) => f.id)).toEqual(['NP000']);
  });

  it('YAML syntax errors and unreadable files become NP000 with the file as object', () => {
    const parsed = parseManifestText('kind: NetworkPolicy\nmetadata: {name: x\n', 'broken.yaml');
    const findings = issueFindings(parsed.issues);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ id: 'NP000', object: 'broken.yaml', source: 'broken.yaml' });
    expect(findings[0]?.message).toMatch(/invalid YAML/);
    expect(issueFindings([{ severity: 'error', source: 'missing.yaml', message: 'cannot read: ENOENT' }])[0]).toMatchObject({ id: 'NP000', object: 'missing.yaml' });
  });

  it('a duplicate policy names the namespace and policy, so a config entry can match it', () => {
    const p = netpol('a', 'p', { podSelector: {}, policyTypes: ['Ingress'] });
    const { index: idx, issues } = buildIndex([
      { object: p, source: 'one.yaml' },
      { object: p, source: 'two.yaml' },
    ]);
    expect(lint(idx, { issues }).map((f) => [f.id, f.namespace, f.policy, f.source])).toEqual([['NP000', 'a', 'p', 'two.yaml']]);
  });
});

describe('NP002: a policy that isolates every pod of the namespace for ingress', () => {
  const policies = {
    empty: { podSelector: {} },
    nullMatchLabels: { podSelector: { matchLabels: null } },
    nullSelector: { podSelector: null },
    noSelector: {},
    nullBoth: { podSelector: { matchLabels: null, matchExpressions: null } },
  };
  for (const [name, spec] of Object.entries(policies)) {
    it(`counts ${name} as selecting every pod (with or without rules)`, () => {
      expect(ids([netpol('a', 'p', spec)])).toEqual([]);
      expect(ids([netpol('a', 'p', { ...spec, ingress: [{ from: [{ podSelector: {} }] }] })])).toEqual([]);
    });
  }

  it('fires when only some pods are selected, or the namespace-wide policy re-opens everything', () => {
    expect(ids([netpol('a', 'p', { ...web, ingress: [] })])).toEqual(['NP002 a']);
    expect(ids([netpol('a', 'p', { podSelector: {}, ingress: [{}] })])).toContain('NP002 a');
    expect(ids([netpol('a', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] })])).toContain('NP002 a');
  });

  it('an ingress rule limited to some ports or peers still isolates', () => {
    expect(ids([netpol('a', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] })])).toEqual(['NP010 a/p ingress[0]']);
  });

  it('the engine agrees: a null matchLabels selects every pod, in spec.podSelector and in peers', () => {
    const pods = [ns('a'), ns('b'), pod('a', 'x', { app: 'x' }), pod('a', 'y', { app: 'y' }), pod('b', 'z', { app: 'z' })];
    const asEmpty = index([...pods, netpol('a', 'p', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }, { from: [{ namespaceSelector: {} }], ports: [{ port: 80 }] }] })]);
    const asNull = index([
      ...pods,
      netpol('a', 'p', { podSelector: { matchLabels: null }, ingress: [{ from: [{ podSelector: { matchLabels: null } }] }, { from: [{ namespaceSelector: { matchLabels: null } }], ports: [{ port: 80 }] }] }),
    ]);
    const list = formatConnections(connectivity(asNull, { external: false }), 'txt');
    expect(list).toBe(formatConnections(connectivity(asEmpty, { external: false }), 'txt'));
    expect(list).toContain('b/z[Pod] => a/x[Pod] : TCP 80');
    expect(list).toContain('a/y[Pod] => a/x[Pod] : All Connections');
  });

  it('a peer whose podSelector is null is no peer at all (the API server rejects it)', () => {
    const { issues } = buildIndex([{ object: netpol('a', 'p', { podSelector: {}, ingress: [{ from: [{ podSelector: null }] }] }), source: 's' }]);
    expect(issues.map((i) => i.message)).toEqual(['spec.ingress[0].from[0]: peer must set one of podSelector, namespaceSelector, ipBlock']);
  });
});

describe('NP010: ingress from every source says on which ports', () => {
  const base = [netpol('a', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })];
  const message = (rule: Record<string, unknown>): string | undefined => only([...base, netpol('a', 'p', { ...web, ingress: [rule] })], 'NP010')[0];

  it('every port, or the ports the rule is limited to', () => {
    expect(message({})).toBe('allows ingress to pods app=web from every source, in and outside the cluster (empty "from"), on every port');
    expect(message({ from: [], ports: [{ port: 80 }] })).toBe('allows ingress to pods app=web from every source, in and outside the cluster (empty "from"), on TCP 80 only');
    expect(message({ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443 }, { port: 8443, endPort: 8445 }] })).toMatch(/every address \(ipBlock 0\.0\.0\.0\/0: the whole Internet\), on TCP 443,8443-8445 only$/);
    expect(message({ from: [{ namespaceSelector: {} }], ports: [{ protocol: 'UDP' }, { port: 'http' }] })).toMatch(/every pod of every namespace \(empty namespaceSelector\), on every UDP port and port "http"\/TCP only$/);
    expect(message({ from: [{ ipBlock: { cidr: '::/0' } }] })).toMatch(/ipBlock ::\/0.*on every port$/);
  });

  it('not for a restricted source', () => {
    expect(message({ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] })).toBeUndefined();
    expect(message({ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'x' } } }] })).toBeUndefined();
    expect(message({ from: [{ podSelector: {} }] })).toBeUndefined();
  });

  it('describePorts covers every protocol and "every port" written per protocol', () => {
    const rule = (ports: unknown): Parameters<typeof describePorts>[0] => index([netpol('a', 'p', { ...web, ingress: [{ ports }] })]).policies.get('a/p')?.policy.ingress[0] as never;
    expect(describePorts(rule(undefined))).toBe('on every port');
    expect(describePorts(rule([{ protocol: 'TCP' }, { protocol: 'UDP' }, { protocol: 'SCTP' }]))).toBe('on every port');
    expect(describePorts(rule([{ port: 53, protocol: 'UDP' }, { port: 53 }, { port: 9, protocol: 'SCTP' }]))).toBe('on TCP 53, UDP 53 and SCTP 9 only');
  });
});

describe('NP012: egress to every destination on every port', () => {
  const egress = (rules: unknown[], types = ['Egress']): string[] => ids([netpol('a', 'deny', { podSelector: {} }), netpol('a', 'p', { ...web, policyTypes: types, egress: rules })]).filter((x) => x.startsWith('NP012'));

  it('an empty rule, an empty "to", or the Internet plus every namespace (in one rule or two)', () => {
    expect(egress([{}])).toEqual(['NP012 a/p egress[0]']);
    expect(egress([{ to: [] }, { ports: [{ port: 53, protocol: 'UDP' }] }])).toEqual(['NP012 a/p egress[0]']);
    expect(egress([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { namespaceSelector: {} }] }])).toEqual(['NP012 a/p egress[0]']);
    expect(egress([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }, { to: [{ namespaceSelector: {} }] }])).toEqual(['NP012 a/p egress']);
    expect(egress([{ to: [{ ipBlock: { cidr: '0.0.0.0/1' } }, { ipBlock: { cidr: '128.0.0.0/1' } }, { namespaceSelector: {} }] }])).toEqual(['NP012 a/p egress[0]']);
    expect(egress([{ ports: [{ protocol: 'TCP' }, { protocol: 'UDP' }, { protocol: 'SCTP' }] }])).toEqual(['NP012 a/p egress[0]']);
  });

  it('not when ports, destinations or the direction are limited', () => {
    expect(egress([{ ports: [{ port: 443 }] }])).toEqual([]);
    expect(egress([{ to: [{ namespaceSelector: {} }] }])).toEqual([]);
    expect(egress([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }])).toEqual([]);
    expect(egress([{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.0.0/16'] } }, { namespaceSelector: {} }] }])).toEqual([]);
    expect(egress([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { namespaceSelector: {} }], ports: [{ port: 443 }] }])).toEqual([]);
    expect(egress([{}], ['Ingress'])).toEqual([]);
  });

  it('the message says what the policy opens', () => {
    const [m] = only([netpol('a', 'p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '::/0' } }] }, { to: [{ namespaceSelector: {} }] }] })], 'NP012');
    expect(m).toBe('allows egress from every pod of the namespace to every destination (ipBlock ::/0 and an empty namespaceSelector: the whole Internet and every pod), on every port: isolating egress this way restricts nothing');
  });
});

describe('NP011 without pods: judged on the selectors', () => {
  const dnsFor = (podSelector: unknown) => netpol('a', 'dns', { podSelector, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
  const deny = netpol('a', 'deny', { ...web, policyTypes: ['Egress'] });

  it('a policy selecting at least the same pods that allows DNS is enough', () => {
    expect(ids([deny]).filter((x) => x.startsWith('NP011'))).toEqual(['NP011 a/deny']);
    expect(ids([deny, dnsFor({})]).filter((x) => x.startsWith('NP011'))).toEqual([]);
    expect(ids([deny, dnsFor({ matchExpressions: [{ key: 'app', operator: 'Exists' }] })]).filter((x) => x.startsWith('NP011'))).toEqual([]);
  });

  it('a DNS policy for other or fewer pods, or in another namespace, is not', () => {
    expect(ids([deny, dnsFor({ matchLabels: { app: 'web', tier: 'x' } })]).filter((x) => x.startsWith('NP011'))).toEqual(['NP011 a/deny']);
    expect(ids([deny, dnsFor({ matchLabels: { app: 'api' } })]).filter((x) => x.startsWith('NP011'))).toEqual(['NP011 a/deny']);
    const other = netpol('b', 'dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
    expect(ids([deny, other]).filter((x) => x.startsWith('NP011'))).toEqual(['NP011 a/deny']);
  });

  it('with pods, the pods decide (as before)', () => {
    const withPods = [ns('a'), pod('a', 'w', { app: 'web' }), deny];
    expect(ids(withPods).filter((x) => x.startsWith('NP011'))).toEqual(['NP011 a/deny']);
    expect(ids([...withPods, dnsFor({ matchLabels: { app: 'web' } })]).filter((x) => x.startsWith('NP011'))).toEqual([]);
  });
});

describe('locations', () => {
  it('findings carry the source of their policy, namespace or pod', () => {
    const { index: idx, issues } = buildIndex([
      { object: ns('a'), source: 'ns.yaml' },
      { object: pod('b', 'x', {}), source: 'pods.yaml#2' },
      { object: netpol('a', 'p', web), source: 'pol.yaml#3.items[1]' },
    ]);
    const findings = lint(idx, { issues });
    expect(findings.map((f) => [f.id, f.object, f.source])).toEqual([
      ['NP002', 'a', 'pol.yaml#3.items[1]'],
      ['NP020', 'a/p', 'pol.yaml#3.items[1]'],
      ['NP001', 'b', 'pods.yaml#2'],
    ]);
  });
});
