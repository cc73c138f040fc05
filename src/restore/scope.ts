// What a restore compares: the live policies and the known-good ones within the restore scope.
// Namespaced objects are in scope when their namespace is (names, or globs with `*`). A
// cluster-scoped one (AdminNetworkPolicy, BaselineAdminNetworkPolicy) is in scope when the live
// or the known-good version has a subject whose namespace selector matches a namespace in scope:
// its pod selector is not looked at (simpler, and it errs towards planning the object).
// Only the kinds the policy engine models are planned; the others are reported, not restored. Pure.
import { globMatches, keyString, objectKeyOf, type DesiredInput, type ObjectKey, type SkippedObject } from '../drift/compare.js';
import { hasExclusion, withoutExclusion } from '../containment/exclusion.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../containment/objects.js';
import { loadObjects, POLICY_LIST_OF_KIND, type LiveObjects, type Namespace } from '../policy/index.js';
import { matches } from '../policy/selectors.js';
import type { EngineKind, PolicyModel } from './engine.js';

type Obj = Record<string, unknown>;

/** The LiveObjects list of each kind the engine models. */
export const LIST_OF_KIND = POLICY_LIST_OF_KIND satisfies Record<EngineKind, keyof LiveObjects>;

export const ENGINE_KINDS = Object.keys(LIST_OF_KIND) as EngineKind[];

export function isRecord(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function isEngineKind(kind: unknown): kind is EngineKind {
  return typeof kind === 'string' && Object.prototype.hasOwnProperty.call(LIST_OF_KIND, kind);
}

export function isOurs(obj: unknown): boolean {
  const labels = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata.labels : undefined;
  return isRecord(labels) && labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** A NetworkPolicy without the bot's exclusion requirement (the same object when it has none). */
export function withoutOurExclusion(kind: string, obj: unknown): unknown {
  if (kind !== 'NetworkPolicy' || !isRecord(obj) || !isRecord(obj.spec) || !hasExclusion(obj.spec.podSelector)) return obj;
  return { ...obj, spec: { ...obj.spec, podSelector: withoutExclusion(obj.spec.podSelector) } };
}

/**
 * The live state as it will be once containment is lifted (as drift's intendedObjects sees it):
 * without the bot's objects and without its exclusion requirement. Pods, namespaces and nodes
 * are the same lists.
 */
export function withoutContainment(live: LiveObjects): LiveObjects {
  const out: LiveObjects = { ...live };
  for (const [kind, list] of Object.entries(LIST_OF_KIND) as Array<[EngineKind, (typeof LIST_OF_KIND)[EngineKind]]>) {
    if (live[list]) out[list] = (live[list] ?? []).filter((o) => !isOurs(o)).map((o) => withoutOurExclusion(kind, o));
  }
  return out;
}

/** Live policies of every modelled kind, each with its kind (list items carry none). */
export function tagged(live: LiveObjects): Obj[] {
  const out: Obj[] = [];
  for (const [kind, list] of Object.entries(LIST_OF_KIND)) for (const o of live[list as keyof LiveObjects] ?? []) out.push(isRecord(o) ? { ...o, kind } : (o as Obj));
  return out;
}

/** Compiles one policy object; the model, or why the engine cannot read it. */
export function compile(kind: EngineKind, object: unknown, source: string): { model?: PolicyModel; errors: string[] } {
  const loaded = loadObjects([{ object: isRecord(object) ? { ...object, kind } : object, source }]);
  const errors = loaded.issues.filter((i) => i.severity === 'error').map((i) => i.message);
  const model = kind === 'NetworkPolicy' ? loaded.policies[0] : kind === 'CiliumNetworkPolicy' ? loaded.ciliumPolicies?.[0] : loaded.adminPolicies?.[0];
  return model && errors.length === 0 ? { model, errors } : { errors: errors.length > 0 ? errors : [`not a ${kind}`] };
}

export function namespaceInScope(namespace: string, scope: readonly string[]): boolean {
  return scope.some((g) => globMatches(g, namespace));
}

/** Namespaces in scope with their labels: the live ones, and names in scope the cluster lacks (name label only). */
export function scopeNamespaces(all: readonly Namespace[], scope: readonly string[]): Array<Pick<Namespace, 'name' | 'labels'>> {
  const out: Array<Pick<Namespace, 'name' | 'labels'>> = all.filter((n) => namespaceInScope(n.name, scope));
  const known = new Set(all.map((n) => n.name));
  for (const name of scope) if (!name.includes('*') && !known.has(name)) out.push({ name, labels: { 'kubernetes.io/metadata.name': name } });
  return out;
}

function selectsIntoScope(kind: EngineKind, object: unknown, namespaces: ReadonlyArray<Pick<Namespace, 'labels'>>): boolean {
  const { model } = compile(kind, object, 'scope');
  if (!model || !('subject' in model)) return false;
  return namespaces.some((n) => matches(model.subject.namespaceSelector, n.labels));
}

export interface KnownGoodEntry {
  object: Record<string, unknown>;
  source?: unknown;
  namespace?: string;
}

export interface Selection {
  live: Obj[];
  desired: DesiredInput[];
  /** Per desired input: its index among the known-good objects. */
  origin: number[];
  /** Known-good objects kept for a re-plan: in scope, cluster-scoped, or without a readable key. */
  kept: KnownGoodEntry[];
  skipped: SkippedObject[];
}

/** The live and known-good objects to compare: those in scope, of the kinds compared. */
export function select(live: LiveObjects, knownGood: readonly unknown[], scope: readonly string[], kinds: ReadonlySet<string>, namespaces: readonly Namespace[]): Selection {
  const inScopeNamespaces = scopeNamespaces(namespaces, scope);
  const out: Selection = { live: [], desired: [], origin: [], kept: [], skipped: [] };
  const clusterScoped = new Map<string, { kind: EngineKind; versions: unknown[] }>();
  const consider = (key: ObjectKey, object: unknown): boolean => {
    if (key.namespace !== undefined) return namespaceInScope(key.namespace, scope);
    if (!isEngineKind(key.kind)) return false;
    const id = keyString(key);
    const entry = clusterScoped.get(id) ?? { kind: key.kind, versions: [] };
    entry.versions.push(object);
    clusterScoped.set(id, entry);
    return true;
  };
  const liveCandidates: Array<{ key?: ObjectKey; object: Obj }> = [];
  for (const object of tagged(live)) {
    const key = objectKeyOf(object);
    const ns = isRecord(object) && isRecord(object.metadata) ? object.metadata.namespace : undefined;
    // Without a key, compareState reports it; out of scope it is none of the restore's business.
    if (!key) {
      if (typeof ns !== 'string' || ns === '' || namespaceInScope(ns, scope)) liveCandidates.push({ object });
    } else if (consider(key, object)) liveCandidates.push({ key, object });
  }
  const desiredCandidates: Array<{ key?: ObjectKey; entry: KnownGoodEntry; at: number }> = [];
  const declared = new Map<string, number>();
  knownGood.forEach((raw, at) => {
    const entry = isRecord(raw) ? (raw as unknown as KnownGoodEntry) : undefined;
    const fallback = entry && typeof entry.namespace === 'string' && entry.namespace !== '' ? entry.namespace : undefined;
    const key = entry ? objectKeyOf(entry.object, fallback) : undefined;
    if (!entry || !key) {
      desiredCandidates.push({ entry: entry ?? ({ object: raw } as KnownGoodEntry), at });
      return;
    }
    // A snapshot taken while contained holds the bot's own objects: containment is lifted, never restored.
    const reason = isOurs(entry.object)
      ? 'the bot’s own containment object'
      : !isEngineKind(key.kind)
        ? `the policy engine does not model ${key.kind}`
        : !kinds.has(key.kind)
          ? `the known-good source does not manage ${key.kind}`
          : undefined;
    if (key.namespace !== undefined && !namespaceInScope(key.namespace, scope)) return;
    out.kept.push(entry);
    if (reason) {
      out.skipped.push({ side: 'desired', where: `known-good[${at}]`, reason: `${keyString(key)}: ${reason}; not restored` });
      return;
    }
    consider(key, entry.object);
    const id = keyString(key);
    const first = declared.get(id);
    if (first !== undefined) out.skipped.push({ side: 'desired', where: `known-good[${first}]`, reason: `${id} is declared again at known-good[${at}]; the last declaration is the one restored` });
    declared.set(id, at);
    desiredCandidates.push({ key, entry, at });
  });
  const clusterInScope = new Set<string>();
  for (const [id, entry] of clusterScoped) if (entry.versions.some((v) => selectsIntoScope(entry.kind, v, inScopeNamespaces))) clusterInScope.add(id);
  const wanted = (key: ObjectKey | undefined): boolean => !key || key.namespace !== undefined || clusterInScope.has(keyString(key));
  for (const c of liveCandidates) if (wanted(c.key)) out.live.push(c.object);
  for (const c of desiredCandidates) {
    if (!wanted(c.key)) continue;
    const { object, namespace, source } = c.entry;
    const desiredSource = isRecord(source) && typeof source.repository === 'string' && typeof source.path === 'string' ? (source as unknown as DesiredInput['source']) : undefined;
    out.desired.push({ object, ...(typeof namespace === 'string' && namespace !== '' ? { namespace } : {}), ...(desiredSource ? { source: desiredSource } : {}) });
    out.origin.push(c.at);
    if (!c.key) out.kept.push(c.entry);
  }
  return out;
}

/** The skipped entries of compareState, with known-good positions instead of compared-list positions. */
export function renumbered(skipped: readonly SkippedObject[], origin: readonly number[]): SkippedObject[] {
  return skipped.map((s) => {
    const m = s.side === 'desired' ? /^desired\[(\d+)\]$/.exec(s.where) : null;
    return m ? { ...s, where: `known-good[${origin[Number(m[1])] ?? m[1]}]` } : s;
  });
}

