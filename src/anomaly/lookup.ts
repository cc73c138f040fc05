// Step evidence from anomalies: the ones an incident was opened from, and recent ones in its namespace.
import { flowText } from '../flows/replay.js';
import type { Incident } from '../incident/model.js';
import type { AnomalyLookup, AnomalySummary } from '../playbook/steps/types.js';
import type { AnomalyRecord, AnomalyStore } from './store.js';

export function summarizeAnomaly(record: AnomalyRecord): AnomalySummary {
  const { anomaly } = record;
  return {
    id: anomaly.id,
    kind: anomaly.kind,
    severity: anomaly.severity,
    title: anomaly.title,
    baseline: anomaly.baseline.description,
    sampleFlows: anomaly.evidence.slice(0, 3).map((f) => flowText(f)),
  };
}

export function anomalyLookup(store: AnomalyStore, recentWindowMs: number, clock: () => Date = () => new Date()): AnomalyLookup {
  return {
    async forIncident(incident: Incident) {
      const attached = await Promise.all((incident.anomalyIds ?? []).map((id) => store.get(id)));
      const recent = await store.recent(incident.scope.namespace, new Date(clock().getTime() - recentWindowMs));
      const seen = new Set<string>();
      const out: AnomalySummary[] = [];
      for (const record of [...attached, ...recent]) {
        if (!record || seen.has(record.anomaly.id)) continue;
        seen.add(record.anomaly.id);
        out.push(summarizeAnomaly(record));
      }
      return out;
    },
  };
}
