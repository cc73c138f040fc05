// Which containment strategy runs: the playbook's choice, or with `auto` the first one the
// cluster serves. Pure: the caller passes what API discovery found.

export const STRATEGIES = ['admin-network-policy', 'cilium', 'networkpolicy-exclusive', 'networkpolicy-additive'] as const;
export type StrategyName = (typeof STRATEGIES)[number];
export type StrategyChoice = 'auto' | StrategyName;

/** What discovery found: whether each CRD a strategy needs is served. */
export interface ServedKinds {
  adminNetworkPolicy: boolean;
  ciliumNetworkPolicy: boolean;
}

export type StrategyDecision = { ok: true; strategy: StrategyName; reason: string } | { ok: false; message: string; suggestion: StrategyName };

const ANP_API = 'AdminNetworkPolicy (policy.networking.k8s.io/v1alpha1)';
const CNP_API = 'CiliumNetworkPolicy (cilium.io/v2)';

/** Exclusive strategies, strongest first, for "try a stronger strategy" offers. */
export function strongerStrategies(current: StrategyName, served: ServedKinds): StrategyName[] {
  const available: StrategyName[] = [];
  if (served.adminNetworkPolicy) available.push('admin-network-policy');
  if (served.ciliumNetworkPolicy) available.push('cilium');
  available.push('networkpolicy-exclusive');
  return available.filter((s) => s !== current);
}

export function chooseStrategy(choice: StrategyChoice, served: ServedKinds): StrategyDecision {
  switch (choice) {
    case 'auto':
      if (served.adminNetworkPolicy) return { ok: true, strategy: 'admin-network-policy', reason: `auto: the cluster serves ${ANP_API}, which outranks every NetworkPolicy` };
      if (served.ciliumNetworkPolicy) return { ok: true, strategy: 'cilium', reason: `auto: the cluster serves ${CNP_API}, whose deny rules win over every allow` };
      return {
        ok: true,
        strategy: 'networkpolicy-exclusive',
        reason: `auto: the cluster serves neither ${ANP_API} nor ${CNP_API}; the portable exclusive NetworkPolicy isolation works on any CNI`,
      };
    case 'admin-network-policy':
      return served.adminNetworkPolicy
        ? { ok: true, strategy: choice, reason: `the playbook asks for it; the cluster serves ${ANP_API}` }
        : { ok: false, message: `the playbook asks for the admin-network-policy strategy, but the cluster does not serve ${ANP_API}`, suggestion: served.ciliumNetworkPolicy ? 'cilium' : 'networkpolicy-exclusive' };
    case 'cilium':
      return served.ciliumNetworkPolicy
        ? { ok: true, strategy: choice, reason: `the playbook asks for it; the cluster serves ${CNP_API}` }
        : { ok: false, message: `the playbook asks for the cilium strategy, but the cluster does not serve ${CNP_API}`, suggestion: served.adminNetworkPolicy ? 'admin-network-policy' : 'networkpolicy-exclusive' };
    case 'networkpolicy-exclusive':
      return { ok: true, strategy: choice, reason: 'the playbook asks for it; it works on any CNI' };
    case 'networkpolicy-additive':
      return { ok: true, strategy: choice, reason: 'the playbook asks for it explicitly: a deny-all next to the other policies, which keep allowing what they allow' };
  }
}
