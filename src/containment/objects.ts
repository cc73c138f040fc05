// The objects each containment strategy creates, built as plain data (pure). Every one is named
// after the incident, labelled as ours, and keeps DNS to kube-dns only when the playbook says so.
import type { LabelSelectorSpec } from '../incident/model.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'netpol-responder';
export const ANNOTATION_PREFIX = 'netpol-responder.io';
export const INCIDENT_LABEL = `${ANNOTATION_PREFIX}/incident`;

export interface DnsException {
  keep: boolean;
  namespace: string;
  podLabels: Record<string, string>;
}

export interface QuarantineTarget {
  incidentId: string;
  namespace: string;
  /** Absent: every pod of the namespace. */
  labelSelector?: LabelSelectorSpec;
  dns: DnsException;
  approvers: string[];
  /** ISO time the objects are applied; absent for the proposal shown before approval. */
  appliedAt?: string;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function quarantineName(incidentId: string): string {
  return `netpol-responder-quarantine-${incidentId}`;
}

export function quarantineMeta(target: QuarantineTarget, namespaced: boolean): ObjectMeta {
  const annotations: Record<string, string> = {
    [`${ANNOTATION_PREFIX}/incident`]: target.incidentId,
    [`${ANNOTATION_PREFIX}/reason`]: 'emergency containment applied during incident response',
  };
  if (target.approvers.length > 0) annotations[`${ANNOTATION_PREFIX}/approved-by`] = target.approvers.join(',');
  if (target.appliedAt) annotations[`${ANNOTATION_PREFIX}/applied-at`] = target.appliedAt;
  return {
    name: quarantineName(target.incidentId),
    ...(namespaced ? { namespace: target.namespace } : {}),
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [INCIDENT_LABEL]: target.incidentId },
    annotations,
  };
}

/** The selector without empty parts, so the proposal and the read-back compare equal. */
export function compactSelector(selector: LabelSelectorSpec | undefined): LabelSelectorSpec {
  const out: LabelSelectorSpec = {};
  if (selector?.matchLabels && Object.keys(selector.matchLabels).length > 0) out.matchLabels = { ...selector.matchLabels };
  if (selector?.matchExpressions && selector.matchExpressions.length > 0) out.matchExpressions = selector.matchExpressions.map((e) => ({ ...e }));
  return out;
}

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
const DNS_PORTS = [53] as const;

/** The emergency deny-all NetworkPolicy: isolates the scope both ways, DNS to kube-dns optional. */
export function denyAllNetworkPolicy(target: QuarantineTarget) {
  const dnsEgress = {
    to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: target.dns.namespace } }, podSelector: { matchLabels: { ...target.dns.podLabels } } }],
    ports: DNS_PORTS.flatMap((port) => [
      { protocol: 'UDP', port },
      { protocol: 'TCP', port },
    ]),
  };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: quarantineMeta(target, true),
    spec: {
      podSelector: compactSelector(target.labelSelector),
      policyTypes: ['Ingress', 'Egress'],
      ingress: [] as unknown[],
      egress: (target.dns.keep ? [dnsEgress] : []) as unknown[],
    },
  };
}

/**
 * AdminNetworkPolicy (policy.networking.k8s.io/v1alpha1): it outranks every NetworkPolicy for the
 * peers it can name. Ingress rules of v1alpha1 name only namespaces and pods, so ingress from
 * outside the cluster is still decided by NetworkPolicies: the strategy cuts that separately.
 */
export function adminNetworkPolicy(target: QuarantineTarget, priority: number) {
  const namespaceSelector = { matchLabels: { [NAMESPACE_NAME_LABEL]: target.namespace } };
  const selector = compactSelector(target.labelSelector);
  const subject = Object.keys(selector).length === 0 ? { namespaces: namespaceSelector } : { pods: { namespaceSelector, podSelector: selector } };
  const keepDns = {
    name: 'netpol-responder-keep-dns',
    action: 'Allow',
    to: [{ pods: { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: target.dns.namespace } }, podSelector: { matchLabels: { ...target.dns.podLabels } } } }],
    ports: DNS_PORTS.flatMap((port) => [{ portNumber: { protocol: 'UDP', port } }, { portNumber: { protocol: 'TCP', port } }]),
  };
  return {
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    kind: 'AdminNetworkPolicy',
    metadata: quarantineMeta(target, false),
    spec: {
      priority,
      subject,
      ingress: [{ name: 'netpol-responder-deny-all-ingress', action: 'Deny', from: [{ namespaces: {} }] }],
      egress: [
        ...(target.dns.keep ? [keepDns] : []),
        { name: 'netpol-responder-deny-all-egress', action: 'Deny', to: [{ namespaces: {} }, { networks: ['0.0.0.0/0', '::/0'] }] },
      ],
    },
  };
}

const CILIUM_NAMESPACE_LABEL = 'k8s:io.kubernetes.pod.namespace';
/** Every entity that is not a pod selectable by labels; pods are covered by endpoint selectors. */
const NON_POD_ENTITIES = ['world', 'host', 'remote-node', 'kube-apiserver', 'ingress', 'health', 'init', 'unmanaged'];

/**
 * CiliumNetworkPolicy (cilium.io/v2): deny rules win over every allow in Cilium, so the scope is
 * isolated whatever other policies say. With DNS kept, the egress deny covers everything but
 * kube-dns on port 53: other entities, every pod outside the DNS namespace, every pod of it that
 * is not kube-dns, and kube-dns on every other port.
 */
export function ciliumNetworkPolicy(target: QuarantineTarget) {
  const dnsLabels = Object.fromEntries(Object.entries(target.dns.podLabels).map(([k, v]) => [`k8s:${k}`, v]));
  const kubeDns = { matchLabels: { [CILIUM_NAMESPACE_LABEL]: target.dns.namespace, ...dnsLabels } };
  const notKubeDns = Object.entries(target.dns.podLabels).map(([key, value]) => ({
    matchExpressions: [
      { key: CILIUM_NAMESPACE_LABEL, operator: 'Exists' },
      { key: `k8s:${key}`, operator: 'NotIn', values: [value] },
    ],
  }));
  // Everything to kube-dns but DNS itself (UDP and TCP 53) is denied, SCTP 53 included.
  const otherPorts = [
    { port: '1', endPort: 52, protocol: 'ANY' },
    { port: '54', endPort: 65535, protocol: 'ANY' },
    { port: '53', protocol: 'SCTP' },
  ];
  const egressDeny = target.dns.keep
    ? [
        { toEntities: NON_POD_ENTITIES },
        { toEndpoints: [{ matchExpressions: [{ key: CILIUM_NAMESPACE_LABEL, operator: 'NotIn', values: [target.dns.namespace] }] }, ...notKubeDns] },
        { toEndpoints: [kubeDns], toPorts: [{ ports: otherPorts }] },
      ]
    : [{ toEntities: ['all'] }];
  return {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: quarantineMeta(target, true),
    spec: {
      endpointSelector: compactSelector(target.labelSelector),
      ingressDeny: [{ fromEntities: ['all'] }],
      egressDeny,
      ...(target.dns.keep
        ? {
            egress: [
              {
                toEndpoints: [kubeDns],
                toPorts: [
                  {
                    ports: [
                      { port: '53', protocol: 'UDP' },
                      { port: '53', protocol: 'TCP' },
                    ],
                  },
                ],
              },
            ],
          }
        : {}),
    },
  };
}
