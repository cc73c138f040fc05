// The unused-policy input from the collector's learned flows (matchFlows), the unused check's
// treatment of pure denies and of a missing snapshot, and isolation by ANP/BANP/CNP/CCNP in the
// default-deny and unselected-pods checks.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditReport, type AuditReport } from '../../src/audit-report/checks.js';
import { deniesEverything, loadClusterwideCilium } from '../../src/audit-report/isolation.js';
import { matchFlows, type FlowEdge } from '../../src/audit-report/matched.js';
import { buildIndex } from '../../src/policy/index.js';
import { readManifests } from '../../src/policy/load-files.js';
import { anp, banp, cnp, index, netpol, ns, pod } from '../helpers/policy.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T09:00:00Z');
const edge = (src: string, dst: string, port: number, daysAgo: number, protocol = 'TCP'): FlowEdge => ({ src, dst, port, protocol, lastSeen: NOW - daysAgo * DAY });

function shop(): unknown[] {
  return [
    ns('web', { team: 'web' }),
    ns('db', { team: 'db' }),
    pod('web', 'web-1', { app: 'web' }),
    pod('db', 'pg-1', { app: 'pg' }, [{ name: 'pg', containerPort: 5432 }]),
    netpol('db', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    netpol('db', 'allow-web', { podSelector: { matchLabels: { app: 'pg' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'web' } } }], ports: [{ port: 'pg' }] }] }),
    netpol('db', 'allow-backup', { podSelector: { matchLabels: { app: 'pg' } }, ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 5432 }] }] }),
    netpol('web', 'egress-db', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'db' } } }], ports: [{ port: 5432 }] }] }),
    netpol('web', 'egress-dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] }),
  ];
}

const unused = (r: AuditReport): string[] => r.findings.filter((f) => f.ruleId === 'audit/unused-policy').map((f) => f.object);
const noDeny = (r: AuditReport): string[] => r.findings.filter((f) => f.ruleId === 'audit/no-default-deny').map((f) => `${f.namespace}:${/default-deny (\S+)/.exec(f.message)?.[1]}`);
const unselected = (r: AuditReport): string[] => r.findings.filter((f) => f.ruleId === 'audit/unselected-pods').map((f) => `${f.namespace}:${f.direction}`);

describe('matchFlows', () => {
  it('credits the ingress rules of the destination and the egress rules of the source, never a pure deny', () => {
    const idx = index(shop());
    const r = matchFlows(idx, [edge('web/web-1', 'db/pg-1', 5432, 3)]);
    expect([...r.lastMatch.keys()].sort()).toEqual(['db/allow-web', 'web/egress-db']);
    expect(r.lastMatch.get('db/allow-web')?.getTime()).toBe(NOW - 3 * DAY);
    expect(r.lastMatch.has('db/deny-all')).toBe(false);
    expect(r.matchedEdges).toBe(1);
  });

  it('keeps the latest lastSeen over several edges and both learned sides', () => {
    const idx = index(shop());
    const r = matchFlows(idx, [edge('web/web-1', 'db/pg-1', 5432, 10), edge('web/web-1', 'db/pg-1', 5432, 2), edge('web/web-1', 'db/pg-1', 5432, 40)]);
    expect(r.lastMatch.get('web/egress-db')?.getTime()).toBe(NOW - 2 * DAY);
  });

  it('a flow no rule allows (wrong port) matches nothing; a rule for any peer on a port matches an external address', () => {
    const idx = index(shop());
    expect(matchFlows(idx, [edge('web/web-1', 'db/pg-1', 6379, 1)]).lastMatch.size).toBe(0);
    const dns = matchFlows(idx, [edge('web/web-1', '8.8.8.8', 53, 1, 'UDP')]);
    expect([...dns.lastMatch.keys()]).toEqual(['web/egress-dns']);
  });

  it('matches ipBlock peers with outside addresses, not addresses outside the block', () => {
    const idx = index(shop());
    expect([...matchFlows(idx, [edge('203.0.113.9', 'db/pg-1', 5432, 1)]).lastMatch.keys()]).toEqual(['db/allow-backup']);
    expect(matchFlows(idx, [edge('198.51.100.1', 'db/pg-1', 5432, 1)]).lastMatch.size).toBe(0);
  });

  it('counts edges whose endpoints are gone and skips protocols and ports the engine cannot ask about', () => {
    const idx = index(shop());
    const r = matchFlows(idx, [edge('web/gone', 'db/pg-1', 5432, 1), edge('web/web-1', 'db/pg-1', 0, 1), edge('web/web-1', 'db/pg-1', 5432, 1, 'ICMPv4'), { ...edge('web/web-1', 'db/pg-1', 5432, 1), lastSeen: Number.NaN }]);
    expect(r.unresolved).toBe(1);
    expect(r.matchedEdges).toBe(0);
    expect(r.lastMatch.size).toBe(0);
  });

  it('resolves a workload by its kind (a Deployment whose live pods belong to a ReplicaSet)', () => {
    const rsPod = { kind: 'Pod', metadata: { namespace: 'web', name: 'front-7d9f-abc', labels: { app: 'front', 'pod-template-hash': '7d9f' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'front-7d9f', controller: true }] }, spec: { containers: [{ name: 'c' }] } };
    const idx = index([...shop(), rsPod]);
    const r = matchFlows(idx, [{ ...edge('web/front', 'db/pg-1', 5432, 1), srcKind: 'Deployment' }]);
    expect(r.matchedEdges).toBe(1);
    expect([...r.lastMatch.keys()].sort()).toEqual(['db/allow-web', 'web/egress-db']);
  });

  it('does not credit a NetworkPolicy when an AdminNetworkPolicy Allow decided; credits it when a Pass handed over (fixture)', async () => {
    const read = await readManifests([join('test/fixtures/netpol-anp/tests/anp_with_np_and_banp_pass_test')]);
    const { index: idx } = buildIndex(read.inputs);
    // TCP 80: the ANP allows it first; UDP 80: the ANP passes, the NetworkPolicy allows it (the BANP is not reached).
    expect(matchFlows(idx, [edge('ns2/pod1', 'ns1/pod1', 80, 1)]).lastMatch.size).toBe(0);
    expect([...matchFlows(idx, [edge('ns2/pod1', 'ns1/pod1', 80, 1, 'UDP')]).lastMatch.keys()]).toEqual(['ns1/allow-ingress-from-ns2-pod1']);
  });

  it('credits NetworkPolicies, not CiliumNetworkPolicies, when both allow', () => {
    const idx = index([...shop(), cnp('db', 'pg-cnp', { endpointSelector: {}, ingress: [{ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'web' } }] }] })]);
    expect([...matchFlows(idx, [edge('web/web-1', 'db/pg-1', 5432, 1)]).lastMatch.keys()].sort()).toEqual(['db/allow-web', 'web/egress-db']);
  });
});

describe('auditReport: unused policies', () => {
  it('reports allow policies without a match in the window, never a pure deny', () => {
    const idx = index(shop());
    const { lastMatch } = matchFlows(idx, [edge('web/web-1', 'db/pg-1', 5432, 45), edge('web/web-1', '8.8.8.8', 53, 1, 'UDP')]);
    const r = auditReport(idx, { matched: { lastMatch, now: new Date(NOW) } });
    expect(unused(r)).toEqual(['NetworkPolicy db/allow-backup', 'NetworkPolicy db/allow-web', 'NetworkPolicy web/egress-db']);
    expect(r.findings.find((f) => f.object === 'NetworkPolicy db/allow-web')?.message).toMatch(/in 30 days \(last match 2026-10-17/);
    expect(r.checks.find((c) => c.id === 'audit/unused-policy')).toEqual({ id: 'audit/unused-policy', run: true });
  });

  it('a shorter window counts what the longer one does not', () => {
    const idx = index(shop());
    const { lastMatch } = matchFlows(idx, [edge('web/web-1', 'db/pg-1', 5432, 5)]);
    expect(unused(auditReport(idx, { matched: { lastMatch, now: new Date(NOW), days: 7 } }))).not.toContain('NetworkPolicy db/allow-web');
    expect(unused(auditReport(idx, { matched: { lastMatch, now: new Date(NOW), days: 3 } }))).toContain('NetworkPolicy db/allow-web');
  });

  it('says so when the flows are known for less than the window', () => {
    const idx = index(shop());
    const since = new Date(NOW - 5 * DAY);
    const r = auditReport(idx, { matched: { lastMatch: new Map(), now: new Date(NOW), observedSince: since } });
    expect(r.findings.find((f) => f.object === 'NetworkPolicy db/allow-web')?.message).toBe(`no flow has matched db/allow-web (window: 30 days; flows are known since ${since.toISOString()} only)`);
    const long = auditReport(idx, { matched: { lastMatch: new Map(), now: new Date(NOW), observedSince: new Date(NOW - 60 * DAY) } });
    expect(long.findings.find((f) => f.object === 'NetworkPolicy db/allow-web')?.message).toBe('no flow has matched db/allow-web (window: 30 days)');
  });

  it('a deny in one direction with allows in the other is judged by its allows', () => {
    const idx = index([...shop(), netpol('web', 'in-deny-out-allow', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], egress: [{ ports: [{ port: 443 }] }] })]);
    expect(unused(auditReport(idx, { matched: { lastMatch: new Map(), now: new Date(NOW) } }))).toContain('NetworkPolicy web/in-deny-out-allow');
  });

  it('without a collector snapshot the check is not run, with the reason', () => {
    const r = auditReport(index(shop()), { matchedUnavailable: 'the flow collector has no usable baseline snapshot (no snapshot)' });
    expect(r.checks.find((c) => c.id === 'audit/unused-policy')).toEqual({ id: 'audit/unused-policy', run: false, reason: 'the flow collector has no usable baseline snapshot (no snapshot)' });
    expect(unused(r)).toEqual([]);
  });
});

describe('auditReport: isolation by the other policy kinds', () => {
  const base = (): unknown[] => [ns('a', { team: 'a' }), pod('a', 'p1', { app: 'x' }), pod('a', 'p2', { app: 'y' })];

  it('NetworkPolicies only: the namespace is open both ways', () => {
    const r = auditReport(index(base()));
    expect(noDeny(r)).toEqual(['a:ingress']);
    expect(r.findings.find((f) => f.ruleId === 'audit/no-default-deny')?.message).toMatch(/ingress or egress/);
    expect(unselected(r)).toEqual(['a:ingress', 'a:egress']);
  });

  it('a CiliumNetworkPolicy selecting every endpoint isolates the directions it has rules for', () => {
    const r = auditReport(index([...base(), cnp('a', 'all-in', { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }] })]));
    expect(r.findings.filter((f) => f.ruleId === 'audit/no-default-deny').map((f) => f.message)).toEqual([expect.stringMatching(/no default-deny egress policy/)]);
    expect(unselected(r)).toEqual(['a:egress']);
  });

  it('a CNP selecting some pods isolates them, not the namespace; enableDefaultDeny false isolates nothing', () => {
    const r = auditReport(index([...base(), cnp('a', 'x-only', { endpointSelector: { matchLabels: { app: 'x' } }, egress: [{ toEndpoints: [{}] }] })]));
    expect(r.findings.find((f) => f.ruleId === 'audit/unselected-pods' && f.direction === 'egress')?.items).toEqual(['a/p2']);
    expect(r.findings.filter((f) => f.ruleId === 'audit/no-default-deny')).toHaveLength(1);
    const off = auditReport(index([...base(), cnp('a', 'no-dd', { endpointSelector: {}, enableDefaultDeny: { ingress: false }, ingress: [{ fromEndpoints: [{}] }] })]));
    expect(unselected(off)).toEqual(['a:ingress', 'a:egress']);
  });

  it('a BaselineAdminNetworkPolicy deny for every peer isolates the namespaces of its subject', () => {
    const deny = banp({ subject: { namespaces: { matchLabels: { team: 'a' } } }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }], egress: [{ action: 'Deny', to: [{ networks: ['0.0.0.0/0', '::/0'] }] }] });
    const r = auditReport(index([...base(), ns('b', { team: 'b' }), pod('b', 'q', {}), deny]));
    expect(noDeny(r).filter((x) => x.startsWith('a:'))).toEqual([]);
    expect(unselected(r).filter((x) => x.startsWith('a:'))).toEqual([]);
    expect(unselected(r).filter((x) => x.startsWith('b:'))).toEqual(['b:ingress', 'b:egress']);
  });

  it('an egress deny to every pod but not every outside address, or with ports, is no default deny', () => {
    const podsOnly = banp({ subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ namespaces: {} }] }] });
    expect(unselected(auditReport(index([...base(), podsOnly])))).toEqual(['a:ingress', 'a:egress']);
    const v4Only = anp('v4', 5, { subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }] }] });
    expect(unselected(auditReport(index([...base(), v4Only])))).toEqual(['a:ingress', 'a:egress']);
    const ported = anp('ported', 5, { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }], ports: [{ portNumber: { protocol: 'TCP', port: 80 } }] }] });
    expect(unselected(auditReport(index([...base(), ported])))).toEqual(['a:ingress', 'a:egress']);
  });

  it('an ANP deny-all for some pods isolates those pods only', () => {
    const some = anp('x-deny', 5, { subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'x' } } } }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] });
    const r = auditReport(index([...base(), some]));
    expect(noDeny(r)).toEqual(['a:ingress']);
    expect(r.findings.find((f) => f.ruleId === 'audit/unselected-pods' && f.direction === 'ingress')?.items).toEqual(['a/p2']);
  });

  it('a CiliumClusterwideNetworkPolicy selecting a namespace by its label isolates it; one selecting by pod label isolates those pods', () => {
    const ccnp = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name }, spec });
    const { policies, issues } = loadClusterwideCilium([
      ccnp('ns-a', { endpointSelector: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'a' } }, ingress: [{ fromEntities: ['cluster'] }] }),
      ccnp('team-label', { endpointSelector: { matchLabels: { 'io.cilium.k8s.namespace.labels.team': 'a', app: 'x' } }, egressDeny: [{ toEntities: ['world'] }] }),
      ccnp('host', { nodeSelector: {}, ingress: [{}] }),
      ccnp('entity', { endpointSelector: { matchLabels: { 'reserved:host': '' } }, ingress: [{}] }),
      { kind: 'CiliumClusterwideNetworkPolicy', metadata: {} },
    ]);
    expect(issues.map((i) => i.message)).toEqual(['CiliumClusterwideNetworkPolicy without metadata.name']);
    expect(policies.map((p) => [p.name, p.specs.length])).toEqual([['ns-a', 1], ['team-label', 1], ['host', 0], ['entity', 0]]);
    const r = auditReport(index(base()), { clusterwideCilium: policies });
    expect(noDeny(r)).toEqual(['a:egress']);
    expect(r.findings.find((f) => f.ruleId === 'audit/unselected-pods' && f.direction === 'egress')?.items).toEqual(['a/p2']);
    expect(unselected(r)).toEqual(['a:egress']);
  });

  it('fixture: the conformance BANP denies some namespaces only, so it isolates nothing', async () => {
    const read = await readManifests(['test/fixtures/netpol-anp/tests/banp_test_core_ingress_tcp_rules']);
    const { index: idx } = buildIndex(read.inputs);
    const banpRules = idx.extended?.adminPolicies.flatMap((p) => p.ingress) ?? [];
    expect(banpRules.length).toBeGreaterThan(0);
    expect(banpRules.some(deniesEverything)).toBe(false);
    const r = auditReport(idx);
    expect(noDeny(r)).toContain('network-policy-conformance-gryffindor:ingress');
  });

  it('fixture: the same cluster with a deny-all BANP for gryffindor is isolated there', async () => {
    const read = await readManifests(['test/fixtures/netpol-anp/tests/banp_test_core_ingress_tcp_rules/manifests.yaml']);
    const deny = banp({ subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'network-policy-conformance-gryffindor' } } }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] });
    const { index: idx } = buildIndex([...read.inputs, { object: deny, source: 'extra' }]);
    const r = auditReport(idx);
    expect(noDeny(r)).toContain('network-policy-conformance-gryffindor:egress');
    expect(noDeny(r)).not.toContain('network-policy-conformance-gryffindor:ingress');
    expect(unselected(r)).not.toContain('network-policy-conformance-gryffindor:ingress');
    expect(unselected(r)).toContain('network-policy-conformance-slytherin:ingress');
  });
});
