// Pure transitions of the restore step's run (incident.restore): its start, each step's outcome,
// the decisions people take in Slack (approve a step, Stop, Resume, Continue anyway, Force), a
// re-plan, the lift and the watch window. Same contract as transitions.ts: the store writes the
// record and the events atomically; a refused transition throws TransitionRefused for the user.
import { requiredApprovals, type ApprovalRule } from '../playbook/schema.js';
import type { DoneStep, RestoreButton, RestoreMode, RestoreRun, RestoreRunStatus } from '../restore/run-model.js';
import { isLiftStep, stepWaits } from '../restore/run-model.js';
import { botActor, slackActor, type TimelineEvent } from '../timeline/types.js';
import type { Incident } from './model.js';
import { TransitionRefused, type Transition } from './transitions.js';

function runOf(incident: Incident): RestoreRun {
  if (incident.status !== 'open') throw new TransitionRefused(`Incident ${incident.id} is ${incident.status}. Nothing changed.`, 'terminal');
  if (!incident.restore) throw new TransitionRefused('This incident has no restore in progress. Nothing changed.', 'not-current');
  return incident.restore;
}

function withRun(incident: Incident, run: RestoreRun, now: Date): Incident {
  return { ...incident, restore: run, updatedAt: now.toISOString() };
}

/** Refuses a click on a button drawn for another plan or step (the plan moved on since). */
function requireCurrent(run: RestoreRun, button: RestoreButton, allowed: readonly RestoreRunStatus[]): void {
  if (button.planId !== run.planId || button.n !== run.next) {
    throw new TransitionRefused(`That button is for step ${button.n} of an earlier view of the plan; the restore is now at step ${run.next} of ${run.total}. Nothing changed.`, 'already-decided');
  }
  if (!allowed.includes(run.status)) throw new TransitionRefused(`The restore is ${describeStatus(run)}: that is not possible now. Nothing changed.`, 'already-decided');
}

export function describeStatus(run: RestoreRun): string {
  const at = isLiftStep(run) ? 'at the lift' : `at step ${run.next} of ${run.total}`;
  const text: Record<RestoreRunStatus, string> = {
    running: `running (${at})`,
    'awaiting-step': `waiting for approval (${at})`,
    'traffic-wait': `verifying traffic (${at})`,
    stopped: `stopped (${at})`,
    'verify-failed': `stopped: verification failed (${at})`,
    'field-conflict': `stopped: field-manager conflict (${at})`,
    blocked: `stopped: could not apply (${at})`,
    lifting: 'lifting containment',
    watching: `watching until ${run.watchUntil ?? '?'}`,
    done: 'done',
  };
  return text[run.status];
}

/** The restore step's execution starts the run (again, after an interrupted worker: kept as it was). */
export function beginRestore(incident: Incident, init: { planId: string; source: string; mode: RestoreMode; total: number; approvedBy: string[]; liftAt?: number }, now: Date): Transition {
  if (incident.status !== 'open') throw new TransitionRefused(`Incident ${incident.id} is ${incident.status}. Nothing changed.`, 'terminal');
  if (incident.restore) return { incident, events: [] };
  const run: RestoreRun = {
    planId: init.planId,
    source: init.source,
    mode: init.mode,
    total: init.total,
    next: 1,
    ...(init.liftAt !== undefined && init.liftAt <= init.total ? { liftAt: init.liftAt } : {}),
    status: stepWaits({ mode: init.mode, next: 1, total: init.total, ...(init.liftAt !== undefined ? { liftAt: init.liftAt } : {}) }) ? 'awaiting-step' : 'running',
    stepApprovals: [],
    planApprovedBy: init.approvedBy,
    done: [],
    round: 0,
  };
  return { incident: withRun(incident, run, now), events: [] };
}

/** The runner moves on with step `next` in state `status` (with the events describing why). */
export function setRunStatus(incident: Incident, expect: { planId: string; n: number; round: number }, status: RestoreRunStatus, now: Date, events: TimelineEvent[] = [], extra: Partial<RestoreRun> = {}): Transition | null {
  const run = incident.restore;
  if (incident.status !== 'open' || !run || run.planId !== expect.planId || run.next !== expect.n || run.round !== expect.round) return null;
  return { incident: withRun(incident, { ...run, ...extra, status }, now), events };
}

/** Step `n` is done (applied and verified, or continued anyway): the next one runs, or waits for approval. */
export function finishStep(incident: Incident, expect: { planId: string; n: number; round: number }, outcome: DoneStep['outcome'], now: Date, events: TimelineEvent[]): Transition | null {
  const run = incident.restore;
  if (incident.status !== 'open' || !run || run.planId !== expect.planId || run.next !== expect.n || run.round !== expect.round) return null;
  const approvedBy = run.mode === 'step' ? run.stepApprovals.map((a) => a.user) : run.planApprovedBy;
  const done: DoneStep = { n: run.next, outcome, approvedBy, at: now.toISOString() };
  const next = run.next + 1;
  const waits = stepWaits({ ...run, next });
  const status: RestoreRunStatus = run.status === 'stopped' ? 'stopped' : waits ? 'awaiting-step' : 'running';
  const { failure: _failure, forced: _forced, forceApprovals: _forceApprovals, trafficUntil: _trafficUntil, pending: _pending, ...rest } = run;
  return { incident: withRun(incident, { ...rest, next, status, done: [...run.done, done], stepApprovals: [], round: run.round + 1 }, now), events };
}

/** An approval of step `next` (step mode, or the re-planned rest in plan mode), or of forcing it. */
export function approveRestoreStep(incident: Incident, button: RestoreButton, rule: ApprovalRule['rule'], user: string, now: Date): Transition & { approved: boolean } {
  const run = runOf(incident);
  requireCurrent(run, button, ['awaiting-step', 'field-conflict']);
  if (user === incident.requestedBy) throw new TransitionRefused('You opened this incident, so your approval does not count: another approver must approve.', 'requester');
  const forcing = run.status === 'field-conflict';
  // Forcing is its own decision: the step's approvers approve it afresh.
  const earlier = forcing ? (run.forceApprovals ?? []) : run.stepApprovals;
  if (earlier.some((a) => a.user === user)) throw new TransitionRefused('You already approved this; it needs a second, different approver.', 'duplicate-approval');
  const at = now.toISOString();
  const approvals = [...earlier, { user, at }];
  const approved = approvals.length >= Math.max(1, requiredApprovals(rule));
  const what = forcing ? `forcing step ${run.next} (taking the fields other managers own)` : run.mode === 'plan' ? `the re-planned steps from ${run.next}` : `step ${run.next}`;
  const events: TimelineEvent[] = [{ at, type: 'restore.step-approved', actor: slackActor(user), summary: approved ? `<@${user}> approved ${what}` : `Approval ${approvals.length} of ${requiredApprovals(rule)} for ${what} by <@${user}>`, data: { n: run.next, user, forcing } }];
  if (!approved) return { incident: withRun(incident, forcing ? { ...run, forceApprovals: approvals } : { ...run, stepApprovals: approvals }, now), events, approved };
  const next: RestoreRun = forcing ? { ...run, forceApprovals: approvals, status: 'running', round: run.round + 1, forced: run.next } : { ...run, stepApprovals: approvals, status: 'running', round: run.round + 1 };
  if (run.mode === 'plan' && !forcing) next.planApprovedBy = approvals.map((a) => a.user);
  return { incident: withRun(incident, next, now), events, approved };
}

/** Stop: nothing more is applied after the step in progress. */
export function stopRestore(incident: Incident, button: RestoreButton, user: string, now: Date): Transition {
  const run = runOf(incident);
  requireCurrent(run, button, ['running', 'awaiting-step', 'traffic-wait', 'field-conflict', 'blocked']);
  const at = now.toISOString();
  return {
    // A step in progress keeps its approvers (it finishes and is recorded with them); a pending approval is dropped.
    incident: withRun(incident, { ...run, status: 'stopped', stoppedBy: user, stepApprovals: run.status === 'awaiting-step' ? [] : run.stepApprovals }, now),
    events: [{ at, type: 'restore.stopped', actor: slackActor(user), summary: `<@${user}> stopped the restore before step ${run.next}${run.status === 'traffic-wait' ? ` (step ${run.next} is applied; its traffic check is recorded, then the run halts)` : ''}: nothing more is applied until *Resume*`, data: { n: run.next, user } }],
  };
}

/** Resume after Stop, or retry a step that could not be applied. */
export function resumeRestore(incident: Incident, button: RestoreButton, user: string, now: Date): Transition {
  const run = runOf(incident);
  requireCurrent(run, button, ['stopped', 'blocked']);
  const at = now.toISOString();
  const waits = stepWaits(run);
  // A traffic window of an earlier attempt is never judged again: the step runs afresh.
  const { failure: _failure, stoppedBy: _stoppedBy, forceApprovals: _forceApprovals, pending: _pending, trafficUntil: _trafficUntil, ...rest } = run;
  return {
    incident: withRun(incident, { ...rest, status: waits ? 'awaiting-step' : 'running', round: run.round + 1, stepApprovals: [] }, now),
    events: [{ at, type: 'restore.resumed', actor: slackActor(user), summary: `<@${user}> resumed the restore at ${isLiftStep(run) ? 'the lift' : `step ${run.next}`}`, data: { n: run.next, user } }],
  };
}

/** Continue anyway after a failed verification (approvers; recorded): the step stays as applied. */
export function continueAnyway(incident: Incident, button: RestoreButton, user: string, now: Date): Transition {
  const run = runOf(incident);
  requireCurrent(run, button, ['verify-failed']);
  const at = now.toISOString();
  const event: TimelineEvent = { at, type: 'restore.continued', actor: slackActor(user), summary: `<@${user}> continued anyway: step ${run.next} stays applied although its verification failed (${run.failure?.message ?? 'see above'})`, data: { n: run.next, user, failure: run.failure ?? null } };
  const out = finishStep({ ...incident, restore: { ...run, status: 'running' } }, { planId: run.planId, n: run.next, round: run.round }, 'continued', now, [event]);
  if (!out) throw new TransitionRefused('The restore moved on meanwhile. Nothing changed.', 'already-decided');
  return out;
}

/** A rollback of step `next` is starting (Roll back this step): the run stops there. */
export function startRollback(incident: Incident, button: RestoreButton, now: Date): Transition {
  const run = runOf(incident);
  requireCurrent(run, button, ['verify-failed']);
  // The step is undone: its traffic window (the failed one) must not be judged again.
  const { pending: _pending, trafficUntil: _trafficUntil, ...rest } = run;
  return { incident: withRun(incident, { ...rest, status: 'stopped', round: run.round + 1 }, now), events: [] };
}

/** A live object changed under the plan: the rest is re-planned and waits for approval again. */
export function replanRestore(incident: Incident, expect: { planId: string; n: number; round: number }, plan: { planId: string; total: number; liftAt?: number }, now: Date, events: TimelineEvent[]): Transition | null {
  const run = incident.restore;
  if (incident.status !== 'open' || !run || run.planId !== expect.planId || run.next !== expect.n || run.round !== expect.round) return null;
  const nothingLeft = plan.total < run.next;
  const { failure: _failure, forced: _forced, forceApprovals: _forceApprovals, liftAt: _liftAt, ...rest } = run;
  const liftAt = plan.liftAt !== undefined && plan.liftAt <= plan.total ? { liftAt: plan.liftAt } : {};
  return {
    incident: withRun(incident, { ...rest, ...liftAt, planId: plan.planId, total: plan.total, status: nothingLeft ? 'running' : 'awaiting-step', stepApprovals: [], round: run.round + 1 }, now),
    events,
  };
}

/** The watch window after the lift ran out, or the anomaly fired again and an approver re-contains. */
export function endRestore(incident: Incident, expect: { planId: string }, now: Date): Transition | null {
  const run = incident.restore;
  if (incident.status !== 'open' || !run || run.planId !== expect.planId || run.status !== 'watching') return null;
  return { incident: withRun(incident, { ...run, status: 'done' }, now), events: [] };
}

/** The anomaly's dedupe key fired again during the watch window. */
export function noteRefire(incident: Incident, anomalyId: string, now: Date): Transition | null {
  const run = incident.restore;
  if (incident.status !== 'open' || !run || run.status !== 'watching' || run.refired) return null;
  const at = now.toISOString();
  return {
    incident: withRun(incident, { ...run, refired: { anomalyId, at } }, now),
    events: [{ at, type: 'restore.refired', actor: botActor, summary: `The anomaly fired again during the watch window (\`${anomalyId}\`): *Contain again* re-applies containment at once`, data: { anomalyId } }],
  };
}

/**
 * "Contain again" during the watch window: the restore step is done (its result says why it
 * ended), and the contain step is proposed again as the current step, with no containment on
 * record (the lifted one is in the timeline and its ledger is archived).
 */
export function reopenContainment(incident: Incident, containStepId: string, restoreStepId: string, user: string, now: Date): Transition | null {
  const run = incident.restore;
  if (incident.status !== 'open' || !run || run.status !== 'watching') return null;
  const contain = incident.steps[containStepId];
  const restore = incident.steps[restoreStepId];
  if (!contain || !restore) return null;
  const at = now.toISOString();
  const summary = `Restored from ${run.source}, then the anomaly fired again during the watch window: <@${user}> contains again`;
  const { containment: _lifted, ...rest } = incident;
  return {
    incident: {
      ...rest,
      restore: { ...run, status: 'done' },
      currentStep: containStepId,
      updatedAt: at,
      steps: {
        ...incident.steps,
        [restoreStepId]: { ...restore, status: 'done', result: { summary, source: run.source, steps: run.done, recontained: true } },
        [containStepId]: { status: 'pending', approvals: [], attempts: contain.attempts, reminders: 0 },
      },
    },
    events: [
      { at, type: 'restore.completed', actor: slackActor(user), step: restoreStepId, summary, data: { source: run.source, steps: run.done.length, refired: run.refired ?? null, recontained: true } },
      { at, type: 'containment.retry', actor: slackActor(user), summary: `<@${user}> asks to contain again: a new proposal follows` },
    ],
  };
}
