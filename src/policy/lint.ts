// Lint rules over policies and the pods they apply to. Each finding has a stable id, a
// severity (errors fail CI) and a fix hint; the rules themselves are listed in lint-catalog.ts.
// Invalid manifests are findings too (NP000), so one bad object never hides the others.
import { classSetHas, type ClassSet } from './class-set.js';
import { finding, type LintFinding } from './lint-catalog.js';
import { describePods, exposureFindings } from './lint-exposure.js';
import { applySuppressions, type LintConfig } from './lint-suppress.js';
import { layeredConns } from './layered.js';
import { voidPolicyFindings } from './lint-void.js';
import type { Issue, NetworkPolicy, Peer, Rule } from './model.js';
import { policyId } from './model.js';
import type { IndexedRule, PolicyIndex } from './policy-index.js';
import { Conns, portRange } from './port-set.js';
import { selectorImplies } from './selector-implies.js';
import { formatSelector, isSelectAll } from './selectors.js';

export { findRule, LINT_RULES, RULE_IDS, type LintFinding, type LintRule, type RuleId, type Severity, type Suppression } from './lint-catalog.js';

export interface LintOptions {
  /** Namespaces never reported for missing policies (default: kube-system, kube-public, kube-node-lease). */
  ignoreNamespaces?: readonly string[];
  /** Problems found while reading and loading the input; each becomes an NP000/NP009 finding. */
  issues?: readonly Issue[];
  /** Suppressions from a config file (annotations on the policies are always honoured). */
  config?: LintConfig;
  /**
   * Only the findings of these namespaces, and those of none (an incident's namespace is a
   * hundredth of a large cluster's work). A config suppression that matches nothing is then not
   * reported: it may match in a namespace left out.
   */
  namespaces?: readonly string[];
}

export const DEFAULT_IGNORED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'] as const;

const DNS = Conns.of('UDP', portRange(53, 53));

/** A rule that admits every peer on every port: a policy holding one isolates nothing. */
function allowsEverything(rule: Rule): boolean {
  return rule.peers === 'all' && (rule.ports === 'all' || rule.numericConns.isAll());
}

/** Isolates every pod of its namespace for ingress (podSelector {}, null or matchLabels left empty) and does not re-open it all. */
function isNamespaceBaseline(p: NetworkPolicy): boolean {
  return p.affectsIngress && isSelectAll(p.podSelector) && !p.ingress.some(allowsEverything);
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

/** `NetworkPolicy ns/name` (the loader's object label) → namespace and name. */
function objectRef(object: string | undefined): { namespace?: string; policy?: string } {
  const m = /^(\w+) ([^/\s]+)\/(\S+)$/.exec(object ?? '');
  if (!m) return {};
  return m[1] === 'NetworkPolicy' ? { namespace: m[2] as string, policy: m[3] as string } : { namespace: m[2] as string };
}

/** Read and load problems as findings: errors (the object is left out) are NP000, the rest NP009. */
export function issueFindings(issues: readonly Issue[]): LintFinding[] {
  return issues.map((issue) => {
    const ref = objectRef(issue.object);
    const context = { ...ref, source: issue.source };
    const object = issue.object ?? issue.source;
    // Without an object label the problem is the file or document itself (unreadable, not YAML).
    const hint = issue.object ? 'fix the object; it was left out of the analysis' : 'fix the file or document; it was left out of the analysis';
    if (issue.code === 'anp-same-priority') return finding('NP050', object, issue.message, 'give each AdminNetworkPolicy its own priority', context);
    return issue.severity === 'error'
      ? finding('NP000', object, issue.message, hint, context)
      : finding('NP009', object, issue.message, 'check the object; the analysis may not account for it', context);
  });
}

function namespaceFindings(index: PolicyIndex, ignored: ReadonlySet<string>): LintFinding[] {
  const out: LintFinding[] = [];
  const hasPods = index.classes.length > 0;
  const byNamespace = new Map<string, NetworkPolicy[]>();
  for (const { policy } of index.policies.values()) {
    const list = byNamespace.get(policy.namespace);
    if (list) list.push(policy);
    else byNamespace.set(policy.namespace, [policy]);
  }
  const podSource = new Map<string, string | undefined>();
  for (const c of index.classes) for (const pod of c.pods) if (!podSource.has(pod.namespace)) podSource.set(pod.namespace, pod.source);
  // Namespaces where AdminNetworkPolicies, the BANP or CiliumNetworkPolicies apply: their pods are
  // not "open in both directions" and may be isolated by a CNP, so NP001/NP002 would mislead.
  const extendedNs = new Set<string>();
  const x = index.extended;
  if (x) {
    for (const c of index.classes) if (x.ingress[c.id] || x.egress[c.id]) extendedNs.add(c.namespace);
    for (const p of x.ciliumPolicies) extendedNs.add(p.namespace);
  }
  for (const ns of [...new Set([...index.namespaces.keys(), ...byNamespace.keys()])].sort()) {
    if (ignored.has(ns) || extendedNs.has(ns)) continue;
    const policies = byNamespace.get(ns) ?? [];
    if (policies.length === 0) {
      if (podSource.has(ns) || !hasPods) {
        const source = index.namespaces.get(ns)?.source ?? podSource.get(ns);
        out.push(
          finding('NP001', ns, `namespace ${ns} has no NetworkPolicy: every pod accepts and sends any traffic`, `add a default-deny policy (podSelector: {}, policyTypes: [Ingress, Egress]) plus allow rules for the traffic the namespace needs`, { namespace: ns, ...(source ? { source } : {}) }),
        );
      }
      continue;
    }
    if (!policies.some(isNamespaceBaseline)) {
      out.push(
        finding('NP002', ns, `namespace ${ns} has no policy that isolates all its pods for ingress (podSelector: {}): pods that no policy selects, including pods added later, accept any traffic`, `add a policy with podSelector: {} and policyTypes: [Ingress] and no ingress rules (or only the namespace-wide allows)`, { namespace: ns, source: policies[0]?.source }),
      );
    }
  }
  return out;
}

/** With AdminNetworkPolicies or CNPs on the class's egress: does any peer get UDP 53 through all the layers? */
function dnsAllowedLayered(index: PolicyIndex, c: number): boolean | undefined {
  const side = index.extended?.egress[c];
  if (!side) return undefined;
  const nps = index.egressOf[c] ?? [];
  if (index.classes.some((d) => !layeredConns(index, side, nps, 'egress', { kind: 'class', id: d.id }, d.id, DNS).isEmpty())) return true;
  // Addresses outside: one address of every block a rule of this side names, and 0.0.0.0.
  const sets = [...side.anp, ...side.cnpAllow, ...side.banp].map((r) => r.ips);
  for (const p of nps) for (const r of p.egress) sets.push(r.ips);
  const probes: Array<{ family: 4 | 6; value: bigint }> = [{ family: 4, value: 0n }];
  for (const set of sets) for (const family of [4, 6] as const) if (set.ranges(family).length > 0) probes.push({ family, value: set.ranges(family)[0] as bigint });
  return probes.some((ip) => !layeredConns(index, side, nps, 'egress', { kind: 'ip', ...ip }, undefined, DNS).isEmpty());
}

/** Do the egress rules that apply to the policy's pods allow DNS? Judged on the pods, else on the selectors. */
function dnsAllowed(index: PolicyIndex, p: NetworkPolicy, selected: ClassSet): boolean {
  if (index.classes.length > 0) {
    const classes = selected === 'all' ? index.classes.map((c) => c.id) : Array.from(selected);
    return classes.every((c) => dnsAllowedLayered(index, c) ?? (index.egressOf[c] ?? []).some((q) => q.egress.some((r) => !index.ruleConnsTo(r.rule, undefined).intersect(DNS).isEmpty())));
  }
  // No pods: an ANP/BANP egress Allow that covers UDP 53 may be what gives these pods DNS.
  if (index.extended?.adminPolicies.some((a) => a.egress.some((r) => r.action === 'Allow' && !r.numericConns.intersect(DNS).isEmpty()))) return true;
  // No pods: policies of the namespace that select at least every pod this one may select.
  return [...index.policies.values()].some(
    ({ policy: q }) => q.namespace === p.namespace && q.affectsEgress && selectorImplies(p.podSelector, q.podSelector) && q.egress.some((r) => !r.numericConns.intersect(DNS).isEmpty()),
  );
}

function policyFindings(index: PolicyIndex, included: (namespace: string) => boolean): LintFinding[] {
  const out: LintFinding[] = [];
  const hasPods = index.classes.length > 0;
  for (const indexed of index.policies.values()) {
    const p = indexed.policy;
    if (!included(p.namespace)) continue;
    const pid = policyId(p);
    const context = { namespace: p.namespace, policy: p.name, source: p.source };
    const add = (id: Parameters<typeof finding>[0], object: string, message: string, hint: string): void => {
      out.push(finding(id, object, message, hint, context));
    };
    const selectsNothing = hasPods && indexed.selected !== 'all' && indexed.selected.length === 0;
    if (selectsNothing) add('NP020', pid, `podSelector ${formatSelector(p.podSelector)} selects no pod in namespace ${p.namespace}`, 'check the labels against the pods (kubectl get pods --show-labels) or delete the policy');
    const hostPods = (indexed.selected === 'all' ? index.classes : Array.from(indexed.selected).map((c) => index.classes[c])).filter((c) => c?.hostNetwork);
    if (hostPods.length > 0) {
      const names = hostPods.flatMap((c) => c?.pods.map((x) => x.name) ?? []).slice(0, 5);
      add('NP023', pid, `selects pods with hostNetwork: true (${names.join(', ')}); most CNIs do not enforce NetworkPolicy on them, so its isolation is likely not in effect`, 'protect host-network pods with host firewall / host endpoint policies instead, or exclude them from the podSelector');
    }
    out.push(...exposureFindings(p));
    if (p.affectsEgress && !selectsNothing && !dnsAllowed(index, p, indexed.selected)) {
      add('NP011', pid, `isolates egress of ${describePods(p.podSelector)} but nothing allows DNS (UDP 53): name resolution will fail`, 'add an egress rule to kube-dns: to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}], ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]');
    }
    for (const [direction, rules] of [
      ['ingress', indexed.ingress],
      ['egress', indexed.egress],
    ] as const) {
      const affects = direction === 'ingress' ? p.affectsIngress : p.affectsEgress;
      if (!affects && rules.length > 0) {
        const type = direction === 'ingress' ? 'Ingress' : 'Egress';
        add('NP021', `${pid} ${direction}`, `has ${rules.length} ${direction} rule(s) but policyTypes does not include ${type}, so they are ignored`, `add ${type} to spec.policyTypes or remove the ${direction} rules`);
      }
      if (!affects) continue;
      rules.forEach((r, i) => {
        const where = `${pid} ${direction}[${r.rule.index}]`;
        if (hasPods) {
          // Named ports resolve on the destination: the selected pods (ingress) or the peers (egress).
          const destinations: ClassSet = direction === 'ingress' ? indexed.selected : r.peerClasses;
          const dstIds = destinations === 'all' ? index.classes.map((c) => c.id) : Array.from(destinations);
          for (const np of r.rule.namedPorts) {
            if (!dstIds.some((c) => index.resolveNamedPort(c, np.name, np.protocol) !== undefined)) {
              add('NP021', where, `named port "${np.name}"/${np.protocol} is defined by no destination pod, so this port entry never matches`, `use a port number or name a containerPort "${np.name}" with protocol ${np.protocol} in the destination pods`);
            }
          }
          if (r.rule.peers !== 'all') {
            r.rule.peers.forEach((peer, k) => {
              const sel = r.peerSelections[k];
              if (peer.kind !== 'ipBlock' && sel !== undefined && sel !== 'all' && sel.length === 0) add('NP022', `${where} peer ${k}`, 'this peer selects no pod of the input', 'check the namespace and pod labels of the peer');
            });
          }
        }
        for (let j = 0; j < rules.length; j++) {
          const other = rules[j] as IndexedRule;
          if (j === i || !ruleContains(other, r)) continue;
          // Of two identical rules, report only the later one.
          if (ruleContains(r, other) && j > i) continue;
          add('NP030', where, `everything this rule allows is already allowed by ${direction}[${other.rule.index}] of the same policy`, 'remove the rule or merge it into the broader one');
          break;
        }
      });
    }
  }
  return out;
}

const RANK = { error: 0, warning: 1, info: 2 } as const;

export function sortFindings(findings: LintFinding[]): LintFinding[] {
  return findings.sort((a, b) => RANK[a.severity] - RANK[b.severity] || (a.object < b.object ? -1 : a.object > b.object ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Runs every lint rule; findings sorted by severity, then object. Suppressed findings (by a
 * `netpol-responder.io/lint-ignore` annotation or the config) are kept, marked `suppressed`.
 */
export function lint(index: PolicyIndex, options: LintOptions = {}): LintFinding[] {
  const ignored = new Set(options.ignoreNamespaces ?? options.config?.ignoreNamespaces ?? DEFAULT_IGNORED_NAMESPACES);
  const only = options.namespaces ? new Set(options.namespaces) : undefined;
  const included = (namespace: string): boolean => !only || only.has(namespace);
  const kept = (f: LintFinding): boolean => f.namespace === undefined || included(f.namespace);
  const policies = [...index.policies.values()].map((x) => x.policy).filter((p) => included(p.namespace));
  const findings = [
    ...issueFindings(options.issues ?? []).filter(kept),
    ...namespaceFindings(index, ignored).filter(kept),
    ...policyFindings(index, included),
    ...voidPolicyFindings(policies, (ns) => index.namespaceLabels(ns)),
  ];
  return sortFindings(applySuppressions(findings, policies, options.config, { unusedConfig: !only }));
}

/** Findings that fail a run: errors not suppressed. */
export function failing(findings: readonly LintFinding[]): LintFinding[] {
  return findings.filter((f) => f.severity === 'error' && !f.suppressed);
}
