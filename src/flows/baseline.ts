// Behavioural baseline: for every workload, the peers it talks to (workloads, external IPs and
// their CIDRs, DNS names, reserved identities) by direction, protocol and port, with counts,
// per-bucket rates and first/last seen; plus per-workload flow and policy-drop rates.
// Pure data structure: time is always passed in. Bounded: a cap per workload and in total,
// with sampled eviction of the least informative edges, and slow exponential decay so that
// peers a workload stopped using fade out and count as new again.
//
// Edge statistics live in typed arrays indexed by slot (struct of arrays), so one edge costs a
// Map entry, its key string and ~48 bytes of numbers instead of a JS object.
import { cidrOf, isClusterName, isExternal, peerKeyOf } from './peers.js';
import type { Flow, FlowEndpoint, WorkloadKey } from './types.js';
import { POLICY_DROP_REASONS } from './normalize.js';
import { EdgeIndex } from './edge-index.js';

// Edge key: hi = workloadIndex·2^26 + peerId, lo = port | protocol << 16 | direction << 20.
// Edge statistics: one record of STRIDE numbers per slot, interleaved so a flow on a known edge
// touches one cache line (at 1M edges, separate arrays per field cost a cache miss per field).
// weight/rateMean/rateDev are rounded to float32 (Math.fround) as they always were, bucket and
// bucketCount are integers: the figures, and so the detectors' thresholds, are unchanged.
const STRIDE = 8;
const FIRST_SEEN = 0;
const LAST_SEEN = 1;
const WEIGHT = 2;
const COUNT = 3;
const BUCKET = 4;
const BUCKET_COUNT = 5;
const RATE_MEAN = 6;
const RATE_DEV = 7;
const PEER_SPACE = 2 ** 26;
const PROTOCOLS = ['NONE', 'TCP', 'UDP', 'SCTP', 'ICMPv4', 'ICMPv6', 'DNS'];
const PROTOCOL_CODE: Record<string, number> = Object.fromEntries(PROTOCOLS.map((p, i) => [p, i]));

function edgeLo(direction: string, protocol: string, port: number): number {
  return port | ((PROTOCOL_CODE[protocol] ?? 0) << 16) | (direction === 'e' ? 1 << 20 : 0);
}

export interface BaselineOptions {
  /** Rate bucket length. */
  bucketMs: number;
  /** How long a workload is watched before its deviations are reported. */
  learningPeriodMs: number;
  /** Half-life of an edge's weight (its decayed flow count). */
  halfLifeMs: number;
  /** An edge whose decayed weight falls below this is forgotten (and is "new" again if seen). */
  forgetBelowWeight: number;
  /** Buckets of history per workload for the median/MAD of flow and drop rates. */
  historyBuckets: number;
  /** EWMA smoothing factor of per-edge bucket rates (2/(N+1) ≈ N buckets). */
  edgeRateAlpha: number;
  maxEdgesPerWorkload: number;
  maxEdgesTotal: number;
  maxWorkloads: number;
  /** Candidates sampled per eviction; the least informative one goes. */
  evictionSample: number;
  cidrV4Prefix: number;
  cidrV6Prefix: number;
  /** DNS suffixes that are cluster-internal (never external egress). */
  clusterDomains: string[];
  /** Fan-out window (distinct destinations counted per window). */
  fanoutWindowMs: number;
  /** Distinct destinations tracked per window at most (bounds memory; detection needs no more). */
  fanoutTrackLimit: number;
}

export const DEFAULT_BASELINE_OPTIONS: BaselineOptions = {
  bucketMs: 60_000,
  learningPeriodMs: 60 * 60_000,
  halfLifeMs: 7 * 24 * 3_600_000,
  forgetBelowWeight: 0.25,
  historyBuckets: 60,
  edgeRateAlpha: 2 / 31,
  maxEdgesPerWorkload: 4096,
  maxEdgesTotal: 2_000_000,
  maxWorkloads: 50_000,
  evictionSample: 16,
  cidrV4Prefix: 24,
  cidrV6Prefix: 48,
  clusterDomains: ['cluster.local'],
  fanoutWindowMs: 60_000,
  fanoutTrackLimit: 512,
};

export type EdgeDirection = 'egress' | 'ingress';

export interface WorkloadStats {
  index: number;
  key: WorkloadKey;
  namespace: string;
  name: string;
  kind: string;
  /** Labels fit for a pod selector (app-like labels of the pods seen). */
  selector: Record<string, string>;
  firstSeen: number;
  lastSeen: number;
  edgeSlots: number[];
  /** This workload as a peer of others ("w:ns/name"), and that peer's id when last seen (a hint, checked before use). */
  peerKey: string;
  peerIdHint: number;
  /** Current rate bucket index and its counts so far. */
  bucket: number;
  flows: number;
  drops: number;
  /** Ring of completed buckets' counts (flows / policy drops), newest at historyPos-1. */
  flowHistory: Float32Array;
  dropHistory: Float32Array;
  historyLen: number;
  historyPos: number;
  flowMedian: number;
  flowMad: number;
  dropMedian: number;
  dropMad: number;
  /**
   * Distinct egress destinations (peer × port) in the current fan-out window, as peerId·65536 + port
   * (numbers: no "peer|port" string per flow). Each entry holds a reference on its peer, so a peer id
   * cannot be recycled while a window counts it. Readable form: Baseline.fanoutSample().
   */
  fanout: Set<number>;
  fanoutWindow: number;
  /** Largest fan-out of a completed window, decaying slowly. */
  fanoutPeak: number;
}

export interface EdgeObservation {
  slot: number;
  peer: string;
  port: number;
  protocol: string;
  direction: EdgeDirection;
  /** The edge was unknown (or forgotten) before this flow. */
  isNew: boolean;
}

export interface SideObservation {
  workload: WorkloadStats;
  /** true while the workload is inside its learning period: nothing is reported for it. */
  learning: boolean;
  /** Primary edge first; for external peers also the CIDR and DNS-name edges. */
  edges: EdgeObservation[];
  /** This flow added a distinct destination to the workload's current fan-out window. */
  fanoutGrew: boolean;
}

export interface Observation {
  flow: Flow;
  /** Time used for the baseline (the flow time, clamped by the pipeline). */
  time: number;
  /** Egress side: the source workload. Ingress side: the destination workload. */
  source: SideObservation | null;
  destination: SideObservation | null;
  /** The flow was dropped by a network policy. */
  policyDrop: boolean;
}

const SELECTOR_LABELS = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app', 'k8s-app', 'component', 'name'];

function selectorOf(endpoint: FlowEndpoint): Record<string, string> {
  const selector: Record<string, string> = {};
  for (const key of SELECTOR_LABELS) {
    const value = endpoint.labels[key];
    if (value !== undefined) selector[key] = value;
  }
  return selector;
}

/** Same as Object.keys(o).length === 0 without allocating the keys array (runs twice per flow). */
function hasNoKeys(o: Record<string, string>): boolean {
  for (const _ in o) return false;
  return true;
}

function median(values: Float32Array, n: number, scratch: Float64Array): number {
  for (let i = 0; i < n; i++) scratch[i] = values[i] as number;
  const sorted = scratch.subarray(0, n).sort();
  if (n === 0) return 0;
  const mid = n >> 1;
  return n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median absolute deviation of the first n values around m. */
function mad(values: Float32Array, n: number, m: number, scratch: Float64Array): number {
  for (let i = 0; i < n; i++) scratch[i] = Math.abs((values[i] as number) - m);
  const sorted = scratch.subarray(0, n).sort();
  if (n === 0) return 0;
  const mid = n >> 1;
  return n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export class Baseline {
  readonly options: BaselineOptions;
  /** Earliest time seen: learning is measured from max(this, workload.firstSeen). */
  startedAt = Number.NaN;
  private readonly workloads = new Map<WorkloadKey, WorkloadStats>();
  private readonly workloadByIndex: (WorkloadStats | undefined)[] = [];
  private nextWorkloadIndex = 0;

  // Peers are interned: one string per distinct peer, reference-counted by the edges using it.
  private readonly peerIds = new Map<string, number>();
  private readonly peerNames: (string | undefined)[] = [];
  private peerRefs: number[] = [];
  private readonly freePeers: number[] = [];

  // Edge storage: (hi, lo) key → slot, and per-slot statistics.
  private readonly index = new EdgeIndex();
  private capacity = 0;
  private free: number[] = [];
  private used = 0;
  private edgeHi: Float64Array<ArrayBuffer> = new Float64Array(0);
  private edgeLoKey = new Int32Array(0);
  /** Position of the slot in its workload's edgeSlots; -1 for a free slot. */
  private edgePos = new Int32Array(0);
  /** Per-slot statistics, STRIDE numbers per edge side by side (see STRIDE). */
  private stats: Float64Array<ArrayBuffer> = new Float64Array(0);
  private sweepCursor = 0;
  /** One past the highest slot ever handed out. */
  private highWater = 0;
  private readonly scratch: Float64Array;
  private evictions = 0;
  private randomState = 0x9e3779b9;

  constructor(options: Partial<BaselineOptions> = {}) {
    this.options = { ...DEFAULT_BASELINE_OPTIONS, ...options };
    this.scratch = new Float64Array(this.options.historyBuckets);
  }

  get edgeCount(): number {
    return this.used;
  }

  get workloadCount(): number {
    return this.workloads.size;
  }

  get evictionCount(): number {
    return this.evictions;
  }

  workload(key: WorkloadKey): WorkloadStats | undefined {
    return this.workloads.get(key);
  }

  allWorkloads(): IterableIterator<WorkloadStats> {
    return this.workloads.values();
  }

  bucketOf(time: number): number {
    return Math.floor(time / this.options.bucketMs);
  }

  isLearning(workload: WorkloadStats, time: number): boolean {
    const since = Number.isNaN(this.startedAt) ? workload.firstSeen : Math.max(this.startedAt, workload.firstSeen);
    return time - since < this.options.learningPeriodMs;
  }

  /** Edge figures for a slot returned in an observation. */
  edge(slot: number, time: number): { firstSeen: number; lastSeen: number; count: number; weight: number; bucketCount: number; rateMean: number; rateDev: number } {
    const at = slot * STRIDE;
    return {
      firstSeen: this.stats[at + FIRST_SEEN] as number,
      lastSeen: this.stats[at + LAST_SEEN] as number,
      count: this.stats[at + COUNT] as number,
      weight: this.decayedWeight(slot, time),
      bucketCount: this.stats[at + BUCKET] === this.bucketOf(time) ? (this.stats[at + BUCKET_COUNT] as number) : 0,
      rateMean: this.stats[at + RATE_MEAN] as number,
      rateDev: this.stats[at + RATE_DEV] as number,
    };
  }

  /** The edge's flow count in the bucket of `time` (the figure edge() reports as bucketCount), without the rest. */
  edgeBucketCount(slot: number, time: number): number {
    const at = slot * STRIDE;
    return this.stats[at + BUCKET] === this.bucketOf(time) ? (this.stats[at + BUCKET_COUNT] as number) : 0;
  }

  /** Known edges of a workload, as peer keys with direction/protocol/port (for reports and the CLI). */
  edgesOf(workload: WorkloadStats, time: number): { peer: string; direction: EdgeDirection; protocol: string; port: number; count: number; weight: number }[] {
    return workload.edgeSlots.map((slot) => {
      const lo = this.edgeLoKey[slot] as number;
      return {
        peer: this.peerOf(slot),
        direction: lo & (1 << 20) ? 'egress' : 'ingress',
        protocol: PROTOCOLS[(lo >> 16) & 15] ?? 'NONE',
        port: lo & 0xffff,
        count: this.stats[slot * STRIDE + COUNT] as number,
        weight: this.decayedWeight(slot, time),
      };
    });
  }

  private peerOf(slot: number): string {
    return this.peerNames[(this.edgeHi[slot] as number) % PEER_SPACE] ?? '';
  }

  /** "d|protocol|port|peer": the snapshot form of an edge key, independent of internal ids. */
  private edgeSuffix(slot: number): string {
    const lo = this.edgeLoKey[slot] as number;
    return `${lo & (1 << 20) ? 'e' : 'i'}|${PROTOCOLS[(lo >> 16) & 15] ?? 'NONE'}|${lo & 0xffff}|${this.peerOf(slot)}`;
  }

  private internPeer(peer: string): number {
    let id = this.peerIds.get(peer);
    if (id === undefined) {
      id = this.freePeers.pop() ?? this.peerNames.length;
      this.peerIds.set(peer, id);
      this.peerNames[id] = peer;
      this.peerRefs[id] = 0;
    }
    return id;
  }

  private releasePeer(id: number): void {
    const refs = (this.peerRefs[id] ?? 1) - 1;
    this.peerRefs[id] = refs;
    if (refs > 0) return;
    const name = this.peerNames[id];
    if (name !== undefined) this.peerIds.delete(name);
    this.peerNames[id] = undefined;
    this.freePeers.push(id);
  }

  /** Learns from one flow and says what it changed. The caller decides what is anomalous. */
  observe(flow: Flow, time: number): Observation {
    if (Number.isNaN(this.startedAt) || time < this.startedAt) this.startedAt = time;
    const policyDrop = flow.verdict === 'DROPPED' && POLICY_DROP_REASONS.has(flow.dropReason);
    const observation: Observation = { flow, time, source: null, destination: null, policyDrop };
    // Replies reverse the roles of the endpoints; the request already taught us the edge.
    if (flow.isReply === true) return observation;
    const counts = flow.verdict !== 'DROPPED' && flow.verdict !== 'ERROR';
    if (!counts && !policyDrop) return observation;

    const src = flow.source;
    const dst = flow.destination;
    // A policy drop is charged to the side whose policy dropped it (egress → source, ingress → destination).
    if (src.workloadKey) {
      observation.source = this.side(src, dst, 'egress', flow, time, counts, policyDrop && flow.direction !== 'INGRESS');
    }
    if (dst.workloadKey) {
      observation.destination = this.side(dst, src, 'ingress', flow, time, counts, policyDrop && flow.direction !== 'EGRESS');
    }
    return observation;
  }

  private side(local: FlowEndpoint, remote: FlowEndpoint, direction: EdgeDirection, flow: Flow, time: number, counts: boolean, drop: boolean): SideObservation {
    const workload = this.touchWorkload(local, time);
    const side: SideObservation = { workload, learning: this.isLearning(workload, time), edges: [], fanoutGrew: false };
    if (drop) workload.drops += 1;
    if (!counts) return side;
    workload.flows += 1;

    const port = flow.destination.port;
    const protocol = flow.protocol;
    const d = direction === 'egress' ? 'e' : 'i';
    // A known remote workload carries its peer key and id: two large-map lookups fewer per side,
    // and the map entry is the one the other side of this flow reads next anyway.
    const remoteWorkload = remote.workloadKey ? this.workloads.get(remote.workloadKey) : undefined;
    const peer = remoteWorkload ? remoteWorkload.peerKey : peerKeyOf(remote);
    if (peer) {
      const edge = this.touchEdge(workload, d, protocol, port, peer, time, remoteWorkload ? remoteWorkload.peerIdHint : -1);
      if (remoteWorkload) {
        const id = (this.edgeHi[edge.slot] as number) % PEER_SPACE;
        remoteWorkload.peerIdHint = id;
        // The interned instance itself, so the next check is a pointer comparison, not a string one.
        remoteWorkload.peerKey = this.peerNames[id] ?? remoteWorkload.peerKey;
      }
      side.edges.push(edge);
    }
    if (direction === 'egress') {
      const primary = peer ? (side.edges[0] as EdgeObservation) : undefined;
      if (!remote.workloadKey && peer.startsWith('ip:') && isExternal(remote)) {
        const cidr = cidrOf(remote.ip, this.options.cidrV4Prefix, this.options.cidrV6Prefix);
        if (cidr) side.edges.push(this.touchEdge(workload, d, protocol, port, `cidr:${cidr}`, time));
      }
      for (let i = 0; i < remote.names.length && i < 2; i++) {
        const name = remote.names[i] as string;
        if (!isClusterName(name, this.options.clusterDomains)) side.edges.push(this.touchEdge(workload, d, protocol, port, `dns:${name}`, time));
      }
      const query = flow.l7?.dnsQuery;
      if (query && flow.l7?.type === 'REQUEST' && !isClusterName(query, this.options.clusterDomains)) {
        side.edges.push(this.touchEdge(workload, d, 'DNS', 0, `dns:${query}`, time));
      }
      side.fanoutGrew = this.trackFanout(workload, peer, primary, port, time);
    }
    return side;
  }

  /** The peer's id, from the primary edge when that edge is still there (saves a lookup), else interned. */
  private fanoutPeerId(peer: string, primary: EdgeObservation | undefined): number {
    if (primary && (this.edgePos[primary.slot] as number) >= 0) {
      const id = (this.edgeHi[primary.slot] as number) % PEER_SPACE;
      if (this.peerNames[id] === peer) return id;
    }
    return this.internPeer(peer);
  }

  /** Up to `max` of the workload's fan-out destinations in the window, oldest first, as "peer|port". */
  fanoutSample(workload: WorkloadStats, max: number): string[] {
    const sample: string[] = [];
    for (const key of workload.fanout) {
      if (sample.length >= max) break;
      sample.push(`${this.peerNames[Math.floor(key / 65536)] ?? ''}|${key % 65536}`);
    }
    return sample;
  }

  /** Empties a workload's fan-out window, dropping the references its entries hold on peers. */
  private clearFanout(workload: WorkloadStats): void {
    for (const key of workload.fanout) this.releasePeer(Math.floor(key / 65536));
    workload.fanout.clear();
  }

  /** Ports are 0..65535 (the normalizer rejects others), so peerId·65536 + port is one-to-one. */
  private trackFanout(workload: WorkloadStats, peer: string, primary: EdgeObservation | undefined, port: number, time: number): boolean {
    const window = Math.floor(time / this.options.fanoutWindowMs);
    if (window !== workload.fanoutWindow) {
      if (window > workload.fanoutWindow) {
        // Peak decays by 1% per window so one old burst does not raise the bar forever.
        const elapsed = Math.min(window - workload.fanoutWindow, 1000);
        workload.fanoutPeak = Math.max(workload.fanoutPeak * Math.pow(0.99, elapsed), workload.fanout.size);
      }
      this.clearFanout(workload);
      workload.fanoutWindow = window;
    }
    if (workload.fanout.size >= this.options.fanoutTrackLimit) return false;
    // Interned only past the limit check: a peer interned here is then always referenced (no leak).
    const peerId = this.fanoutPeerId(peer, primary);
    const key = peerId * 65536 + port;
    if (workload.fanout.has(key)) return false;
    workload.fanout.add(key);
    this.peerRefs[peerId] = (this.peerRefs[peerId] ?? 0) + 1;
    return true;
  }

  private touchWorkload(endpoint: FlowEndpoint, time: number): WorkloadStats {
    const key = endpoint.workloadKey || `${endpoint.namespace}/${endpoint.workload}`;
    let workload = this.workloads.get(key);
    if (!workload) {
      if (this.workloads.size >= this.options.maxWorkloads) this.evictWorkload();
      workload = this.newWorkload(key, endpoint.namespace, endpoint.workload, endpoint.workloadKind, selectorOf(endpoint), time);
    } else if (hasNoKeys(workload.selector) && !hasNoKeys(endpoint.labels)) {
      workload.selector = selectorOf(endpoint);
    }
    if (time > workload.lastSeen) workload.lastSeen = time;
    if (time < workload.firstSeen) workload.firstSeen = time;
    const bucket = this.bucketOf(time);
    if (Number.isNaN(workload.bucket)) {
      workload.bucket = bucket; // first flow after closeBuckets(): open a fresh bucket
      workload.flows = 0;
      workload.drops = 0;
    } else if (bucket > workload.bucket) this.rollWorkload(workload, bucket);
    return workload;
  }

  private newWorkload(key: string, namespace: string, name: string, kind: string, selector: Record<string, string>, time: number): WorkloadStats {
    const workload: WorkloadStats = {
      index: this.nextWorkloadIndex++,
      key,
      namespace,
      name,
      kind,
      selector,
      firstSeen: time,
      lastSeen: time,
      peerKey: `w:${key}`,
      peerIdHint: -1,
      edgeSlots: [],
      bucket: this.bucketOf(time),
      flows: 0,
      drops: 0,
      flowHistory: new Float32Array(this.options.historyBuckets),
      dropHistory: new Float32Array(this.options.historyBuckets),
      historyLen: 0,
      historyPos: 0,
      flowMedian: 0,
      flowMad: 0,
      dropMedian: 0,
      dropMad: 0,
      fanout: new Set(),
      fanoutWindow: Math.floor(time / this.options.fanoutWindowMs),
      fanoutPeak: 0,
    };
    this.workloads.set(key, workload);
    this.workloadByIndex[workload.index] = workload;
    return workload;
  }

  /** Closes the workload's current bucket (and any empty ones after it) into its history. */
  private rollWorkload(workload: WorkloadStats, bucket: number): void {
    const size = this.options.historyBuckets;
    const push = (flows: number, drops: number): void => {
      workload.flowHistory[workload.historyPos] = flows;
      workload.dropHistory[workload.historyPos] = drops;
      workload.historyPos = (workload.historyPos + 1) % size;
      if (workload.historyLen < size) workload.historyLen += 1;
    };
    push(workload.flows, workload.drops);
    const empty = Math.min(bucket - workload.bucket - 1, size);
    for (let i = 0; i < empty; i++) push(0, 0);
    workload.bucket = bucket;
    workload.flows = 0;
    workload.drops = 0;
    const n = workload.historyLen;
    workload.flowMedian = median(workload.flowHistory, n, this.scratch);
    workload.flowMad = mad(workload.flowHistory, n, workload.flowMedian, this.scratch);
    workload.dropMedian = median(workload.dropHistory, n, this.scratch);
    workload.dropMad = mad(workload.dropHistory, n, workload.dropMedian, this.scratch);
  }

  /** `peerIdHint`: the peer's id if the caller has one (-1 if not); used only when it still names `peer`. */
  private touchEdge(workload: WorkloadStats, d: string, protocol: string, port: number, peer: string, time: number, peerIdHint = -1): EdgeObservation {
    const bucket = this.bucketOf(time);
    const known = peerIdHint >= 0 && this.peerNames[peerIdHint] === peer ? peerIdHint : this.peerIds.get(peer);
    const lo = edgeLo(d, protocol, port);
    let slot = known === undefined ? -1 : this.index.get(workload.index * PEER_SPACE + known, lo);
    let isNew = slot < 0;
    // Decayed once and handed to bumpEdge (Math.pow is a visible cost at this rate).
    let weight = isNew ? 0 : this.decayedWeight(slot, time);
    if (!isNew && weight < this.options.forgetBelowWeight) {
      // Faded out: the workload stopped using this peer long ago, so it counts as new again.
      this.resetEdge(slot, time, bucket);
      isNew = true;
      weight = 0;
    }
    if (slot < 0) slot = this.addEdge(workload, peer, lo, time, bucket);
    this.bumpEdge(slot, time, bucket, weight);
    return { slot, peer, port, protocol, direction: d === 'e' ? 'egress' : 'ingress', isNew };
  }

  private decayedWeight(slot: number, time: number): number {
    const age = time - (this.stats[slot * STRIDE + LAST_SEEN] as number);
    const w = this.stats[slot * STRIDE + WEIGHT] as number;
    return age <= 0 ? w : w * Math.pow(2, -age / this.options.halfLifeMs);
  }

  /** `weight`: the edge's weight decayed to `time`, before this flow. */
  private bumpEdge(slot: number, time: number, bucket: number, weight: number): void {
    const stats = this.stats;
    const at = slot * STRIDE;
    stats[at + WEIGHT] = Math.fround(weight + 1);
    if (time > (stats[at + LAST_SEEN] as number)) stats[at + LAST_SEEN] = time;
    stats[at + COUNT] = (stats[at + COUNT] as number) + 1;
    const current = stats[at + BUCKET] as number;
    if (current < 0) {
      stats[at + BUCKET] = bucket; // reopened after closeBuckets(): learned rates are kept
      stats[at + BUCKET_COUNT] = 1;
    } else if (bucket > current) {
      // Fold the finished bucket, then the empty buckets in between, into the EWMA rate.
      const alpha = this.options.edgeRateAlpha;
      let mean = stats[at + RATE_MEAN] as number;
      let dev = stats[at + RATE_DEV] as number;
      const finished = stats[at + BUCKET_COUNT] as number;
      dev += alpha * (Math.abs(finished - mean) - dev);
      mean += alpha * (finished - mean);
      const empty = Math.min(bucket - current - 1, 64);
      for (let i = 0; i < empty; i++) {
        dev += alpha * (mean - dev);
        mean -= alpha * mean;
      }
      stats[at + RATE_MEAN] = Math.fround(mean);
      stats[at + RATE_DEV] = Math.fround(dev);
      stats[at + BUCKET] = bucket;
      stats[at + BUCKET_COUNT] = 1;
    } else if (bucket === current) {
      stats[at + BUCKET_COUNT] = (stats[at + BUCKET_COUNT] as number) + 1;
    }
    // A late flow (bucket < current) counts in totals and weight only.
  }

  private resetEdge(slot: number, time: number, bucket: number): void {
    const stats = this.stats;
    const at = slot * STRIDE;
    stats[at + FIRST_SEEN] = time;
    stats[at + LAST_SEEN] = time;
    stats[at + WEIGHT] = 0;
    stats[at + COUNT] = 0;
    stats[at + BUCKET] = bucket;
    stats[at + BUCKET_COUNT] = 0;
    stats[at + RATE_MEAN] = 0;
    stats[at + RATE_DEV] = 0;
  }

  private addEdge(workload: WorkloadStats, peer: string, lo: number, time: number, bucket: number): number {
    if (workload.edgeSlots.length >= this.options.maxEdgesPerWorkload) this.evictFrom(workload.edgeSlots, time);
    if (this.used >= this.options.maxEdgesTotal) this.evictGlobal(time);
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.highWater >= this.capacity) this.grow();
      slot = this.highWater++;
    }
    // Interned after eviction, which may have released the last reference to another peer.
    const peerId = this.internPeer(peer);
    this.peerRefs[peerId] = (this.peerRefs[peerId] ?? 0) + 1;
    const hi = workload.index * PEER_SPACE + peerId;
    this.index.set(hi, lo, slot);
    this.edgeHi[slot] = hi;
    this.edgeLoKey[slot] = lo;
    this.edgePos[slot] = workload.edgeSlots.length;
    workload.edgeSlots.push(slot);
    this.resetEdge(slot, time, bucket);
    this.used += 1;
    return slot;
  }

  private grow(): void {
    const capacity = Math.max(1024, this.capacity * 2);
    const grow32 = (a: Int32Array): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(capacity);
      b.set(a);
      return b;
    };
    const growF64 = (a: Float64Array, length: number): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(length);
      b.set(a);
      return b;
    };
    this.edgeLoKey = grow32(this.edgeLoKey);
    this.edgePos = grow32(this.edgePos);
    this.edgePos.fill(-1, this.capacity);
    this.edgeHi = growF64(this.edgeHi, capacity);
    this.stats = growF64(this.stats, capacity * STRIDE);
    this.capacity = capacity;
  }

  /** How much an edge is worth keeping: its decayed weight, more for edges seen over a long span. */
  private informativeness(slot: number, time: number): number {
    const spanBuckets = ((this.stats[slot * STRIDE + LAST_SEEN] as number) - (this.stats[slot * STRIDE + FIRST_SEEN] as number)) / this.options.bucketMs;
    return this.decayedWeight(slot, time) * (1 + Math.log1p(Math.max(0, spanBuckets)));
  }

  private random(n: number): number {
    // xorshift32: deterministic, cheap, good enough for sampling.
    let x = this.randomState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.randomState = x >>> 0;
    return this.randomState % n;
  }

  private evictFrom(candidates: number[], time: number): void {
    let worst = -1;
    let worstScore = Infinity;
    for (let i = 0; i < this.options.evictionSample; i++) {
      const slot = candidates[this.random(candidates.length)] as number;
      const score = this.informativeness(slot, time);
      if (score < worstScore) {
        worstScore = score;
        worst = slot;
      }
    }
    if (worst >= 0) this.removeEdge(worst);
  }

  private evictGlobal(time: number): void {
    let worst = -1;
    let worstScore = Infinity;
    for (let tries = 0, sampled = 0; sampled < this.options.evictionSample && tries < this.options.evictionSample * 8; tries++) {
      const slot = this.random(this.highWater);
      if ((this.edgePos[slot] as number) < 0) continue;
      sampled += 1;
      const score = this.informativeness(slot, time);
      if (score < worstScore) {
        worstScore = score;
        worst = slot;
      }
    }
    if (worst >= 0) this.removeEdge(worst);
  }

  private removeEdge(slot: number): void {
    const pos = this.edgePos[slot] as number;
    if (pos < 0) return;
    const hi = this.edgeHi[slot] as number;
    this.index.delete(hi, this.edgeLoKey[slot] as number);
    this.releasePeer(hi % PEER_SPACE);
    this.edgePos[slot] = -1;
    const workload = this.workloadByIndex[Math.floor(hi / PEER_SPACE)];
    if (workload) {
      // Swap-remove from the workload's slot list, fixing the moved slot's position.
      const last = workload.edgeSlots.pop() as number;
      if (last !== slot) {
        workload.edgeSlots[pos] = last;
        this.edgePos[last] = pos;
      }
    }
    this.free.push(slot);
    this.used -= 1;
    this.evictions += 1;
  }

  private evictWorkload(): void {
    let oldest: WorkloadStats | undefined;
    for (const w of this.workloads.values()) if (!oldest || w.lastSeen < oldest.lastSeen) oldest = w;
    if (!oldest) return;
    for (const slot of [...oldest.edgeSlots]) this.removeEdge(slot);
    this.clearFanout(oldest);
    this.workloads.delete(oldest.key);
    this.workloadByIndex[oldest.index] = undefined;
  }

  /**
   * Drops the open (partial) buckets without folding them into the learned rates, so the next
   * flows may come from any time, e.g. a capture from another day replayed after learning.
   */
  closeBuckets(): void {
    for (const w of this.workloads.values()) {
      w.bucket = Number.NaN;
      this.clearFanout(w);
      w.fanoutWindow = Number.NaN;
    }
    for (let slot = 0; slot < this.highWater; slot++) {
      this.stats[slot * STRIDE + BUCKET] = -1;
      this.stats[slot * STRIDE + BUCKET_COUNT] = 0;
    }
  }

  /**
   * Forgets faded edges, looking at `budget` slots from where the last sweep stopped, so the
   * cost per call stays bounded however many edges there are. Returns how many were removed.
   */
  sweep(time: number, budget = 20_000): number {
    let removed = 0;
    const end = Math.min(this.highWater, this.sweepCursor + budget);
    for (let slot = this.sweepCursor; slot < end; slot++) {
      if ((this.edgePos[slot] as number) >= 0 && this.decayedWeight(slot, time) < this.options.forgetBelowWeight) {
        this.removeEdge(slot);
        this.evictions -= 1;
        removed += 1;
      }
    }
    this.sweepCursor = end >= this.highWater ? 0 : end;
    return removed;
  }

  /** A JSON-safe copy of the whole state. */
  snapshot(): BaselineSnapshot {
    const workloads: WorkloadSnapshot[] = [];
    const order = new Map<number, number>();
    for (const w of this.workloads.values()) {
      order.set(w.index, workloads.length);
      workloads.push({
        key: w.key,
        namespace: w.namespace,
        name: w.name,
        kind: w.kind,
        selector: w.selector,
        firstSeen: w.firstSeen,
        lastSeen: w.lastSeen,
        bucket: w.bucket,
        flows: w.flows,
        drops: w.drops,
        flowHistory: Array.from(w.flowHistory),
        dropHistory: Array.from(w.dropHistory),
        historyLen: w.historyLen,
        historyPos: w.historyPos,
        fanoutPeak: w.fanoutPeak,
      });
    }
    const edges: EdgeSnapshot[] = [];
    for (let slot = 0; slot < this.highWater; slot++) {
      if ((this.edgePos[slot] as number) < 0) continue;
      const w = order.get(Math.floor((this.edgeHi[slot] as number) / PEER_SPACE));
      if (w === undefined) continue;
      edges.push([
        w,
        this.edgeSuffix(slot),
        this.stats[slot * STRIDE + FIRST_SEEN] as number,
        this.stats[slot * STRIDE + LAST_SEEN] as number,
        this.stats[slot * STRIDE + WEIGHT] as number,
        this.stats[slot * STRIDE + COUNT] as number,
        this.stats[slot * STRIDE + BUCKET] as number,
        this.stats[slot * STRIDE + BUCKET_COUNT] as number,
        this.stats[slot * STRIDE + RATE_MEAN] as number,
        this.stats[slot * STRIDE + RATE_DEV] as number,
      ]);
    }
    return { version: 1, startedAt: Number.isNaN(this.startedAt) ? null : this.startedAt, workloads, edges };
  }

  /** Rebuilds a baseline from a snapshot; entries over the caps of `options` are dropped. */
  static fromSnapshot(snapshot: BaselineSnapshot, options: Partial<BaselineOptions> = {}): Baseline {
    const baseline = new Baseline(options);
    baseline.startedAt = snapshot.startedAt ?? Number.NaN;
    const byOrder: WorkloadStats[] = [];
    for (const s of snapshot.workloads.slice(0, baseline.options.maxWorkloads)) {
      const w = baseline.newWorkload(s.key, s.namespace, s.name, s.kind, s.selector, s.firstSeen);
      w.lastSeen = s.lastSeen;
      w.bucket = typeof s.bucket === 'number' ? s.bucket : Number.NaN;
      w.flows = s.flows;
      w.drops = s.drops;
      const size = baseline.options.historyBuckets;
      w.flowHistory.set(s.flowHistory.slice(0, size));
      w.dropHistory.set(s.dropHistory.slice(0, size));
      w.historyLen = Math.min(s.historyLen, size);
      w.historyPos = s.historyPos % size;
      w.fanoutPeak = s.fanoutPeak;
      const n = w.historyLen;
      w.flowMedian = median(w.flowHistory, n, baseline.scratch);
      w.flowMad = mad(w.flowHistory, n, w.flowMedian, baseline.scratch);
      w.dropMedian = median(w.dropHistory, n, baseline.scratch);
      w.dropMad = mad(w.dropHistory, n, w.dropMedian, baseline.scratch);
      byOrder.push(w);
    }
    for (const e of snapshot.edges) {
      const w = byOrder[e[0]];
      if (!w || w.edgeSlots.length >= baseline.options.maxEdgesPerWorkload || baseline.used >= baseline.options.maxEdgesTotal) continue;
      const parts = e[1].split('|');
      const [d, protocol, portText] = parts;
      const peer = parts.slice(3).join('|');
      const port = Number(portText);
      if ((d !== 'e' && d !== 'i') || !Number.isInteger(port) || port < 0 || port > 65535 || !peer || PROTOCOL_CODE[protocol ?? ''] === undefined) continue;
      const lo = edgeLo(d, protocol as string, port);
      const known = baseline.peerIds.get(peer);
      if (known !== undefined && baseline.index.get(w.index * PEER_SPACE + known, lo) >= 0) continue;
      const slot = baseline.addEdge(w, peer, lo, e[2], e[6]);
      baseline.stats[slot * STRIDE + FIRST_SEEN] = e[2];
      baseline.stats[slot * STRIDE + LAST_SEEN] = e[3];
      baseline.stats[slot * STRIDE + WEIGHT] = Math.fround(e[4]);
      baseline.stats[slot * STRIDE + COUNT] = e[5];
      baseline.stats[slot * STRIDE + BUCKET] = e[6] | 0;
      baseline.stats[slot * STRIDE + BUCKET_COUNT] = e[7] >>> 0;
      baseline.stats[slot * STRIDE + RATE_MEAN] = Math.fround(e[8]);
      baseline.stats[slot * STRIDE + RATE_DEV] = Math.fround(e[9]);
    }
    return baseline;
  }
}

export interface WorkloadSnapshot {
  key: string;
  namespace: string;
  name: string;
  kind: string;
  selector: Record<string, string>;
  firstSeen: number;
  lastSeen: number;
  bucket: number;
  flows: number;
  drops: number;
  flowHistory: number[];
  dropHistory: number[];
  historyLen: number;
  historyPos: number;
  fanoutPeak: number;
}

/** [workload index in snapshot, "d|protocol|port|peer", firstSeen, lastSeen, weight, count, bucket, bucketCount, rateMean, rateDev] */
export type EdgeSnapshot = [number, string, number, number, number, number, number, number, number, number];

export interface BaselineSnapshot {
  version: 1;
  startedAt: number | null;
  workloads: WorkloadSnapshot[];
  edges: EdgeSnapshot[];
}
