// NP031 void-policy: a policy whose removal changes nothing in a direction, because other
// policies of its namespace already isolate every pod it may select and allow at least all it
// allows (the additivity trap: a deny-all next to an allow-all denies nothing). Decided on the
// selectors, so it holds for any pod, present or future; unions of several selectors are not
// combined, so a policy is never called void when it is not.
import { finding, type LintFinding } from './lint-catalog.js';
import type { Direction, NetworkPolicy, Peer, Rule } from './model.js';
import { policyId } from './model.js';
import { IpSet } from './ip-set.js';
import { ALL_PORTS, rangesEqual } from './port-set.js';
import { selectorImplies, selectsNothing } from './selector-implies.js';
import { isSelectAll, makeSelector, matches, type Labels, type Selector } from './selectors.js';
import { describePods } from './lint-exposure.js';

const NS_NAME_LABEL = 'kubernetes.io/metadata.name';

interface Scope {
  namespace: string;
  /** Labels of the policies' namespace (at least its name label). */
  labels: Labels;
  /** The selector that pins a namespace to the policies' one. */
  ownNamespace: Selector;
}

function affects(p: NetworkPolicy, d: Direction): boolean {
  return d === 'ingress' ? p.affectsIngress : p.affectsEgress;
}

function allowsEverything(rule: Rule): boolean {
  return rule.peers === 'all' && (rule.ports === 'all' || rule.numericConns.isAll());
}

/** Every (pod, port) `inner` lets through on ports is let through by `outer`'s ports. */
function portsWithin(inner: Rule, outer: Rule): boolean {
  if (outer.ports === 'all' || outer.numericConns.isAll()) return true;
  if (inner.ports === 'all') return false;
  if (!inner.numericConns.subtract(outer.numericConns).isEmpty()) return false;
  // A named port resolves to some port of its protocol on the destination: covered by the same
  // name, or by every port of that protocol.
  return inner.namedPorts.every(
    (n) => outer.namedPorts.some((m) => m.name === n.name && m.protocol === n.protocol) || rangesEqual(outer.numericConns.ports(n.protocol), ALL_PORTS),
  );
}

/** Pods matched by peer `p` are all matched by peer `q` (both written in the scope's namespace). */
function podPeerWithin(p: Peer, q: Peer, scope: Scope): boolean {
  if (p.kind === 'ipBlock' || q.kind === 'ipBlock') return false;
  if (!selectorImplies(p.podSelector, q.podSelector)) return false;
  if (q.kind === 'pods') return p.kind === 'pods' || selectorImplies(p.namespaceSelector, scope.ownNamespace);
  if (p.kind === 'pods') return matches(q.namespaceSelector, scope.labels);
  return selectorImplies(p.namespaceSelector, q.namespaceSelector);
}

/** The rules of the candidate policies that can stand in for `rule` on its ports. */
function coveringRules(rule: Rule, candidates: readonly NetworkPolicy[], d: Direction): Array<{ policy: NetworkPolicy; rule: Rule }> {
  return candidates.flatMap((policy) => policy[d].filter((q) => portsWithin(rule, q)).map((q) => ({ policy, rule: q })));
}

/** The policies that together allow everything `rule` allows, or undefined when they do not. */
function coverRule(rule: Rule, candidates: readonly NetworkPolicy[], d: Direction, scope: Scope): Set<NetworkPolicy> | undefined {
  const covering = coveringRules(rule, candidates, d);
  const by = new Set<NetworkPolicy>();
  const everything = covering.find((c) => c.rule.peers === 'all');
  if (everything) return by.add(everything.policy);
  if (rule.peers === 'all') return undefined;
  const blocks = covering.flatMap((c) => (c.rule.peers as readonly Peer[]).flatMap((q) => (q.kind === 'ipBlock' ? [{ policy: c.policy, set: q.set }] : [])));
  const ips = blocks.reduce((acc, b) => acc.union(b.set), IpSet.EMPTY);
  for (const p of rule.peers) {
    if (p.kind === 'ipBlock') {
      // Address ranges may be covered by several blocks together.
      if (!p.set.subtract(ips).isEmpty()) return undefined;
      for (const b of blocks) if (!b.set.intersect(p.set).isEmpty()) by.add(b.policy);
      continue;
    }
    const match = covering.find((c) => (c.rule.peers as readonly Peer[]).some((q) => podPeerWithin(p, q, scope)));
    if (!match) return undefined;
    by.add(match.policy);
  }
  return by;
}

function names(list: readonly NetworkPolicy[]): string {
  const ids = list.map(policyId);
  return ids.length <= 3 ? ids.join(', ') : `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more`;
}

function voidFinding(p: NetworkPolicy, d: Direction, voiders: NetworkPolicy[]): LintFinding {
  const pid = policyId(p);
  const pods = describePods(p.podSelector);
  const list = names(voiders);
  const one = voiders.length === 1;
  const additive = `NetworkPolicies are additive: a connection is allowed when any policy selecting the pod allows it, so one policy cannot deny what another allows`;
  const message =
    p[d].length === 0
      ? `allows no ${d} yet denies nothing: its pods (${pods}) are already isolated for ${d} by ${list}, and what ${one ? 'it allows' : 'they allow'} stays allowed. ${additive}`
      : `changes nothing for ${d}: ${list} already ${one ? 'isolates' : 'isolate'} its pods (${pods}) and ${one ? 'allows' : 'allow'} everything it allows. ${additive}`;
  const hint =
    p[d].length === 0
      ? `if that ${d} must be denied, narrow or delete ${list}; otherwise delete ${pid}`
      : `delete ${pid} (or its ${d} part), or narrow ${list} if that much ${d} was not meant to be allowed`;
  return finding('NP031', `${pid} ${d}`, message, hint, { namespace: p.namespace, policy: p.name, source: p.source });
}

/**
 * Void policies of one namespace, in load order. Later policies are judged first and a policy
 * found void no longer voids others, so of two equivalent policies only the later is reported
 * and deleting every reported one together still changes nothing.
 */
function voidInNamespace(policies: readonly NetworkPolicy[], scope: Scope): LintFinding[] {
  const out: LintFinding[] = [];
  for (const d of ['ingress', 'egress'] as const) {
    const reported = new Set<NetworkPolicy>();
    for (const p of [...policies].reverse()) {
      if (!affects(p, d) || selectsNothing(p.podSelector)) continue;
      const candidates = policies.filter((q) => q !== p && !reported.has(q) && affects(q, d) && selectorImplies(p.podSelector, q.podSelector));
      // A deny-all next to other deny-alls is only redundant: the trap is a policy that allows.
      // A namespace-wide deny-all is the baseline kept against later edits of the allows (e.g.
      // next to an allow-DNS-for-all policy): void only when something next to it allows everything.
      const baseline = p[d].length === 0 && isSelectAll(p.podSelector);
      const allowing = candidates.filter((q) => (baseline ? q[d].some(allowsEverything) : q[d].length > 0));
      if (allowing.length === 0) continue;
      const voiders = new Set<NetworkPolicy>();
      let covered = true;
      for (const r of p[d]) {
        const by = coverRule(r, candidates, d, scope);
        if (!by) {
          covered = false;
          break;
        }
        for (const x of by) voiders.add(x);
      }
      if (!covered) continue;
      reported.add(p);
      out.push(voidFinding(p, d, p[d].length === 0 ? allowing : policies.filter((q) => voiders.has(q))));
    }
  }
  return out;
}

export function voidPolicyFindings(policies: Iterable<NetworkPolicy>, namespaceLabels: (namespace: string) => Labels | undefined): LintFinding[] {
  const byNamespace = new Map<string, NetworkPolicy[]>();
  for (const p of policies) {
    const list = byNamespace.get(p.namespace);
    if (list) list.push(p);
    else byNamespace.set(p.namespace, [p]);
  }
  const out: LintFinding[] = [];
  for (const [namespace, list] of byNamespace) {
    if (list.length < 2) continue;
    const labels = namespaceLabels(namespace) ?? { [NS_NAME_LABEL]: namespace };
    const ownNamespace = makeSelector([{ key: NS_NAME_LABEL, operator: 'In', values: [namespace] }]);
    out.push(...voidInNamespace(list, { namespace, labels, ownNamespace }));
  }
  return out;
}
