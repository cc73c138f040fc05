// The objects the bot handles, as the plain JSON the API serves (timestamps are RFC 3339 strings).
// Typed as far as containment reads and writes them; everything else stays open (`[key: string]`)
// so nothing a cluster sends is lost on a read-modify-write. Types, and one pure accessor for
// list items that are not checked (no I/O here).

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; [key: string]: unknown }>;
  finalizers?: string[];
  managedFields?: Array<{ manager?: string; operation?: string; apiVersion?: string; time?: string; fieldsType?: string; fieldsV1?: unknown }>;
  [key: string]: unknown;
}

/** Any object of any kind. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

// networking.k8s.io/v1
export interface NetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}
export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
export interface KubeNetworkPolicy extends KubeObject {
  spec?: {
    podSelector: LabelSelector;
    policyTypes?: Array<'Ingress' | 'Egress'>;
    ingress?: Array<{ from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
    egress?: Array<{ to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
  };
}

// policy.networking.k8s.io/v1alpha1 (standard channel)
export interface AdminNetworkPolicyPort {
  portNumber?: { port: number; protocol?: string };
  portRange?: { start: number; end: number; protocol?: string };
}
export interface AdminPodsPeer {
  namespaceSelector: LabelSelector;
  podSelector: LabelSelector;
}
export interface AdminNetworkPolicySubject {
  namespaces?: LabelSelector;
  pods?: AdminPodsPeer;
}
export interface AdminIngressRule<Action extends string> {
  name?: string;
  action: Action;
  from: Array<{ namespaces?: LabelSelector; pods?: AdminPodsPeer }>;
  ports?: AdminNetworkPolicyPort[];
}
export interface AdminEgressRule<Action extends string> {
  name?: string;
  action: Action;
  to: Array<{ namespaces?: LabelSelector; pods?: AdminPodsPeer; networks?: string[] }>;
  ports?: AdminNetworkPolicyPort[];
}
export interface AdminNetworkPolicy extends KubeObject {
  spec?: {
    /** 0 (first) to 1000. */
    priority: number;
    subject: AdminNetworkPolicySubject;
    ingress?: Array<AdminIngressRule<'Allow' | 'Deny' | 'Pass'>>;
    egress?: Array<AdminEgressRule<'Allow' | 'Deny' | 'Pass'>>;
  };
}
/** There is one per cluster, and its name is `default`. */
export interface BaselineAdminNetworkPolicy extends KubeObject {
  spec?: {
    subject: AdminNetworkPolicySubject;
    ingress?: Array<AdminIngressRule<'Allow' | 'Deny'>>;
    egress?: Array<AdminEgressRule<'Allow' | 'Deny'>>;
  };
}

// cilium.io/v2
export type CiliumEntity = 'all' | 'world' | 'cluster' | 'host' | 'init' | 'ingress' | 'unmanaged' | 'remote-node' | 'health' | 'none' | 'kube-apiserver' | 'world-ipv4' | 'world-ipv6';
export interface CiliumPortRule {
  /** A port number or name, as a string ("53"). */
  ports?: Array<{ port?: string; endPort?: number; protocol?: 'TCP' | 'UDP' | 'SCTP' | 'VRRP' | 'IGMP' | 'ANY' }>;
  [key: string]: unknown;
}
export interface CiliumCidrRule {
  cidr?: string;
  cidrGroupRef?: string;
  except?: string[];
}
export interface CiliumIngressRule {
  fromEndpoints?: LabelSelector[];
  fromEntities?: CiliumEntity[];
  fromCIDR?: string[];
  fromCIDRSet?: CiliumCidrRule[];
  toPorts?: CiliumPortRule[];
  [key: string]: unknown;
}
export interface CiliumEgressRule {
  toEndpoints?: LabelSelector[];
  toEntities?: CiliumEntity[];
  toCIDR?: string[];
  toCIDRSet?: CiliumCidrRule[];
  toFQDNs?: Array<{ matchName?: string; matchPattern?: string }>;
  toPorts?: CiliumPortRule[];
  [key: string]: unknown;
}
export interface CiliumRule {
  description?: string;
  /** Exactly one of endpointSelector and nodeSelector. */
  endpointSelector?: LabelSelector;
  nodeSelector?: LabelSelector;
  enableDefaultDeny?: { ingress?: boolean; egress?: boolean };
  /** At least one of the four rule sections. */
  ingress?: CiliumIngressRule[];
  ingressDeny?: CiliumIngressRule[];
  egress?: CiliumEgressRule[];
  egressDeny?: CiliumEgressRule[];
  labels?: Array<{ key: string; value?: string; source?: string }>;
}
export interface CiliumNetworkPolicy extends KubeObject {
  spec?: CiliumRule;
  specs?: CiliumRule[];
}
export type CiliumClusterwideNetworkPolicy = CiliumNetworkPolicy;

// argoproj.io/v1alpha1
export interface Application extends KubeObject {
  spec?: {
    project: string;
    destination: { server?: string; name?: string; namespace?: string };
    source?: Record<string, unknown>;
    sources?: Array<Record<string, unknown>>;
    syncPolicy?: { automated?: { prune?: boolean; selfHeal?: boolean; [key: string]: unknown } | null; [key: string]: unknown };
    [key: string]: unknown;
  };
  status?: { sync?: { status?: string; revision?: string }; health?: { status?: string }; [key: string]: unknown };
}

// core/v1, as plain JSON (the typed V1Pod of client-node has Date objects instead of strings)
export interface KubePod extends KubeObject {
  spec?: { nodeName?: string; containers?: Array<{ name: string; image?: string; ports?: Array<{ name?: string; containerPort: number; protocol?: string }> }>; [key: string]: unknown };
  status?: { phase?: string; podIP?: string; podIPs?: Array<{ ip: string }>; [key: string]: unknown };
}
export interface KubeNamespace extends KubeObject {
  status?: { phase?: string };
}

/** An object's `metadata.namespace` when it is a string; list items are not checked, so anything may come in. */
export function namespaceOfObject(o: unknown): string | undefined {
  const ns = (o as { metadata?: { namespace?: unknown } } | null | undefined)?.metadata?.namespace;
  return typeof ns === 'string' ? ns : undefined;
}
