// Live pods are owned by ReplicaSets: a query may still name their Deployment (`ns/web` or
// `ns/web[Deployment]`), as the flow collector and people do, and gets the ReplicaSets' pods.
import { describe, expect, it } from 'vitest';
import { allowed, QueryError, resolveEndpoints } from '../../src/policy/index.js';
import { index, netpol, ns } from '../helpers/policy.js';

function rsPod(namespace: string, name: string, rs: string, hash: string, labels: Record<string, string>): Record<string, unknown> {
  return {
    kind: 'Pod',
    metadata: { namespace, name, labels: { ...labels, 'pod-template-hash': hash }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, controller: true }] },
    spec: { containers: [{ name: 'c', ports: [{ containerPort: 8080 }] }] },
  };
}

const cluster = [
  ns('shop'),
  rsPod('shop', 'web-6d4cf56db6-a1', 'web-6d4cf56db6', '6d4cf56db6', { app: 'web' }),
  // A rollout in progress: the new ReplicaSet's pods carry another label.
  rsPod('shop', 'web-7f8e9a0b1c-b2', 'web-7f8e9a0b1c', '7f8e9a0b1c', { app: 'web', track: 'canary' }),
  // Not web's: a Deployment named web-api (its hash has no dash, but the name does).
  rsPod('shop', 'web-api-5c5c5c5c5c-c3', 'web-api-5c5c5c5c5c', '5c5c5c5c5c', { app: 'web-api' }),
  // A ReplicaSet whose pods do not carry its hash is not a Deployment's.
  { kind: 'Pod', metadata: { namespace: 'shop', name: 'web-manual-x', labels: { app: 'manual' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-manual', controller: true }] }, spec: { containers: [{ name: 'c' }] } },
  netpol('shop', 'canary-closed', { podSelector: { matchLabels: { track: 'canary' } }, policyTypes: ['Ingress'] }),
];

describe('Deployment names over ReplicaSet-owned pods', () => {
  const idx = index(cluster);

  it('ns/name and ns/name[Deployment] resolve to every ReplicaSet of the Deployment', () => {
    for (const text of ['shop/web', 'shop/web[Deployment]']) {
      const endpoints = resolveEndpoints(idx, text);
      expect(endpoints).toHaveLength(2);
      expect(endpoints.every((e) => e.label === 'shop/web[Deployment]')).toBe(true);
    }
  });

  it('a connection to the Deployment is allowed only if every pod class allows it', () => {
    expect(allowed(idx, '203.0.113.1', 'shop/web', 8080).allowed).toBe(false);
    expect(allowed(idx, '203.0.113.1', 'shop/web-6d4cf56db6', 8080).allowed).toBe(true);
  });

  it('does not take another Deployment whose name starts the same, nor a ReplicaSet without the hash label', () => {
    expect(resolveEndpoints(idx, 'shop/web-api')).toHaveLength(1);
    expect(() => resolveEndpoints(idx, 'shop/web-manual-x[Deployment]')).toThrow(QueryError);
    expect(() => resolveEndpoints(idx, 'shop/nothing')).toThrow(/no pod or workload "shop\/nothing"/);
    expect(() => resolveEndpoints(idx, 'shop/web[StatefulSet]')).toThrow(QueryError);
  });
});
