// Runs one restore step against the cluster, and rolls one back. I/O; the plan is ./plan.ts.
//
// A step: read the live object; when it already is as the step wants it, report 'unchanged' and
// write nothing (a worker killed after the write but before recording it resumes here, so no step
// is applied twice); when it moved since the plan (resourceVersion, or a create whose object
// appeared), refuse with 'conflict-changed' (re-plan). Otherwise record the live object in Redis
// (./record.ts) and only then write:
// - create: POST, which fails if the object appeared meanwhile (conflict-changed);
// - update: a server-side apply dry run first, so that fields other managers own are named before
//   anything is written ('field-conflict'), including those the known-good object lacks (an apply
//   never removes another manager's field); then the apply, carrying the planned resourceVersion (refused
//   atomically if the object moved since). Forcing (ctx.force, a separate
//   approved choice) takes their fields; when the known-good object lacks some, it replaces the
//   object at the planned resourceVersion instead (one write, refused if the object moved);
// - delete: with resourceVersion and uid preconditions.
// Then read back and verify (./verify.ts): the object, and the engine's connectivity change
// against the step's prediction. A rollback re-writes the recorded object (replace at the
// resourceVersion just read, create, or delete), only if the object is still as the step left it,
// and is verified the same way against the reverse of what the step changed.
import { readPolicies, readWorkloads, servedKinds } from '../containment/snapshot.js';
import type { ServedKinds } from '../containment/strategy.js';
import { keyString } from '../drift/compare.js';
import { isNoise } from '../drift/normalize.js';
import { KINDS, KubeApiError, type KubeGateway, type MissingPermission, type ObjectClient, type ObjectRef } from '../kube/index.js';
import type { KubeObject } from '../kube/resources.js';
import type { Logger } from '../log.js';
import type { LiveObjects } from '../policy/index.js';
import type { EngineKind } from './engine.js';
import { syncByController } from './controller-sync.js';
import { describeOwners, keptFields, ownersFromConflict, type FieldOwner } from './ownership.js';
import type { RestoreStep } from './plan.js';
import type { Measured, RestoreRecords, StepOutcome, StepRecord } from './record.js';
import { isEngineKind, isRecord } from './scope.js';
import { engineCheck, measureDelta, objectCheck, resourceVersionOf, type Check } from './verify.js';

export type { Check } from './verify.js';
export type { FieldOwner } from './ownership.js';

type Obj = Record<string, unknown>;

export interface StepContext {
  gateway: Pick<KubeGateway, 'objects' | 'discoverKinds'>;
  fieldManager: string;
  incidentId: string;
  records: RestoreRecords;
  /** Take fields other managers own: a separately approved choice. */
  force?: boolean;
  logger: Logger;
  /** Which policy kinds the cluster serves (for the engine's view); discovered when absent. */
  served?: ServedKinds;
  /**
   * Namespaces and pods for the engine check, e.g. a view the runner keeps for a few seconds across
   * steps (listing every pod of a big cluster for each step is what a step would spend its time on).
   * Absent: listed for the step.
   */
  workloads?: () => Promise<Pick<LiveObjects, 'namespaces' | 'pods'>>;
  /** The engine check's measure, e.g. a run's EngineSession kept across steps (./engine-session.ts). Absent: measured afresh. */
  measure?: typeof measureDelta;
  /** The policies for the engine check, e.g. a watched view (./policy-view.ts). Absent: listed for the step. */
  policies?: () => Promise<Omit<LiveObjects, 'namespaces' | 'pods'>>;
  now?: () => Date;
  /** Steps left to a GitOps controller: how long it gets to sync, how often it is checked. */
  sync?: { timeoutMs?: number; pollMs?: number };
}

export interface Verification {
  object: Check;
  engine: Check;
}

export type StepFailure = 'conflict-changed' | 'field-conflict' | 'forbidden' | 'invalid' | 'verify-failed' | 'error';

export type StepResult =
  | { ok: true; applied: StepOutcome; readBack: Obj | null; verification: Verification }
  | {
      ok: false;
      reason: StepFailure;
      message: string;
      /** field-conflict: who owns the fields the step would take or leave behind. */
      owners?: FieldOwner[];
      /** forbidden: the RBAC rule the bot lacks. */
      missingPermission?: MissingPermission;
      /** error: trying again may help (throttling, server or network trouble). */
      retryable?: boolean;
      /** verify-failed: what was written and read back. */
      applied?: StepOutcome;
      readBack?: Obj | null;
      verification?: Verification;
    };

/** A dry run showed fields other managers own that the apply would leave in place. */
class FieldsKept extends Error {
  constructor(readonly owners: FieldOwner[]) {
    super(`fields the known-good object lacks are owned by other managers, and server-side apply leaves them: ${describeOwners(owners)}`);
  }
}

const fail = (reason: StepFailure, message: string, extra: Partial<Extract<StepResult, { ok: false }>> = {}): StepResult => ({ ok: false, reason, message, ...extra });

function label(step: RestoreStep): string {
  return `step ${step.n} (${step.action} ${keyString(step.key)})`;
}

/** Why `step` cannot be run as given, or undefined. A malformed step touches nothing. */
export function stepProblem(step: unknown): string | undefined {
  if (!isRecord(step)) return 'not a restore step';
  if (!Number.isSafeInteger(step.n) || (step.n as number) < 1) return 'the step number must be a positive integer';
  const key = step.key;
  if (!isRecord(key) || !isEngineKind(key.kind) || typeof key.name !== 'string' || key.name === '') return `step ${String(step.n)}: the object key must name a policy kind the engine models and the object`;
  const namespaced = KINDS[key.kind].namespaced;
  if (namespaced !== (typeof key.namespace === 'string' && key.namespace !== '')) return `step ${String(step.n)}: ${key.kind} is ${namespaced ? 'namespaced: the key needs a namespace' : 'cluster-scoped: the key takes no namespace'}`;
  if (step.kind !== key.kind || step.name !== key.name || step.namespace !== key.namespace) return `step ${String(step.n)}: kind, namespace and name disagree with the key`;
  if (step.action !== 'create' && step.action !== 'update' && step.action !== 'delete') return `step ${String(step.n)}: action must be create, update or delete`;
  if (step.action !== 'create' && (typeof step.resourceVersion !== 'string' || step.resourceVersion === '')) return `step ${String(step.n)}: an ${step.action} needs the resourceVersion it was planned on`;
  if (step.action === 'delete' ? step.after !== null : !isRecord(step.after)) return `step ${String(step.n)}: a ${step.action} ${step.action === 'delete' ? 'has no object to apply' : 'needs the object to apply'}`;
  if (isRecord(step.after)) {
    const meta = isRecord(step.after.metadata) ? step.after.metadata : {};
    if (step.after.kind !== key.kind || meta.name !== key.name || (namespaced && meta.namespace !== key.namespace)) return `step ${String(step.n)}: the object to apply is not ${keyString(key as never)}`;
  }
  for (const side of ['opened', 'closed']) if (!Array.isArray(step[side]) || !(step[side] as unknown[]).every((l) => typeof l === 'string')) return `step ${String(step.n)}: ${side} must be a list of engine lines`;
  return undefined;
}

function contextProblem(ctx: StepContext): string | undefined {
  if (typeof ctx.fieldManager !== 'string' || ctx.fieldManager.trim() === '') return 'a field manager is required';
  if (typeof ctx.incidentId !== 'string' || ctx.incidentId === '') return 'an incident id is required';
  return undefined;
}

function clientFor(ctx: StepContext, kind: EngineKind): ObjectClient<KubeObject> {
  return ctx.gateway.objects(kind) as unknown as ObjectClient<KubeObject>;
}

function refOf(step: RestoreStep): ObjectRef {
  return { name: step.key.name, ...(step.key.namespace !== undefined ? { namespace: step.key.namespace } : {}) };
}

function uidOf(obj: Obj | null): string | undefined {
  const uid = obj && isRecord(obj.metadata) ? obj.metadata.uid : undefined;
  return typeof uid === 'string' && uid !== '' ? uid : undefined;
}

/** Whether the live object is already as `target` (null: absent) says. */
function reached(target: Obj | null, live: Obj | null, namespace: string | undefined): boolean {
  if (target === null) return live === null;
  return live !== null && objectCheck(target, live, namespace).ok;
}

/** Why the live object is not the one the step was planned on, or undefined. */
function movedUnder(step: RestoreStep, live: Obj | null): string | undefined {
  if (step.action === 'create') return live ? `${label(step)}: the object was created meanwhile (resourceVersion ${resourceVersionOf(live) ?? 'unknown'}) and differs from the plan's; re-plan` : undefined;
  if (!live) return `${label(step)}: the object is gone since the plan; re-plan`;
  const rv = resourceVersionOf(live);
  return rv !== step.resourceVersion ? `${label(step)}: the live object changed since the plan (resourceVersion ${step.resourceVersion ?? 'none'} → ${rv ?? 'none'}); re-plan` : undefined;
}

/** Metadata a write must not send (the server's), and what a replace keeps from the live object. */
function writable(object: Obj, live: Obj | null): Obj {
  const { status: _status, metadata, ...rest } = object;
  const meta = isRecord(metadata) ? metadata : {};
  const liveMeta = live && isRecord(live.metadata) ? live.metadata : {};
  const marks = (where: 'labels' | 'annotations'): Record<string, unknown> => {
    const source = isRecord(liveMeta[where]) ? liveMeta[where] : {};
    // Tools' marks on the live object (Argo CD tracking, Flux ownership) are not intent: kept.
    return Object.fromEntries(Object.entries(source).filter(([k, v]) => isNoise(where === 'labels' ? 'label' : 'annotation', k, v)));
  };
  const labels = { ...marks('labels'), ...(isRecord(meta.labels) ? meta.labels : {}) };
  const annotations = { ...marks('annotations'), ...(isRecord(meta.annotations) ? meta.annotations : {}) };
  const kept: Obj = {};
  for (const k of ['name', 'namespace', 'ownerReferences', 'finalizers']) if (meta[k] !== undefined) kept[k] = meta[k];
  for (const k of ['ownerReferences', 'finalizers']) if (kept[k] === undefined && liveMeta[k] !== undefined) kept[k] = liveMeta[k];
  return { ...rest, metadata: { ...kept, ...(Object.keys(labels).length > 0 ? { labels } : {}), ...(Object.keys(annotations).length > 0 ? { annotations } : {}) } };
}

function withVersion(object: Obj, resourceVersion: string): KubeObject {
  return { ...object, metadata: { ...(object.metadata as Obj), resourceVersion } } as KubeObject;
}

async function write(step: RestoreStep, client: ObjectClient<KubeObject>, live: Obj | null, ctx: StepContext): Promise<StepOutcome | 'gone'> {
  const fieldManager = ctx.fieldManager;
  if (step.action === 'delete') {
    const deleted = await client.delete(refOf(step), { resourceVersion: step.resourceVersion as string, ...(uidOf(live) ? { uid: uidOf(live) as string } : {}) });
    return deleted ? 'deleted' : 'gone';
  }
  const intent = step.after as Obj;
  if (step.action === 'create') {
    await client.create(writable(intent, null) as KubeObject, { fieldManager });
    return 'created';
  }
  const force = ctx.force === true;
  const preview = (await client.apply(intent as KubeObject, { fieldManager, dryRun: true, force })) as Obj;
  const kept = objectCheck(intent, preview, step.key.namespace).ok ? [] : keptFields(preview, intent, fieldManager);
  if (kept.length > 0 && !force) throw new FieldsKept(kept);
  if (kept.length > 0) await client.replace(withVersion(writable(intent, live), step.resourceVersion as string), { fieldManager });
  // The planned version goes with the apply: a write landing since the read above is refused (409).
  else await client.apply(intent as KubeObject, { fieldManager, force, resourceVersion: step.resourceVersion as string });
  return 'updated';
}

function fromError(error: unknown, step: RestoreStep, what: string): StepResult {
  if (error instanceof FieldsKept) return fail('field-conflict', `${label(step)}: ${error.message}. Nothing was written; forcing replaces the object as the known-good source declares it (a separate approved choice).`, { owners: error.owners });
  if (!(error instanceof KubeApiError)) return fail('error', `${label(step)}: ${what} failed: ${(error as Error)?.message ?? String(error)}`);
  const owners = ownersFromConflict(error.causes);
  if (error.status === 409 && owners.length > 0) {
    return fail('field-conflict', `${label(step)}: fields are owned by other managers: ${describeOwners(owners)}. Nothing was written; forcing takes them (a separate approved choice).`, { owners });
  }
  // A 404 on a create is a missing namespace, not a moved object.
  if (error.status === 409 || (error.status === 404 && !error.kindNotServed && what !== 'create')) {
    const advice = what === 'the rollback' ? 'not rolled back' : 'nothing was written; re-plan';
    return fail('conflict-changed', `${label(step)}: ${what}: the object changed meanwhile (${error.status} ${error.reason}: ${error.message}); ${advice}`);
  }
  if (error.status === 403) return fail('forbidden', `${label(step)}: ${what} refused: ${error.message}`, error.missingPermission ? { missingPermission: error.missingPermission } : {});
  if (error.status === 422 || error.status === 400) {
    const fields = error.causes.map((c) => [c.field, c.message].filter(Boolean).join(': ')).filter((t) => t !== '');
    return fail('invalid', `${label(step)}: the API server refuses the object (${error.reason}): ${error.message}${fields.length > 0 ? ` [${fields.join('; ')}]` : ''}`);
  }
  return fail('error', `${label(step)}: ${what} failed (${error.status} ${error.reason}): ${error.message}`, { retryable: error.retryable });
}

async function verify(step: RestoreStep, ctx: StepContext, expected: Obj | null, before: Obj | null, readBack: Obj | null, predicted: Measured): Promise<{ verification: Verification; measured: Measured }> {
  const object = objectCheck(expected, readBack, step.key.namespace);
  try {
    const listPolicies = async () => readPolicies(ctx.gateway, ctx.served ?? servedKinds(await ctx.gateway.discoverKinds()));
    const [world, policies] = await Promise.all([ctx.workloads ? ctx.workloads() : readWorkloads(ctx.gateway), ctx.policies ? ctx.policies() : listPolicies()]);
    const live: LiveObjects = { ...world, ...policies };
    const measured = (ctx.measure ?? measureDelta)(live, step.key.kind as EngineKind, step.key, before, readBack);
    return { verification: { object, engine: engineCheck(predicted, measured) }, measured };
  } catch (error) {
    return { verification: { object, engine: { ok: false, detail: `engine: cannot measure the change (${(error as Error).message})` } }, measured: { opened: [], closed: [] } };
  }
}

function verdict(step: RestoreStep, applied: StepOutcome, readBack: Obj | null, verification: Verification, what: string): StepResult {
  if (verification.object.ok && verification.engine.ok) return { ok: true, applied, readBack, verification };
  const failed = [verification.object, verification.engine].filter((c) => !c.ok).map((c) => c.detail);
  return fail('verify-failed', `${label(step)}: ${what}, but the verification failed: ${failed.join(' | ')}`, { applied, readBack, verification });
}

async function readBack(client: ObjectClient<KubeObject>, step: RestoreStep): Promise<Obj | null> {
  return ((await client.get(refOf(step))) as Obj | undefined) ?? null;
}

/** Applies one step of a restore plan; see the top of this file. Never throws. */
export async function executeStep(step: RestoreStep, ctx: StepContext): Promise<StepResult> {
  return unexpected(step, 'the step', () => runStep(step, ctx));
}

/**
 * Puts the object back as recorded before the step (deletes what a create made), if it is still
 * as the step left it; verified like a step, against the reverse of the change the step made.
 * Never throws.
 */
export async function rollbackStep(step: RestoreStep, ctx: StepContext): Promise<StepResult> {
  return unexpected(step, 'the rollback', () => runRollback(step, ctx));
}

/** Failures nothing else turned into a result (Redis down while reading a record, ...). */
async function unexpected(step: RestoreStep, what: string, run: () => Promise<StepResult>): Promise<StepResult> {
  try {
    return await run();
  } catch (error) {
    const where = isRecord(step) && Number.isSafeInteger(step.n) ? `step ${step.n}` : 'a restore step';
    return fail('error', `${where}: ${what} failed: ${(error as Error)?.message ?? String(error)}`, { retryable: true });
  }
}

async function runStep(step: RestoreStep, ctx: StepContext): Promise<StepResult> {
  const problem = stepProblem(step) ?? contextProblem(ctx);
  if (problem) return fail('error', problem);
  const now = ctx.now ?? (() => new Date());
  const log = ctx.logger.child({ step: step.n, object: keyString(step.key), action: step.action });
  const client = clientFor(ctx, step.kind as EngineKind);
  const predicted = { opened: step.opened, closed: step.closed };
  let record: StepRecord;
  let outcome: StepOutcome | 'gone';
  try {
    const live = await readBack(client, step);
    if (reached(step.after, live, step.key.namespace)) return await confirmDone(step, ctx, live, log);
    const moved = movedUnder(step, live);
    if (moved) return fail('conflict-changed', `${moved}; nothing was written`);
    record = await ctx.records.recordBefore(ctx.incidentId, step, live, now());
    // A step left to its GitOps controller is synced by it, not written by the bot.
    outcome = step.syncedBy ? await syncByController(step, { gateway: ctx.gateway, fieldManager: ctx.fieldManager, ...ctx.sync }) : await write(step, client, live, ctx);
    if (outcome === 'gone') return await confirmDone(step, ctx, null, log);
  } catch (error) {
    const result = fromError(error, step, step.action);
    log.warn({ reason: result.ok ? undefined : result.reason }, 'restore step not applied');
    return result;
  }
  let back: Obj | null;
  try {
    back = await readBack(client, step);
  } catch (error) {
    const result = fromError(error, step, 'the read-back');
    return result.ok ? result : { ...result, message: `${result.message} (the write was made: running the step again verifies it)`, applied: outcome };
  }
  const { verification, measured } = await verify(step, ctx, step.after, record.before, back, predicted);
  const rv = resourceVersionOf(back);
  try {
    await ctx.records.markApplied(ctx.incidentId, step, { at: now().toISOString(), outcome, ...(rv ? { resourceVersion: rv } : {}), measured, verified: verification.object.ok && verification.engine.ok });
  } catch (error) {
    const message = `${label(step)}: ${outcome}, but recording it failed (${(error as Error).message}); running the step again finds it done and records it`;
    return fail('error', message, { retryable: true, applied: outcome, readBack: back, verification });
  }
  log.info({ outcome, object: verification.object.ok, engine: verification.engine.ok }, 'restore step applied');
  return verdict(step, outcome, back, verification, outcome);
}

/** The live object is already as the step wants it: nothing is written, the state is verified. */
async function confirmDone(step: RestoreStep, ctx: StepContext, live: Obj | null, log: Logger): Promise<StepResult> {
  const record = await ctx.records.get(ctx.incidentId, step);
  if (!record) {
    // Never written by this restore: there is no before state to measure a change from.
    const object = objectCheck(step.after, live, step.key.namespace);
    log.info('restore step already in place');
    return verdict(step, 'unchanged', live, { object, engine: { ok: true, detail: 'engine: nothing written (the live object already was as the step wants it), so no change to measure' } }, 'nothing to write');
  }
  // An earlier run recorded the before state and then wrote (a worker died before recording the
  // result): the change is measured from the before state, and reported as that run's write.
  const { verification, measured } = await verify(step, ctx, step.after, record.before, live, { opened: step.opened, closed: step.closed });
  const rv = resourceVersionOf(live);
  const outcome: StepOutcome = reached(step.after, record.before, step.key.namespace) ? 'unchanged' : step.action === 'create' ? 'created' : step.action === 'update' ? 'updated' : 'deleted';
  await ctx.records.markApplied(ctx.incidentId, step, { at: (ctx.now ?? (() => new Date()))().toISOString(), outcome, ...(rv ? { resourceVersion: rv } : {}), measured, verified: verification.object.ok && verification.engine.ok });
  log.info({ outcome, object: verification.object.ok, engine: verification.engine.ok }, 'restore step found done by an earlier run');
  return verdict(step, outcome, live, verification, outcome === 'unchanged' ? 'found done by an earlier run (nothing written)' : `${outcome} by an earlier run of this step (found done when resumed)`);
}

async function runRollback(step: RestoreStep, ctx: StepContext): Promise<StepResult> {
  const problem = stepProblem(step) ?? contextProblem(ctx);
  if (problem) return fail('error', problem);
  const now = ctx.now ?? (() => new Date());
  const log = ctx.logger.child({ step: step.n, object: keyString(step.key), rollback: true });
  const client = clientFor(ctx, step.kind as EngineKind);
  let record: StepRecord | undefined;
  let live: Obj | null;
  try {
    record = await ctx.records.get(ctx.incidentId, step);
    if (!record) return fail('error', `${label(step)}: no state recorded before it; it never wrote, so there is nothing to roll back`);
    live = await readBack(client, step);
  } catch (error) {
    return fromError(error, step, 'reading for the rollback');
  }
  const target = record.before;
  const change = record.measured ?? { opened: step.opened, closed: step.closed };
  const reverse = { opened: change.closed, closed: change.opened };
  if (reached(target, live, step.key.namespace)) {
    // A rollback that died after its write: measured from the object as the step left it.
    const { verification } = await verify(step, ctx, target, step.after, live, reverse);
    await ctx.records.markRolledBack(ctx.incidentId, step, { at: now().toISOString(), outcome: 'unchanged' });
    return verdict(step, 'unchanged', live, verification, 'already rolled back (nothing written)');
  }
  const asLeft = step.action === 'delete' ? live === null : live !== null && (record.appliedResourceVersion !== undefined ? resourceVersionOf(live) === record.appliedResourceVersion : objectCheck(step.after, live, step.key.namespace).ok);
  if (!asLeft) return fail('conflict-changed', `${label(step)}: the object changed since the step (resourceVersion ${resourceVersionOf(live) ?? 'none'}); not rolled back, so nobody's later change is overwritten`);
  let outcome: StepOutcome;
  try {
    if (target === null) {
      await client.delete(refOf(step), { resourceVersion: resourceVersionOf(live) as string, ...(uidOf(live) ? { uid: uidOf(live) as string } : {}) });
      outcome = 'deleted';
    } else if (live === null) {
      await client.create(writable(target, null) as KubeObject, { fieldManager: ctx.fieldManager });
      outcome = 'created';
    } else {
      // A replace, not an apply: the recorded object exactly, whoever owns which field now.
      await client.replace(withVersion(writable(target, null), resourceVersionOf(live) as string), { fieldManager: ctx.fieldManager });
      outcome = 'updated';
    }
  } catch (error) {
    return fromError(error, step, 'the rollback');
  }
  let back: Obj | null;
  try {
    back = await readBack(client, step);
  } catch (error) {
    return fromError(error, step, 'the read-back of the rollback');
  }
  const { verification } = await verify(step, ctx, target, live, back, reverse);
  await ctx.records.markRolledBack(ctx.incidentId, step, { at: now().toISOString(), outcome });
  log.info({ outcome, object: verification.object.ok, engine: verification.engine.ok }, 'restore step rolled back');
  return verdict(step, outcome, back, verification, `rolled back (${outcome})`);
}
