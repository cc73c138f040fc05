// Which namespace a flow belongs to when collectors are sharded by namespace, so that every flow
// is processed by exactly one replica.
//
// A replica asks the relay for flows whose source OR destination pod is in one of its namespaces,
// so a flow between two namespaces owned by different replicas reaches both. Each replica keeps it
// only if it owns the flow's *owner namespace*:
//   - the namespace of the side that opened the connection: the source of a request, the
//     destination of a reply (Hubble's is_reply), so a connection and its replies stay together;
//   - when that side is not a pod (world, host, remote node…), the other side's namespace
//     (traffic from the internet into a pod belongs to the pod's namespace);
//   - when neither side is a pod, no namespace: no replica processes it (no workload to learn).
// The rule reads only the flow, so every replica reaches the same answer without talking.
import type { Flow } from '../types.js';

/** A Kubernetes namespace name (DNS-1123 label). Anything else is never whitelisted or used in a Redis key. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isNamespaceName(value: unknown): value is string {
  return typeof value === 'string' && NAMESPACE_NAME.test(value);
}

/** The namespace whose owner processes this flow, or null when neither side is a pod. */
export function flowOwnerNamespace(flow: Pick<Flow, 'source' | 'destination' | 'isReply'>): string | null {
  const [opener, other] = flow.isReply === true ? [flow.destination, flow.source] : [flow.source, flow.destination];
  if (opener.namespace) return opener.namespace;
  if (other.namespace) return other.namespace;
  return null;
}
