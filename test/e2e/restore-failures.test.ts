// Step 4 "Restore Safe State" end to end with the flow collector on (Hubble Relay stand-in): a step
// whose traffic window contradicts it stops the plan, and is rolled back exactly or continued by an
// approver (recorded); after the lift, the anomaly firing again during the watch window offers
// Contain again, which re-contains. Crashes, live changes and field conflicts: ./restore-robustness.test.ts.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dedupeKeyOf } from '../../src/playbook/restore-runner.js';
import { RestoreStore } from '../../src/restore/plan-store.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { RESTORE_APPROVE_STEP_ACTION, RESTORE_CONTINUE_ACTION, RESTORE_RECONTAIN_ACTION, RESTORE_RESUME_ACTION, RESTORE_ROLLBACK_ACTION, RESTORE_STOP_ACTION } from '../../src/slack/restore-blocks.js';
import { click, DEMO_USERS, startTestEnvironment, waitForContained } from '../helpers/environment.js';
import {
  buttonLabels,
  CAROL,
  clickControl,
  containAndPropose,
  createAllowAllEgress,
  deletePolicy,
  dropDnsDuringStep,
  eventsOf,
  gitViews,
  learnShopTraffic,
  liveViews,
  openFromAnomaly,
  ownerView,
  refire,
  restorePlaybook,
  waitForIncident,
  waitForRun,
  waitUntil,
  writesTo,
} from '../helpers/restore-robust.js';

const { approver: bob, outsider: mallory } = DEMO_USERS;

const DNS_DROPPED =
  'db/postgres → kube-system/kube-dns:53/UDP should be open (learned, allowed by known-good) but was dropped: POLICY_DENIED (seen as db/postgres-0 → kube-system/kube-dns-5d78c9869d-p2v8x, 6 flows)';

/** Each step's traffic is watched for 2 s; the watch window after the lift is short. */
async function verifyingEnvironment(): Promise<EmbeddedEnvironment> {
  const env = await startTestEnvironment({ git: true, flows: true, playbookPath: restorePlaybook({ trafficWindow: '2s', watchWindow: '1s' }) });
  await learnShopTraffic(env);
  return env;
}

/** carol opens allow-all-egress and deletes allow-dns-egress; the plan deletes the one, then creates the other. Step 1's window sees DNS dropped. */
async function failStepOne(env: EmbeddedEnvironment) {
  await createAllowAllEgress(env);
  await deletePolicy(env, 'db', 'allow-dns-egress');
  const { incidentId, message } = await containAndPropose(env, 'verification failure');
  const plan = (await eventsOf(env, incidentId, 'restore.plan'))[0]?.data as { planId: string; steps: Array<{ n: number; action: string; key: string }> };
  expect(plan.steps.map((s) => [s.n, s.action, s.key])).toEqual([
    [1, 'delete', 'NetworkPolicy db/allow-all-egress'],
    [2, 'create', 'NetworkPolicy db/allow-dns-egress'],
  ]);
  const before = ownerView(env, 'db', 'allow-all-egress');
  await click(env, message, bob.id);
  const watching = await waitForRun(env, incidentId, 'traffic-wait');
  expect(watching.next).toBe(1);
  await dropDnsDuringStep(env, incidentId, watching);

  const failed = await waitForRun(env, incidentId, 'verify-failed', watching.round - 1);
  expect(failed).toMatchObject({ planId: plan.planId, next: 1, done: [], failure: { n: 1, reason: 'verify-failed', message: 'traffic verification failed' } });
  const [event] = await eventsOf(env, incidentId, 'restore.step-failed');
  expect(event?.data).toEqual({
    planId: plan.planId,
    n: 1,
    key: 'NetworkPolicy db/allow-all-egress',
    reason: 'verify-failed',
    message: 'the flows in the window contradict the step',
    verification: {
      object: { ok: true, detail: 'object: gone, as intended' },
      engine: { ok: true, detail: 'engine: opened 0 connections and closed 6 connections, as predicted' },
      traffic: { status: 'fail', lines: ['Traffic (2 s): 1 expected edge dropped', DNS_DROPPED] },
    },
  });
  // The step itself is applied: the failure is the wire's, not the object's.
  expect(env.kube.get('NetworkPolicy', 'db', 'allow-all-egress')).toBeUndefined();
  const labels = await waitUntil('the failed step controls', () => {
    const now = buttonLabels(env, incidentId);
    return now[RESTORE_ROLLBACK_ACTION] ? now : undefined;
  });
  // (Lift containment stays offered beside them while containment is in force.)
  expect(labels).toMatchObject({ [RESTORE_ROLLBACK_ACTION]: 'Roll back this step', [RESTORE_CONTINUE_ACTION]: 'Continue anyway' });
  expect(Object.keys(labels).filter((id) => id.startsWith('netpol_restore_')).sort()).toEqual([RESTORE_CONTINUE_ACTION, RESTORE_ROLLBACK_ACTION]);
  return { incidentId, planId: plan.planId, before, failed };
}

describe('a step whose traffic contradicts it, rolled back', () => {
  let env: EmbeddedEnvironment;
  beforeAll(async () => {
    env = await verifyingEnvironment();
  });
  afterAll(() => env?.stop());

  it('stops with verify-failed; Roll back puts the object back exactly and stops; Resume re-plans and completes', async () => {
    const { incidentId, planId, before, failed } = await failStepOne(env);
    expect(before).toBeDefined();

    expect(await clickControl(env, incidentId, RESTORE_ROLLBACK_ACTION, mallory.id)).toContain('Only approvers');
    expect((await env.bot!.store.require(incidentId)).restore).toMatchObject({ status: 'verify-failed', round: failed.round });
    expect(env.kube.get('NetworkPolicy', 'db', 'allow-all-egress')).toBeUndefined();

    expect(await clickControl(env, incidentId, RESTORE_ROLLBACK_ACTION, bob.id)).toBe('Step 1 rolled back and verified; the restore is stopped (Resume re-plans from the live state and asks for approval).');
    expect(ownerView(env, 'db', 'allow-all-egress')).toEqual(before);
    const [rollback] = await eventsOf(env, incidentId, 'restore.rollback');
    expect(rollback?.actor).toBe(`slack:${bob.id}`);
    expect(rollback?.data).toMatchObject({ planId, n: 1, key: 'NetworkPolicy db/allow-all-egress', ok: true, message: 'rolled back', verification: { object: { ok: true }, engine: { ok: true } } });

    const stopped = await env.bot!.store.require(incidentId);
    expect(stopped.status).toBe('open');
    expect(stopped.restore).toMatchObject({ planId, status: 'stopped', next: 1, done: [] });
    expect(stopped.containment?.status).toBe('active');
    const records = await new RestoreStore(env.bot!.redis, env.config.redis.keyPrefix).records.list(incidentId);
    expect(records.map((r) => [r.n, r.key, r.outcome, r.rollbackOutcome])).toEqual([[1, 'NetworkPolicy db/allow-all-egress', 'deleted', 'created']]);
    await waitUntil('Resume under the incident message', () => buttonLabels(env, incidentId)[RESTORE_RESUME_ACTION] === 'Resume');
    expect(Object.keys(buttonLabels(env, incidentId))).not.toContain(RESTORE_ROLLBACK_ACTION);
    expect(await eventsOf(env, incidentId, 'restore.continued')).toEqual([]);

    // Resume: the object the rollback wrote is not the one step 1 was planned on, so the rest is re-planned and approved again.
    expect(await clickControl(env, incidentId, RESTORE_RESUME_ACTION, bob.id)).toBe('Resumed: the thread shows each step.');
    const replanned = await waitForRun(env, incidentId, 'awaiting-step', stopped.restore!.round);
    expect(replanned).toMatchObject({ next: 1, total: 2, done: [] });
    const [note] = await eventsOf(env, incidentId, 'restore.replanned');
    expect(note?.data).toMatchObject({ previous: planId, planId: replanned.planId, fromStep: 1, notes: [{ key: 'NetworkPolicy db/allow-all-egress', change: 'changed' }] });
    expect(await clickControl(env, incidentId, RESTORE_APPROVE_STEP_ACTION, bob.id)).toBe('Approved: step 1 runs now.');
    const done = await waitForIncident(env, incidentId, 'completed', 40_000);
    expect(done.restore?.done.map((d) => [d.n, d.outcome])).toEqual([
      [1, 'deleted'],
      [2, 'created'],
    ]);
    // A record per planned version of step 1: the rolled-back attempt keeps its history.
    const after = await new RestoreStore(env.bot!.redis, env.config.redis.keyPrefix).records.list(incidentId);
    expect(after.map((r) => [r.n, r.key, r.outcome, r.rollbackOutcome ?? null])).toEqual([
      [1, 'NetworkPolicy db/allow-all-egress', 'deleted', 'created'],
      [1, 'NetworkPolicy db/allow-all-egress', 'deleted', null],
      [2, 'NetworkPolicy db/allow-dns-egress', 'created', null],
    ]);
    expect(liveViews(env, 'db')).toEqual(gitViews('db'));
  }, 90_000);
});

// A verify-failed step keeps the `pending` result of its traffic window through Roll back and Resume:
// a Stop before the resumed job runs makes that job judge the stale window and record the rolled-back
// step as done (fails until startRollback/resumeRestore drop `pending` and `trafficUntil`).
describe('Stop after a rolled-back step was resumed, before it ran again', () => {
  let env: EmbeddedEnvironment;
  beforeAll(async () => {
    // The worker runs apart (a bot of its own), so it can be away while Resume and Stop are clicked.
    env = await startTestEnvironment({ git: true, flows: true, roles: ['web', 'watcher', 'collector'], playbookPath: restorePlaybook({ trafficWindow: '2s', watchWindow: '1s' }) });
    await learnShopTraffic(env);
  });
  afterAll(() => env?.stop());

  it('records nothing for the step: it stays rolled back and the run stays stopped before it', async () => {
    const worker = await env.startBot({ roles: ['worker'] });
    const { incidentId, before } = await failStepOne(env);
    expect(await clickControl(env, incidentId, RESTORE_ROLLBACK_ACTION, bob.id)).toMatch(/^Step 1 rolled back and verified/);
    await worker.stop();

    expect(await clickControl(env, incidentId, RESTORE_RESUME_ACTION, bob.id)).toBe('Resumed: the thread shows each step.');
    const resumed = (await env.bot!.store.require(incidentId)).restore!;
    expect(resumed).toMatchObject({ status: 'running', next: 1 });
    expect(await clickControl(env, incidentId, RESTORE_STOP_ACTION, bob.id)).toBe('Stopped: nothing more is applied until Resume.');

    // The job Resume queued runs now, on a stopped run.
    await env.startBot({ roles: ['worker'] });
    const job = `${env.config.redis.keyPrefix}:bull:incident-jobs:${incidentId}.restore.${resumed.planId}.1.${resumed.round}`;
    await waitUntil('the resumed step 1 job to finish', async () => (await env.bot!.redis.hget(job, 'finishedOn')) !== null, 30_000);
    const now = await env.bot!.store.require(incidentId);
    expect(now.restore).toMatchObject({ status: 'stopped', next: 1, done: [] });
    expect(await eventsOf(env, incidentId, 'restore.step')).toEqual([]);
    expect(ownerView(env, 'db', 'allow-all-egress')).toEqual(before);
  }, 90_000);
});

describe('a step whose traffic contradicts it, continued anyway', () => {
  let env: EmbeddedEnvironment;
  beforeAll(async () => {
    env = await verifyingEnvironment();
  });
  afterAll(() => env?.stop());

  it("refuses a non-approver's Continue anyway; an approver's is recorded and the run goes on to completion", async () => {
    const { incidentId, failed } = await failStepOne(env);

    expect(await clickControl(env, incidentId, RESTORE_CONTINUE_ACTION, mallory.id)).toContain('Only approvers');
    expect((await env.bot!.store.require(incidentId)).restore).toMatchObject({ status: 'verify-failed', round: failed.round, done: [] });
    expect(await eventsOf(env, incidentId, 'restore.continued')).toEqual([]);

    expect(await clickControl(env, incidentId, RESTORE_CONTINUE_ACTION, bob.id)).toBe('Continuing: step 1 stays applied, recorded as continued anyway by you.');
    const [continued] = await eventsOf(env, incidentId, 'restore.continued');
    expect(continued?.actor).toBe(`slack:${bob.id}`);
    expect(continued?.data).toEqual({ n: 1, user: bob.id, failure: { n: 1, reason: 'verify-failed', message: 'traffic verification failed' } });

    const done = await waitForIncident(env, incidentId, 'completed', 40_000);
    expect(done.restore?.done.map((d) => [d.n, d.outcome])).toEqual([
      [1, 'continued'],
      [2, 'created'],
    ]);
    // Step 2's window was quiet: no traffic to judge, which is not a failure.
    const steps = (await eventsOf(env, incidentId, 'restore.step')).map((e) => e.data as { n: number; applied: string; verification: { traffic: { status: string } } });
    expect(steps.map((s) => [s.n, s.applied, s.verification.traffic.status])).toEqual([[2, 'created', 'no-traffic']]);
    expect(await eventsOf(env, incidentId, 'restore.rollback')).toEqual([]);
    expect(done.containment?.status).toBe('lifted');
    expect(liveViews(env, 'db')).toEqual(gitViews('db'));
  }, 90_000);
});

// Stop's promise: nothing more is applied after the step in progress, whose traffic check is recorded.
describe('Stop while a step is applied or watched', () => {
  let env: EmbeddedEnvironment;
  beforeEach(async () => {
    env = await verifyingEnvironment();
    await createAllowAllEgress(env);
    await deletePolicy(env, 'db', 'allow-dns-egress');
  });
  afterEach(() => env?.stop());

  /** Once step 1's traffic check is recorded: the run is stopped after it and step 2 was never applied. */
  async function expectHeldAfterStepOne(incidentId: string): Promise<void> {
    await waitUntil("step 1's traffic check in the timeline", async () => (await eventsOf(env, incidentId, 'restore.step')).length > 0, 30_000);
    const now = await env.bot!.store.require(incidentId);
    expect(now.restore).toMatchObject({ status: 'stopped', next: 2, stoppedBy: bob.id, done: [{ n: 1, outcome: 'deleted' }] });
    expect(env.kube.get('NetworkPolicy', 'db', 'allow-dns-egress')).toBeUndefined();
    expect(writesTo(env, 'db', 'allow-dns-egress').filter((w) => w.verb === 'create' && w.user !== CAROL)).toEqual([]);
  }

  it('Stop while step 1 is being written: the run halts after step 1', async () => {
    const { incidentId, message } = await containAndPropose(env, 'stop during a write');
    env.kube.injectDelay({ verb: 'delete', resource: 'networkpolicies', ms: 1500, times: 1 });
    await click(env, message, bob.id);
    await waitUntil("step 1's delete in flight", () => env.kube.requests.some((r) => r.method === 'DELETE' && r.path.endsWith('/db/networkpolicies/allow-all-egress') && !r.query.dryRun && r.status === 0));
    expect(await clickControl(env, incidentId, RESTORE_STOP_ACTION, bob.id)).toBe('Stopped: nothing more is applied until Resume.');
    await expectHeldAfterStepOne(incidentId);
  }, 90_000);

  it("Stop during step 1's traffic window: its check is recorded, then the run halts", async () => {
    const { incidentId, message } = await containAndPropose(env, 'stop during a traffic window');
    await click(env, message, bob.id);
    const watching = await waitForRun(env, incidentId, 'traffic-wait');
    expect(await clickControl(env, incidentId, RESTORE_STOP_ACTION, bob.id)).toBe('Stopped: nothing more is applied until Resume.');
    const [stop] = await eventsOf(env, incidentId, 'restore.stopped');
    expect(stop?.summary).toContain('step 1 is applied; its traffic check is recorded, then the run halts');
    // The window's job has run once it is finished in the queue: by then the check must be recorded.
    const job = `${env.config.redis.keyPrefix}:bull:incident-jobs:${incidentId}.restore.${watching.planId}.1.${watching.round}`;
    await waitUntil("the window's job to finish", async () => (await env.bot!.redis.hget(job, 'finishedOn')) !== null, 30_000);
    expect((await eventsOf(env, incidentId, 'restore.step')).map((e) => (e.data as { n: number }).n)).toEqual([1]);
    await expectHeldAfterStepOne(incidentId);
  }, 90_000);
});

describe('the anomaly firing again in the watch window', () => {
  let env: EmbeddedEnvironment;
  beforeAll(async () => {
    env = await startTestEnvironment({ git: true, flows: true, playbookPath: restorePlaybook({ trafficWindow: '0s', watchWindow: '20s' }) });
    await learnShopTraffic(env);
  });
  afterAll(() => env?.stop());

  it('says so, offers Contain again, and an approver re-contains', async () => {
    await createAllowAllEgress(env);
    const { incidentId, message, incident } = await openFromAnomaly(env);
    const [anomalyId] = incident.anomalyIds ?? [];
    expect(anomalyId).toBeDefined();
    await click(env, message, bob.id);
    const watching = await waitForRun(env, incidentId, 'watching');
    expect(watching.refired).toBeUndefined();
    const restore = new RestoreStore(env.bot!.redis, env.config.redis.keyPrefix);
    expect(await restore.watchedBy(dedupeKeyOf(anomalyId as string))).toBe(incidentId);
    expect(Object.keys(buttonLabels(env, incidentId))).not.toContain(RESTORE_RECONTAIN_ACTION);
    const quarantine = `netpol-responder-quarantine-${incidentId}`;
    expect(env.kube.get('NetworkPolicy', 'db', quarantine)).toBeUndefined();

    // Another anomaly is not this one; the same dedupe key again is.
    await refire(env, anomalyId as string, 'new-external-egress:db/postgres:ip:198.51.100.7');
    const again = await refire(env, anomalyId as string);
    const refired = await waitUntil('the refire on the incident', async () => (await env.bot!.store.require(incidentId)).restore?.refired);
    expect(refired.anomalyId).toBe(again);
    const events = await eventsOf(env, incidentId, 'restore.refired');
    expect(events.map((e) => e.data)).toEqual([{ anomalyId: again }]);
    const labels = await waitUntil('Contain again under the incident message', () => {
      const now = buttonLabels(env, incidentId);
      return now[RESTORE_RECONTAIN_ACTION] ? now : undefined;
    });
    expect(labels).toEqual({ [RESTORE_RECONTAIN_ACTION]: 'Contain again' });

    expect(await clickControl(env, incidentId, RESTORE_RECONTAIN_ACTION, mallory.id)).toContain('Only approvers');
    expect((await env.bot!.store.require(incidentId)).restore?.status).toBe('watching');

    expect(await clickControl(env, incidentId, RESTORE_RECONTAIN_ACTION, bob.id)).toMatch(/^Containing again: /);
    await waitForContained(env, incidentId, 20_000);
    const recontained = await waitUntil('the contain step to finish again', async () => {
      const now = await env.bot!.store.require(incidentId);
      return now.steps.contain?.status === 'done' && now.containment?.status === 'active' ? now : undefined;
    });
    expect(recontained.status).toBe('open');
    expect(recontained.restore?.status).toBe('done');
    expect(recontained.steps.restore).toMatchObject({ status: 'done', result: { recontained: true } });
    expect(recontained.steps.contain?.approvals.map((a) => a.user)).toEqual([bob.id]);
    expect(env.kube.get('NetworkPolicy', 'db', quarantine)).toBeDefined();
    expect(await restore.watchedBy(dedupeKeyOf(anomalyId as string))).toBeNull();
    const timeline = await env.bot!.store.timeline(incidentId);
    const completed = timeline.filter((e) => e.type === 'restore.completed');
    expect(completed.map((e) => [e.actor, (e.data as { recontained?: boolean }).recontained])).toEqual([[`slack:${bob.id}`, true]]);
    const retry = timeline.findIndex((e) => e.type === 'containment.retry');
    expect(retry).toBeGreaterThan(timeline.findIndex((e) => e.type === 'restore.refired'));
    expect(timeline.slice(retry).filter((e) => e.type === 'step.approved').map((e) => e.actor)).toEqual([`slack:${bob.id}`]);
    expect(timeline.slice(retry).map((e) => e.type)).toEqual(expect.arrayContaining(['policy.applied', 'containment.proven', 'step.completed']));
  }, 120_000);
});
