// Step evidence from anomalies: the ones an incident was opened from, and recent ones in its namespace.
import { flowText } from '../flows/replay.js';
import type { Flow } from '../flows/types.js';
import type { Incident } from '../incident/model.js';
import type { AnomalyLookup, AnomalySummary } from '../playbook/steps/types.js';
import type { AnomalyRecord, AnomalyStore } from './store.js';

const ENGINE_PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP']);

/** A flow as the policy engine can query it: pods by namespace/name, anything else by IP. */
function probeOf(flow: Flow): NonNullable<AnomalySummary['probes']>[number] | undefined {
  const side = (e: Flow['source']): string => (e.namespace && e.pod ? `${e.namespace}/${e.pod}` : e.ip);
  const src = side(flow.source);
  const dst = side(flow.destination);
  if (!src || !dst || !ENGINE_PROTOCOLS.has(flow.protocol) || flow.destination.port <= 0 || flow.isReply === true) return undefined;
  return { src, dst, port: flow.destination.port, protocol: flow.protocol as 'TCP' | 'UDP' | 'SCTP', at: flow.time };
}

export function summarizeAnomaly(record: AnomalyRecord): AnomalySummary {
  const { anomaly } = record;
  const probes = anomaly.evidence.map(probeOf).filter((p): p is NonNullable<typeof p> => p !== undefined);
  return {
    id: anomaly.id,
    kind: anomaly.kind,
    severity: anomaly.severity,
    title: anomaly.title,
    baseline: anomaly.baseline.description,
    sampleFlows: anomaly.evidence.slice(0, 3).map((f) => flowText(f)),
    ...(probes.length > 0 ? { probes: probes.slice(0, 5) } : {}),
    firstSeen: anomaly.firstSeen,
    raisedAt: record.raisedAt,
    ...(record.decision?.kind === 'dismissed' ? { dismissed: true } : {}),
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
