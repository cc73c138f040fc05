// The emergency deny-all NetworkPolicy, built as plain data (pure). Ingress and Egress are both
// listed in policyTypes with no allow rules, so every selected pod is isolated both ways; DNS to
// kube-dns may be kept so workloads fail cleanly instead of hanging on name lookups.
import type { LabelSelectorSpec } from '../../incident/model.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'netpol-responder';
export const ANNOTATION_PREFIX = 'netpol-responder.io';

export interface NetworkPolicyObject {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    podSelector: LabelSelectorSpec;
    policyTypes: ('Ingress' | 'Egress')[];
    ingress: unknown[];
    egress: unknown[];
  };
}

export interface QuarantineInput {
  incidentId: string;
  namespace: string;
  labelSelector?: LabelSelectorSpec;
  keepDnsEgress: boolean;
  dnsNamespace: string;
  dnsPodLabels: Record<string, string>;
  approvers: string[];
  /** ISO time the policy is applied; absent for the proposal shown before approval. */
  appliedAt?: string;
}

export function quarantinePolicyName(incidentId: string): string {
  return `netpol-responder-quarantine-${incidentId}`;
}

export function buildQuarantinePolicy(input: QuarantineInput): NetworkPolicyObject {
  const annotations: Record<string, string> = {
    [`${ANNOTATION_PREFIX}/incident`]: input.incidentId,
    [`${ANNOTATION_PREFIX}/reason`]: 'emergency deny-all applied during incident response',
  };
  if (input.approvers.length > 0) annotations[`${ANNOTATION_PREFIX}/approved-by`] = input.approvers.join(',');
  if (input.appliedAt) annotations[`${ANNOTATION_PREFIX}/applied-at`] = input.appliedAt;
  const dnsEgress = {
    to: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': input.dnsNamespace } },
        podSelector: { matchLabels: { ...input.dnsPodLabels } },
      },
    ],
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: quarantinePolicyName(input.incidentId),
      namespace: input.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [`${ANNOTATION_PREFIX}/incident`]: input.incidentId },
      annotations,
    },
    spec: {
      podSelector: input.labelSelector ? compactSelector(input.labelSelector) : {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: input.keepDnsEgress ? [dnsEgress] : [],
    },
  };
}

function compactSelector(selector: LabelSelectorSpec): LabelSelectorSpec {
  const out: LabelSelectorSpec = {};
  if (selector.matchLabels && Object.keys(selector.matchLabels).length > 0) out.matchLabels = { ...selector.matchLabels };
  if (selector.matchExpressions && selector.matchExpressions.length > 0) out.matchExpressions = selector.matchExpressions.map((e) => ({ ...e }));
  return out;
}

/** Whether the live object enforces what we asked for (metadata aside, server defaults ignored). */
export function enforcesSameRules(desired: NetworkPolicyObject['spec'], live: { podSelector?: object; policyTypes?: string[]; ingress?: unknown[]; egress?: unknown[] } | undefined): boolean {
  if (!live) return false;
  const normalise = (spec: { podSelector?: object; policyTypes?: string[]; ingress?: unknown[]; egress?: unknown[] }): string =>
    canonicalJson({
      podSelector: compactSelector((spec.podSelector ?? {}) as LabelSelectorSpec),
      policyTypes: [...(spec.policyTypes ?? [])].sort(),
      ingress: spec.ingress ?? [],
      egress: spec.egress ?? [],
    });
  return normalise(desired) === normalise(live);
}

/** JSON with object keys sorted, so two equal objects compare equal whatever order a server used. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
