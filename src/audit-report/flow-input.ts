// The collector's learned edges with their last-seen times, read from the baseline snapshot the
// collector role keeps in Redis (src/flows/baseline-store.ts): what the unused-policy check
// matches against the policies (./matched.ts). Any role can read it.
import type { RedisClient } from '../redis/connect.js';
import { BaselineStore } from '../flows/baseline-store.js';
import { peerKind, peerLabel } from '../flows/peers.js';
import { flowsKeyPrefix } from '../flows/watch-registry.js';
import type { FlowEdge } from './matched.js';

export type LearnedFlows = { ok: true; edges: FlowEdge[]; savedAt: number; startedAt?: number } | { ok: false; reason: string };

// Every edge the snapshot holds, whatever caps the collector ran with.
const NO_CAPS = { maxWorkloads: Number.MAX_SAFE_INTEGER, maxEdgesPerWorkload: Number.MAX_SAFE_INTEGER, maxEdgesTotal: Number.MAX_SAFE_INTEGER };

/**
 * Edges between workloads and between workloads and IP addresses (DNS names, CIDR aggregates and
 * reserved identities cannot be asked about as such). A flow between two workloads is learned on
 * both sides: the same connection then appears twice, which only costs a cache hit in matchFlows.
 */
export async function readLearnedFlows(redis: RedisClient, prefix: string, now = Date.now()): Promise<LearnedFlows> {
  const store = new BaselineStore(redis, { prefix: flowsKeyPrefix(prefix) });
  const loaded = await store.load(now, NO_CAPS);
  if (!loaded.baseline) return { ok: false, reason: `the flow collector has no usable baseline snapshot (${loaded.reason})` };
  const snapshot = loaded.baseline.snapshot();
  const edges: FlowEdge[] = [];
  for (const [wi, suffix, , lastSeen] of snapshot.edges) {
    const w = snapshot.workloads[wi];
    if (!w) continue;
    // "d|protocol|port|peer": the peer is last and may itself hold "|".
    const [d, protocol, port] = suffix.split('|', 3) as [string, string, string];
    const peer = suffix.slice(d.length + protocol.length + port.length + 3);
    const kind = peerKind(peer);
    if (kind !== 'workload' && kind !== 'ip') continue;
    const self = `${w.namespace}/${w.name}`;
    const other = peerLabel(peer);
    const edge: FlowEdge = d === 'e' ? { src: self, dst: other, protocol, port: Number(port), lastSeen, srcKind: w.kind } : { src: other, dst: self, protocol, port: Number(port), lastSeen, dstKind: w.kind };
    edges.push(edge);
  }
  return { ok: true, edges, savedAt: loaded.savedAt, ...(snapshot.startedAt !== null ? { startedAt: snapshot.startedAt } : {}) };
}
