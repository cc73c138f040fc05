// openConnections: what stays open to and from a scope of pods, with the rules that allow it,
// so that a containment step can say "contained" or "NOT contained: these stay open".
import { describe, expect, it } from 'vitest';
import { formatOpenConnections, openConnections, QueryError, type OpenConnectionsResult } from '../../src/policy/index.js';
import { anp, cnp, index, netpol, ns, nsNamed, pod } from '../helpers/policy.js';

const base = [
  ns('a'),
  ns('b'),
  ns('kube-system'),
  pod('a', 'web-1', { app: 'web' }),
  pod('a', 'web-2', { app: 'web' }),
  pod('a', 'db', { app: 'db' }),
  pod('b', 'client', { app: 'client' }),
  pod('kube-system', 'coredns', { 'k8s-app': 'kube-dns' }),
];
const web = { namespace: 'a', selector: { app: 'web' } };

function lines(r: OpenConnectionsResult): string[] {
  return r.open.map((o) => `${o.direction} ${o.peer.id} ${o.conns.toString()}${o.dns ? ' dns' : ''}`);
}

const quarantine = anp('quarantine', 0, {
  subject: { pods: { namespaceSelector: nsNamed('a'), podSelector: { matchLabels: { app: 'web' } } } },
  ingress: [{ name: 'deny-all-in', action: 'Deny', from: [{ namespaces: {} }] }],
  egress: [
    { name: 'dns', action: 'Allow', to: [{ pods: { namespaceSelector: nsNamed('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } } }], ports: [{ portNumber: { protocol: 'UDP', port: 53 } }, { portNumber: { protocol: 'TCP', port: 53 } }] },
    { name: 'deny-all-out', action: 'Deny', to: [{ namespaces: {} }, { networks: ['0.0.0.0/0', '::/0'] }] },
  ],
});

describe('openConnections', () => {
  it('without any policy everything is open, in both directions, to pods and to every address', () => {
    const r = openConnections(index(base), web);
    expect(r.contained).toBe(false);
    expect(r.pods).toEqual(['a/web-1', 'a/web-2']);
    expect(lines(r)).toContain('egress 0.0.0.0-255.255.255.255[External] All Connections');
    expect(lines(r)).toContain('egress ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] All Connections');
    expect(lines(r)).toContain('ingress b/client[Pod] All Connections');
    expect(lines(r)).toContain('ingress 0.0.0.0-255.255.255.255[External] All Connections');
    const toDb = r.open.find((o) => o.direction === 'egress' && o.peer.id === 'a/db[Pod]');
    expect(toDb?.allowedBy).toEqual({ egress: ['not isolated (no NetworkPolicy selects a/web-1 for egress)'], ingress: ['not isolated (no NetworkPolicy selects a/db for ingress)'] });
    // The scoped pods reach each other too (lateral movement inside the scope).
    const self = r.open.find((o) => o.peer.kind === 'workload' && o.peer.id === 'a/web-1[Pod]' && o.direction === 'egress');
    expect(self?.peer).toMatchObject({ inScope: true });
  });

  it('an exclusive ANP quarantine: only DNS to kube-dns stays open outward, but ingress from outside the cluster is not covered by ANP', () => {
    const r = openConnections(index([...base, quarantine]), web);
    expect(lines(r)).toEqual(['egress kube-system/coredns[Pod] TCP 53,UDP 53 dns', 'ingress 0.0.0.0-255.255.255.255[External] All Connections', 'ingress ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff[External] All Connections']);
    expect(r.contained).toBe(false);
    expect(r.open[0]?.allowedBy.egress).toEqual(['ANP quarantine egress[0] "dns"']);
    expect(r.open[1]?.allowedBy.ingress).toEqual(['not isolated (no NetworkPolicy or CiliumNetworkPolicy selects a/web-1 for ingress)']);
    expect(formatOpenConnections(r)).toMatch(/^NOT contained: these stay open\negress -> kube-system\/coredns\[Pod\] : TCP 53,UDP 53 \(DNS\)/);
    // Closing ingress with a NetworkPolicy (the ANP Deny already covers pods) makes it contained.
    const closeIn = netpol('a', 'quarantine-in', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] });
    const done = openConnections(index([...base, quarantine, closeIn]), web);
    expect(lines(done)).toEqual(['egress kube-system/coredns[Pod] TCP 53,UDP 53 dns']);
    expect(done.contained).toBe(true);
    expect(formatOpenConnections(done)).toMatch(/^contained \(DNS to kube-dns kept\)/);
  });

  it('a higher-priority ANP Allow keeps a path open through the quarantine and is named', () => {
    const monitoring = anp('monitoring', 0, {
      subject: { namespaces: {} },
      ingress: [{ name: 'scrape', action: 'Allow', from: [{ namespaces: nsNamed('b') }], ports: [{ portNumber: { protocol: 'TCP', port: 9090 } }] }],
    });
    // Equal priority 0: "monitoring" sorts before "quarantine", so its Allow applies first.
    const r = openConnections(index([...base, quarantine, monitoring, netpol('a', 'in', { podSelector: {}, policyTypes: ['Ingress'] })]), web);
    const scrape = r.open.find((o) => o.direction === 'ingress' && o.peer.id === 'b/client[Pod]');
    expect(scrape?.conns.toString()).toBe('TCP 9090');
    expect(scrape?.allowedBy.ingress).toEqual(['ANP monitoring ingress[0] "scrape"']);
    expect(r.contained).toBe(false);
  });

  it('NetworkPolicy-only quarantine with DNS kept, scope by pod names, and a custom DNS selector', () => {
    const np = netpol('a', 'q', {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress', 'Egress'],
      egress: [{ to: [{ namespaceSelector: nsNamed('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }] }],
    });
    const r = openConnections(index([...base, np]), { namespace: 'a', pods: ['web-2'] });
    expect(r.pods).toEqual(['a/web-2']);
    expect(lines(r)).toEqual(['egress kube-system/coredns[Pod] UDP 53 dns']);
    expect(r.open[0]?.allowedBy.egress).toEqual(['NetworkPolicy a/q egress[0]']);
    expect(r.contained).toBe(true);
    // DNS elsewhere: not recognised as kube-dns unless the caller says so.
    expect(openConnections(index([...base, np]), web, { dns: { namespace: 'kube-system', labels: { 'k8s-app': 'other' } } }).contained).toBe(false);
  });

  it('a Cilium quarantine: deny-all CNP with DNS allowed', () => {
    const c = cnp('a', 'q', {
      endpointSelector: { matchLabels: { app: 'web' } },
      ingress: [{}],
      egress: [{ toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s:k8s-app': 'kube-dns' } }], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }] }] }],
    });
    const r = openConnections(index([...base, c]), web);
    expect(lines(r)).toEqual(['egress kube-system/coredns[Pod] SCTP 53,TCP 53,UDP 53']);
    expect(r.contained).toBe(false); // SCTP 53 is more than DNS
  });

  it('refuses a scope that selects nothing or a malformed selector', () => {
    const idx = index(base);
    expect(() => openConnections(idx, { namespace: 'a', selector: { app: 'none' } })).toThrow(QueryError);
    expect(() => openConnections(idx, { namespace: 'zzz' })).toThrow(/selects no pod in namespace zzz/);
    expect(() => openConnections(idx, { namespace: 'a', selector: { 'bad key!': 'x' } })).toThrow(/scope selector/);
  });
});
