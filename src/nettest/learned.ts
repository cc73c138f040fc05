// The collector's learned edges as test connections: read from the baseline snapshot the
// collector role keeps in Redis (src/flows/baseline-store.ts, under the flows prefix), so the
// validate step can check that a policy still allows what the apps actually do.
import type { RedisClient } from '../redis/connect.js';
import type { Baseline } from '../flows/baseline.js';
import { BaselineStore } from '../flows/baseline-store.js';
import { peerKind, peerLabel } from '../flows/peers.js';
import { flowsKeyPrefix } from '../flows/watch-registry.js';
import type { LearnedEdge } from './matrix.js';
import type { WorkloadHistory } from '../harden/generate.js';

export interface LearnedEdges {
  /** Sorted by src, dst, protocol, port; each connection once. */
  edges: LearnedEdge[];
  /** Flow time the snapshot was taken at (epoch ms), when there is one. */
  savedAt?: number;
  /** Why there are no edges to read (no snapshot yet, a damaged one). */
  unavailable?: string;
  /** How long each workload in `namespaces` has been observed, at the snapshot's flow time (hardening's minHistory). */
  history?: WorkloadHistory[];
}

const TESTABLE = new Set(['TCP', 'UDP', 'SCTP']);
// Read every edge the snapshot holds, whatever caps the collector ran with.
const NO_CAPS = { maxWorkloads: Number.MAX_SAFE_INTEGER, maxEdgesPerWorkload: Number.MAX_SAFE_INTEGER, maxEdgesTotal: Number.MAX_SAFE_INTEGER };

/**
 * The connections the collector has seen between workloads, and between workloads and IP
 * addresses, that touch `namespaces` (all when absent or empty). `prefix` is the configuration's
 * key prefix (redis.keyPrefix), the one the collector role was started with. Edges to DNS names,
 * aggregate CIDRs and reserved identities (host, world...) are left out: the engine cannot ask
 * about them as such (the IP edge of the same flow is kept). ICMP and port-less edges likewise.
 */
export async function learnedEdges(redis: RedisClient, prefix: string, namespaces?: readonly string[], now = Date.now()): Promise<LearnedEdges> {
  const store = new BaselineStore(redis, { prefix: flowsKeyPrefix(prefix) });
  const loaded = await store.load(now, NO_CAPS);
  if (!loaded.baseline) return { edges: [], unavailable: loaded.reason };
  return { edges: edgesOf(loaded.baseline, namespaces, now), savedAt: loaded.savedAt, history: historyOf(loaded.baseline, namespaces, loaded.savedAt) };
}

/**
 * Each workload's observed time as the baseline measures learning: from the later of its first
 * flow and the baseline's start, to the snapshot's flow time (the collector's clock, not ours).
 */
export function historyOf(baseline: Baseline, namespaces: readonly string[] | undefined, at: number): WorkloadHistory[] {
  const scope = namespaces && namespaces.length > 0 ? new Set(namespaces) : undefined;
  const out: WorkloadHistory[] = [];
  for (const w of baseline.allWorkloads()) {
    if (scope && !scope.has(w.namespace)) continue;
    const since = Number.isNaN(baseline.startedAt) ? w.firstSeen : Math.max(baseline.startedAt, w.firstSeen);
    out.push({ workload: `${w.namespace}/${w.name}`, observedMs: Math.max(0, at - since), learning: baseline.isLearning(w, at) });
  }
  return out.sort((a, b) => (a.workload < b.workload ? -1 : a.workload > b.workload ? 1 : 0));
}

function edgesOf(baseline: Baseline, namespaces: readonly string[] | undefined, now: number): LearnedEdge[] {
  const scope = namespaces && namespaces.length > 0 ? new Set(namespaces) : undefined;
  const inScope = (side: string): boolean => scope === undefined || scope.has(side.slice(0, side.indexOf('/')));
  const out = new Map<string, LearnedEdge>();
  for (const w of baseline.allWorkloads()) {
    const self = `${w.namespace}/${w.name}`;
    for (const e of baseline.edgesOf(w, now)) {
      if (!TESTABLE.has(e.protocol) || e.port < 1 || e.port > 65535) continue;
      const kind = peerKind(e.peer);
      if (kind !== 'workload' && kind !== 'ip') continue;
      const peer = peerLabel(e.peer);
      const [src, dst] = e.direction === 'egress' ? [self, peer] : [peer, self];
      if (!(inScope(self) || (kind === 'workload' && inScope(peer)))) continue;
      // A flow between two workloads is learned on both sides (egress of one, ingress of the other).
      const key = `${src}\u0000${dst}\u0000${e.protocol}\u0000${e.port}`;
      if (!out.has(key)) out.set(key, { src, dst, port: e.port, protocol: e.protocol });
    }
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...out.values()].sort((a, b) => cmp(a.src, b.src) || cmp(a.dst, b.dst) || cmp(a.protocol, b.protocol) || a.port - b.port);
}
