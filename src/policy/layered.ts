// Evaluation of one side (a pod class's ingress or egress) when AdminNetworkPolicies, the
// BaselineAdminNetworkPolicy or CiliumNetworkPolicies apply to it, in the API's order:
//   1. ANP rules by priority (then name), each policy's rules in order: the first rule that
//      matches decides (Allow: allowed, NetworkPolicies are not consulted; Deny: denied; Pass:
//      skip the remaining ANP rules and go on);
//   2. the NetworkPolicy layer, NetworkPolicies and CiliumNetworkPolicies together (Cilium treats
//      them as one policy set): a CNP deny that matches denies; if any of them isolates the pod
//      in this direction, the connection must match an allow rule of one of them;
//   3. otherwise the BaselineAdminNetworkPolicy's rules in order (Allow / Deny), first match;
//   4. otherwise allowed.
import { classSetHas } from './class-set.js';
import type { XRule, XSide } from './extended-index.js';
import type { IpFamily } from './ip-set.js';
import { policyId } from './model.js';
import type { IndexedPolicy, IndexedRule, PolicyIndex } from './policy-index.js';
import { Conns, type Protocol } from './port-set.js';

/** The other end of a connection: a pod class, or an address outside the cluster. */
export type XPeer = { kind: 'class'; id: number } | { kind: 'ip'; family: IpFamily; value: bigint };

function xMatches(r: XRule, peer: XPeer): boolean {
  return peer.kind === 'class' ? classSetHas(r.peerClasses, peer.id) : r.ips.has({ family: peer.family, value: peer.value });
}

function npMatches(r: IndexedRule, peer: XPeer): boolean {
  return peer.kind === 'class' ? classSetHas(r.peerClasses, peer.id) : r.ips.has({ family: peer.family, value: peer.value });
}

/**
 * First-match walk over ordered rules: what they allow, and what goes on to the next layer
 * (what no rule matched, plus what a Pass rule matched).
 */
function walk(index: PolicyIndex, rules: readonly XRule[], peer: XPeer, dstClass: number | undefined, remaining: Conns, allowed: Conns): { allowed: Conns; remaining: Conns } {
  let passed = Conns.NONE;
  for (const r of rules) {
    if (remaining.isEmpty()) break;
    if (!xMatches(r, peer)) continue;
    const c = index.ruleConnsTo(r.ports, dstClass).intersect(remaining);
    if (c.isEmpty()) continue;
    if (r.action === 'Allow') allowed = allowed.union(c);
    else if (r.action === 'Pass') passed = passed.union(c);
    remaining = remaining.subtract(c);
  }
  return { allowed, remaining: remaining.union(passed) };
}

/**
 * The connections (within `universe`) that one side allows with `peer`. `dstClass` is the
 * destination pod class, where named ports resolve (undefined for an address outside).
 */
export function layeredConns(
  index: PolicyIndex,
  side: XSide,
  nps: readonly IndexedPolicy[],
  direction: 'ingress' | 'egress',
  peer: XPeer,
  dstClass: number | undefined,
  universe: Conns,
): Conns {
  // ANP: a Pass and "no rule matched" both go on to the NetworkPolicy layer.
  let { allowed, remaining } = walk(index, side.anp, peer, dstClass, universe, Conns.NONE);
  if (remaining.isEmpty()) return allowed;
  for (const r of side.cnpDeny) if (xMatches(r, peer)) remaining = remaining.subtract(index.ruleConnsTo(r.ports, dstClass));
  if (nps.length > 0 || side.cnpIsolating.length > 0) {
    let ok = Conns.NONE;
    for (const p of nps) for (const r of direction === 'ingress' ? p.ingress : p.egress) if (npMatches(r, peer)) ok = ok.union(index.ruleConnsTo(r.rule, dstClass));
    for (const r of side.cnpAllow) if (xMatches(r, peer)) ok = ok.union(index.ruleConnsTo(r.ports, dstClass));
    return allowed.union(remaining.intersect(ok));
  }
  ({ allowed, remaining } = walk(index, side.banp, peer, dstClass, remaining, allowed));
  return allowed.union(remaining);
}

/** Which layer decided one connection, and by which rule. */
export interface LayerVerdict {
  layer: 'AdminNetworkPolicy' | 'NetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'default';
  allowed: boolean;
  /** `ANP name`, `CNP ns/name`, `ns/name` (a NetworkPolicy)... */
  policy?: string;
  rule?: string;
  /** ANP rules with action Pass that sent the connection on. */
  passedBy: Array<{ policy: string; rule: string }>;
  /** NetworkPolicy layer: the policies that isolate the pod (NetworkPolicies and CNPs). */
  isolatedBy: string[];
  /** NetworkPolicy layer: the allow rules that match (NetworkPolicies and CNPs). */
  allowedBy: Array<{ policy: string; rule: string }>;
}

function firstMatch(index: PolicyIndex, rules: readonly XRule[], peer: XPeer, dstClass: number | undefined, protocol: Protocol, port: number): XRule | undefined {
  return rules.find((r) => xMatches(r, peer) && index.ruleConnsTo(r.ports, dstClass).has(protocol, port));
}

/** The same walk as layeredConns for one (protocol, port), keeping the rules that decided. */
export function layeredVerdict(
  index: PolicyIndex,
  side: XSide,
  nps: readonly IndexedPolicy[],
  direction: 'ingress' | 'egress',
  peer: XPeer,
  dstClass: number | undefined,
  protocol: Protocol,
  port: number,
): LayerVerdict {
  const passedBy: LayerVerdict['passedBy'] = [];
  const base = { passedBy, isolatedBy: [] as string[], allowedBy: [] as LayerVerdict['allowedBy'] };
  // Walk ANP rules one policy at a time: a Pass ends the ANP walk.
  const anp = firstMatch(index, side.anp, peer, dstClass, protocol, port);
  if (anp && anp.action !== 'Pass') return { ...base, layer: 'AdminNetworkPolicy', allowed: anp.action === 'Allow', policy: anp.policy, rule: anp.rule };
  if (anp) passedBy.push({ policy: anp.policy, rule: anp.rule });
  const deny = firstMatch(index, side.cnpDeny, peer, dstClass, protocol, port);
  if (deny) return { ...base, layer: 'NetworkPolicy', allowed: false, policy: deny.policy, rule: deny.rule };
  const isolatedBy = [...nps.map((p) => policyId(p.policy)), ...side.cnpIsolating];
  if (isolatedBy.length > 0) {
    const allowedBy: LayerVerdict['allowedBy'] = [];
    for (const p of nps) {
      for (const r of direction === 'ingress' ? p.ingress : p.egress) {
        if (npMatches(r, peer) && index.ruleConnsTo(r.rule, dstClass).has(protocol, port)) allowedBy.push({ policy: policyId(p.policy), rule: `${direction}[${r.rule.index}]` });
      }
    }
    for (const r of side.cnpAllow) if (xMatches(r, peer) && index.ruleConnsTo(r.ports, dstClass).has(protocol, port)) allowedBy.push({ policy: r.policy, rule: r.rule });
    return { passedBy, isolatedBy, allowedBy, layer: 'NetworkPolicy', allowed: allowedBy.length > 0 };
  }
  const banp = firstMatch(index, side.banp, peer, dstClass, protocol, port);
  if (banp) return { ...base, layer: 'BaselineAdminNetworkPolicy', allowed: banp.action === 'Allow', policy: banp.policy, rule: banp.rule };
  return { ...base, layer: 'default', allowed: true };
}

/** One line for `--explain`. */
export function describeVerdict(v: LayerVerdict, direction: 'ingress' | 'egress', who: string): string {
  const passed = v.passedBy.length > 0 ? `passed on by ${v.passedBy.map((p) => `${p.policy} ${p.rule}`).join(', ')}; ` : '';
  const verb = v.allowed ? 'allowed' : 'denied';
  switch (v.layer) {
    case 'AdminNetworkPolicy':
    case 'BaselineAdminNetworkPolicy':
      return `${direction}: ${who}: ${passed}${verb} by ${v.policy} ${v.rule} (action ${v.allowed ? 'Allow' : 'Deny'})`;
    case 'NetworkPolicy':
      if (v.policy) return `${direction}: ${who}: ${passed}denied by ${v.policy} ${v.rule} (a Cilium deny rule, which wins over every allow)`;
      return v.allowed
        ? `${direction}: ${who}: ${passed}isolated by ${v.isolatedBy.join(', ')}; allowed by ${v.allowedBy.map((a) => `${a.policy} ${a.rule}`).join(', ')}`
        : `${direction}: ${who}: ${passed}isolated by ${v.isolatedBy.join(', ')} and no ${direction} rule of them allows this connection`;
    default:
      return `${direction}: ${who}: ${passed}no AdminNetworkPolicy rule, NetworkPolicy or BaselineAdminNetworkPolicy rule decides, so it is allowed`;
  }
}
