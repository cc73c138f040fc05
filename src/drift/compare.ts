// Live policies against the desired ones from Git, object by object: missing in the cluster, extra
// in the cluster, or modified (with a compact field diff). Both sides are normalised first (see
// ./normalize.ts). The bot's own containment is reported apart, never as drift. Pure (the
// yielding form only awaits between chunks).
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import type { DesiredObject } from '../git/render.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, INCIDENT_LABEL } from '../containment/objects.js';
import { selectorMatches, type SelectorExpression } from '../kube/label-selector.js';
import { diffCanonical, type FieldDiff } from './field-diff.js';
import { CLUSTER_SCOPED_KINDS, normalizeDetailed } from './normalize.js';
import type { CompareMemo, CompareSession } from './compare-memo.js';
import { NO_MEMO, type Normalized } from './normalize-memo.js';

export { CompareMemo } from './compare-memo.js';

export { formatFieldDiff, type FieldDiff } from './field-diff.js';

type Obj = Record<string, unknown>;

export interface ObjectKey {
  kind: string;
  namespace?: string;
  name: string;
}

/** Where Git declares an object. */
export type DesiredSource = DesiredObject['source'];

/** A desired object as rendered from Git (a DesiredObject), or just the object. */
export interface DesiredInput {
  object: Record<string, unknown>;
  /** The namespace the renderer settled on, used when the object names none. */
  namespace?: string;
  source?: DesiredSource;
}

export type DriftItem =
  | { key: ObjectKey; status: 'missing'; desired: Record<string, unknown>; source?: DesiredSource }
  | { key: ObjectKey; status: 'extra'; live: Record<string, unknown> }
  | { key: ObjectKey; status: 'modified'; live: Record<string, unknown>; desired: Record<string, unknown>; diff: FieldDiff[]; source?: DesiredSource };

export interface ContainmentInPlace {
  key: ObjectKey;
  incident?: string;
  what: 'containment-object' | 'exclusion';
  /** The exclusion came with the bot's `kustomize.toolkit.fluxcd.io/reconcile: disabled`. */
  fluxSuspended?: true;
}

export interface IgnoreRule {
  namespaces?: string[];
  names?: string[];
  kinds?: string[];
  labelSelector?: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
}

/** An input that could not be compared (not an object, no name, hostile content). */
export interface SkippedObject {
  side: 'live' | 'desired';
  /** `live[3]`, or the Git file (`repo:path`) of a desired object. */
  where: string;
  reason: string;
}

export interface DriftReport {
  items: DriftItem[];
  containment: ContainmentInPlace[];
  /** Objects matched by an ignore rule. */
  ignored: number;
  /** Objects compared (in scope, not ignored, not the bot's own). */
  compared: number;
  skipped: SkippedObject[];
}

export interface CompareOptions {
  ignore?: readonly IgnoreRule[];
  /**
   * Limits the comparison to these namespaces (globs, `*` any run of characters). Cluster-scoped
   * policies are compared only when one of them is `*`. Default: everything.
   */
  namespaces?: readonly string[];
  /**
   * The kinds Git manages. A live object of another kind is neither compared nor extra. Default:
   * the kinds among the desired objects (a repository without CiliumNetworkPolicies does not make
   * every live one extra).
   */
  kinds?: readonly string[];
  /** What the last comparison derived (./compare-memo.ts): the same report, less work. */
  memo?: CompareMemo;
}

/** `NetworkPolicy db/allow-api`, or `AdminNetworkPolicy tenants` for a cluster-scoped object. */
export function keyString(k: ObjectKey): string {
  return k.namespace ? `${k.kind} ${k.namespace}/${k.name}` : `${k.kind} ${k.name}`;
}

function isRecord(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * The key of a raw object with normalisation's rules (a namespaced one without a namespace is in
 * `fallbackNamespace`, else "default"; a cluster-scoped one has none), or undefined without kind or name.
 */
export function objectKeyOf(obj: unknown, fallbackNamespace?: string): ObjectKey | undefined {
  if (!isRecord(obj) || typeof obj.kind !== 'string' || obj.kind === '' || !isRecord(obj.metadata)) return undefined;
  const { name, namespace } = obj.metadata;
  if (typeof name !== 'string' || name === '') return undefined;
  if (CLUSTER_SCOPED_KINDS.has(obj.kind)) return { kind: obj.kind, name };
  const ns = typeof namespace === 'string' && namespace !== '' ? namespace : fallbackNamespace || 'default';
  return { kind: obj.kind, namespace: ns, name };
}

/** `*` matches any run of characters (none included); everything else itself. Linear, no regex. */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function labelsOf(obj: Obj | undefined): Record<string, string> {
  const labels = isRecord(obj?.metadata) ? obj.metadata.labels : undefined;
  const out: Record<string, string> = {};
  if (isRecord(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

function ruleMatches(rule: IgnoreRule, key: ObjectKey, labelSets: Array<Record<string, string>>): boolean {
  if (rule.kinds && !rule.kinds.includes(key.kind)) return false;
  if (rule.namespaces && !(key.namespace !== undefined && rule.namespaces.some((g) => globMatches(g, key.namespace as string)))) return false;
  if (rule.names && !rule.names.some((g) => globMatches(g, key.name))) return false;
  if (rule.labelSelector) {
    const selector = { matchLabels: rule.labelSelector.matchLabels, matchExpressions: rule.labelSelector.matchExpressions as SelectorExpression[] | undefined };
    if (!labelSets.some((labels) => selectorMatches(selector, labels))) return false;
  }
  // A rule with no criterion at all would ignore everything: config validation refuses it.
  return Boolean(rule.kinds || rule.namespaces || rule.names || rule.labelSelector);
}

function inScope(key: ObjectKey, namespaces: readonly string[] | undefined): boolean {
  if (!namespaces) return true;
  if (key.namespace === undefined) return namespaces.includes('*');
  return namespaces.some((g) => globMatches(g, key.namespace as string));
}

interface Side {
  key: ObjectKey;
  /** keyString(key) */
  id: string;
  raw: Obj;
  /** Its canonical text (sets sorted: equal texts mean equal objects) and containment marks. */
  normalized: Extract<Normalized, { ok: true }>;
  source?: DesiredSource;
  namespace?: string;
}

/** One input of a side. */
interface SideInput {
  raw: unknown;
  where: string;
  namespace?: string;
  source?: DesiredSource;
}

/** Normalises one side; yields after every `chunk` objects (see comparing()). */
function* collect<T>(
  items: readonly T[],
  /** An item's input (made only when the memo does not know the item's side). */
  inputOf: (item: T, index: number) => SideInput,
  side: SkippedObject['side'],
  skipped: SkippedObject[],
  chunk: number,
  normalize: (raw: unknown, namespace: string | undefined) => Normalized,
  memo: CompareSession<Side, Outcome>,
): Generator<void, Map<string, Side>> {
  const out = new Map<string, Side>();
  let done = 0;
  const build = (input: SideInput): Side | undefined => {
    const result = normalize(input.raw, input.namespace);
    const key = result.ok ? objectKeyOf(result.object) : undefined;
    if (!result.ok || !key) {
      skipped.push({ side, where: input.where, reason: result.ok ? 'no kind or name' : result.reason });
      return undefined;
    }
    return {
      key,
      id: keyString(key),
      raw: input.raw as Obj,
      normalized: result,
      ...(input.source ? { source: input.source } : {}),
      ...(input.namespace ? { namespace: input.namespace } : {}),
    };
  };
  for (let index = 0; index < items.length; index++) {
    if (++done % chunk === 0) yield;
    const item = items[index] as T;
    // The memo knows an item by its identity (the DesiredInput, or the live object).
    let made = isRecord(item) ? memo.knownSide(item) : undefined;
    if (made === undefined) {
      made = build(inputOf(item, index));
      if (made && isRecord(item)) memo.keepSide(item, made);
    }
    if (made) out.set(made.id, made);
  }
  return out;
}

/** What one key came to: left out (out of scope, a kind Git does not manage), ignored, or compared. */
type Outcome = undefined | 'ignored' | { containment: ContainmentInPlace[]; compared: boolean; item?: DriftItem };

/** Without a memo: every side built and every outcome decided. */
const DECIDE_ALWAYS: CompareSession<Side, Outcome> = {
  knownSide: () => undefined,
  keepSide: () => undefined,
  keptOutcome: () => undefined,
  keepOutcome: (_key, _live, _desired, _options, outcome) => outcome,
  finish: () => undefined,
};

/** The outcome of one key from its two sides. */
function decide(l: Side | undefined, d: Side | undefined, options: CompareOptions, managed: ReadonlySet<string>): Outcome {
  const key = (l ?? d)?.key as ObjectKey;
  if (!inScope(key, options.namespaces)) return undefined;
  const labelSets = [l, d].filter((s): s is Side => s !== undefined).map((s) => labelsOf(s.raw));
  if ((options.ignore ?? []).some((rule) => ruleMatches(rule, key, labelSets))) return 'ignored';
  const liveLabels = l ? labelsOf(l.raw) : undefined;
  if (liveLabels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) {
    const incident = liveLabels[INCIDENT_LABEL];
    return { containment: [{ key, ...(incident ? { incident } : {}), what: 'containment-object' }], compared: false };
  }
  if (!managed.has(key.kind)) return undefined;
  const marks = l?.normalized.containment;
  const containment: ContainmentInPlace[] = marks?.exclusion ? [{ key, what: 'exclusion', ...(marks.fluxSuspended ? { fluxSuspended: true as const } : {}) }] : [];
  let item: DriftItem | undefined;
  if (l && d) {
    if (l.normalized.text !== d.normalized.text) item = { key, status: 'modified', live: l.raw, desired: d.raw, diff: fieldDiff(l, d), ...(d.source ? { source: d.source } : {}) };
  } else if (d) item = { key, status: 'missing', desired: d.raw, ...(d.source ? { source: d.source } : {}) };
  else if (l) item = { key, status: 'extra', live: l.raw };
  return { containment, compared: true, ...(item ? { item } : {}) };
}

/** The field diff of two objects known to differ, with list positions of the written objects. */
function fieldDiff(live: Side, desired: Side): FieldDiff[] {
  const l = normalizeDetailed(live.raw, { sortSets: false });
  const d = normalizeDetailed(desired.raw, { sortSets: false, ...(desired.namespace ? { namespace: desired.namespace } : {}) });
  if (!l.ok || !d.ok) return [];
  return diffCanonical(l.object, d.object, { live: l.sets, desired: d.sets });
}

/** Objects normalised or compared between two yields of compareStateYielding (a few ms of work). */
export const COMPARE_CHUNK = 200;

export interface YieldingOptions extends CompareOptions {
  /** Objects per chunk (default COMPARE_CHUNK). */
  chunkSize?: number;
  /** Awaited between chunks (default: the next turn of the event loop, after pending I/O). */
  pause?: () => Promise<void>;
}

/** Compares live objects (each with its kind) with the desired ones. Inputs are never modified. */
export function compareState(live: readonly Record<string, unknown>[], desired: readonly DesiredInput[], options: CompareOptions = {}): DriftReport {
  const steps = comparing(live, desired, options, Number.POSITIVE_INFINITY);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * compareState in chunks of `chunkSize` objects with the event loop free between them: a
 * whole-cluster comparison (10k policies take a second or more) would otherwise hold up every
 * Slack acknowledgement and job of the process for that long. Same report as compareState.
 */
export async function compareStateYielding(live: readonly Record<string, unknown>[], desired: readonly DesiredInput[], options: YieldingOptions = {}): Promise<DriftReport> {
  const { chunkSize = COMPARE_CHUNK, pause = () => setImmediatePromise(), ...compare } = options;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new Error(`chunkSize must be a positive integer, not ${chunkSize}`);
  const steps = comparing(live, desired, compare, chunkSize);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await pause();
  }
}

/** The comparison itself, yielding after every `chunk` objects normalised and every `chunk` keys compared. */
function* comparing(live: readonly Record<string, unknown>[], desired: readonly DesiredInput[], options: CompareOptions, chunk: number): Generator<void, DriftReport> {
  const skipped: SkippedObject[] = [];
  const normalizing = options.memo?.normalized.session() ?? NO_MEMO;
  const memo = options.memo?.session<Side, Outcome>() ?? DECIDE_ALWAYS;
  const desiredSides = yield* collect(
    desired,
    (d, i) => ({
      raw: isRecord(d) ? d.object : undefined,
      where: isRecord(d) && d.source ? `${d.source.repository}:${d.source.path}${d.source.line ? `:${d.source.line}` : ''}` : `desired[${i}]`,
      ...(isRecord(d) && typeof d.namespace === 'string' && d.namespace !== '' ? { namespace: d.namespace } : {}),
      ...(isRecord(d) && d.source ? { source: d.source } : {}),
    }),
    'desired',
    skipped,
    chunk,
    normalizing.desired,
    memo,
  );
  const liveSides = yield* collect(
    live,
    (raw, i) => ({ raw, where: `live[${i}]` }),
    'live',
    skipped,
    chunk,
    normalizing.live,
    memo,
  );
  // Sides the memo gave back were not normalised again: their live normalisations stay kept.
  for (const l of liveSides.values()) normalizing.carry(l.raw, l.normalized);
  normalizing.finish();
  const managed = new Set(options.kinds ?? [...desiredSides.values()].map((s) => s.key.kind));
  const decidedUnder = JSON.stringify([options.ignore ?? [], options.namespaces ?? null, [...managed].sort()]);
  const report: DriftReport = { items: [], containment: [], ignored: 0, compared: 0, skipped };
  const keys = [...desiredSides.keys()];
  for (const id of liveSides.keys()) if (!desiredSides.has(id)) keys.push(id);
  keys.sort();
  let done = 0;
  for (const id of keys) {
    if (++done % chunk === 0) yield;
    const l = liveSides.get(id);
    const d = desiredSides.get(id);
    const kept = memo.keptOutcome(id, l, d, decidedUnder);
    const outcome = kept ? kept.outcome : memo.keepOutcome(id, l, d, decidedUnder, decide(l, d, options, managed));
    if (outcome === 'ignored') report.ignored++;
    else if (outcome) {
      report.containment.push(...outcome.containment);
      if (outcome.compared) report.compared++;
      if (outcome.item) report.items.push(outcome.item);
    }
  }
  memo.finish();
  return report;
}
