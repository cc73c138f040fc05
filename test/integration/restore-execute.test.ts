// Restore steps on the simulated cluster (HTTPS, real kubeconfig) with their records in a real
// Redis: the shop after an incident (two policies deleted, one edited by hand, one added) restored
// from a plan made by planRestore, each step read back and verified (object and engine); a live
// change under the plan, field-manager conflicts, RBAC refusals, a worker killed after its write,
// rollbacks, and a wrong prediction.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hasExclusion, withExclusion } from '../../src/containment/exclusion.js';
import { readLiveObjects } from '../../src/containment/snapshot.js';
import { normalizePolicy } from '../../src/drift/normalize.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { silentLogger } from '../../src/log.js';
import { executeStep, rollbackStep, type StepContext, type StepResult } from '../../src/restore/execute.js';
import { planRestore, type RestorePlan, type RestoreStep } from '../../src/restore/plan.js';
import { RestoreRecords, type AppliedMark, type StepIdentity } from '../../src/restore/record.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { ALLOW_ALL_EGRESS, shopObjects, shopPolicyObjects } from '../../src/sim/scenarios/shop.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

type Obj = Record<string, unknown>;

const SERVED = { adminNetworkPolicy: false, ciliumNetworkPolicy: false };
const MANAGER = 'netpol-responder';
const CAROL = 'kubectl-edit';

let sim: KubeApiSim;
let dir: string;
let gateway: KubeGateway;
let redis: Redis;
let records: RestoreRecords;
let counter = 0;
let incidentId: string;

beforeAll(async () => {
  sim = await startKubeApiServer();
  dir = mkdtempSync(join(tmpdir(), 'netpol-restore-'));
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) }));
  redis = testRedis();
});

afterAll(async () => {
  redis.disconnect();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  sim.clearDenials();
  sim.clearFaults();
});

const policies = () => gateway.objects('NetworkPolicy');
const stored = (namespace: string, name: string) => sim.get('NetworkPolicy', namespace, name) as Obj | undefined;
const metaOf = (o: Obj | null | undefined): Obj => (o?.metadata ?? {}) as Obj;
/** What "exactly the same object" means to its owner: spec, labels, annotations. */
const essence = (o: Obj | null | undefined) => (o ? { spec: o.spec, labels: metaOf(o).labels ?? {}, annotations: metaOf(o).annotations ?? {} } : null);

/**
 * The shop after the incident: allow-api-to-db and allow-db-from-api deleted, allow-web-ingress
 * edited by hand (port 9090, by kubectl edit) while the bot's containment excludes quarantined
 * pods from it, and allow-all-egress added in db.
 */
async function incident(): Promise<void> {
  await sim.restart({ keepState: false });
  sim.seed(shopObjects());
  await policies().delete({ namespace: 'api', name: 'allow-api-to-db' });
  await policies().delete({ namespace: 'db', name: 'allow-db-from-api' });
  const web = (await policies().get({ namespace: 'frontend', name: 'allow-web-ingress' }))!;
  await policies().replace({ ...web, spec: { ...web.spec!, podSelector: withExclusion(web.spec!.podSelector) as never } }, { fieldManager: MANAGER });
  await policies().mergePatch({ namespace: 'frontend', name: 'allow-web-ingress' }, { spec: { ingress: [{ ports: [{ protocol: 'TCP', port: 9090 }] }] } }, { fieldManager: CAROL });
  await policies().create(structuredClone(ALLOW_ALL_EGRESS) as never, { fieldManager: 'kubectl-create' });
}

async function plan(): Promise<RestorePlan> {
  const live = await readLiveObjects(gateway, SERVED);
  return planRestore({ live, knownGood: { label: 'git main@1a2b3c4', objects: shopPolicyObjects().map((object) => ({ object: object as Obj })) }, namespaces: ['frontend', 'api', 'db'] });
}

const stepOf = (p: RestorePlan, name: string): RestoreStep => {
  const step = p.steps.find((s) => s.name === name);
  if (!step) throw new Error(`no step for ${name}: ${p.steps.map((s) => s.name).join(', ')}`);
  return step;
};

/** Runs the steps before `name`'s (the engine predicts each step on the state the earlier ones leave). */
async function stepsBefore(p: RestorePlan, name: string): Promise<RestoreStep> {
  const step = stepOf(p, name);
  for (const earlier of p.steps.slice(0, p.steps.indexOf(step))) {
    const result = await executeStep(earlier, ctx({ force: true }));
    if (!result.ok) throw new Error(`step ${earlier.n}: ${result.message}`);
  }
  sim.clearRequests();
  return step;
}

function ctx(extra: Partial<StepContext> = {}): StepContext {
  // No `served`: the step discovers the served kinds itself.
  return { gateway, fieldManager: MANAGER, incidentId, records, logger: silentLogger, ...extra };
}

/** Writes the bot sent to the API server (dry runs aside). */
function writes(): string[] {
  return sim.requests.filter((r) => r.user !== undefined && ['create', 'update', 'patch', 'delete'].includes(r.verb ?? '') && r.query.dryRun === undefined && r.status < 300).map((r) => `${r.verb} ${r.namespace}/${r.path.split('/').pop()}`);
}

function expectOk(result: StepResult, applied: string): asserts result is Extract<StepResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected ${applied}, got ${result.reason}: ${result.message}`);
  expect(result.applied).toBe(applied);
  expect(result.verification.object.ok).toBe(true);
  expect(result.verification.engine.ok).toBe(true);
}

beforeEach(async () => {
  incidentId = `20261201-r${String(++counter).padStart(5, '0')}`;
  records = new RestoreRecords(redis, uniquePrefix('restore'));
  await incident();
  sim.clearRequests();
});

describe('executeStep on the shop after an incident', () => {
  it('runs the whole plan: delete, creates and the forced update, each read back and verified; the cluster ends as known-good, containment kept', async () => {
    const p = await plan();
    expect(p.steps.map((s) => `${s.action} ${s.namespace}/${s.name}`)).toEqual(['delete db/allow-all-egress', 'create api/allow-api-to-db', 'create db/allow-db-from-api', 'update frontend/allow-web-ingress']);
    const results: StepResult[] = [];
    for (const step of p.steps) results.push(await executeStep(step, ctx({ force: step.action === 'update' })));
    const [del, createA, createB, update] = results as [StepResult, StepResult, StepResult, StepResult];
    expectOk(del, 'deleted');
    expect(del.readBack).toBeNull();
    expect(del.verification.engine.detail).toMatch(/^engine: opened 0 connections and closed \d+ connections, as predicted$/);
    expectOk(createA, 'created');
    expectOk(createB, 'created');
    expect(createB.verification.engine.detail).toBe('engine: opened 4 connections and closed 0 connections, as predicted');
    expectOk(update, 'updated');
    expect(update.verification.object.detail).toBe('object: equal to the intent after normalisation (containment kept until the lift)');
    expect(hasExclusion((update.readBack!.spec as Obj).podSelector)).toBe(true);

    expect(stored('db', 'allow-all-egress')).toBeUndefined();
    for (const known of shopPolicyObjects() as Obj[]) {
      const live = stored(String(metaOf(known).namespace), String(metaOf(known).name));
      expect(normalizePolicy({ ...live!, kind: 'NetworkPolicy' }), String(metaOf(known).name)).toEqual(normalizePolicy(known));
    }
    expect(writes()).toEqual(['delete db/allow-all-egress', 'create api/networkpolicies', 'create db/networkpolicies', 'patch frontend/allow-web-ingress']);

    // Each step's record: the live object as it was before it, and what it did.
    const kept = await records.list(incidentId);
    expect(kept.map((r) => `${r.n} ${r.outcome} ${r.verified}`)).toEqual(['1 deleted true', '2 created true', '3 created true', '4 updated true']);
    expect(kept[0]!.before).toMatchObject({ metadata: { name: 'allow-all-egress', resourceVersion: p.steps[0]!.resourceVersion } });
    expect(kept[1]!.before).toBeNull();
    expect(kept[3]!.appliedResourceVersion).toBe(metaOf(stored('frontend', 'allow-web-ingress')).resourceVersion);
    expect(kept[2]!.measured).toEqual({ opened: p.steps[2]!.opened, closed: [] });
  });

  it('a live change under the plan: conflict-changed for update, delete and create, nothing written, nothing recorded', async () => {
    const p = await plan();
    await policies().mergePatch({ namespace: 'frontend', name: 'allow-web-ingress' }, { metadata: { labels: { touched: 'yes' } } }, { fieldManager: CAROL });
    await policies().mergePatch({ namespace: 'db', name: 'allow-all-egress' }, { metadata: { annotations: { 'shop.example/reason': 'still debugging' } } }, { fieldManager: CAROL });
    await policies().create({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-api-to-db', namespace: 'api' }, spec: { podSelector: {}, policyTypes: ['Egress'] } } as never, { fieldManager: CAROL });
    const before = sim.list('NetworkPolicy').map((o) => JSON.stringify(o));
    sim.clearRequests();
    for (const name of ['allow-web-ingress', 'allow-all-egress', 'allow-api-to-db']) {
      const step = stepOf(p, name);
      const result = await executeStep(step, ctx({ force: true }));
      expect(result, name).toMatchObject({ ok: false, reason: 'conflict-changed' });
      expect(result.ok ? '' : result.message).toMatch(step.action === 'create' ? /created meanwhile .*re-plan; nothing was written/ : /changed since the plan \(resourceVersion \d+ → \d+\); re-plan; nothing was written/);
      expect(await records.get(incidentId, step)).toBeUndefined();
    }
    expect(writes()).toEqual([]);
    expect(sim.list('NetworkPolicy').map((o) => JSON.stringify(o))).toEqual(before);
  });

  it('a change between the read and the delete is refused by the precondition: conflict-changed, the object kept', async () => {
    const step = stepOf(await plan(), 'allow-all-egress');
    const client = gateway.objects('NetworkPolicy');
    const racing = {
      ...gateway,
      objects: ((_kind: 'NetworkPolicy') => ({
        ...client,
        delete: async (ref: Parameters<typeof client.delete>[0], opts?: Parameters<typeof client.delete>[1]) => {
          await client.mergePatch(ref, { metadata: { labels: { racing: 'yes' } } }, { fieldManager: CAROL });
          return client.delete(ref, opts);
        },
      })) as unknown as KubeGateway['objects'],
    } as KubeGateway;
    const result = await executeStep(step, ctx({ gateway: racing }));
    expect(result).toMatchObject({ ok: false, reason: 'conflict-changed', message: expect.stringMatching(/409 Conflict: .*Precondition failed: ResourceVersion in precondition/) });
    expect(metaOf(stored('db', 'allow-all-egress')).labels).toEqual({ racing: 'yes' });
    // Recorded before the write, never marked applied.
    expect(await records.get(incidentId, step)).toMatchObject({ before: { metadata: { resourceVersion: step.resourceVersion } } });
    expect((await records.get(incidentId, step))?.appliedAt).toBeUndefined();
  });

  it('a field another manager owns: field-conflict naming them, nothing written; forcing takes it', async () => {
    const step = await stepsBefore(await plan(), 'allow-web-ingress');
    const edited = stored('frontend', 'allow-web-ingress');
    const result = await executeStep(step, ctx());
    expect(result).toMatchObject({ ok: false, reason: 'field-conflict', owners: [{ manager: CAROL, fields: ['.spec.ingress'] }] });
    expect(result.ok ? '' : result.message).toMatch(/owned by other managers: kubectl-edit \(\.spec\.ingress\)\. Nothing was written; forcing takes them/);
    expect(stored('frontend', 'allow-web-ingress')).toEqual(edited);
    expect(writes()).toEqual([]);

    const forced = await executeStep(step, ctx({ force: true }));
    expectOk(forced, 'updated');
    const managers = (metaOf(forced.readBack).managedFields as Array<{ manager: string; operation: string }>).map((m) => `${m.manager}/${m.operation}`);
    expect(managers).toContain(`${MANAGER}/Apply`);
    expect(((forced.readBack!.spec as Obj).ingress as Obj[])[0]).toEqual({ ports: [{ protocol: 'TCP', port: 8080 }] });
  });

  it('a field the known-good object lacks, set by someone else, is named too (an apply would leave it); forcing replaces the object at the planned resourceVersion', async () => {
    await policies().mergePatch({ namespace: 'frontend', name: 'allow-web-ingress' }, { metadata: { labels: { 'debug-by': 'carol' } }, spec: { ingress: [{ ports: [{ protocol: 'TCP', port: 8080 }] }] } }, { fieldManager: 'kubectl-label' });
    const step = await stepsBefore(await plan(), 'allow-web-ingress');
    const result = await executeStep(step, ctx());
    expect(result).toMatchObject({ ok: false, reason: 'field-conflict', owners: [{ manager: 'kubectl-label', fields: ['.metadata.labels.debug-by'] }] });
    expect(writes()).toEqual([]);
    const forced = await executeStep(step, ctx({ force: true }));
    expectOk(forced, 'updated');
    expect(metaOf(forced.readBack).labels).toEqual({ 'app.kubernetes.io/part-of': 'shop' });
    expect(writes()).toEqual(['update frontend/allow-web-ingress']);
  });

  it.each([
    ['allow-web-ingress', 'patch', 'frontend'],
    ['allow-all-egress', 'delete', 'db'],
    ['allow-db-from-api', 'create', 'db'],
  ] as const)('403 on %s: forbidden naming the RBAC rule (%s), nothing written', async (name, verb, namespace) => {
    const step = stepOf(await plan(), name);
    sim.deny({ verb, resource: 'networkpolicies', namespace });
    const before = stored(namespace, name);
    const result = await executeStep(step, ctx({ force: true }));
    expect(result).toMatchObject({ ok: false, reason: 'forbidden', missingPermission: { verb, group: 'networking.k8s.io', resource: 'networkpolicies', namespace } });
    expect(result.ok ? '' : result.message).toContain(`lacks verb "${verb}" on resource "networkpolicies" in apiGroup "networking.k8s.io"`);
    expect(stored(namespace, name)).toEqual(before);
    expect(writes()).toEqual([]);
  });

  it('an object someone else already put back as known-good: unchanged, nothing written, nothing recorded', async () => {
    const p = await plan();
    const step = await stepsBefore(p, 'allow-db-from-api');
    await policies().create(structuredClone(step.after) as never, { fieldManager: CAROL });
    sim.clearRequests();
    const result = await executeStep(step, ctx());
    expectOk(result, 'unchanged');
    expect(result.verification.engine.detail).toBe('engine: nothing written (the live object already was as the step wants it), so no change to measure');
    expect(writes()).toEqual([]);
    expect(await records.get(incidentId, step)).toBeUndefined();
  });

  it('a malformed object is refused by the API server: invalid, with the field', async () => {
    const step = stepOf(await plan(), 'allow-db-from-api');
    const bad = { ...step, after: { ...step.after!, spec: { podSelector: {}, policyTypes: ['Sideways'] } } };
    const result = await executeStep(bad, ctx());
    expect(result).toMatchObject({ ok: false, reason: 'invalid', message: expect.stringContaining('policyTypes') });
    expect(stored('db', 'allow-db-from-api')).toBeUndefined();
  });
});

/** Records whose markApplied dies, as a worker killed right after the write. */
class KilledAfterWrite extends RestoreRecords {
  override async markApplied(_incidentId: string, _step: StepIdentity, _mark: AppliedMark): Promise<AppliedMark> {
    throw new Error('worker killed');
  }
}

describe('a worker killed after the write', () => {
  it.each(['allow-web-ingress', 'allow-all-egress', 'allow-db-from-api'])('%s: the re-run reports the earlier run’s write and writes nothing; the record keeps the original before', async (name) => {
    const p = await plan();
    // The creates need their partner in place for the engine's view to match the plan's.
    for (const step of p.steps.slice(0, p.steps.indexOf(stepOf(p, name)))) expectOk(await executeStep(step, ctx({ force: true })), step.action === 'create' ? 'created' : step.action === 'delete' ? 'deleted' : 'updated');
    const step = stepOf(p, name);
    const original = step.before;
    const prefix = uniquePrefix('restore');
    const dying = await executeStep(step, ctx({ force: true, records: new KilledAfterWrite(redis, prefix) }));
    expect(dying).toMatchObject({ ok: false, reason: 'error', retryable: true, message: expect.stringContaining('worker killed') });
    const written = writes();
    const after = stored(String(step.namespace), name) ?? null;

    const rerun = await executeStep(step, ctx({ force: true, records: new RestoreRecords(redis, prefix) }));
    const outcome = step.action === 'create' ? 'created' : step.action === 'delete' ? 'deleted' : 'updated';
    expectOk(rerun, outcome);
    expect(rerun.ok && rerun.verification.engine.ok).toBe(true);
    expect(writes()).toEqual(written);
    expect(stored(String(step.namespace), name) ?? null).toEqual(after);
    const record = await new RestoreRecords(redis, prefix).get(incidentId, step);
    expect(record?.before).toEqual(original === null ? null : expect.objectContaining({ metadata: expect.objectContaining({ resourceVersion: step.resourceVersion }) }));
    expect(record).toMatchObject({ outcome, verified: true });
    // A third run changes nothing either, and the first mark stays.
    expectOk(await executeStep(step, ctx({ force: true, records: new RestoreRecords(redis, prefix) })), outcome);
    expect((await new RestoreRecords(redis, prefix).get(incidentId, step))?.appliedAt).toBe(record?.appliedAt);
    expect(writes()).toEqual(written);
  });
});

describe('rollbackStep', () => {
  it('an update rolled back: exactly the object before the step (spec, labels, annotations, containment), verified', async () => {
    const step = await stepsBefore(await plan(), 'allow-web-ingress');
    const before = stored('frontend', 'allow-web-ingress');
    expectOk(await executeStep(step, ctx({ force: true })), 'updated');
    const rolled = await rollbackStep(step, ctx());
    expectOk(rolled, 'updated');
    expect(essence(stored('frontend', 'allow-web-ingress'))).toEqual(essence(before));
    expect((await records.get(incidentId, step))?.rollbackOutcome).toBe('updated');
    // Again: already as before, nothing written.
    const count = writes().length;
    expectOk(await rollbackStep(step, ctx()), 'unchanged');
    expect(writes()).toHaveLength(count);
  });

  it('a create rolled back deletes what it made; a delete rolled back re-creates the object as it was', async () => {
    const p = await plan();
    const del = stepOf(p, 'allow-all-egress');
    const gone = stored('db', 'allow-all-egress');
    expectOk(await executeStep(del, ctx()), 'deleted');
    const create = stepOf(p, 'allow-api-to-db');
    expectOk(await executeStep(create, ctx()), 'created');

    expectOk(await rollbackStep(create, ctx()), 'deleted');
    expect(stored('api', 'allow-api-to-db')).toBeUndefined();
    expectOk(await rollbackStep(del, ctx()), 'created');
    expect(essence(stored('db', 'allow-all-egress'))).toEqual(essence(gone));
  });

  it('refuses when the object changed since the step (nobody’s later edit is overwritten), and when the step never wrote', async () => {
    const p = await plan();
    const step = await stepsBefore(p, 'allow-web-ingress');
    expectOk(await executeStep(step, ctx({ force: true })), 'updated');
    await policies().mergePatch({ namespace: 'frontend', name: 'allow-web-ingress' }, { metadata: { annotations: { later: 'edit' } } }, { fieldManager: CAROL });
    const edited = stored('frontend', 'allow-web-ingress');
    expect(await rollbackStep(step, ctx())).toMatchObject({ ok: false, reason: 'conflict-changed', message: expect.stringContaining('changed since the step') });
    expect(stored('frontend', 'allow-web-ingress')).toEqual(edited);
    const other = new RestoreRecords(redis, uniquePrefix('restore'));
    expect(await rollbackStep(stepOf(p, 'allow-db-from-api'), ctx({ records: other }))).toMatchObject({ ok: false, reason: 'error', message: expect.stringContaining('nothing to roll back') });
  });
});

describe('rollbackStep under a race', () => {
  it("a change between the rollback's read and its replace is refused by the resourceVersion: conflict-changed, not rolled back", async () => {
    const step = await stepsBefore(await plan(), 'allow-web-ingress');
    expectOk(await executeStep(step, ctx({ force: true })), 'updated');
    const client = gateway.objects('NetworkPolicy');
    const racing = {
      ...gateway,
      objects: ((_kind: 'NetworkPolicy') => ({
        ...client,
        replace: async (obj: Parameters<typeof client.replace>[0], opts?: Parameters<typeof client.replace>[1]) => {
          await client.mergePatch({ namespace: 'frontend', name: 'allow-web-ingress' }, { metadata: { labels: { racing: 'yes' } } }, { fieldManager: CAROL });
          return client.replace(obj, opts);
        },
      })) as unknown as KubeGateway['objects'],
    } as KubeGateway;
    const result = await rollbackStep(step, ctx({ gateway: racing }));
    expect(result).toMatchObject({ ok: false, reason: 'conflict-changed', message: expect.stringMatching(/the rollback: the object changed meanwhile \(409 Conflict: .*\); not rolled back$/) });
    const live = stored('frontend', 'allow-web-ingress');
    expect(metaOf(live).labels).toMatchObject({ racing: 'yes' });
    expect(((live!.spec as Obj).ingress as Obj[])[0]).toEqual({ ports: [{ protocol: 'TCP', port: 8080 }] });
    expect((await records.get(incidentId, step))?.rolledBackAt).toBeUndefined();
  });
});

describe('a wrong prediction', () => {
  it('verify-failed names the lines; the write is recorded, and the rollback leaves the cluster exactly as before the step', async () => {
    const p = await plan();
    const partner = stepOf(p, 'allow-api-to-db');
    expectOk(await executeStep(partner, ctx()), 'created');
    const step = stepOf(p, 'allow-db-from-api');
    const wrong = { ...step, opened: [...step.opened.slice(1), 'frontend/web-6d4cf56db6[ReplicaSet] => db/postgres[StatefulSet] : TCP 5432'] };
    const before = sim.list('NetworkPolicy').map((o) => JSON.stringify(essence(o as Obj)));
    const result = await executeStep(wrong, ctx());
    expect(result).toMatchObject({ ok: false, reason: 'verify-failed', applied: 'created', verification: { object: { ok: true }, engine: { ok: false } } });
    const detail = result.ok ? '' : (result.verification?.engine.detail ?? '');
    expect(detail).toContain(`opened but not predicted: ${step.opened[0]}`);
    expect(detail).toContain('predicted opened but not: frontend/web-6d4cf56db6[ReplicaSet] => db/postgres[StatefulSet] : TCP 5432');
    expect(await records.get(incidentId, wrong)).toMatchObject({ outcome: 'created', verified: false, measured: { opened: step.opened, closed: [] } });

    const rolled = await rollbackStep(wrong, ctx());
    expectOk(rolled, 'deleted');
    expect(rolled.verification.engine.detail).toBe('engine: opened 0 connections and closed 4 connections, as predicted');
    expect(sim.list('NetworkPolicy').map((o) => JSON.stringify(essence(o as Obj)))).toEqual(before);
  });
});

describe('a corrupt record', () => {
  it('stops the step before anything is written, saying which record', async () => {
    const prefix = uniquePrefix('restore');
    const corrupt = new RestoreRecords(redis, prefix);
    const del = stepOf(await plan(), 'allow-all-egress');
    await corrupt.recordBefore(incidentId, del, null);
    const [field] = await redis.hkeys(`${prefix}:restore:${incidentId}`);
    await redis.hset(`${prefix}:restore:${incidentId}`, field!, 'not json');
    sim.clearRequests();
    const result = await executeStep(del, ctx({ records: corrupt }));
    expect(result).toMatchObject({ ok: false, reason: 'error', message: expect.stringMatching(/step 1 .*is corrupt/) });
    expect(writes()).toEqual([]);
    expect(stored('db', 'allow-all-egress')).toBeDefined();
  });
});

describe('bad input touches nothing', () => {
  it.each([
    ['not an object', null, /not a restore step/],
    ['a step number of 0', { n: 0 }, /positive integer/],
    ['a kind the engine does not model', { key: { kind: 'Pod', namespace: 'db', name: 'x' }, kind: 'Pod' }, /policy kind the engine models/],
    ['a namespaced kind without namespace', { key: { kind: 'NetworkPolicy', name: 'allow-db-from-api' }, namespace: undefined }, /needs a namespace/],
    ['a key that disagrees with the step', { name: 'other' }, /disagree with the key/],
    ['an object to apply that names another policy', { after: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny-all', namespace: 'db' }, spec: {} } }, /object to apply is not NetworkPolicy db\/allow-db-from-api/],
    ['an unknown action', { action: 'patch' }, /action must be create, update or delete/],
    ['an update without resourceVersion', { action: 'update' }, /needs the resourceVersion/],
    ['a create with nothing to apply', { after: null }, /needs the object to apply/],
    ['lines that are not strings', { opened: [42] }, /opened must be a list of engine lines/],
  ])('%s', async (_what, edit, message) => {
    const step = stepOf(await plan(), 'allow-db-from-api');
    const bad = (edit === null ? null : { ...step, ...edit }) as RestoreStep;
    for (const run of [executeStep, rollbackStep]) {
      const result = await run(bad, ctx());
      expect(result).toMatchObject({ ok: false, reason: 'error', message: expect.stringMatching(message) });
    }
    expect(writes()).toEqual([]);
    expect(await records.list(incidentId)).toEqual([]);
  });

  it('an empty field manager or incident id is refused before any request', async () => {
    const step = stepOf(await plan(), 'allow-db-from-api');
    sim.clearRequests();
    expect(await executeStep(step, ctx({ fieldManager: ' ' }))).toMatchObject({ ok: false, reason: 'error', message: 'a field manager is required' });
    expect(await executeStep(step, ctx({ incidentId: '' }))).toMatchObject({ ok: false, reason: 'error', message: 'an incident id is required' });
    expect(sim.requests).toEqual([]);
  });
});
