// The incident record kept in Redis. Everything the bot knows about an incident is here or in
// its timeline stream, so any worker can pick up any step after a restart.
import type { RestoreRun } from '../restore/run-model.js';
import { AUTOMATIC_RESPONSE_NAME } from '../timeline/types.js';

/** A Kubernetes LabelSelector (metav1.LabelSelector). */
export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface IncidentScope {
  namespace: string;
  /** The selector as the user typed it (kubectl syntax), absent for the whole namespace. */
  selector?: string;
  labelSelector?: LabelSelectorSpec;
}

/**
 * `rejected`: declined, and the incident stopped with it. `skipped`: declined under the playbook's
 * `onReject: skip`, and the playbook went on without it (rejectedBy says who declined it).
 */
export type StepStatus = 'pending' | 'awaiting-approval' | 'approved' | 'running' | 'done' | 'rejected' | 'skipped' | 'failed';

export interface Approval {
  user: string;
  at: string;
}

export interface StepState {
  status: StepStatus;
  approvals: Approval[];
  /** Who declined the step (status rejected or skipped). */
  rejectedBy?: Approval;
  /** Execution attempts; part of the step's job id so a deliberate retry is a new job. */
  attempts: number;
  requestedAt?: string;
  reminders: number;
  /** What the step proposes to do (shown before approval) and what it found. */
  evidence?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: string;
}

export type IncidentStatus = 'open' | 'completed' | 'rejected' | 'failed';

/**
 * Containment in force for the incident's scope. It outlives the step that applied it: the
 * incident stays open (and holds its scope) until containment is lifted.
 */
export interface ContainmentState {
  status: 'active' | 'lifting' | 'lifted' | 'lift-failed';
  strategy: string;
  appliedAt: string;
  /** The time box: containment is lifted (and verified) when it runs out. */
  expiresAt?: string;
  /** Applied by automatic response, without an approval. */
  auto?: boolean;
  /** Approvals collected for lifting it, under the contain step's rule. */
  liftApprovals: Approval[];
  liftReason?: 'approved' | 'expired' | 'lift-now' | 'restore';
  liftedAt?: string;
  liftError?: string;
  /** The engine found connections still open: the containment is in force but not proven. */
  notProven?: boolean;
  /** Stronger strategies the cluster serves, offered when it is not proven. */
  stronger?: string[];
}

/** How an incident opened by automatic response (anomalies.autoContain) contains its scope. */
export interface AutoResponse {
  /** Index of the anomalies.autoContain rule that matched. */
  rule: number;
  /** The rule's strategy, over the playbook's (absent: the playbook's). */
  strategy?: string;
  /** The time box, in ms: containment is lifted and verified when it runs out unless kept. */
  maxDuration: number;
  /** The anomaly that triggered it. */
  anomalyId: string;
}

export interface Incident {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  scope: IncidentScope;
  scopeKey: string;
  /** The cluster it is in, when the bot serves several (config `clusters`). */
  cluster?: string;
  reason?: string;
  /** Anomalies the incident was opened from. */
  anomalyIds?: string[];
  /** The drift episode this incident was opened from (drift alert, Open incident). */
  driftEpisodeId?: string;
  /** The Slack user who opened it; for automatic response, the automatic-response actor. */
  requestedBy: string;
  /** Set when automatic response opened it: the contain step runs without approval, time-boxed. */
  auto?: AutoResponse;
  /** A stronger strategy an approver asked for after containment was not proven. */
  strategyOverride?: string;
  channel: string;
  /** The incident message in Slack, updated in place; events are replies in its thread. */
  messageTs?: string;
  status: IncidentStatus;
  /** Step now in progress, null once the playbook is finished or stopped. */
  currentStep: string | null;
  stepOrder: string[];
  steps: Record<string, StepState>;
  containment?: ContainmentState;
  /** The restore step's run (step 4): where it is in its plan. */
  restore?: RestoreRun;
  /** The known-good source chosen for the restore (an option's index, or a typed revision). */
  restoreChoice?: { option: number } | { typed: string };
}

/** The Slack user who opened the incident; undefined when automatic response did. */
export function requesterUserId(incident: Pick<Incident, 'auto' | 'requestedBy'>): string | undefined {
  return incident.auto ? undefined : incident.requestedBy;
}

/** Who opened it, for Slack (a mention) or, with `names`, for a document read outside Slack. */
export function openedByText(incident: Pick<Incident, 'auto' | 'requestedBy'>, names?: Record<string, string>): string {
  const user = requesterUserId(incident);
  if (!user) return AUTOMATIC_RESPONSE_NAME;
  if (!names) return `<@${user}>`;
  return names[user] ? `@${names[user]}` : `<@${user}>`;
}

export function isTerminal(status: IncidentStatus): boolean {
  return status !== 'open';
}

/** One open incident per scope: the key that identifies "the same scope". */
export function scopeKeyOf(scope: IncidentScope): string {
  const selector = scope.selector ? normaliseSelectorText(scope.selector) : '*';
  return `${scope.namespace}/${selector}`;
}

function normaliseSelectorText(text: string): string {
  // Requirements are comma-separated except inside "in (a,b)"; sort them so order does not matter.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text.replace(/\s+/g, '')) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.filter(Boolean).sort().join(',');
}
