// The engine's proof of a generated baseline: the live cluster with the namespace's current
// NetworkPolicies replaced by the generated ones (plus the repository's policies the change cannot
// remove, `keep`, and the narrowed copies kept for the workloads left out, `narrowed`: the state
// after the merge), then four questions. Is every kept learned
// edge allowed? Is anything allowed between workloads that was never seen? Are the anomalous
// flows denied? Do the generated policies lint clean? Pure.
import { namespaceOfObject } from '../kube/resources.js';
import { ClassConnectivity } from '../policy/connectivity.js';
import { buildIndex, Conns, decide as decideOne, lint, QueryError, resolveEndpoints, type Decision, type Endpoint, type LiveObjects, type PolicyIndex } from '../policy/index.js';
import { portRange, type Protocol } from '../policy/port-set.js';
import { checkEdges, type HardenEdge } from './edges.js';
import type { GeneratedBaseline, PolicyObject } from './generate.js';
import { workloadNameOf } from './selectors.js';

export interface ProofRequest {
  live: LiveObjects;
  baseline: GeneratedBaseline;
  /** Flows that must be denied ({src, dst, port, protocol}); malformed ones are counted apart. */
  anomalies?: readonly unknown[];
  /**
   * The namespace's policies that stay after the merge (rendered by Helm or Kustomize, or selecting
   * only workloads left out for too little history). One with a generated policy's name replaces it.
   */
  keep?: readonly PolicyObject[];
  /**
   * Narrowed copies of replaced policies for the workloads left out (narrow.ts): added with the
   * pull request, so in the state after the merge. Not linted (their rules are the team's).
   */
  narrowed?: readonly PolicyObject[];
}

export interface EdgeVerdict {
  edge: HardenEdge;
  reason: string;
}

export interface UnobservedPair {
  src: string;
  dst: string;
  /** The connections allowed but never learned, e.g. "TCP 1-65535". */
  conns: string;
}

export interface BaselineProof {
  namespace: string;
  coverage: { learned: number; allowed: number; percent: number; misses: EdgeVerdict[] };
  /**
   * Workload pairs (src, dst), src or dst in the namespace, the same workload on both sides
   * included, whose allowed connections are not all learned edges. Allowed = the engine's exact
   * class-level connectivity (every protocol and port, NetworkPolicies plus any admin or Cilium
   * policies), a pair allowed when any pod of src may reach any pod of dst. Learned = the kept
   * edges between the two workloads. DNS from the namespace to kube-dns (UDP/TCP 53) is granted to
   * every pod on purpose and never counts. `combinations` counts (src, dst, protocol, port) values.
   */
  unobserved: { pairs: number; combinations: number; examples: UnobservedPair[] };
  anomalies: { total: number; denied: number; allowed: EdgeVerdict[]; unresolved: EdgeVerdict[]; malformed: number };
  /** Findings of severity error or warning on the generated policies or their namespace. */
  lint: { errors: number; warnings: number; findings: Array<{ id: string; severity: string; object: string; message: string }> };
  /** Workloads left out of the baseline for too little history: not in `unobserved`. */
  notHardened: Array<{ workload: string; reason: string }>;
  /** The narrowed copies counted in (`ns/name`). */
  narrowed: string[];
  ok: boolean;
  summary: string;
}

const MAX_EXAMPLES = 10;
const DNS_CONNS = Conns.from({ UDP: portRange(53, 53), TCP: portRange(53, 53) });

function portCount(c: Conns): number {
  let n = 0;
  for (const p of ['TCP', 'UDP', 'SCTP'] as const) {
    const r = c.ports(p);
    for (let i = 0; i + 1 < r.length; i += 2) n += (r[i + 1] as number) - (r[i] as number) + 1;
  }
  return n;
}

const nameOf = (p: unknown): string => String((p as { metadata?: { name?: unknown } } | null)?.metadata?.name);

/** One namespace of a hardening change: its generated policies and what the change cannot remove. */
export interface NamespaceMerge {
  namespace: string;
  generated: readonly PolicyObject[];
  keep: readonly PolicyObject[];
}

/**
 * The live objects as they will be once the change is merged: in each hardened namespace the
 * NetworkPolicies are the generated ones plus `keep` (Git holds one object per name: a kept one
 * the baseline also names is the one that lands); elsewhere nothing changes.
 */
export function stateAfterMerge(live: LiveObjects, merges: readonly NamespaceMerge[]): LiveObjects {
  const hardened = new Set(merges.map((m) => m.namespace));
  const others = (live.networkPolicies ?? []).filter((p) => !hardened.has(namespaceOfObject(p) ?? ''));
  const added = merges.flatMap((m) => {
    const kept = m.keep.filter((p) => namespaceOfObject(p) === m.namespace);
    const keptNames = new Set(kept.map(nameOf));
    return [...m.generated.filter((p) => !keptNames.has(nameOf(p))), ...kept];
  });
  return { ...live, networkPolicies: [...others, ...structuredClone(added)] };
}

/** The index of the live cluster with the namespace's policies swapped for the generated ones (and `keep`). */
export function indexWithBaseline(live: LiveObjects, baseline: GeneratedBaseline, keep: readonly PolicyObject[] = []): ReturnType<typeof buildIndex> {
  return buildIndex(stateAfterMerge(live, [{ namespace: baseline.namespace, generated: baseline.policies, keep }]));
}

type Decide = (e: HardenEdge) => { allowed: boolean; resolved: boolean; reason: string };

/**
 * The engine's decision per edge, as `allowed()` gives it (every pod class of src to every one of
 * dst), with each side resolved once: resolving a Deployment scans all workloads, and thousands of
 * edges name the same few hundred. `resolved` is false when a side names nothing in the cluster.
 */
function decider(index: PolicyIndex): Decide {
  const endpoints = new Map<string, Endpoint[] | QueryError>();
  const resolve = (side: string): Endpoint[] | QueryError => {
    let r = endpoints.get(side);
    if (r === undefined) {
      try {
        r = resolveEndpoints(index, side);
      } catch (err) {
        if (!(err instanceof QueryError)) throw err;
        r = err;
      }
      endpoints.set(side, r);
    }
    return r;
  };
  return (e) => {
    const srcs = resolve(e.src);
    const dsts = resolve(e.dst);
    const unresolved = [srcs, dsts].find((x): x is QueryError => x instanceof QueryError);
    if (unresolved) return { allowed: false, resolved: false, reason: unresolved.message };
    let verdict: Decision | undefined;
    try {
      for (const s of srcs as Endpoint[]) {
        for (const d of dsts as Endpoint[]) {
          const one = decideOne(index, s, d, e.port, e.protocol as Protocol);
          if (!verdict || (verdict.allowed && !one.allowed)) verdict = one;
        }
      }
    } catch (err) {
      if (err instanceof QueryError) return { allowed: false, resolved: false, reason: err.message };
      throw err;
    }
    if (!verdict) return { allowed: false, resolved: false, reason: 'no pods' };
    return { allowed: verdict.allowed, resolved: true, reason: verdict.reasons.join('; ') || (verdict.allowed ? 'allowed' : 'denied') };
  };
}

function unobservedPairs(index: PolicyIndex, namespace: string, kept: readonly HardenEdge[], omitted: ReadonlySet<string>): BaselineProof['unobserved'] {
  // Class -> the workloads (`ns/name`, named as the collector names them) with a pod in it.
  const workloadsOf = index.classes.map((c) => [...new Set(c.pods.filter((p) => !p.fromTemplate).map((p) => `${p.namespace}/${workloadNameOf(p)}`))]);
  const kubeDns = new Set(index.classes.filter((c) => c.namespace === 'kube-system' && c.labels['k8s-app'] === 'kube-dns').flatMap((c) => workloadsOf[c.id] ?? []));
  const learned = new Map<string, Conns>();
  for (const e of kept) {
    const key = `${e.src}\u0000${e.dst}`;
    learned.set(key, (learned.get(key) ?? Conns.NONE).union(Conns.of(e.protocol as Protocol, portRange(e.port, e.port))));
  }
  const inNs = (w: string): boolean => w.startsWith(`${namespace}/`);
  const allowedByPair = new Map<string, Conns>();
  const conn = new ClassConnectivity(index, { external: false });
  conn.rows.forEach((row, d) => {
    const dsts = workloadsOf[d] ?? [];
    for (const [s, conns] of row) {
      for (const src of workloadsOf[s] ?? []) {
        for (const dst of dsts) {
          if (!inNs(src) && !inNs(dst)) continue;
          // Left out of the baseline on purpose: what they may do is their current policies' business.
          if (omitted.has(src) || omitted.has(dst)) continue;
          const key = `${src}\u0000${dst}`;
          allowedByPair.set(key, (allowedByPair.get(key) ?? Conns.NONE).union(conns));
        }
      }
    }
  });
  let pairs = 0;
  let combinations = 0;
  const examples: UnobservedPair[] = [];
  for (const key of [...allowedByPair.keys()].sort()) {
    const [src = '', dst = ''] = key.split('\u0000');
    let rest = (allowedByPair.get(key) as Conns).subtract(learned.get(key) ?? Conns.NONE);
    if (inNs(src) && kubeDns.has(dst)) rest = rest.subtract(DNS_CONNS);
    if (rest.isEmpty()) continue;
    pairs += 1;
    combinations += portCount(rest);
    if (examples.length < MAX_EXAMPLES) examples.push({ src, dst, conns: rest.toString() });
  }
  return { pairs, combinations, examples };
}

function summaryOf(p: Omit<BaselineProof, 'summary' | 'ok'>, files: number, policies: number): string {
  const lines = [
    `Baseline for namespace ${p.namespace}: ${files} file(s), ${policies} polic${policies === 1 ? 'y' : 'ies'}.`,
    `Learned edges allowed: ${p.coverage.allowed}/${p.coverage.learned} (${p.coverage.percent.toFixed(1)}%).`,
    `Workload pairs allowed without an observed edge: ${p.unobserved.pairs} (${p.unobserved.combinations} port/protocol combinations).`,
    `Anomalous flows denied: ${p.anomalies.denied}/${p.anomalies.total}${p.anomalies.unresolved.length > 0 ? ` (${p.anomalies.unresolved.length} not found in the cluster)` : ''}.`,
    `Lint: ${p.lint.errors} error(s), ${p.lint.warnings} warning(s).`,
  ];
  if (p.notHardened.length > 0) lines.push(`Not hardened: ${p.notHardened.map((w) => `${w.workload} (${w.reason})`).join(', ')}; kept under their current policies.`);
  if (p.narrowed.length > 0) lines.push(`Kept for workloads not hardened (narrowed copies of replaced policies): ${p.narrowed.join(', ')}.`);
  for (const m of p.coverage.misses.slice(0, 3)) lines.push(`  not allowed: ${m.edge.src} -> ${m.edge.dst} ${m.edge.protocol}/${m.edge.port}`);
  for (const x of p.unobserved.examples.slice(0, 3)) lines.push(`  never observed: ${x.src} -> ${x.dst} ${x.conns}`);
  for (const a of p.anomalies.allowed.slice(0, 3)) lines.push(`  anomaly allowed: ${a.edge.src} -> ${a.edge.dst} ${a.edge.protocol}/${a.edge.port}`);
  return lines.join('\n');
}

/** Proves the baseline against the live cluster with the engine. */
export function proveBaseline(request: ProofRequest): BaselineProof {
  const { baseline } = request;
  const { namespace } = baseline;
  const { index, issues } = indexWithBaseline(request.live, baseline, [...(request.keep ?? []), ...(request.narrowed ?? [])]);

  const decide = decider(index);
  const misses: EdgeVerdict[] = [];
  for (const edge of baseline.kept) {
    const d = decide(edge);
    if (!d.allowed) misses.push({ edge, reason: d.reason });
  }
  const learned = baseline.kept.length;
  const coverage = { learned, allowed: learned - misses.length, percent: learned === 0 ? 100 : ((learned - misses.length) / learned) * 100, misses };

  const rawAnomalies = request.anomalies ?? [];
  const anomalyEdges = checkEdges(rawAnomalies, Math.max(rawAnomalies.length, 1)).edges;
  const anomalies: BaselineProof['anomalies'] = { total: anomalyEdges.length, denied: 0, allowed: [], unresolved: [], malformed: rawAnomalies.length - anomalyEdges.length };
  for (const edge of anomalyEdges) {
    const d = decide(edge);
    if (d.allowed) anomalies.allowed.push({ edge, reason: d.reason });
    else if (!d.resolved) anomalies.unresolved.push({ edge, reason: d.reason });
    else anomalies.denied += 1;
  }

  const generatedNames = new Set(baseline.policies.map((p) => String((p.metadata as { name?: unknown }).name)));
  const findings = lint(index, { issues })
    .filter((f) => !f.suppressed && (f.severity === 'error' || f.severity === 'warning'))
    .filter((f) => f.namespace === namespace && (f.policy === undefined || generatedNames.has(f.policy)))
    .map((f) => ({ id: f.id, severity: f.severity, object: f.object, message: f.message }));
  const lintResult = { errors: findings.filter((f) => f.severity === 'error').length, warnings: findings.filter((f) => f.severity === 'warning').length, findings };

  const omitted = (baseline.flagged ?? []).filter((f) => f.omitted);
  const unobserved = unobservedPairs(index, namespace, baseline.kept, new Set(omitted.map((f) => f.workload)));
  const notHardened = omitted.map((f) => ({ workload: f.workload, reason: f.reason }));
  const narrowed = (request.narrowed ?? []).map((p) => `${namespace}/${nameOf(p)}`);
  const partial = { namespace, coverage, unobserved, anomalies, lint: lintResult, notHardened, narrowed };
  const ok = misses.length === 0 && unobserved.pairs === 0 && anomalies.allowed.length === 0 && lintResult.errors === 0 && lintResult.warnings === 0;
  return { ...partial, ok, summary: summaryOf(partial, baseline.files.length, baseline.policies.length) };
}
