// The engine's view of the cluster: what the loader produces from Kubernetes objects and what
// the index, evaluator and connectivity code consume.
import type { IpSet } from './ip-set.js';
import type { Conns, Protocol } from './port-set.js';
import type { Labels, Selector } from './selectors.js';

export interface Issue {
  severity: 'error' | 'warning';
  /** Where the object came from, e.g. `policies/db.yaml#2` or `live`. */
  source: string;
  /** `Kind namespace/name` when known. */
  object?: string;
  message: string;
  /** Set for issues that lint reports under their own rule instead of NP000/NP009. */
  code?: 'anp-same-priority';
}

export interface Namespace {
  name: string;
  labels: Labels;
  /** Where it was defined (absent for namespaces only implied by their pods); lint locations. */
  source?: string;
}

/** The unit connectivity is reported at: a controller (Deployment, ReplicaSet, ...) or a bare Pod. */
export interface WorkloadRef {
  namespace: string;
  name: string;
  kind: string;
}

export interface ContainerPort {
  name: string;
  port: number;
  protocol: Protocol;
}

export interface Pod {
  namespace: string;
  name: string;
  labels: Labels;
  /** Named container ports only (unnamed ports never matter for policy evaluation). */
  namedPorts: readonly ContainerPort[];
  workload: WorkloadRef;
  /** True when the pod stands for a workload's pod template rather than a real Pod object. */
  fromTemplate: boolean;
  /** spec.hostNetwork: most CNIs do not enforce NetworkPolicy on such pods (lint NP023). */
  hostNetwork: boolean;
  /** Where the Pod (or the workload with its template) was defined; lint locations. */
  source?: string;
}

export type Direction = 'ingress' | 'egress';

export type Peer =
  /** podSelector only: pods of the policy's own namespace. */
  | { kind: 'pods'; podSelector: Selector }
  /** namespaceSelector (+ optional podSelector, default all pods). */
  | { kind: 'namespaces'; namespaceSelector: Selector; podSelector: Selector }
  | { kind: 'ipBlock'; cidr: string; except: readonly string[]; set: IpSet };

export interface PortRule {
  protocol: Protocol;
  /** Absent = every port of the protocol. */
  port?: number | string;
  endPort?: number;
}

export interface Rule {
  direction: Direction;
  index: number;
  /** 'all' = `from`/`to` missing or empty: every peer, in and outside the cluster. */
  peers: 'all' | readonly Peer[];
  /** 'all' = `ports` missing or empty. */
  ports: 'all' | readonly PortRule[];
  /** Union of the numeric port entries (named entries are resolved per destination pod). */
  numericConns: Conns;
  namedPorts: ReadonlyArray<{ name: string; protocol: Protocol }>;
}

export interface NetworkPolicy {
  namespace: string;
  name: string;
  podSelector: Selector;
  affectsIngress: boolean;
  affectsEgress: boolean;
  ingress: readonly Rule[];
  egress: readonly Rule[];
  source: string;
  /** The object as given, kept for diffs and lint hints. */
  raw: unknown;
}

/** A Node of the input: only its labels and addresses matter (AdminNetworkPolicy `nodes` peers). */
export interface Node {
  name: string;
  labels: Labels;
  /** status.addresses that are IP addresses (InternalIP, ExternalIP...). */
  addresses: IpSet;
  source?: string;
}

export type AdminAction = 'Allow' | 'Deny' | 'Pass';

export type AdminPeer =
  /** Every pod of the selected namespaces. */
  | { kind: 'namespaces'; namespaceSelector: Selector }
  | { kind: 'pods'; namespaceSelector: Selector; podSelector: Selector }
  /** Egress only: the addresses of the selected Node objects of the input. */
  | { kind: 'nodes'; nodeSelector: Selector }
  /** Egress only: CIDRs; a /0 also matches every pod (see docs/policy-engine.md). */
  | { kind: 'networks'; cidrs: readonly string[]; set: IpSet };

export interface AdminRule {
  direction: Direction;
  index: number;
  /** spec.ingress[i].name (may be empty). */
  name: string;
  action: AdminAction;
  peers: readonly AdminPeer[];
  /** 'all' = `ports` missing. */
  ports: 'all' | readonly PortRule[];
  numericConns: Conns;
  namedPorts: ReadonlyArray<{ name: string; protocol: Protocol }>;
}

/** An AdminNetworkPolicy or the BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1). */
export interface AdminPolicy {
  kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy';
  name: string;
  /** ANP spec.priority (0-1000, lower first); the BANP has none (it comes after NetworkPolicies). */
  priority: number;
  /** subject.namespaces is `{ namespaceSelector, podSelector: all }`. */
  subject: { namespaceSelector: Selector; podSelector: Selector };
  ingress: readonly AdminRule[];
  egress: readonly AdminRule[];
  source: string;
  raw: unknown;
}

/** An L3 peer of a CiliumNetworkPolicy rule, already scoped to the policy's namespace. */
export interface CiliumPeers {
  /** Endpoint selectors over the pod labels plus Cilium's namespace labels (see ciliumLabels). */
  endpoints: readonly Selector[];
  /** Modelled entities that add pods: 'cluster' or 'all' select every pod. */
  allPods: boolean;
  /** Addresses outside the cluster: CIDRs, CIDR sets, and the world/all entities. */
  ips: IpSet;
}

export interface CiliumRule {
  direction: Direction;
  /** Index in its list (ingress, ingressDeny, egress or egressDeny) and in `specs` when present. */
  index: number;
  /** e.g. `ingressDeny[0]` or `specs[1].egress[2]`: used in explanations. */
  path: string;
  deny: boolean;
  /** 'all' = no L3 field (an L4-only rule): every peer. */
  peers: 'all' | CiliumPeers;
  ports: 'all' | readonly PortRule[];
  numericConns: Conns;
  namedPorts: ReadonlyArray<{ name: string; protocol: Protocol }>;
}

/** The modelled subset of a cilium.io/v2 CiliumNetworkPolicy. */
export interface CiliumPolicy {
  namespace: string;
  name: string;
  /** One entry per rule set (spec, or each of specs). */
  specs: ReadonlyArray<{
    endpointSelector: Selector;
    defaultDenyIngress: boolean;
    defaultDenyEgress: boolean;
    ingress: readonly CiliumRule[];
    egress: readonly CiliumRule[];
  }>;
  source: string;
  raw: unknown;
}

export interface ClusterObjects {
  namespaces: Namespace[];
  pods: Pod[];
  policies: NetworkPolicy[];
  /** AdminNetworkPolicies and the BaselineAdminNetworkPolicy. */
  adminPolicies?: AdminPolicy[];
  ciliumPolicies?: CiliumPolicy[];
  nodes?: Node[];
  issues: Issue[];
}

export function adminPolicyId(p: Pick<AdminPolicy, 'kind' | 'name'>): string {
  return `${p.kind === 'AdminNetworkPolicy' ? 'ANP' : 'BANP'} ${p.name}`;
}

export function ciliumPolicyId(p: { namespace: string; name: string }): string {
  return `CNP ${p.namespace}/${p.name}`;
}

export function policyId(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

export function workloadId(w: WorkloadRef): string {
  return `${w.namespace}/${w.name}[${w.kind}]`;
}
