// Single-connection decisions with their reasons: is src -> dst on (protocol, port) allowed,
// which policies isolate each side, and which rules allow it.
import { classSetHas } from './class-set.js';
import { parseIp, type IpAddress } from './ip-set.js';
import { describeVerdict, layeredVerdict, type LayerVerdict, type XPeer } from './layered.js';
import { policyId } from './model.js';
import type { IndexedPolicy, IndexedRule, PolicyIndex, Workload } from './policy-index.js';
import { PROTOCOLS, type Protocol } from './port-set.js';

/** A resolved endpoint: one pod class of the cluster, or an address outside it. */
export type Endpoint = { kind: 'class'; classId: number; label: string } | { kind: 'ip'; address: IpAddress; label: string };

export interface RuleMatch {
  policy: string;
  direction: 'ingress' | 'egress';
  rule: number;
  /** Index of the matching peer in from/to, or 'all' for an empty from/to. */
  peer: number | 'all';
}

export interface SideDecision {
  /** False when the side is outside the cluster (no policy applies there). */
  applicable: boolean;
  isolated: boolean;
  /** Policies that select the pod for this direction. */
  isolatingPolicies: string[];
  allowedBy: RuleMatch[];
  /** When denied: rules that match the peer but not the port, or the port but not the peer. */
  nearMisses: NearMiss[];
  allowed: boolean;
  /**
   * Set when AdminNetworkPolicies, the BaselineAdminNetworkPolicy or CiliumNetworkPolicies apply
   * to this side: the layer and rule that decided (isolated/isolatingPolicies then describe the
   * NetworkPolicy layer, NetworkPolicies and CNPs together).
   */
  verdict?: LayerVerdict;
}

export interface NearMiss {
  policy: string;
  direction: 'ingress' | 'egress';
  rule: number;
  /** What the rule lacks for this connection. */
  missing: 'port' | 'peer';
  /** The connections the rule allows towards the destination, e.g. `TCP 5432`. */
  ruleConns: string;
}

export interface Decision {
  allowed: boolean;
  src: string;
  dst: string;
  protocol: Protocol;
  port: number;
  egress: SideDecision;
  ingress: SideDecision;
  reasons: string[];
}

export class QueryError extends Error {}

/** Parses `ns/name[Kind]`, `ns/name` (pod, else workload) or an IP address into endpoints. */
/**
 * The ReplicaSets of a Deployment, for live pods (owned by ReplicaSets, not by the Deployment): a
 * ReplicaSet `<deployment>-<hash>` whose pods carry `pod-template-hash: <hash>`, as the Deployment
 * controller names them. Several during a rollout.
 */
function deploymentReplicaSets(index: PolicyIndex, namespace: string, deployment: string): Workload[] {
  return index.workloads.filter((w) => {
    if (w.ref.kind !== 'ReplicaSet' || w.ref.namespace !== namespace || !w.ref.name.startsWith(`${deployment}-`)) return false;
    const hash = w.ref.name.slice(deployment.length + 1);
    return hash !== '' && !hash.includes('-') && w.pods.length > 0 && w.pods.every((p) => p.labels['pod-template-hash'] === hash);
  });
}

export function resolveEndpoints(index: PolicyIndex, text: string): Endpoint[] {
  // Pod IPs are not part of the model (manifests rarely carry them): an address is external.
  const ip = parseIp(text);
  if (ip) return [{ kind: 'ip', address: ip, label: text }];
  const m = /^([^/\s[\]]+)\/([^/\s[\]]+)(?:\[([A-Za-z]+)\])?$/.exec(text);
  if (!m) throw new QueryError(`"${text}" is neither an IP address nor namespace/name[Kind]`);
  const [, ns, name, kind] = m as unknown as [string, string, string, string | undefined];
  if (!kind) {
    const pod = index.pod(ns, name);
    const classId = pod ? index.classOf(pod) : undefined;
    if (classId !== undefined) return [{ kind: 'class', classId, label: `${ns}/${name}` }];
  }
  const candidates = index.workloadsNamed(ns, name).filter((w) => !kind || w.ref.kind === kind);
  if (candidates.length === 0 && (!kind || kind === 'Deployment')) {
    const replicaSets = deploymentReplicaSets(index, ns, name);
    if (replicaSets.length > 0) return [...new Set(replicaSets.flatMap((w) => w.classes))].map((classId) => ({ kind: 'class', classId, label: `${ns}/${name}[Deployment]` }));
  }
  if (candidates.length === 0) throw new QueryError(`no pod or workload "${text}" in the input`);
  if (candidates.length > 1) throw new QueryError(`"${text}" is ambiguous: ${candidates.map((w) => w.id).join(', ')}`);
  const w = candidates[0];
  return (w?.classes ?? []).map((classId) => ({ kind: 'class', classId, label: w?.id ?? text }));
}

function ruleMatchesPeer(r: IndexedRule, other: Endpoint): number | 'all' | undefined {
  if (r.rule.peers === 'all') return 'all';
  const peers = r.rule.peers;
  for (let i = 0; i < peers.length; i++) {
    const peer = peers[i];
    if (!peer) continue;
    if (other.kind === 'ip') {
      if (peer.kind === 'ipBlock' && peer.set.has(other.address)) return i;
    } else {
      const sel = r.peerSelections[i];
      if (sel && classSetHas(sel, other.classId)) return i;
    }
  }
  return undefined;
}

function decideSide(
  index: PolicyIndex,
  policies: readonly IndexedPolicy[],
  direction: 'ingress' | 'egress',
  other: Endpoint,
  dstClass: number | undefined,
  protocol: Protocol,
  port: number,
): SideDecision {
  const isolatingPolicies = policies.map((p) => policyId(p.policy));
  const allowedBy: RuleMatch[] = [];
  const misses: Array<{ p: IndexedPolicy; r: IndexedRule; missing: 'port' | 'peer' }> = [];
  for (const p of policies) {
    for (const r of direction === 'ingress' ? p.ingress : p.egress) {
      const portOk = index.ruleConnsTo(r.rule, dstClass).has(protocol, port);
      const peer = ruleMatchesPeer(r, other);
      if (portOk && peer !== undefined) allowedBy.push({ policy: policyId(p.policy), direction, rule: r.rule.index, peer });
      else if (portOk || peer !== undefined) misses.push({ p, r, missing: portOk ? 'peer' : 'port' });
    }
  }
  const isolated = policies.length > 0;
  const allowed = !isolated || allowedBy.length > 0;
  // Only worth building (strings) when the side denies: that is when an operator needs them.
  const nearMisses: NearMiss[] = allowed
    ? []
    : misses.map(({ p, r, missing }) => ({ policy: policyId(p.policy), direction, rule: r.rule.index, missing, ruleConns: index.ruleConnsTo(r.rule, dstClass).toString() }));
  return { applicable: true, isolated, isolatingPolicies, allowedBy, nearMisses, allowed };
}

function decideExtended(index: PolicyIndex, classId: number, direction: 'ingress' | 'egress', other: Endpoint, dstClass: number | undefined, protocol: Protocol, port: number): SideDecision | undefined {
  const side = (direction === 'ingress' ? index.extended?.ingress : index.extended?.egress)?.[classId];
  if (!side) return undefined;
  const nps = (direction === 'ingress' ? index.ingressOf : index.egressOf)[classId] ?? [];
  const peer: XPeer = other.kind === 'class' ? { kind: 'class', id: other.classId } : { kind: 'ip', family: other.address.family, value: other.address.value };
  const verdict = layeredVerdict(index, side, nps, direction, peer, dstClass, protocol, port);
  const allowedBy: RuleMatch[] = [];
  return { applicable: true, isolated: verdict.isolatedBy.length > 0, isolatingPolicies: verdict.isolatedBy, allowedBy, nearMisses: [], allowed: verdict.allowed, verdict };
}

const OUTSIDE: SideDecision = { applicable: false, isolated: false, isolatingPolicies: [], allowedBy: [], nearMisses: [], allowed: true };

/**
 * Decides one connection between two resolved endpoints. `port` may be a number or a named
 * port, which is resolved on the destination pod (as Kubernetes does).
 */
export function decide(index: PolicyIndex, src: Endpoint, dst: Endpoint, port: number | string, protocol: Protocol = 'TCP'): Decision {
  if (src.kind === 'ip' && dst.kind === 'ip') throw new QueryError('at least one endpoint must be a pod or workload of the input');
  if (!PROTOCOLS.includes(protocol)) throw new QueryError(`protocol "${String(protocol)}" is not one of TCP, UDP, SCTP`);
  let portNumber: number;
  if (typeof port === 'string' && !/^\d+$/.test(port)) {
    if (dst.kind !== 'class') throw new QueryError(`named port "${port}" can only be resolved on a pod destination`);
    const resolved = index.resolveNamedPort(dst.classId, port, protocol);
    if (resolved === undefined) throw new QueryError(`destination ${dst.label} defines no ${protocol} port named "${port}"`);
    portNumber = resolved;
  } else {
    portNumber = Number(port);
  }
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) throw new QueryError(`port ${String(port)} is out of range (1-65535)`);
  const dstClass = dst.kind === 'class' ? dst.classId : undefined;
  const egress =
    src.kind === 'class'
      ? (decideExtended(index, src.classId, 'egress', dst, dstClass, protocol, portNumber) ?? decideSide(index, index.egressOf[src.classId] ?? [], 'egress', dst, dstClass, protocol, portNumber))
      : OUTSIDE;
  const ingress =
    dst.kind === 'class'
      ? (decideExtended(index, dst.classId, 'ingress', src, dstClass, protocol, portNumber) ?? decideSide(index, index.ingressOf[dst.classId] ?? [], 'ingress', src, dstClass, protocol, portNumber))
      : OUTSIDE;
  const decision: Decision = {
    allowed: egress.allowed && ingress.allowed,
    src: src.label,
    dst: dst.label,
    protocol,
    port: portNumber,
    egress,
    ingress,
    reasons: [],
  };
  decision.reasons = explainSides(decision);
  return decision;
}

function describeSide(side: SideDecision, direction: 'egress' | 'ingress', who: string): string {
  if (!side.applicable) return `${direction}: ${who} is outside the cluster, no policy applies`;
  if (side.verdict) return describeVerdict(side.verdict, direction, who);
  if (!side.isolated) return `${direction}: ${who} is not isolated for ${direction} (no policy selects it), so all ${direction} is allowed`;
  const by = side.isolatingPolicies.join(', ');
  if (side.allowedBy.length === 0) {
    const near = side.nearMisses.map((m) =>
      m.missing === 'port' ? `${m.policy} ${m.direction}[${m.rule}] matches the peer but allows only ${m.ruleConns}` : `${m.policy} ${m.direction}[${m.rule}] allows the port but not this peer`,
    );
    return `${direction}: ${who} is isolated by ${by} and no ${direction} rule of them allows this connection${near.length > 0 ? ` (closest: ${near.join('; ')})` : ''}`;
  }
  const rules = side.allowedBy.map((m) => `${m.policy} ${m.direction}[${m.rule}]${m.peer === 'all' ? ' (any peer)' : ` peer ${m.peer}`}`);
  return `${direction}: ${who} is isolated by ${by}; allowed by ${rules.join(', ')}`;
}

export function explainSides(d: Decision): string[] {
  return [describeSide(d.egress, 'egress', d.src), describeSide(d.ingress, 'ingress', d.dst)];
}
