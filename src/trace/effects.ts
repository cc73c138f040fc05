// What each change did to the scope's connectivity, by the policy engine (pure). The cluster's
// policy state is walked back from now, change by change (the journal keeps each object before and
// after), so every change gets the state just before and just after it; the engine's diff of the
// two, restricted to the scope, is its effect. The anomaly's sample flows are checked in both
// states: a change whose after-state allows a flow its before-state denied opened the door.
import { selectorMatches } from '../kube/label-selector.js';
import { connectivityDifference, scopeConnectivityOf, type ScopeView } from '../containment/proof.js';
import { allowed, buildIndex, parseNetworkPolicy, type LiveObjects, type PolicyIndex } from '../policy/index.js';
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

function lists(live: LiveObjects): Lists {
  return {
    namespaces: [...(live.namespaces ?? [])],
    pods: [...(live.pods ?? [])],
    networkPolicies: [...(live.networkPolicies ?? [])],
    adminNetworkPolicies: [...(live.adminNetworkPolicies ?? [])],
    baselineAdminNetworkPolicies: [...(live.baselineAdminNetworkPolicies ?? [])],
    ciliumNetworkPolicies: [...(live.ciliumNetworkPolicies ?? [])],
  };
}

/** The state with one object set to `obj` (null: absent). */
function withObject(state: Lists, change: TracedChange, obj: Record<string, unknown> | null): Lists {
  const list = LIST_OF[change.kind];
  if (!list) return state;
  const same = (o: unknown): boolean => (o as Meta)?.metadata?.name === change.name && ((o as Meta)?.metadata?.namespace ?? undefined) === change.namespace;
  const rest = state[list].filter((o) => !same(o));
  return { ...state, [list]: obj ? [...rest, obj] : rest };
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
function moveIndex(index: PolicyIndex, change: TracedChange, target: Lists): PolicyIndex {
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
  return buildIndex(target).index;
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
): EffectedChange[] {
  const scopeNs = (live.namespaces ?? []).find((n) => (n as Meta).metadata?.name === scope.namespace) as Meta | undefined;
  const labels = scopeNs?.metadata?.labels ?? { 'kubernetes.io/metadata.name': scope.namespace };
  const out: EffectedChange[] = new Array(changes.length);
  let state = lists(live);
  let index = buildIndex(state).index;
  // What the current state allows, computed when first needed.
  let current: { connectivity: string[]; decisions: Array<boolean | undefined> } | undefined;
  const measure = () => ({ connectivity: scopeConnectivityOf(index, scope), decisions: probes.map((p) => decide(index, p)) });
  for (let i = changes.length - 1; i >= 0; i--) {
    const change = changes[i] as TracedChange;
    const unknownBefore = change.fromAuditOnly && change.before === null && change.verb !== 'create';
    const before = unknownBefore ? state : withObject(state, change, change.before);
    const relevant = mayTouchScope(change, scope, labels) && !ignore(change);
    const after = relevant ? (current ??= measure()) : undefined;
    if (before !== state) {
      index = moveIndex(index, change, before);
      current = undefined;
    }
    state = before;
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
