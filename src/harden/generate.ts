// Step 5 of an incident (post-incident hardening): a baseline of NetworkPolicies for one
// namespace, generated from the traffic the collector learned and the live cluster. Every pod
// of the namespace is put under default-deny (DNS to kube-dns left open), then each workload
// gets allow rules for exactly the connections it was seen making and receiving, minus the
// ones the caller calls anomalous or dismissed. A workload with too little history is left out
// (default-deny selects every pod but its own, so it keeps its current policies) rather than cut
// off. prove.ts checks the result with the engine. Pure.
import { loadLiveObjects, type LiveObjects, type Pod } from '../policy/index.js';
import { blockOf, DEFAULT_V4_PREFIX, DEFAULT_V6_PREFIX, parseAddress, V4_PREFIX_RANGE, V6_PREFIX_RANGE } from './cidr.js';
import { checkEdges, edgeKey, HardenInputError, isNamespaceName, parsePeer, type EdgePeer, type HardenEdge } from './edges.js';
import { allowPolicy, DEFAULT_DENY_FILE, defaultDenyPolicies, renderFile, workloadFileName, type Exemption, type GeneratedFile, type PeerRule, type PolicyObject, type RulePeer } from './layout.js';
import { exemptionLabels, groupWorkloads, stableSelector, type StableSelector } from './selectors.js';

export { HardenInputError, type HardenEdge } from './edges.js';
export type { GeneratedFile, PolicyObject } from './layout.js';

/** How long a workload has been observed, from the flow baseline. */
export interface WorkloadHistory {
  /** `namespace/workload` (or the bare workload name, taken as in the baseline's namespace). */
  workload: string;
  observedMs: number;
  /** Still in its learning period (the baseline does not judge it yet). */
  learning: boolean;
}

export interface HardenOptions {
  /** Less history than this (default 24 h) and the workload is left out of the baseline. */
  minHistoryMs?: number;
  /** Prefix external addresses are widened to (default /24, allowed 8..32). */
  v4Prefix?: number;
  /** Default /64, allowed 16..128. */
  v6Prefix?: number;
  /** More edges than this (default 1,000,000) is refused. */
  maxEdges?: number;
}

export interface BaselineRequest {
  namespace: string;
  live: LiveObjects;
  /** Learned edges ({src, dst, port, protocol}); malformed ones are skipped with a note. */
  edges: readonly unknown[];
  /** Edges never to allow: the anomalous flows and the ones a person dismissed. */
  exclude?: readonly unknown[];
  /** Per-workload history; when absent, history is not checked. */
  history?: readonly WorkloadHistory[];
  options?: HardenOptions;
}

export interface FlaggedWorkload {
  workload: string;
  reason: string;
  /**
   * true: left out of the baseline (default-deny selects every pod but its own), so it keeps its
   * current policies. false: no stable label picks only its pods, so default-deny selects it and
   * merging cuts it off (DNS only): the notes say so loudly.
   */
  omitted: boolean;
}

export interface GeneratedBaseline {
  namespace: string;
  /** `<namespace>/default-deny.yaml` first, then one file per workload by name. */
  files: GeneratedFile[];
  /** Every generated policy, in file order. */
  policies: PolicyObject[];
  /** The learned edges the baseline allows (DNS to kube-dns through the DNS policy). */
  kept: HardenEdge[];
  /** Edges left out because the caller excluded them. */
  excluded: number;
  /** Workloads with too little history: no allow rules of their own (see FlaggedWorkload.omitted). */
  flagged: FlaggedWorkload[];
  /** The NotIn requirements that leave the omitted workloads out of default-deny and DNS. */
  exempt: Exemption[];
  notes: string[];
}

export const DEFAULT_MIN_HISTORY_MS = 24 * 3600_000;
export const DEFAULT_MAX_EDGES = 1_000_000;
const MAX_LISTED = 10;

function prefixOption(value: number | undefined, fallback: number, [min, max]: readonly [number, number], what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new HardenInputError(`${what} prefix must be a whole number from ${min} to ${max}, got ${String(value)}`);
  return value;
}

function listed(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

function historyFlags(namespace: string, names: Iterable<string>, history: readonly WorkloadHistory[] | undefined, minMs: number): Map<string, string> {
  const flags = new Map<string, string>();
  if (!history) return flags;
  const byName = new Map<string, WorkloadHistory>();
  for (const h of history) {
    if (typeof h?.workload !== 'string') continue;
    const slash = h.workload.indexOf('/');
    if (slash < 0) byName.set(h.workload, h);
    else if (h.workload.slice(0, slash) === namespace) byName.set(h.workload.slice(slash + 1), h);
  }
  const hours = (ms: number): string => `${(ms / 3600_000).toFixed(1)} h`;
  for (const name of names) {
    const h = byName.get(name);
    if (!h) flags.set(name, 'no flow history');
    else if (h.learning) flags.set(name, `still learning (observed ${hours(Number(h.observedMs) || 0)})`);
    else if (!(Number(h.observedMs) >= minMs)) flags.set(name, `too little history (${hours(Number(h.observedMs) || 0)} of ${hours(minMs)})`);
  }
  return flags;
}

/** Pods are kube-dns when they run in kube-system with k8s-app=kube-dns, as the DNS policy selects them. */
function isKubeDns(peer: EdgePeer, workloads: Map<string, Map<string, Pod[]>>): boolean {
  if (peer.kind !== 'workload' || peer.namespace !== 'kube-system') return false;
  const pods = workloads.get('kube-system')?.get(peer.name) ?? [];
  return pods.length > 0 && pods.every((p) => p.labels['k8s-app'] === 'kube-dns');
}

/** Collects rules per workload and direction: one rule per peer, its ports merged. */
class RuleBook {
  private readonly rules = new Map<string, Map<string, PeerRule>>();

  add(workload: string, direction: 'ingress' | 'egress', peer: RulePeer, edge: HardenEdge): void {
    const key = `${workload}\u0000${direction}`;
    let byPeer = this.rules.get(key);
    if (!byPeer) this.rules.set(key, (byPeer = new Map()));
    const peerKey = peer.kind === 'ipBlock' ? `ip:${peer.cidr}` : `w:${peer.namespace}:${JSON.stringify(peer.matchLabels)}`;
    let rule = byPeer.get(peerKey);
    if (!rule) byPeer.set(peerKey, (rule = { peer, ports: [] }));
    if (!rule.ports.some((p) => p.port === edge.port && p.protocol === edge.protocol)) rule.ports.push({ port: edge.port, protocol: edge.protocol });
  }

  get(workload: string, direction: 'ingress' | 'egress'): PeerRule[] {
    return [...(this.rules.get(`${workload}\u0000${direction}`)?.values() ?? [])];
  }
}

/** Generates the namespace's baseline. Throws HardenInputError on unusable input as a whole. */
export function generateBaseline(request: BaselineRequest): GeneratedBaseline {
  const { namespace } = request;
  if (typeof namespace !== 'string' || !isNamespaceName(namespace)) throw new HardenInputError('namespace must be a valid Kubernetes namespace name');
  const options = request.options ?? {};
  const v4Prefix = prefixOption(options.v4Prefix, DEFAULT_V4_PREFIX, V4_PREFIX_RANGE, 'IPv4');
  const v6Prefix = prefixOption(options.v6Prefix, DEFAULT_V6_PREFIX, V6_PREFIX_RANGE, 'IPv6');
  const minHistoryMs = options.minHistoryMs ?? DEFAULT_MIN_HISTORY_MS;
  const maxEdges = options.maxEdges ?? DEFAULT_MAX_EDGES;
  const notes: string[] = [];

  const checked = checkEdges(request.edges, maxEdges);
  for (const [reason, { count, examples }] of checked.skipped) notes.push(`${count} malformed learned edge(s) skipped (${reason}), e.g. ${examples.join('; ')}`);
  const excludedKeys = new Set(checkEdges(request.exclude ?? [], maxEdges).edges.map(edgeKey));

  const workloads = groupWorkloads(loadLiveObjects(request.live).pods);
  const own = workloads.get(namespace) ?? new Map<string, Pod[]>();
  if (own.size === 0) notes.push(`No running pods in namespace ${namespace}: only default-deny and DNS are generated.`);
  if (![...(workloads.get('kube-system')?.values() ?? [])].some((pods) => pods.some((p) => p.labels['k8s-app'] === 'kube-dns'))) {
    notes.push('No kube-dns pods (kube-system, k8s-app=kube-dns) in the live cluster: the DNS egress rule selects nothing.');
  }

  const touches = (p: EdgePeer): boolean => p.kind === 'workload' && p.namespace === namespace;
  const relevant = checked.edges.filter((e) => touches(parsePeer(e.src) as EdgePeer) || touches(parsePeer(e.dst) as EdgePeer));
  const ownLearned = new Set<string>(own.keys());
  for (const e of relevant) for (const side of [e.src, e.dst]) if ((parsePeer(side) as EdgePeer).kind === 'workload' && touches(parsePeer(side) as EdgePeer)) ownLearned.add(side.slice(namespace.length + 1));
  const flags = historyFlags(namespace, [...ownLearned].sort(), request.history, minHistoryMs);
  // Left out of default-deny by one label each; a running workload with no such label stays under it.
  const labels = exemptionLabels([...flags.keys()].filter((n) => own.has(n)), own);
  const cutOff = new Set([...labels].filter(([, l]) => l === undefined).map(([n]) => n));
  const exemptByKey = new Map<string, string[]>();
  for (const l of labels.values()) if (l) exemptByKey.set(l.key, [...(exemptByKey.get(l.key) ?? []), l.value]);
  const exempt: Exemption[] = [...exemptByKey].map(([key, values]) => ({ key, values: [...new Set(values)].sort() })).sort((a, b) => (a.key < b.key ? -1 : 1));

  const selectors = new Map<string, StableSelector>();
  const selectorOf = (ns: string, name: string): StableSelector => {
    const id = `${ns}/${name}`;
    let s = selectors.get(id);
    if (!s) selectors.set(id, (s = stableSelector(name, workloads.get(ns) ?? new Map())));
    return s;
  };
  const missing = new Set<string>();
  const unselectable = new Set<string>();
  const droppedForHistory = new Map<string, number>();
  const rules = new RuleBook();
  const kept: HardenEdge[] = [];
  let excluded = 0;
  let dnsEdges = 0;

  for (const edge of relevant) {
    if (excludedKeys.has(edgeKey(edge))) {
      excluded += 1;
      continue;
    }
    const src = parsePeer(edge.src) as EdgePeer;
    const dst = parsePeer(edge.dst) as EdgePeer;
    const isFlagged = (p: EdgePeer): boolean => p.kind === 'workload' && p.namespace === namespace && flags.has(p.name);
    const cut = [src, dst].find((p) => p.kind === 'workload' && isFlagged(p) && (cutOff.has(p.name) || !own.has(p.name)));
    if (cut?.kind === 'workload') {
      droppedForHistory.set(cut.name, (droppedForHistory.get(cut.name) ?? 0) + 1);
      continue;
    }
    // Both sides must be running pods with a stable selector, else no rule can name them.
    const peers: Array<RulePeer | undefined> = [src, dst].map((p) => {
      if (p.kind === 'ip') return { kind: 'ipBlock', cidr: blockOf(parseAddress(p.address) as NonNullable<ReturnType<typeof parseAddress>>, v4Prefix, v6Prefix) };
      if (!workloads.get(p.namespace)?.has(p.name)) {
        missing.add(p.id);
        return undefined;
      }
      const s = selectorOf(p.namespace, p.name);
      if (Object.keys(s.matchLabels).length === 0) {
        unselectable.add(p.id);
        return undefined;
      }
      return { kind: 'pods', namespace: p.namespace, matchLabels: s.matchLabels, sameNamespace: p.namespace === namespace };
    });
    const [srcPeer, dstPeer] = peers;
    if (!srcPeer || !dstPeer) continue;
    kept.push(edge);
    // An omitted workload gets no rules of its own; its peers here still allow what was seen with it.
    if (touches(src) && src.kind === 'workload' && !isFlagged(src)) {
      if (isKubeDns(dst, workloads) && edge.port === 53 && edge.protocol !== 'SCTP') dnsEdges += 1;
      else rules.add(src.name, 'egress', dstPeer, edge);
    }
    if (touches(dst) && dst.kind === 'workload' && !isFlagged(dst)) rules.add(dst.name, 'ingress', srcPeer, edge);
  }

  const files: GeneratedFile[] = [];
  const denyPolicies = defaultDenyPolicies(namespace, exempt);
  const but = exempt.length > 0 ? ` Workloads with too little traffic history are left out (matchExpressions NotIn): they keep their current policies.` : '';
  files.push({ path: `${namespace}/${DEFAULT_DENY_FILE}`, policies: denyPolicies, yaml: renderFile(`Baseline for namespace ${namespace}: deny all traffic, except DNS to kube-dns.${but}`, denyPolicies) });
  const silent: string[] = [];
  for (const name of [...own.keys()].sort()) {
    if (flags.has(name)) continue;
    const ingress = rules.get(name, 'ingress');
    const egress = rules.get(name, 'egress');
    if (ingress.length === 0 && egress.length === 0) {
      silent.push(name);
      continue;
    }
    const labels = selectorOf(namespace, name).matchLabels;
    const policies = [...(ingress.length > 0 ? [allowPolicy(namespace, name, labels, 'ingress', ingress)] : []), ...(egress.length > 0 ? [allowPolicy(namespace, name, labels, 'egress', egress)] : [])];
    files.push({ path: `${namespace}/${workloadFileName(name)}`, workload: name, policies, yaml: renderFile(`Baseline for workload ${namespace}/${name}: the traffic it was seen making and receiving.`, policies) });
  }

  const flagged = [...flags].map(([workload, reason]) => ({ workload: `${namespace}/${workload}`, reason, omitted: !cutOff.has(workload) }));
  for (const f of flagged) {
    const name = f.workload.slice(namespace.length + 1);
    const label = labels.get(name);
    if (f.omitted) {
      notes.push(`${f.workload}: not hardened: ${f.reason}; ${label ? `left out of default-deny (${label.key} NotIn ${label.value})` : 'no running pods'}, kept under its current policies.`);
      continue;
    }
    const dropped = droppedForHistory.get(name) ?? 0;
    notes.push(`${f.workload}: ${f.reason}, and NO stable label picks only its pods, so it cannot be left out of default-deny: merging CUTS IT OFF (DNS only; ${dropped} learned edge(s) left out). Decide before merging: give it a label of its own, wait for more history, or write its rules by hand.`);
  }
  for (const id of [...selectors.keys()].sort()) {
    const s = selectors.get(id) as StableSelector;
    if (!s.exact && s.alsoSelects.length > 0) notes.push(`${id}: no stable labels select only its pods; ${JSON.stringify(s.matchLabels)} also selects ${listed(s.alsoSelects)}.`);
  }
  if (unselectable.size > 0) notes.push(`No stable label shared by all pods of ${listed([...unselectable].sort())}: their edges are left out.`);
  if (missing.size > 0) notes.push(`Learned workloads with no running pods, their edges left out: ${listed([...missing].sort())}.`);
  if (excluded > 0) notes.push(`${excluded} anomalous or dismissed edge(s) left out.`);
  if (dnsEdges > 0) notes.push(`${dnsEdges} DNS edge(s) to kube-dns are allowed by ${namespace}/allow-dns-egress.`);
  if (silent.length > 0) notes.push(`${silent.length} workload(s) with no learned traffic get no allow rule (default-deny applies): ${listed(silent)}.`);
  return { namespace, files, policies: files.flatMap((f) => f.policies), kept, excluded, flagged, exempt, notes };
}
