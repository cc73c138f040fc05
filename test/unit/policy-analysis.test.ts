// Connectivity list, formats, diff, incremental updates and lint rules.
import { describe, expect, it } from 'vitest';
import { ClassConnectivity, Conns, connectivity, diffConnectivity, formatConnections, formatDiff, lint, loadObjects, parseNetworkPolicy, PolicyIndex, type Connection } from '../../src/policy/index.js';
import { index, netpol, ns, pod } from '../helpers/policy.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';

const shop = [
  ns('shop'),
  pod('shop', 'front', { app: 'front' }, [{ name: 'http', containerPort: 8080 }]),
  pod('shop', 'api', { app: 'api' }, [{ name: 'http', containerPort: 9000 }]),
  pod('shop', 'db', { app: 'db' }),
  netpol('shop', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }),
  netpol('shop', 'api', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'front' } } }], ports: [{ port: 'http' }, { port: 53, protocol: 'UDP' }] }] }),
  netpol('shop', 'db', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 5432 }] }] }),
];

describe('connectivity list and formats', () => {
  it('lists workload pairs with aggregated ports, no self pairs', () => {
    const txt = formatConnections(connectivity(index(shop)), 'txt');
    expect(txt).toBe(
      [
        'shop/api[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
        'shop/api[Pod] => shop/db[Pod] : TCP 5432',
        'shop/db[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
        'shop/front[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
        'shop/front[Pod] => shop/api[Pod] : TCP 9000,UDP 53',
        '',
      ].join('\n'),
    );
  });

  it('json, csv, md and dot carry the same lines', () => {
    const conns = connectivity(index(shop));
    expect(JSON.parse(formatConnections(conns, 'json'))[4]).toEqual({ src: 'shop/front[Pod]', dst: 'shop/api[Pod]', conn: 'TCP 9000,UDP 53' });
    const csv = formatConnections(conns, 'csv').split('\n');
    expect(csv[0]).toBe('src,dst,conn');
    expect(csv).toContain('shop/front[Pod],shop/api[Pod],"TCP 9000,UDP 53"');
    expect(formatConnections(conns, 'md')).toContain('| shop/api[Pod] | shop/db[Pod] | TCP 5432 |');
    const dot = formatConnections(conns, 'dot');
    expect(dot).toMatch(/^digraph connectivity \{/);
    expect(dot).toContain('"shop/api[Pod]" -> "shop/db[Pod]" [label="TCP 5432"];');
  });

  it('one-port connectivity equals the full list restricted to that port', () => {
    const idx = new PolicyIndex(loadObjects(syntheticCluster({ pods: 600, seed: 7 }).map((object) => ({ object }))));
    const only = { protocol: 'TCP' as const, port: 8080 };
    const restricted = connectivity(idx)
      .map((c) => ({ ...c, conns: c.conns.intersect(Conns.of('TCP', [8080, 8080])) }))
      .filter((c) => !c.conns.isEmpty());
    const key = (list: Connection[]): string[] => list.map((c) => `${c.src.id} => ${c.dst.id} : ${c.conns.toString()}`).sort();
    expect(key(connectivity(idx, { only }))).toEqual(key(restricted));
    expect(restricted.length).toBeGreaterThan(100);
  });
});

describe('diff', () => {
  it('reports opened and closed connections, with workloads that exist on one side', () => {
    const before = index(shop);
    const opened = shop.map((o) => ((o as { metadata: { name: string } }).metadata.name === 'db' && (o as { kind: string }).kind === 'NetworkPolicy' ? netpol('shop', 'db', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{}] }) : o));
    const after = index([...opened, pod('shop', 'new', { app: 'new' })]);
    const diff = diffConnectivity(before, after);
    const dbFromApi = diff.changes.find((c) => c.src === 'shop/api[Pod]' && c.dst === 'shop/db[Pod]');
    expect(dbFromApi?.kind).toBe('changed');
    expect(dbFromApi?.closed.isEmpty()).toBe(true);
    expect(dbFromApi?.opened.toString()).toBe('SCTP 1-65535,TCP 1-5431,5433-65535,UDP 1-65535');
    const fromWorld = diff.changes.find((c) => c.src === '0.0.0.0-255.255.255.255[External]' && c.dst === 'shop/db[Pod]');
    expect(fromWorld?.kind).toBe('added');
    const newPod = diff.changes.find((c) => c.src === 'shop/new[Pod]' && c.dst === 'shop/db[Pod]');
    expect(newPod?.workloadsOnlyIn).toEqual({ before: [], after: ['shop/new[Pod]'] });
    expect(diff.closed).toEqual([]);
    expect(formatDiff(diff).split('\n')[0]).toBe('Connectivity diff:');
  });

  it('cuts external ranges at the boundaries of both sides before comparing', () => {
    const before = connectivity(index([ns('x'), pod('x', 'p', { a: 'b' })]));
    const after = connectivity(index([ns('x'), pod('x', 'p', { a: 'b' }), netpol('x', 'in', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] })]));
    const diff = diffConnectivity(before, after);
    expect(diff.changes.map((c) => `${c.kind} ${c.src} => ${c.dst}`)).toEqual([
      'removed 0.0.0.0-9.255.255.255[External] => x/p[Pod]',
      'removed 11.0.0.0-255.255.255.255[External] => x/p[Pod]',
    ]);
    expect(diffConnectivity(after, after).changes).toEqual([]);
    // Lists without workload knowledge still diff, just without workloads-diff-info.
    expect(diffConnectivity(before, after).changes).toHaveLength(2);
  });
});

describe('parseNetworkPolicy', () => {
  it('validates one policy object for upsertPolicy', () => {
    expect(parseNetworkPolicy({ metadata: { name: 'p', namespace: 'a' }, spec: { podSelector: {} } }).policy?.affectsIngress).toBe(true);
    expect(parseNetworkPolicy({ metadata: { name: 'p' }, spec: { podSelector: { matchLabels: { 'a b': 'c' } } } }).errors[0]).toMatch(/label key/);
    expect(parseNetworkPolicy('nope').errors).toEqual(['document is not a Kubernetes object (expected a mapping)']);
  });
});

describe('incremental update after one policy change', () => {
  it('gives the same rows as a full recomputation, and the changed pairs', () => {
    const objects = syntheticCluster({ pods: 400, seed: 3 });
    const idx = new PolicyIndex(loadObjects(objects.map((object) => ({ object }))));
    const live = new ClassConnectivity(idx, { only: { protocol: 'TCP', port: 8080 } });
    const before = live.toConnections();
    // Open ingress of one workload to everything, then delete a default-deny.
    const loaded = loadObjects([{ object: netpol('ns-1', 'allow-ingress-app-3-0', { podSelector: { matchLabels: { app: 'app-3' } }, ingress: [{}] }) }]);
    const policy = loaded.policies[0];
    if (!policy) throw new Error('policy did not load');
    const changes = live.applyChange(idx.upsertPolicy(policy));
    const fresh = new ClassConnectivity(idx, { only: { protocol: 'TCP', port: 8080 } });
    expect(live.toConnections().map((c) => `${c.src.id}>${c.dst.id}:${c.conns}`)).toEqual(fresh.toConnections().map((c) => `${c.src.id}>${c.dst.id}:${c.conns}`));
    expect(changes.length).toBeGreaterThan(0);
    const wl = live.workloadChanges(changes);
    expect(wl.every((c) => c.dst.startsWith('ns-1/app-3-'))).toBe(true);
    const full = diffConnectivity(before, live.toConnections());
    expect(full.changes.filter((c) => !c.src.endsWith('[External]')).map((c) => `${c.src}>${c.dst}`).sort()).toEqual(wl.map((c) => `${c.src}>${c.dst}`).sort());

    expect(idx.policies.has('ns-2/allow-ingress-app-0-0')).toBe(true);
    const removed = live.applyChange(idx.removePolicy('ns-2', 'allow-ingress-app-0-0'));
    const fresh2 = new ClassConnectivity(idx, { only: { protocol: 'TCP', port: 8080 } });
    expect(live.toConnections().map((c) => `${c.src.id}>${c.dst.id}:${c.conns}`)).toEqual(fresh2.toConnections().map((c) => `${c.src.id}>${c.dst.id}:${c.conns}`));
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.every((c) => c.after.isEmpty())).toBe(true);
  });
});

describe('lint', () => {
  const ids = (objects: unknown[]): string[] => lint(index(objects)).map((f) => `${f.id} ${f.object}`);

  it('namespace without any policy / without default-deny', () => {
    expect(ids([ns('a'), pod('a', 'x', {})])).toEqual(['NP001 a']);
    expect(ids([ns('a'), pod('a', 'x', { app: 'x' }), netpol('a', 'p', { podSelector: { matchLabels: { app: 'x' } }, ingress: [{ from: [{ podSelector: {} }] }] })])).toEqual(['NP002 a']);
    expect(ids([ns('kube-system'), pod('kube-system', 'x', {})])).toEqual([]);
  });

  it('ingress from everywhere', () => {
    const base = [ns('a'), pod('a', 'x', { app: 'x' }), netpol('a', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })];
    expect(ids([...base, netpol('a', 'p', { podSelector: { matchLabels: { app: 'x' } }, ingress: [{ ports: [{ port: 80 }] }] })])).toEqual(['NP010 a/p ingress[0]']);
    expect(ids([...base, netpol('a', 'p', { podSelector: { matchLabels: { app: 'x' } }, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] })])).toEqual(['NP010 a/p ingress[0]']);
    expect(ids([...base, netpol('a', 'p', { podSelector: { matchLabels: { app: 'x' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] })])).toEqual(['NP010 a/p ingress[0]']);
    expect(ids([...base, netpol('a', 'p', { podSelector: { matchLabels: { app: 'x' } }, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }] })])).toEqual([]);
  });

  it('egress that forgets DNS is an error; a DNS rule fixes it', () => {
    const base = [ns('a'), pod('a', 'x', { app: 'x' }), netpol('a', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })];
    const noDns = netpol('a', 'eg', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 443 }] }] });
    const findings = lint(index([...base, noDns]));
    expect(findings.map((f) => `${f.id} ${f.severity}`)).toEqual(['NP011 error']);
    expect(findings[0]?.hint).toMatch(/kube-dns/);
    const dns = netpol('a', 'dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
    expect(ids([...base, noDns, dns])).toEqual([]);
  });

  it('policy that selects no pods, rule that can never match, peer that selects nothing', () => {
    const base = [ns('a'), pod('a', 'x', { app: 'x' }, [{ name: 'http', containerPort: 80 }]), netpol('a', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })];
    expect(ids([...base, netpol('a', 'p', { podSelector: { matchLabels: { app: 'ghost' } }, ingress: [{ from: [{ podSelector: {} }] }] })])).toEqual(['NP020 a/p']);
    const named = lint(index([...base, netpol('a', 'p', { podSelector: { matchLabels: { app: 'x' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'ghost' } } }], ports: [{ port: 'grpc' }, { port: 'http' }] }] })]));
    expect(named.map((f) => `${f.id} ${f.severity} ${f.object}`)).toEqual(['NP021 error a/p ingress[0]', 'NP022 warning a/p ingress[0] peer 0']);
    expect(named[0]?.message).toContain('"grpc"');
  });

  it('rules of a direction that policyTypes leaves out can never match', () => {
    const base = [ns('a'), pod('a', 'x', { app: 'x' }), netpol('a', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })];
    const p = netpol('a', 'p', { podSelector: { matchLabels: { app: 'x' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] });
    expect(ids([...base, p])).toEqual(['NP021 a/p egress']);
  });

  it('policy that selects host-network pods', () => {
    const hostPod = { kind: 'Pod', metadata: { namespace: 'a', name: 'agent', labels: { app: 'agent' } }, spec: { hostNetwork: true, containers: [] } };
    const findings = lint(index([ns('a'), hostPod, netpol('a', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })]));
    expect(findings.map((f) => `${f.id} ${f.object}`)).toEqual(['NP023 a/deny']);
    expect(findings[0]?.message).toContain('agent');
  });

  it('shadowed and duplicate rules', () => {
    const base = [ns('a'), pod('a', 'x', { app: 'x' }), pod('a', 'y', { app: 'y' }), netpol('a', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })];
    const p = netpol('a', 'p', {
      podSelector: { matchLabels: { app: 'x' } },
      ingress: [
        { from: [{ podSelector: {} }], ports: [{ port: 80 }, { port: 443 }] },
        { from: [{ podSelector: { matchLabels: { app: 'y' } } }], ports: [{ port: 80 }] },
        { from: [{ podSelector: {} }], ports: [{ port: 80 }, { port: 443 }] },
      ],
    });
    expect(ids([...base, p])).toEqual(['NP030 a/p ingress[1]', 'NP030 a/p ingress[2]']);
  });

  it('rules whose peers select no pod are not called shadowed (nor in a policy-only repository)', () => {
    const p = netpol('a', 'p', {
      podSelector: { matchLabels: { app: 'x' } },
      ingress: [
        { from: [{ podSelector: { matchLabels: { app: 'checkout' } } }], ports: [{ port: 7070 }] },
        { from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 7070 }] },
        { from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 7070 }] },
      ],
    });
    expect(ids([p])).toEqual(['NP002 a', 'NP030 a/p ingress[2]']);
    expect(ids([ns('a'), pod('a', 'x', { app: 'x' }), netpol('a', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }), p]).filter((x) => x.startsWith('NP030'))).toEqual(['NP030 a/p ingress[2]']);
  });
});
