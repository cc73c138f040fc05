// The state the hardening proves is the state after the merge: the hardened namespaces' policies
// swapped for the generated ones (plus what cannot be removed), every hardened namespace at once;
// the postmortem's connectivity rows are judged on that very state.
import { describe, expect, it } from 'vitest';
import { connectivityRows } from '../../src/harden/connectivity.js';
import { generateBaseline } from '../../src/harden/generate.js';
import { proveBaseline, stateAfterMerge } from '../../src/harden/prove.js';
import { allowed, buildIndex } from '../../src/policy/index.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import { SHOP_EDGES, shopLive } from '../helpers/harden.js';

const ANOMALY = { src: 'db/postgres', dst: '203.0.113.66', port: 443, protocol: 'TCP' };
const names = (live: { networkPolicies?: readonly unknown[] }, ns: string): string[] =>
  (live.networkPolicies ?? [])
    .map((p) => (p as { metadata: { namespace: string; name: string } }).metadata)
    .filter((m) => m.namespace === ns)
    .map((m) => m.name)
    .sort();

describe('stateAfterMerge', () => {
  const live = { ...shopLive, networkPolicies: [...shopLive.networkPolicies, structuredClone(ALLOW_ALL_EGRESS)] };
  const db = generateBaseline({ namespace: 'db', live, edges: SHOP_EDGES, exclude: [ANOMALY] });
  const api = generateBaseline({ namespace: 'api', live, edges: SHOP_EDGES, exclude: [ANOMALY] });

  it('swaps the hardened namespaces\' policies for the generated ones and leaves the others alone', () => {
    const merged = stateAfterMerge(live, [{ namespace: 'db', generated: db.policies, keep: [] }]);
    expect(names(merged, 'db')).toEqual(db.policies.map((p) => (p.metadata as { name: string }).name).sort());
    expect(names(merged, 'api')).toEqual(names(live, 'api'));
    expect(names(merged, 'frontend')).toEqual(names(live, 'frontend'));
    // The input is not changed.
    expect(names(live, 'db')).toContain(ALLOW_ALL_EGRESS.metadata.name);
  });

  it('a kept policy of the same name as a generated one is the one that lands; a kept one of another namespace is ignored', () => {
    const first = db.policies[0] as { metadata: { name: string } };
    const keep = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: first.metadata.name, namespace: 'db' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    const stray = { ...keep, metadata: { name: 'stray', namespace: 'frontend' } };
    const merged = stateAfterMerge(live, [{ namespace: 'db', generated: db.policies, keep: [keep, stray] }]);
    const landed = (merged.networkPolicies ?? []).filter((p) => (p as { metadata: { name: string; namespace: string } }).metadata.name === first.metadata.name && (p as { metadata: { namespace: string } }).metadata.namespace === 'db');
    expect(landed).toEqual([keep]);
    expect(names(merged, 'frontend')).not.toContain('stray');
  });

  it('two namespaces at once: an edge between them is judged with both baselines in force', () => {
    const merged = stateAfterMerge(live, [
      { namespace: 'db', generated: db.policies, keep: [] },
      { namespace: 'api', generated: api.policies, keep: [] },
    ]);
    const index = buildIndex(merged).index;
    expect(allowed(index, 'api/orders', 'db/postgres', 5432, 'TCP').allowed).toBe(true);
    expect(allowed(index, 'api/payments', 'db/postgres', 5432, 'TCP').allowed).toBe(false);
    for (const baseline of [db, api]) expect(proveBaseline({ live: merged, baseline, anomalies: [ANOMALY] }).ok).toBe(true);
  });
});

describe('connectivity rows', () => {
  it('judge the merged state, not the live policies with the baseline added', () => {
    // Live, the incident's allow-all egress lets the anomaly out; the merge replaces it.
    const live = { ...shopLive, networkPolicies: [...shopLive.networkPolicies, structuredClone(ALLOW_ALL_EGRESS)] };
    const db = generateBaseline({ namespace: 'db', live, edges: SHOP_EDGES, exclude: [ANOMALY] });
    const merged = stateAfterMerge(live, [{ namespace: 'db', generated: db.policies, keep: [] }]);
    const { rows, total } = connectivityRows(live, merged, db.kept, [ANOMALY]);
    expect(total).toBe(db.kept.length + 1);
    expect(rows[0]).toEqual({ ...ANOMALY, kind: 'anomaly', live: true, baseline: false });
    expect(rows.filter((r) => r.kind === 'learned').every((r) => r.baseline)).toBe(true);
  });

  it('caps the rows at 500 and counts them all', () => {
    const many = Array.from({ length: 700 }, (_, i) => ({ src: 'db/postgres', dst: `198.51.100.${i % 250}`, port: 1000 + i, protocol: 'TCP' }));
    const { rows, total } = connectivityRows(shopLive, shopLive, many, []);
    expect(rows).toHaveLength(500);
    expect(total).toBe(700);
  });
});
