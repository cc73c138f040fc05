// The resource types the simulated API server knows: the built-in kinds it always serves and the
// custom resources a scenario may install (see catalog.ts for what one server serves). One table,
// so routing, discovery, RBAC messages and kubectl all agree.

export type ResourceName =
  | 'namespaces'
  | 'pods'
  | 'networkpolicies'
  | 'adminnetworkpolicies'
  | 'baselineadminnetworkpolicies'
  | 'ciliumnetworkpolicies'
  | 'ciliumclusterwidenetworkpolicies'
  | 'applications';

/** The CRDs a simulated cluster may have installed, each switched on by a scenario option. */
export type ClusterFeature = 'adminNetworkPolicy' | 'cilium' | 'argocd';
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceType {
  resource: ResourceName;
  kind: string;
  listKind: string;
  singular: string;
  group: string; // '' for the core group
  version: string;
  namespaced: boolean;
  shortNames: string[];
  /** Whether changes to `spec` bump metadata.generation. */
  hasGeneration: boolean;
  /** Set for custom resources: which scenario option installs the CRD, and its subresources. */
  crd?: {
    feature: ClusterFeature;
    /** With a status subresource, writes to the main resource leave status alone. */
    statusSubresource: boolean;
    categories?: string[];
  };
}

export const RESOURCES: readonly ResourceType[] = [
  {
    resource: 'namespaces',
    kind: 'Namespace',
    listKind: 'NamespaceList',
    singular: 'namespace',
    group: '',
    version: 'v1',
    namespaced: false,
    shortNames: ['ns'],
    hasGeneration: false,
  },
  {
    resource: 'pods',
    kind: 'Pod',
    listKind: 'PodList',
    singular: 'pod',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['po'],
    hasGeneration: true,
  },
  {
    resource: 'networkpolicies',
    kind: 'NetworkPolicy',
    listKind: 'NetworkPolicyList',
    singular: 'networkpolicy',
    group: 'networking.k8s.io',
    version: 'v1',
    namespaced: true,
    shortNames: ['netpol'],
    hasGeneration: true,
  },
];

/** The custom resources, as their CRDs declare them (names, scope, short names, categories). */
export const CUSTOM_RESOURCES: readonly ResourceType[] = [
  {
    resource: 'adminnetworkpolicies',
    kind: 'AdminNetworkPolicy',
    listKind: 'AdminNetworkPolicyList',
    singular: 'adminnetworkpolicy',
    group: 'policy.networking.k8s.io',
    version: 'v1alpha1',
    namespaced: false,
    shortNames: ['anp'],
    hasGeneration: true,
    crd: { feature: 'adminNetworkPolicy', statusSubresource: true },
  },
  {
    resource: 'baselineadminnetworkpolicies',
    kind: 'BaselineAdminNetworkPolicy',
    listKind: 'BaselineAdminNetworkPolicyList',
    singular: 'baselineadminnetworkpolicy',
    group: 'policy.networking.k8s.io',
    version: 'v1alpha1',
    namespaced: false,
    shortNames: ['banp'],
    hasGeneration: true,
    crd: { feature: 'adminNetworkPolicy', statusSubresource: true },
  },
  {
    resource: 'ciliumnetworkpolicies',
    kind: 'CiliumNetworkPolicy',
    listKind: 'CiliumNetworkPolicyList',
    singular: 'ciliumnetworkpolicy',
    group: 'cilium.io',
    version: 'v2',
    namespaced: true,
    shortNames: ['cnp', 'ciliumnp'],
    hasGeneration: true,
    crd: { feature: 'cilium', statusSubresource: true, categories: ['cilium', 'ciliumpolicy'] },
  },
  {
    resource: 'ciliumclusterwidenetworkpolicies',
    kind: 'CiliumClusterwideNetworkPolicy',
    listKind: 'CiliumClusterwideNetworkPolicyList',
    singular: 'ciliumclusterwidenetworkpolicy',
    group: 'cilium.io',
    version: 'v2',
    namespaced: false,
    shortNames: ['ccnp'],
    hasGeneration: true,
    crd: { feature: 'cilium', statusSubresource: true, categories: ['cilium', 'ciliumpolicy'] },
  },
  {
    // Argo CD's CRD has no status subresource: its controller writes status through the object.
    resource: 'applications',
    kind: 'Application',
    listKind: 'ApplicationList',
    singular: 'application',
    group: 'argoproj.io',
    version: 'v1alpha1',
    namespaced: true,
    shortNames: ['app', 'apps'],
    hasGeneration: true,
    crd: { feature: 'argocd', statusSubresource: false },
  },
];

/** Every type the simulator knows, served or not. */
export const ALL_TYPES: readonly ResourceType[] = [...RESOURCES, ...CUSTOM_RESOURCES];

/**
 * The review APIs (create-only, nothing stored): kubectl auth can-i and whoami. They answer from the
 * simulation's own access rules (access.ts), see reviews.ts.
 */
export interface ReviewType {
  resource: 'selfsubjectaccessreviews' | 'selfsubjectrulesreviews' | 'selfsubjectreviews';
  kind: string;
  group: string;
  version: string;
}

export const REVIEWS: readonly ReviewType[] = [
  { resource: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', group: 'authorization.k8s.io', version: 'v1' },
  { resource: 'selfsubjectrulesreviews', kind: 'SelfSubjectRulesReview', group: 'authorization.k8s.io', version: 'v1' },
  { resource: 'selfsubjectreviews', kind: 'SelfSubjectReview', group: 'authentication.k8s.io', version: 'v1' },
];

export function reviewByName(resource: string, group: string): ReviewType | undefined {
  return REVIEWS.find((r) => r.resource === resource && r.group === group);
}

export const ALL_VERBS: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiVersionOf(rt: ResourceType): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** `networkpolicies.networking.k8s.io` / `pods`: the qualified name used in error messages. */
export function qualifiedResource(rt: ResourceType): string {
  return rt.group ? `${rt.resource}.${rt.group}` : rt.resource;
}

export function resourceByName(resource: string, group: string, version?: string): ResourceType | undefined {
  return ALL_TYPES.find((r) => r.resource === resource && r.group === group && (version === undefined || r.version === version));
}

/** Finds the type for a kind, accepting `Kind`, lower-case kind, plural or short name. */
export function resourceForKind(kind: string, types: readonly ResourceType[] = ALL_TYPES): ResourceType | undefined {
  const k = kind.toLowerCase();
  return types.find((r) => r.kind.toLowerCase() === k || r.resource === k || r.singular === k || r.shortNames.includes(k));
}

export function resourceForList(kind: string, types: readonly ResourceType[] = ALL_TYPES): ResourceType | undefined {
  return types.find((r) => r.listKind === kind);
}

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-netpol-sim',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};
