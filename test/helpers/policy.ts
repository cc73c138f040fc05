// Builders for small clusters used by the policy truth tables.
import { buildIndex, type PolicyIndex } from '../../src/policy/index.js';

export function ns(name: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return { kind: 'Namespace', metadata: { name, labels } };
}

export function pod(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  ports: Array<{ name?: string; containerPort: number; protocol?: string }> = [],
): Record<string, unknown> {
  return { kind: 'Pod', metadata: { namespace, name, labels }, spec: { containers: [{ name: 'c', ports }] } };
}

export function netpol(namespace: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec };
}

export function index(objects: unknown[]): PolicyIndex {
  const { index: idx, issues } = buildIndex(objects.map((object, i) => ({ object, source: `test#${i}` })));
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new Error(`unexpected load errors: ${JSON.stringify(errors)}`);
  return idx;
}

export function anp(name: string, priority: number, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name }, spec: { priority, ...spec } };
}

export function banp(spec: Record<string, unknown>, name = 'default'): Record<string, unknown> {
  return { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'BaselineAdminNetworkPolicy', metadata: { name }, spec };
}

export function cnp(namespace: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { namespace, name }, spec };
}

export function node(name: string, labels: Record<string, string>, addresses: string[]): Record<string, unknown> {
  return { kind: 'Node', metadata: { name, labels }, status: { addresses: addresses.map((address) => ({ type: 'InternalIP', address })) } };
}

/** A namespaces selector on the namespace name label. */
export function nsNamed(name: string): Record<string, unknown> {
  return { matchLabels: { 'kubernetes.io/metadata.name': name } };
}
