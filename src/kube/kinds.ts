// The kinds the bot reads and writes, with where the API serves them. One table, so the object
// client, discovery, watches, error hints and the RBAC manifest test all agree. Pure data.

import type {
  AdminNetworkPolicy,
  Application,
  BaselineAdminNetworkPolicy,
  CiliumClusterwideNetworkPolicy,
  CiliumNetworkPolicy,
  KubeNamespace,
  KubeNetworkPolicy,
  KubePod,
} from './resources.js';

export type KindName =
  | 'NetworkPolicy'
  | 'AdminNetworkPolicy'
  | 'BaselineAdminNetworkPolicy'
  | 'CiliumNetworkPolicy'
  | 'CiliumClusterwideNetworkPolicy'
  | 'Pod'
  | 'Namespace'
  | 'Application';

export interface KindInfo {
  kind: KindName;
  /** '' for the core group. */
  group: string;
  version: string;
  /** The resource name in URLs and RBAC rules. */
  plural: string;
  namespaced: boolean;
  /** Whether a cluster has it only when a CRD is installed. */
  custom: boolean;
}

/** The object type of each kind, as plain JSON. */
export interface KindObjects {
  NetworkPolicy: KubeNetworkPolicy;
  AdminNetworkPolicy: AdminNetworkPolicy;
  BaselineAdminNetworkPolicy: BaselineAdminNetworkPolicy;
  CiliumNetworkPolicy: CiliumNetworkPolicy;
  CiliumClusterwideNetworkPolicy: CiliumClusterwideNetworkPolicy;
  Pod: KubePod;
  Namespace: KubeNamespace;
  Application: Application;
}

export const KINDS: Readonly<Record<KindName, KindInfo>> = {
  NetworkPolicy: { kind: 'NetworkPolicy', group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', namespaced: true, custom: false },
  AdminNetworkPolicy: { kind: 'AdminNetworkPolicy', group: 'policy.networking.k8s.io', version: 'v1alpha1', plural: 'adminnetworkpolicies', namespaced: false, custom: true },
  BaselineAdminNetworkPolicy: {
    kind: 'BaselineAdminNetworkPolicy',
    group: 'policy.networking.k8s.io',
    version: 'v1alpha1',
    plural: 'baselineadminnetworkpolicies',
    namespaced: false,
    custom: true,
  },
  CiliumNetworkPolicy: { kind: 'CiliumNetworkPolicy', group: 'cilium.io', version: 'v2', plural: 'ciliumnetworkpolicies', namespaced: true, custom: true },
  CiliumClusterwideNetworkPolicy: {
    kind: 'CiliumClusterwideNetworkPolicy',
    group: 'cilium.io',
    version: 'v2',
    plural: 'ciliumclusterwidenetworkpolicies',
    namespaced: false,
    custom: true,
  },
  Pod: { kind: 'Pod', group: '', version: 'v1', plural: 'pods', namespaced: true, custom: false },
  Namespace: { kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', namespaced: false, custom: false },
  Application: { kind: 'Application', group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', namespaced: true, custom: true },
};

export function apiVersionOf(info: KindInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** `policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy`: how reasons and errors name a kind. */
export function kindLabel(info: KindInfo): string {
  return `${apiVersionOf(info)} ${info.kind}`;
}

/** The CRD's name, `adminnetworkpolicies.policy.networking.k8s.io`. */
export function crdName(info: KindInfo): string {
  return `${info.plural}.${info.group}`;
}

/** The URL path of a collection (`namespace` for namespaced kinds; none lists every namespace). */
export function collectionPath(info: KindInfo, namespace?: string): string {
  const root = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = info.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${ns}/${info.plural}`;
}
