// Public API of the NetworkPolicy semantics engine. Pure: no I/O, no clock, no logger
// (reading manifest files lives in ./load-files.ts and is exported separately from there).
import { connectivity as computeConnectivity, type Connection, type ConnectivityOptions } from './connectivity.js';
import { diffConnectivity as diffLists, type ConnectivityDiff } from './diff.js';
import { decide, resolveEndpoints, type Decision } from './evaluate.js';
import { loadLiveObjects, loadObjects, type CompileMemo, type LiveObjects, type LoadInput } from './load-objects.js';
import type { ClusterObjects, NetworkPolicy } from './model.js';
import { PolicyIndex } from './policy-index.js';
import type { Protocol } from './port-set.js';

export { ClassConnectivity, type ClassPairChange, type Connection, type ConnectivityOptions, type PeerEndpoint } from './connectivity.js';
export { formatDiff, type ConnectivityDiff, type ConnectionChange } from './diff.js';
export { QueryError, decide, resolveEndpoints, type Decision, type Endpoint, type NearMiss, type RuleMatch, type SideDecision } from './evaluate.js';
export { formatConnections, FORMATS, type Format } from './format.js';
export { lint, LINT_RULES, type LintFinding, type LintOptions } from './lint.js';
export { loadLiveObjects, loadObjects, POLICY_LIST_OF_KIND, type CompileMemo, type LiveObjects, type LoadInput } from './load-objects.js';
export type { AdminPolicy, AdminRule, CiliumPolicy, CiliumRule, ClusterObjects, Issue, Namespace, NetworkPolicy, Node, Pod, Rule, WorkloadRef } from './model.js';
export { formatOpenConnections, openConnections, type ContainmentScope, type OpenConnection, type OpenConnectionsOptions, type OpenConnectionsResult, type OpenPeer } from './containment.js';
export type { LayerVerdict } from './layered.js';
export { PolicyIndex, type PolicyChangeImpact, type Workload } from './policy-index.js';
export { Conns, PROTOCOLS, type Protocol } from './port-set.js';
export { explainDecision } from './explain.js';

/**
 * Builds the index from loaded objects, from load inputs, or from live API objects. The issues
 * are the loader's plus what only the index sees (AdminNetworkPolicies of equal priority that
 * select the same pods). `memo`: live objects' policies compiled by an earlier build (see CompileMemo).
 */
export function buildIndex(source: ClusterObjects | readonly LoadInput[] | LiveObjects, memo?: CompileMemo): { index: PolicyIndex; issues: ClusterObjects['issues'] } {
  let objects: ClusterObjects;
  if (Array.isArray(source)) objects = loadObjects(source as readonly LoadInput[]);
  else if ('issues' in source && 'policies' in source) objects = source as ClusterObjects;
  else objects = loadLiveObjects(source as LiveObjects, memo);
  const index = new PolicyIndex(objects);
  return { index, issues: [...objects.issues, ...(index.extended?.issues ?? [])] };
}

/**
 * Is `src -> dst` on `port`/`protocol` allowed? src/dst: `ns/name` (pod, else workload),
 * `ns/name[Kind]` (workload) or an IP address (outside the cluster). A workload with pods of
 * different labels yields one decision per pod class; the connection is allowed only if all are.
 */
export function allowed(index: PolicyIndex, src: string, dst: string, port: number | string, protocol: Protocol = 'TCP'): Decision {
  const decisions: Decision[] = [];
  for (const s of resolveEndpoints(index, src)) {
    for (const d of resolveEndpoints(index, dst)) decisions.push(decide(index, s, d, port, protocol));
  }
  const denied = decisions.find((d) => !d.allowed);
  return denied ?? (decisions[0] as Decision);
}

/** The workload-level connectivity list (all connections, or one protocol/port via options.only). */
export function connectivity(index: PolicyIndex, options: ConnectivityOptions = {}): Connection[] {
  return computeConnectivity(index, options);
}

/**
 * Connections opened and closed between two states. Give two indexes (e.g. desired policies
 * and live policies over the same pods) or two connectivity lists computed with the same options.
 */
export function diffConnectivity(
  before: PolicyIndex | readonly Connection[],
  after: PolicyIndex | readonly Connection[],
  options: ConnectivityOptions = {},
): ConnectivityDiff {
  const list = (x: PolicyIndex | readonly Connection[]): readonly Connection[] => (x instanceof PolicyIndex ? computeConnectivity(x, options) : x);
  const known = (x: PolicyIndex | readonly Connection[]): string[] | undefined => (x instanceof PolicyIndex ? x.workloads.map((w) => w.id) : undefined);
  const knownBefore = known(before);
  const knownAfter = known(after);
  return diffLists(list(before), list(after), { ...(knownBefore ? { before: knownBefore } : {}), ...(knownAfter ? { after: knownAfter } : {}) });
}

/** Validates one NetworkPolicy object (YAML-parsed or from the API); for PolicyIndex.upsertPolicy. */
export function parseNetworkPolicy(raw: unknown, source = 'input'): { policy?: NetworkPolicy; errors: string[] } {
  const loaded = loadObjects([{ object: typeof raw === 'object' && raw !== null ? { ...raw, kind: 'NetworkPolicy' } : raw, source }]);
  const errors = loaded.issues.filter((i) => i.severity === 'error').map((i) => i.message);
  const policy = loaded.policies[0];
  return policy && errors.length === 0 ? { policy, errors } : { errors: errors.length > 0 ? errors : ['not a NetworkPolicy'] };
}
