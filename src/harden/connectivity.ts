// What the hardening step records for the postmortem's "after" graph: for each learned edge and
// each anomalous flow, whether the live policies allow it now (after the restore) and whether the
// state after the merge does (the state the engine proved: prove.ts stateAfterMerge). Also maps
// the anomaly's pods to the workloads the baseline and the tests name. Pure.
import { allowed, buildIndex, loadLiveObjects, type LiveObjects, type PolicyIndex } from '../policy/index.js';
import type { Protocol } from '../policy/port-set.js';
import { workloadNameOf } from './selectors.js';
import type { ConnectivityRow } from './step-model.js';

export const MAX_CONNECTIVITY_ROWS = 500;

export interface Connection {
  src: string;
  dst: string;
  port: number;
  protocol: string;
}

/** `ns/pod` sides become `ns/workload` (as the collector names workloads); addresses stay. */
export function toWorkloads(live: LiveObjects, flows: readonly Connection[]): Connection[] {
  const byPod = new Map<string, string>();
  for (const pod of loadLiveObjects(live).pods) if (!pod.fromTemplate) byPod.set(`${pod.namespace}/${pod.name}`, `${pod.namespace}/${workloadNameOf(pod)}`);
  const seen = new Set<string>();
  const out: Connection[] = [];
  for (const f of flows) {
    const c = { src: byPod.get(f.src) ?? f.src, dst: byPod.get(f.dst) ?? f.dst, port: f.port, protocol: f.protocol.toUpperCase() };
    const key = `${c.src}\u0000${c.dst}\u0000${c.protocol}\u0000${c.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out;
}

function verdict(index: PolicyIndex, c: Connection): boolean {
  try {
    return allowed(index, c.src, c.dst, c.port, c.protocol as Protocol)?.allowed === true;
  } catch {
    return false;
  }
}

/** Anomalies first (fewer, and what the graph is about), then learned edges; at most 500 rows. */
export function connectivityRows(live: LiveObjects, merged: LiveObjects, learned: readonly Connection[], anomalies: readonly Connection[]): { rows: ConnectivityRow[]; total: number } {
  const now = buildIndex(live).index;
  const after = buildIndex(merged).index;
  const all = [...anomalies.map((c) => ({ c, kind: 'anomaly' as const })), ...learned.map((c) => ({ c, kind: 'learned' as const }))];
  const rows = all.slice(0, MAX_CONNECTIVITY_ROWS).map(({ c, kind }) => ({ src: c.src, dst: c.dst, port: c.port, protocol: c.protocol, kind, live: verdict(now, c), baseline: verdict(after, c) }));
  return { rows, total: all.length };
}
