// A timeline event: one thing that happened during an incident, with who did it and when.
export type TimelineEventType =
  | 'incident.opened'
  | 'incident.duplicate'
  | 'evidence.gathered'
  | 'approval.requested'
  | 'approval.recorded'
  | 'approval.reminder'
  | 'step.approved'
  | 'step.rejected'
  /** Declined under `onReject: skip`: the playbook goes on without the step. */
  | 'step.skipped'
  | 'step.started'
  | 'step.resumed'
  | 'policy.applied'
  | 'policy.confirmed'
  | 'step.completed'
  | 'step.failed'
  | 'incident.completed'
  /** The closing message: time to contain, cause, restore, hardening (written once, with the last step). */
  | 'incident.summary'
  | 'playbook.finished'
  | 'containment.proven'
  | 'containment.not-contained'
  | 'containment.traffic'
  | 'containment.enforced'
  | 'containment.expiring'
  | 'containment.lift-approved'
  | 'containment.lift-recorded'
  | 'containment.lifted'
  | 'containment.lift-verified'
  | 'containment.lift-failed'
  | 'containment.kept'
  | 'containment.retry'
  | 'trace.cause'
  | 'trace.changes'
  | 'validate.summary'
  | 'validate.detail'
  | 'restore.sources'
  | 'restore.plan'
  | 'restore.step-approved'
  | 'restore.step'
  | 'restore.step-failed'
  | 'restore.rollback'
  | 'restore.continued'
  | 'restore.replanned'
  | 'restore.stopped'
  | 'restore.resumed'
  | 'restore.lift'
  | 'restore.watch'
  | 'restore.refired'
  | 'restore.completed'
  | 'harden.delivered'
  | 'harden.drift'
  | 'export.created'
  | 'error';

export interface TimelineEvent {
  /** ISO-8601 time the event happened. */
  at: string;
  type: TimelineEventType;
  /** `slack:U123` for a person, `bot` for the bot itself. */
  actor: string;
  step?: string;
  summary: string;
  data?: Record<string, unknown>;
}

export interface StoredTimelineEvent extends TimelineEvent {
  /** Redis stream id: orders events and serves as the cursor for posting them to Slack. */
  id: string;
}

export const botActor = 'bot';
/** The bot acting on its configuration alone (anomalies.autoContain), not on a person's decision. */
export const automaticActor = 'bot:automatic-response';
/** How that actor is named wherever people read it (Slack, postmortems, the CLI export). */
export const AUTOMATIC_RESPONSE_NAME = 'netpol-responder (automatic response)';
export function slackActor(userId: string): string {
  return `slack:${userId}`;
}
export function actorUserId(actor: string): string | undefined {
  return actor.startsWith('slack:') ? actor.slice('slack:'.length) : undefined;
}
