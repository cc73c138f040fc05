// The AdminNetworkPolicy, BaselineAdminNetworkPolicy and CiliumNetworkPolicy part of the index:
// per pod class and direction, the rules that apply, in evaluation order (ANP by priority, then
// name, then rule order; the CNP allows and denies; the BANP in rule order). Built once with the
// index; NetworkPolicies keep their own (incremental) structures in policy-index.ts.
import { classSetHas, classSetUnion, EMPTY_CLASSES, type ClassSet } from './class-set.js';
import { CILIUM_NS_LABEL, CILIUM_NS_LABELS_PREFIX } from './compile-cilium.js';
import { IpSet } from './ip-set.js';
import { adminPolicyId, ciliumPolicyId, type AdminPeer, type AdminPolicy, type CiliumPolicy, type CiliumRule, type Direction, type Issue, type Node } from './model.js';
import type { PolicyIndex } from './policy-index.js';
import type { Conns, Protocol } from './port-set.js';
import { matches, SELECT_ALL, type Labels, type Selector } from './selectors.js';

export type XOrigin = 'ANP' | 'BANP' | 'CNP';

/** One ANP/BANP/CNP rule as it applies to a pod class. */
export interface XRule {
  origin: XOrigin;
  /** `ANP name`, `BANP default` or `CNP ns/name`. */
  policy: string;
  /** `ingress[0] "allow-dns"`, `spec.egressDeny[1]`... */
  rule: string;
  action: 'Allow' | 'Deny' | 'Pass';
  /** ANP priority (BANP: Infinity, CNP: NaN). */
  priority: number;
  /** Pod classes the rule's peers select. */
  peerClasses: ClassSet;
  /** Addresses outside the cluster the rule's peers select (networks, node addresses, CIDRs, world). */
  ips: IpSet;
  ports: { numericConns: Conns; namedPorts: ReadonlyArray<{ name: string; protocol: Protocol }> };
}

export interface XSide {
  anp: XRule[];
  /** CiliumNetworkPolicies that put the class in default deny for this direction. */
  cnpIsolating: string[];
  cnpAllow: XRule[];
  cnpDeny: XRule[];
  banp: XRule[];
}

export interface ExtendedIndex {
  /** Per class; undefined where no ANP/BANP/CNP applies in that direction. */
  ingress: Array<XSide | undefined>;
  egress: Array<XSide | undefined>;
  /** Every address set mentioned, per direction (for the external ranges of connectivity). */
  ingressIps: IpSet[];
  egressIps: IpSet[];
  adminPolicies: AdminPolicy[];
  ciliumPolicies: CiliumPolicy[];
  nodes: Node[];
  issues: Issue[];
}

/** Label form Cilium matches endpoint selectors against: pod labels plus namespace identity labels. */
export function ciliumLabels(namespace: string, labels: Labels, namespaceLabels: Labels | undefined): Labels {
  const out: Record<string, string> = { ...labels, [CILIUM_NS_LABEL]: namespace };
  for (const [k, v] of Object.entries(namespaceLabels ?? {})) out[`${CILIUM_NS_LABELS_PREFIX}${k}`] = v;
  return out;
}

function ids(set: ClassSet, n: number): number[] {
  return set === 'all' ? Array.from({ length: n }, (_, i) => i) : Array.from(set);
}

class Builder {
  private readonly nonHost: ClassSet;
  private readonly ciliumLabelCache: Labels[] = [];

  constructor(private readonly index: PolicyIndex) {
    const all = index.classes.filter((c) => !c.hostNetwork).map((c) => c.id);
    this.nonHost = all.length === index.classes.length && all.length > 0 ? 'all' : Uint32Array.from(all);
  }

  /** Host-network pods are neither subjects nor peers of ANP/BANP (API) nor Cilium endpoints. */
  private withoutHost(set: ClassSet): ClassSet {
    if (this.nonHost === 'all') return set;
    const keep = ids(set, this.index.classes.length).filter((c) => !this.index.classes[c]?.hostNetwork);
    return Uint32Array.from(keep);
  }

  selectPods(namespaceSelector: Selector, podSelector: Selector): ClassSet {
    const sel = this.index.selectClasses(this.index.selectNamespaces(namespaceSelector), podSelector, `nssel=${namespaceSelector.key}`);
    return this.withoutHost(sel);
  }

  private nodeIps(selector: Selector, nodes: readonly Node[]): IpSet {
    let ips = IpSet.EMPTY;
    for (const n of nodes) if (matches(selector, n.labels)) ips = ips.union(n.addresses);
    return ips;
  }

  adminPeers(peers: readonly AdminPeer[], nodes: readonly Node[]): { peerClasses: ClassSet; ips: IpSet } {
    let peerClasses: ClassSet = EMPTY_CLASSES;
    let ips = IpSet.EMPTY;
    for (const p of peers) {
      if (p.kind === 'namespaces') peerClasses = classSetUnion(peerClasses, this.selectPods(p.namespaceSelector, SELECT_ALL));
      else if (p.kind === 'pods') peerClasses = classSetUnion(peerClasses, this.selectPods(p.namespaceSelector, p.podSelector));
      else if (p.kind === 'nodes') ips = ips.union(this.nodeIps(p.nodeSelector, nodes));
      else {
        ips = ips.union(p.set);
        // The API checks pod-to-pod traffic against networks too; pod addresses are not modelled,
        // but every pod address lies in a /0 (see docs/policy-engine.md).
        if (p.cidrs.some((c) => c.endsWith('/0'))) peerClasses = 'all';
      }
    }
    return { peerClasses, ips };
  }

  private ciliumLabelsOf(c: number): Labels {
    let l = this.ciliumLabelCache[c];
    if (!l) {
      const cls = this.index.classes[c];
      l = cls ? ciliumLabels(cls.namespace, cls.labels, this.index.namespaceLabels(cls.namespace)) : {};
      this.ciliumLabelCache[c] = l;
    }
    return l;
  }

  selectEndpoints(selector: Selector): ClassSet {
    const out: number[] = [];
    for (const c of this.index.classes) if (!c.hostNetwork && matches(selector, this.ciliumLabelsOf(c.id))) out.push(c.id);
    return Uint32Array.from(out);
  }

  ciliumPeers(rule: CiliumRule): { peerClasses: ClassSet; ips: IpSet } {
    if (rule.peers === 'all') return { peerClasses: 'all', ips: IpSet.ALL };
    let peerClasses: ClassSet = rule.peers.allPods ? this.nonHost : EMPTY_CLASSES;
    for (const s of rule.peers.endpoints) peerClasses = classSetUnion(peerClasses, this.selectEndpoints(s));
    return { peerClasses, ips: rule.peers.ips };
  }
}

function emptySide(): XSide {
  return { anp: [], cnpIsolating: [], cnpAllow: [], cnpDeny: [], banp: [] };
}

function ruleLabel(direction: Direction, index: number, name: string): string {
  return `${direction}[${index}]${name ? ` "${name}"` : ''}`;
}

/** ANPs in evaluation order: priority, then name (the API leaves equal priorities undefined). */
export function adminOrder(a: AdminPolicy, b: AdminPolicy): number {
  return a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

export function buildExtendedIndex(index: PolicyIndex, admin: readonly AdminPolicy[], cilium: readonly CiliumPolicy[], nodes: readonly Node[]): ExtendedIndex {
  const n = index.classes.length;
  const b = new Builder(index);
  const x: ExtendedIndex = { ingress: new Array(n).fill(undefined), egress: new Array(n).fill(undefined), ingressIps: [], egressIps: [], adminPolicies: [...admin], ciliumPolicies: [...cilium], nodes: [...nodes], issues: [] };
  const side = (direction: Direction, c: number): XSide => {
    const list = direction === 'ingress' ? x.ingress : x.egress;
    return (list[c] ??= emptySide());
  };
  const subjects = new Map<AdminPolicy, ClassSet>();
  for (const p of [...admin].sort(adminOrder)) {
    const subject = b.selectPods(p.subject.namespaceSelector, p.subject.podSelector);
    subjects.set(p, subject);
    const origin: XOrigin = p.kind === 'AdminNetworkPolicy' ? 'ANP' : 'BANP';
    for (const direction of ['ingress', 'egress'] as const) {
      for (const r of p[direction]) {
        const { peerClasses, ips } = b.adminPeers(r.peers, nodes);
        (direction === 'ingress' ? x.ingressIps : x.egressIps).push(ips);
        const xr: XRule = { origin, policy: adminPolicyId(p), rule: ruleLabel(direction, r.index, r.name), action: r.action, priority: p.priority, peerClasses, ips, ports: r };
        for (const c of ids(subject, n)) side(direction, c)[origin === 'ANP' ? 'anp' : 'banp'].push(xr);
      }
    }
  }
  for (const p of cilium) {
    for (const spec of p.specs) {
      const selected = ids(b.selectEndpoints(spec.endpointSelector), n);
      for (const direction of ['ingress', 'egress'] as const) {
        const isolates = direction === 'ingress' ? spec.defaultDenyIngress : spec.defaultDenyEgress;
        const rules = spec[direction].map((r) => {
          const { peerClasses, ips } = b.ciliumPeers(r);
          if (r.peers !== 'all') (direction === 'ingress' ? x.ingressIps : x.egressIps).push(ips);
          return { origin: 'CNP', policy: ciliumPolicyId(p), rule: r.path, action: r.deny ? 'Deny' : 'Allow', priority: Number.NaN, peerClasses, ips, ports: r } satisfies XRule;
        });
        if (!isolates && rules.length === 0) continue;
        for (const c of selected) {
          const s = side(direction, c);
          if (isolates && !s.cnpIsolating.includes(ciliumPolicyId(p))) s.cnpIsolating.push(ciliumPolicyId(p));
          for (const r of rules) (r.action === 'Deny' ? s.cnpDeny : s.cnpAllow).push(r);
        }
      }
    }
  }
  x.issues.push(...samePriorityIssues(admin, subjects, n));
  return x;
}

/** Two ANPs of one priority whose subjects share pods (or may: without pods, any two). */
function samePriorityIssues(admin: readonly AdminPolicy[], subjects: Map<AdminPolicy, ClassSet>, classCount: number): Issue[] {
  const out: Issue[] = [];
  const anps = admin.filter((p) => p.kind === 'AdminNetworkPolicy').sort(adminOrder);
  for (let i = 0; i < anps.length; i++) {
    for (let j = i + 1; j < anps.length && (anps[j] as AdminPolicy).priority === (anps[i] as AdminPolicy).priority; j++) {
      const a = anps[i] as AdminPolicy;
      const c = anps[j] as AdminPolicy;
      const directions = (['ingress', 'egress'] as const).filter((d) => a[d].length > 0 && c[d].length > 0);
      if (directions.length === 0) continue;
      const sa = subjects.get(a) ?? EMPTY_CLASSES;
      const sc = subjects.get(c) ?? EMPTY_CLASSES;
      const shared = classCount === 0 || ids(sa, classCount).some((k) => classSetHas(sc, k));
      if (!shared) continue;
      out.push({
        severity: 'warning',
        code: 'anp-same-priority',
        source: c.source,
        object: `AdminNetworkPolicy ${c.name}`,
        message: `has the same priority (${c.priority}) as AdminNetworkPolicy ${a.name} and ${classCount === 0 ? 'may select' : 'selects'} the same pods (${directions.join(' and ')}): the API leaves their order undefined; this analysis applies ${a.name} first (names in alphabetical order)`,
      });
    }
  }
  return out;
}
