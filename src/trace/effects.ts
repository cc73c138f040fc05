// What each change did to the scope's connectivity, by the policy engine (pure). The cluster's
// policy state is walked back from now, change by change (the journal keeps each object before and
// after), so every change gets the state just before and just after it; the engine's diff of the
// two, restricted to the scope, is its effect. The anomaly's sample flows are checked in both
// states: a change whose after-state allows a flow its before-state denied opened the door.
import { selectorMatches } from '../kube/label-selector.js';
import { connectivityDifference, scopeConnectivityOf, type ScopeView } from '../containment/proof.js';
import { allowed, buildIndex, parseNetworkPolicy, type CompileMemo, type LiveObjects, type PolicyIndex } from '../policy/index.js';
import type { TracedChange } from './changes.js';

/** One sample flow of an anomaly, as the engine can query it. */
export interface Probe {
  /** `namespace/pod` or `namespace/workload`. */
  src: string;
  /** `namespace/pod`, `namespace/workload` or an IP address. */
  dst: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  /** Epoch ms the flow was seen. */
  at: number;
}

export interface ChangeEffect {
  /** Connections of the scope open after and not before (or with more ports). */
  opened: string[];
  closed: string[];
  /** The before-state is not known (an audit-only change without the object before it). */
  unknown: boolean;
  /** Sample flows the change let through: denied before, allowed after. */
  opensProbes: Probe[];
  closesProbes: Probe[];
}

export type EffectedChange = TracedChange & { relevant: boolean; effect?: ChangeEffect };

type Lists = Required<Pick<LiveObjects, 'namespaces' | 'pods' | 'networkPolicies' | 'adminNetworkPolicies' | 'baselineAdminNetworkPolicies' | 'ciliumNetworkPolicies'>>;

const LIST_OF: Record<string, keyof Lists> = {
  NetworkPolicy: 'networkPolicies',
  AdminNetworkPolicy: 'adminNetworkPolicies',
  BaselineAdminNetworkPolicy: 'baselineAdminNetworkPolicies',
  CiliumNetworkPolicy: 'ciliumNetworkPolicies',
  Namespace: 'namespaces',
};

type Meta = { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> | null } | null };

type Keyed = Exclude<keyof Lists, 'pods'>;

/**
 * The policy state as the walk back goes: each list the changes touch kept by `namespace/name`, set
 * in place (a change costs O(1), not a copy of a 10k-policy list), listed again only when the
 * index must be rebuilt.
 */
class WalkState {
  private readonly keyed: Record<Keyed, Map<string, unknown>>;
  private readonly pods: readonly unknown[];

  constructor(live: LiveObjects) {
    const byKey = (items: readonly unknown[] | undefined): Map<string, unknown> =>
      new Map((items ?? []).map((o, i) => [keyOf((o as Meta)?.metadata?.namespace ?? undefined, (o as Meta)?.metadata?.name) ?? `#${i}`, o]));
    this.keyed = {
      namespaces: byKey(live.namespaces),
      networkPolicies: byKey(live.networkPolicies),
      adminNetworkPolicies: byKey(live.adminNetworkPolicies),
      baselineAdminNetworkPolicies: byKey(live.baselineAdminNetworkPolicies),
      ciliumNetworkPolicies: byKey(live.ciliumNetworkPolicies),
    };
    this.pods = live.pods ?? [];
  }

  /** Sets the change's object (null: absent), last in its list as a fresh write would be; false for a kind the state does not hold. */
  set(change: TracedChange, obj: Record<string, unknown> | null): boolean {
    const list = LIST_OF[change.kind];
    if (!list || list === 'pods') return false;
    const map = this.keyed[list];
    const key = keyOf(change.namespace, change.name)!;
    map.delete(key);
    if (obj) map.set(key, obj);
    return true;
  }

  lists(): Lists {
    const values = (list: Keyed): unknown[] => [...this.keyed[list].values()];
    return {
      namespaces: values('namespaces'),
      pods: [...this.pods],
      networkPolicies: values('networkPolicies'),
      adminNetworkPolicies: values('adminNetworkPolicies'),
      baselineAdminNetworkPolicies: values('baselineAdminNetworkPolicies'),
      ciliumNetworkPolicies: values('ciliumNetworkPolicies'),
    };
  }
}

function keyOf(namespace: string | undefined, name: string | undefined): string | undefined {
  return name === undefined ? undefined : `${namespace ?? ''}/${name}`;
}

/** Whether a change can touch the scope: same namespace, cluster-wide kinds, the scope namespace's labels, or peers selecting it. */
export function mayTouchScope(change: TracedChange, scope: ScopeView, scopeNamespaceLabels: Record<string, string>): boolean {
  if (change.kind === 'Namespace') return change.name === scope.namespace;
  if (change.kind === 'AdminNetworkPolicy' || change.kind === 'BaselineAdminNetworkPolicy') return true;
  if (change.namespace === scope.namespace) return true;
  // A policy elsewhere matters when one of its peers selects the scope's namespace (egress to it, ingress from it).
  return [change.before, change.after].some((obj) => peerSelectsNamespace(obj, scopeNamespaceLabels));
}

function peerSelectsNamespace(obj: Record<string, unknown> | null, labels: Record<string, string>): boolean {
  const spec = obj?.spec as { ingress?: unknown[]; egress?: unknown[] } | undefined;
  if (!spec) return false;
  for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
    const peers = ((rule as { from?: unknown[]; to?: unknown[] }).from ?? (rule as { to?: unknown[] }).to ?? []) as Array<{ namespaceSelector?: unknown; toEndpoints?: unknown }>;
    if (peers.length === 0) return true;
    for (const peer of peers) {
      if (peer.namespaceSelector && selectorMatches(peer.namespaceSelector as never, labels)) return true;
    }
  }
  return false;
}

function decide(index: PolicyIndex, probe: Probe): boolean | undefined {
  try {
    return allowed(index, probe.src, probe.dst, probe.port, probe.protocol).allowed;
  } catch {
    // The pod or workload of the flow is not in the cluster any more: the engine cannot judge it.
    return undefined;
  }
}

/** Moves the index from one state to the other when only a NetworkPolicy differs (incremental); else rebuilds it. */
function moveIndex(index: PolicyIndex, change: TracedChange, target: () => Lists, memo: CompileMemo | undefined): PolicyIndex {
  if (change.kind === 'NetworkPolicy' && change.namespace) {
    if (change.before === null) {
      index.removePolicy(change.namespace, change.name);
      return index;
    }
    const parsed = parseNetworkPolicy(change.before);
    if (parsed.policy) {
      index.upsertPolicy(parsed.policy);
      return index;
    }
  }
  return buildIndex(target(), memo).index;
}

/** What the walk may start from, on a thread that keeps them across tasks. */
export interface WalkEngine {
  /**
   * The index of `live`, built already: the walk changes its NetworkPolicies in place (an index
   * refreshed with `indexLive` next compares with its own policies, so it is set right then).
   */
  index?: PolicyIndex;
  /** For the states the walk builds anew (a namespace relabelled, a cluster-wide policy changed): only for objects that cannot change. */
  memo?: CompileMemo;
}

/**
 * Effects of every change that may touch the scope, oldest first. `changes` must be time-ordered;
 * `live` is the cluster now (the state after the last change). One index walks back through the
 * states (NetworkPolicy changes are applied to it incrementally), and the scope's connectivity of
 * each state is computed once: the after-state of one change is the before-state of the next.
 */
export function changeEffects(
  live: LiveObjects,
  changes: readonly TracedChange[],
  scope: ScopeView,
  probes: readonly Probe[] = [],
  /** Changes that cannot be suspects (the bot's own): replayed, but their effect is not measured. */
  ignore: (change: TracedChange) => boolean = () => false,
  engine: WalkEngine = {},
): EffectedChange[] {
  const scopeNs = (live.namespaces ?? []).find((n) => (n as Meta).metadata?.name === scope.namespace) as Meta | undefined;
  const labels = scopeNs?.metadata?.labels ?? { 'kubernetes.io/metadata.name': scope.namespace };
  const out: EffectedChange[] = new Array(changes.length);
  const state = new WalkState(live);
  let index = engine.index ?? buildIndex(state.lists(), engine.memo).index;
  // What the current state allows, computed when first needed.
  let current: { connectivity: string[]; decisions: Array<boolean | undefined> } | undefined;
  const measure = () => ({ connectivity: scopeConnectivityOf(index, scope), decisions: probes.map((p) => decide(index, p)) });
  for (let i = changes.length - 1; i >= 0; i--) {
    const change = changes[i] as TracedChange;
    const unknownBefore = change.fromAuditOnly && change.before === null && change.verb !== 'create';
    const relevant = mayTouchScope(change, scope, labels) && !ignore(change);
    const after = relevant ? (current ??= measure()) : undefined;
    if (!unknownBefore && state.set(change, change.before)) {
      index = moveIndex(index, change, () => state.lists(), engine.memo);
      current = undefined;
    }
    if (!relevant || !after) {
      out[i] = { ...change, relevant };
      continue;
    }
    const prior = (current ??= measure());
    const diff = connectivityDifference(prior.connectivity, after.connectivity);
    out[i] = {
      ...change,
      relevant,
      effect: {
        opened: [...diff.gained, ...diff.changed],
        closed: diff.lost,
        unknown: unknownBefore,
        opensProbes: probes.filter((_, k) => prior.decisions[k] === false && after.decisions[k] === true),
        closesProbes: probes.filter((_, k) => prior.decisions[k] === true && after.decisions[k] === false),
      },
    };
  }
  return out;
}

export type Confidence = 'high' | 'medium' | 'low';

export interface Cause {
  change: EffectedChange;
  confidence: Confidence;
  /** Why this change, in one sentence. */
  why: string;
}

/**
 * The most likely cause: the last change before the anomaly whose after-state allows a sample
 * flow its before-state denied (high confidence); else the last change before the anomaly that
 * opened connections of the scope (medium: time and scope point at it); else the change with the
 * largest effect on the scope (low). With no anomaly, the change that opened the most.
 */
export function likelyCause(changes: readonly EffectedChange[], firstAnomalyAt?: number): Cause | undefined {
  const relevant = changes.filter((c) => c.relevant && c.effect);
  const before = (c: EffectedChange): boolean => firstAnomalyAt === undefined || Date.parse(c.at) <= firstAnomalyAt + 5_000;
  const opener = [...relevant].reverse().find((c) => before(c) && (c.effect?.opensProbes.length ?? 0) > 0);
  if (opener) {
    const p = opener.effect!.opensProbes[0]!;
    return { change: opener, confidence: 'high', why: `its after-state allows the anomalous flow ${p.src} → ${p.dst}:${p.port}/${p.protocol}, which its before-state denied (checked by the policy engine)` };
  }
  const widened = [...relevant].reverse().find((c) => before(c) && (c.effect?.opened.length ?? 0) > 0);
  if (widened && firstAnomalyAt !== undefined) {
    return { change: widened, confidence: 'medium', why: 'it is the last change before the anomaly that opened connections of the scope; no sample flow could confirm it' };
  }
  const largest = [...relevant].sort((a, b) => (b.effect?.opened.length ?? 0) - (a.effect?.opened.length ?? 0))[0];
  if (largest && (largest.effect?.opened.length ?? 0) > 0) {
    return { change: largest, confidence: firstAnomalyAt === undefined ? 'medium' : 'low', why: `it opened the most connections of the scope (${largest.effect!.opened.length})` };
  }
  return undefined;
}
