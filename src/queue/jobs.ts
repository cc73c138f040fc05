// The jobs the incident engine runs. Job ids are deterministic so a duplicate enqueue (a second
// click, a redelivered request) is ignored by the queue instead of running an action twice.
import type { ExportFormat } from '../timeline/render.js';
import type { OpenRequest } from '../incident/transitions.js';

export type IncidentJob =
  | { name: 'open'; data: { request: OpenRequest; responseUrl?: string } }
  | { name: 'run-step'; data: { incidentId: string; stepId: string; attempt: number } }
  | { name: 'remind'; data: { incidentId: string; stepId: string; reminder: number } }
  | { name: 'anomaly-alert'; data: { anomalyId: string } }
  | { name: 'export'; data: { incidentId: string; format: ExportFormat; userId: string; channel: string; responseUrl?: string; requestId: string } }
  /** Lifts the incident's containment (approved, expired or "Lift now"); attempt counts failed lifts. */
  | { name: 'lift'; data: { incidentId: string; attempt: number } }
  /** Fires when the containment time box runs out; expiresAt tells a stale job from a current one. */
  | { name: 'containment-expire'; data: { incidentId: string; expiresAt: string } }
  | { name: 'containment-expiry-reminder'; data: { incidentId: string; expiresAt: string } }
  /** Reads the flow collector's verdict on the scope's traffic once the window after the apply has passed. */
  | { name: 'containment-traffic'; data: { incidentId: string } }
  /** Posts or redraws a drift episode's alert; one job per stored version of the episode. */
  | { name: 'drift-alert'; data: { episodeId: string; version: number } }
  /** Reverts a drift episode to Git (an approver clicked Revert to Git at that version). */
  | { name: 'drift-revert'; data: { episodeId: string; userId: string; version: number } }
  /** Step n of a restore plan (apply and verify, or judge its traffic window, or the lift); round tells a stale job from a current one. */
  | { name: 'restore-continue'; data: { incidentId: string; planId: string; n: number; round: number } }
  /** The restore's watch window after the lift ran out. */
  | { name: 'restore-watch-end'; data: { incidentId: string; planId: string } };

/** Worker slots of the proposals and background lanes (./bullmq.ts) unless configured. */
export const DEFAULT_LANE_SLOTS = { proposals: 4, background: 2 } as const;

// BullMQ refuses ":" in custom ids, so parts are joined with ".".
export function jobIdOf(job: IncidentJob): string {
  switch (job.name) {
    case 'open':
      return `open.${job.data.request.id}`;
    case 'run-step':
      return `${job.data.incidentId}.${job.data.stepId}.${job.data.attempt}`;
    case 'remind':
      return `${job.data.incidentId}.${job.data.stepId}.remind.${job.data.reminder}`;
    case 'anomaly-alert':
      return `anomaly.${job.data.anomalyId.replace(/:/g, '_')}`;
    case 'export':
      return `export.${job.data.incidentId}.${job.data.requestId}`;
    case 'lift':
      return `${job.data.incidentId}.lift.${job.data.attempt}`;
    case 'containment-expire':
      return `${job.data.incidentId}.expire.${Date.parse(job.data.expiresAt)}`;
    case 'containment-expiry-reminder':
      return `${job.data.incidentId}.expiry-reminder.${Date.parse(job.data.expiresAt)}`;
    case 'containment-traffic':
      return `${job.data.incidentId}.traffic`;
    case 'drift-alert':
      return `drift.${job.data.episodeId}.alert.${job.data.version}`;
    case 'drift-revert':
      return `drift.${job.data.episodeId}.revert.${job.data.version}`;
    case 'restore-continue':
      return `${job.data.incidentId}.restore.${job.data.planId}.${job.data.n}.${job.data.round}`;
    case 'restore-watch-end':
      return `${job.data.incidentId}.restore-watch.${job.data.planId}`;
  }
}
