import { describe, expect, it } from 'vitest';
import { FlowNormalizer } from '../../../src/flows/normalize.js';
import type { Flow } from '../../../src/flows/types.js';

const flowWith = (source: Record<string, unknown>): Record<string, unknown> => ({
  time: '2024-05-01T10:00:00Z',
  verdict: 'FORWARDED',
  IP: { source: '10.0.0.1', destination: '10.0.0.2' },
  l4: { TCP: { source_port: 40000, destination_port: 5432 } },
  source,
  destination: { identity: 200, namespace: 'db', labels: ['k8s:app=postgres'], pod_name: 'postgres-0' },
});

function sourceOf(normalizer: FlowNormalizer, source: Record<string, unknown>): Flow['source'] {
  const result = normalizer.normalizeFlow(flowWith(source));
  if (!result.ok) throw new Error(result.detail);
  return result.flow.source;
}

describe('normalize: owner derivation remembered per identity', () => {
  const labels = ['k8s:app=orders'];

  it('one identity seen with several pods, namespaces and workloads fields: each flow gets its own owner', () => {
    const n = new FlowNormalizer();
    const a = sourceOf(n, { identity: 100, namespace: 'api', labels, pod_name: 'orders-5d8f7c9b6d-abcde' });
    expect([a.workload, a.workloadKind, a.workloadKey]).toEqual(['orders', 'Deployment', 'api/orders']);
    const b = sourceOf(n, { identity: 100, namespace: 'api', labels, pod_name: 'orders-v2-0' });
    expect([b.workload, b.workloadKind, b.workloadKey]).toEqual(['orders-v2', 'StatefulSet', 'api/orders-v2']);
    const c = sourceOf(n, { identity: 100, namespace: 'api2', labels, pod_name: 'orders-v2-0' });
    expect(c.workloadKey).toBe('api2/orders-v2');
    // Hubble's workloads field wins over the remembered derivation, and is not remembered itself.
    const d = sourceOf(n, { identity: 100, namespace: 'api2', labels, pod_name: 'orders-v2-0', workloads: [{ name: 'orders-rollout', kind: 'Rollout' }] });
    expect([d.workload, d.workloadKind]).toEqual(['orders-rollout', 'Rollout']);
    const e = sourceOf(n, { identity: 100, namespace: 'api2', labels, pod_name: 'orders-v2-0' });
    expect([e.workload, e.workloadKind]).toEqual(['orders-v2', 'StatefulSet']);
    // No pod: the owner comes from the app label.
    const f = sourceOf(n, { identity: 100, namespace: 'api2', labels });
    expect([f.workload, f.workloadKind, f.pod]).toEqual(['orders', '', '']);
  });

  it('gives the same owners as a fresh normalizer for a mixed sequence', () => {
    const shared = new FlowNormalizer();
    const sources = [
      { identity: 7, namespace: 'a', labels, pod_name: 'x-5d8f7c9b6d-abcde' },
      { identity: 7, namespace: 'a', labels, pod_name: 'y-1' },
      { identity: 7, namespace: 'b', labels, pod_name: 'x-5d8f7c9b6d-abcde' },
      { identity: 7, namespace: 'a', labels, pod_name: 'x-5d8f7c9b6d-abcde' },
      { identity: 8, namespace: 'a', labels: ['k8s:k8s-app=dns'] },
      { identity: 7, namespace: 'a', labels },
    ];
    for (const source of sources) {
      const fresh = sourceOf(new FlowNormalizer(), source);
      const got = sourceOf(shared, source);
      expect([got.workload, got.workloadKind, got.workloadKey]).toEqual([fresh.workload, fresh.workloadKind, fresh.workloadKey]);
    }
  });
});
