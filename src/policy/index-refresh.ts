// Brings a built index to the next state of the same cluster in place, when the two differ in a
// few namespaces: the contain step proves one containment after another on the whole cluster,
// each state one namespace away from the last (its pods quarantined, its policies patched). On
// 10k pods and 10k policies a build took 120 ms of CPU and a refresh a fraction of it. The
// refreshed index is the one a fresh build of the next state gives (test/unit/policy-index-refresh).
import { loadLiveObjects, type CompileMemo, type LiveObjects } from './load-objects.js';
import type { ClusterObjects, Issue, Namespace, NetworkPolicy, Pod } from './model.js';
import { PolicyIndex } from './policy-index.js';

/** An index with the objects it was built from. */
export interface BuiltIndex {
  index: PolicyIndex;
  issues: Issue[];
  objects: ClusterObjects;
}

/** Past this many namespaces with other pods, a fresh build costs less than a refresh. */
const MAX_CHANGED_NAMESPACES = 8;

/**
 * The index of `live`: `previous` refreshed in place when it can be (then `previous` is that
 * index, and no longer the state it was), else a fresh build. `memo` must be the one `previous`
 * was built with: objects it read the same are known unchanged by their identity.
 */
export function indexLive(previous: BuiltIndex | undefined, live: LiveObjects, memo: CompileMemo): BuiltIndex {
  const objects = loadLiveObjects(live, memo);
  const index = previous && refreshIndex(previous.index, previous.objects, objects) ? previous.index : new PolicyIndex(objects);
  return { index, issues: [...objects.issues, ...(index.extended?.issues ?? [])], objects };
}

/**
 * Refreshes `index` (built from `previous`) to `next`. False when it cannot: the index must then
 * be built anew, as it may be half refreshed.
 */
export function refreshIndex(index: PolicyIndex, previous: ClusterObjects, next: ClusterObjects): boolean {
  if (!sameNamespaces(previous.namespaces, next.namespaces)) return false;
  const before = podsByNamespace(previous.pods);
  const after = podsByNamespace(next.pods);
  const changed = new Set<string>();
  for (const ns of new Set([...before.keys(), ...after.keys()])) if (!sameList(before.get(ns), after.get(ns))) changed.add(ns);
  if (changed.size > MAX_CHANGED_NAMESPACES) return false;
  for (const ns of changed) if (!index.replaceNamespacePods(ns, after.get(ns) ?? [])) return false;
  index.replaceNamespaceObjects(next.namespaces);
  // A policy selects pods in its own namespace and, through namespaceSelectors, in others.
  const selectsIn = (policy: NetworkPolicy): boolean =>
    changed.has(policy.namespace) ||
    [...policy.ingress, ...policy.egress].some((rule) => rule.peers !== 'all' && rule.peers.some((peer) => peer.kind === 'namespaces' && index.selectNamespaces(peer.namespaceSelector).some((ns) => changed.has(ns))));
  index.replacePolicies(next.policies, changed.size > 0 ? selectsIn : () => false);
  index.replaceExtended(next);
  return true;
}

function sameNamespaces(a: readonly Namespace[], b: readonly Namespace[]): boolean {
  return a.length === b.length && a.every((ns, i) => ns.name === b[i]?.name && sameLabels(ns.labels, (b[i] as Namespace).labels));
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function podsByNamespace(pods: readonly Pod[]): Map<string, Pod[]> {
  const out = new Map<string, Pod[]>();
  for (const pod of pods) {
    const list = out.get(pod.namespace);
    if (list) list.push(pod);
    else out.set(pod.namespace, [pod]);
  }
  return out;
}

/** The very same objects in the same order (a pod read again is another object). */
function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
