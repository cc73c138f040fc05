import { describe, expect, it } from 'vitest';
import { scopeKeyOf } from '../../../src/incident/model.js';
import {
  completeStep,
  failStep,
  openIncident,
  recordApproval,
  recordRejection,
  recordReminder,
  requestApproval,
  startStep,
  TransitionRefused,
} from '../../../src/incident/transitions.js';
import { testPlaybook } from '../../helpers/playbook.js';

const t0 = new Date('2026-11-23T10:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);

function opened(rule: 'none' | 'one' | 'two' = 'one') {
  const playbook = testPlaybook(rule);
  const { incident } = openIncident({ id: '20261123-abcd', scope: { namespace: 'db' }, requestedBy: 'UREQ', channel: 'CINC', reason: 'exfil' }, playbook, t0);
  const approval = playbook.steps[0]!.approval;
  return { playbook, approval, incident: requestApproval(incident, 'contain', approval, { summary: 'found 2 pods' }, later(1)).incident };
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

describe('incident transitions', () => {
  it('opens with every step pending and an opened event', () => {
    const playbook = testPlaybook();
    const { incident, events } = openIncident({ id: 'x', scope: { namespace: 'db', selector: 'app=pg' }, requestedBy: 'U1', channel: 'C1' }, playbook, t0);
    expect(incident.status).toBe('open');
    expect(incident.currentStep).toBe('contain');
    expect(incident.steps.contain?.status).toBe('pending');
    expect(events).toEqual([expect.objectContaining({ type: 'incident.opened', actor: 'slack:U1', at: t0.toISOString() })]);
    expect(events[0]?.summary).toContain('`app=pg`');
  });

  it('asks for approval with evidence, or approves at once for rule none', () => {
    const { incident } = opened('one');
    expect(incident.steps.contain?.status).toBe('awaiting-approval');
    const none = opened('none');
    expect(none.incident.steps.contain?.status).toBe('approved');
  });

  it('one approver: approval by a non-requester approves', () => {
    const { incident, approval } = opened('one');
    const out = recordApproval(incident, 'contain', approval, 'UAPP', later(2));
    expect(out.approved).toBe(true);
    expect(out.incident.steps.contain?.status).toBe('approved');
    expect(out.events[0]).toMatchObject({ type: 'step.approved', actor: 'slack:UAPP' });
  });

  it('the requester never counts', () => {
    const { incident, approval } = opened('one');
    expect(refusal(() => recordApproval(incident, 'contain', approval, 'UREQ', later(2)))).toBe('requester');
  });

  it('two approvers must be distinct', () => {
    const { incident, approval } = opened('two');
    const first = recordApproval(incident, 'contain', approval, 'UA', later(2));
    expect(first.approved).toBe(false);
    expect(first.incident.steps.contain?.status).toBe('awaiting-approval');
    expect(first.events[0]?.type).toBe('approval.recorded');
    expect(refusal(() => recordApproval(first.incident, 'contain', approval, 'UA', later(3)))).toBe('duplicate-approval');
    const second = recordApproval(first.incident, 'contain', approval, 'UB', later(3));
    expect(second.approved).toBe(true);
    expect(second.incident.steps.contain?.approvals.map((a) => a.user)).toEqual(['UA', 'UB']);
  });

  it('an already-decided step refuses further clicks', () => {
    const { incident, approval } = opened('one');
    const approved = recordApproval(incident, 'contain', approval, 'UA', later(2)).incident;
    expect(refusal(() => recordApproval(approved, 'contain', approval, 'UB', later(3)))).toBe('already-decided');
    expect(refusal(() => recordRejection(approved, 'contain', 'UB', later(3)))).toBe('already-decided');
  });

  it('rejection ends the incident and releases its scope', () => {
    const { incident, approval } = opened('one');
    const out = recordRejection(incident, 'contain', 'UA', later(2));
    expect(out.incident.status).toBe('rejected');
    expect(out.releaseScope).toBe(true);
    expect(refusal(() => recordApproval(out.incident, 'contain', approval, 'UB', later(3)))).toBe('terminal');
  });

  it('runs, resumes and completes a step; the last step completes the incident', () => {
    const { incident, approval } = opened('one');
    const approved = recordApproval(incident, 'contain', approval, 'UA', later(2)).incident;
    const started = startStep(approved, 'contain', later(3));
    expect(started.resumed).toBe(false);
    expect(started.incident.steps.contain?.attempts).toBe(1);
    const resumed = startStep(started.incident, 'contain', later(4));
    expect(resumed.resumed).toBe(true);
    expect(resumed.events[0]?.type).toBe('step.resumed');
    const done = completeStep(resumed.incident, 'contain', { summary: 'contained' }, [], later(5));
    expect(done.incident.status).toBe('completed');
    expect(done.incident.currentStep).toBeNull();
    expect(done.releaseScope).toBe(true);
    expect(done.events.map((e) => e.type)).toEqual(['step.completed', 'incident.completed', 'incident.summary']);
    expect(refusal(() => startStep(done.incident, 'contain', later(6)))).toBe('terminal');
  });

  it('a step that is not approved cannot start', () => {
    const { incident } = opened('one');
    expect(refusal(() => startStep(incident, 'contain', later(2)))).toBe('not-approved');
  });

  it('failure ends the incident with the error on the timeline', () => {
    const { incident } = opened('none');
    const out = failStep(startStep(incident, 'contain', later(2)).incident, 'contain', 'forbidden', later(3));
    expect(out.incident.status).toBe('failed');
    expect(out.events[0]).toMatchObject({ type: 'step.failed', data: { error: 'forbidden' } });
  });

  it('reminds only while waiting, up to the maximum', () => {
    const { incident, approval } = opened('one');
    const r1 = recordReminder(incident, 'contain', approval, later(2));
    expect(r1?.events[0]?.summary).toContain('reminder 1 of 2');
    const r2 = recordReminder(r1!.incident, 'contain', approval, later(3));
    expect(recordReminder(r2!.incident, 'contain', approval, later(4))).toBeNull();
    const approved = recordApproval(incident, 'contain', approval, 'UA', later(2)).incident;
    expect(recordReminder(approved, 'contain', approval, later(3))).toBeNull();
  });

  it('scope keys ignore selector order and spacing', () => {
    expect(scopeKeyOf({ namespace: 'db', selector: 'b=2, a=1' })).toBe(scopeKeyOf({ namespace: 'db', selector: 'a=1,b=2' }));
    expect(scopeKeyOf({ namespace: 'db', selector: 'tier in (x,y),a=1' })).toBe('db/a=1,tierin(x,y)');
    expect(scopeKeyOf({ namespace: 'db' })).toBe('db/*');
    expect(scopeKeyOf({ namespace: 'db' })).not.toBe(scopeKeyOf({ namespace: 'api' }));
  });
});
