// Which NetworkPolicies the collector's learned flows matched, and when last: the input of the
// audit's unused-policy check. A flow matches a policy when one of the policy's allow rules lets
// it through on its side: ingress rules of policies selecting the destination pod, egress rules of
// policies selecting the source pod. A default-deny policy has no rule, so it matches nothing
// (checks.ts does not report pure denies as unused). Pure.
import { decide, QueryError, resolveEndpoints, type Decision, type Endpoint, type PolicyIndex, type Protocol } from '../policy/index.js';

/** One learned connection: `ns/name` workloads or IP addresses, with the last time it was seen. */
export interface FlowEdge {
  src: string;
  dst: string;
  protocol: string;
  port: number;
  /** Epoch ms. */
  lastSeen: number;
  /** The workload kind of src/dst when the collector knows it (a hint to resolve `ns/name`). */
  srcKind?: string;
  dstKind?: string;
}

export interface MatchResult {
  /** `namespace/name` -> the latest lastSeen of a flow one of its rules allowed. */
  lastMatch: Map<string, Date>;
  /** Edges decided against the policies. */
  matchedEdges: number;
  /** Edges whose endpoints are not in the input (workloads gone, reserved identities...). */
  unresolved: number;
}

const PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP']);

function endpoints(index: PolicyIndex, name: string, kind: string | undefined, cache: Map<string, Endpoint[]>): Endpoint[] {
  const key = `${name}\u0000${kind ?? ''}`;
  let found = cache.get(key);
  if (found) return found;
  found = [];
  // With the kind first (two workloads of one name), then as a pod or any workload of that name.
  for (const text of kind && !/^\d/.test(name) ? [`${name}[${kind}]`, name] : [name]) {
    try {
      found = resolveEndpoints(index, text);
      break;
    } catch (error) {
      if (!(error instanceof QueryError)) throw error;
    }
  }
  cache.set(key, found);
  return found;
}

/** NetworkPolicies (not CNPs, not admin policies) whose rules allowed the connection on either side. */
export function allowingPolicies(index: PolicyIndex, d: Decision): string[] {
  const out = new Set<string>();
  for (const side of [d.egress, d.ingress]) {
    for (const m of side.allowedBy) out.add(m.policy);
    for (const m of side.verdict?.allowedBy ?? []) out.add(m.policy);
  }
  return [...out].filter((id) => index.policies.has(id));
}

export function matchFlows(index: PolicyIndex, edges: Iterable<FlowEdge>): MatchResult {
  const lastMatch = new Map<string, number>();
  const resolved = new Map<string, Endpoint[]>();
  const decided = new Map<string, string[]>();
  const label = (e: Endpoint): string => (e.kind === 'class' ? `c${e.classId}` : `i${e.label}`);
  let matchedEdges = 0;
  let unresolved = 0;
  for (const edge of edges) {
    if (!PROTOCOLS.has(edge.protocol) || !Number.isInteger(edge.port) || edge.port < 1 || edge.port > 65535 || !Number.isFinite(edge.lastSeen)) continue;
    const srcs = endpoints(index, edge.src, edge.srcKind, resolved);
    const dsts = endpoints(index, edge.dst, edge.dstKind, resolved);
    if (srcs.length === 0 || dsts.length === 0) {
      unresolved++;
      continue;
    }
    matchedEdges++;
    for (const s of srcs) {
      for (const t of dsts) {
        if (s.kind === 'ip' && t.kind === 'ip') continue;
        // Pods of one class behave the same: decide each (class, class, protocol, port) once.
        const key = `${label(s)}|${label(t)}|${edge.protocol}|${edge.port}`;
        let policies = decided.get(key);
        if (!policies) {
          policies = allowingPolicies(index, decide(index, s, t, edge.port, edge.protocol as Protocol));
          decided.set(key, policies);
        }
        for (const id of policies) if ((lastMatch.get(id) ?? -Infinity) < edge.lastSeen) lastMatch.set(id, edge.lastSeen);
      }
    }
  }
  return { lastMatch: new Map([...lastMatch].map(([id, t]) => [id, new Date(t)])), matchedEdges, unresolved };
}
