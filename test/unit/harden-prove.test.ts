import { describe, expect, it } from 'vitest';
import { generateBaseline } from '../../src/harden/generate.js';
import { indexWithBaseline, proveBaseline } from '../../src/harden/prove.js';
import { decide, resolveEndpoints } from '../../src/policy/index.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';

import { DNS, liveOf, SHOP_EDGES, shopLive } from '../helpers/harden.js';
type Obj = Record<string, unknown>;

// The shop incident's exfiltration attempt.
const ANOMALY = { src: 'db/postgres', dst: '203.0.113.66', port: 443, protocol: 'TCP' };

/** One namespace of `workloads` Deployments (2 pods each) whose learned edges form a ring of `fanout` peers. */
function bigNamespace(workloads: number, fanout: number) {
  const objects: Obj[] = [
    { kind: 'Namespace', metadata: { name: 'big', labels: { 'kubernetes.io/metadata.name': 'big' } } },
    { kind: 'Namespace', metadata: { name: 'other', labels: { 'kubernetes.io/metadata.name': 'other' } } },
    { kind: 'Namespace', metadata: { name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system' } } },
    { kind: 'Pod', metadata: { namespace: 'kube-system', name: 'coredns-5d78c9869d-p2v8x', labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c9869d' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'coredns-5d78c9869d', controller: true }] }, spec: { containers: [{ name: 'c' }] } },
    { kind: 'Pod', metadata: { namespace: 'other', name: 'client-0', labels: { app: 'client' }, ownerReferences: [{ kind: 'StatefulSet', name: 'client', controller: true }] }, spec: { containers: [{ name: 'c' }] } },
    // The live state being replaced: everything open inside the namespace.
    { kind: 'NetworkPolicy', metadata: { namespace: 'big', name: 'allow-all' }, spec: { podSelector: {}, ingress: [{}], egress: [{}], policyTypes: ['Ingress', 'Egress'] } },
  ];
  const edges: Obj[] = [];
  for (let w = 0; w < workloads; w++) {
    const hash = (0x5b7f8c6d + w).toString(16);
    for (let r = 0; r < 2; r++) {
      objects.push({
        kind: 'Pod',
        metadata: { namespace: 'big', name: `svc-${w}-${hash}-x${r}abc`, labels: { app: `svc-${w}`, tier: `t${w % 4}`, 'pod-template-hash': hash }, ownerReferences: [{ kind: 'ReplicaSet', name: `svc-${w}-${hash}`, controller: true }] },
        spec: { containers: [{ name: 'c' }] },
      });
    }
    for (let k = 1; k <= fanout; k++) edges.push({ src: `big/svc-${w}`, dst: `big/svc-${(w + k * 7) % workloads}`, port: 8000 + (k % 3), protocol: 'TCP' });
    edges.push({ ...DNS(`big/svc-${w}`), dst: 'kube-system/coredns' });
    if (w % 50 === 0) edges.push({ src: 'other/client', dst: `big/svc-${w}`, port: 9000, protocol: 'TCP' }, { src: `big/svc-${w}`, dst: `198.51.100.${w % 250}`, port: 443, protocol: 'TCP' });
  }
  return { live: liveOf(objects), edges };
}

describe('engine proof on the shop', () => {
  for (const ns of ['frontend', 'api', 'db']) {
    it(`namespace ${ns}: every learned edge allowed, nothing unobserved allowed, the anomaly denied, lint clean`, () => {
      const baseline = generateBaseline({ namespace: ns, live: shopLive, edges: [...SHOP_EDGES, ANOMALY], exclude: [ANOMALY] });
      const proof = proveBaseline({ live: shopLive, baseline, anomalies: [ANOMALY] });
      expect(proof.coverage).toMatchObject({ percent: 100, misses: [] });
      expect(proof.coverage.learned).toBeGreaterThan(0);
      expect(proof.unobserved).toEqual({ pairs: 0, combinations: 0, examples: [] });
      expect(proof.anomalies).toMatchObject({ total: 1, denied: 1, allowed: [], unresolved: [] });
      expect(proof.lint).toEqual({ errors: 0, warnings: 0, findings: [] });
      expect(proof.ok).toBe(true);
      expect(proof.summary).toContain('(100.0%)');
      expect(proof.summary).toContain('Anomalous flows denied: 1/1.');
    });
  }

  it('replaces the live policies: the incident\'s allow-all egress in db no longer lets the anomaly out', () => {
    const live = { ...shopLive, networkPolicies: [...shopLive.networkPolicies, structuredClone(ALLOW_ALL_EGRESS)] };
    const proof = proveBaseline({ live, baseline: generateBaseline({ namespace: 'db', live, edges: SHOP_EDGES }), anomalies: [ANOMALY] });
    expect(proof.anomalies.denied).toBe(1);
    expect(proof.ok).toBe(true);
  });

  it('finds what a tampered baseline opens, and the anomaly it lets through', () => {
    const baseline = generateBaseline({ namespace: 'db', live: shopLive, edges: SHOP_EDGES });
    const open = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-postgres-anything', namespace: 'db' }, spec: { podSelector: { matchLabels: { app: 'postgres' } }, policyTypes: ['Egress'], egress: [{}] } };
    const proof = proveBaseline({ live: shopLive, baseline: { ...baseline, policies: [...baseline.policies, open] }, anomalies: [ANOMALY] });
    expect(proof.ok).toBe(false);
    expect(proof.anomalies.allowed.map((a) => a.edge)).toEqual([ANOMALY]);
    expect(proof.unobserved.pairs).toBeGreaterThan(0);
    // frontend/web admits anyone on 8080 (its live policy), so postgres may now reach it.
    expect(proof.unobserved.examples).toContainEqual({ src: 'db/postgres', dst: 'frontend/web', conns: 'TCP 8080' });
    expect(proof.summary).toContain('anomaly allowed: db/postgres -> 203.0.113.66 TCP/443');
  });

  it('reports learned edges the other side\'s live policies still deny, with the engine\'s reason', () => {
    // db keeps its live policies except the rule admitting the api tier.
    const live = { ...shopLive, networkPolicies: shopLive.networkPolicies.filter((p) => (p.metadata as Obj).name !== 'allow-db-from-api') };
    const proof = proveBaseline({ live, baseline: generateBaseline({ namespace: 'api', live, edges: SHOP_EDGES }) });
    expect(proof.coverage.misses.map((m) => `${m.edge.src}->${m.edge.dst}`)).toEqual(['api/orders->db/postgres', 'api/orders->db/redis-cache']);
    expect(proof.coverage.percent).toBeCloseTo((4 / 6) * 100);
    expect(proof.coverage.misses[0]?.reason.length).toBeGreaterThan(0);
    expect(proof.summary).toContain('not allowed: api/orders -> db/postgres TCP/5432');
  });

  it('counts anomalies naming unknown workloads apart, and malformed ones', () => {
    const baseline = generateBaseline({ namespace: 'db', live: shopLive, edges: SHOP_EDGES });
    const proof = proveBaseline({ live: shopLive, baseline, anomalies: [ANOMALY, { src: 'db/ghost', dst: '203.0.113.66', port: 443, protocol: 'TCP' }, { src: 'db/postgres\n', port: -1 }] });
    expect(proof.anomalies).toMatchObject({ total: 2, denied: 1, malformed: 1 });
    expect(proof.anomalies.unresolved.map((u) => u.edge.src)).toEqual(['db/ghost']);
  });

  it('a workload left out for too little history: not in the unobserved figure, reported as not hardened, and it still reaches what it reached', () => {
    const baseline = generateBaseline({ namespace: 'api', live: shopLive, edges: SHOP_EDGES, history: [{ workload: 'api/orders', observedMs: 3600_000, learning: false }, { workload: 'api/payments', observedMs: 48 * 3600_000, learning: false }] });
    const proof = proveBaseline({ live: shopLive, baseline });
    expect(proof.coverage.misses).toEqual([]);
    expect(proof.coverage.allowed).toBe(baseline.kept.length);
    expect(proof.unobserved.pairs).toBe(0);
    expect(proof.notHardened).toEqual([{ workload: 'api/orders', reason: 'too little history (1.0 h of 24.0 h)' }]);
    expect(proof.summary).toContain('Not hardened: api/orders (too little history (1.0 h of 24.0 h)); kept under their current policies.');
    // The engine agrees NotIn leaves orders out: its egress is not under default-deny, payments' is.
    const index = indexWithBaseline(shopLive, baseline).index;
    const ends = (w: string) => resolveEndpoints(index, w);
    expect(decide(index, ends('api/orders')[0]!, ends('198.51.100.7')[0]!, 443, 'TCP').allowed).toBe(true);
    expect(decide(index, ends('api/payments')[0]!, ends('198.51.100.7')[0]!, 443, 'TCP').allowed).toBe(false);
    // And what payments admits from orders (seen) stays allowed.
    expect(decide(index, ends('api/orders')[0]!, ends('api/payments')[0]!, (SHOP_EDGES[1] as { port: number }).port, 'TCP').allowed).toBe(true);
  });

  it('proves the state after the merge: a kept policy counts, and one with a generated name replaces it', () => {
    const baseline = generateBaseline({ namespace: 'db', live: shopLive, edges: SHOP_EDGES });
    const before = proveBaseline({ live: shopLive, baseline });
    expect(before.unobserved.pairs).toBe(0);
    const openIngress = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: 'db', name: 'helm-open' }, spec: { podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] } };
    const kept = proveBaseline({ live: shopLive, baseline, keep: [openIngress] });
    expect(kept.unobserved.pairs).toBeGreaterThan(0);
    // Same name as the generated default-deny: the kept one is what lands, so the proof uses it.
    const sameName = { ...openIngress, metadata: { namespace: 'db', name: 'default-deny' } };
    const replaced = indexWithBaseline(shopLive, baseline, [sameName]).index;
    const deny = [...replaced.policies.values()].filter((p) => p.policy.namespace === 'db' && p.policy.name === 'default-deny');
    expect(deny).toHaveLength(1);
    expect(deny[0]!.ingress.length).toBeGreaterThan(0);
    // A kept policy of another namespace is ignored.
    expect(proveBaseline({ live: shopLive, baseline, keep: [{ ...openIngress, metadata: { namespace: 'api', name: 'x' } }] }).unobserved.pairs).toBe(0);
  });
});

describe('engine proof on a namespace of 500 workloads', () => {
  it('allows every learned edge and nothing else', () => {
    const { live, edges } = bigNamespace(500, 9);
    const baseline = generateBaseline({ namespace: 'big', live, edges });
    expect(baseline.files).toHaveLength(501);
    const proof = proveBaseline({ live, baseline, anomalies: [{ src: 'big/svc-1', dst: 'big/svc-2', port: 8000, protocol: 'TCP' }, { src: 'big/svc-0', dst: '198.51.101.1', port: 443, protocol: 'TCP' }] });
    expect(proof.coverage.learned).toBe(edges.length);
    expect(proof.coverage.misses).toEqual([]);
    expect(proof.unobserved.pairs).toBe(0);
    expect(proof.anomalies.denied).toBe(2);
    expect(proof.lint.errors + proof.lint.warnings).toBe(0);
  });
});
