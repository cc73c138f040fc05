// How a workload's pods are found in the live cluster and which labels select them in a
// generated policy. Per-pod labels (hashes, pod names, indexes) change on every rollout or
// restart, so a selector built on them would stop matching the workload. Pure.
import type { Pod } from '../policy/index.js';

/** Labels set per pod or per revision by the controllers: never used in a generated selector. */
export const UNSTABLE_LABEL_KEYS: ReadonlySet<string> = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-completion-index',
]);

// Labels that name the application, in order of preference.
const NAME_LABEL_KEYS = ['app.kubernetes.io/name', 'app'] as const;

/**
 * The workload a live pod belongs to, named as the flow collector names it: a ReplicaSet's pods
 * belong to its Deployment (`<deployment>-<pod-template-hash>`), other controllers' pods to the
 * controller, pods without one to themselves.
 */
export function workloadNameOf(pod: Pod): string {
  const ref = pod.workload;
  if (ref.kind === 'ReplicaSet') {
    const hash = pod.labels['pod-template-hash'];
    if (hash && ref.name.endsWith(`-${hash}`)) return ref.name.slice(0, -hash.length - 1);
  }
  return ref.kind === 'Pod' ? pod.name : ref.name;
}

/** Live pods grouped by namespace, then by workload name. */
export function groupWorkloads(pods: readonly Pod[]): Map<string, Map<string, Pod[]>> {
  const out = new Map<string, Map<string, Pod[]>>();
  for (const pod of pods) {
    if (pod.fromTemplate) continue;
    let byName = out.get(pod.namespace);
    if (!byName) out.set(pod.namespace, (byName = new Map()));
    const name = workloadNameOf(pod);
    const list = byName.get(name);
    if (list) list.push(pod);
    else byName.set(name, [pod]);
  }
  return out;
}

export interface StableSelector {
  /** Empty when no stable label is shared by all the workload's pods (nothing safe to select on). */
  matchLabels: Record<string, string>;
  /** True when the selector picks exactly the workload's pods among the namespace's pods. */
  exact: boolean;
  /** Other workloads of the namespace the selector also picks (when not exact). */
  alsoSelects: string[];
}

function commonStableLabels(pods: readonly Pod[]): Record<string, string> {
  const first = pods[0];
  if (!first) return {};
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(first.labels)) {
    if (UNSTABLE_LABEL_KEYS.has(key)) continue;
    if (pods.every((p) => p.labels[key] === value)) out[key] = value;
  }
  return out;
}

function selects(matchLabels: Record<string, string>, pod: Pod): boolean {
  for (const key in matchLabels) if (pod.labels[key] !== matchLabels[key]) return false;
  return true;
}

/** Workloads (other than `self`) with a pod the selector picks, sorted. */
function overreach(matchLabels: Record<string, string>, self: string, namespaceWorkloads: ReadonlyMap<string, readonly Pod[]>): string[] {
  const out: string[] = [];
  for (const [name, pods] of namespaceWorkloads) if (name !== self && pods.some((p) => selects(matchLabels, p))) out.push(name);
  return out.sort();
}

/**
 * The selector for workload `name`: `app.kubernetes.io/name`, else `app`, when all its pods share
 * it and it picks no other workload's pod; else every stable label its pods share (the narrowest
 * choice). When even that picks other pods, the selector is returned with `exact: false`.
 */
export function stableSelector(name: string, namespaceWorkloads: ReadonlyMap<string, readonly Pod[]>): StableSelector {
  const pods = namespaceWorkloads.get(name) ?? [];
  const common = commonStableLabels(pods);
  if (Object.keys(common).length === 0) return { matchLabels: {}, exact: false, alsoSelects: [] };
  for (const key of NAME_LABEL_KEYS) {
    const value = common[key];
    if (value === undefined) continue;
    const candidate = { [key]: value };
    if (overreach(candidate, name, namespaceWorkloads).length === 0) return { matchLabels: candidate, exact: true, alsoSelects: [] };
  }
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(common).sort()) sorted[key] = common[key] as string;
  const alsoSelects = overreach(sorted, name, namespaceWorkloads);
  return { matchLabels: sorted, exact: alsoSelects.length === 0, alsoSelects };
}

/**
 * One stable label per flagged workload that picks only flagged workloads' pods in the namespace,
 * so that `key NotIn [value]` leaves exactly the flagged ones out of a selector (NotIn also matches
 * pods without the key, so such requirements ANDed on different keys select every other pod).
 * Undefined for a workload with no such label: it cannot be left out.
 */
export function exemptionLabels(flagged: Iterable<string>, namespaceWorkloads: ReadonlyMap<string, readonly Pod[]>): Map<string, { key: string; value: string } | undefined> {
  const names = new Set(flagged);
  const out = new Map<string, { key: string; value: string } | undefined>();
  for (const name of [...names].sort()) {
    const common = commonStableLabels(namespaceWorkloads.get(name) ?? []);
    const keys = [...NAME_LABEL_KEYS.filter((k) => k in common), ...Object.keys(common).filter((k) => !(NAME_LABEL_KEYS as readonly string[]).includes(k)).sort()];
    let found: { key: string; value: string } | undefined;
    for (const key of keys) {
      const value = common[key] as string;
      const others = [...namespaceWorkloads].some(([other, pods]) => !names.has(other) && pods.some((p) => p.labels[key] === value));
      if (!others) {
        found = { key, value };
        break;
      }
    }
    out.set(name, found);
  }
  return out;
}
