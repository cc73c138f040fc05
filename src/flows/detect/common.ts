// Helpers shared by the detectors: workload references, containment scope, anomaly assembly.
import type { WorkloadStats } from '../baseline.js';
import type { Anomaly, AnomalyKind, BaselineFigure, Flow, ScopeSuggestion, Severity, WorkloadRef } from '../types.js';

export function workloadRef(workload: WorkloadStats): WorkloadRef {
  return { namespace: workload.namespace, name: workload.name, kind: workload.kind };
}

/** Contain the workload's pods when an app-like selector is known, else the whole namespace. */
export function scopeFor(workload: WorkloadStats): ScopeSuggestion {
  const entries = Object.entries(workload.selector);
  if (entries.length === 0) {
    return { namespace: workload.namespace, reason: `no pod labels seen for ${workload.key}: contain the namespace` };
  }
  return {
    namespace: workload.namespace,
    podSelector: { ...workload.selector },
    reason: `pods of ${workload.key}, selected by ${entries.map(([k, v]) => `${k}=${v}`).join(',')}`,
  };
}

export function anomaly(
  kind: AnomalyKind,
  severity: Severity,
  title: string,
  workload: WorkloadStats,
  baseline: BaselineFigure,
  dedupeKey: string,
  flow: Flow,
  details: Record<string, string>,
): Anomaly {
  return {
    id: `${dedupeKey}@${flow.time}`,
    kind,
    severity,
    title,
    workload: workloadRef(workload),
    scope: scopeFor(workload),
    baseline,
    evidence: [flow],
    dedupeKey,
    firstSeen: flow.time,
    lastSeen: flow.time,
    origin: 'flows',
    details,
  };
}

export function hours(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 1 ? `${h.toFixed(1)} h` : `${Math.round(ms / 60_000)} min`;
}
