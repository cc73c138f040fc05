// The restore step's run, as kept on the incident record (small: the plan itself is stored apart,
// by id, and never changes; a re-plan is a new plan). Types and pure helpers only.
import type { Approval } from '../incident/model.js';
import type { SourceKind } from './source-types.js';

/** How the playbook approves a restore: once for the whole plan (with Stop), or every step. */
export type RestoreMode = 'plan' | 'step';

export type RestoreRunStatus =
  /** The runner works on step `next` (or the lift, when `next` is past the last step). */
  | 'running'
  /** Step mode: step `next` waits for its approval. */
  | 'awaiting-step'
  /** Step `next` is applied and verified by object and engine; its traffic window is open. */
  | 'traffic-wait'
  /** Stop was pressed: nothing more is applied until Resume. */
  | 'stopped'
  /** Step `next` failed its verification: Roll back this step, or Continue anyway. */
  | 'verify-failed'
  /** Step `next` would take or leave fields other managers own: Force (approved), or Stop. */
  | 'field-conflict'
  /** Step `next` could not be applied (forbidden, invalid, an API error): the message says why. */
  | 'blocked'
  /** Every step is done: containment is being lifted. */
  | 'lifting'
  /** Containment is lifted; the watch window is open. */
  | 'watching'
  | 'done';

/** One option of the known-good source choice, as shown before the choice. */
export interface SourceOption {
  index: number;
  kind: SourceKind;
  label: string;
  available: boolean;
  reason?: string;
  caveat?: string;
  /** Objects the restore would change from this source (create, update, delete). */
  objects?: number;
  /** Engine connections the whole restore would open / close. */
  opened?: number;
  closed?: number;
  /** The line shown in Slack (describeOption). */
  text: string;
  /** The "type a SHA or tag" option: `/netpol restore <incident> <sha-or-tag>`. */
  needsInput?: boolean;
}

/** What the restore step proposes before approval (its evidence). */
export interface RestoreProposal {
  kind: 'restore-proposal';
  summary: string;
  options: SourceOption[];
  /** Index into options of the source planned (-1: none could be planned). */
  chosen: number;
  /** A typed revision (option 4) planned instead of a listed option. */
  typed?: string;
  planId?: string;
  mode: RestoreMode;
  /** The numbered plan, one line per step, the lift last. */
  steps: string[];
  safe: boolean;
  notes: string[];
}

export interface DoneStep {
  n: number;
  outcome: 'created' | 'updated' | 'deleted' | 'unchanged' | 'rolled-back' | 'continued' | 'synced';
  /** Who approved it (step mode), or the plan's approvers. */
  approvedBy: string[];
  at: string;
}

export interface RestoreRun {
  planId: string;
  /** The source's label (revision or journal instant). */
  source: string;
  mode: RestoreMode;
  /** Steps in the plan; the lift is step total + 1. */
  total: number;
  /** The first step not done (1-based); total + 1 is the lift. */
  next: number;
  /**
   * The lift comes before this step (default total + 1: after the last). Steps from it on are
   * synced by their GitOps controller, which the lift lets reconcile again.
   */
  liftAt?: number;
  /** Containment is lifted (the steps left, if any, are the controllers'). */
  lifted?: boolean;
  status: RestoreRunStatus;
  /** Approvals collected for step `next` (step mode, or the re-planned rest in plan mode). */
  stepApprovals: Approval[];
  /** Approvals for forcing step `next` past a field-manager conflict: counted apart from the step's own. */
  forceApprovals?: Approval[];
  /** The plan's approvers (plan mode): recorded on every step. */
  planApprovedBy: string[];
  done: DoneStep[];
  failure?: { n: number; reason: string; message: string };
  /** Step `next` may take other managers' fields (Force, approved). */
  forced?: number;
  stoppedBy?: string;
  /** When the traffic window of step `next` closes (traffic-wait). */
  trafficUntil?: string;
  /** Step `next` as applied, while its traffic window is open: what was written and the object and engine checks. */
  pending?: { applied: 'created' | 'updated' | 'deleted' | 'unchanged'; object: { ok: boolean; detail: string }; engine: { ok: boolean; detail: string } };
  watchUntil?: string;
  /** The anomaly fired again during the watch window: Contain again is offered. */
  refired?: { anomalyId: string; at: string };
  /** Bumped by every re-plan or retry, so a stale job or click is told from a current one. */
  round: number;
}

/** Button value of a restore control: incident, plan and step, so that a stale click is refused. */
export interface RestoreButton {
  incidentId: string;
  planId: string;
  n: number;
}

/** The run is at the lift: after the plan's last step, or before the first one a GitOps controller syncs. */
export function isLiftStep(run: Pick<RestoreRun, 'next' | 'total' | 'liftAt' | 'lifted'>): boolean {
  return !run.lifted && run.next === Math.min(run.liftAt ?? run.total + 1, run.total + 1);
}

/** In step mode, step `next` waits for its approval (the lift itself needs none: the plan's approval covers it). */
export function stepWaits(run: Pick<RestoreRun, 'mode' | 'next' | 'total' | 'liftAt' | 'lifted'>): boolean {
  return run.mode === 'step' && run.next <= run.total && !isLiftStep(run);
}
