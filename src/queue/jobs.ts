// The jobs the incident engine runs. Job ids are deterministic so a duplicate enqueue (a second
// click, a redelivered request) is ignored by the queue instead of running an action twice.
import type { ExportFormat } from '../timeline/render.js';
import type { OpenRequest } from '../incident/transitions.js';

export type IncidentJob =
  | { name: 'open'; data: { request: OpenRequest; responseUrl?: string } }
  | { name: 'run-step'; data: { incidentId: string; stepId: string; attempt: number } }
  | { name: 'remind'; data: { incidentId: string; stepId: string; reminder: number } }
  | { name: 'anomaly-alert'; data: { anomalyId: string } }
  | { name: 'export'; data: { incidentId: string; format: ExportFormat; userId: string; channel: string; responseUrl?: string; requestId: string } };

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
  }
}
