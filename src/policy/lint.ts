// Lint rules over policies and the pods they apply to. Each finding has a stable id, a
// severity (errors fail CI) and a fix hint.
import { classSetHas, type ClassSet } from './class-set.js';
import { IpSet } from './ip-set.js';
import type { NetworkPolicy, Peer, Rule } from './model.js';
import { policyId } from './model.js';
import type { IndexedRule, PolicyIndex } from './policy-index.js';
import { Conns, portRange } from './port-set.js';
import { formatSelector, isSelectAll } from './selectors.js';

export type Severity = 'error' | 'warning' | 'info';

export interface LintFinding {
  id: string;
  name: string;
  severity: Severity;
  /** `namespace` or `namespace/policy`, plus the rule path when it is about one rule. */
  object: string;
  message: string;
  hint: string;
}

export interface LintOptions {
  /** Namespaces never reported for missing policies (default: kube-system, kube-public, kube-node-lease). */
  ignoreNamespaces?: readonly string[];
}

export const LINT_RULES = {
  NP001: { name: 'namespace-without-policy', severity: 'warning' },
  NP002: { name: 'namespace-without-default-deny', severity: 'warning' },
  NP010: { name: 'ingress-from-everywhere', severity: 'warning' },
  NP011: { name: 'egress-without-dns', severity: 'error' },
  NP020: { name: 'policy-selects-no-pods', severity: 'warning' },
  NP021: { name: 'rule-never-matches', severity: 'error' },
  NP022: { name: 'peer-selects-nothing', severity: 'warning' },
  NP023: { name: 'selects-host-network-pods', severity: 'warning' },
  NP030: { name: 'shadowed-rule', severity: 'info' },
} as const satisfies Record<string, { name: string; severity: Severity }>;

type RuleId = keyof typeof LINT_RULES;

const DNS = Conns.of('UDP', portRange(53, 53));
const WORLD_V4 = IpSet.range(4, 0n, (1n << 32n) - 1n);
const WORLD_V6 = IpSet.range(6, 0n, (1n << 128n) - 1n);

function finding(id: RuleId, object: string, message: string, hint: string): LintFinding {
  return { id, name: LINT_RULES[id].name, severity: LINT_RULES[id].severity, object, message, hint };
}

function isDefaultDeny(p: NetworkPolicy, direction: 'ingress' | 'egress'): boolean {
  const affects = direction === 'ingress' ? p.affectsIngress : p.affectsEgress;
  return affects && isSelectAll(p.podSelector) && p[direction].length === 0;
}

function everywhereReason(rule: Rule): string | undefined {
  if (rule.peers === 'all') return 'an empty "from" (every source, in and outside the cluster)';
  for (const peer of rule.peers) {
    if (peer.kind === 'ipBlock' && (WORLD_V4.subtract(peer.set).isEmpty() || WORLD_V6.subtract(peer.set).isEmpty())) return `ipBlock ${peer.cidr} (the whole Internet)`;
    if (peer.kind === 'namespaces' && isSelectAll(peer.namespaceSelector) && isSelectAll(peer.podSelector)) return 'an empty namespaceSelector (every pod of every namespace)';
  }
  return undefined;
}

function sameSelectorPeer(p: Peer, q: Peer): boolean {
  if (q.kind === 'namespaces' && isSelectAll(q.namespaceSelector) && isSelectAll(q.podSelector)) return p.kind !== 'ipBlock';
  if (p.kind === 'pods' && q.kind === 'pods') return p.podSelector.key === q.podSelector.key;
  if (p.kind === 'namespaces' && q.kind === 'namespaces') return p.namespaceSelector.key === q.namespaceSelector.key && p.podSelector.key === q.podSelector.key;
  if (p.kind === 'ipBlock' && q.kind === 'ipBlock') return p.set.subtract(q.set).isEmpty();
  return false;
}

/** True if `outer` allows everything `inner` allows (same policy, same direction). */
function ruleContains(outer: IndexedRule, inner: IndexedRule): boolean {
  const o = outer.rule;
  const i = inner.rule;
  if (o.ports !== 'all') {
    if (i.ports === 'all') return false;
    const namedCovered = i.namedPorts.every((n) => o.namedPorts.some((m) => m.name === n.name && m.protocol === n.protocol));
    if (!namedCovered || !i.numericConns.subtract(o.numericConns).isEmpty()) return false;
  }
  if (o.peers === 'all') return true;
  if (i.peers === 'all') return false;
  const outerPeers = o.peers;
  if (i.peers.every((p) => outerPeers.some((q) => sameSelectorPeer(p, q)))) return true;
  // Judged on the pods of the input, but only when every selector peer of the inner rule selects
  // some pod: an empty selection says nothing about the pods the rule is written for.
  const allSelect = inner.peerSelections.every((sel) => sel === undefined || sel === 'all' || sel.length > 0);
  const peersIn = (a: ClassSet, b: ClassSet): boolean => b === 'all' || (a !== 'all' && Array.from(a).every((c) => classSetHas(b, c)));
  return allSelect && peersIn(inner.peerClasses, outer.peerClasses) && inner.ips.subtract(outer.ips).isEmpty();
}

/** Runs every lint rule; findings sorted by severity, then object. */
export function lint(index: PolicyIndex, options: LintOptions = {}): LintFinding[] {
  const out: LintFinding[] = [];
  const ignored = new Set(options.ignoreNamespaces ?? ['kube-system', 'kube-public', 'kube-node-lease']);
  const hasPods = index.classes.length > 0;
  const byNamespace = new Map<string, NetworkPolicy[]>();
  for (const { policy } of index.policies.values()) {
    const list = byNamespace.get(policy.namespace);
    if (list) list.push(policy);
    else byNamespace.set(policy.namespace, [policy]);
  }
  const podNamespaces = new Set(index.classes.map((c) => c.namespace));
  for (const ns of [...new Set([...index.namespaces.keys(), ...byNamespace.keys()])].sort()) {
    if (ignored.has(ns)) continue;
    const policies = byNamespace.get(ns) ?? [];
    if (policies.length === 0) {
      if (podNamespaces.has(ns) || !hasPods) {
        out.push(finding('NP001', ns, `namespace ${ns} has no NetworkPolicy: every pod accepts and sends any traffic`, `add a default-deny policy (podSelector: {}, policyTypes: [Ingress, Egress]) plus allow rules for the traffic the namespace needs`));
      }
      continue;
    }
    if (!policies.some((p) => isDefaultDeny(p, 'ingress'))) {
      out.push(finding('NP002', ns, `namespace ${ns} has no default-deny ingress policy: pods that no policy selects accept any traffic`, `add a policy with podSelector: {} and policyTypes: [Ingress] and no ingress rules`));
    }
  }

  for (const indexed of index.policies.values()) {
    const p = indexed.policy;
    const pid = policyId(p);
    const selectsNothing = hasPods && indexed.selected !== 'all' && indexed.selected.length === 0;
    if (selectsNothing) {
      out.push(finding('NP020', pid, `podSelector ${formatSelector(p.podSelector)} selects no pod in namespace ${p.namespace}`, 'check the labels against the pods (kubectl get pods --show-labels) or delete the policy'));
    }
    const hostPods = (indexed.selected === 'all' ? index.classes : Array.from(indexed.selected).map((c) => index.classes[c])).filter((c) => c?.hostNetwork);
    if (hostPods.length > 0) {
      const names = hostPods.flatMap((c) => c?.pods.map((x) => x.name) ?? []).slice(0, 5);
      out.push(finding('NP023', pid, `selects pods with hostNetwork: true (${names.join(', ')}); most CNIs do not enforce NetworkPolicy on them, so its isolation is likely not in effect`, 'protect host-network pods with host firewall / host endpoint policies instead, or exclude them from the podSelector'));
    }
    if (p.affectsIngress) {
      for (const r of p.ingress) {
        const why = everywhereReason(r);
        if (why) out.push(finding('NP010', `${pid} ingress[${r.index}]`, `allows ingress from ${why} to ${formatSelector(p.podSelector)}`, 'restrict "from" to the namespaces/pods or CIDRs that need access'));
      }
    }
    if (p.affectsEgress && !selectsNothing) {
      const dnsOk = [...(indexed.selected === 'all' ? index.classes.map((c) => c.id) : Array.from(indexed.selected))].every((c) =>
        (index.egressOf[c] ?? []).some((q) => q.egress.some((r) => !index.ruleConnsTo(r.rule, undefined).intersect(DNS).isEmpty())),
      );
      const noPodsToCheck = !hasPods && !p.egress.some((r) => !r.numericConns.intersect(DNS).isEmpty());
      if ((hasPods && !dnsOk) || noPodsToCheck) {
        out.push(finding('NP011', pid, `isolates egress of ${formatSelector(p.podSelector)} but nothing allows DNS (UDP 53): name resolution will fail`, 'add an egress rule to kube-dns: to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}], ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]'));
      }
    }
    for (const [direction, rules] of [
      ['ingress', indexed.ingress],
      ['egress', indexed.egress],
    ] as const) {
      const affects = direction === 'ingress' ? p.affectsIngress : p.affectsEgress;
      if (!affects && rules.length > 0) {
        const type = direction === 'ingress' ? 'Ingress' : 'Egress';
        out.push(finding('NP021', `${pid} ${direction}`, `has ${rules.length} ${direction} rule(s) but policyTypes does not include ${type}, so they are ignored`, `add ${type} to spec.policyTypes or remove the ${direction} rules`));
      }
      rules.forEach((r, i) => {
        const where = `${pid} ${direction}[${r.rule.index}]`;
        if (!affects) return;
        if (hasPods) {
          // Named ports resolve on the destination: the selected pods (ingress) or the peers (egress).
          const destinations: ClassSet = direction === 'ingress' ? indexed.selected : r.peerClasses;
          const dstIds = destinations === 'all' ? index.classes.map((c) => c.id) : Array.from(destinations);
          for (const np of r.rule.namedPorts) {
            if (!dstIds.some((c) => index.resolveNamedPort(c, np.name, np.protocol) !== undefined)) {
              out.push(finding('NP021', where, `named port "${np.name}"/${np.protocol} is defined by no destination pod, so this port entry never matches`, `use a port number or name a containerPort "${np.name}" with protocol ${np.protocol} in the destination pods`));
            }
          }
          if (r.rule.peers !== 'all') {
            r.rule.peers.forEach((peer, k) => {
              const sel = r.peerSelections[k];
              if (peer.kind !== 'ipBlock' && sel !== undefined && sel !== 'all' && sel.length === 0) {
                out.push(finding('NP022', `${where} peer ${k}`, 'this peer selects no pod of the input', 'check the namespace and pod labels of the peer'));
              }
            });
          }
        }
        for (let j = 0; j < rules.length; j++) {
          const other = rules[j] as IndexedRule;
          if (j === i || !ruleContains(other, r)) continue;
          // Of two identical rules, report only the later one.
          if (ruleContains(r, other) && j > i) continue;
          out.push(finding('NP030', where, `everything this rule allows is already allowed by ${direction}[${other.rule.index}] of the same policy`, 'remove the rule or merge it into the broader one'));
          break;
        }
      });
    }
  }
  const rank = { error: 0, warning: 1, info: 2 } as const;
  return out.sort((a, b) => rank[a.severity] - rank[b.severity] || (a.object < b.object ? -1 : a.object > b.object ? 1 : a.id < b.id ? -1 : 1));
}
