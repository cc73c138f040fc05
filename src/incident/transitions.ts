// Pure state transitions of an incident. Each takes the current record and returns the next one
// plus the timeline events that describe the change; the store writes both atomically. A
// transition that must not happen throws TransitionRefused with a message for the user.
import { escapeMrkdwn } from '../slack/block-text.js';
import type { ApprovalRule, Playbook } from '../playbook/schema.js';
import { requiredApprovals } from '../playbook/schema.js';
import { formatDuration } from '../timeline/render.js';
import { automaticActor, botActor, slackActor, type TimelineEvent } from '../timeline/types.js';
import type { AutoResponse, ContainmentState, Incident, IncidentScope, StepState } from './model.js';
import { scopeKeyOf } from './model.js';
import { closingFacts, closingSummary } from './closing-summary.js';

export class TransitionRefused extends Error {
  constructor(
    message: string,
    readonly code: 'already-decided' | 'requester' | 'duplicate-approval' | 'not-current' | 'terminal' | 'not-approved',
  ) {
    super(message);
    this.name = 'TransitionRefused';
  }
}

export interface Transition {
  incident: Incident;
  events: TimelineEvent[];
  /** The incident no longer holds its scope (finished, rejected, failed). */
  releaseScope?: boolean;
}

export interface OpenRequest {
  id: string;
  scope: IncidentScope;
  reason?: string;
  requestedBy: string;
  channel: string;
  /** Anomalies this incident was opened from: shown as evidence in step 1. */
  anomalyIds?: string[];
  /** The drift episode it was opened from: step 3 shows it. */
  driftEpisodeId?: string;
  /** Automatic response: contain at once without approval, time-boxed (requestedBy is then the automatic-response actor). */
  auto?: AutoResponse;
  /** The cluster (set by the engine of a runtime serving one of several clusters). */
  cluster?: string;
}

function openedSummary(request: OpenRequest, where: string): string {
  // The summary is mrkdwn (a thread reply): the typed reason or an alert's title must not mention or format.
  const why = request.reason ? `: ${escapeMrkdwn(request.reason)}` : '';
  if (!request.auto) return `Incident opened for ${where}${why}`;
  return `Automatic response (anomalies.autoContain rule ${request.auto.rule + 1}) opened the incident for ${where}${why}. Containment applies without approval, for at most ${formatDuration(request.auto.maxDuration)} unless an approver keeps it`;
}

export function openIncident(request: OpenRequest, playbook: Playbook, now: Date): Transition {
  const at = now.toISOString();
  const steps: Record<string, StepState> = {};
  for (const step of playbook.steps) steps[step.id] = { status: 'pending', approvals: [], attempts: 0, reminders: 0 };
  const first = playbook.steps[0]?.id ?? null;
  const incident: Incident = {
    id: request.id,
    version: 0,
    createdAt: at,
    updatedAt: at,
    scope: request.scope,
    scopeKey: scopeKeyOf(request.scope),
    ...(request.cluster ? { cluster: request.cluster } : {}),
    reason: request.reason,
    ...(request.anomalyIds?.length ? { anomalyIds: request.anomalyIds } : {}),
    ...(request.driftEpisodeId ? { driftEpisodeId: request.driftEpisodeId } : {}),
    requestedBy: request.auto ? automaticActor : request.requestedBy,
    ...(request.auto ? { auto: request.auto } : {}),
    channel: request.channel,
    status: 'open',
    currentStep: first,
    stepOrder: playbook.steps.map((s) => s.id),
    steps,
  };
  const where = (request.scope.selector ? `pods matching \`${request.scope.selector}\` in \`${request.scope.namespace}\`` : `namespace \`${request.scope.namespace}\``) + (request.cluster ? ` of cluster \`${request.cluster}\`` : '');
  return {
    incident,
    events: [
      {
        at,
        type: 'incident.opened',
        actor: request.auto ? automaticActor : slackActor(request.requestedBy),
        summary: openedSummary(request, where),
        data: { scope: request.scope, reason: request.reason ?? null, ...(request.auto ? { auto: request.auto } : {}) },
      },
    ],
  };
}

function stepOf(incident: Incident, stepId: string): StepState {
  const step = incident.steps[stepId];
  if (!step) throw new Error(`incident ${incident.id} has no step "${stepId}"`);
  return step;
}

function withStep(incident: Incident, stepId: string, next: StepState, now: Date, extra: Partial<Incident> = {}): Incident {
  return { ...incident, ...extra, updatedAt: now.toISOString(), steps: { ...incident.steps, [stepId]: next } };
}

function requireOpen(incident: Incident): void {
  if (incident.status !== 'open') throw new TransitionRefused(`incident ${incident.id} is ${incident.status}`, 'terminal');
}

/**
 * Evidence gathered and the proposal ready: ask for approval, or approve at once when the rule is
 * none (`waived` says who waived it and why, e.g. automatic response; default: the playbook).
 */
export function requestApproval(incident: Incident, stepId: string, rule: ApprovalRule, evidence: Record<string, unknown>, now: Date, waived?: { actor: string; summary: string }): Transition {
  requireOpen(incident);
  const step = stepOf(incident, stepId);
  if (step.status !== 'pending') throw new TransitionRefused(`step ${stepId} is already ${step.status}`, 'already-decided');
  const at = now.toISOString();
  const events: TimelineEvent[] = [
    { at, type: 'evidence.gathered', actor: botActor, step: stepId, summary: String(evidence.summary ?? 'Evidence gathered'), data: evidence },
  ];
  const needed = requiredApprovals(rule.rule);
  if (needed === 0) {
    events.push({ at, type: 'step.approved', actor: waived?.actor ?? botActor, step: stepId, summary: waived?.summary ?? 'No approval required by the playbook' });
    return { incident: withStep(incident, stepId, { ...step, status: 'approved', evidence, requestedAt: at }, now), events };
  }
  events.push({
    at,
    type: 'approval.requested',
    actor: botActor,
    step: stepId,
    summary: needed === 2 ? 'Approval requested from two distinct approvers' : 'Approval requested',
    data: { rule: rule.rule },
  });
  return { incident: withStep(incident, stepId, { ...step, status: 'awaiting-approval', evidence, requestedAt: at }, now), events };
}

function describeDecision(step: StepState): string {
  if (step.status === 'rejected' && step.rejectedBy) return `rejected by <@${step.rejectedBy.user}> at ${step.rejectedBy.at}`;
  if (step.status === 'skipped' && step.rejectedBy) return `declined by <@${step.rejectedBy.user}> at ${step.rejectedBy.at}, and skipped`;
  const who = step.approvals.map((a) => `<@${a.user}>`).join(' and ');
  return who ? `${step.status} (approved by ${who})` : step.status;
}

export interface ApprovalOutcome extends Transition {
  /** True when this approval completed the rule and the step may run. */
  approved: boolean;
}

/** A declined-and-skipped step: the playbook went on (or closed), so say what was decided. */
function refuseSkipped(incident: Incident, stepId: string): void {
  const step = incident.steps[stepId];
  if (step?.status === 'skipped') throw new TransitionRefused(`This step was already decided: ${describeDecision(step)}. Nothing changed.`, 'already-decided');
}

export function recordApproval(incident: Incident, stepId: string, rule: ApprovalRule, user: string, now: Date): ApprovalOutcome {
  refuseSkipped(incident, stepId);
  requireOpen(incident);
  if (incident.currentStep !== stepId) throw new TransitionRefused(`step ${stepId} is not the current step`, 'not-current');
  const step = stepOf(incident, stepId);
  if (step.status !== 'awaiting-approval') {
    throw new TransitionRefused(`This step was already decided: ${describeDecision(step)}. Nothing changed.`, 'already-decided');
  }
  if (user === incident.requestedBy) {
    throw new TransitionRefused('You opened this incident, so your approval does not count: another approver must approve.', 'requester');
  }
  if (step.approvals.some((a) => a.user === user)) {
    throw new TransitionRefused('You already approved this step; it needs a second, different approver.', 'duplicate-approval');
  }
  const at = now.toISOString();
  const approvals = [...step.approvals, { user, at }];
  const needed = requiredApprovals(rule.rule);
  const approved = approvals.length >= needed;
  const events: TimelineEvent[] = [
    {
      at,
      type: approved ? 'step.approved' : 'approval.recorded',
      actor: slackActor(user),
      step: stepId,
      summary: approved ? `Approved by ${approvals.map((a) => `<@${a.user}>`).join(' and ')}` : `Approval ${approvals.length} of ${needed} by <@${user}>`,
      data: { approvals },
    },
  ];
  const next: StepState = { ...step, approvals, status: approved ? 'approved' : 'awaiting-approval' };
  return { incident: withStep(incident, stepId, next, now), events, approved };
}

/** How the playbook treats a declined step (its `onReject` and `title`); absent: stop. */
export interface RejectPolicy {
  onReject: 'stop' | 'skip';
  title: string;
}

/**
 * A Reject click. Under `onReject: stop` (the default) the incident is rejected and nothing more
 * runs; under `skip` the step is skipped and the playbook goes on with the next step, or ends as
 * it does after a completed last step (closing summary included).
 */
export function recordRejection(incident: Incident, stepId: string, user: string, now: Date, policy?: RejectPolicy): Transition {
  refuseSkipped(incident, stepId);
  requireOpen(incident);
  if (incident.currentStep !== stepId) throw new TransitionRefused(`step ${stepId} is not the current step`, 'not-current');
  const step = stepOf(incident, stepId);
  if (step.status !== 'awaiting-approval') {
    throw new TransitionRefused(`This step was already decided: ${describeDecision(step)}. Nothing changed.`, 'already-decided');
  }
  const at = now.toISOString();
  if (policy?.onReject === 'skip') {
    const declined: TimelineEvent = { at, type: 'step.skipped', actor: slackActor(user), step: stepId, summary: `${policy.title} declined by <@${user}>; the step is skipped and nothing was applied for it` };
    return advancePast(incident, stepId, { ...step, status: 'skipped', rejectedBy: { user, at } }, [declined], now);
  }
  return {
    incident: withStep(incident, stepId, { ...step, status: 'rejected', rejectedBy: { user, at } }, now, { status: 'rejected', currentStep: null }),
    events: [{ at, type: 'step.rejected', actor: slackActor(user), step: stepId, summary: `Rejected by <@${user}>; nothing was applied` }],
    releaseScope: true,
  };
}

export interface StartOutcome extends Transition {
  /** The step was already running: a worker died mid-step and this run picks it up. */
  resumed: boolean;
}

export function startStep(incident: Incident, stepId: string, now: Date): StartOutcome {
  requireOpen(incident);
  const step = stepOf(incident, stepId);
  const at = now.toISOString();
  if (step.status === 'running') {
    return {
      incident: { ...incident, updatedAt: at },
      events: [{ at, type: 'step.resumed', actor: botActor, step: stepId, summary: 'Step resumed after an interrupted run' }],
      resumed: true,
    };
  }
  if (step.status !== 'approved') throw new TransitionRefused(`step ${stepId} is ${step.status}, not approved`, 'not-approved');
  return {
    incident: withStep(incident, stepId, { ...step, status: 'running', attempts: step.attempts + 1 }, now),
    events: [{ at, type: 'step.started', actor: botActor, step: stepId, summary: 'Step started' }],
    resumed: false,
  };
}

export function completeStep(incident: Incident, stepId: string, result: Record<string, unknown>, events: TimelineEvent[], now: Date, containment?: ContainmentState): Transition {
  requireOpen(incident);
  const step = stepOf(incident, stepId);
  if (step.status !== 'running') throw new TransitionRefused(`step ${stepId} is ${step.status}, not running`, 'not-approved');
  const at = now.toISOString();
  const all: TimelineEvent[] = [...events, { at, type: 'step.completed', actor: botActor, step: stepId, summary: String(result.summary ?? 'Step completed'), data: result }];
  return advancePast(incident, stepId, { ...step, status: 'done', result }, all, now, containment);
}

/** The step after `stepId` still to run: one done (a step run again, a stronger containment) or skipped is not run again. */
function nextStepAfter(incident: Incident, stepId: string): string | null {
  const index = incident.stepOrder.indexOf(stepId);
  return incident.stepOrder.slice(index + 1).find((id) => incident.steps[id]?.status !== 'done' && incident.steps[id]?.status !== 'skipped') ?? null;
}

/** The step is over (done, or declined and skipped): move on to the next step, or end the playbook. */
function advancePast(incident: Incident, stepId: string, state: StepState, events: TimelineEvent[], now: Date, containment?: ContainmentState): Transition {
  const at = now.toISOString();
  const nextStep = nextStepAfter(incident, stepId);
  const inForce = containment ?? incident.containment;
  // The playbook may end with containment still in force: the incident then stays open, holding
  // its scope, until containment is lifted.
  const holding = inForce !== undefined && inForce.status !== 'lifted';
  const finished = nextStep === null && !holding;
  const all = [...events];
  if (finished) all.push({ at, type: 'incident.completed', actor: botActor, summary: 'Playbook finished' });
  else if (nextStep === null) all.push({ at, type: 'playbook.finished', actor: botActor, summary: 'Playbook finished; containment stays in place until it is lifted' });
  const next = withStep(incident, stepId, state, now, { currentStep: nextStep, status: finished ? 'completed' : 'open', ...(containment ? { containment } : {}) });
  // The closing summary is written in the same transition that ends the playbook: whichever worker
  // or replica runs it, it is on the timeline once, and the thread publisher posts it once.
  if (nextStep === null) all.push({ at, type: 'incident.summary', actor: botActor, summary: closingSummary(next, at), data: { ...closingFacts(next) } });
  return { incident: next, events: all, releaseScope: finished };
}

/**
 * The step failed. With containment still in force (applied, but not proven), the incident stays
 * open and holds its scope, so the containment can be lifted; otherwise the incident has failed.
 */
export function failStep(incident: Incident, stepId: string, error: string, now: Date, inForce?: { containment: ContainmentState; events: TimelineEvent[] }): Transition {
  const step = stepOf(incident, stepId);
  const at = now.toISOString();
  const events: TimelineEvent[] = [...(inForce?.events ?? []), { at, type: 'step.failed', actor: botActor, step: stepId, summary: `Step failed: ${error}`, data: { error } }];
  if (inForce) {
    // The playbook goes on (tracing the cause needs no proof), and the containment can be lifted.
    const nextStep = nextStepAfter(incident, stepId);
    if (nextStep === null) events.push({ at, type: 'playbook.finished', actor: botActor, summary: 'Playbook finished; containment stays in place until it is lifted' });
    return {
      incident: withStep(incident, stepId, { ...step, status: 'failed', error }, now, { currentStep: nextStep, containment: inForce.containment }),
      events,
    };
  }
  return {
    incident: withStep(incident, stepId, { ...step, status: 'failed', error }, now, { status: 'failed', currentStep: null }),
    events,
    releaseScope: true,
  };
}

/** A reminder is due when the step still waits for a decision. Returns null when it is not. */
export function recordReminder(incident: Incident, stepId: string, rule: ApprovalRule, now: Date): Transition | null {
  const step = incident.steps[stepId];
  if (incident.status !== 'open' || !step || step.status !== 'awaiting-approval' || step.reminders >= rule.maxReminders) return null;
  const at = now.toISOString();
  const reminders = step.reminders + 1;
  const missing = requiredApprovals(rule.rule) - step.approvals.length;
  return {
    incident: withStep(incident, stepId, { ...step, reminders }, now),
    events: [
      {
        at,
        type: 'approval.reminder',
        actor: botActor,
        step: stepId,
        summary: `Still waiting for ${missing} approval${missing === 1 ? '' : 's'} (reminder ${reminders} of ${rule.maxReminders})`,
        data: { reminders },
      },
    ],
  };
}

export function setMessage(incident: Incident, messageTs: string, now: Date): Transition {
  return { incident: { ...incident, messageTs, updatedAt: now.toISOString() }, events: [] };
}
