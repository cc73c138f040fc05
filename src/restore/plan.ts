// Step 4's plan: the known-good policies put back one object at a time, in an order that never
// leaves the cluster more open than both the live state and the known-good one. Pure: no I/O, no
// clock. The executor (apply, read back, verify, lift containment) lives elsewhere.
//
// - What: the difference between live and known-good within the restore scope (./scope.ts), the
//   bot's containment aside: its objects and exclusions are listed in `containment`, left alone,
//   and kept on the objects a step updates (./intent.ts). Lifting it is the executor's last step.
// - States: every prediction is on the live state as it will be without containment (the
//   "live end") with the steps done so far; the last step reaches the "known-good end": the live
//   policies outside the scope and the known-good ones inside it.
// - Order and safety: ./order.ts. A connection is "more open than both ends" when an intermediate
//   state allows it (workload pair and port, or workload and address block) and neither end does.
// - Re-plan: replanFrom() below.
import { compareState, keyString, type ContainmentInPlace, type DriftReport, type ObjectKey, type SkippedObject } from '../drift/compare.js';
import { loadLiveObjects, type LiveObjects } from '../policy/index.js';
import type { IpSet } from '../policy/ip-set.js';
import { addressSets, boundaryPolicy, RestoreEngine, type Cell, type EngineKind, type ModelChange } from './engine.js';
import type { SyncedBy } from './handover.js';
import { intentOf, stepDiff } from './intent.js';
import { orderChanges, type Effect, type Excess } from './order.js';
import { compile, isEngineKind, isRecord, renumbered, select, withoutContainment, withoutOurExclusion, type Selection } from './scope.js';

export type { Effect } from './order.js';

/** The known-good policies (any kinds the engine models), from Git, the journal or a typed revision. */
export interface KnownGood {
  /** Where they come from, e.g. `git main@1a2b3c4` or `journal 2026-03-01T10:00:00Z`. */
  label: string;
  objects: Array<{ object: Record<string, unknown>; source?: unknown; namespace?: string }>;
  /**
   * The kinds this source is the truth for: a live object of another kind is neither compared nor
   * deleted. Default: the kinds among `objects`.
   */
  kinds?: string[];
  /** False when part of the source could not be read: a live object it lacks is not deleted (reported). */
  complete?: boolean;
  /** Objects whose known-good state the source cannot tell: left out of the plan (reported). */
  unknown?: ObjectKey[];
}

export interface RestorePlanInput {
  live: LiveObjects;
  knownGood: KnownGood;
  /** The restore scope: namespace names (or globs, `*` any run of characters). */
  namespaces: string[];
}

export type StepAction = 'create' | 'update' | 'delete';

export interface RestoreStep {
  n: number;
  action: StepAction;
  key: ObjectKey;
  kind: string;
  namespace?: string;
  name: string;
  /** The live object as read (with its resourceVersion); null for a create. */
  before: Record<string, unknown> | null;
  /** The object to apply (no server metadata, the live object's containment kept); null for a delete. */
  after: Record<string, unknown> | null;
  /** The step's effect on the state before it (engine). */
  effect: Effect;
  /** Engine lines `SRC => DST : CONNS` the step opens / closes on the state before it. */
  opened: string[];
  closed: string[];
  /** Field diff (./intent.ts stepDiff): `~ path: live → after`, `+` added, `-` removed. */
  diff: string[];
  /** The live resourceVersion the step was planned on (update and delete). */
  resourceVersion?: string;
  /** Where the known-good object comes from, as the source gave it. */
  source?: unknown;
  /** Left to a GitOps controller: after the lift, the controller syncs it (./handover.ts). */
  syncedBy?: SyncedBy;
}

export interface ReplanNote {
  key: ObjectKey;
  change: 'changed' | 'dropped' | 'added';
  reason: string;
}

export interface RestorePlan {
  label: string;
  namespaces: string[];
  steps: RestoreStep[];
  /** The bot's containment in scope: left alone; lifting it is the executor's last step. */
  containment: ContainmentInPlace[];
  /** Objects in scope already as known-good. */
  unchanged: number;
  /** Each intermediate state checked: never more open than BOTH ends (live without containment, and known-good). */
  safe: boolean;
  violations: Array<{ afterStep: number; connections: string[] }>;
  /** 'by-effect': restrict, neutral, widen, mixed; 'safety-first': reordered to avoid unsafe states (./order.ts). */
  ordering: 'by-effect' | 'safety-first';
  /** Objects not planned, and why (unreadable, not modelled, not valid for the engine). */
  skipped: SkippedObject[];
  /** The known-good objects a re-plan needs (those in scope, and the cluster-scoped ones). */
  knownGood: KnownGood;
  /** Set by replanFrom: what changed against the previous plan's remaining steps. */
  replanned?: ReplanNote[];
}

export class RestorePlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestorePlanError';
  }
}

/** Lines per list; past it, the last line says how many more. */
export const MAX_LINES = 200;

function capped(lines: string[], what: string): string[] {
  if (lines.length <= MAX_LINES) return lines;
  const more = lines.length - (MAX_LINES - 1);
  return [...lines.slice(0, MAX_LINES - 1), `… ${more} more ${what}`];
}

function checkInput(input: unknown): RestorePlanInput {
  if (!isRecord(input)) throw new RestorePlanError('the restore input must be an object with live, knownGood and namespaces');
  const { live, knownGood, namespaces } = input;
  if (!isRecord(live)) throw new RestorePlanError('live must be an object of lists (pods, namespaces, networkPolicies, ...)');
  for (const [k, v] of Object.entries(live)) if (v !== undefined && !Array.isArray(v)) throw new RestorePlanError(`live.${k} must be a list`);
  if (!isRecord(knownGood) || typeof knownGood.label !== 'string' || !Array.isArray(knownGood.objects)) throw new RestorePlanError('knownGood must have a label and a list of objects');
  if (knownGood.kinds !== undefined && (!Array.isArray(knownGood.kinds) || !knownGood.kinds.every((k) => typeof k === 'string'))) throw new RestorePlanError('knownGood.kinds must be a list of kind names');
  if (knownGood.complete !== undefined && typeof knownGood.complete !== 'boolean') throw new RestorePlanError('knownGood.complete must be true or false');
  const identity = (k: unknown): boolean => isRecord(k) && typeof k.kind === 'string' && typeof k.name === 'string' && (k.namespace === undefined || typeof k.namespace === 'string');
  if (knownGood.unknown !== undefined && (!Array.isArray(knownGood.unknown) || !knownGood.unknown.every(identity))) throw new RestorePlanError('knownGood.unknown must be a list of {kind, namespace, name}');
  if (!Array.isArray(namespaces) || namespaces.length === 0) throw new RestorePlanError('the restore scope names no namespace');
  if (!namespaces.every((n) => typeof n === 'string' && n !== '')) throw new RestorePlanError('the restore scope must list namespace names');
  return input as unknown as RestorePlanInput;
}

interface Planned {
  key: ObjectKey;
  action: StepAction;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  change: ModelChange;
  source?: unknown;
}

function resourceVersionOf(obj: Record<string, unknown> | null): string | undefined {
  const rv = obj && isRecord(obj.metadata) ? obj.metadata.resourceVersion : undefined;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

function linesOf(engine: RestoreEngine, cells: readonly Cell[], pick: (c: Cell) => Cell['before']): string[] {
  return capped(engine.lines(cells.map((cell) => ({ cell, conns: pick(cell) }))), 'connections');
}

/** One change per drifted object the engine models; what cannot be planned goes to `skipped`. */
function plannedChanges(report: DriftReport, knownGood: KnownGood, sourceOf: ReadonlyMap<unknown, unknown>, skipped: SkippedObject[]): Planned[] {
  const planned: Planned[] = [];
  const unknown = new Set((knownGood.unknown ?? []).map((k) => keyString({ kind: k.kind, name: k.name, ...(k.namespace ? { namespace: k.namespace } : {}) })));
  for (const item of report.items) {
    if (!isEngineKind(item.key.kind)) continue;
    const kind: EngineKind = item.key.kind;
    const id = keyString(item.key);
    if (unknown.has(id)) {
      skipped.push({ side: 'desired', where: id, reason: `${knownGood.label} cannot tell its known-good state; not restored` });
      continue;
    }
    if (item.status === 'extra' && knownGood.complete === false) {
      skipped.push({ side: 'live', where: id, reason: `not in ${knownGood.label}, but part of it could not be read; not deleted` });
      continue;
    }
    const liveObj = item.status === 'missing' ? undefined : item.live;
    let after: Record<string, unknown> | null = null;
    let afterModel: ModelChange['after'];
    if (item.status !== 'extra') {
      const { intent, plain } = intentOf(kind, item.key, item.desired, liveObj);
      const compiled = compile(kind, plain, `known-good ${id}`);
      if (!compiled.model) {
        skipped.push({ side: 'desired', where: id, reason: `the policy engine cannot read it (${compiled.errors.join('; ')}); not restored` });
        continue;
      }
      after = intent;
      afterModel = compiled.model;
    }
    const beforeModel = liveObj ? compile(kind, withoutOurExclusion(kind, liveObj), `live ${id}`).model : undefined;
    const source = item.status === 'extra' ? undefined : sourceOf.get(item.desired);
    planned.push({
      key: item.key,
      action: item.status === 'missing' ? 'create' : item.status === 'extra' ? 'delete' : 'update',
      before: liveObj ?? null,
      after,
      change: { kind, name: item.key.name, ...(item.key.namespace !== undefined ? { namespace: item.key.namespace } : {}), ...(beforeModel ? { before: beforeModel } : {}), ...(afterModel ? { after: afterModel } : {}) },
      ...(source !== undefined ? { source } : {}),
    });
  }
  return planned;
}

/** Plans the restore of the known-good policies within the scope. Throws RestorePlanError on malformed input. */
export function planRestore(input: RestorePlanInput): RestorePlan {
  const { live, knownGood, namespaces } = checkInput(input);
  const declared = knownGood.kinds ?? knownGood.objects.map((o) => (isRecord(o) && isRecord(o.object) ? o.object.kind : undefined)).filter((k): k is string => typeof k === 'string');
  const kinds = new Set(declared.filter(isEngineKind));
  const selection = select(live, knownGood.objects, namespaces, kinds, loadLiveObjects({ namespaces: live.namespaces ?? [] }).namespaces);
  const report = compareState(selection.live, selection.desired, { kinds: [...kinds] });
  const skipped = [...selection.skipped, ...renumbered(report.skipped, selection.origin)];
  // compareState hands back the desired objects it was given: their identity finds the source.
  const sourceOf = new Map<unknown, unknown>();
  selection.desired.forEach((d, i) => {
    const entry = knownGood.objects[selection.origin[i] as number];
    if (isRecord(entry) && entry.source !== undefined) sourceOf.set(d.object, entry.source);
  });
  const planned = plannedChanges(report, knownGood, sourceOf, skipped);
  if (planned.length === 0) return finish(input, knownGood, kinds, selection, report, skipped, { steps: [], violations: [], ordering: 'by-effect' });

  // The engine's states are the live one without containment, then after each step.
  const world = loadLiveObjects(withoutContainment(live));
  const ingress: IpSet[] = [];
  const egress: IpSet[] = [];
  const collect = (kind: EngineKind, model: NonNullable<ModelChange['after']>): void => {
    const sets = addressSets(kind, model, world.nodes);
    ingress.push(...sets.ingress);
    egress.push(...sets.egress);
  };
  for (const p of world.policies) collect('NetworkPolicy', p);
  for (const p of world.adminPolicies ?? []) collect(p.kind, p);
  for (const p of world.ciliumPolicies ?? []) collect('CiliumNetworkPolicy', p);
  for (const p of planned) if (p.change.after) collect(p.change.kind, p.change.after);

  const engine = new RestoreEngine(
    { namespaces: world.namespaces, pods: world.pods, nodes: world.nodes ?? [] },
    { policies: world.policies, adminPolicies: world.adminPolicies ?? [], ciliumPolicies: world.ciliumPolicies ?? [] },
    boundaryPolicy(ingress, egress),
  );
  const walk = orderChanges(
    engine,
    planned.map((p) => p.change),
    planned.map((p) => keyString(p.key)),
  );
  const steps: RestoreStep[] = walk.order.map((i, position) => {
    const p = planned[i] as Planned;
    const cells = walk.cells[position] as Cell[];
    const resourceVersion = p.action === 'create' ? undefined : resourceVersionOf(p.before);
    return {
      n: position + 1,
      action: p.action,
      key: p.key,
      kind: p.key.kind,
      ...(p.key.namespace !== undefined ? { namespace: p.key.namespace } : {}),
      name: p.key.name,
      before: p.before,
      after: p.after,
      effect: walk.effects[position] as Effect,
      opened: linesOf(engine, cells, (c) => c.after.subtract(c.before)),
      closed: linesOf(engine, cells, (c) => c.before.subtract(c.after)),
      diff: stepDiff(p.key, p.before, p.after),
      ...(resourceVersion ? { resourceVersion } : {}),
      ...(p.source !== undefined ? { source: p.source } : {}),
    };
  });
  const violations = walk.violations.map((v) => ({ afterStep: v.afterStep, connections: capped(engine.lines(v.excess.map((e: Excess) => ({ cell: e.cell, conns: e.conns }))), 'connections') }));
  return finish(input, knownGood, kinds, selection, report, skipped, { steps, violations, ordering: walk.ordering });
}

function finish(
  input: RestorePlanInput,
  knownGood: KnownGood,
  kinds: ReadonlySet<string>,
  selection: Selection,
  report: DriftReport,
  skipped: SkippedObject[],
  planned: Pick<RestorePlan, 'steps' | 'violations' | 'ordering'>,
): RestorePlan {
  return {
    label: knownGood.label,
    namespaces: [...input.namespaces],
    ...planned,
    containment: report.containment,
    unchanged: report.compared - report.items.length,
    safe: planned.violations.length === 0,
    skipped,
    knownGood: { ...knownGood, kinds: [...kinds], objects: selection.kept as KnownGood['objects'] },
  };
}

function sameIntent(a: Record<string, unknown> | null, b: Record<string, unknown> | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Re-plans the steps not done yet (`fromStep` on, 1-based: the first step not applied) on the live
 * state read now, after a live object changed under the plan. The steps before `fromStep` are
 * kept as they were; the rest is planned afresh from the new live state to the same known-good
 * objects and scope, numbered from `fromStep`: a done step whose object changed again becomes a
 * new step, a remaining one whose object now matches disappears. The safety check of the new
 * steps takes the live state read now as its live end. `replanned` says what changed and why,
 * for the thread.
 */
export function replanFrom(plan: RestorePlan, fromStep: number, live: LiveObjects): RestorePlan {
  if (!isRecord(plan) || !Array.isArray(plan.steps) || !isRecord(plan.knownGood) || !Array.isArray(plan.namespaces)) throw new RestorePlanError('not a restore plan');
  if (!Number.isInteger(fromStep) || fromStep < 1 || fromStep > plan.steps.length + 1) throw new RestorePlanError(`fromStep must be a step number from 1 to ${plan.steps.length + 1}`);
  const fresh = planRestore({ live, knownGood: plan.knownGood, namespaces: plan.namespaces });
  const offset = fromStep - 1;
  const done = plan.steps.slice(0, offset);
  const pending = new Map(plan.steps.slice(offset).map((s) => [keyString(s.key), s]));
  const doneAt = new Map(done.map((s) => [keyString(s.key), s.n]));
  const notes: ReplanNote[] = [];
  for (const s of fresh.steps) {
    const id = keyString(s.key);
    const old = pending.get(id);
    pending.delete(id);
    if (!old) {
      const n = doneAt.get(id);
      notes.push({ key: s.key, change: 'added', reason: n !== undefined ? `done at step ${n}, but the live object differs from ${plan.label} again` : s.before ? `the live object (resourceVersion ${s.resourceVersion ?? 'unknown'}) now differs from ${plan.label}` : `gone from the live state` });
    } else if (old.resourceVersion !== s.resourceVersion || old.action !== s.action || !sameIntent(old.after, s.after)) {
      const version = old.resourceVersion !== s.resourceVersion ? `the live object changed (resourceVersion ${old.resourceVersion ?? 'none'} → ${s.resourceVersion ?? 'none'})` : 'the known-good intent changed';
      notes.push({ key: s.key, change: 'changed', reason: old.action !== s.action ? `${version}: now ${s.action}, was ${old.action}` : `${version}: re-planned` });
    }
  }
  for (const old of pending.values()) notes.push({ key: old.key, change: 'dropped', reason: `no step needed any more: the live object matches ${plan.label}, or is no longer planned (see skipped)` });
  return {
    ...fresh,
    steps: [...done, ...fresh.steps.map((s) => ({ ...s, n: s.n + offset }))],
    violations: fresh.violations.map((v) => ({ ...v, afterStep: v.afterStep + offset })),
    replanned: notes,
  };
}
