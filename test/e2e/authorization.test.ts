// Every state-changing control of an incident, end to end through signed Slack requests: a click
// by someone who is not an approver is refused, and so is an approver's click whose value or
// action id was changed to point at another incident, another step, or a step already decided.
// Each refusal is answered ephemerally and leaves the incidents, their timelines, the cluster's
// policies and the Git host's pull requests exactly as they were.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { kubectlCreateNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks.js';
import { KEEP_ACTION, LIFT_ACTION, LIFT_NOW_ACTION, STRONGER_ACTION } from '../../src/slack/contain-blocks.js';
import {
  RESTORE_APPROVE_STEP_ACTION,
  RESTORE_CONTINUE_ACTION,
  RESTORE_FORCE_ACTION,
  RESTORE_RECONTAIN_ACTION,
  RESTORE_RESUME_ACTION,
  RESTORE_ROLLBACK_ACTION,
  RESTORE_SOURCE_ACTION,
  RESTORE_STOP_ACTION,
} from '../../src/slack/restore-blocks.js';
import { clickRaw, expectUnchanged, serverState } from '../helpers/authorization.js';
import { click, DEMO_USERS, incidentMessageFor, openIncident, startTestEnvironment } from '../helpers/environment.js';
import { CAROL, journalHolds, kubectlDeleteNetworkPolicy, restorePlaybook, until, untilRestoreProposed, waitForRun } from '../helpers/restore.js';

const { approver: bob, outsider: mallory } = DEMO_USERS;
const ONLY_APPROVERS = /^Only approvers \(.*\) can .*Nothing changed\.$/;
const ELSEWHERE = /does not belong to incident `[a-z0-9-]+`.*Nothing changed\./;
const approval = (incidentId: string, stepId: string) => JSON.stringify({ incidentId, stepId });
const stronger = (incidentId: string) => JSON.stringify({ incidentId, strategy: 'default-deny' });
const RESTORE_CONTROLS = [RESTORE_APPROVE_STEP_ACTION, RESTORE_STOP_ACTION, RESTORE_RESUME_ACTION, RESTORE_ROLLBACK_ACTION, RESTORE_CONTINUE_ACTION, RESTORE_FORCE_ACTION];

let env: EmbeddedEnvironment;
/** Incident 1 (db): contained, its restore proposed in step mode. Incident 2 (frontend): waiting for its contain approval. */
let one: { incidentId: string; message: SimMessage; planId: string; source: number };
let two: { incidentId: string; message: SimMessage };
let ids: string[];

beforeAll(async () => {
  env = await startTestEnvironment({ git: true, playbookPath: restorePlaybook('step') });
  // carol deleted db's default-deny and opened its egress: the restore has two steps.
  await journalHolds(env, 'db', ['default-deny-all']);
  await kubectlDeleteNetworkPolicy(env, CAROL, 'db', 'default-deny-all');
  await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
  const proposed = await untilRestoreProposed(env);
  // A source offered with a button (not the one planned).
  const source = proposed.proposal.options.findIndex((o, i) => o.available && !o.needsInput && i !== proposed.proposal.chosen);
  if (source < 0) throw new Error('no other source is offered');
  one = { incidentId: proposed.incidentId, message: proposed.message, planId: proposed.proposal.planId!, source };
  const opened = await openIncident(env, 'incident frontend -- a second incident, still waiting');
  // A copy of the message as first drawn, with its Approve and Reject.
  two = { incidentId: opened.incidentId, message: structuredClone(opened.message) };
  ids = [one.incidentId, two.incidentId];
}, 120_000);
afterAll(() => env?.stop());

/** The incident message once it holds a button with that action id and value (Slack is redrawn after the record). */
function messageWith(incidentId: string, actionId: string, value?: string): Promise<SimMessage> {
  return until(`a ${actionId} button on incident ${incidentId}`, () => {
    const m = incidentMessageFor(env, incidentId);
    const text = JSON.stringify(m?.blocks ?? []);
    return m && text.includes(`"action_id":"${actionId}`) && (value === undefined || text.includes(JSON.stringify(value))) ? m : undefined;
  }, 15_000);
}

describe('incident controls refuse non-approvers and tampered clicks, changing nothing', () => {
  it('before the restore runs: approve, reject, lift, source, and every restore and containment control', async () => {
    const before = await serverState(env, ids);
    const m1 = one.message.ts;
    const m2 = two.message.ts;
    const current = `${one.incidentId}:${one.planId}:1`;

    // mallory, not an approver, on the controls as drawn and on every other control's action id.
    for (const [button, actionId, value] of [
      [APPROVE_ACTION, undefined, undefined],
      [REJECT_ACTION, undefined, undefined],
      [LIFT_ACTION, undefined, undefined],
      [`${RESTORE_SOURCE_ACTION}.${one.source}`, undefined, undefined],
      ...RESTORE_CONTROLS.map((a) => [APPROVE_ACTION, a, current] as const),
      [APPROVE_ACTION, RESTORE_RECONTAIN_ACTION, one.incidentId],
      [APPROVE_ACTION, KEEP_ACTION, one.incidentId],
      [APPROVE_ACTION, LIFT_NOW_ACTION, one.incidentId],
      [APPROVE_ACTION, `${STRONGER_ACTION}.default-deny`, stronger(one.incidentId)],
    ] as const) {
      const answer = await clickRaw(env, { userId: mallory.id, messageTs: m1, button, ...(actionId ? { actionId } : {}), ...(value ? { value } : {}) });
      expect(answer, `${actionId ?? button} by a non-approver`).toMatch(ONLY_APPROVERS);
    }
    for (const button of [APPROVE_ACTION, REJECT_ACTION]) expect(await clickRaw(env, { userId: mallory.id, messageTs: m2, button })).toMatch(ONLY_APPROVERS);
    await expectUnchanged(env, ids, before);

    // bob, an approver, with values naming the other incident: refused whichever incident the click came from.
    const onOne = (button: string, value: string, actionId?: string) => clickRaw(env, { userId: bob.id, messageTs: m1, button, value, ...(actionId ? { actionId } : {}) });
    expect(await onOne(APPROVE_ACTION, approval(two.incidentId, 'contain'))).toMatch(ELSEWHERE);
    expect(await onOne(REJECT_ACTION, approval(two.incidentId, 'contain'))).toMatch(ELSEWHERE);
    expect(await onOne(LIFT_ACTION, two.incidentId)).toMatch(ELSEWHERE);
    expect(await onOne(`${RESTORE_SOURCE_ACTION}.${one.source}`, `${two.incidentId}:${one.source}`)).toMatch(ELSEWHERE);
    for (const actionId of RESTORE_CONTROLS) expect(await onOne(APPROVE_ACTION, `${two.incidentId}:${one.planId}:1`, actionId), actionId).toMatch(ELSEWHERE);
    for (const actionId of [RESTORE_RECONTAIN_ACTION, KEEP_ACTION, LIFT_NOW_ACTION]) expect(await onOne(APPROVE_ACTION, two.incidentId, actionId), actionId).toMatch(ELSEWHERE);
    expect(await onOne(APPROVE_ACTION, stronger(two.incidentId), `${STRONGER_ACTION}.default-deny`)).toMatch(ELSEWHERE);
    expect(await clickRaw(env, { userId: bob.id, messageTs: m2, button: APPROVE_ACTION, value: approval(one.incidentId, 'restore') })).toMatch(ELSEWHERE);
    expect(await clickRaw(env, { userId: bob.id, messageTs: m2, button: REJECT_ACTION, value: approval(one.incidentId, 'restore') })).toMatch(ELSEWHERE);
    await expectUnchanged(env, ids, before);

    // bob on incident 1's own message, but for a step already decided, a later one, or a control that does not apply now.
    expect(await onOne(APPROVE_ACTION, approval(one.incidentId, 'contain'))).toMatch(/not the current step/);
    expect(await onOne(REJECT_ACTION, approval(one.incidentId, 'trace'))).toMatch(/not the current step/);
    for (const actionId of RESTORE_CONTROLS) {
      const answer = await onOne(APPROVE_ACTION, current, actionId);
      expect(answer, actionId).toMatch(/Nothing changed|no restore|not started|Nothing to roll back/i);
    }
    expect(await onOne(APPROVE_ACTION, one.incidentId, LIFT_NOW_ACTION)).toMatch(/only for an automatic containment.*Nothing changed/);
    expect(await onOne(APPROVE_ACTION, one.incidentId, KEEP_ACTION)).toMatch(/no time box.*Nothing changed/);
    expect(await onOne(APPROVE_ACTION, stronger(one.incidentId), `${STRONGER_ACTION}.default-deny`)).toMatch(/Nothing changed/);
    expect(await onOne(APPROVE_ACTION, one.incidentId, RESTORE_RECONTAIN_ACTION)).toMatch(/watch window.*Nothing changed/);
    await expectUnchanged(env, ids, before);
  }, 120_000);

  it('while the restore waits on step 1, then step 2: stale, future, foreign and unauthorised step controls', async () => {
    await click(env, one.message, bob.id);
    let waiting = await waitForRun(env, one.incidentId, ['awaiting-step']);
    expect(waiting.restore).toMatchObject({ next: 1, total: 2 });
    const plan = waiting.restore!.planId;
    const step = (n: number, incidentId = one.incidentId) => `${incidentId}:${plan}:${n}`;
    let m1 = await messageWith(one.incidentId, RESTORE_APPROVE_STEP_ACTION, step(1));
    let before = await serverState(env, ids);

    for (const actionId of RESTORE_CONTROLS) {
      expect(await clickRaw(env, { userId: mallory.id, messageTs: m1.ts, button: RESTORE_APPROVE_STEP_ACTION, actionId }), actionId).toMatch(ONLY_APPROVERS);
    }
    expect(await clickRaw(env, { userId: mallory.id, messageTs: m1.ts, button: LIFT_ACTION })).toMatch(ONLY_APPROVERS);
    const onOne = (value: string, actionId = RESTORE_APPROVE_STEP_ACTION) => clickRaw(env, { userId: bob.id, messageTs: m1.ts, button: RESTORE_APPROVE_STEP_ACTION, actionId, value });
    // Approve step 2 while the run waits on step 1; Stop for step 2; a plan that is not this run's.
    expect(await onOne(step(2))).toMatch(/earlier view of the plan.*Nothing changed/);
    expect(await onOne(step(2), RESTORE_STOP_ACTION)).toMatch(/earlier view of the plan.*Nothing changed/);
    expect(await onOne(`${one.incidentId}:${one.planId === plan ? 'p0000000' : one.planId}:1`)).toMatch(/earlier view of the plan.*Nothing changed/);
    expect(await onOne(step(1, two.incidentId))).toMatch(ELSEWHERE);
    // Controls for states the run is not in.
    for (const actionId of [RESTORE_RESUME_ACTION, RESTORE_ROLLBACK_ACTION, RESTORE_CONTINUE_ACTION]) expect(await onOne(step(1), actionId), actionId).toMatch(/Nothing changed/);
    await expectUnchanged(env, ids, before);

    expect(await clickRaw(env, { userId: bob.id, messageTs: m1.ts, button: RESTORE_APPROVE_STEP_ACTION })).toBe('Approved: step 1 runs now.');
    waiting = await waitForRun(env, one.incidentId, ['awaiting-step'], waiting.restore!.round);
    expect(waiting.restore).toMatchObject({ next: 2 });
    m1 = await messageWith(one.incidentId, RESTORE_APPROVE_STEP_ACTION, step(2));
    before = await serverState(env, ids);
    // Step 1 again, after it ran: stale.
    expect(await onOne(step(1))).toMatch(/earlier view of the plan.*Nothing changed/);
    expect(await onOne(step(1), RESTORE_FORCE_ACTION)).toMatch(/earlier view of the plan.*Nothing changed/);
    expect(await clickRaw(env, { userId: mallory.id, messageTs: m1.ts, button: RESTORE_APPROVE_STEP_ACTION })).toMatch(ONLY_APPROVERS);
    await expectUnchanged(env, ids, before);
  }, 120_000);

  it('an incident already decided: its Approve, from the message as first drawn, is refused and changes nothing', async () => {
    await env.driver!.clickButton({ userId: bob.id, channelId: two.message.channel, messageTs: two.message.ts, actionId: REJECT_ACTION });
    await until('incident 2 rejected', async () => ((await env.bot!.store.get(two.incidentId))?.status === 'rejected' ? true : undefined));
    const before = await serverState(env, ids);
    for (const button of [APPROVE_ACTION, REJECT_ACTION]) {
      const answer = await clickRaw(env, { userId: DEMO_USERS.secondApprover.id, messageTs: two.message.ts, message: two.message, button });
      expect(answer, button).toMatch(/Nothing changed|already|rejected|closed/i);
      expect(answer).not.toMatch(/^Approved/);
    }
    await expectUnchanged(env, ids, before);
  }, 60_000);
});
