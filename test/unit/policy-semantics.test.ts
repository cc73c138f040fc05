// Truth tables, one per NetworkPolicy semantic rule (networking.k8s.io/v1).
import { describe, expect, it } from 'vitest';
import { allowed, connectivity, formatConnections } from '../../src/policy/index.js';
import { index, netpol, ns, pod } from '../helpers/policy.js';

type Row = [src: string, dst: string, port: number | string, protocol: 'TCP' | 'UDP' | 'SCTP', expected: boolean];

function check(objects: unknown[], rows: Row[]): void {
  const idx = index(objects);
  for (const [src, dst, port, protocol, expected] of rows) {
    const d = allowed(idx, src, dst, port, protocol);
    expect({ src, dst, port, protocol, allowed: d.allowed }).toEqual({ src, dst, port, protocol, allowed: expected });
  }
}

const base = [
  ns('a', { team: 'x' }),
  ns('b', { team: 'y' }),
  pod('a', 'web', { app: 'web', tier: 'front' }, [{ name: 'http', containerPort: 8080 }]),
  pod('a', 'db', { app: 'db' }, [{ name: 'pg', containerPort: 5432 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }]),
  pod('b', 'client', { app: 'client' }),
  pod('b', 'other', { role: 'x' }),
];

describe('isolation and policyTypes defaulting', () => {
  it('no policy: everything is allowed in both directions', () => {
    check(base, [
      ['b/client', 'a/db', 5432, 'TCP', true],
      ['a/db', '8.8.8.8', 53, 'UDP', true],
      ['1.2.3.4', 'a/web', 80, 'TCP', true],
    ]);
  });

  it('policyTypes absent with only ingress rules isolates ingress only', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] });
    check([...base, p], [
      ['a/web', 'a/db', 5432, 'TCP', true],
      ['b/client', 'a/db', 5432, 'TCP', false],
      ['a/db', 'b/client', 1, 'TCP', true], // egress of db not isolated
    ]);
  });

  it('policyTypes absent with egress rules isolates egress too', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, egress: [{ to: [{ podSelector: { matchLabels: { app: 'web' } } }] }] });
    check([...base, p], [
      ['a/db', 'a/web', 8080, 'TCP', true],
      ['a/db', 'b/client', 80, 'TCP', false],
      ['b/client', 'a/db', 5432, 'TCP', false], // Ingress is always in the default policyTypes, no ingress rules
    ]);
  });

  it('an empty egress list does not add Egress to the default policyTypes', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{}], egress: [] });
    check([...base, p], [
      ['a/db', 'b/client', 80, 'TCP', true],
      ['b/client', 'a/db', 80, 'TCP', true],
    ]);
  });

  it('explicit policyTypes [Egress] ignores ingress rules and leaves ingress open', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Egress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'nobody' } } }] }] });
    check([...base, p], [
      ['b/client', 'a/db', 5432, 'TCP', true],
      ['a/db', 'b/client', 80, 'TCP', false],
    ]);
  });

  it('policies are additive: the union of their rules applies', () => {
    const p1 = netpol('a', 'p1', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }] });
    const p2 = netpol('a', 'p2', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } } }], ports: [{ port: 9000 }] }] });
    check([...base, p1, p2], [
      ['a/web', 'a/db', 5432, 'TCP', true],
      ['a/web', 'a/db', 9000, 'TCP', false],
      ['b/client', 'a/db', 9000, 'TCP', true],
      ['b/client', 'a/db', 5432, 'TCP', false],
      ['b/client', 'a/web', 9000, 'TCP', true],
    ]);
  });

  it('a policy in another namespace does not isolate', () => {
    const p = netpol('b', 'deny', { podSelector: {}, policyTypes: ['Ingress'] });
    check([...base, p], [
      ['b/client', 'a/db', 5432, 'TCP', true],
      ['a/db', 'b/client', 80, 'TCP', false],
    ]);
  });
});

describe('peers: podSelector, namespaceSelector, both', () => {
  it('podSelector alone means the policy namespace only', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: {} }] }] });
    check([...base, p], [
      ['a/web', 'a/db', 1, 'TCP', true],
      ['b/client', 'a/db', 1, 'TCP', false],
      ['10.0.0.1', 'a/db', 1, 'TCP', false],
    ]);
  });

  it('namespaceSelector and podSelector in one peer are ANDed; in two peers they are ORed', () => {
    const and = netpol('a', 'and', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } }, podSelector: { matchLabels: { app: 'client' } } }] }] });
    check([...base, and], [
      ['b/client', 'a/db', 1, 'TCP', true],
      ['b/other', 'a/db', 1, 'TCP', false],
      ['a/web', 'a/db', 1, 'TCP', false],
    ]);
    const or = netpol('a', 'or', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } } }, { podSelector: { matchLabels: { app: 'web' } } }] }] });
    check([...base, or], [
      ['b/client', 'a/db', 1, 'TCP', true],
      ['b/other', 'a/db', 1, 'TCP', true],
      ['a/web', 'a/db', 1, 'TCP', true],
    ]);
  });

  it('an empty namespaceSelector selects every namespace (but no external address)', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] });
    check([...base, p], [
      ['b/other', 'a/db', 1, 'TCP', true],
      ['a/web', 'a/db', 1, 'TCP', true],
      ['192.168.1.1', 'a/db', 1, 'TCP', false],
    ]);
  });

  it('namespaces get kubernetes.io/metadata.name automatically', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'b' } } }] }] });
    check([...base, p], [
      ['b/client', 'a/db', 1, 'TCP', true],
      ['a/web', 'a/db', 1, 'TCP', false],
    ]);
  });
});

describe('matchLabels and matchExpressions', () => {
  const sel = (matchExpressions: unknown[]): unknown =>
    netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions } }] }] });
  it('In', () => check([...base, sel([{ key: 'app', operator: 'In', values: ['client', 'web'] }])], [
    ['b/client', 'a/db', 1, 'TCP', true],
    ['a/web', 'a/db', 1, 'TCP', true],
    ['b/other', 'a/db', 1, 'TCP', false],
  ]));
  it('NotIn also matches pods without the key', () => check([...base, sel([{ key: 'app', operator: 'NotIn', values: ['client'] }])], [
    ['b/client', 'a/db', 1, 'TCP', false],
    ['a/web', 'a/db', 1, 'TCP', true],
    ['b/other', 'a/db', 1, 'TCP', true],
  ]));
  it('Exists', () => check([...base, sel([{ key: 'role', operator: 'Exists' }])], [
    ['b/other', 'a/db', 1, 'TCP', true],
    ['b/client', 'a/db', 1, 'TCP', false],
  ]));
  it('DoesNotExist', () => check([...base, sel([{ key: 'role', operator: 'DoesNotExist' }])], [
    ['b/other', 'a/db', 1, 'TCP', false],
    ['b/client', 'a/db', 1, 'TCP', true],
  ]));
  it('matchLabels and matchExpressions are ANDed', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] } }] }] });
    check([...base, p], [['a/web', 'a/db', 1, 'TCP', false]]);
  });
});

describe('empty vs missing from/to/ports', () => {
  const withIngress = (ingress: unknown): unknown => netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress });
  it('ingress: [] denies everything', () => check([...base, withIngress([])], [['a/web', 'a/db', 1, 'TCP', false], ['1.1.1.1', 'a/db', 1, 'TCP', false]]));
  it('ingress: [{}] allows everything, including outside the cluster', () => check([...base, withIngress([{}])], [['b/other', 'a/db', 7, 'UDP', true], ['1.1.1.1', 'a/db', 1, 'SCTP', true]]));
  it('from: [] is the same as a missing from', () => check([...base, withIngress([{ from: [], ports: [{ port: 5432 }] }])], [['1.1.1.1', 'a/db', 5432, 'TCP', true], ['b/other', 'a/db', 5433, 'TCP', false]]));
  it('ports: [] allows every port and protocol', () => check([...base, withIngress([{ from: [{ podSelector: {} }], ports: [] }])], [['a/web', 'a/db', 65535, 'SCTP', true]]));
  it('a port entry without port allows every port of its protocol', () => check([...base, withIngress([{ ports: [{ protocol: 'UDP' }] }])], [['a/web', 'a/db', 9, 'UDP', true], ['a/web', 'a/db', 9, 'TCP', false]]));
});

describe('ports: numbers, names, ranges, protocols', () => {
  it('protocol defaults to TCP; UDP and SCTP are distinct', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ port: 53 }, { port: 53, protocol: 'UDP' }, { port: 9, protocol: 'SCTP' }] }] });
    check([...base, p], [
      ['a/web', 'a/db', 53, 'TCP', true],
      ['a/web', 'a/db', 53, 'UDP', true],
      ['a/web', 'a/db', 53, 'SCTP', false],
      ['a/web', 'a/db', 9, 'SCTP', true],
      ['a/web', 'a/db', 9, 'TCP', false],
    ]);
  });

  it('endPort makes an inclusive range', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ port: 30000, endPort: 30010 }] }] });
    check([...base, p], [
      ['a/web', 'a/db', 29999, 'TCP', false],
      ['a/web', 'a/db', 30000, 'TCP', true],
      ['a/web', 'a/db', 30010, 'TCP', true],
      ['a/web', 'a/db', 30011, 'TCP', false],
    ]);
  });

  it('named ports resolve on the destination pod, with the rule protocol', () => {
    const ingress = netpol('a', 'in', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ port: 'pg' }, { port: 'dns', protocol: 'TCP' }] }] });
    check([...base, ingress], [
      ['a/web', 'a/db', 5432, 'TCP', true],
      ['a/web', 'a/db', 'pg', 'TCP', true],
      ['a/web', 'a/db', 53, 'TCP', false], // db's "dns" is UDP
      ['a/web', 'a/db', 53, 'UDP', false],
    ]);
    const egress = netpol('b', 'out', { podSelector: { matchLabels: { app: 'client' } }, egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'http' }, { port: 'pg' }] }] });
    check([...base, egress], [
      ['b/client', 'a/web', 8080, 'TCP', true],
      ['b/client', 'a/web', 5432, 'TCP', false], // web has no "pg" port
      ['b/client', 'a/db', 5432, 'TCP', true],
      ['b/client', 'a/db', 8080, 'TCP', false],
    ]);
  });

  it('a named port that no destination defines contributes nothing', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ port: 'missing' }] }] });
    const idx = index([...base, p]);
    expect(connectivity(idx).filter((c) => c.dst.id === 'a/db[Pod]')).toEqual([]);
  });
});

describe('ipBlock and traffic outside the cluster', () => {
  it('IPv4 cidr with except', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }] }] });
    check([...base, p], [
      ['10.0.0.1', 'a/db', 5432, 'TCP', true],
      ['10.1.2.3', 'a/db', 5432, 'TCP', false],
      ['11.0.0.0', 'a/db', 5432, 'TCP', false],
      ['a/db', '8.8.8.8', 443, 'TCP', true],
      ['a/db', '169.254.169.254', 80, 'TCP', false],
      ['a/db', 'a/web', 8080, 'TCP', false], // ipBlock never selects pods
    ]);
  });

  it('IPv6 cidr with except', () => {
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:ffff::/48'] } }] }] });
    check([...base, p], [
      ['2001:db8::1', 'a/db', 1, 'TCP', true],
      ['2001:db8:ffff::1', 'a/db', 1, 'TCP', false],
      ['2001:db9::1', 'a/db', 1, 'TCP', false],
      ['10.0.0.1', 'a/db', 1, 'TCP', false],
    ]);
    const lines = formatConnections(connectivity(index([...base, p])), 'txt').split('\n');
    expect(lines).toContain('2001:db8::-2001:db8:fffe:ffff:ffff:ffff:ffff:ffff[External] => a/db[Pod] : All Connections');
    expect(lines.some((l) => l.startsWith('2001:db8:ffff::') && l.includes('=> a/db[Pod]'))).toBe(false);
  });

  it('needs both the source egress and the destination ingress', () => {
    const egressOnly = netpol('b', 'e', { podSelector: { matchLabels: { app: 'client' } }, egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 5432 }] }] });
    const ingressDeny = netpol('a', 'i', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] });
    const idx = index([...base, egressOnly, ingressDeny]);
    const d = allowed(idx, 'b/client', 'a/db', 5432);
    expect(d.allowed).toBe(false);
    expect(d.egress.allowed).toBe(true);
    expect(d.egress.allowedBy).toEqual([{ policy: 'b/e', direction: 'egress', rule: 0, peer: 0 }]);
    expect(d.ingress.allowed).toBe(false);
    expect(d.ingress.isolatingPolicies).toEqual(['a/i']);
    expect(d.reasons[1]).toContain('no ingress rule');
    expect(d.ingress.nearMisses).toEqual([{ policy: 'a/i', direction: 'ingress', rule: 0, missing: 'peer', ruleConns: 'All Connections' }]);
    // A rule that names the peer but another port, and one that allows the port to another peer.
    const narrow = netpol('a', 'n', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 6432 }] }, { from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }] });
    const near = allowed(index([...base, egressOnly, narrow]), 'b/client', 'a/db', 5432);
    expect(near.ingress.nearMisses).toEqual([
      { policy: 'a/n', direction: 'ingress', rule: 0, missing: 'port', ruleConns: 'TCP 6432' },
      { policy: 'a/n', direction: 'ingress', rule: 1, missing: 'peer', ruleConns: 'TCP 5432' },
    ]);
    expect(near.reasons[1]).toContain('closest: a/n ingress[0] matches the peer but allows only TCP 6432; a/n ingress[1] allows the port but not this peer');
    expect(allowed(idx, 'b/client', 'a/web', 5432).allowed).toBe(true);
    expect(allowed(idx, 'b/client', 'a/web', 5433).allowed).toBe(false);
  });
});

describe('queries', () => {
  it('reject unknown endpoints, bad ports and address-to-address questions', () => {
    const idx = index(base);
    expect(() => allowed(idx, 'a/nope', 'a/db', 80)).toThrow(/no pod or workload "a\/nope"/);
    expect(() => allowed(idx, 'not a peer', 'a/db', 80)).toThrow(/neither an IP address nor/);
    expect(() => allowed(idx, 'a/web', 'a/db', 0)).toThrow(/out of range/);
    expect(() => allowed(idx, 'a/web', 'a/db', 'nope')).toThrow(/defines no TCP port named "nope"/);
    expect(() => allowed(idx, 'a/web', '1.1.1.1', 'http')).toThrow(/can only be resolved on a pod/);
    expect(() => allowed(idx, '1.1.1.1', '2.2.2.2', 80)).toThrow(/at least one endpoint/);
    expect(() => allowed(idx, 'a/web', 'a/db', 80, 'ICMP' as 'TCP')).toThrow(/not one of TCP, UDP, SCTP/);
  });
});

describe('workloads from pod templates', () => {
  it('every workload kind stands for its pod template', () => {
    const tmpl = (labels: Record<string, string>): unknown => ({ metadata: { labels }, spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] } });
    const objs = [
      { kind: 'Deployment', metadata: { name: 'd', namespace: 'w' }, spec: { template: tmpl({ app: 'd' }) } },
      { kind: 'StatefulSet', metadata: { name: 's', namespace: 'w' }, spec: { template: tmpl({ app: 's' }) } },
      { kind: 'DaemonSet', metadata: { name: 'ds', namespace: 'w' }, spec: { template: tmpl({ app: 'ds' }) } },
      { kind: 'ReplicaSet', metadata: { name: 'rs', namespace: 'w' }, spec: { template: tmpl({ app: 'rs' }) } },
      { kind: 'Job', metadata: { name: 'j', namespace: 'w' }, spec: { template: tmpl({ app: 'j' }) } },
      { kind: 'CronJob', metadata: { name: 'cj', namespace: 'w' }, spec: { jobTemplate: { spec: { template: tmpl({ app: 'cj' }) } } } },
      netpol('w', 'p', { podSelector: { matchLabels: { app: 'd' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'cj' } } }], ports: [{ port: 'http' }] }] }),
    ];
    const idx = index(objs);
    expect(idx.workloads.map((w) => w.id)).toEqual(['w/cj[CronJob]', 'w/d[Deployment]', 'w/ds[DaemonSet]', 'w/j[Job]', 'w/rs[ReplicaSet]', 'w/s[StatefulSet]']);
    expect(allowed(idx, 'w/cj', 'w/d', 80).allowed).toBe(true);
    expect(allowed(idx, 'w/j[Job]', 'w/d[Deployment]', 80).allowed).toBe(false);
    const lines = formatConnections(connectivity(idx), 'txt').split('\n');
    expect(lines).toContain('w/cj[CronJob] => w/d[Deployment] : TCP 80');
  });

  it('pods of one controller roll up to it; pods with identical labels share one class', () => {
    const owned = (name: string): unknown => ({
      kind: 'Pod',
      metadata: { namespace: 'a', name, labels: { app: 'api' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'api-7f', controller: true }] },
      spec: { containers: [] },
    });
    const idx = index([...base, owned('api-7f-1'), owned('api-7f-2'), owned('api-7f-3')]);
    expect(idx.workload('a/api-7f[ReplicaSet]')?.pods.length).toBe(3);
    expect(idx.workload('a/api-7f[ReplicaSet]')?.classes.length).toBe(1);
    expect(idx.classCount).toBe(5);
  });

  it('finished pods (Succeeded/Failed) take part in no connection', () => {
    const done = { kind: 'Pod', metadata: { namespace: 'a', name: 'job-1', labels: { app: 'job' } }, spec: { containers: [] }, status: { phase: 'Succeeded' } };
    const failed = { ...done, metadata: { ...done.metadata, name: 'job-2' }, status: { phase: 'Failed' } };
    const running = { ...done, metadata: { ...done.metadata, name: 'job-3' }, status: { phase: 'Running' } };
    const idx = index([...base, done, failed, running]);
    expect(idx.pod('a', 'job-1')).toBeUndefined();
    expect(idx.pod('a', 'job-2')).toBeUndefined();
    expect(idx.pod('a', 'job-3')).toBeDefined();
  });
});
