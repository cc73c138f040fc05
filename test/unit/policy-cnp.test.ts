// Truth tables for the modelled CiliumNetworkPolicy subset (cilium.io/v2): default deny per
// direction, deny over allow, endpoint selectors scoped to the policy's namespace, entities,
// CIDRs with except, ports with endPort and ANY, and CNPs combined with NetworkPolicies.
import { describe, expect, it } from 'vitest';
import { allowed, buildIndex, connectivity, explainDecision, lint, type Protocol } from '../../src/policy/index.js';
import { cnp, index, netpol, ns, pod } from '../helpers/policy.js';

type Row = [src: string, dst: string, port: number | string, protocol: Protocol, expected: boolean];

function check(objects: unknown[], rows: Row[]): void {
  const idx = index(objects);
  for (const [src, dst, port, protocol, expected] of rows) {
    expect({ src, dst, port, protocol, allowed: allowed(idx, src, dst, port, protocol).allowed }).toEqual({ src, dst, port, protocol, allowed: expected });
    if (typeof port === 'number' && src.includes('/') && dst.includes('/')) {
      const listed = connectivity(idx, { only: { protocol, port } }).some((c) => c.src.id === `${src}[Pod]` && c.dst.id === `${dst}[Pod]`);
      expect({ src, dst, port, protocol, listed }).toEqual({ src, dst, port, protocol, listed: expected });
    }
  }
}

const base = [
  ns('a', { team: 'x' }),
  ns('b', { team: 'y' }),
  pod('a', 'web', { app: 'web' }, [{ name: 'http', containerPort: 8080 }]),
  pod('a', 'db', { app: 'db' }),
  pod('b', 'client', { app: 'client' }),
  pod('b', 'web', { app: 'web' }),
];
const db = { matchLabels: { app: 'db' } };

describe('CiliumNetworkPolicy default deny', () => {
  it('a policy with ingress rules puts the selected pods in default deny for ingress only', () => {
    check([...base, cnp('a', 'p', { endpointSelector: db, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }] }] })], [
      ['a/web', 'a/db', 5432, 'TCP', true],
      ['b/web', 'a/db', 5432, 'TCP', false], // fromEndpoints is scoped to the policy's namespace
      ['b/client', 'a/db', 5432, 'TCP', false],
      ['a/db', 'b/client', 1, 'TCP', true],
    ]);
  });

  it('an empty rule selects no peer (default deny only); a ports-only rule admits every peer', () => {
    check([...base, cnp('a', 'p', { endpointSelector: db, egress: [{}] })], [
      ['a/db', 'b/client', 1, 'TCP', false],
      ['a/db', '8.8.8.8', 53, 'UDP', false],
    ]);
    check([...base, cnp('a', 'p', { endpointSelector: db, egress: [{ toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }] }] }] })], [
      ['a/db', 'b/client', 53, 'UDP', true],
      ['a/db', '8.8.8.8', 53, 'UDP', true],
      ['a/db', '8.8.8.8', 53, 'TCP', false],
    ]);
  });

  it('a deny-only policy also puts the pods in default deny, unless enableDefaultDeny says otherwise', () => {
    const denyOnly = cnp('a', 'd', { endpointSelector: db, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }] }] });
    check([...base, denyOnly], [
      ['a/web', 'a/db', 1, 'TCP', false],
      ['b/client', 'a/db', 1, 'TCP', false],
    ]);
    const noDefault = cnp('a', 'd', { endpointSelector: db, enableDefaultDeny: { ingress: false }, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }] }] });
    check([...base, noDefault], [
      ['a/web', 'a/db', 1, 'TCP', false],
      ['b/client', 'a/db', 1, 'TCP', true],
    ]);
  });
});

describe('deny wins over allow, across CNPs and NetworkPolicies', () => {
  it('a deny rule beats an allow of the same or another policy, and a NetworkPolicy allow', () => {
    const allowAll = cnp('a', 'allow', { endpointSelector: db, ingress: [{ fromEntities: ['all'] }] });
    const deny80 = cnp('a', 'deny', { endpointSelector: db, ingressDeny: [{ fromEntities: ['cluster'], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] });
    const np = netpol('a', 'np', { podSelector: db, ingress: [{}] });
    check([...base, allowAll, deny80, np], [
      ['b/client', 'a/db', 80, 'TCP', false],
      ['b/client', 'a/db', 81, 'TCP', true],
      ['1.2.3.4', 'a/db', 80, 'TCP', true], // "cluster" does not cover addresses outside
    ]);
  });

  it('NetworkPolicies and CNPs form one policy set: isolated by either, allowed by any allow', () => {
    const np = netpol('a', 'np', { podSelector: db, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }] });
    const c = cnp('a', 'c', { endpointSelector: db, ingress: [{ fromEndpoints: [{ matchLabels: { 'k8s:app': 'client', 'k8s:io.kubernetes.pod.namespace': 'b' } }] }] });
    check([...base, np, c], [
      ['a/web', 'a/db', 5432, 'TCP', true], // by the NetworkPolicy
      ['b/client', 'a/db', 9999, 'TCP', true], // by the CNP (namespace named in the selector)
      ['b/web', 'a/db', 5432, 'TCP', false],
    ]);
  });
});

describe('peers', () => {
  it('namespace labels as io.cilium.k8s.namespace.labels.*, and an explicit namespace requirement unscopes the selector', () => {
    const c = cnp('a', 'c', {
      endpointSelector: db,
      ingress: [{ fromEndpoints: [{ matchLabels: { 'io.cilium.k8s.namespace.labels.team': 'y', app: 'web' } }, { matchExpressions: [{ key: 'io.kubernetes.pod.namespace', operator: 'Exists' }, { key: 'app', operator: 'In', values: ['client'] }] }] }],
    });
    check([...base, c], [
      // The first selector is still scoped to namespace a (it names no namespace): a/web has team=x.
      ['b/web', 'a/db', 1, 'TCP', false],
      ['b/client', 'a/db', 1, 'TCP', true],
    ]);
  });

  it('entities: world is every address outside, cluster every pod; unmodelled entities warn', () => {
    const c = cnp('a', 'c', { endpointSelector: db, egress: [{ toEntities: ['world'] }, { toEntities: ['kube-apiserver'] }] });
    const { index: idx, issues } = buildIndex([...base, c].map((object) => ({ object })));
    expect(issues.map((i) => i.message)).toEqual(['spec.egress[1].toEntities[0]: entity "kube-apiserver" is not modelled: connections to it are not reported']);
    expect(allowed(idx, 'a/db', '8.8.8.8', 443).allowed).toBe(true);
    expect(allowed(idx, 'a/db', '2001:db8::1', 443).allowed).toBe(true);
    expect(allowed(idx, 'a/db', 'b/client', 443).allowed).toBe(false);
  });

  it('CIDR, CIDR sets with except, IPv6; CIDRs never match pods', () => {
    const c = cnp('a', 'c', {
      endpointSelector: db,
      egress: [{ toCIDR: ['192.0.2.7'] }, { toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }, { cidr: '2001:db8::/32' }] }, { toCIDR: ['0.0.0.0/0'], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }],
    });
    check([...base, c], [
      ['a/db', '192.0.2.7', 1, 'TCP', true],
      ['a/db', '192.0.2.8', 1, 'TCP', false],
      ['a/db', '10.2.0.1', 1, 'TCP', true],
      ['a/db', '10.1.0.1', 1, 'TCP', false],
      ['a/db', '10.1.0.1', 443, 'TCP', true],
      ['a/db', '2001:db8::5', 1, 'UDP', true],
      ['a/db', 'b/client', 443, 'TCP', false],
    ]);
  });
});

describe('ports', () => {
  it('ANY (the default) covers TCP, UDP and SCTP; endPort makes a range; named ports resolve on the destination', () => {
    const c = cnp('a', 'c', {
      endpointSelector: { matchLabels: { app: 'web' } },
      ingress: [{ fromEntities: ['cluster'], toPorts: [{ ports: [{ port: '8000', endPort: 8010 }, { port: 'http', protocol: 'TCP' }] }] }],
    });
    check([...base, c], [
      ['b/client', 'a/web', 8005, 'UDP', true],
      ['b/client', 'a/web', 8010, 'SCTP', true],
      ['b/client', 'a/web', 8011, 'TCP', false],
      ['b/client', 'a/web', 8080, 'TCP', true],
      ['b/client', 'a/web', 'http', 'TCP', true],
    ]);
  });
});

describe('fields outside the subset', () => {
  it('L7 rules, toFQDNs and toServices give warnings that say what the result misses', () => {
    const c = cnp('a', 'c', {
      endpointSelector: db,
      egress: [
        { toEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] },
        { toFQDNs: [{ matchName: 'example.com' }] },
        { toServices: [{ k8sService: { serviceName: 'x', namespace: 'a' } }] },
      ],
    });
    const { index: idx, issues } = buildIndex([...base, c].map((object) => ({ object })));
    const messages = issues.map((i) => `${i.severity} ${i.message}`);
    expect(messages).toContain('warning spec.egress[0].toPorts[0].rules: L7 rules are not modelled: the ports are treated as allowed for every request, so the result may show more than Cilium lets through');
    expect(messages).toContain('warning spec.egress[1].toFQDNs: toFQDNs is not modelled: the peers it allows are not reported here');
    expect(messages).toContain('warning spec.egress[2].toServices: toServices is not modelled: the peers it allows are not reported here');
    expect(allowed(idx, 'a/db', 'a/web', 8080).allowed).toBe(true);
    // A toFQDNs rule is not an L3 wildcard: it matches nothing here.
    expect(allowed(idx, 'a/db', '93.184.216.34', 443).allowed).toBe(false);
  });
});

describe('explanations and lint', () => {
  it('--explain names the Cilium deny rule or the allowing rules', () => {
    const allow = cnp('a', 'allow', { endpointSelector: db, ingress: [{ fromEntities: ['cluster'] }] });
    const deny = cnp('a', 'deny', { endpointSelector: db, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }] }] });
    const idx = index([...base, allow, deny]);
    expect(explainDecision(allowed(idx, 'a/web', 'a/db', 5432))).toContain('ingress: a/db: denied by CNP a/deny spec.ingressDeny[0] (a Cilium deny rule, which wins over every allow)');
    expect(explainDecision(allowed(idx, 'b/client', 'a/db', 5432))).toContain('ingress: a/db: isolated by CNP a/allow, CNP a/deny; allowed by CNP a/allow spec.ingress[0]');
  });

  it('NP011 counts DNS that a CNP allows; NP001 is not reported for a namespace a CNP governs', () => {
    const np = netpol('a', 'egress', { podSelector: db, policyTypes: ['Egress'] });
    const dns = cnp('a', 'dns', { endpointSelector: db, egress: [{ toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s-app': 'kube-dns' } }], toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }] }] }] });
    const kubeDns = pod('kube-system', 'coredns', { 'k8s-app': 'kube-dns' });
    const ids = (objects: unknown[]): string[] => lint(index(objects)).map((f) => `${f.id} ${f.object}`);
    expect(ids([...base, kubeDns, np])).toContain('NP011 a/egress');
    expect(ids([...base, kubeDns, np, dns])).not.toContain('NP011 a/egress');
    const onlyCnp = ids([...base, dns]);
    expect(onlyCnp).not.toContain('NP001 a');
    expect(onlyCnp).toContain('NP001 b');
  });
});
