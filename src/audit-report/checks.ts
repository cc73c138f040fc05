// Post-incident hardening audit: what the policies of a cluster (or of manifests) leave open.
// Pure: it reads a PolicyIndex (or builds one) and returns findings and a per-namespace score;
// no I/O, no clock (the "unused policy" check gets its `now` from the caller).
import { buildIndex, PolicyIndex, type ClusterObjects, type Issue, type LiveObjects, type LoadInput, type NetworkPolicy, type Rule } from '../policy/index.js';
import type { ClassSet } from '../policy/class-set.js';
import { IpSet } from '../policy/ip-set.js';
import { adminPolicyId, policyId, type AdminPeer, type AdminPolicy, type Direction } from '../policy/model.js';
import { formatSelector, isSelectAll, type Selector } from '../policy/selectors.js';
import { extendedIsolation, type ClusterwideCilium } from './isolation.js';

export type AuditRuleId =
  | 'audit/invalid-input'
  | 'audit/no-default-deny'
  | 'audit/unselected-pods'
  | 'audit/allows-any-address'
  | 'audit/allows-all-ports'
  | 'audit/allows-all-namespaces'
  | 'audit/selects-no-pod'
  | 'audit/unused-policy'
  | 'audit/admin-override';

export type AuditLevel = 'error' | 'warning' | 'note';

export interface AuditRule {
  id: AuditRuleId;
  level: AuditLevel;
  summary: string;
  help: string;
}

/** The rule catalogue, in report order; ids are stable (SARIF consumers key on them). */
export const AUDIT_RULES: readonly AuditRule[] = [
  { id: 'audit/invalid-input', level: 'error', summary: 'an object of the input is invalid or could not be read', help: 'Fix the manifest; the rest of the audit ignores the object.' },
  { id: 'audit/no-default-deny', level: 'warning', summary: 'a namespace has no default-deny policy for a direction', help: 'Add a NetworkPolicy with podSelector: {} and the direction in policyTypes (or a CiliumNetworkPolicy selecting every endpoint, or an (Baseline)AdminNetworkPolicy Deny rule for every peer), then allow what the namespace needs.' },
  { id: 'audit/unselected-pods', level: 'warning', summary: 'pods that no policy selects for a direction', help: 'Pods no policy selects accept (ingress) or send (egress) any traffic; cover them with a default deny or a policy of their own.' },
  { id: 'audit/allows-any-address', level: 'warning', summary: 'a policy allows every address (0.0.0.0/0, ::/0 or an empty from/to)', help: 'Narrow the peers to the addresses or pods that need the access.' },
  { id: 'audit/allows-all-ports', level: 'note', summary: 'a policy rule allows every port', help: 'List the ports the peers need.' },
  { id: 'audit/allows-all-namespaces', level: 'warning', summary: 'a policy allows pods of every namespace', help: 'Use a namespaceSelector that names the namespaces that need the access.' },
  { id: 'audit/selects-no-pod', level: 'note', summary: 'a policy selects no pod', help: 'Check its podSelector against the pod labels, or delete the policy.' },
  { id: 'audit/unused-policy', level: 'note', summary: 'no flow has matched a policy within the window', help: 'Check whether the policy is still needed; an allow nobody uses is attack surface.' },
  { id: 'audit/admin-override', level: 'note', summary: 'an AdminNetworkPolicy or BaselineAdminNetworkPolicy applies on top of the namespace policies', help: 'ANP Allow/Deny rules win over NetworkPolicies; the BANP applies where no NetworkPolicy decides. Check that the override is intended.' },
];

const RULE_LEVEL = new Map(AUDIT_RULES.map((r) => [r.id, r.level]));

export interface AuditFinding {
  ruleId: AuditRuleId;
  level: AuditLevel;
  /** Absent for cluster-wide objects (ANP, BANP). */
  namespace?: string;
  /** `Namespace ns`, `NetworkPolicy ns/name`, `AdminNetworkPolicy name`... */
  object: string;
  /** Set when the rule reports a namespace once per direction (unselected-pods). */
  direction?: Direction;
  message: string;
  /** The loader's source name of the object (`file#2`, `live`), for locations. */
  source?: string;
  /** Sampled items (pods, rules); `more` says how many were left out. */
  items?: string[];
  more?: number;
}

export type CheckStatus = { id: AuditRuleId; run: true } | { id: AuditRuleId; run: false; reason: string };

export interface NamespaceScore {
  namespace: string;
  score: number;
  pods: number;
  policies: number;
}

export interface AuditReport {
  findings: AuditFinding[];
  /** Sorted by score, lowest first, then name. */
  scores: NamespaceScore[];
  checks: CheckStatus[];
  totals: { namespaces: number; pods: number; policies: number; adminPolicies: number };
}

export interface MatchedPolicies {
  /** `namespace/name` -> last time a flow matched the policy. */
  lastMatch: ReadonlyMap<string, Date>;
  now: Date;
  /** Window in days (default 30). */
  days?: number;
  /** When the flows behind lastMatch start (the collector's learning start), if known. */
  observedSince?: Date;
}

export interface AuditOptions {
  /** Undefined: flow matches are not known, the unused-policy check is reported as not run. */
  matched?: MatchedPolicies;
  /** Why flow matches are not known (e.g. the collector has no snapshot): the not-run reason. */
  matchedUnavailable?: string;
  /** CiliumClusterwideNetworkPolicies (the engine does not model them): they isolate pods too. */
  clusterwideCilium?: readonly ClusterwideCilium[];
  /** Loader issues to report (buildIndex's are added when the input is not an index). */
  issues?: readonly Issue[];
  /** Items kept per finding (default 20): a 10k-pod namespace must not make a 10k-line finding. */
  maxItems?: number;
}

export type AuditSource = PolicyIndex | ClusterObjects | readonly LoadInput[] | LiveObjects;

const WORLD_V4 = IpSet.range(4, 0n, (1n << 32n) - 1n);
const WORLD_V6 = IpSet.range(6, 0n, (1n << 128n) - 1n);

function coversWorld(set: IpSet): string | undefined {
  if (WORLD_V4.subtract(set).isEmpty()) return '0.0.0.0/0';
  if (WORLD_V6.subtract(set).isEmpty()) return '::/0';
  return undefined;
}

function classCount(set: ClassSet, total: number): number {
  return set === 'all' ? total : set.length;
}

function affects(p: NetworkPolicy, d: Direction): boolean {
  return d === 'ingress' ? p.affectsIngress : p.affectsEgress;
}

function sample(list: readonly string[], max: number): Pick<AuditFinding, 'items' | 'more'> {
  return list.length > max ? { items: list.slice(0, max), more: list.length - max } : { items: [...list] };
}

/** `ingress[0]` style path of a rule, with its direction's field name. */
function rulePath(r: Rule): string {
  return `${r.direction}[${r.index}]`;
}

/** Why a rule reaches every address, or undefined. */
function anyAddressReason(r: Rule): string | undefined {
  if (r.peers === 'all') return `${rulePath(r)}: empty ${r.direction === 'ingress' ? 'from' : 'to'} (every address and pod)`;
  for (const peer of r.peers) {
    if (peer.kind !== 'ipBlock') continue;
    const world = coversWorld(peer.set);
    if (world) return `${rulePath(r)}: ipBlock ${peer.cidr}${peer.except.length > 0 ? ` except ${peer.except.join(', ')}` : ''} (${world})`;
  }
  return undefined;
}

function allNamespacesReason(r: Rule): string | undefined {
  if (r.peers === 'all') return `${rulePath(r)}: empty ${r.direction === 'ingress' ? 'from' : 'to'}`;
  for (const peer of r.peers) {
    if (peer.kind === 'namespaces' && isSelectAll(peer.namespaceSelector)) {
      return `${rulePath(r)}: namespaceSelector {}${isSelectAll(peer.podSelector) ? '' : ` with podSelector ${formatSelector(peer.podSelector)}`}`;
    }
  }
  return undefined;
}

function allPortsReason(r: Rule): string | undefined {
  if (r.ports === 'all') return `${rulePath(r)}: no ports listed`;
  if (r.numericConns.isAll()) return `${rulePath(r)}: the port ranges cover every port`;
  return undefined;
}

function describeSelector(s: Selector): string {
  return isSelectAll(s) ? '{}' : formatSelector(s);
}

function podsIn(podSelector: Selector, namespaceSelector: Selector): string {
  const pods = isSelectAll(podSelector) ? 'every pod' : `pods ${formatSelector(podSelector)}`;
  return `${pods} of ${isSelectAll(namespaceSelector) ? 'every namespace' : `namespaces ${formatSelector(namespaceSelector)}`}`;
}

function describeAdminPeer(p: AdminPeer): string {
  switch (p.kind) {
    case 'namespaces':
      return isSelectAll(p.namespaceSelector) ? 'every namespace' : `namespaces ${formatSelector(p.namespaceSelector)}`;
    case 'pods':
      return podsIn(p.podSelector, p.namespaceSelector);
    case 'nodes':
      return isSelectAll(p.nodeSelector) ? 'every node' : `nodes ${formatSelector(p.nodeSelector)}`;
    case 'networks':
      return `networks ${p.cidrs.join(', ')}`;
  }
}

export function auditReport(source: AuditSource, options: AuditOptions = {}): AuditReport {
  let index: PolicyIndex;
  const issues: Issue[] = [...(options.issues ?? [])];
  if (source instanceof PolicyIndex) index = source;
  else {
    const built = buildIndex(source);
    index = built.index;
    issues.push(...built.issues);
  }
  const maxItems = options.maxItems ?? 20;
  const findings: AuditFinding[] = [];
  const add = (f: Omit<AuditFinding, 'level'>): void => {
    findings.push({ ...f, level: RULE_LEVEL.get(f.ruleId) ?? 'note' } as AuditFinding);
  };
  const checks: CheckStatus[] = [];

  for (const issue of issues) {
    if (issue.severity !== 'error') continue;
    add({ ruleId: 'audit/invalid-input', object: issue.object ?? 'input', message: issue.message, source: issue.source });
  }
  checks.push({ id: 'audit/invalid-input', run: true });

  const totalClasses = index.classes.length;
  const hasPods = totalClasses > 0;
  const policiesByNs = new Map<string, NetworkPolicy[]>();
  for (const { policy } of index.policies.values()) {
    const list = policiesByNs.get(policy.namespace);
    if (list) list.push(policy);
    else policiesByNs.set(policy.namespace, [policy]);
  }
  const podsByNs = new Map<string, number>();
  const classesByNs = new Map<string, PolicyIndex['classes']>();
  for (const c of index.classes) {
    podsByNs.set(c.namespace, (podsByNs.get(c.namespace) ?? 0) + c.pods.length);
    const list = classesByNs.get(c.namespace);
    if (list) list.push(c);
    else classesByNs.set(c.namespace, [c]);
  }
  const namespaces = [...new Set([...index.namespaces.keys(), ...policiesByNs.keys(), ...podsByNs.keys()])].sort();
  const firstSource = (ns: string): string | undefined =>
    index.namespaces.get(ns)?.source ?? policiesByNs.get(ns)?.[0]?.source ?? classesByNs.get(ns)?.[0]?.pods[0]?.source;

  // Penalty inputs for the score, filled by the checks below.
  const missingDeny = new Map<string, Set<Direction>>();
  const unselectedShare = new Map<string, { ingress: number; egress: number }>();
  const broad = new Map<string, { anyAddress: number; allNamespaces: number; allPorts: number; noPod: number; unused: number }>();
  const penalty = (ns: string): { anyAddress: number; allNamespaces: number; allPorts: number; noPod: number; unused: number } => {
    let b = broad.get(ns);
    if (!b) broad.set(ns, (b = { anyAddress: 0, allNamespaces: 0, allPorts: 0, noPod: 0, unused: 0 }));
    return b;
  };

  // Default deny: a policy of the namespace that selects every pod (podSelector: {}) and affects
  // the direction isolates every pod, present or future, whatever it then allows explicitly. So
  // does a CNP/CCNP selecting every endpoint of the namespace, or an ANP/BANP deny-all rule.
  const isolation = extendedIsolation(index, options.clusterwideCilium);
  for (const ns of namespaces) {
    const policies = policiesByNs.get(ns) ?? [];
    const missing = (['ingress', 'egress'] as const).filter((d) => !policies.some((p) => affects(p, d) && isSelectAll(p.podSelector)) && isolation.namespaceDeny(ns, d) === undefined);
    if (missing.length === 0) continue;
    missingDeny.set(ns, new Set(missing));
    const src = firstSource(ns);
    add({
      ruleId: 'audit/no-default-deny',
      namespace: ns,
      object: `Namespace ${ns}`,
      message: `namespace ${ns} has no default-deny ${missing.join(' or ')} policy (podSelector: {} with ${missing.map((d) => (d === 'ingress' ? 'Ingress' : 'Egress')).join(' and ')} in policyTypes)`,
      ...(src !== undefined ? { source: src } : {}),
    });
  }
  checks.push({ id: 'audit/no-default-deny', run: true });

  if (hasPods) {
    for (const ns of namespaces) {
      const classes = classesByNs.get(ns) ?? [];
      const pods = podsByNs.get(ns) ?? 0;
      const share = { ingress: 0, egress: 0 };
      for (const d of ['ingress', 'egress'] as const) {
        const of = d === 'ingress' ? index.ingressOf : index.egressOf;
        const open = classes.filter((c) => (of[c.id]?.length ?? 0) === 0 && !isolation.classIsolated(c.id, d)).flatMap((c) => c.pods);
        if (open.length === 0) continue;
        share[d] = pods === 0 ? 0 : open.length / pods;
        const names = open.map((p) => `${p.namespace}/${p.name}`).sort();
        add({
          ruleId: 'audit/unselected-pods',
          namespace: ns,
          direction: d,
          object: `Namespace ${ns}`,
          message: `${open.length} of ${pods} pods of namespace ${ns} are selected by no ${d} policy: they ${d === 'ingress' ? 'accept' : 'send'} any traffic`,
          ...(open[0]?.source !== undefined ? { source: open[0].source } : {}),
          ...sample(names, maxItems),
        });
      }
      unselectedShare.set(ns, share);
    }
    checks.push({ id: 'audit/unselected-pods', run: true });
  } else checks.push({ id: 'audit/unselected-pods', run: false, reason: 'the input has no pods' });

  const sortedPolicies = [...index.policies.values()].sort((a, b) => (policyId(a.policy) < policyId(b.policy) ? -1 : policyId(a.policy) > policyId(b.policy) ? 1 : 0));
  for (const { policy, selected } of sortedPolicies) {
    const pid = policyId(policy);
    const object = `NetworkPolicy ${pid}`;
    const base = { namespace: policy.namespace, object, source: policy.source };
    const rules = [...(policy.affectsIngress ? policy.ingress : []), ...(policy.affectsEgress ? policy.egress : [])];
    const broadChecks: Array<[AuditRuleId, (r: Rule) => string | undefined, string, 'anyAddress' | 'allNamespaces' | 'allPorts']> = [
      ['audit/allows-any-address', anyAddressReason, 'allows every address', 'anyAddress'],
      ['audit/allows-all-namespaces', allNamespacesReason, 'allows pods of every namespace', 'allNamespaces'],
      ['audit/allows-all-ports', allPortsReason, 'allows every port', 'allPorts'],
    ];
    for (const [ruleId, reason, what, key] of broadChecks) {
      const reasons = rules.map(reason).filter((x): x is string => x !== undefined);
      if (reasons.length === 0) continue;
      penalty(policy.namespace)[key] += 1;
      add({ ...base, ruleId, message: `${pid} ${what} (${reasons.length} ${reasons.length === 1 ? 'rule' : 'rules'})`, ...sample(reasons, maxItems) });
    }
    if (hasPods && classCount(selected, totalClasses) === 0) {
      penalty(policy.namespace).noPod += 1;
      add({ ...base, ruleId: 'audit/selects-no-pod', message: `${pid} selects no pod (podSelector ${describeSelector(policy.podSelector)}${podsByNs.has(policy.namespace) ? '' : `; the input has no pod in namespace ${policy.namespace}`})` });
    }
  }
  checks.push({ id: 'audit/allows-any-address', run: true }, { id: 'audit/allows-all-namespaces', run: true }, { id: 'audit/allows-all-ports', run: true });
  checks.push(hasPods ? { id: 'audit/selects-no-pod', run: true } : { id: 'audit/selects-no-pod', run: false, reason: 'the input has no pods' });

  const matched = options.matched;
  if (matched) {
    const days = matched.days ?? 30;
    const cutoff = matched.now.getTime() - days * 86_400_000;
    // Flows known for less than the window: say so rather than claim the whole window.
    const short = matched.observedSince && matched.observedSince.getTime() > cutoff ? `; flows are known since ${matched.observedSince.toISOString()} only` : '';
    for (const { policy } of sortedPolicies) {
      // A pure deny (no rule in a direction it affects) allows nothing, so no flow can match it:
      // it is not unused, it works by nothing flowing.
      if ((policy.affectsIngress ? policy.ingress.length : 0) + (policy.affectsEgress ? policy.egress.length : 0) === 0) continue;
      const pid = policyId(policy);
      const last = matched.lastMatch.get(pid);
      if (last !== undefined && last.getTime() >= cutoff) continue;
      penalty(policy.namespace).unused += 1;
      add({
        ruleId: 'audit/unused-policy',
        namespace: policy.namespace,
        object: `NetworkPolicy ${pid}`,
        source: policy.source,
        message: last === undefined ? `no flow has matched ${pid} (window: ${days} days${short})` : `no flow has matched ${pid} in ${days} days (last match ${last.toISOString()})`,
      });
    }
    checks.push({ id: 'audit/unused-policy', run: true });
  } else checks.push({ id: 'audit/unused-policy', run: false, reason: options.matchedUnavailable ?? 'flow matches are not known (the flow collector is not running)' });

  for (const p of adminPolicies(index)) add(adminFinding(index, p, maxItems));
  checks.push({ id: 'audit/admin-override', run: true });

  const scores = namespaces
    .map((ns) => ({
      namespace: ns,
      score: namespaceScore(missingDeny.get(ns), unselectedShare.get(ns), broad.get(ns)),
      pods: podsByNs.get(ns) ?? 0,
      policies: policiesByNs.get(ns)?.length ?? 0,
    }))
    .sort((a, b) => a.score - b.score || (a.namespace < b.namespace ? -1 : 1));
  const totalPods = [...podsByNs.values()].reduce((a, b) => a + b, 0);
  return { findings, scores, checks, totals: { namespaces: namespaces.length, pods: totalPods, policies: index.policies.size, adminPolicies: index.extended?.adminPolicies.length ?? 0 } };
}

function adminPolicies(index: PolicyIndex): AdminPolicy[] {
  const list = [...(index.extended?.adminPolicies ?? [])];
  // ANPs by priority then name, the BANP last: the order they are evaluated in.
  const rank = (p: AdminPolicy): number => (p.kind === 'AdminNetworkPolicy' ? p.priority : Number.POSITIVE_INFINITY);
  return list.sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function adminFinding(index: PolicyIndex, p: AdminPolicy, maxItems: number): Omit<AuditFinding, 'level'> {
  const namespaces = index.selectNamespaces(p.subject.namespaceSelector);
  const selected = index.selectClasses(namespaces, p.subject.podSelector, `nssel=${p.subject.namespaceSelector.key}`);
  const pods = selected === 'all' ? index.classes.reduce((n, c) => n + c.pods.length, 0) : Array.from(selected).reduce((n, id) => n + (index.classes[id]?.pods.length ?? 0), 0);
  const subject = podsIn(p.subject.podSelector, p.subject.namespaceSelector);
  const rules = [...p.ingress, ...p.egress].map((r) => `${r.direction}[${r.index}]${r.name ? ` "${r.name}"` : ''}: ${r.action} ${r.direction === 'ingress' ? 'from' : 'to'} ${r.peers.map(describeAdminPeer).join('; ') || 'nothing'}`);
  const actions = [...new Set([...p.ingress, ...p.egress].map((r) => r.action))].sort().join('/') || 'no rules';
  const kind = p.kind === 'AdminNetworkPolicy' ? `AdminNetworkPolicy ${p.name} (priority ${p.priority})` : `BaselineAdminNetworkPolicy ${p.name}`;
  const effect = p.kind === 'AdminNetworkPolicy' ? 'its Allow and Deny rules win over NetworkPolicies, Pass hands over to them' : 'applies where no NetworkPolicy decides';
  return {
    ruleId: 'audit/admin-override',
    object: adminPolicyId(p).replace(/^ANP /, 'AdminNetworkPolicy ').replace(/^BANP /, 'BaselineAdminNetworkPolicy '),
    source: p.source,
    message: `${kind} (${actions}) selects ${subject}: ${pods} pods in ${namespaces.length} namespaces; ${effect}`,
    ...sample(rules, maxItems),
  };
}

/**
 * Per-namespace score, 0 (wide open) to 100 (nothing found). Deterministic:
 *   100
 *   - 25 without a default-deny ingress policy, - 15 without a default-deny egress policy
 *   - 20 x share of its pods selected by no ingress policy, - 10 x share selected by no egress policy
 *   - 10 per policy allowing every address (at most 20)
 *   - 5 per policy allowing every namespace (at most 10)
 *   - 2 per policy allowing every port (at most 10)
 *   - 2 per policy selecting no pod (at most 6), - 2 per unused policy (at most 6; only when known)
 * clamped to 0..100 and rounded to an integer. Ingress weighs more than egress: an open
 * ingress is what an attacker reaches first. ANP/BANP overrides are listed, not scored.
 */
export function namespaceScore(
  missingDeny: ReadonlySet<Direction> | undefined,
  unselected: { ingress: number; egress: number } | undefined,
  broad: { anyAddress: number; allNamespaces: number; allPorts: number; noPod: number; unused: number } | undefined,
): number {
  let score = 100;
  if (missingDeny?.has('ingress')) score -= 25;
  if (missingDeny?.has('egress')) score -= 15;
  score -= 20 * (unselected?.ingress ?? 0) + 10 * (unselected?.egress ?? 0);
  if (broad) {
    score -= Math.min(20, 10 * broad.anyAddress) + Math.min(10, 5 * broad.allNamespaces) + Math.min(10, 2 * broad.allPorts);
    score -= Math.min(6, 2 * broad.noPod) + Math.min(6, 2 * broad.unused);
  }
  return Math.max(0, Math.min(100, Math.round(score)));
}
