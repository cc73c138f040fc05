// The resource types the simulated API server serves, and the discovery documents derived
// from them. One table, so routing, discovery, RBAC messages and kubectl all agree.

export type ResourceName = 'namespaces' | 'pods' | 'networkpolicies';
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

export function resourceByName(resource: string, group: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.resource === resource && r.group === group);
}

/** Finds the type for a kind, accepting `Kind`, lower-case kind, plural or short name. */
export function resourceForKind(kind: string): ResourceType | undefined {
  const k = kind.toLowerCase();
  return RESOURCES.find((r) => r.kind.toLowerCase() === k || r.resource === k || r.singular === k || r.shortNames.includes(k));
}

export function resourceForList(kind: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.listKind === kind);
}

function apiResource(rt: ResourceType): object {
  return {
    name: rt.resource,
    singularName: rt.singular,
    namespaced: rt.namespaced,
    kind: rt.kind,
    verbs: [...ALL_VERBS],
    shortNames: rt.shortNames,
    // `kubectl get all` expands the "all" category; real clusters put pods in it.
    ...(rt.resource === 'pods' ? { categories: ['all'] } : {}),
    storageVersionHash: Buffer.from(`${rt.group}/${rt.resource}`).toString('base64').slice(0, 11),
  };
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

export function coreVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function reviewResource(r: ReviewType): object {
  return { name: r.resource, singularName: r.kind.toLowerCase(), namespaced: false, kind: r.kind, verbs: ['create'] };
}

export function resourceList(group: string, version: string): object | undefined {
  const inGroup = RESOURCES.filter((r) => r.group === group && r.version === version);
  const reviews = REVIEWS.filter((r) => r.group === group && r.version === version);
  if (inGroup.length === 0 && reviews.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: [...inGroup.map(apiResource), ...reviews.map(reviewResource)],
  };
}

function groups(): string[] {
  return [...new Set([...RESOURCES, ...REVIEWS].map((r) => r.group).filter((g) => g !== ''))];
}

function apiGroup(group: string): object {
  const gv = { groupVersion: `${group}/v1`, version: 'v1' };
  return { name: group, versions: [gv], preferredVersion: gv };
}

export function groupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups().map(apiGroup) };
}

export function groupDocument(group: string): object | undefined {
  if (!groups().includes(group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
}
