// Truth tables for AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1)
// together with NetworkPolicies: priorities, first match, Allow/Deny/Pass, the BANP, ports
// (numbers, ranges, named ports), networks, nodes, subjects. Every table is checked twice:
// through allowed() (the --explain path) and through connectivity() (the list path).
import { describe, expect, it } from 'vitest';
import { allowed, buildIndex, connectivity, explainDecision, formatConnections, lint, type PolicyIndex, type Protocol } from '../../src/policy/index.js';
import { anp, banp, index, netpol, node, ns, nsNamed, pod } from '../helpers/policy.js';

type Row = [src: string, dst: string, port: number | string, protocol: Protocol, expected: boolean];

function check(objects: unknown[], rows: Row[]): PolicyIndex {
  const idx = index(objects);
  for (const [src, dst, port, protocol, expected] of rows) {
    const d = allowed(idx, src, dst, port, protocol);
    expect({ src, dst, port, protocol, allowed: d.allowed }).toEqual({ src, dst, port, protocol, allowed: expected });
    // The list path must agree for pod-to-pod rows with numeric ports.
    if (typeof port === 'number' && src.includes('/') && dst.includes('/')) {
      const one = index(objects);
      const conns = connectivity(one, { only: { protocol, port } });
      const has = conns.some((c) => c.src.id === `${src}[Pod]` && c.dst.id === `${dst}[Pod]`);
      expect({ src, dst, port, protocol, listed: has }).toEqual({ src, dst, port, protocol, listed: expected });
    }
  }
  return idx;
}

const base = [
  ns('a', { team: 'x' }),
  ns('b', { team: 'y' }),
  pod('a', 'web', { app: 'web' }, [{ name: 'http', containerPort: 8080 }]),
  pod('a', 'db', { app: 'db' }, [{ name: 'pg', containerPort: 5432 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }]),
  pod('b', 'client', { app: 'client' }),
];
const fromB = [{ namespaces: nsNamed('b') }];
const dbSubject = { pods: { namespaceSelector: nsNamed('a'), podSelector: { matchLabels: { app: 'db' } } } };
const denyAllIngressDb = netpol('a', 'deny', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] });
const allowBToDb = netpol('a', 'allow-b', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } } }] }] });

describe('AdminNetworkPolicy priorities and first match', () => {
  it('the lower priority number decides; rules of one policy in order', () => {
    const deny10 = anp('deny-b', 10, { subject: dbSubject, ingress: [{ action: 'Deny', from: fromB }] });
    const allow5 = anp('allow-b-80', 5, { subject: dbSubject, ingress: [{ action: 'Allow', from: fromB, ports: [{ portNumber: { protocol: 'TCP', port: 80 } }] }] });
    check([...base, deny10, allow5], [
      ['b/client', 'a/db', 80, 'TCP', true],
      ['b/client', 'a/db', 81, 'TCP', false],
      ['a/web', 'a/db', 81, 'TCP', true], // no rule matches a/web: allowed
    ]);
    // Swapped priorities: the Deny comes first and wins everywhere.
    const deny1 = anp('deny-b', 1, { subject: dbSubject, ingress: [{ action: 'Deny', from: fromB }] });
    check([...base, deny1, allow5], [['b/client', 'a/db', 80, 'TCP', false]]);
    // Inside one policy the first rule wins.
    const ordered = anp('ordered', 3, {
      subject: dbSubject,
      ingress: [
        { action: 'Deny', from: fromB, ports: [{ portNumber: { protocol: 'TCP', port: 80 } }] },
        { action: 'Allow', from: fromB },
      ],
    });
    check([...base, denyAllIngressDb, ordered], [
      ['b/client', 'a/db', 80, 'TCP', false],
      ['b/client', 'a/db', 81, 'TCP', true],
    ]);
  });

  it('Deny wins over a NetworkPolicy allow; Allow wins over a NetworkPolicy deny', () => {
    const deny = anp('deny', 10, { subject: dbSubject, ingress: [{ action: 'Deny', from: fromB }] });
    check([...base, allowBToDb, deny], [['b/client', 'a/db', 5432, 'TCP', false]]);
    const allow = anp('allow', 10, { subject: dbSubject, ingress: [{ action: 'Allow', from: fromB }] });
    check([...base, denyAllIngressDb, allow], [
      ['b/client', 'a/db', 5432, 'TCP', true],
      ['a/web', 'a/db', 5432, 'TCP', false], // still isolated by the NetworkPolicy
    ]);
  });

  it('Pass goes to NetworkPolicies, and to the BANP only when no NetworkPolicy isolates', () => {
    const pass = anp('pass', 10, { subject: dbSubject, ingress: [{ action: 'Pass', from: fromB }] });
    const denyLater = anp('deny-later', 20, { subject: dbSubject, ingress: [{ action: 'Deny', from: fromB }] });
    const banpDeny = banp({ subject: dbSubject, ingress: [{ action: 'Deny', from: fromB }] });
    const banpAllow = banp({ subject: dbSubject, ingress: [{ action: 'Allow', from: fromB }] });
    const np5432 = netpol('a', 'pg', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 5432 }] }] });
    // Pass skips the later Deny; the NetworkPolicy decides; the BANP is not consulted.
    check([...base, pass, denyLater, np5432, banpAllow], [
      ['b/client', 'a/db', 5432, 'TCP', true],
      ['b/client', 'a/db', 5433, 'TCP', false],
    ]);
    // No NetworkPolicy isolates: the BANP decides.
    check([...base, pass, denyLater, banpDeny], [['b/client', 'a/db', 5432, 'TCP', false]]);
    check([...base, pass, denyLater, banpAllow], [['b/client', 'a/db', 5432, 'TCP', true]]);
    // Without the Pass, the later Deny decides.
    check([...base, denyLater, banpAllow], [['b/client', 'a/db', 5432, 'TCP', false]]);
  });

  it('the BANP: first match in order, Allow and Deny', () => {
    const b = banp({
      subject: { namespaces: nsNamed('a') },
      ingress: [
        { action: 'Allow', from: fromB, ports: [{ portNumber: { protocol: 'TCP', port: 80 } }] },
        { action: 'Deny', from: fromB },
      ],
    });
    check([...base, b], [
      ['b/client', 'a/web', 80, 'TCP', true],
      ['b/client', 'a/web', 81, 'TCP', false],
      ['a/db', 'a/web', 81, 'TCP', true],
    ]);
  });
});

describe('ports', () => {
  it('named ports resolve on the destination pod (ingress: the subject; egress: the peer)', () => {
    const ingress = anp('named', 1, {
      subject: { namespaces: nsNamed('a') },
      ingress: [
        { action: 'Allow', from: fromB, ports: [{ namedPort: 'pg' }] },
        { action: 'Deny', from: fromB },
      ],
    });
    check([...base, ingress], [
      ['b/client', 'a/db', 5432, 'TCP', true],
      ['b/client', 'a/db', 'pg', 'TCP', true],
      ['b/client', 'a/db', 5433, 'TCP', false],
      ['b/client', 'a/web', 5432, 'TCP', false], // web has no port named pg
    ]);
    const egress = anp('named-egress', 1, {
      subject: { namespaces: nsNamed('b') },
      egress: [
        { action: 'Allow', to: [{ namespaces: nsNamed('a') }], ports: [{ namedPort: 'dns' }] },
        { action: 'Deny', to: [{ namespaces: nsNamed('a') }] },
      ],
    });
    check([...base, egress], [
      ['b/client', 'a/db', 53, 'UDP', true], // the named port has no protocol: db's "dns" is UDP 53
      ['b/client', 'a/db', 53, 'TCP', false],
      ['b/client', 'a/web', 53, 'UDP', false],
    ]);
  });

  it('port ranges are inclusive', () => {
    const p = anp('range', 1, { subject: dbSubject, ingress: [{ action: 'Deny', from: fromB, ports: [{ portRange: { protocol: 'UDP', start: 8000, end: 8100 } }] }] });
    check([...base, p], [
      ['b/client', 'a/db', 8000, 'UDP', false],
      ['b/client', 'a/db', 8100, 'UDP', false],
      ['b/client', 'a/db', 8101, 'UDP', true],
      ['b/client', 'a/db', 8050, 'TCP', true],
    ]);
  });
});

describe('egress peers: networks and nodes', () => {
  it('networks match addresses outside the cluster, IPv4 and IPv6', () => {
    const p = anp('nets', 1, {
      subject: { namespaces: nsNamed('b') },
      egress: [
        { action: 'Allow', to: [{ networks: ['10.0.0.0/8', 'fd00::/8'] }] },
        { action: 'Deny', to: [{ networks: ['0.0.0.0/0', '::/0'] }] },
      ],
    });
    check([...base, p], [
      ['b/client', '10.1.2.3', 443, 'TCP', true],
      ['b/client', 'fd00::1', 443, 'TCP', true],
      ['b/client', '11.0.0.1', 443, 'TCP', false],
      ['b/client', '2001:db8::1', 443, 'TCP', false],
      // A /0 also covers every pod address (the API checks pod traffic against networks too).
      ['b/client', 'a/db', 5432, 'TCP', false],
      ['a/db', '11.0.0.1', 443, 'TCP', true], // not a subject
    ]);
    const idx = index([...base, p]);
    // The list shows the address blocks the networks induce, IPv6 included.
    const text = formatConnections(connectivity(idx), 'txt');
    expect(text).toContain('b/client[Pod] => 10.0.0.0-10.255.255.255[External] : All Connections');
    expect(text).toContain('b/client[Pod] => fd00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] : All Connections');
    expect(text).not.toContain('b/client[Pod] => 11.0.0.0');
    expect(text).not.toContain('b/client[Pod] => a/db[Pod]');
  });

  it('a narrower network never matches pods (pod addresses are not modelled)', () => {
    const p = anp('nets', 1, { subject: { namespaces: nsNamed('b') }, egress: [{ action: 'Deny', to: [{ networks: ['10.0.0.0/8'] }] }] });
    check([...base, p], [['b/client', 'a/db', 5432, 'TCP', true]]);
  });

  it('nodes peers select the addresses of the Node objects of the input', () => {
    const nodes = [node('cp-1', { 'node-role.kubernetes.io/control-plane': '' }, ['192.168.0.10', 'fd00::10', 'cp-1.example']), node('w-1', { role: 'worker' }, ['192.168.0.20'])];
    const p = anp('no-control-plane', 1, { subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ nodes: { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] } }] }] });
    check([...base, ...nodes, p], [
      ['b/client', '192.168.0.10', 6443, 'TCP', false],
      ['b/client', 'fd00::10', 6443, 'TCP', false],
      ['b/client', '192.168.0.20', 6443, 'TCP', true],
      ['b/client', 'a/db', 6443, 'TCP', true],
    ]);
    // Without Node objects a nodes peer selects nothing.
    check([...base, p], [['b/client', '192.168.0.10', 6443, 'TCP', true]]);
  });
});

describe('subjects', () => {
  it('subject.namespaces selects every pod of the namespaces; subject.pods narrows to labels', () => {
    const byNs = anp('ns', 1, { subject: { namespaces: nsNamed('a') }, ingress: [{ action: 'Deny', from: fromB }] });
    check([...base, byNs], [
      ['b/client', 'a/db', 1, 'TCP', false],
      ['b/client', 'a/web', 1, 'TCP', false],
    ]);
    const byPods = anp('pods', 1, { subject: dbSubject, ingress: [{ action: 'Deny', from: fromB }] });
    check([...base, byPods], [
      ['b/client', 'a/db', 1, 'TCP', false],
      ['b/client', 'a/web', 1, 'TCP', true],
    ]);
  });

  it('host-network pods are neither subjects nor peers', () => {
    const host = { kind: 'Pod', metadata: { namespace: 'a', name: 'agent', labels: { app: 'agent' } }, spec: { hostNetwork: true, containers: [{ name: 'c' }] } };
    const p = anp('all', 1, { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] });
    check([...base, host, p], [
      ['b/client', 'a/agent', 1, 'TCP', true],
      ['a/agent', 'a/db', 1, 'TCP', true],
      ['b/client', 'a/db', 1, 'TCP', false],
    ]);
  });

  it('ingress from outside the cluster: ANP ingress peers are pods only, so the NetworkPolicy layer and the BANP decide', () => {
    const p = anp('pods-only', 1, { subject: dbSubject, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] });
    const b = banp({ subject: dbSubject, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] });
    check([...base, p, b], [['1.2.3.4', 'a/db', 5432, 'TCP', true]]);
  });
});

describe('equal priorities, explanations, lint', () => {
  const first = anp('a-allow', 7, { subject: dbSubject, ingress: [{ action: 'Allow', from: fromB }] });
  const second = anp('b-deny', 7, { subject: dbSubject, ingress: [{ action: 'Deny', from: fromB }] });

  it('two ANPs of one priority over the same pods: a warning, and the name that sorts first applies', () => {
    const { index: idx, issues } = buildIndex([...base, second, first].map((object) => ({ object })));
    const warn = issues.filter((i) => i.code === 'anp-same-priority');
    expect(warn).toHaveLength(1);
    expect(warn[0]?.message).toMatch(/same priority \(7\) as AdminNetworkPolicy a-allow.*applies a-allow first/);
    expect(allowed(idx, 'b/client', 'a/db', 5432).allowed).toBe(true);
    const findings = lint(idx, { issues });
    expect(findings.filter((f) => f.id === 'NP050').map((f) => f.object)).toEqual(['AdminNetworkPolicy b-deny']);
    // Disjoint subjects: no warning.
    const other = anp('b-deny', 7, { subject: { namespaces: nsNamed('b') }, ingress: [{ action: 'Deny', from: fromB }] });
    expect(buildIndex([...base, other, first].map((object) => ({ object }))).issues.filter((i) => i.code)).toEqual([]);
  });

  it('--explain names the ANP/BANP rule that decided', () => {
    const pass = anp('pass', 3, { subject: dbSubject, ingress: [{ name: 'to-np', action: 'Pass', from: fromB, ports: [{ portNumber: { protocol: 'TCP', port: 5432 } }] }] });
    const deny = anp('deny', 4, { subject: dbSubject, ingress: [{ name: 'no-b', action: 'Deny', from: fromB }] });
    const b = banp({ subject: dbSubject, ingress: [{ name: 'base', action: 'Allow', from: fromB }] });
    const idx = index([...base, pass, deny, b]);
    expect(explainDecision(allowed(idx, 'b/client', 'a/db', 80))).toContain('ingress: a/db: denied by ANP deny ingress[0] "no-b" (action Deny)');
    expect(explainDecision(allowed(idx, 'b/client', 'a/db', 5432))).toContain('ingress: a/db: passed on by ANP pass ingress[0] "to-np"; allowed by BANP default ingress[0] "base" (action Allow)');
    const withNp = index([...base, pass, allowBToDb]);
    expect(explainDecision(allowed(withNp, 'b/client', 'a/db', 5432))).toContain('passed on by ANP pass ingress[0] "to-np"; isolated by a/allow-b; allowed by a/allow-b ingress[0]');
  });

  it('lint NP011: DNS allowed by an ANP Allow is not missing; an ANP Deny of DNS makes it missing', () => {
    const kubeDns = pod('kube-system', 'coredns', { 'k8s-app': 'kube-dns' });
    const egressNp = netpol('a', 'egress', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Egress'] });
    const dnsAllow = anp('dns', 1, {
      subject: { namespaces: {} },
      egress: [{ action: 'Allow', to: [{ pods: { namespaceSelector: nsNamed('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } } }], ports: [{ portNumber: { protocol: 'UDP', port: 53 } }] }],
    });
    const ids = (objects: unknown[]): string[] => lint(index(objects)).map((f) => `${f.id} ${f.object}`);
    expect(ids([...base, kubeDns, egressNp])).toContain('NP011 a/egress');
    expect(ids([...base, kubeDns, egressNp, dnsAllow])).not.toContain('NP011 a/egress');
    // A NetworkPolicy that allows DNS, overridden by an ANP Deny of it: DNS is missing after all.
    const npDns = netpol('a', 'egress', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'UDP', port: 53 }] }] });
    const dnsDeny = anp('no-dns', 1, { subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ namespaces: {} }, { networks: ['0.0.0.0/0', '::/0'] }], ports: [{ portNumber: { protocol: 'UDP', port: 53 } }] }] });
    expect(ids([...base, kubeDns, npDns])).not.toContain('NP011 a/egress');
    expect(ids([...base, kubeDns, npDns, dnsDeny])).toContain('NP011 a/egress');
  });
});
