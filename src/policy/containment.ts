// What is still open to and from a set of pods: every allowed connection between the scoped pods
// and any workload or address range, in both directions, with the policy rules that allow it on
// each side. Containment strategies use it to say "contained" or "NOT contained: these stay open".
import { classSetHas } from './class-set.js';
import { QueryError } from './evaluate.js';
import { atomsOf, formatIpRange, IpSet, type IpFamily } from './ip-set.js';
import type { XRule } from './extended-index.js';
import { layeredConns, type XPeer } from './layered.js';
import { policyId, type Pod, type WorkloadRef } from './model.js';
import type { IndexedPolicy, PolicyIndex } from './policy-index.js';
import { Conns, portRange } from './port-set.js';
import { matches, parseSelector, type Labels, type Selector } from './selectors.js';

export interface ContainmentScope {
  namespace: string;
  /** Label selector (a LabelSelector object or a plain `{ key: value }` map); absent = every pod of the namespace. */
  selector?: unknown;
  /** Pod names in the namespace (instead of, or narrowing, the selector). */
  pods?: readonly string[];
}

export type OpenPeer =
  | { kind: 'workload'; id: string; ref: WorkloadRef; inScope: boolean }
  | { kind: 'external'; id: string; family: IpFamily; start: bigint; end: bigint };

export interface OpenConnection {
  /** egress: from the scoped pods to the peer; ingress: from the peer to the scoped pods. */
  direction: 'egress' | 'ingress';
  peer: OpenPeer;
  conns: Conns;
  /** The scoped pods (`ns/name`) for which exactly `conns` is open to or from this peer. */
  pods: string[];
  /** Per side, what allows it: `ANP name ingress[0] "x"`, `NetworkPolicy ns/name egress[1]`, `not isolated (no policy selects ns/pod for egress)`... */
  allowedBy: { egress: string[]; ingress: string[] };
  /** True for DNS to kube-dns (UDP/TCP 53 only, to pods labelled k8s-app=kube-dns in kube-system, or the `dns` option). */
  dns: boolean;
}

export interface OpenConnectionsResult {
  /** The scoped pods, `ns/name`. */
  pods: string[];
  /** One entry per direction, peer and connection set; sorted by direction, peer, connections. */
  open: OpenConnection[];
  /** No connection stays open except DNS to kube-dns. */
  contained: boolean;
}

export interface OpenConnectionsOptions {
  /** Which pods are the cluster DNS (default: namespace kube-system, labels k8s-app=kube-dns). */
  dns?: { namespace: string; labels: Labels };
  /**
   * Name the rules that allow each connection (`allowedBy`; default true). Without, `allowedBy`
   * is empty: for callers that compare only what is open (about a tenth of the work on 10k pods).
   */
  allowers?: boolean;
}

/** allowedBy when the rules are not named (read only: add copies what it is given). */
const NO_RULES: OpenConnection['allowedBy'] = { egress: [], ingress: [] };
const DNS_CONNS = Conns.from({ UDP: portRange(53, 53), TCP: portRange(53, 53) });
const ALL_V4 = IpSet.of([0n, (1n << 32n) - 1n], []);

function scopeSelector(raw: unknown): Selector {
  if (raw === undefined || raw === null) return parseSelector({}) as Selector;
  const isLabelSelector = typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).every((k) => k === 'matchLabels' || k === 'matchExpressions');
  const parsed = parseSelector(isLabelSelector ? raw : { matchLabels: raw });
  if (typeof parsed === 'string') throw new QueryError(`scope selector: ${parsed}`);
  return parsed;
}

/** Allowed connections of one side with `peer` (NetworkPolicy-only sides read the NP rules directly). */
function sideConns(index: PolicyIndex, classId: number, direction: 'ingress' | 'egress', peer: XPeer, dstClass: number | undefined): Conns {
  const nps = (direction === 'ingress' ? index.ingressOf : index.egressOf)[classId] ?? [];
  const x = (direction === 'ingress' ? index.extended?.ingress : index.extended?.egress)?.[classId];
  if (x) return layeredConns(index, x, nps, direction, peer, dstClass, Conns.ALL);
  if (nps.length === 0) return Conns.ALL;
  let conns = Conns.NONE;
  for (const p of nps) {
    for (const r of direction === 'ingress' ? p.ingress : p.egress) {
      const hit = peer.kind === 'class' ? classSetHas(r.peerClasses, peer.id) : r.ips.has({ family: peer.family, value: peer.value });
      if (hit) conns = conns.union(index.ruleConnsTo(r.rule, dstClass));
    }
  }
  return conns;
}

/** The rules that allow some of `conns` (connections the side allows) on one side, layer by layer. */
function allowers(index: PolicyIndex, classId: number, direction: 'ingress' | 'egress', peer: XPeer, dstClass: number | undefined, conns: Conns, who: string): string[] {
  const nps: readonly IndexedPolicy[] = (direction === 'ingress' ? index.ingressOf : index.egressOf)[classId] ?? [];
  const x = (direction === 'ingress' ? index.extended?.ingress : index.extended?.egress)?.[classId];
  const out: string[] = [];
  const hit = (peerClasses: Parameters<typeof classSetHas>[0], ips: IpSet): boolean => (peer.kind === 'class' ? classSetHas(peerClasses, peer.id) : ips.has({ family: peer.family, value: peer.value }));
  // Ordered first-match rules (ANP, BANP): the Allow rules that decide part of `left`.
  const walk = (rules: readonly XRule[], left: Conns): Conns => {
    let passed = Conns.NONE;
    for (const r of rules) {
      if (left.isEmpty() || !hit(r.peerClasses, r.ips)) continue;
      const c = index.ruleConnsTo(r.ports, dstClass).intersect(left);
      if (c.isEmpty()) continue;
      if (r.action === 'Allow') out.push(`${r.policy} ${r.rule}`);
      if (r.action === 'Pass') passed = passed.union(c);
      left = left.subtract(c);
    }
    return left.union(passed);
  };
  let left = walk(x?.anp ?? [], conns);
  if (left.isEmpty()) return out;
  const isolated = nps.length > 0 || (x?.cnpIsolating.length ?? 0) > 0;
  if (isolated) {
    for (const p of nps) {
      for (const r of direction === 'ingress' ? p.ingress : p.egress) {
        if (hit(r.peerClasses, r.ips) && !index.ruleConnsTo(r.rule, dstClass).intersect(left).isEmpty()) out.push(`NetworkPolicy ${policyId(p.policy)} ${direction}[${r.rule.index}]`);
      }
    }
    for (const r of x?.cnpAllow ?? []) if (hit(r.peerClasses, r.ips) && !index.ruleConnsTo(r.ports, dstClass).intersect(left).isEmpty()) out.push(`${r.policy} ${r.rule}`);
    return [...new Set(out)];
  }
  left = walk(x?.banp ?? [], left);
  if (!left.isEmpty()) out.push(`not isolated (no NetworkPolicy${x ? ' or CiliumNetworkPolicy' : ''} selects ${who} for ${direction})`);
  return [...new Set(out)];
}

function externalPeer(a: { family: IpFamily; start: bigint; end: bigint }): OpenPeer {
  return { kind: 'external', id: `${formatIpRange(a.family, a.start, a.end)}[External]`, family: a.family, start: a.start, end: a.end };
}

function podId(p: Pod): string {
  return `${p.namespace}/${p.name}`;
}

/**
 * Every connection still allowed to or from the scoped pods. Peers are workloads (pods of the
 * scope included, marked inScope) and address ranges outside the cluster, both IPv4 and IPv6,
 * split where any policy's address blocks start or end.
 */
export function openConnections(index: PolicyIndex, scope: ContainmentScope, options: OpenConnectionsOptions = {}): OpenConnectionsResult {
  const selector = scopeSelector(scope.selector);
  const names = scope.pods ? new Set(scope.pods) : undefined;
  const scopedPods = new Map<number, Pod[]>();
  for (const c of index.classes) {
    if (c.namespace !== scope.namespace || !matches(selector, c.labels)) continue;
    const pods = c.pods.filter((p) => !names || names.has(p.name));
    if (pods.length > 0) scopedPods.set(c.id, pods);
  }
  if (scopedPods.size === 0) throw new QueryError(`the scope selects no pod in namespace ${scope.namespace}`);
  const dns = options.dns ?? { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
  const isDnsClass = (c: number): boolean => {
    const cls = index.classes[c];
    return !!cls && cls.namespace === dns.namespace && Object.entries(dns.labels).every(([k, v]) => cls.labels[k] === v);
  };
  // Address blocks: every policy's, in both families, so that each atom is decided as a whole.
  const sets: IpSet[] = [ALL_V4];
  for (const p of index.policies.values()) for (const r of [...p.ingress, ...p.egress]) sets.push(r.ips);
  if (index.extended) sets.push(...index.extended.ingressIps, ...index.extended.egressIps);
  const atoms = ([4, 6] as const).flatMap((family) => atomsOf(family, sets).map(([start, end]) => ({ family, start, end })));

  // One entry per direction, peer and connection set: every pod listed has exactly these open. Its
  // pods and rules are gathered in sets: a peer open to every class of the scope is added once per
  // class, and copying the lists at each add made a large open scope quadratic.
  type Gathered = { direction: OpenConnection['direction']; peer: OpenPeer; conns: Conns; pods: Set<string>; egress: Set<string>; ingress: Set<string>; dns: boolean };
  const merged = new Map<string, Gathered>();
  const add = (direction: 'egress' | 'ingress', peer: OpenPeer, conns: Conns, podIds: readonly string[], allowedBy: OpenConnection['allowedBy'], dnsPeer: boolean): void => {
    if (conns.isEmpty()) return;
    const key = `${direction}\u0000${peer.id}\u0000${conns.toString()}`;
    let entry = merged.get(key);
    if (!entry) merged.set(key, (entry = { direction, peer, conns, pods: new Set(), egress: new Set(), ingress: new Set(), dns: dnsPeer && conns.subtract(DNS_CONNS).isEmpty() }));
    else entry.dns = entry.dns && dnsPeer;
    for (const id of podIds) entry.pods.add(id);
    for (const rule of allowedBy.egress) entry.egress.add(rule);
    for (const rule of allowedBy.ingress) entry.ingress.add(rule);
  };
  const scopedWorkloads = new Set<number>();
  for (const c of scopedPods.keys()) for (const w of index.classes[c]?.workloads ?? []) scopedWorkloads.add(w);
  // The workload peers of a class, named only when something is open: most pairs of a contained
  // scope have nothing open (and no closure per pair: this loop runs classes × scoped classes).
  const peersOf = (o: number): OpenPeer[] =>
    (index.classes[o]?.workloads ?? []).map((wi) => {
      const w = index.workloads[wi] as (typeof index.workloads)[number];
      return { kind: 'workload', id: w.id, ref: w.ref, inScope: scopedWorkloads.has(wi) && scopedPods.has(o) };
    });
  const whoOf = (o: number): string => podId(index.classes[o]?.pods[0] as Pod);
  const named = options.allowers !== false;
  for (const [c, pods] of scopedPods) {
    const who = podId(pods[0] as Pod);
    const ids = pods.map(podId);
    for (const other of index.classes) {
      const o = other.id;
      const toOther: XPeer = { kind: 'class', id: o };
      const toScope: XPeer = { kind: 'class', id: c };
      // Scoped pod -> other pod: the scoped egress and the other's ingress. The scope's own side
      // first: once contained it allows nothing, and the other side need not be asked.
      let out = sideConns(index, c, 'egress', toOther, o);
      if (!out.isEmpty()) out = out.intersect(sideConns(index, o, 'ingress', toScope, o));
      if (!out.isEmpty()) {
        const by = named ? { egress: allowers(index, c, 'egress', toOther, o, out, who), ingress: allowers(index, o, 'ingress', toScope, o, out, whoOf(o)) } : NO_RULES;
        for (const peer of peersOf(o)) add('egress', peer, out, ids, by, isDnsClass(o));
      }
      let inn = sideConns(index, c, 'ingress', toOther, c);
      if (!inn.isEmpty()) inn = inn.intersect(sideConns(index, o, 'egress', toScope, c));
      if (!inn.isEmpty()) {
        const by = named ? { egress: allowers(index, o, 'egress', toScope, c, inn, whoOf(o)), ingress: allowers(index, c, 'ingress', toOther, c, inn, who) } : NO_RULES;
        for (const peer of peersOf(o)) add('ingress', peer, inn, ids, by, false);
      }
    }
    for (const a of atoms) {
      const ip: XPeer = { kind: 'ip', family: a.family, value: a.start };
      const out = sideConns(index, c, 'egress', ip, undefined);
      if (!out.isEmpty()) add('egress', externalPeer(a), out, ids, named ? { egress: allowers(index, c, 'egress', ip, undefined, out, who), ingress: [] } : NO_RULES, false);
      const inn = sideConns(index, c, 'ingress', ip, c);
      if (!inn.isEmpty()) add('ingress', externalPeer(a), inn, ids, named ? { egress: [], ingress: allowers(index, c, 'ingress', ip, c, inn, who) } : NO_RULES, false);
    }
  }
  // By direction (egress first), peer and connections: the entries' own keys.
  const open = [...merged]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, e]): OpenConnection => ({ direction: e.direction, peer: e.peer, conns: e.conns, pods: [...e.pods], allowedBy: { egress: [...e.egress], ingress: [...e.ingress] }, dns: e.dns }));
  const pods = [...scopedPods.values()].flat().map(podId).sort();
  return { pods, open, contained: open.every((o) => o.dns) };
}

/** One line per open connection, e.g. `egress -> kube-system/coredns[Deployment] : UDP 53 (DNS)`. */
export function formatOpenConnections(result: OpenConnectionsResult): string {
  if (result.open.length === 0) return 'contained: no connection to or from the scoped pods is allowed\n';
  const lines = result.open.map((o) => {
    const arrow = o.direction === 'egress' ? '->' : '<-';
    const by = [...o.allowedBy.egress.map((x) => `egress: ${x}`), ...o.allowedBy.ingress.map((x) => `ingress: ${x}`)].join('; ');
    return `${o.direction} ${arrow} ${o.peer.id} : ${o.conns.toString()}${o.dns ? ' (DNS)' : ''}${by ? ` [${by}]` : ''}`;
  });
  return `${result.contained ? 'contained (DNS to kube-dns kept)' : 'NOT contained: these stay open'}\n${lines.join('\n')}\n`;
}

