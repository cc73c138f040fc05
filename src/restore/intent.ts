// What a restore step applies, and the field diff it shows. The intent is the known-good object
// with only the metadata its author writes (name, namespace, labels, annotations): no server
// bookkeeping (resourceVersion, uid, managedFields, ...), no owner references of objects that may
// be gone, no stale kubectl last-applied copy. Containment stays until its lift, the plan's last
// step: when the live object carries the bot's exclusion (and the Flux suspension that came with
// it), so does the intent, else applying it would lift the quarantine of those pods early. Pure.
import { formatFieldDiff } from '../drift/compare.js';
import { diffCanonical } from '../drift/field-diff.js';
import { normalizeDetailed } from '../drift/normalize.js';
import { hasExclusion, withExclusion, withoutExclusion } from '../containment/exclusion.js';
import { FLUX_RECONCILE_ANNOTATION, FLUX_RECONCILE_DISABLED } from '../containment/gitops.js';
import type { ObjectKey } from '../drift/compare.js';
import type { EngineKind } from './engine.js';
import { isRecord } from './scope.js';

type Obj = Record<string, unknown>;

const API_VERSION: Record<EngineKind, string> = {
  NetworkPolicy: 'networking.k8s.io/v1',
  AdminNetworkPolicy: 'policy.networking.k8s.io/v1alpha1',
  BaselineAdminNetworkPolicy: 'policy.networking.k8s.io/v1alpha1',
  CiliumNetworkPolicy: 'cilium.io/v2',
};

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function stringMap(raw: unknown, drop: readonly string[] = []): Record<string, string> | undefined {
  if (!isRecord(raw)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string' && !drop.includes(k)) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

function containmentOf(kind: string, obj: Obj | undefined): { exclusion: boolean; flux: boolean } {
  if (kind !== 'NetworkPolicy' || !obj || !isRecord(obj.spec) || !hasExclusion(obj.spec.podSelector)) return { exclusion: false, flux: false };
  const annotations = isRecord(obj.metadata) && isRecord(obj.metadata.annotations) ? obj.metadata.annotations : {};
  return { exclusion: true, flux: annotations[FLUX_RECONCILE_ANNOTATION] === FLUX_RECONCILE_DISABLED };
}

/**
 * The object to apply (`intent`, the live object's containment kept) and the same without any
 * containment (`plain`, what the engine evaluates: the state once containment is lifted).
 */
export function intentOf(kind: EngineKind, key: ObjectKey, desired: Obj, live: Obj | undefined): { intent: Obj; plain: Obj } {
  const { status: _status, metadata, kind: _kind, apiVersion, ...body } = structuredClone(desired);
  const meta = isRecord(metadata) ? metadata : {};
  const own = containmentOf(kind, desired);
  const labels = stringMap(meta.labels);
  const annotations = stringMap(meta.annotations, own.flux ? [LAST_APPLIED, FLUX_RECONCILE_ANNOTATION] : [LAST_APPLIED]);
  const plainMeta: Obj = { name: key.name, ...(key.namespace !== undefined ? { namespace: key.namespace } : {}), ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) };
  const plain: Obj = { apiVersion: typeof apiVersion === 'string' && apiVersion !== '' ? apiVersion : API_VERSION[kind], kind, metadata: plainMeta, ...body };
  if (own.exclusion && isRecord(plain.spec)) plain.spec = { ...plain.spec, podSelector: withoutExclusion(plain.spec.podSelector) };
  const keep = containmentOf(kind, live);
  if (!keep.exclusion) return { intent: plain, plain };
  const spec = isRecord(plain.spec) ? plain.spec : {};
  const intentMeta: Obj = keep.flux ? { ...plainMeta, annotations: { ...(annotations ?? {}), [FLUX_RECONCILE_ANNOTATION]: FLUX_RECONCILE_DISABLED } } : plainMeta;
  return { intent: { ...plain, metadata: intentMeta, spec: { ...spec, podSelector: withExclusion(spec.podSelector) } }, plain };
}

/**
 * The step's field diff, read as what the step does to the live object: `~ path: <live> → <after>`,
 * `+ path: <value>` (the step adds it), `- path: <value>` (the step removes it). The bot's
 * containment is left out (normalisation strips it). A create lists what it adds, a delete what it removes.
 */
export function stepDiff(key: ObjectKey, before: Obj | null, after: Obj | null, maxLines = 20): string[] {
  const shell: Obj = { kind: key.kind, metadata: { name: key.name, ...(key.namespace !== undefined ? { namespace: key.namespace } : {}) } };
  const canonical = (o: Obj | null): { object: Obj; sets: WeakSet<unknown[]> } | undefined => {
    if (!o) return { object: shell, sets: new WeakSet() };
    const r = normalizeDetailed(o, { sortSets: false, ...(key.namespace !== undefined ? { namespace: key.namespace } : {}) });
    return r.ok ? { object: r.object, sets: r.sets } : undefined;
  };
  const b = canonical(before);
  const a = canonical(after);
  if (!a || !b) return [];
  // diffCanonical's "live" side is the one shown after the arrow and as `+`: here, the result of the step.
  return formatFieldDiff(diffCanonical(a.object, b.object, { live: a.sets, desired: b.sets }), maxLines);
}
