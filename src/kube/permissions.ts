// What the bot may do in a cluster: the RBAC rules deploy/rbac.yaml grants its service account,
// and why. A test keeps the manifest and this list equal (nothing missing, nothing extra).

export interface Permission {
  /** '' for the core group. */
  group: string;
  resources: readonly string[];
  verbs: readonly string[];
  why: string;
}

const MANAGE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;

export const BOT_PERMISSIONS: readonly Permission[] = [
  { group: '', resources: ['namespaces'], verbs: ['get', 'list', 'watch'], why: 'scope checks and namespace labels for policy selectors' },
  { group: '', resources: ['pods'], verbs: ['get', 'list', 'watch', 'patch'], why: 'the pods in scope; patch to label them for containment' },
  { group: 'networking.k8s.io', resources: ['networkpolicies'], verbs: MANAGE, why: 'containment and restore with NetworkPolicies' },
  {
    group: 'policy.networking.k8s.io',
    resources: ['adminnetworkpolicies', 'baselineadminnetworkpolicies'],
    verbs: MANAGE,
    why: 'exclusive containment with AdminNetworkPolicy Deny rules, where the cluster serves them',
  },
  {
    group: 'cilium.io',
    resources: ['ciliumnetworkpolicies'],
    verbs: MANAGE,
    why: 'exclusive containment with Cilium deny rules, where the cluster runs Cilium; restore and drift revert of them',
  },
  { group: 'cilium.io', resources: ['ciliumclusterwidenetworkpolicies'], verbs: ['list'], why: 'read by the scheduled audit report; nothing writes them' },
  {
    group: 'argoproj.io',
    resources: ['applications'],
    verbs: ['get', 'list', 'patch'],
    why: "pausing Argo CD's self-heal (skip-reconcile) while a containment is in place; list to find the Application that syncs a policy (restore, drift attribution)",
  },
];

/** Whether `verb` on `resource` in `group` is granted. */
export function isGranted(group: string, resource: string, verb: string, granted: readonly Permission[] = BOT_PERMISSIONS): boolean {
  return granted.some((p) => p.group === group && p.resources.includes(resource) && p.verbs.includes(verb));
}
