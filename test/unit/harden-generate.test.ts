import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { generateBaseline, HardenInputError, type GeneratedBaseline } from '../../src/harden/generate.js';
import { renderPolicy } from '../../src/harden/layout.js';
import { UNSTABLE_LABEL_KEYS } from '../../src/harden/selectors.js';

import { DNS, SHOP_EDGES, shopLive } from '../helpers/harden.js';
type Obj = Record<string, unknown>;


/** Every file parses back as YAML without errors; returns the documents as plain objects. */
function parsed(baseline: GeneratedBaseline): Obj[] {
  return baseline.files.flatMap((f) => {
    const docs = parseAllDocuments(f.yaml);
    for (const d of docs) expect(d.errors, f.path).toEqual([]);
    const objects = docs.map((d) => d.toJS() as Obj);
    expect(objects).toEqual(f.policies);
    return objects;
  });
}

const nameOf = (p: Obj): string => String((p.metadata as Obj).name);
const podSelectorsOf = (policies: Obj[]): Array<Record<string, string>> =>
  JSON.parse(JSON.stringify(policies)).flatMap((p: Obj) => {
    const out: Array<Record<string, string>> = [];
    JSON.stringify(p, (key, value) => {
      if (key === 'podSelector' && value && value.matchLabels) out.push(value.matchLabels);
      return value;
    });
    return out;
  });

function pod(namespace: string, name: string, labels: Record<string, string>, owner?: { kind: string; name: string }): Obj {
  return {
    kind: 'Pod',
    metadata: { namespace, name, labels, ...(owner ? { ownerReferences: [{ kind: owner.kind, name: owner.name, controller: true }] } : {}) },
    spec: { containers: [{ name: 'main' }] },
    status: { phase: 'Running' },
  };
}
const namespace = (name: string): Obj => ({ kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
const kubeDns = pod('kube-system', 'coredns-5d78c9869d-abcde', { 'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c9869d' }, { kind: 'ReplicaSet', name: 'coredns-5d78c9869d' });

describe('generated baseline on the shop', () => {
  it('writes default-deny with DNS and one file per workload, named by what each policy does', () => {
    const b = generateBaseline({ namespace: 'api', live: shopLive, edges: SHOP_EDGES });
    expect(b.files.map((f) => f.path)).toEqual(['api/default-deny.yaml', 'api/orders.yaml', 'api/payments.yaml']);
    const docs = parsed(b);
    expect(docs.map(nameOf)).toEqual(['default-deny', 'allow-dns-egress', 'allow-orders-ingress', 'allow-orders-egress', 'allow-payments-ingress']);
    expect(docs[0]).toMatchObject({ spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
    expect(docs[1]).toMatchObject({ spec: { policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }] } });
    expect(docs[2]).toMatchObject({
      spec: { podSelector: { matchLabels: { app: 'orders' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'frontend' } }, podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }] },
    });
    const egress = (docs[3] as { spec: { egress: Obj[] } }).spec.egress;
    expect(egress).toEqual([
      { to: [{ podSelector: { matchLabels: { app: 'payments' } } }], ports: [{ protocol: 'TCP', port: 8443 }] },
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } }, podSelector: { matchLabels: { app: 'postgres' } } }], ports: [{ protocol: 'TCP', port: 5432 }] },
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } }, podSelector: { matchLabels: { app: 'redis-cache' } } }], ports: [{ protocol: 'TCP', port: 6379 }] },
    ]);
    // DNS edges are kept (the DNS policy allows them), not repeated as workload rules.
    expect(b.kept).toHaveLength(6);
    expect(b.notes.join('\n')).toContain('DNS edge(s) to kube-dns');
  });

  it('is deterministic whatever the input order, and never selects on per-pod labels', () => {
    const a = generateBaseline({ namespace: 'db', live: shopLive, edges: SHOP_EDGES });
    const b = generateBaseline({ namespace: 'db', live: shopLive, edges: [...SHOP_EDGES].reverse() });
    expect(b.files).toEqual(a.files);
    const selectors = podSelectorsOf(parsed(a));
    expect(selectors.length).toBeGreaterThan(0);
    for (const s of selectors) for (const key of Object.keys(s)) expect(UNSTABLE_LABEL_KEYS.has(key)).toBe(false);
    expect(a.files.map((f) => f.path)).toEqual(['db/default-deny.yaml', 'db/postgres.yaml', 'db/redis-cache.yaml']);
  });

  it('leaves out excluded (anomalous or dismissed) edges', () => {
    const anomaly = { src: 'db/postgres', dst: '203.0.113.66', port: 443, protocol: 'TCP' };
    const b = generateBaseline({ namespace: 'db', live: shopLive, edges: [...SHOP_EDGES, anomaly], exclude: [anomaly] });
    expect(b.excluded).toBe(1);
    expect(b.files.map((f) => f.yaml).join('')).not.toContain('203.0.113');
  });
});

describe('selectors', () => {
  const live = (pods: Obj[]) => ({ namespaces: [namespace('ns'), namespace('kube-system')], pods: [...pods, kubeDns], networkPolicies: [] });

  it('prefers app.kubernetes.io/name, then app, else the common stable labels', () => {
    const pods = [
      pod('ns', 'a-7c5d9b8f4c-kq2wz', { 'app.kubernetes.io/name': 'a', app: 'legacy-a', 'pod-template-hash': '7c5d9b8f4c' }, { kind: 'ReplicaSet', name: 'a-7c5d9b8f4c' }),
      pod('ns', 'b-0', { component: 'b', role: 'store', 'controller-revision-hash': 'b-6f9d7b5c8d', 'statefulset.kubernetes.io/pod-name': 'b-0' }, { kind: 'StatefulSet', name: 'b' }),
      pod('ns', 'b-1', { component: 'b', role: 'store', 'controller-revision-hash': 'b-6f9d7b5c8d', 'statefulset.kubernetes.io/pod-name': 'b-1' }, { kind: 'StatefulSet', name: 'b' }),
    ];
    const b = generateBaseline({ namespace: 'ns', live: live(pods), edges: [{ src: 'ns/a', dst: 'ns/b', port: 9000, protocol: 'TCP' }] });
    const docs = parsed(b);
    expect(docs.find((p) => nameOf(p) === 'allow-a-egress')).toMatchObject({ spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'a' } }, egress: [{ to: [{ podSelector: { matchLabels: { component: 'b', role: 'store' } } }] }] } });
    expect(docs.find((p) => nameOf(p) === 'allow-b-ingress')).toMatchObject({ spec: { podSelector: { matchLabels: { component: 'b', role: 'store' } } } });
  });

  it('says so when no stable label selects only the workload, and skips workloads with none', () => {
    const pods = [
      pod('ns', 'x-abcde', { tier: 'web' }, { kind: 'DaemonSet', name: 'x' }),
      pod('ns', 'y-abcde', { tier: 'web' }, { kind: 'DaemonSet', name: 'y' }),
      pod('ns', 'z-0', { 'statefulset.kubernetes.io/pod-name': 'z-0' }, { kind: 'StatefulSet', name: 'z' }),
    ];
    const b = generateBaseline({ namespace: 'ns', live: live(pods), edges: [{ src: 'ns/x', dst: 'ns/y', port: 80, protocol: 'TCP' }, { src: 'ns/z', dst: 'ns/x', port: 81, protocol: 'TCP' }] });
    const notes = b.notes.join('\n');
    expect(notes).toContain('ns/x: no stable labels select only its pods; {"tier":"web"} also selects y');
    expect(notes).toContain('No stable label shared by all pods of ns/z');
    expect(b.kept).toEqual([{ src: 'ns/x', dst: 'ns/y', port: 80, protocol: 'TCP' }]);
    expect(b.files.map((f) => f.yaml).join('')).not.toContain('statefulset.kubernetes.io');
  });
});

describe('external peers', () => {
  const pods = [pod('ns', 'app-1', { app: 'app' })];
  const live = { namespaces: [namespace('ns'), namespace('kube-system')], pods: [...pods, kubeDns], networkPolicies: [] };
  const to = (dst: string, port = 443) => ({ src: 'ns/app-1', dst, port, protocol: 'TCP' });
  const cidrsOf = (b: GeneratedBaseline): string[] => [...b.files.map((f) => f.yaml).join('').matchAll(/cidr: (\S+)/g)].map((m) => m[1] as string);

  it('aggregates addresses to their /24 (IPv4) or /64 (IPv6), never wider', () => {
    const b = generateBaseline({ namespace: 'ns', live, edges: [to('198.51.100.7'), to('198.51.100.200'), to('198.51.100.9'), to('203.0.113.66', 8443), to('2001:db8:1:2::10'), to('0.0.0.0', 80)] });
    expect(cidrsOf(b)).toEqual(['0.0.0.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8:1:2::/64']);
    expect(b.files.map((f) => f.yaml).join('')).not.toContain('/0\n');
  });

  it('honours a configured prefix and refuses one that would open the Internet', () => {
    const b = generateBaseline({ namespace: 'ns', live, edges: [to('198.51.100.7')], options: { v4Prefix: 32 } });
    expect(cidrsOf(b)).toEqual(['198.51.100.7/32']);
    expect(() => generateBaseline({ namespace: 'ns', live, edges: [], options: { v4Prefix: 0 } })).toThrow(HardenInputError);
    expect(() => generateBaseline({ namespace: 'ns', live, edges: [], options: { v6Prefix: 8 } })).toThrow(/IPv6 prefix/);
  });
});

describe('workloads with too little history', () => {
  const history = [
    { workload: 'api/orders', observedMs: 2 * 3600_000, learning: false },
    { workload: 'api/payments', observedMs: 72 * 3600_000, learning: false },
  ];

  it('are omitted, not cut off: default-deny and DNS select every pod but theirs; their peers keep the traffic seen with them', () => {
    const b = generateBaseline({ namespace: 'api', live: shopLive, edges: SHOP_EDGES, history });
    expect(b.flagged).toEqual([{ workload: 'api/orders', reason: 'too little history (2.0 h of 24.0 h)', omitted: true }]);
    expect(b.exempt).toEqual([{ key: 'app', values: ['orders'] }]);
    const [deny, dns] = b.files[0]!.policies as Array<{ spec: { podSelector: unknown } }>;
    const notIn = { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['orders'] }] };
    expect(deny!.spec.podSelector).toEqual(notIn);
    expect(dns!.spec.podSelector).toEqual(notIn);
    // orders gets no file of its own; payments still admits orders, as seen.
    expect(b.files.map((f) => f.path)).toEqual(['api/default-deny.yaml', 'api/payments.yaml']);
    expect(b.files[1]!.yaml).toContain('app: orders');
    expect(b.kept).toEqual(expect.arrayContaining([SHOP_EDGES[1], DNS('api/payments')]));
    expect(b.notes.join('\n')).toContain('api/orders: not hardened: too little history (2.0 h of 24.0 h); left out of default-deny (app NotIn orders), kept under its current policies.');
    parsed(b);
  });

  it('ANDs NotIn requirements on different keys, and groups values of one key', () => {
    const pod = (name: string, labels: Record<string, string>) => ({ kind: 'Pod', metadata: { namespace: 'ns', name, labels }, spec: { containers: [{ name: 'c' }] } });
    const live = { namespaces: [{ kind: 'Namespace', metadata: { name: 'ns' } }], pods: [pod('a', { app: 'a' }), pod('b', { app: 'b' }), pod('c', { 'app.kubernetes.io/name': 'c' }), pod('d', { app: 'd' })], networkPolicies: [] };
    const b = generateBaseline({ namespace: 'ns', live, edges: [], history: [{ workload: 'ns/d', observedMs: 99 * 3600_000, learning: false }] });
    expect(b.flagged.map((f) => f.workload)).toEqual(['ns/a', 'ns/b', 'ns/c']);
    expect(b.exempt).toEqual([
      { key: 'app', values: ['a', 'b'] },
      { key: 'app.kubernetes.io/name', values: ['c'] },
    ]);
  });

  it('a flagged workload with no label of its own stays under default-deny, and the notes say loudly that merging cuts it off', () => {
    const pod = (name: string, labels: Record<string, string>) => ({ kind: 'Pod', metadata: { namespace: 'ns', name, labels }, spec: { containers: [{ name: 'c' }] } });
    // new-job shares its only label with web (which has history): no label picks only its pod.
    const live = { namespaces: [{ kind: 'Namespace', metadata: { name: 'ns' } }], pods: [pod('web', { tier: 'x' }), pod('new-job', { tier: 'x' })], networkPolicies: [] };
    const b = generateBaseline({ namespace: 'ns', live, edges: [], history: [{ workload: 'ns/web', observedMs: 99 * 3600_000, learning: false }] });
    expect(b.flagged).toEqual([{ workload: 'ns/new-job', reason: 'no flow history', omitted: false }]);
    expect(b.exempt).toEqual([]);
    expect((b.files[0]!.policies[0] as { spec: { podSelector: unknown } }).spec.podSelector).toEqual({});
    expect(b.notes.join('\n')).toContain('merging CUTS IT OFF');
  });

  it('flags workloads still learning and workloads without any history entry', () => {
    const b = generateBaseline({ namespace: 'api', live: shopLive, edges: SHOP_EDGES, history: [{ workload: 'orders', observedMs: 90 * 3600_000, learning: true }], options: { minHistoryMs: 3600_000 } });
    expect(b.flagged.map((f) => f.reason)).toEqual(['still learning (observed 90.0 h)', 'no flow history']);
  });
});

describe('bad input', () => {
  const hostile = [
    null,
    42,
    'frontend/web',
    {},
    { src: 'frontend/web', dst: 'api/orders', port: 0, protocol: 'TCP' },
    { src: 'frontend/web', dst: 'api/orders', port: 70000, protocol: 'TCP' },
    { src: 'frontend/web', dst: 'api/orders', port: '8080', protocol: 'TCP' },
    { src: 'frontend/web', dst: 'api/orders', port: 8080, protocol: 'ICMP' },
    { src: 'frontend/web', dst: 'api/orders', port: 8080 },
    { src: 'api/orders\n  evil: true', dst: 'db/postgres', port: 5432, protocol: 'TCP' },
    { src: 'api/"}: {&anchor *alias !tag', dst: 'db/postgres', port: 5432, protocol: 'TCP' },
    { src: 'api/orders', dst: 'db/#comment\r\n---', port: 5432, protocol: 'TCP' },
    { src: 'api/orders', dst: '10.1', port: 5432, protocol: 'TCP' },
    { src: '198.51.100.1', dst: '198.51.100.2', port: 80, protocol: 'TCP' },
    { src: 'api/orders', dst: 'db/' + 'a'.repeat(300), port: 5432, protocol: 'TCP' },
  ];

  it('skips malformed and hostile edges with a note, and the YAML stays valid', () => {
    const b = generateBaseline({ namespace: 'api', live: shopLive, edges: [...hostile, ...SHOP_EDGES] });
    expect(b.kept).toHaveLength(6);
    const notes = b.notes.join('\n');
    expect(notes).toContain('malformed learned edge(s) skipped (port is not a number from 1 to 65535)');
    expect(notes).toContain('(protocol is not TCP, UDP or SCTP)');
    expect(notes).not.toMatch(/evil: true\n/);
    const docs = parsed(b);
    expect(JSON.stringify(docs)).not.toMatch(/evil|anchor|comment/);
    expect(b.files.map((f) => f.path)).toEqual(['api/default-deny.yaml', 'api/orders.yaml', 'api/payments.yaml']);
  });

  it('refuses input that is not a list, a bad namespace or too many edges, with a clear error', () => {
    expect(() => generateBaseline({ namespace: 'api', live: shopLive, edges: 'nope' as unknown as unknown[] })).toThrow('learned edges must be a list');
    expect(() => generateBaseline({ namespace: 'api\n- x', live: shopLive, edges: [] })).toThrow(HardenInputError);
    expect(() => generateBaseline({ namespace: 'api', live: shopLive, edges: SHOP_EDGES, options: { maxEdges: 3 } })).toThrow(/9 learned edges, more than the limit of 3/);
  });

  it('handles 100k edges without crashing', () => {
    const edges = Array.from({ length: 100_000 }, (_, i) => ({ src: 'api/orders', dst: `198.${51 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port: 1 + (i % 3), protocol: i % 7 === 0 ? 'bogus' : 'TCP' }));
    const b = generateBaseline({ namespace: 'api', live: shopLive, edges });
    expect(b.kept.length).toBeGreaterThan(80_000);
    const docs = parsed(b);
    const orders = docs.find((p) => nameOf(p) === 'allow-orders-egress') as { spec: { egress: unknown[] } };
    // 100k addresses in 391 /24 blocks: one rule per block.
    expect(orders.spec.egress).toHaveLength(391);
    expect(b.notes.join('\n')).toMatch(/14286 malformed learned edge\(s\) skipped \(protocol/);
  });

  it('keeps policy names and file names valid for very long or colliding workload names', () => {
    const long = 'w'.repeat(250);
    const pods = [pod('ns', long, { app: 'long' }), pod('ns', 'dns', { app: 'dns' }), pod('ns', 'default-deny', { app: 'dd' })];
    const live = { namespaces: [namespace('ns'), namespace('kube-system')], pods: [...pods, kubeDns], networkPolicies: [] };
    const b = generateBaseline({ namespace: 'ns', live, edges: [{ src: `ns/${long}`, dst: 'ns/dns', port: 1, protocol: 'TCP' }, { src: 'ns/dns', dst: 'ns/default-deny', port: 2, protocol: 'UDP' }] });
    const names = parsed(b).map(nameOf);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/);
    expect(names).toContain('allow-dns-workload-egress');
    expect(b.files.map((f) => f.path)).toContain('ns/workload-default-deny.yaml');
  });
});

describe('YAML rendering', () => {
  it('writes exactly what the yaml package writes, awkward scalars quoted', () => {
    const awkward = { apiVersion: 'v1', metadata: { labels: { a: 'true', b: '8080', c: 'yes', d: '', e: '0x1f', f: 'null', g: '~', 'h.io/x': 'on', i: '1e3', j: '-', k: 'a: b', l: '#x' } }, spec: { empty: {}, none: [], list: [1, 'two', { three: [] }, [4, { five: 'v' }]], deep: [{ to: [{ ipBlock: { cidr: '0.0.0.0/24' } }], ports: [{ protocol: 'TCP', port: 1 }] }] } };
    for (const policy of [awkward, ...generateBaseline({ namespace: 'api', live: shopLive, edges: SHOP_EDGES }).policies]) {
      expect(renderPolicy(policy)).toBe(stringify(policy, { lineWidth: 0, aliasDuplicateObjects: false }));
    }
  });
});
