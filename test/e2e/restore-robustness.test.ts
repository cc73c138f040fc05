// Step 4 "Restore Safe State" when things go wrong under it, end to end on the embedded
// environment (simulated cluster, Slack stand-in, real Git and Redis): a worker killed in the
// middle of the plan, a live change between the plan and its approval, and a field-manager
// conflict that only an approver's Force resolves. Failed verifications and the watch window:
// ./restore-failures.test.ts.
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RestoreRecords } from '../../src/restore/record.js';
import { kubectlPatchNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { DEFAULT_SIM_USER } from '../../src/sim/kube/index.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { RESTORE_APPROVE_STEP_ACTION, RESTORE_FORCE_ACTION, RESTORE_STOP_ACTION } from '../../src/slack/restore-blocks.js';
import { click, DEMO_USERS, startTestEnvironment } from '../helpers/environment.js';
import {
  buttonLabels,
  buttonsOf,
  CAROL,
  clickControl,
  containAndPropose,
  createAllowAllEgress,
  deletePolicy,
  eventsOf,
  gitViews,
  liveViews,
  ownerView,
  resourceVersionOf,
  restorePlaybook,
  startRestoreWorker,
  threadText,
  waitForIncident,
  waitForRun,
  waitUntil,
  widenDbIngress,
  writeRestoreWorkerConfig,
  writesTo,
} from '../helpers/restore-robust.js';
import { stopProcess } from '../helpers/worker-process.js';

const BOT = DEFAULT_SIM_USER;
const { approver: bob, secondApprover: carol, outsider: mallory } = DEMO_USERS;

/** Index of the first request to `pathEnd` with `method` from `from` on (-1: none yet). */
function requestIndex(env: EmbeddedEnvironment, method: string, pathEnd: string, from = 0): number {
  return env.kube.requests.findIndex((r, i) => i >= from && r.method === method && r.path.endsWith(pathEnd) && !r.query.dryRun);
}

describe('a worker killed in the middle of the plan', () => {
  let env: EmbeddedEnvironment;
  let configFile: string;
  const workers: ChildProcess[] = [];
  const logs: string[] = [];

  async function startWorker(): Promise<ChildProcess> {
    const { child, logFile } = await startRestoreWorker(env, configFile);
    workers.push(child);
    logs.push(logFile);
    return child;
  }

  beforeAll(async () => {
    env = await startTestEnvironment({ git: true, roles: ['web'], playbookPath: restorePlaybook() });
    // A short lock: the next worker takes over a dead worker's job within a few seconds. Not
    // shorter: a worker starved of CPU on a busy CI machine lost a 1.5 s lock mid-step.
    configFile = writeRestoreWorkerConfig(env, { worker: { concurrency: 2, lockDurationMs: 3000, stalledIntervalMs: 500 } });
  });
  afterAll(async () => {
    for (const child of workers) await stopProcess(child, 'SIGKILL');
    await env?.stop();
  });
  afterEach((context) => {
    if (context.task.result?.state === 'fail') process.stderr.write(`worker logs: ${logs.join(' ')}\n`);
  });

  it('resumes at the right step in another worker, applies no step twice, and completes equal to Git', async () => {
    const first = await startWorker();
    // Two steps: delete carol's allow-all-egress, then create the allow-dns-egress she deleted.
    await createAllowAllEgress(env);
    await deletePolicy(env, 'db', 'allow-dns-egress');
    const { incidentId, message } = await containAndPropose(env, 'worker crash during the restore');
    const plan = (await eventsOf(env, incidentId, 'restore.plan'))[0]?.data as { steps: Array<{ n: number; action: string; key: string }> };
    expect(plan.steps.map((s) => [s.n, s.action, s.key])).toEqual([
      [1, 'delete', 'NetworkPolicy db/allow-all-egress'],
      [2, 'create', 'NetworkPolicy db/allow-dns-egress'],
    ]);
    const allowAllBefore = env.kube.get('NetworkPolicy', 'db', 'allow-all-egress');

    // Worker 1 dies right after step 1's write landed, before it read the object back and recorded it.
    env.kube.injectDelay({ verb: 'delete', resource: 'networkpolicies', ms: 1500, times: 1 });
    await click(env, message, bob.id);
    const deleteAt = await waitUntil('step 1 deleting', () => {
      const i = requestIndex(env, 'DELETE', '/db/networkpolicies/allow-all-egress');
      return i >= 0 ? i : undefined;
    });
    env.kube.injectDelay({ verb: 'get', resource: 'networkpolicies', ms: 10_000, times: 1 });
    await waitUntil('step 1 reading back after its delete', () => env.kube.requests[deleteAt]?.status === 200 && requestIndex(env, 'GET', '/db/networkpolicies/allow-all-egress', deleteAt) > deleteAt);
    await stopProcess(first, 'SIGKILL');
    env.kube.clearFaults();

    const records = new RestoreRecords(env.bot!.redis, env.config.redis.keyPrefix);
    expect(env.kube.get('NetworkPolicy', 'db', 'allow-all-egress')).toBeUndefined();
    const afterFirst = await env.bot!.store.require(incidentId);
    expect(afterFirst.restore).toMatchObject({ next: 1, status: 'running', done: [] });
    const [recorded] = await records.list(incidentId);
    expect(recorded).toMatchObject({ n: 1, key: 'NetworkPolicy db/allow-all-egress', action: 'delete', before: allowAllBefore });
    expect(recorded?.appliedAt).toBeUndefined();

    // Worker 2 finds step 1 done by worker 1's delete (nothing written now), then dies with step 2's create in flight.
    env.kube.injectDelay({ verb: 'create', resource: 'networkpolicies', ms: 10_000, times: 1 });
    const mark = env.kube.requests.length;
    const second = await startWorker();
    await waitUntil('step 2 creating', () => env.kube.requests.some((r, i) => i >= mark && r.method === 'POST' && r.path === '/apis/networking.k8s.io/v1/namespaces/db/networkpolicies' && r.status === 0));
    const midway = await env.bot!.store.require(incidentId);
    expect(midway.restore).toMatchObject({ next: 2, status: 'running', done: [{ n: 1, outcome: 'deleted', approvedBy: [bob.id] }] });
    await stopProcess(second, 'SIGKILL');
    expect(env.kube.get('NetworkPolicy', 'db', 'allow-dns-egress')).toBeUndefined();

    // Worker 3 creates it, lifts containment and watches.
    await startWorker();
    const done = await waitForIncident(env, incidentId, 'completed', 40_000);
    expect(done.restore).toMatchObject({ status: 'done', next: 3, total: 2 });
    expect(done.restore?.done.map((d) => [d.n, d.outcome, d.approvedBy])).toEqual([
      [1, 'deleted', [bob.id]],
      [2, 'created', [bob.id]],
    ]);
    const steps = (await eventsOf(env, incidentId, 'restore.step')).map((e) => e.data as { n: number; applied: string; verification: { object: { ok: boolean }; engine: { ok: boolean } } });
    expect(steps.map((s) => [s.n, s.applied, s.verification.object.ok, s.verification.engine.ok])).toEqual([
      [1, 'deleted', true, true],
      [2, 'created', true, true],
    ]);

    // The API saw one delete of allow-all-egress (the bot's) and one successful create of allow-dns-egress.
    expect(writesTo(env, 'db', 'allow-all-egress').filter((w) => w.verb === 'delete')).toEqual([{ verb: 'delete', user: BOT, code: 200 }]);
    const creates = writesTo(env, 'db', 'allow-dns-egress').filter((w) => w.verb === 'create' && w.code < 300);
    expect(creates).toHaveLength(1);
    expect(creates[0]?.user).toBe(BOT);

    // One record per planned step: the before state of the first attempt, the outcome of the run that found it done.
    const final = await records.list(incidentId);
    expect(final.map((r) => [r.n, r.key, r.action, r.outcome, r.verified])).toEqual([
      [1, 'NetworkPolicy db/allow-all-egress', 'delete', 'deleted', true],
      [2, 'NetworkPolicy db/allow-dns-egress', 'create', 'created', true],
    ]);
    expect(final[0]?.before).toEqual(allowAllBefore);
    expect(final[1]?.before).toBeNull();
    expect(final[1]?.appliedResourceVersion).toBe(creates[0]?.resourceVersion);

    expect(done.containment?.status).toBe('lifted');
    expect(liveViews(env, 'db')).toEqual(gitViews('db'));
  }, 180_000);

  it('a worker killed after recording step 1, before queueing step 2: the re-run job queues it and the run completes', async () => {
    for (const child of workers) await stopProcess(child, 'SIGKILL');
    const audited = env.kube.auditEvents.length;
    const first = await startWorker();
    await createAllowAllEgress(env);
    await deletePolicy(env, 'db', 'allow-dns-egress');
    const { incidentId, message } = await containAndPropose(env, 'worker crash between two steps');
    env.kube.injectDelay({ verb: 'delete', resource: 'networkpolicies', ms: 1500, times: 1 });
    // This test's requests only: the test before it deleted the same policy, and its DELETE would
    // let the rate limit below start before step 1 runs (the plan's Slack update then stalls it).
    const from = env.kube.requests.length;
    await click(env, message, bob.id);
    await waitUntil('step 1 deleting', () => requestIndex(env, 'DELETE', '/db/networkpolicies/allow-all-egress', from) >= 0);
    // Slack answers 429 for a while: updating the incident message after step 1 takes seconds, the window to die in.
    env.slack.rateLimit('chat.update', { retryAfterSeconds: 5, times: 1000 });
    const jobOf = (run: { planId: string; next: number; round: number }) => `${env.config.redis.keyPrefix}:bull:incident-jobs:${incidentId}.restore.${run.planId}.${run.next}.${run.round}`;
    const between = await waitUntil(
      'step 1 recorded as done',
      async () => {
        const run = (await env.bot!.store.require(incidentId)).restore;
        return run?.next === 2 ? run : undefined;
      },
      60_000,
    );
    await stopProcess(first, 'SIGKILL');
    env.slack.rateLimit('chat.update', { times: 0 });
    expect(between).toMatchObject({ status: 'running', done: [{ n: 1, outcome: 'deleted' }] });
    // Nothing queued step 2: the job of step 1 is all that is left (a dead worker's, taken over by the next).
    expect(await env.bot!.redis.exists(jobOf(between))).toBe(0);

    await startWorker();
    const done = await waitForIncident(env, incidentId, 'completed', 40_000);
    expect(done.restore?.done.map((d) => [d.n, d.outcome])).toEqual([
      [1, 'deleted'],
      [2, 'created'],
    ]);
    expect((await eventsOf(env, incidentId, 'restore.step')).map((e) => (e.data as { n: number }).n)).toEqual([1, 2]);
    expect(writesTo(env, 'db', 'allow-all-egress', audited).filter((w) => w.user === BOT && w.verb === 'delete')).toEqual([{ verb: 'delete', user: BOT, code: 200 }]);
    expect(writesTo(env, 'db', 'allow-dns-egress', audited).filter((w) => w.user === BOT && w.verb === 'create').map((w) => w.code)).toEqual([201]);
    expect(liveViews(env, 'db')).toEqual(gitViews('db'));
  }, 180_000);
});

describe('a live change between the plan and its approval', () => {
  let env: EmbeddedEnvironment;
  beforeAll(async () => {
    env = await startTestEnvironment({ git: true, playbookPath: restorePlaybook() });
  });
  afterAll(() => env?.stop());

  it('re-plans the rest, waits for "Approve step N", and completes equal to Git with the new plan', async () => {
    // carol opens allow-all-egress and empties allow-db-from-api's ingress: step 1 deletes, step 2 updates.
    await createAllowAllEgress(env);
    await kubectlPatchNetworkPolicy(env.kube, CAROL, { namespace: 'db', name: 'allow-db-from-api' }, { spec: { ingress: null } });
    const { incidentId, message } = await containAndPropose(env, 'live change under the plan');
    const first = (await eventsOf(env, incidentId, 'restore.plan'))[0]?.data as { planId: string; steps: Array<{ n: number; action: string; key: string }> };
    expect(first.steps.map((s) => [s.n, s.action, s.key])).toEqual([
      [1, 'delete', 'NetworkPolicy db/allow-all-egress'],
      [2, 'update', 'NetworkPolicy db/allow-db-from-api'],
    ]);
    const planned = resourceVersionOf(env, 'db', 'allow-db-from-api');

    // While the plan waits, dan drops a label from the object step 2 updates.
    await kubectlPatchNetworkPolicy(env.kube, 'dan@shop.example', { namespace: 'db', name: 'allow-db-from-api' }, { metadata: { labels: { 'app.kubernetes.io/part-of': null } } });
    const moved = resourceVersionOf(env, 'db', 'allow-db-from-api');
    await click(env, message, bob.id);

    const waiting = await waitForRun(env, incidentId, 'awaiting-step');
    expect(waiting).toMatchObject({ next: 2, total: 2, done: [{ n: 1, outcome: 'deleted' }], stepApprovals: [] });
    expect(waiting.planId).not.toBe(first.planId);
    const [replanned] = await eventsOf(env, incidentId, 'restore.replanned');
    expect(replanned?.data).toEqual({
      planId: waiting.planId,
      previous: first.planId,
      fromStep: 2,
      notes: [{ key: 'NetworkPolicy db/allow-db-from-api', change: 'changed', reason: `the live object changed (resourceVersion ${planned} → ${moved}): re-planned` }],
    });
    // Nothing was written to the moved object; only the deleted one was touched.
    expect(writesTo(env, 'db', 'allow-db-from-api').filter((w) => w.user === BOT && w.verb !== 'update')).toEqual([]);
    expect(resourceVersionOf(env, 'db', 'allow-db-from-api')).toBe(moved);
    const labels = await waitUntil('Approve step 2 under the incident message', () => {
      const now = buttonLabels(env, incidentId);
      return now[RESTORE_APPROVE_STEP_ACTION] ? now : undefined;
    });
    expect(labels).toMatchObject({ [RESTORE_APPROVE_STEP_ACTION]: 'Approve step 2', [RESTORE_STOP_ACTION]: 'Stop' });

    // A click on a button drawn for the first plan (a stale message) is refused.
    const stale = await env.bot!.engine.restore!.approveStep(incidentId, carol.id, { incidentId, planId: first.planId, n: 2 });
    expect(stale).toEqual({ ok: false, message: 'That button is for step 2 of an earlier view of the plan; the restore is now at step 2 of 2. Nothing changed.' });
    expect(await clickControl(env, incidentId, RESTORE_APPROVE_STEP_ACTION, mallory.id)).toContain('Only approvers');
    expect((await env.bot!.store.require(incidentId)).restore).toMatchObject({ status: 'awaiting-step', round: waiting.round });
    // carol (an approver through the group) approves the re-planned step: the step records her approval.
    expect(await clickControl(env, incidentId, RESTORE_APPROVE_STEP_ACTION, carol.id)).toBe('Approved: step 2 runs now.');

    const done = await waitForIncident(env, incidentId, 'completed');
    expect(done.restore?.planId).toBe(waiting.planId);
    expect(done.restore?.done.map((d) => [d.n, d.outcome, d.approvedBy])).toEqual([
      [1, 'deleted', [bob.id]],
      [2, 'updated', [carol.id]],
    ]);
    const steps = (await eventsOf(env, incidentId, 'restore.step')).map((e) => e.data as { planId: string; n: number; applied: string });
    expect(steps.map((s) => [s.planId, s.n, s.applied])).toEqual([
      [first.planId, 1, 'deleted'],
      [waiting.planId, 2, 'updated'],
    ]);
    expect(done.containment?.status).toBe('lifted');
    expect(liveViews(env, 'db')).toEqual(gitViews('db'));
  }, 90_000);
});

describe('a field-manager conflict', () => {
  let env: EmbeddedEnvironment;
  beforeAll(async () => {
    env = await startTestEnvironment({ git: true, playbookPath: restorePlaybook() });
  });
  afterAll(() => env?.stop());

  it("stops on carol's kubectl-patch field, refuses a non-approver's Force, and an approver's Force takes it", async () => {
    await createAllowAllEgress(env);
    await widenDbIngress(env);
    const { incidentId, message } = await containAndPropose(env, 'field-manager conflict');
    await click(env, message, bob.id);

    const conflict = await waitForRun(env, incidentId, 'field-conflict');
    expect(conflict).toMatchObject({ next: 2, total: 2, done: [{ n: 1, outcome: 'deleted' }] });
    expect(conflict.failure).toEqual({
      n: 2,
      reason: 'field-conflict',
      message: 'step 2 (update NetworkPolicy db/allow-db-from-api): fields are owned by other managers: kubectl-patch (.spec.ingress). Nothing was written; forcing takes them (a separate approved choice).',
    });
    const [failed] = await eventsOf(env, incidentId, 'restore.step-failed');
    expect(failed?.data).toMatchObject({ n: 2, key: 'NetworkPolicy db/allow-db-from-api', reason: 'field-conflict', owners: 'kubectl-patch (.spec.ingress)' });
    await waitUntil('the owner in the thread', () => threadText(env, incidentId).includes('Field owners: kubectl-patch (.spec.ingress)'));
    await waitUntil('Force under the incident message', () => buttonsOf(env, incidentId).includes(RESTORE_FORCE_ACTION));
    expect(buttonsOf(env, incidentId)).toEqual(expect.arrayContaining([RESTORE_FORCE_ACTION, RESTORE_STOP_ACTION]));
    const widened = ownerView(env, 'db', 'allow-db-from-api');
    const version = resourceVersionOf(env, 'db', 'allow-db-from-api');

    expect(await clickControl(env, incidentId, RESTORE_FORCE_ACTION, mallory.id)).toContain('Only approvers');
    const refused = await env.bot!.store.require(incidentId);
    expect(refused.restore).toMatchObject({ status: 'field-conflict', round: conflict.round, stepApprovals: [] });
    expect(refused.restore?.forced).toBeUndefined();
    expect(resourceVersionOf(env, 'db', 'allow-db-from-api')).toBe(version);
    expect(ownerView(env, 'db', 'allow-db-from-api')).toEqual(widened);

    expect(await clickControl(env, incidentId, RESTORE_FORCE_ACTION, bob.id)).toBe('Approved: step 2 runs now.');
    const done = await waitForIncident(env, incidentId, 'completed');
    expect(done.restore?.done.map((d) => [d.n, d.outcome])).toEqual([
      [1, 'deleted'],
      [2, 'updated'],
    ]);
    const approved = (await eventsOf(env, incidentId, 'restore.step-approved')).map((e) => e.data);
    expect(approved).toEqual([{ n: 2, user: bob.id, forcing: true }]);
    // The bot's apply took .spec.ingress from kubectl-patch: one forced apply, no other write of the bot's but the containment's.
    const applies = writesTo(env, 'db', 'allow-db-from-api').filter((w) => w.user === BOT && w.verb === 'patch');
    expect(applies.map((w) => w.code)).toEqual([200]);
    const managers = (env.kube.get('NetworkPolicy', 'db', 'allow-db-from-api')?.metadata?.managedFields ?? []) as Array<{ manager: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }>;
    expect(managers.find((m) => m.manager === 'kubectl-patch')?.fieldsV1?.['f:spec']?.['f:ingress']).toBeUndefined();
    expect(done.containment?.status).toBe('lifted');
    expect(liveViews(env, 'db')).toEqual(gitViews('db'));
  }, 90_000);
});
