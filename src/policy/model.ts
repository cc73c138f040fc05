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

export interface ClusterObjects {
  namespaces: Namespace[];
  pods: Pod[];
  policies: NetworkPolicy[];
  issues: Issue[];
}

export function policyId(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

export function workloadId(w: WorkloadRef): string {
  return `${w.namespace}/${w.name}[${w.kind}]`;
}
