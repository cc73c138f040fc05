import { describe, expect, it } from 'vitest';
import { completeLift, failLift, keepContained, liftable, recordLiftApproval, startLift } from '../../../src/incident/containment-transitions.js';
import type { ContainmentState, Incident } from '../../../src/incident/model.js';
import { completeStep, failStep, openIncident, recordApproval, requestApproval, startStep, TransitionRefused } from '../../../src/incident/transitions.js';
import { testPlaybook } from '../../helpers/playbook.js';

const t0 = new Date('2026-11-23T10:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);

function containment(over: Partial<ContainmentState> = {}): ContainmentState {
  return { status: 'active', strategy: 'networkpolicy-exclusive', appliedAt: later(5).toISOString(), liftApprovals: [], ...over };
}

/** An incident whose only step (contain) ran and left containment in force. */
function contained(over: Partial<ContainmentState> = {}): Incident {
  const playbook = testPlaybook('one');
  const approval = playbook.steps[0]!.approval;
  let { incident } = openIncident({ id: '20261123-abcd', scope: { namespace: 'db' }, requestedBy: 'UREQ', channel: 'CINC' }, playbook, t0);
  incident = requestApproval(incident, 'contain', approval, { summary: 'x' }, later(1)).incident;
  incident = recordApproval(incident, 'contain', approval, 'UAPP', later(2)).incident;
  incident = startStep(incident, 'contain', later(3)).incident;
  return completeStep(incident, 'contain', { summary: 'Contained' }, [], later(5), containment(over)).incident;
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof TransitionRefused) return error.code;
    throw error;
  }
  throw new Error('expected TransitionRefused');
}

describe('containment transitions', () => {
  it('a finished playbook with containment in force keeps the incident open and its scope held', () => {
    const playbook = testPlaybook('one');
    const approval = playbook.steps[0]!.approval;
    let { incident } = openIncident({ id: 'i', scope: { namespace: 'db' }, requestedBy: 'UREQ', channel: 'C' }, playbook, t0);
    incident = requestApproval(incident, 'contain', approval, { summary: 'x' }, later(1)).incident;
    incident = recordApproval(incident, 'contain', approval, 'UAPP', later(2)).incident;
    incident = startStep(incident, 'contain', later(3)).incident;
    const out = completeStep(incident, 'contain', { summary: 'Contained' }, [], later(5), containment());
    expect(out.incident.status).toBe('open');
    expect(out.incident.currentStep).toBeNull();
    expect(out.releaseScope).toBe(false);
    expect(out.events.map((e) => e.type)).toEqual(['step.completed', 'playbook.finished', 'incident.summary']);
    expect(liftable(out.incident)).toBe(true);
    const lifted = completeStep(incident, 'contain', { summary: 'x' }, [], later(5), containment({ status: 'lifted' }));
    expect(lifted.incident.status).toBe('completed');
    expect(lifted.releaseScope).toBe(true);
  });

  it('containment in force but not proven: the step fails, the playbook goes on, the incident stays open', () => {
    const base = contained();
    const playbook2 = { ...base, currentStep: 'contain', stepOrder: ['contain', 'trace'], steps: { contain: { ...base.steps.contain!, status: 'running' as const }, trace: { status: 'pending' as const, approvals: [], attempts: 0, reminders: 0 } }, containment: undefined };
    const out = failStep(playbook2, 'contain', 'NOT contained: 2 stay open', later(6), { containment: containment({ notProven: true }), events: [] });
    expect(out.incident).toMatchObject({ status: 'open', currentStep: 'trace', containment: { status: 'active', notProven: true } });
    expect(out.incident.steps.contain?.status).toBe('failed');
    expect(out.releaseScope).toBeFalsy();
    const last = failStep({ ...playbook2, stepOrder: ['contain'], steps: { contain: playbook2.steps.contain } }, 'contain', 'x', later(6), { containment: containment({ notProven: true }), events: [] });
    expect(last.incident.currentStep).toBeNull();
    expect(last.events.map((e) => e.type)).toEqual(['step.failed', 'playbook.finished']);
  });

  it('one approver lifts; the lift completes the incident and releases the scope', () => {
    const approved = recordLiftApproval(contained(), 'one', 'UAPP', later(10));
    expect(approved.approved).toBe(true);
    expect(approved.incident.containment).toMatchObject({ status: 'lifting', liftReason: 'approved' });
    expect(liftable(approved.incident)).toBe(false);
    const done = completeLift(approved.incident, [{ at: later(11).toISOString(), type: 'containment.lifted', actor: 'bot', summary: 'lifted' }], later(11));
    expect(done.incident.status).toBe('completed');
    expect(done.incident.containment).toMatchObject({ status: 'lifted', liftedAt: later(11).toISOString() });
    expect(done.releaseScope).toBe(true);
    expect(done.events.map((e) => e.type)).toEqual(['containment.lifted', 'incident.completed']);
  });

  it('two approvers must be distinct; the requester never counts (unless it was automatic)', () => {
    const first = recordLiftApproval(contained(), 'two', 'UAPP', later(10));
    expect(first.approved).toBe(false);
    expect(first.events[0]?.type).toBe('containment.lift-recorded');
    expect(refusal(() => recordLiftApproval(first.incident, 'two', 'UAPP', later(11)))).toBe('duplicate-approval');
    expect(refusal(() => recordLiftApproval(first.incident, 'two', 'UREQ', later(11)))).toBe('requester');
    expect(recordLiftApproval(first.incident, 'two', 'UOTHER', later(12)).approved).toBe(true);
    expect(recordLiftApproval(contained({ auto: true }), 'one', 'UREQ', later(10)).approved).toBe(true);
  });

  it('rule none still needs one click to lift', () => {
    expect(recordLiftApproval(contained(), 'none', 'UAPP', later(10)).approved).toBe(true);
  });

  it('refuses a second lift, and a lift of nothing', () => {
    const lifting = startLift(contained(), 'expired', 'bot', later(10)).incident;
    expect(refusal(() => recordLiftApproval(lifting, 'one', 'UAPP', later(11)))).toBe('already-decided');
    expect(refusal(() => startLift(lifting, 'lift-now', 'bot', later(11)))).toBe('already-decided');
    const done = completeLift(lifting, [], later(12)).incident;
    expect(refusal(() => startLift(done, 'expired', 'bot', later(13)))).toBe('already-decided');
    const bare = { ...contained(), containment: undefined };
    expect(refusal(() => recordLiftApproval(bare, 'one', 'UAPP', later(10)))).toBe('not-approved');
    expect(refusal(() => completeLift(contained(), [], later(10)))).toBe('not-approved');
  });

  it('a failed lift leaves containment recorded and liftable again, approvals reset', () => {
    const lifting = recordLiftApproval(contained(), 'one', 'UAPP', later(10)).incident;
    const failed = failLift(lifting, 'the API answered 503', later(11));
    expect(failed.incident.containment).toMatchObject({ status: 'lift-failed', liftApprovals: [], liftError: 'the API answered 503' });
    expect(failed.incident.status).toBe('open');
    expect(liftable(failed.incident)).toBe(true);
    expect(recordLiftApproval(failed.incident, 'one', 'UAPP', later(12)).approved).toBe(true);
  });

  it('keep contained cancels the time box of an automatic containment', () => {
    const auto = contained({ auto: true, expiresAt: later(900).toISOString() });
    const kept = keepContained(auto, 'UAPP', later(20));
    expect(kept.incident.containment).toMatchObject({ auto: false, status: 'active' });
    expect(kept.incident.containment).not.toHaveProperty('expiresAt');
    expect(refusal(() => keepContained(kept.incident, 'UAPP', later(21)))).toBe('already-decided');
  });

  it('a lift while the playbook still has steps to run leaves the incident open', () => {
    const playbook = testPlaybook('one');
    const incident: Incident = { ...contained(), currentStep: 'restore', stepOrder: ['contain', 'restore'], steps: { ...contained().steps, restore: { status: 'pending', approvals: [], attempts: 0, reminders: 0 } } };
    expect(playbook.steps).toHaveLength(1);
    const done = completeLift(startLift(incident, 'restore', 'bot', later(10)).incident, [], later(11));
    expect(done.incident.status).toBe('open');
    expect(done.releaseScope).toBe(false);
  });
});
