import { describe, expect, it } from 'vitest';
import type { Incident } from '../../src/incident/model.js';
import {
  approveRestoreStep,
  beginRestore,
  continueAnyway,
  describeStatus,
  endRestore,
  finishStep,
  noteRefire,
  reopenContainment,
  replanRestore,
  resumeRestore,
  setRunStatus,
  startRollback,
  stopRestore,
} from '../../src/incident/restore-transitions.js';
import { TransitionRefused } from '../../src/incident/transitions.js';
import type { RestoreButton, RestoreRun, RestoreRunStatus } from '../../src/restore/run-model.js';
import type { TimelineEvent } from '../../src/timeline/types.js';
import { deepFreeze } from '../helpers/deep-freeze.js';

const ID = '20261201-abc123';
const t0 = new Date('2026-12-01T10:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);
const PLAN = 'p1a2b3c4d5e6';


function run(over: Partial<RestoreRun> = {}): RestoreRun {
  return { planId: PLAN, source: 'Git shop@1a2b3c4d', mode: 'step', total: 3, next: 1, status: 'awaiting-step', stepApprovals: [], planApprovedBy: ['UAPP'], done: [], round: 0, ...over };
}

/** An open incident at its restore step (contain and trace done, containment in force). */
function incident(restore: RestoreRun | null, over: Partial<Incident> = {}): Incident {
  const done = { status: 'done' as const, approvals: [{ user: 'UAPP', at: later(1).toISOString() }], attempts: 1, reminders: 0 };
  return deepFreeze({
    id: ID,
    version: 7,
    createdAt: t0.toISOString(),
    updatedAt: later(5).toISOString(),
    scope: { namespace: 'db' },
    scopeKey: 'db',
    anomalyIds: ['egress:db/postgres-0@2026-12-01T09:59:00Z'],
    requestedBy: 'UREQ',
    channel: 'CINC',
    status: 'open',
    currentStep: 'restore',
    stepOrder: ['contain', 'trace', 'restore'],
    steps: { contain: done, trace: { ...done, approvals: [] }, restore: { status: 'running', approvals: [{ user: 'UAPP', at: later(4).toISOString() }], attempts: 1, reminders: 0 } },
    containment: { status: 'active', strategy: 'networkpolicy-exclusive', appliedAt: later(2).toISOString(), liftApprovals: [] },
    ...(restore ? { restore } : {}),
    ...over,
  } satisfies Incident);
}

const button = (r: RestoreRun, over: Partial<RestoreButton> = {}): RestoreButton => ({ incidentId: ID, planId: r.planId, n: r.next, ...over });
const expectOf = (r: RestoreRun) => ({ planId: r.planId, n: r.next, round: r.round });
const note = (type: TimelineEvent['type'] = 'restore.step'): TimelineEvent => ({ at: later(9).toISOString(), type, actor: 'bot', summary: 'x' });

/** The refusal's code and message; fails the test when nothing (or something else) is thrown. */
function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof TransitionRefused) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected TransitionRefused');
}

describe('beginRestore', () => {
  it('step mode waits for step 1; plan mode runs at once; an empty plan goes straight to the lift', () => {
    const init = { planId: PLAN, source: 'Git shop@1a2b3c4d', total: 3, approvedBy: ['UAPP'] };
    const step = beginRestore(incident(null), { ...init, mode: 'step' }, later(10));
    expect(step.events).toEqual([]);
    expect(step.incident.updatedAt).toBe(later(10).toISOString());
    expect(step.incident.restore).toEqual({ planId: PLAN, source: 'Git shop@1a2b3c4d', mode: 'step', total: 3, next: 1, status: 'awaiting-step', stepApprovals: [], planApprovedBy: ['UAPP'], done: [], round: 0 });
    expect(beginRestore(incident(null), { ...init, mode: 'plan' }, later(10)).incident.restore?.status).toBe('running');
    for (const mode of ['plan', 'step'] as const) {
      const empty = beginRestore(incident(null), { ...init, mode, total: 0 }, later(10)).incident.restore;
      expect(empty).toMatchObject({ status: 'running', next: 1, total: 0 });
      expect(describeStatus(empty as RestoreRun)).toBe('running (at the lift)');
    }
  });

  it('is idempotent: a run already on the record (a worker that died and came back) is kept as it was', () => {
    const before = incident(run({ next: 2, round: 3, status: 'running' }));
    const out = beginRestore(before, { planId: 'other', source: 's', mode: 'plan', total: 9, approvedBy: [] }, later(10));
    expect(out.incident).toBe(before);
    expect(out.events).toEqual([]);
  });
});

describe('setRunStatus and finishStep (the runner)', () => {
  it('setRunStatus moves the run on with the extra fields and the events given', () => {
    const r = run({ status: 'running', round: 2 });
    const out = setRunStatus(incident(r), expectOf(r), 'traffic-wait', later(10), [note()], { trafficUntil: later(40).toISOString() });
    expect(out?.incident.restore).toEqual({ ...r, status: 'traffic-wait', trafficUntil: later(40).toISOString() });
    expect(out?.events).toEqual([note()]);
    expect(out?.incident.updatedAt).toBe(later(10).toISOString());
  });

  it('a stale expectation (another plan, step or round), a closed incident or no run: null, nothing changed', () => {
    const r = run({ status: 'running', next: 2, round: 4 });
    const i = incident(r);
    const stale = [{ ...expectOf(r), planId: 'p000000000000' }, { ...expectOf(r), n: 1 }, { ...expectOf(r), n: 3 }, { ...expectOf(r), round: 3 }, { ...expectOf(r), round: 5 }];
    for (const expect_ of stale) {
      expect(setRunStatus(i, expect_, 'blocked', later(10))).toBeNull();
      expect(finishStep(i, expect_, 'updated', later(10), [note()])).toBeNull();
      expect(replanRestore(i, expect_, { planId: 'pnew', total: 5 }, later(10), [])).toBeNull();
    }
    for (const closed of [incident(r, { status: 'completed' }), incident(r, { status: 'failed' }), incident(null)]) {
      expect(setRunStatus(closed, expectOf(r), 'blocked', later(10))).toBeNull();
      expect(finishStep(closed, expectOf(r), 'updated', later(10), [])).toBeNull();
      expect(replanRestore(closed, expectOf(r), { planId: 'pnew', total: 5 }, later(10), [])).toBeNull();
    }
  });

  it('step mode: a finished step records its approvers and the next one waits; the last one hands over to the lift', () => {
    const approvals = [{ user: 'UAPP', at: later(8).toISOString() }];
    const r = run({ status: 'running', round: 1, stepApprovals: approvals, failure: { n: 1, reason: 'error', message: 'x' }, forced: 1, trafficUntil: later(9).toISOString(), pending: { applied: 'updated', object: { ok: true, detail: 'o' }, engine: { ok: true, detail: 'e' } } });
    const out = finishStep(incident(r), expectOf(r), 'updated', later(10), [note()]);
    const next = out?.incident.restore;
    expect(next).toEqual({ planId: PLAN, source: r.source, mode: 'step', total: 3, next: 2, status: 'awaiting-step', stepApprovals: [], planApprovedBy: ['UAPP'], done: [{ n: 1, outcome: 'updated', approvedBy: ['UAPP'], at: later(10).toISOString() }], round: 2 });
    expect(out?.events).toEqual([note()]);
    const last = run({ status: 'running', next: 3, round: 6, done: next?.done ?? [] });
    const lifted = finishStep(incident(last), expectOf(last), 'deleted', later(11), [])?.incident.restore;
    expect(lifted).toMatchObject({ next: 4, status: 'running', round: 7 });
    expect(lifted?.done.map((d) => [d.n, d.outcome])).toEqual([[1, 'updated'], [3, 'deleted']]);
  });

  it("plan mode records the plan's approvers and runs on; a Stop pressed during the step keeps the run stopped", () => {
    const r = run({ mode: 'plan', status: 'running', planApprovedBy: ['UAPP', 'UAPP2'] });
    const out = finishStep(incident(r), expectOf(r), 'created', later(10), [])?.incident.restore;
    expect(out).toMatchObject({ next: 2, status: 'running', done: [{ n: 1, outcome: 'created', approvedBy: ['UAPP', 'UAPP2'] }] });
    const stopped = run({ mode: 'plan', status: 'stopped', stoppedBy: 'UAPP' });
    expect(finishStep(incident(stopped), expectOf(stopped), 'updated', later(10), [])?.incident.restore).toMatchObject({ next: 2, status: 'stopped', stoppedBy: 'UAPP' });
  });
});

describe('approveRestoreStep', () => {
  it('rule one: one approver runs the step (a new round, so the old job and buttons are stale)', () => {
    const r = run({ next: 2, round: 3 });
    const out = approveRestoreStep(incident(r), button(r), 'one', 'UAPP', later(10));
    expect(out.approved).toBe(true);
    expect(out.incident.restore).toEqual({ ...r, status: 'running', round: 4, stepApprovals: [{ user: 'UAPP', at: later(10).toISOString() }] });
    expect(out.events).toEqual([{ at: later(10).toISOString(), type: 'restore.step-approved', actor: 'slack:UAPP', summary: '<@UAPP> approved step 2', data: { n: 2, user: 'UAPP', forcing: false } }]);
    // The rule 'none' still needs one person: a step is never applied on nobody's say.
    expect(approveRestoreStep(incident(r), button(r), 'none', 'UAPP', later(10)).approved).toBe(true);
  });

  it('rule two: the first approval waits, the same approver again is refused, a second one runs the step', () => {
    const r = run();
    const first = approveRestoreStep(incident(r), button(r), 'two', 'UAPP', later(10));
    expect(first.approved).toBe(false);
    expect(first.incident.restore).toMatchObject({ status: 'awaiting-step', round: 0, stepApprovals: [{ user: 'UAPP' }] });
    expect(first.events[0]?.summary).toBe('Approval 1 of 2 for step 1 by <@UAPP>');
    const again = deepFreeze(first.incident);
    expect(refusal(() => approveRestoreStep(again, button(r), 'two', 'UAPP', later(11)))).toEqual({ code: 'duplicate-approval', message: 'You already approved this; it needs a second, different approver.' });
    const second = approveRestoreStep(again, button(r), 'two', 'UAPP2', later(12));
    expect(second.approved).toBe(true);
    expect(second.incident.restore).toMatchObject({ status: 'running', round: 1, stepApprovals: [{ user: 'UAPP' }, { user: 'UAPP2' }] });
  });

  it('the requester never approves their own incident', () => {
    const r = run();
    expect(refusal(() => approveRestoreStep(incident(r), button(r), 'one', 'UREQ', later(10)))).toEqual({ code: 'requester', message: 'You opened this incident, so your approval does not count: another approver must approve.' });
  });

  it('plan mode: approving the re-planned rest makes its approvers the plan approvers', () => {
    const r = run({ mode: 'plan', planId: 'pnew', next: 3 });
    const out = approveRestoreStep(incident(r), button(r), 'one', 'UAPP2', later(10));
    expect(out.incident.restore).toMatchObject({ status: 'running', planApprovedBy: ['UAPP2'] });
    expect(out.events[0]?.summary).toBe('<@UAPP2> approved the re-planned steps from 3');
  });

  it('Force on a field-manager conflict: approved, the step is marked forced and runs again', () => {
    const failure = { n: 2, reason: 'field-conflict', message: 'kubectl-patch owns .spec.ingress' };
    const r = run({ mode: 'plan', next: 2, status: 'field-conflict', round: 5, failure });
    const out = approveRestoreStep(incident(r), button(r), 'one', 'UAPP', later(10));
    expect(out.approved).toBe(true);
    expect(out.incident.restore).toMatchObject({ status: 'running', forced: 2, round: 6, stepApprovals: [], forceApprovals: [{ user: 'UAPP' }], planApprovedBy: ['UAPP'] });
    expect(out.events[0]).toMatchObject({ summary: '<@UAPP> approved forcing step 2 (taking the fields other managers own)', data: { n: 2, forcing: true } });
  });

  it("Force is counted apart from the step's own approval: its approver may force, and rule two needs two for forcing", () => {
    const failure = { n: 2, reason: 'field-conflict', message: 'kubectl-patch owns .spec.ingress' };
    const r = run({ mode: 'step', next: 2, status: 'field-conflict', round: 5, failure, stepApprovals: [{ user: 'UAPP', at: 'x' }] });
    expect(approveRestoreStep(incident(r), button(r), 'one', 'UAPP', later(10))).toMatchObject({ approved: true, incident: { restore: { forced: 2, stepApprovals: [{ user: 'UAPP', at: 'x' }] } } });
    const first = approveRestoreStep(incident(r), button(r), 'two', 'UAPP', later(10));
    expect(first.approved).toBe(false);
    expect(first.incident.restore).toMatchObject({ status: 'field-conflict', forceApprovals: [{ user: 'UAPP' }] });
    expect(refusal(() => approveRestoreStep(first.incident, button(r), 'two', 'UAPP', later(11))).code).toBe('duplicate-approval');
    expect(approveRestoreStep(first.incident, button(r), 'two', 'UBOB', later(11))).toMatchObject({ approved: true, incident: { restore: { forced: 2, status: 'running' } } });
  });

  it('a button drawn for an earlier plan or step is refused with where the restore is now', () => {
    const r = run({ next: 2, total: 5 });
    const expected = { code: 'already-decided', message: 'That button is for step 1 of an earlier view of the plan; the restore is now at step 2 of 5. Nothing changed.' };
    expect(refusal(() => approveRestoreStep(incident(r), button(r, { n: 1 }), 'one', 'UAPP', later(10)))).toEqual(expected);
    expect(refusal(() => approveRestoreStep(incident(r), button(r, { planId: 'p000000000000' }), 'one', 'UAPP', later(10))).message).toContain('earlier view of the plan');
  });

  it('refused in every state but awaiting-step and field-conflict, saying what the restore is doing', () => {
    const states: RestoreRunStatus[] = ['running', 'traffic-wait', 'stopped', 'verify-failed', 'blocked', 'lifting', 'watching', 'done'];
    for (const status of states) {
      const r = run({ status, next: 2, watchUntil: later(900).toISOString() });
      const { code, message } = refusal(() => approveRestoreStep(incident(r), button(r), 'one', 'UAPP', later(10)));
      expect(code).toBe('already-decided');
      expect(message).toBe(`The restore is ${describeStatus(r)}: that is not possible now. Nothing changed.`);
    }
    expect(describeStatus(run({ status: 'verify-failed', next: 2 }))).toBe('stopped: verification failed (at step 2 of 3)');
    expect(describeStatus(run({ status: 'watching', watchUntil: '2026-12-01T10:15:00.000Z' }))).toBe('watching until 2026-12-01T10:15:00.000Z');
  });
});

describe('Stop, Resume, Continue anyway, Roll back', () => {
  it('Stop halts before the next step and is recorded; in the traffic window it says the step stays applied', () => {
    const r = run({ mode: 'plan', status: 'running', next: 2, stepApprovals: [{ user: 'UAPP', at: 'x' }] });
    const out = stopRestore(incident(r), button(r), 'UAPP', later(10));
    // The step in progress keeps its approvers (it is recorded with them when it finishes).
    expect(out.incident.restore).toEqual({ ...r, status: 'stopped', stoppedBy: 'UAPP', stepApprovals: [{ user: 'UAPP', at: 'x' }] });
    // A pending approval of a step not started is dropped.
    const pending = run({ mode: 'step', status: 'awaiting-step', next: 2, stepApprovals: [{ user: 'UAPP', at: 'x' }] });
    expect(stopRestore(incident(pending), button(pending), 'UBOB', later(10)).incident.restore?.stepApprovals).toEqual([]);
    expect(out.events).toEqual([{ at: later(10).toISOString(), type: 'restore.stopped', actor: 'slack:UAPP', summary: '<@UAPP> stopped the restore before step 2: nothing more is applied until *Resume*', data: { n: 2, user: 'UAPP' } }]);
    const waiting = run({ status: 'traffic-wait', next: 2 });
    expect(stopRestore(incident(waiting), button(waiting), 'UAPP', later(10)).events[0]?.summary).toContain('step 2 is applied');
    for (const status of ['stopped', 'verify-failed', 'lifting', 'watching', 'done'] as const) {
      const r2 = run({ status });
      expect(refusal(() => stopRestore(incident(r2), button(r2), 'UAPP', later(10))).code).toBe('already-decided');
    }
  });

  it('Resume clears the failure and waits for approval in step mode, runs in plan mode or at the lift', () => {
    const failure = { n: 2, reason: 'forbidden', message: 'cannot patch' };
    const r = run({ status: 'blocked', next: 2, round: 4, failure });
    const out = resumeRestore(incident(r), button(r), 'UAPP', later(10));
    expect(out.incident.restore).toEqual({ ...run({ next: 2 }), status: 'awaiting-step', round: 5, stepApprovals: [] });
    expect(out.events[0]).toMatchObject({ type: 'restore.resumed', actor: 'slack:UAPP', summary: '<@UAPP> resumed the restore at step 2', data: { n: 2, user: 'UAPP' } });
    const plan = run({ mode: 'plan', status: 'stopped', stoppedBy: 'UAPP' });
    expect(resumeRestore(incident(plan), button(plan), 'UAPP', later(10)).incident.restore).toMatchObject({ status: 'running', round: 1 });
    const lift = run({ status: 'stopped', next: 4 });
    const atLift = resumeRestore(incident(lift), button(lift), 'UAPP', later(10));
    expect(atLift.incident.restore?.status).toBe('running');
    expect(atLift.events[0]?.summary).toBe('<@UAPP> resumed the restore at the lift');
    const busy = run({ status: 'running' });
    expect(refusal(() => resumeRestore(incident(busy), button(busy), 'UAPP', later(10))).message).toBe('The restore is running (at step 1 of 3): that is not possible now. Nothing changed.');
  });

  it('Continue anyway keeps the failed step as applied, records who and why, and moves on', () => {
    const failure = { n: 2, reason: 'verify-failed', message: 'traffic verification failed' };
    const r = run({ status: 'verify-failed', next: 2, round: 3, failure, stepApprovals: [{ user: 'UAPP', at: 'x' }] });
    const out = continueAnyway(incident(r), button(r), 'UAPP2', later(10));
    expect(out.incident.restore).toMatchObject({ next: 3, status: 'awaiting-step', round: 4, done: [{ n: 2, outcome: 'continued', approvedBy: ['UAPP'] }] });
    expect(out.incident.restore?.failure).toBeUndefined();
    expect(out.events).toEqual([
      { at: later(10).toISOString(), type: 'restore.continued', actor: 'slack:UAPP2', summary: '<@UAPP2> continued anyway: step 2 stays applied although its verification failed (traffic verification failed)', data: { n: 2, user: 'UAPP2', failure } },
    ]);
    const last = run({ mode: 'plan', status: 'verify-failed', next: 3 });
    expect(continueAnyway(incident(last), button(last), 'UAPP', later(10)).incident.restore).toMatchObject({ next: 4, status: 'running' });
    const ok = run({ status: 'awaiting-step' });
    expect(refusal(() => continueAnyway(incident(ok), button(ok), 'UAPP', later(10))).code).toBe('already-decided');
  });

  it('Roll back this step stops the run at that step in a new round', () => {
    const failure = { n: 2, reason: 'verify-failed', message: 'engine: 1 more connection open' };
    const r = run({ status: 'verify-failed', next: 2, round: 3, failure });
    expect(startRollback(incident(r), button(r), later(10))).toEqual({ incident: { ...incident(r), updatedAt: later(10).toISOString(), restore: { ...r, status: 'stopped', round: 4 } }, events: [] });
    const ok = run({ status: 'stopped', next: 2 });
    expect(refusal(() => startRollback(incident(ok), button(ok), later(10))).code).toBe('already-decided');
  });

  it('a rolled-back step forgets its traffic window: Resume never judges the failed window again', () => {
    const pending = { applied: 'deleted' as const, object: { ok: true, detail: 'gone' }, engine: { ok: true, detail: 'as predicted' } };
    const r = run({ status: 'verify-failed', next: 1, round: 3, pending, trafficUntil: '2026-12-01T10:00:05.000Z' });
    const rolled = startRollback(incident(r), button(r), later(10)).incident;
    expect(rolled.restore).not.toHaveProperty('pending');
    expect(rolled.restore).not.toHaveProperty('trafficUntil');
    const stopped = run({ status: 'stopped', next: 1, round: 4, pending, trafficUntil: '2026-12-01T10:00:05.000Z' });
    const resumed = resumeRestore(incident(stopped), button(stopped), 'UAPP', later(11)).incident.restore;
    expect(resumed).not.toHaveProperty('pending');
    expect(resumed).not.toHaveProperty('trafficUntil');
  });
});

describe('re-plan, the watch window and Contain again', () => {
  it('a re-plan takes the new plan id, clears failure and approvals, and waits for approval even in plan mode', () => {
    const r = run({ mode: 'plan', status: 'running', next: 2, round: 2, forced: 2, failure: { n: 2, reason: 'conflict-changed', message: 'moved' }, stepApprovals: [{ user: 'UAPP', at: 'x' }] });
    const out = replanRestore(incident(r), expectOf(r), { planId: 'pnew', total: 4 }, later(10), [note('restore.replanned')]);
    expect(out?.incident.restore).toEqual({ ...run({ mode: 'plan', next: 2 }), planId: 'pnew', total: 4, status: 'awaiting-step', round: 3 });
    expect(out?.events.map((e) => e.type)).toEqual(['restore.replanned']);
    const empty = replanRestore(incident(r), expectOf(r), { planId: 'pnew', total: 1 }, later(10), []);
    expect(empty?.incident.restore).toMatchObject({ planId: 'pnew', total: 1, next: 2, status: 'running' });
  });

  it('endRestore closes a watching run of that plan only', () => {
    const r = run({ status: 'watching', next: 4, watchUntil: later(900).toISOString() });
    expect(endRestore(incident(r), { planId: PLAN }, later(10))?.incident.restore).toEqual({ ...r, status: 'done' });
    expect(endRestore(incident(r), { planId: 'pother' }, later(10))).toBeNull();
    expect(endRestore(incident(run({ status: 'lifting' })), { planId: PLAN }, later(10))).toBeNull();
    expect(endRestore(incident(r, { status: 'completed' }), { planId: PLAN }, later(10))).toBeNull();
    expect(endRestore(incident(null), { planId: PLAN }, later(10))).toBeNull();
  });

  it('a refire during the watch window is noted once', () => {
    const r = run({ status: 'watching', next: 4 });
    const out = noteRefire(incident(r), 'egress:db/postgres-0@2026-12-01T10:20:00Z', later(10));
    expect(out?.incident.restore?.refired).toEqual({ anomalyId: 'egress:db/postgres-0@2026-12-01T10:20:00Z', at: later(10).toISOString() });
    expect(out?.events).toEqual([{ at: later(10).toISOString(), type: 'restore.refired', actor: 'bot', summary: expect.stringContaining('*Contain again*'), data: { anomalyId: 'egress:db/postgres-0@2026-12-01T10:20:00Z' } }]);
    expect(noteRefire(deepFreeze(out!.incident), 'egress:db/postgres-0@2026-12-01T10:21:00Z', later(11))).toBeNull();
    for (const i of [incident(run({ status: 'lifting' })), incident(r, { status: 'completed' }), incident(null)]) expect(noteRefire(i, 'a@b', later(10))).toBeNull();
  });

  it('Contain again ends the restore step (recontained) and proposes the contain step again, containment off the record', () => {
    const done = [{ n: 1, outcome: 'updated' as const, approvedBy: ['UAPP'], at: later(6).toISOString() }];
    const r = run({ status: 'watching', total: 1, next: 2, done, refired: { anomalyId: 'a@1', at: later(8).toISOString() } });
    const out = reopenContainment(incident(r, { containment: { status: 'lifted', strategy: 's', appliedAt: 'x', liftApprovals: [] } }), 'contain', 'restore', 'UAPP', later(10));
    const summary = 'Restored from Git shop@1a2b3c4d, then the anomaly fired again during the watch window: <@UAPP> contains again';
    expect(out?.incident.containment).toBeUndefined();
    expect(out?.incident).toMatchObject({ status: 'open', currentStep: 'contain', updatedAt: later(10).toISOString(), restore: { status: 'done' } });
    expect(out?.incident.steps.restore).toMatchObject({ status: 'done', result: { summary, source: 'Git shop@1a2b3c4d', steps: done, recontained: true } });
    expect(out?.incident.steps.contain).toEqual({ status: 'pending', approvals: [], attempts: 1, reminders: 0 });
    expect(out?.events.map((e) => [e.type, e.actor])).toEqual([['restore.completed', 'slack:UAPP'], ['containment.retry', 'slack:UAPP']]);
    expect(out?.events[0]?.data).toEqual({ source: 'Git shop@1a2b3c4d', steps: 1, refired: r.refired, recontained: true });
    expect(reopenContainment(incident(run({ status: 'done' })), 'contain', 'restore', 'UAPP', later(10))).toBeNull();
    expect(reopenContainment(incident(r), 'contain', 'no-such-step', 'UAPP', later(10))).toBeNull();
    expect(reopenContainment(incident(r, { status: 'rejected' }), 'contain', 'restore', 'UAPP', later(10))).toBeNull();
  });
});

describe('malformed and hostile input', () => {
  const decisions = {
    approve: (i: Incident, b: RestoreButton) => approveRestoreStep(i, b, 'one', 'UAPP', later(10)),
    stop: (i: Incident, b: RestoreButton) => stopRestore(i, b, 'UAPP', later(10)),
    resume: (i: Incident, b: RestoreButton) => resumeRestore(i, b, 'UAPP', later(10)),
    continue: (i: Incident, b: RestoreButton) => continueAnyway(i, b, 'UAPP', later(10)),
    rollback: (i: Incident, b: RestoreButton) => startRollback(i, b, later(10)),
  };

  it('every decision on an incident without a restore, or a closed one, is refused with a clear message', () => {
    const r = run();
    for (const [name, decide] of Object.entries(decisions)) {
      expect(refusal(() => decide(incident(null), button(r))), name).toEqual({ code: 'not-current', message: 'This incident has no restore in progress. Nothing changed.' });
      for (const status of ['completed', 'rejected', 'failed'] as const) {
        expect(refusal(() => decide(incident(r, { status }), button(r))), name).toEqual({ code: 'terminal', message: `Incident ${ID} is ${status}. Nothing changed.` });
      }
    }
  });

  it('hostile button values match nothing and are refused without echoing the plan id', () => {
    const hostile: Array<Partial<RestoreButton>> = [
      { planId: '' },
      { planId: '<!channel> *pwned*' },
      { planId: `${PLAN} ` },
      { planId: PLAN.toUpperCase() },
      { planId: 'x'.repeat(100_000) },
      { n: 0 },
      { n: -1 },
      { n: 1.5 },
      { n: Number.NaN },
      { n: Number.POSITIVE_INFINITY },
      { n: 10_001 },
      { n: '1' as unknown as number },
    ];
    const states: RestoreRunStatus[] = ['awaiting-step', 'running', 'stopped', 'verify-failed', 'field-conflict', 'blocked'];
    for (const status of states) {
      const r = run({ status });
      const before = JSON.stringify(incident(r));
      for (const over of hostile) {
        for (const [name, decide] of Object.entries(decisions)) {
          const { code, message } = refusal(() => decide(incident(r), button(r, over)));
          expect(code, `${name} ${status} ${JSON.stringify(over).slice(0, 60)}`).toBe('already-decided');
          expect(message).toContain('Nothing changed.');
          expect(message.length).toBeLessThan(200);
          if (over.planId) expect(message).not.toContain(over.planId.trim() || '\u0000');
        }
      }
      expect(JSON.stringify(incident(r))).toBe(before);
    }
  });

  it('no transition writes into the incident it is given (deep-frozen input, unchanged afterwards)', () => {
    const cases: Array<[RestoreRun | null, (i: Incident) => unknown]> = [
      [null, (i) => beginRestore(i, { planId: PLAN, source: 's', mode: 'step', total: 2, approvedBy: ['UAPP'] }, later(10))],
      [run({ status: 'running' }), (i) => setRunStatus(i, expectOf(run()), 'traffic-wait', later(10), [note()], { trafficUntil: 'x' })],
      [run({ status: 'running', stepApprovals: [{ user: 'UAPP', at: 'x' }] }), (i) => finishStep(i, expectOf(run()), 'updated', later(10), [note()])],
      [run(), (i) => approveRestoreStep(i, button(run()), 'two', 'UAPP', later(10))],
      [run({ stepApprovals: [{ user: 'UAPP', at: 'x' }] }), (i) => approveRestoreStep(i, button(run()), 'two', 'UAPP2', later(10))],
      [run({ status: 'field-conflict' }), (i) => approveRestoreStep(i, button(run()), 'one', 'UAPP', later(10))],
      [run({ status: 'running' }), (i) => stopRestore(i, button(run()), 'UAPP', later(10))],
      [run({ status: 'blocked', failure: { n: 1, reason: 'error', message: 'x' } }), (i) => resumeRestore(i, button(run()), 'UAPP', later(10))],
      [run({ status: 'verify-failed', failure: { n: 1, reason: 'verify-failed', message: 'x' } }), (i) => continueAnyway(i, button(run()), 'UAPP', later(10))],
      [run({ status: 'verify-failed' }), (i) => startRollback(i, button(run()), later(10))],
      [run({ status: 'running', forced: 1 }), (i) => replanRestore(i, expectOf(run()), { planId: 'pnew', total: 3 }, later(10), [])],
      [run({ status: 'watching' }), (i) => endRestore(i, { planId: PLAN }, later(10))],
      [run({ status: 'watching' }), (i) => noteRefire(i, 'a@b', later(10))],
      [run({ status: 'watching' }), (i) => reopenContainment(i, 'contain', 'restore', 'UAPP', later(10))],
    ];
    for (const [r, transition] of cases) {
      const input = incident(r);
      const before = JSON.stringify(input);
      const out = transition(input) as { incident: Incident } | null;
      expect(out?.incident).toBeDefined();
      expect(out?.incident).not.toBe(input);
      expect(JSON.stringify(input)).toBe(before);
    }
  });
});

describe('a lift before the steps GitOps controllers sync (liftAt)', () => {
  const at = { planId: PLAN, n: 1, round: 0 };

  it('the run starts with its liftAt; one past the last step is the default and not stored', () => {
    const fresh = incident(null);
    expect(beginRestore(fresh, { planId: PLAN, source: 'git', mode: 'plan', total: 3, approvedBy: ['UAPP'], liftAt: 2 }, later(10)).incident.restore).toMatchObject({ liftAt: 2, status: 'running' });
    expect(beginRestore(fresh, { planId: PLAN, source: 'git', mode: 'plan', total: 3, approvedBy: ['UAPP'], liftAt: 4 }, later(10)).incident.restore?.liftAt).toBeUndefined();
    // Step mode, every step handed over: the lift comes first and needs no step approval.
    expect(beginRestore(fresh, { planId: PLAN, source: 'git', mode: 'step', total: 2, approvedBy: ['UAPP'], liftAt: 1 }, later(10)).incident.restore?.status).toBe('running');
    expect(beginRestore(fresh, { planId: PLAN, source: 'git', mode: 'step', total: 2, approvedBy: ['UAPP'] }, later(10)).incident.restore?.status).toBe('awaiting-step');
  });

  it('step mode: the step before the lift done, the lift runs without an approval; after it, each synced step waits for its own', () => {
    const first = finishStep(incident(run({ status: 'running', liftAt: 2 })), at, 'deleted', later(20), []);
    expect(first?.incident.restore).toMatchObject({ next: 2, status: 'running' });
    const lifted = incident(run({ status: 'running', next: 2, liftAt: 2, lifted: true, round: 1 }));
    const second = finishStep(lifted, { planId: PLAN, n: 2, round: 1 }, 'created', later(30), []);
    expect(second?.incident.restore).toMatchObject({ next: 3, status: 'awaiting-step', lifted: true });
    expect(describeStatus(run({ status: 'running', next: 2, liftAt: 2 }))).toBe('running (at the lift)');
    expect(describeStatus(run({ status: 'running', next: 2, liftAt: 2, lifted: true }))).toBe('running (at step 2 of 3)');
  });

  it('a re-plan takes the new plan’s liftAt, or none', () => {
    const current = incident(run({ status: 'running', next: 2, liftAt: 3, round: 4 }));
    const none = replanRestore(current, { planId: PLAN, n: 2, round: 4 }, { planId: 'pnew', total: 4, liftAt: 5 }, later(40), []);
    expect(none?.incident.restore?.liftAt).toBeUndefined();
    const kept = replanRestore(current, { planId: PLAN, n: 2, round: 4 }, { planId: 'pnew', total: 4, liftAt: 4 }, later(40), []);
    expect(kept?.incident.restore).toMatchObject({ planId: 'pnew', total: 4, liftAt: 4 });
  });
});
