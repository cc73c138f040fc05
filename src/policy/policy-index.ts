// The index every query runs on. Pods with the same namespace, labels and named ports behave
// identically under any NetworkPolicy, so they are grouped into classes and every selector is
// evaluated once per class (and cached by its canonical key), never once per pod.
import { classSetUnion, EMPTY_CLASSES, type ClassSet } from './class-set.js';
import { buildExtendedIndex, type ExtendedIndex } from './extended-index.js';
import { IpSet } from './ip-set.js';
import type { ClusterObjects, Namespace, NetworkPolicy, Peer, Pod, Rule, WorkloadRef } from './model.js';
import { policyId } from './model.js';
import { groupIntoClasses, groupWorkloads, namedPortMap, type WorkloadMembers } from './pod-classes.js';
import { Conns, portRange, type Protocol } from './port-set.js';
import { isSelectAll, matches, type Labels, type Selector } from './selectors.js';

export interface PodClass {
  id: number;
  namespace: string;
  labels: Labels;
  /** `name/PROTOCOL` -> port number. */
  namedPorts: ReadonlyMap<string, number>;
  pods: Pod[];
  /** Indexes into PolicyIndex.workloads. */
  workloads: number[];
  hostNetwork: boolean;
}

export interface Workload {
  index: number;
  id: string;
  ref: WorkloadRef;
  classes: number[];
  pods: Pod[];
}

export interface IndexedRule {
  rule: Rule;
  policy: NetworkPolicy;
  /** Pod classes matched by the rule's pod/namespace peers ('all' when from/to is empty). */
  peerClasses: ClassSet;
  /** Per peer, the classes it matches (undefined for ipBlock peers); kept for explanations. */
  peerSelections: Array<ClassSet | undefined>;
  /** Addresses matched by the rule's ipBlock peers (everything when from/to is empty). */
  ips: IpSet;
}

export interface IndexedPolicy {
  policy: NetworkPolicy;
  selected: ClassSet;
  ingress: IndexedRule[];
  egress: IndexedRule[];
}

export interface PolicyChangeImpact {
  /** Classes whose ingress decisions may have changed. */
  ingress: number[];
  /** Classes whose egress decisions may have changed. */
  egress: number[];
  /** True when the old or new version references ipBlocks (address blocks may have moved). */
  ipBlocks: boolean;
}

function hasIpBlocks(policy: NetworkPolicy): boolean {
  return [...policy.ingress, ...policy.egress].some((r) => r.peers !== 'all' && r.peers.some((p) => p.kind === 'ipBlock'));
}

export class PolicyIndex {
  readonly namespaces = new Map<string, Namespace>();
  readonly classes: PodClass[] = [];
  readonly workloads: Workload[] = [];
  private policyMap = new Map<string, IndexedPolicy>();
  /** Every NetworkPolicy indexed, by `namespace/name`, in the order given. */
  get policies(): Map<string, IndexedPolicy> {
    return this.policyMap;
  }
  /** Per class: the policies that select it and affect ingress / egress. */
  readonly ingressOf: IndexedPolicy[][] = [];
  readonly egressOf: IndexedPolicy[][] = [];
  /**
   * AdminNetworkPolicies, the BaselineAdminNetworkPolicy and CiliumNetworkPolicies, when the
   * input has any (upsertPolicy/removePolicy change NetworkPolicies only; see replaceExtended).
   */
  get extended(): ExtendedIndex | undefined {
    return this.extendedIndex;
  }

  private extendedIndex: ExtendedIndex | undefined;

  private readonly classesByNamespace = new Map<string, Uint32Array>();
  private readonly workloadById = new Map<string, number>();
  private readonly workloadsByName = new Map<string, Workload[]>();
  private readonly podByName = new Map<string, Pod>();
  private readonly classOfPod = new Map<Pod, number>();
  private readonly selectionCache = new Map<string, ClassSet>();
  private readonly namespaceSelectionCache = new Map<string, string[]>();

  constructor(objects: Pick<ClusterObjects, 'namespaces' | 'pods' | 'policies' | 'adminPolicies' | 'ciliumPolicies' | 'nodes'>) {
    for (const ns of objects.namespaces) this.namespaces.set(ns.name, ns);
    this.buildClasses(objects.pods);
    for (const policy of objects.policies) this.upsertPolicy(policy);
    this.replaceExtended(objects);
  }

  get classCount(): number {
    return this.classes.length;
  }

  private buildClasses(pods: readonly Pod[]): void {
    const groups = groupIntoClasses(pods);
    const classIds = groups.map((members) => {
      const id = this.classes.length;
      this.classes.push(this.makeClass(id, members));
      this.ingressOf.push([]);
      this.egressOf.push([]);
      return id;
    });
    const byNs = new Map<string, number[]>();
    for (const c of this.classes) {
      const list = byNs.get(c.namespace);
      if (list) list.push(c.id);
      else byNs.set(c.namespace, [c.id]);
    }
    for (const [ns, ids] of byNs) this.classesByNamespace.set(ns, Uint32Array.from(ids));
    const members = groupWorkloads(groups, classIds);
    for (const wid of [...members.keys()].sort()) {
      const w = members.get(wid) as WorkloadMembers;
      const workload: Workload = { index: this.workloads.length, id: wid, ref: w.ref, classes: [...w.classes].sort((a, b) => a - b), pods: w.pods };
      this.workloads.push(workload);
      this.workloadById.set(wid, workload.index);
      const byName = `${w.ref.namespace}/${w.ref.name}`;
      const same = this.workloadsByName.get(byName);
      if (same) same.push(workload);
      else this.workloadsByName.set(byName, [workload]);
      for (const c of workload.classes) this.classes[c]?.workloads.push(workload.index);
    }
  }

  /** A class of `members` (pods of one class) numbered `id`, its pods registered under it. */
  private makeClass(id: number, members: Pod[]): PodClass {
    const first = members[0] as Pod;
    for (const pod of members) {
      this.podByName.set(`${pod.namespace}/${pod.name}`, pod);
      this.classOfPod.set(pod, id);
    }
    return { id, namespace: first.namespace, labels: first.labels, namedPorts: namedPortMap(first), pods: members, workloads: [], hostNetwork: first.hostNetwork };
  }

  // ---- selectors -------------------------------------------------------------------------

  namespaceLabels(name: string): Labels | undefined {
    return this.namespaces.get(name)?.labels;
  }

  /** Namespaces (known to the index) whose labels match the selector. */
  selectNamespaces(selector: Selector): string[] {
    const cached = this.namespaceSelectionCache.get(selector.key);
    if (cached) return cached;
    const out: string[] = [];
    for (const ns of this.namespaces.values()) if (matches(selector, ns.labels)) out.push(ns.name);
    out.sort();
    this.namespaceSelectionCache.set(selector.key, out);
    return out;
  }

  /** Classes of the given namespaces whose labels match the pod selector. */
  selectClasses(namespaces: readonly string[], podSelector: Selector, cacheKey: string): ClassSet {
    const key = `${cacheKey}#${podSelector.key}`;
    const cached = this.selectionCache.get(key);
    if (cached) return cached;
    const ids: number[] = [];
    const all = isSelectAll(podSelector);
    for (const ns of namespaces) {
      const inNs = this.classesByNamespace.get(ns);
      if (!inNs) continue;
      for (let i = 0; i < inNs.length; i++) {
        const id = inNs[i] as number;
        if (all || matches(podSelector, (this.classes[id] as PodClass).labels)) ids.push(id);
      }
    }
    ids.sort((a, b) => a - b);
    const result: ClassSet = ids.length === this.classes.length && this.classes.length > 0 ? 'all' : Uint32Array.from(ids);
    this.selectionCache.set(key, result);
    return result;
  }

  classesSelectedBy(policy: NetworkPolicy): ClassSet {
    return this.selectClasses([policy.namespace], policy.podSelector, `ns=${policy.namespace}`);
  }

  peerClasses(peer: Peer, policyNamespace: string): ClassSet | undefined {
    if (peer.kind === 'ipBlock') return undefined;
    if (peer.kind === 'pods') return this.selectClasses([policyNamespace], peer.podSelector, `ns=${policyNamespace}`);
    return this.selectClasses(this.selectNamespaces(peer.namespaceSelector), peer.podSelector, `nssel=${peer.namespaceSelector.key}`);
  }

  private indexRule(rule: Rule, policy: NetworkPolicy): IndexedRule {
    if (rule.peers === 'all') return { rule, policy, peerClasses: 'all', peerSelections: [], ips: IpSet.ALL };
    let peerClasses: ClassSet = EMPTY_CLASSES;
    let ips = IpSet.EMPTY;
    const peerSelections: Array<ClassSet | undefined> = [];
    for (const peer of rule.peers) {
      const sel = this.peerClasses(peer, policy.namespace);
      peerSelections.push(sel);
      if (sel) peerClasses = classSetUnion(peerClasses, sel);
      if (peer.kind === 'ipBlock') ips = ips.union(peer.set);
    }
    return { rule, policy, peerClasses, peerSelections, ips };
  }

  // ---- policy changes --------------------------------------------------------------------

  private indexPolicy(policy: NetworkPolicy): IndexedPolicy {
    return { policy, selected: this.classesSelectedBy(policy), ingress: policy.ingress.map((r) => this.indexRule(r, policy)), egress: policy.egress.map((r) => this.indexRule(r, policy)) };
  }

  /** Adds or replaces a policy; returns the classes whose decisions may change. */
  upsertPolicy(policy: NetworkPolicy): PolicyChangeImpact {
    const id = policyId(policy);
    const before = this.policies.has(id) ? this.removePolicy(policy.namespace, policy.name) : { ingress: [], egress: [], ipBlocks: false };
    const indexed = this.indexPolicy(policy);
    this.policies.set(id, indexed);
    const selected = this.expand(indexed.selected);
    if (policy.affectsIngress) for (const c of selected) this.ingressOf[c]?.push(indexed);
    if (policy.affectsEgress) for (const c of selected) this.egressOf[c]?.push(indexed);
    return {
      ingress: mergeIds(before.ingress, policy.affectsIngress ? selected : []),
      egress: mergeIds(before.egress, policy.affectsEgress ? selected : []),
      ipBlocks: before.ipBlocks || hasIpBlocks(policy),
    };
  }

  removePolicy(namespace: string, name: string): PolicyChangeImpact {
    const id = `${namespace}/${name}`;
    const indexed = this.policies.get(id);
    if (!indexed) return { ingress: [], egress: [], ipBlocks: false };
    this.policies.delete(id);
    const selected = this.expand(indexed.selected);
    const drop = (lists: IndexedPolicy[][]): void => {
      for (const c of selected) {
        const list = lists[c];
        if (list) lists[c] = list.filter((p) => p !== indexed);
      }
    };
    if (indexed.policy.affectsIngress) drop(this.ingressOf);
    if (indexed.policy.affectsEgress) drop(this.egressOf);
    return {
      ingress: indexed.policy.affectsIngress ? selected : [],
      egress: indexed.policy.affectsEgress ? selected : [],
      ipBlocks: hasIpBlocks(indexed.policy),
    };
  }

  // ---- refreshing in place (index-refresh.ts) ---------------------------------------------

  /**
   * Puts `pods` (all of the namespace's) in place of the namespace's pods, keeping every class
   * id: possible when they make as many classes and the same workloads (pods relabelled or
   * restarted), and then the classes are numbered as a fresh build numbers them. False, with
   * nothing changed, when they do not. Selections are forgotten: the caller re-indexes every
   * policy that selects in this namespace (replacePolicies), then the extended index.
   */
  replaceNamespacePods(namespace: string, pods: readonly Pod[]): boolean {
    const ids = this.classesByNamespace.get(namespace);
    if (!ids || pods.some((pod) => pod.namespace !== namespace)) return false;
    const groups = groupIntoClasses(pods);
    if (groups.length !== ids.length) return false;
    const workloadPods = groupWorkloads(groups, ids);
    const workloads = this.workloads.filter((w) => w.ref.namespace === namespace);
    if (workloads.length !== workloadPods.size || workloads.some((w) => !workloadPods.has(w.id))) return false;
    for (const id of ids) {
      for (const pod of (this.classes[id] as PodClass).pods) {
        this.podByName.delete(`${pod.namespace}/${pod.name}`);
        this.classOfPod.delete(pod);
      }
    }
    groups.forEach((members, i) => {
      const id = ids[i] as number;
      this.classes[id] = this.makeClass(id, members);
    });
    for (const w of workloads) {
      const now = workloadPods.get(w.id) as WorkloadMembers;
      w.pods = now.pods;
      w.classes = [...now.classes].sort((a, b) => a - b);
      for (const c of w.classes) this.classes[c]?.workloads.push(w.index);
    }
    this.selectionCache.clear();
    return true;
  }

  /** Namespaces: the same names, in the same order, with the same labels; their objects replaced (their sources). */
  replaceNamespaceObjects(namespaces: readonly Namespace[]): void {
    for (const ns of namespaces) this.namespaces.set(ns.name, ns);
  }

  /**
   * Indexes `policies`, in their order, as a fresh build would: a policy indexed already (the
   * very object) is kept, unless `stale` says its selections may have changed; the others are
   * indexed anew, and the policy lists of their namespaces' classes drawn again.
   */
  replacePolicies(policies: readonly NetworkPolicy[], stale: (policy: NetworkPolicy) => boolean): void {
    const ids = policies.map(idOf);
    const listed = [...this.policies.keys()];
    // A policy selects only pods of its own namespace: only the namespaces of policies indexed anew are drawn again.
    const redraw = new Set<string>();
    if (ids.length === listed.length && ids.every((id, i) => id === listed[i])) {
      // The same names in the same order (policies patched in place): the order stands.
      policies.forEach((policy, i) => {
        const id = ids[i] as string;
        const kept = this.policies.get(id) as IndexedPolicy;
        if (kept.policy === policy && !stale(policy)) return;
        this.policies.set(id, this.indexPolicy(policy));
        redraw.add(kept.policy.namespace).add(policy.namespace);
      });
    } else {
      // Policies added, removed or listed in another order (a containment's own policy added): a
      // new map in the new order (emptying the old one and filling it again cost twice as much),
      // and only the namespaces whose policies are not the very same, in the same order, drawn again.
      const before = this.policyMap;
      const next = new Map<string, IndexedPolicy>();
      policies.forEach((policy, i) => {
        const id = ids[i] as string;
        const kept = before.get(id);
        // A name listed twice: the later one replaces the earlier, as upsertPolicy does.
        if (next.has(id)) next.delete(id);
        next.set(id, kept && kept.policy === policy && !stale(policy) ? kept : this.indexPolicy(policy));
      });
      this.policyMap = next;
      const was = inOrderByNamespace(before.values());
      const now = inOrderByNamespace(next.values());
      for (const ns of new Set([...was.keys(), ...now.keys()])) if (!sameItems(was.get(ns), now.get(ns))) redraw.add(ns);
    }
    for (const ns of redraw) {
      for (const c of this.classesByNamespace.get(ns) ?? []) {
        this.ingressOf[c] = [];
        this.egressOf[c] = [];
      }
    }
    if (redraw.size === 0) return;
    for (const indexed of this.policies.values()) {
      if (!redraw.has(indexed.policy.namespace)) continue;
      const selected = this.expand(indexed.selected);
      if (indexed.policy.affectsIngress) for (const c of selected) this.ingressOf[c]?.push(indexed);
      if (indexed.policy.affectsEgress) for (const c of selected) this.egressOf[c]?.push(indexed);
    }
  }

  /** The extended index drawn again over the classes as they are now. */
  replaceExtended(objects: Pick<ClusterObjects, 'adminPolicies' | 'ciliumPolicies' | 'nodes'>): void {
    const admin = objects.adminPolicies ?? [];
    const cilium = objects.ciliumPolicies ?? [];
    this.extendedIndex = admin.length > 0 || cilium.length > 0 ? buildExtendedIndex(this, admin, cilium, objects.nodes ?? []) : undefined;
  }

  private expand(set: ClassSet): number[] {
    return set === 'all' ? this.classes.map((c) => c.id) : Array.from(set);
  }

  // ---- lookups ---------------------------------------------------------------------------

  pod(namespace: string, name: string): Pod | undefined {
    return this.podByName.get(`${namespace}/${name}`);
  }

  classOf(pod: Pod): number | undefined {
    return this.classOfPod.get(pod);
  }

  workload(id: string): Workload | undefined {
    const i = this.workloadById.get(id);
    return i === undefined ? undefined : this.workloads[i];
  }

  /** Workloads in `namespace` called `name`, whatever their kind. */
  workloadsNamed(namespace: string, name: string): Workload[] {
    return this.workloadsByName.get(`${namespace}/${name}`) ?? [];
  }

  /** The connections a rule allows towards a pod of class `dstClass` (named ports resolved there). */
  ruleConnsTo(rule: Pick<Rule, 'numericConns' | 'namedPorts'>, dstClass: number | undefined): Conns {
    if (rule.namedPorts.length === 0 || dstClass === undefined) return rule.numericConns;
    const cls = this.classes[dstClass] as PodClass;
    let conns = rule.numericConns;
    for (const np of rule.namedPorts) {
      const port = cls.namedPorts.get(`${np.name}/${np.protocol}`);
      if (port !== undefined) conns = conns.union(Conns.of(np.protocol, portRange(port, port)));
    }
    return conns;
  }

  /** Resolves a named port on a class: the number, or undefined when the pod defines no such port. */
  resolveNamedPort(classId: number, name: string, protocol: Protocol): number | undefined {
    return this.classes[classId]?.namedPorts.get(`${name}/${protocol}`);
  }
}

function mergeIds(a: number[], b: number[]): number[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}

/** Each namespace's indexed policies, in the order given. */
function inOrderByNamespace(indexed: Iterable<IndexedPolicy>): Map<string, IndexedPolicy[]> {
  const out = new Map<string, IndexedPolicy[]>();
  for (const x of indexed) {
    const list = out.get(x.policy.namespace);
    if (list) list.push(x);
    else out.set(x.policy.namespace, [x]);
  }
  return out;
}

function sameItems<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A policy's id, the same string for the same (compiled, memoised) policy: a refresh looks up 10k
 * ids, and a string met before has its hash already (building and hashing them anew was most of it).
 */
const ids = new WeakMap<NetworkPolicy, string>();
function idOf(policy: NetworkPolicy): string {
  let id = ids.get(policy);
  if (id === undefined) ids.set(policy, (id = policyId(policy)));
  return id;
}
