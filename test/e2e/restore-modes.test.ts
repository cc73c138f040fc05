// Step 4's run under people's control, end to end: step mode, where every step is approved on its
// own and the live state between steps is checked by the policy engine (never more open than both
// the state before the restore and the known-good one); Stop and Resume, in step mode and at a
// field-manager conflict in plan mode; refusals (a non-approver, a button from an earlier plan)
// that change nothing.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { kubectlCreateNetworkPolicy, kubectlPatchNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import { RESTORE_APPROVE_STEP_ACTION, RESTORE_FORCE_ACTION, RESTORE_RESUME_ACTION, RESTORE_SOURCE_ACTION, RESTORE_STOP_ACTION } from '../../src/slack/restore-blocks.js';
import type { RestoreProposal } from '../../src/restore/run-model.js';
import { click, DEMO_CHANNEL, DEMO_USERS, incidentMessageFor, startTestEnvironment } from '../helpers/environment.js';
import {
  CAROL,
  clickRestore,
  connectionsOf,
  gitPolicies,
  gitPolicy,
  journalHolds,
  kubectlDeleteNetworkPolicy,
  livePolicy,
  liveWithoutContainment,
  normalised,
  openBeyond,
  restorePlaybook,
  restoreSection,
  timeline,
  typeRestore,
  untilRestoreProposed,
  until,
  waitForEnd,
  waitForRun,
  withNamespacePolicies,
} from '../helpers/restore.js';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

const APPROVER = DEMO_USERS.approver.id;
const OUTSIDER = DEMO_USERS.outsider.id;
const policiesOf = (e: EmbeddedEnvironment): string => JSON.stringify(e.kube.list('NetworkPolicy').map(normalised));
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An old rule carol left behind: db's only ingress isolation once she deleted the Git-tracked ones. */
const LEGACY_INGRESS = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'legacy-ingress', namespace: 'db' },
  spec: {
    podSelector: { matchLabels: { tier: 'db' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'frontend' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
  },
};

async function expectCompleted(e: EmbeddedEnvironment, incidentId: string, steps: number): Promise<void> {
  const incident = await waitForEnd(e, incidentId);
  expect(incident.status).toBe('completed');
  expect(incident.restore).toMatchObject({ status: 'done', total: steps, next: steps + 1 });
  expect(incident.containment?.status).toBe('lifted');
  for (const policy of gitPolicies(e, 'db')) {
    const { name } = (policy as { metadata: { name: string } }).metadata;
    expect(livePolicy(e, 'db', name), name).toEqual(normalised(policy));
  }
  expect(e.kube.list('NetworkPolicy', 'db')).toHaveLength(gitPolicies(e, 'db').length);
}

/** A proposal in step mode whose source can be changed: carol deleted default-deny-all and opened db's egress. */
async function twoStepIncident(e: EmbeddedEnvironment): ReturnType<typeof untilRestoreProposed> {
  await journalHolds(e, 'db', ['default-deny-all']);
  await kubectlDeleteNetworkPolicy(e, CAROL, 'db', 'default-deny-all');
  await kubectlCreateNetworkPolicy(e.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
  return untilRestoreProposed(e);
}

describe('restore modes and controls, end to end', () => {
  it('step mode: each step approved on its own; between steps the live state is never more open than both ends', async () => {
    env = await startTestEnvironment({ git: true, playbookPath: restorePlaybook('step') });
    await journalHolds(env, 'db', ['default-deny-all', 'allow-db-from-api']);
    await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(LEGACY_INGRESS) as never);
    await kubectlDeleteNetworkPolicy(env, CAROL, 'db', 'allow-db-from-api');
    await kubectlDeleteNetworkPolicy(env, CAROL, 'db', 'default-deny-all');
    await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    const uncontained = connectionsOf(liveWithoutContainment(env));
    const { incidentId, message, proposal } = await untilRestoreProposed(env);
    expect(proposal.mode).toBe('step');
    expect(proposal.safe).toBe(true);

    await click(env, message, APPROVER);
    const waiting = await waitForRun(env, incidentId, ['awaiting-step']);
    const total = waiting.restore!.total;
    expect(total).toBe(4);
    expect(waiting.restore?.next).toBe(1);
    // The state before the restore, the bot's containment taken out, is the one before containment.
    const beforeState = liveWithoutContainment(env);
    const before = connectionsOf(beforeState);
    expect(openBeyond(before, [uncontained])).toEqual([]);
    expect(openBeyond(uncontained, [before])).toEqual([]);
    const good = connectionsOf(withNamespacePolicies(beforeState, 'db', gitPolicies(env, 'db')));
    // The check has teeth: removing carol's legacy rule first would open db's ingress to everyone.
    const dbNow = (beforeState.networkPolicies ?? []).filter((p) => (p as { metadata: { namespace: string } }).metadata.namespace === 'db') as Array<Record<string, unknown>>;
    const naive = withNamespacePolicies(beforeState, 'db', dbNow.filter((p) => (p.metadata as { name: string }).name !== 'legacy-ingress'));
    expect(openBeyond(connectionsOf(naive), [before, good]).some((l) => l.endsWith('=> db/postgres[StatefulSet] : All Connections'))).toBe(true);

    // A non-approver's click is refused and changes nothing.
    const policies = policiesOf(env);
    expect(await clickRestore(env, incidentId, RESTORE_APPROVE_STEP_ACTION, OUTSIDER)).toContain('Only approvers');
    expect((await env.bot!.store.require(incidentId)).restore).toMatchObject({ status: 'awaiting-step', next: 1, round: waiting.restore!.round, stepApprovals: [] });
    expect(policiesOf(env)).toBe(policies);

    for (let n = 1; n <= total; n++) {
      const { round } = (await env.bot!.store.require(incidentId)).restore!;
      expect(await clickRestore(env, incidentId, RESTORE_APPROVE_STEP_ACTION)).toContain(`step ${n} runs now`);
      if (n < total) {
        const next = await waitForRun(env, incidentId, ['awaiting-step', 'verify-failed', 'field-conflict', 'blocked', 'stopped'], round);
        expect(next.restore).toMatchObject({ status: 'awaiting-step', next: n + 1 });
      } else {
        await waitForEnd(env, incidentId);
      }
      expect(openBeyond(connectionsOf(liveWithoutContainment(env)), [before, good]), `after step ${n}`).toEqual([]);
    }
    await expectCompleted(env, incidentId, total);
    // The end is the known-good state, and the bot's objects are gone.
    const end = connectionsOf(liveWithoutContainment(env));
    expect(openBeyond(end, [good])).toEqual([]);
    expect(openBeyond(good, [end])).toEqual([]);
    expect(env.kube.get('NetworkPolicy', 'db', 'legacy-ingress')).toBeUndefined();
    const steps = (await timeline(env, incidentId, 'restore.step')).map((e) => e.data as { n: number; approvedBy: string[]; verification: { object: { ok: boolean }; engine: { ok: boolean } } });
    expect(steps.map((s) => s.n)).toEqual([1, 2, 3, 4]);
    for (const s of steps) expect(s).toMatchObject({ approvedBy: [APPROVER], verification: { object: { ok: true }, engine: { ok: true } } });
    const section = await restoreSection(env, incidentId);
    for (const n of [1, 2, 3, 4]) expect(section).toMatch(new RegExp(`### Step ${n}: (create|delete) \`NetworkPolicy db/`));
    expect(section).toContain('`NetworkPolicy db/legacy-ingress`');
  }, 120_000);

  it('step mode: Stop holds the next step, a stale or unauthorised click changes nothing, Resume finishes', async () => {
    env = await startTestEnvironment({ git: true, playbookPath: restorePlaybook('step') });
    const first = await twoStepIncident(env);
    const oldPlan = first.proposal.planId!;
    // A typed revision (`/netpol restore <id> <rev>`) is checked like a click: approvers only, a
    // real incident, a revision that is one; each refusal leaves the proposal as it was.
    const proposalNow = async () => (await env!.bot!.store.require(first.incidentId)).steps.restore?.evidence as unknown as RestoreProposal;
    expect(await typeRestore(env, `${first.incidentId} main`, OUTSIDER)).toContain('Only approvers');
    expect(await typeRestore(env, `${first.incidentId} $(reboot)`)).toContain('A revision is a commit SHA or a tag');
    expect(await typeRestore(env, '20260101-nosuch main')).toContain('No incident with id `20260101-nosuch`');
    expect((await proposalNow()).planId).toBe(oldPlan);
    // An approver's typed revision re-plans from it.
    expect(await typeRestore(env, `${first.incidentId} main`)).toBe('Re-planning from revision `main`: the plan follows in the thread.');
    const typed = await until('the plan from the typed revision', async () => {
      const step = (await env!.bot!.store.require(first.incidentId)).steps.restore;
      const evidence = step?.evidence as RestoreProposal | undefined;
      return step?.status === 'awaiting-approval' && evidence?.planId && evidence.planId !== oldPlan ? evidence : undefined;
    });
    expect((await env.bot!.store.require(first.incidentId)).restoreChoice).toEqual({ typed: 'main' });
    // Another source re-plans: the first plan's buttons are from an earlier view from now on.
    const headIndex = first.proposal.options.findIndex((o) => o.kind === 'git-head');
    await env.driver!.clickButton({ userId: APPROVER, channelId: DEMO_CHANNEL, messageTs: first.message.ts, actionId: `${RESTORE_SOURCE_ACTION}.${headIndex}` });
    const replanned = await until('the re-planned proposal', async () => {
      const step = (await env!.bot!.store.require(first.incidentId)).steps.restore;
      const evidence = step?.evidence as RestoreProposal | undefined;
      return step?.status === 'awaiting-approval' && evidence?.planId && evidence.planId !== typed.planId ? evidence : undefined;
    });
    expect(replanned.chosen).toBe(headIndex);
    const { incidentId } = first;
    const message = await until('the new plan in Slack', () => {
      const m = incidentMessageFor(env!, incidentId);
      return m && JSON.stringify(m.blocks).includes(replanned.planId!) ? m : undefined;
    });
    await click(env, message, APPROVER);
    await waitForRun(env, incidentId, ['awaiting-step']);
    const { round } = (await env.bot!.store.require(incidentId)).restore!;
    await clickRestore(env, incidentId, RESTORE_APPROVE_STEP_ACTION);
    const atTwo = await waitForRun(env, incidentId, ['awaiting-step'], round);
    expect(atTwo.restore).toMatchObject({ next: 2, total: 2 });
    expect(env.kube.get('NetworkPolicy', 'db', 'allow-all-egress')).toBeUndefined();
    expect(env.kube.get('NetworkPolicy', 'db', 'default-deny-all')).toBeUndefined();

    const unchanged = async () => {
      const run = (await env!.bot!.store.require(incidentId)).restore!;
      return { status: run.status, next: run.next, round: run.round, done: run.done.length };
    };
    const held = await unchanged();
    expect(await clickRestore(env, incidentId, RESTORE_STOP_ACTION, OUTSIDER)).toContain('Only approvers');
    expect(await clickRestore(env, incidentId, RESTORE_STOP_ACTION, APPROVER, `${incidentId}:${oldPlan}:2`)).toContain('earlier view of the plan');
    expect(await clickRestore(env, incidentId, RESTORE_APPROVE_STEP_ACTION, APPROVER, `${incidentId}:${oldPlan}:2`)).toContain('earlier view of the plan');
    // Hostile and malformed values through the real Slack app: refused before any decision.
    for (const value of [`${incidentId}:../x:2`, `${incidentId}:${oldPlan}:0`, `${incidentId}:${oldPlan}:2:extra`, 'x'.repeat(5000), '']) {
      expect(await clickRestore(env, incidentId, RESTORE_STOP_ACTION, APPROVER, value)).toContain('malformed value');
    }
    // A request not signed with the app's secret never reaches a decision.
    const stopButton = incidentMessageFor(env, incidentId)!;
    const forged = await env.driver!.clickButton({ userId: APPROVER, channelId: DEMO_CHANNEL, messageTs: stopButton.ts, actionId: RESTORE_STOP_ACTION, forge: { signingSecret: 'not-the-app-secret' } });
    expect(forged.status).toBe(401);
    expect(await unchanged()).toEqual(held);

    expect(await clickRestore(env, incidentId, RESTORE_STOP_ACTION)).toContain('Stopped');
    expect((await env.bot!.store.require(incidentId)).restore).toMatchObject({ status: 'stopped', stoppedBy: APPROVER, next: 2 });
    await pause(1500);
    expect(env.kube.get('NetworkPolicy', 'db', 'default-deny-all')).toBeUndefined();
    expect((await unchanged()).status).toBe('stopped');

    expect(await clickRestore(env, incidentId, RESTORE_RESUME_ACTION)).toContain('Resumed');
    // Step mode: resuming brings back the step's own approval.
    expect((await env.bot!.store.require(incidentId)).restore).toMatchObject({ status: 'awaiting-step', next: 2 });
    await clickRestore(env, incidentId, RESTORE_APPROVE_STEP_ACTION);
    await expectCompleted(env, incidentId, 2);
    expect(livePolicy(env, 'db', 'default-deny-all')).toEqual(normalised(gitPolicy(env, 'db', 'default-deny-all')));
    const decisions = [...(await timeline(env, incidentId, 'restore.stopped')), ...(await timeline(env, incidentId, 'restore.resumed'))].map((e) => [e.type, e.data]);
    expect(decisions).toEqual([
      ['restore.stopped', { n: 2, user: APPROVER }],
      ['restore.resumed', { n: 2, user: APPROVER }],
    ]);
    const section = await restoreSection(env, incidentId);
    expect(section).toContain('### Stop and Resume');
    expect(section).toMatch(/Stopped at step 2 by/);
    expect(section).toMatch(/### Step 2: create `NetworkPolicy db\/default-deny-all`: applied \(created\)/);
  }, 120_000);

  it('plan mode: Stop at a field-manager conflict; Resume tries the step again, Force finishes', async () => {
    env = await startTestEnvironment({ git: true, playbookPath: restorePlaybook('plan') });
    const widened = [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 5432 }] }];
    await kubectlPatchNetworkPolicy(env.kube, CAROL, { namespace: 'db', name: 'allow-db-from-api' }, { spec: { ingress: widened } });
    await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, message } = await untilRestoreProposed(env);
    await click(env, message, APPROVER);
    const conflict = await waitForRun(env, incidentId, ['field-conflict', 'watching']);
    expect(conflict.restore?.status).toBe('field-conflict');
    const n = conflict.restore!.next;

    expect(await clickRestore(env, incidentId, RESTORE_STOP_ACTION)).toContain('Stopped');
    await pause(1500);
    expect((await env.bot!.store.require(incidentId)).restore).toMatchObject({ status: 'stopped', next: n });
    expect((livePolicy(env, 'db', 'allow-db-from-api')?.spec as { ingress: unknown }).ingress).toEqual(widened);

    expect(await clickRestore(env, incidentId, RESTORE_RESUME_ACTION)).toContain('Resumed');
    // Resuming does not force: the step meets carol's field again and waits for the decision.
    const again = await waitForRun(env, incidentId, ['field-conflict', 'watching'], conflict.restore!.round);
    expect(again.restore).toMatchObject({ status: 'field-conflict', next: n });
    await clickRestore(env, incidentId, RESTORE_FORCE_ACTION);
    await expectCompleted(env, incidentId, 2);
    const section = await restoreSection(env, incidentId);
    expect(section).toMatch(new RegExp(`Stopped at step ${n} by`));
    expect(section).toMatch(new RegExp(`### Step ${n}: update \`NetworkPolicy db/allow-db-from-api\`: applied \\(updated\\)`));
  }, 120_000);
});
