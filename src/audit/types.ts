// Kubernetes audit evidence as the bot keeps it: one AuditChange per write request (audit.k8s.io
// Event at stage ResponseComplete) on the kinds that decide traffic — NetworkPolicies, the admin
// network policies, Cilium's policies — and on Namespaces (whose labels select peers).

export type AuditTool =
  | 'kubectl'
  | 'helm'
  | 'argocd'
  | 'kustomize-controller'
  | 'helm-controller'
  | 'terraform'
  | 'client-go'
  | 'netpol-responder'
  | 'other';

export interface AuditUser {
  username: string;
  groups: string[];
}

export interface AuditObjectRef {
  resource: string;
  apiGroup?: string;
  apiVersion?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export interface AuditChange {
  auditID: string;
  /** stageTimestamp (else requestReceivedTimestamp, else v1beta1's timestamp), as ISO-8601 in ms. */
  at: string;
  stage: string;
  /** create, update, patch, delete or deletecollection: reads are never changes. */
  verb: string;
  /** Who authenticated. */
  user: AuditUser;
  /** Whom they acted as (Impersonate-User): the effective actor. */
  impersonatedUser?: AuditUser;
  userAgent: string;
  tool: AuditTool;
  /** The `fieldManager` query parameter of the request, when it had one (apply, edit, patch). */
  fieldManager?: string;
  sourceIPs: string[];
  /** objectRef, with the name (and a Namespace's own name) filled in from the body for a create. */
  objectRef: AuditObjectRef;
  responseStatus: { code: number; reason?: string; message?: string };
  /** 401/403: the attempt was refused. Shown apart; never a change. */
  refused: boolean;
  /** Present at Request / RequestResponse level. */
  requestObject?: unknown;
  responseObject?: unknown;
  /** The bodies were dropped: by the apiserver's truncating backend, or here for being too large to keep. */
  truncated?: boolean;
}

export interface AuditQuery {
  /** ISO-8601 times, inclusive. */
  since: string;
  until?: string;
  /**
   * Changes in these namespaces and to these Namespace objects. Cluster-scoped policies
   * (AdminNetworkPolicy, BaselineAdminNetworkPolicy) apply to every namespace and are included
   * unless `clusterScoped` is false.
   */
  namespaces?: string[];
  clusterScoped?: boolean;
  /** Plural resource names (networkpolicies, namespaces…). */
  resources?: string[];
  /** Newest first when cut: the last `limit` changes of the window, returned oldest first. */
  limit?: number;
  /** Include refused attempts (default true). */
  refused?: boolean;
}

/** The resources whose writes are evidence, with the API group each must belong to. */
export const WATCHED_RESOURCES = {
  networkpolicies: { kind: 'NetworkPolicy', groups: ['networking.k8s.io', 'extensions'], namespaced: true },
  adminnetworkpolicies: { kind: 'AdminNetworkPolicy', groups: ['policy.networking.k8s.io'], namespaced: false },
  baselineadminnetworkpolicies: { kind: 'BaselineAdminNetworkPolicy', groups: ['policy.networking.k8s.io'], namespaced: false },
  ciliumnetworkpolicies: { kind: 'CiliumNetworkPolicy', groups: ['cilium.io'], namespaced: true },
  namespaces: { kind: 'Namespace', groups: [''], namespaced: false },
} as const;

export type WatchedResource = keyof typeof WATCHED_RESOURCES;

export function isWatchedResource(resource: string): resource is WatchedResource {
  return Object.hasOwn(WATCHED_RESOURCES, resource);
}

/** The Kind of a watched resource (NetworkPolicy, Namespace…), or the resource itself. */
export function kindOfResource(resource: string): string {
  return isWatchedResource(resource) ? WATCHED_RESOURCES[resource].kind : resource;
}

/**
 * The namespace a change belongs to: its own, or for a Namespace object the namespace it is;
 * undefined for the cluster-scoped admin policies.
 */
export function namespaceOfChange(change: Pick<AuditChange, 'objectRef'>): string | undefined {
  const ref = change.objectRef;
  if (ref.resource === 'namespaces') return ref.name ?? ref.namespace;
  return ref.namespace;
}

/** `admin@corp as dave@corp` when impersonated, else the user. */
export function effectiveActor(change: Pick<AuditChange, 'user' | 'impersonatedUser'>): string {
  return change.impersonatedUser ? `${change.user.username} as ${change.impersonatedUser.username}` : change.user.username;
}
