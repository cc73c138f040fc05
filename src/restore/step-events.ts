// The thread's words for what a restore step did: applied and verified, failed, rolled back,
// re-planned. Pure: the runner supplies the results and the clock.
import { keyString } from '../drift/compare.js';
import { describeOwners } from './ownership.js';
import type { RestorePlan, RestoreStep, ReplanNote } from './plan.js';
import type { StepResult } from './execute.js';
import { deltaText, stepLine } from './propose.js';
import { botActor, type TimelineEvent } from '../timeline/types.js';

export type TrafficStatus = 'pass' | 'fail' | 'no-traffic' | 'no-collector' | 'skipped';

export interface TrafficEvidence {
  status: TrafficStatus;
  lines: string[];
}

type Ok = Extract<StepResult, { ok: true }>;
type Failed = Extract<StepResult, { ok: false }>;

const TRAFFIC_TEXT: Record<TrafficStatus, string> = {
  pass: 'traffic ✓',
  fail: 'traffic ✗',
  'no-traffic': 'traffic: no traffic to judge',
  'no-collector': 'traffic: not verified (no flow collector)',
  skipped: 'traffic: not watched (window 0)',
};

function mark(ok: boolean): string {
  return ok ? '✓' : '✗';
}

export function appliedEvent(at: string, stepId: string, planId: string, step: RestoreStep, result: Ok, traffic: TrafficEvidence, approvedBy: string[]): TimelineEvent {
  const v = result.verification;
  const summary = [
    `*Step ${step.n}* ${result.applied === 'unchanged' ? 'found already done' : result.applied}${step.syncedBy && result.applied !== 'unchanged' ? ` by ${step.syncedBy.owner}'s sync at ${step.syncedBy.revision.slice(0, 12)}` : ''}: \`${keyString(step.key)}\` (${step.effect}, ${deltaText(step)})`,
    `Verified: object ${mark(v.object.ok)} · engine ${mark(v.engine.ok)} · ${TRAFFIC_TEXT[traffic.status]}`,
    ...(step.diff.length > 0 ? ['```', ...step.diff.slice(0, 12), ...(step.diff.length > 12 ? [`… ${step.diff.length - 12} more lines`] : []), '```'] : []),
    ...traffic.lines.slice(0, 6).map((l) => `• ${l}`),
  ].join('\n');
  return {
    at,
    type: 'restore.step',
    actor: botActor,
    step: stepId,
    summary,
    data: { planId, n: step.n, action: step.action, key: keyString(step.key), diff: step.diff, opened: step.opened, closed: step.closed, applied: result.applied, ...(step.syncedBy ? { syncedBy: step.syncedBy.owner, revision: step.syncedBy.revision } : {}), approvedBy, verification: { object: v.object, engine: v.engine, traffic } },
  };
}

const MESSAGE_CAP = 1000;

const REASON_TEXT: Record<Failed['reason'], string> = {
  'conflict-changed': 'the live object changed since the plan',
  'field-conflict': 'other field managers own fields of this object',
  forbidden: 'the bot is not allowed to',
  invalid: 'the API server refused the object',
  'verify-failed': 'verification failed',
  error: 'the API call failed',
};

export function failedEvent(at: string, stepId: string, planId: string, step: RestoreStep, failure: Failed | { reason: 'verify-failed'; message: string; verification?: Ok['verification']; traffic?: TrafficEvidence }): TimelineEvent {
  // The API server's message can be anything: the thread and the record keep a bounded part.
  const result = { ...failure, message: failure.message.length > MESSAGE_CAP ? `${failure.message.slice(0, MESSAGE_CAP)}… (${failure.message.length - MESSAGE_CAP} more characters)` : failure.message };
  const owners = 'owners' in result && result.owners ? describeOwners(result.owners) : undefined;
  const verification = 'verification' in result && result.verification ? result.verification : undefined;
  const traffic = 'traffic' in result ? result.traffic : undefined;
  const next =
    result.reason === 'verify-failed'
      ? '*Roll back this step* puts the object back as it was before it; *Continue anyway* (approvers) keeps it.'
      : result.reason === 'field-conflict'
        ? '*Force* (approved) takes those fields; or Stop.'
        : '*Resume* tries the step again; or Stop.';
  const summary = [
    `*Step ${step.n} stopped the plan* (\`${keyString(step.key)}\`): ${REASON_TEXT[result.reason]}: ${result.message}`,
    ...(owners ? [`Field owners: ${owners}`] : []),
    ...(verification ? [`object ${mark(verification.object.ok)} ${verification.object.detail}`, `engine ${mark(verification.engine.ok)} ${verification.engine.detail}`] : []),
    ...(traffic ? [`${TRAFFIC_TEXT[traffic.status]}`, ...traffic.lines.slice(0, 6).map((l) => `• ${l}`)] : []),
    next,
  ].join('\n');
  return { at, type: 'restore.step-failed', actor: botActor, step: stepId, summary, data: { planId, n: step.n, key: keyString(step.key), reason: result.reason, message: result.message, ...(owners ? { owners } : {}), ...(verification ? { verification: { ...verification, ...(traffic ? { traffic } : {}) } } : {}) } };
}

export function rollbackEvent(at: string, actor: string, stepId: string, planId: string, step: RestoreStep, result: StepResult): TimelineEvent {
  const ok = result.ok;
  const verification = result.ok ? result.verification : result.verification;
  const summary = ok
    ? `*Step ${step.n} rolled back*: \`${keyString(step.key)}\` is as it was before the step (object ${mark(result.verification.object.ok)} · engine ${mark(result.verification.engine.ok)}). The restore is stopped: *Resume* re-plans from the live state (the rollback wrote the object again) and asks for approval.`
    : `*Rolling back step ${step.n} failed*: ${result.message.slice(0, MESSAGE_CAP)}. The object stays as the step left it; inspect it before going on.`;
  return { at, type: 'restore.rollback', actor, step: stepId, summary, data: { planId, n: step.n, key: keyString(step.key), ok, message: ok ? 'rolled back' : result.message.slice(0, MESSAGE_CAP), ...(verification ? { verification } : {}) } };
}

export function replannedEvent(at: string, stepId: string, previous: string, planId: string, fromStep: number, plan: RestorePlan): TimelineEvent {
  const notes: ReplanNote[] = plan.replanned ?? [];
  const rest = plan.steps.filter((s) => s.n >= fromStep);
  const summary = [
    `*The live state changed under the plan*: steps from ${fromStep} re-planned.`,
    ...notes.slice(0, 10).map((n) => `• \`${keyString(n.key)}\` ${n.change}: ${n.reason}`),
    ...(rest.length > 0 ? ['New steps:', ...rest.slice(0, 20).map((s) => stepLine(s)), 'Approve to go on with the new steps.'] : ['No step is left: the lift follows.']),
  ].join('\n');
  return { at, type: 'restore.replanned', actor: botActor, step: stepId, summary, data: { planId, previous, fromStep, notes: notes.map((n) => ({ key: keyString(n.key), change: n.change, reason: n.reason })) } };
}
