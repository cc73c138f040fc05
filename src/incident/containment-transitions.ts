// Pure transitions of an incident's containment after it is applied: lift approvals, the lift
// itself (approved, expired, "Lift now", or by the restore step), its outcome, and "Keep
// contained". Same contract as transitions.ts: the store writes the record and events atomically.
import { requiredApprovals, type ApprovalRule } from '../playbook/schema.js';
import { botActor, slackActor, type TimelineEvent } from '../timeline/types.js';
import type { ContainmentState, Incident } from './model.js';
import { TransitionRefused, type Transition } from './transitions.js';

function containmentOf(incident: Incident): ContainmentState {
  const containment = incident.containment;
  if (!containment) throw new TransitionRefused('This incident has no containment in place. Nothing changed.', 'not-approved');
  return containment;
}

function withContainment(incident: Incident, containment: ContainmentState, now: Date, extra: Partial<Incident> = {}): Incident {
  return { ...incident, ...extra, containment, updatedAt: now.toISOString() };
}

function requireActive(incident: Incident, containment: ContainmentState): void {
  if (containment.status === 'lifting') throw new TransitionRefused('Containment is being lifted already. Nothing changed.', 'already-decided');
  if (containment.status === 'lifted') throw new TransitionRefused(`Containment was already lifted at ${containment.liftedAt ?? '?'}. Nothing changed.`, 'already-decided');
  if (incident.status !== 'open') throw new TransitionRefused(`incident ${incident.id} is ${incident.status}`, 'terminal');
}

export interface LiftApprovalOutcome extends Transition {
  /** True when this approval completed the rule: the lift may run. */
  approved: boolean;
}

/** A Lift containment click by an approver, under the contain step's approval rule. */
export function recordLiftApproval(incident: Incident, rule: ApprovalRule['rule'], user: string, now: Date): LiftApprovalOutcome {
  const containment = containmentOf(incident);
  requireActive(incident, containment);
  if (user === incident.requestedBy && !containment.auto) {
    throw new TransitionRefused('You opened this incident, so your approval does not count: another approver must approve lifting containment.', 'requester');
  }
  if (containment.liftApprovals.some((a) => a.user === user)) {
    throw new TransitionRefused('You already approved lifting containment; it needs a second, different approver.', 'duplicate-approval');
  }
  const at = now.toISOString();
  const liftApprovals = [...containment.liftApprovals, { user, at }];
  const needed = Math.max(1, requiredApprovals(rule));
  const approved = liftApprovals.length >= needed;
  const events: TimelineEvent[] = [
    {
      at,
      type: approved ? 'containment.lift-approved' : 'containment.lift-recorded',
      actor: slackActor(user),
      summary: approved
        ? `Lifting containment approved by ${liftApprovals.map((a) => `<@${a.user}>`).join(' and ')}`
        : `Approval ${liftApprovals.length} of ${needed} to lift containment by <@${user}>`,
      data: { approvals: liftApprovals },
    },
  ];
  const next: ContainmentState = approved ? { ...containment, liftApprovals, status: 'lifting', liftReason: 'approved', liftError: undefined } : { ...containment, liftApprovals };
  return { incident: withContainment(incident, next, now), events, approved };
}

/** Lifting without a new approval: the time box ran out, "Lift now" on an automatic containment, or the restore step. */
export function startLift(incident: Incident, reason: 'expired' | 'lift-now' | 'restore', actor: string, now: Date): Transition {
  const containment = containmentOf(incident);
  requireActive(incident, containment);
  // "Lift now" is offered on an automatic containment only: on one an approver applied, lifting
  // goes through "Lift containment" and its approval rule, whatever a click's action id says.
  if (reason === 'lift-now' && !containment.auto) {
    throw new TransitionRefused('Lift now is only for an automatic containment: use *Lift containment*, which follows the lift approval rule. Nothing changed.', 'not-approved');
  }
  const at = now.toISOString();
  const summary = {
    expired: `The containment time box ran out at ${containment.expiresAt ?? at}: lifting it`,
    'lift-now': 'Lift now: lifting the automatic containment',
    restore: 'The restore step lifts containment',
  }[reason];
  return {
    incident: withContainment(incident, { ...containment, status: 'lifting', liftReason: reason, liftError: undefined }, now),
    events: [{ at, type: 'containment.lift-approved', actor, summary }],
  };
}

/** The lift ran: containment is gone. A finished playbook then finishes the incident too. */
export function completeLift(incident: Incident, events: TimelineEvent[], now: Date): Transition {
  const containment = containmentOf(incident);
  if (containment.status !== 'lifting') throw new TransitionRefused(`containment is ${containment.status}, not being lifted`, 'not-approved');
  const at = now.toISOString();
  const finished = incident.status === 'open' && incident.currentStep === null;
  const all = [...events];
  if (finished) all.push({ at, type: 'incident.completed', actor: botActor, summary: 'Containment lifted; incident closed' });
  return {
    incident: withContainment(incident, { ...containment, status: 'lifted', liftedAt: at }, now, finished ? { status: 'completed' } : {}),
    events: all,
    releaseScope: finished,
  };
}

/** The lift failed part-way: containment stays recorded as in force and can be lifted again. */
export function failLift(incident: Incident, error: string, now: Date): Transition {
  const containment = containmentOf(incident);
  const at = now.toISOString();
  return {
    incident: withContainment(incident, { ...containment, status: 'lift-failed', liftApprovals: [], liftError: error }, now),
    events: [{ at, type: 'containment.lift-failed', actor: botActor, summary: `Lifting containment failed: ${error}`, data: { error } }],
  };
}

/** "Keep contained" on an automatic containment: it becomes a normal incident, with no time box. */
export function keepContained(incident: Incident, user: string, now: Date): Transition {
  const containment = containmentOf(incident);
  requireActive(incident, containment);
  if (!containment.expiresAt && !containment.auto) throw new TransitionRefused('Containment has no time box to cancel. Nothing changed.', 'already-decided');
  const at = now.toISOString();
  const { expiresAt: _cancelled, ...rest } = containment;
  return {
    incident: withContainment(incident, { ...rest, auto: false }, now),
    events: [{ at, type: 'containment.kept', actor: slackActor(user), summary: `<@${user}> keeps the scope contained: no time box, lifted only by an approved lift` }],
  };
}

/**
 * "Contain with <strategy>" after containment was not proven: the contain step runs again with the
 * stronger strategy (proposal, approval, apply on top of what is in force; one lift undoes both).
 */
export function retryContainment(incident: Incident, stepId: string, strategy: string, user: string, now: Date): Transition {
  const containment = containmentOf(incident);
  requireActive(incident, containment);
  if (!containment.notProven) throw new TransitionRefused('Containment is proven: nothing stronger is needed. Nothing changed.', 'already-decided');
  if (!containment.stronger?.includes(strategy)) throw new TransitionRefused(`\`${strategy}\` is not one of the strategies offered. Nothing changed.`, 'not-approved');
  if (incident.currentStep !== null && incident.currentStep !== stepId) throw new TransitionRefused('Another step of the playbook is still running: try again when it has finished. Nothing changed.', 'not-current');
  const step = incident.steps[stepId];
  if (!step) throw new TransitionRefused(`incident ${incident.id} has no step "${stepId}"`, 'not-current');
  const at = now.toISOString();
  return {
    incident: {
      ...incident,
      currentStep: stepId,
      strategyOverride: strategy,
      containment: { ...containment, stronger: [] },
      updatedAt: at,
      steps: { ...incident.steps, [stepId]: { status: 'pending', approvals: [], attempts: step.attempts, reminders: 0 } },
    },
    events: [{ at, type: 'containment.retry', actor: slackActor(user), summary: `<@${user}> asks to contain with \`${strategy}\`: a new proposal follows, to approve` }],
  };
}

/** Whether the lift may be asked for now (for the button, and for clear refusals). */
export function liftable(incident: Incident): boolean {
  const status = incident.containment?.status;
  return incident.status === 'open' && (status === 'active' || status === 'lift-failed');
}
