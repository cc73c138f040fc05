// What a containment changes in the namespace, decided from the live pods and NetworkPolicies
// (pure): the pods in scope to label, the NetworkPolicies that select them and must be excluded,
// and what the approver must know first (hostNetwork pods, GitOps owners, other incidents).
import type { LabelSelectorSpec } from '../incident/model.js';
import { selectorMatches } from '../kube/label-selector.js';
import { hasExclusion, QUARANTINE_LABEL } from './exclusion.js';
import { gitOpsOwners, type GitOpsOwner } from './gitops.js';
import { INCIDENT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './objects.js';

export interface PodView {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> | null; deletionTimestamp?: unknown } | null;
  spec?: { hostNetwork?: boolean | null; [key: string]: unknown } | null;
  status?: { phase?: string } | null;
}

export interface PolicyView {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string> | null;
    annotations?: Record<string, string> | null;
    managedFields?: Array<{ manager?: string }> | null;
  } | null;
  spec?: { podSelector?: unknown; policyTypes?: string[] | null; ingress?: unknown[] | null; egress?: unknown[] | null } | null;
}

/** Which policies the exclusion must cover. */
export type ExclusionMode =
  /** Every other policy that selects a pod in scope (networkpolicy-exclusive). */
  | 'all-selecting'
  /** Only those that let traffic from outside the cluster in (admin-network-policy: ANP rules cannot name it). */
  | 'external-ingress';

export interface PolicyPatchPlan {
  name: string;
  /** The resourceVersion the plan was made against. */
  resourceVersion: string;
  /** The pods in scope it selects (first few). */
  selects: string[];
  why: string;
  gitops: GitOpsOwner[];
}

export interface ContainmentFootprint {
  /** Pods in scope (running or pending), by name. */
  scopePods: string[];
  /** Pods in scope that still need our quarantine label. */
  podsToLabel: string[];
  patches: PolicyPatchPlan[];
  /** Pods in scope on the host network: no NetworkPolicy, ANP or CNP isolates them. */
  hostNetworkPods: string[];
  /** Pods already quarantined by another incident (its label stays). */
  heldByOtherIncident: Array<{ pod: string; incident: string }>;
}

const ACTIVE_PHASES = new Set(['Pending', 'Running', 'Unknown', undefined]);

export function isOurObject(obj: { metadata?: { labels?: Record<string, string> | null } | null }): boolean {
  const labels = obj.metadata?.labels ?? {};
  return labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE && INCIDENT_LABEL in labels;
}

export function podInScope(pod: PodView, selector: LabelSelectorSpec | undefined): boolean {
  if (pod.metadata?.deletionTimestamp || !ACTIVE_PHASES.has(pod.status?.phase)) return false;
  return selectorMatches((selector ?? {}) as Parameters<typeof selectorMatches>[0], pod.metadata?.labels ?? {});
}

/** Whether a rule list lets in traffic from outside the cluster: an empty `from`, or an ipBlock. */
function admitsExternal(rules: unknown[]): boolean {
  return rules.some((rule) => {
    const from = (rule as { from?: unknown[] } | null)?.from;
    if (!Array.isArray(from) || from.length === 0) return true;
    return from.some((peer) => peer !== null && typeof peer === 'object' && 'ipBlock' in peer);
  });
}

function affectsIngress(policy: PolicyView): boolean {
  const types = policy.spec?.policyTypes;
  return Array.isArray(types) && types.length > 0 ? types.includes('Ingress') : true;
}

function hasAllowRules(policy: PolicyView): boolean {
  return (policy.spec?.ingress?.length ?? 0) > 0 || (policy.spec?.egress?.length ?? 0) > 0;
}

function whyExcluded(policy: PolicyView, mode: ExclusionMode): string {
  if (mode === 'external-ingress') return 'lets traffic from outside the cluster in to pods in scope';
  return hasAllowRules(policy) ? 'selects pods in scope, so its allow rules would keep working' : 'selects pods in scope (it allows nothing; excluded so the quarantine is the only policy left selecting them)';
}

/**
 * Whether a policy that selects pods in scope must carry the exclusion under `mode`: not ours, not
 * excluded yet, and (for external-ingress) letting the outside in.
 */
export function needsExclusion(policy: PolicyView, mode: ExclusionMode): boolean {
  if (isOurObject(policy) || hasExclusion(policy.spec?.podSelector)) return false;
  return mode === 'all-selecting' || (affectsIngress(policy) && admitsExternal(policy.spec?.ingress ?? []));
}

/** Whether the policy's podSelector selects any of the pods. */
export function selectsAny(policy: PolicyView, pods: readonly PodView[]): boolean {
  const selector = (policy.spec?.podSelector ?? {}) as Parameters<typeof selectorMatches>[0];
  return pods.some((p) => selectorMatches(selector, p.metadata?.labels ?? {}));
}

export function planFootprint(input: { incidentId: string; labelSelector?: LabelSelectorSpec; pods: readonly PodView[]; policies: readonly PolicyView[]; mode: ExclusionMode }): ContainmentFootprint {
  const scope = input.pods.filter((p) => podInScope(p, input.labelSelector));
  const name = (p: PodView): string => p.metadata?.name ?? '?';
  const heldByOtherIncident: ContainmentFootprint['heldByOtherIncident'] = [];
  const podsToLabel: string[] = [];
  for (const pod of scope) {
    const held = pod.metadata?.labels?.[QUARANTINE_LABEL];
    if (held === undefined) podsToLabel.push(name(pod));
    else if (held !== input.incidentId) heldByOtherIncident.push({ pod: name(pod), incident: held });
  }
  const patches: PolicyPatchPlan[] = [];
  for (const policy of input.policies) {
    if (!needsExclusion(policy, input.mode)) continue;
    const selector = (policy.spec?.podSelector ?? {}) as Parameters<typeof selectorMatches>[0];
    const selected = scope.filter((p) => selectorMatches(selector, p.metadata?.labels ?? {}));
    if (selected.length === 0) continue;
    patches.push({
      name: policy.metadata?.name ?? '?',
      resourceVersion: policy.metadata?.resourceVersion ?? '',
      selects: selected.slice(0, 5).map(name),
      why: whyExcluded(policy, input.mode),
      gitops: gitOpsOwners(policy),
    });
  }
  return {
    scopePods: scope.map(name),
    podsToLabel,
    patches,
    hostNetworkPods: scope.filter((p) => p.spec?.hostNetwork === true).map(name),
    heldByOtherIncident,
  };
}
