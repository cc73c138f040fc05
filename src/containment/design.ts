// A containment plan for one strategy, built from the live objects (pure): the objects to create,
// the pods to label and the policies to exclude, and the cluster as it will be once applied, so
// the proposal can show the engine's proof before anyone approves.
import type { LiveObjects } from '../policy/index.js';
import { QUARANTINE_LABEL, withExclusion } from './exclusion.js';
import { adminNetworkPolicy, ciliumNetworkPolicy, denyAllNetworkPolicy, type QuarantineTarget } from './objects.js';
import { planFootprint, type ContainmentFootprint, type PodView, type PolicyView } from './plan.js';
import type { StrategyName } from './strategy.js';

export type CreatedObject = ReturnType<typeof denyAllNetworkPolicy> | ReturnType<typeof adminNetworkPolicy> | ReturnType<typeof ciliumNetworkPolicy>;

export interface ContainmentPlan {
  strategy: StrategyName;
  reason: string;
  create: CreatedObject[];
  /** Empty for strategies that patch nothing (cilium, additive). */
  footprint: ContainmentFootprint;
}

export interface DesignInput {
  strategy: StrategyName;
  reason: string;
  target: QuarantineTarget;
  anpPriority: number;
  live: LiveObjects;
}

const NO_FOOTPRINT: ContainmentFootprint = { scopePods: [], podsToLabel: [], patches: [], hostNetworkPods: [], heldByOtherIncident: [] };

function inNamespace<T extends { metadata?: { namespace?: string } | null }>(items: readonly unknown[] | undefined, namespace: string): T[] {
  return ((items ?? []) as T[]).filter((o) => o?.metadata?.namespace === namespace);
}

/** Which policies a strategy excludes the scope from (and the guard keeps excluded). */
export function exclusionOf(strategy: StrategyName): 'all-selecting' | 'external-ingress' | undefined {
  if (strategy === 'networkpolicy-exclusive') return 'all-selecting';
  if (strategy === 'admin-network-policy') return 'external-ingress';
  return undefined;
}

export function designContainment(input: DesignInput): ContainmentPlan {
  const { target, live } = input;
  const pods = inNamespace<PodView & { metadata?: { namespace?: string } }>(live.pods, target.namespace);
  const policies = inNamespace<PolicyView>(live.networkPolicies, target.namespace);
  const footprint = (mode: 'all-selecting' | 'external-ingress'): ContainmentFootprint =>
    planFootprint({ incidentId: target.incidentId, labelSelector: target.labelSelector, pods, policies, mode });
  const scopeOnly = (): ContainmentFootprint => ({ ...NO_FOOTPRINT, ...pick(footprint('all-selecting')) });
  switch (input.strategy) {
    case 'networkpolicy-exclusive':
      return { strategy: input.strategy, reason: input.reason, create: [denyAllNetworkPolicy(target)], footprint: footprint('all-selecting') };
    case 'admin-network-policy':
      // v1alpha1 ingress rules cannot name sources outside the cluster: the deny-all isolates
      // ingress and the exclusion takes the scope out of the policies that let the outside in.
      return { strategy: input.strategy, reason: input.reason, create: [adminNetworkPolicy(target, input.anpPriority), denyAllNetworkPolicy(target)], footprint: footprint('external-ingress') };
    case 'cilium':
      return { strategy: input.strategy, reason: input.reason, create: [ciliumNetworkPolicy(target)], footprint: scopeOnly() };
    case 'networkpolicy-additive':
      return { strategy: input.strategy, reason: input.reason, create: [denyAllNetworkPolicy(target)], footprint: scopeOnly() };
  }
}

/** Scope facts without any change: strategies that label and patch nothing still report them. */
function pick(f: ContainmentFootprint): Pick<ContainmentFootprint, 'scopePods' | 'hostNetworkPods' | 'heldByOtherIncident'> {
  return { scopePods: f.scopePods, hostNetworkPods: f.hostNetworkPods, heldByOtherIncident: f.heldByOtherIncident };
}

type Meta = { name?: string; namespace?: string; labels?: Record<string, string> | null };

/** The live objects as they will be once the plan is applied (for the predicted proof). */
export function projectContainment(live: LiveObjects, plan: ContainmentPlan, incidentId: string): LiveObjects {
  const namespace = plan.create.find((o) => 'namespace' in o.metadata)?.metadata.namespace;
  const toLabel = new Set(plan.footprint.podsToLabel);
  const toPatch = new Set(plan.footprint.patches.map((p) => p.name));
  const pods = (live.pods ?? []).map((p) => {
    const meta = (p as { metadata?: Meta }).metadata;
    if (meta?.namespace !== namespace || !toLabel.has(meta?.name ?? '')) return p;
    return { ...(p as object), metadata: { ...meta, labels: { ...(meta?.labels ?? {}), [QUARANTINE_LABEL]: incidentId } } };
  });
  const networkPolicies = (live.networkPolicies ?? []).map((p) => {
    const obj = p as { metadata?: Meta; spec?: { podSelector?: unknown } };
    if (obj.metadata?.namespace !== namespace || !toPatch.has(obj.metadata?.name ?? '')) return p;
    return { ...obj, spec: { ...obj.spec, podSelector: withExclusion(obj.spec?.podSelector) } };
  });
  const byKind = (kind: string) => plan.create.filter((o) => o.kind === kind);
  return {
    ...live,
    pods,
    networkPolicies: [...networkPolicies, ...byKind('NetworkPolicy')],
    adminNetworkPolicies: [...(live.adminNetworkPolicies ?? []), ...byKind('AdminNetworkPolicy')],
    ciliumNetworkPolicies: [...(live.ciliumNetworkPolicies ?? []), ...byKind('CiliumNetworkPolicy')],
  };
}
