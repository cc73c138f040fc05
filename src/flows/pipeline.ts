// parse → normalize → (time sanity) → learn → detect → dedupe/cooldown. Synchronous and pure apart
// from its own state: the caller passes records and, when live, the wall-clock time.
import { Baseline, type BaselineOptions } from './baseline.js';
import { detectAll, detectorConfig, type DetectorConfig, type DetectorOverrides } from './detect/index.js';
import { FlowNormalizer, type NormalizeOptions, type NormalizeResult } from './normalize.js';
import { countSkip, emptyCounts, type Anomaly, type Flow, type RecordCounts } from './types.js';

export interface PipelineOptions {
  baseline: Partial<BaselineOptions>;
  detectors: DetectorOverrides;
  normalize: Partial<NormalizeOptions>;
  /** One alert per dedupe key while the event keeps going; a quiet gap this long ends the event. */
  cooldownMs: number;
  /** Live (a wall clock is given): flows stamped further than this in the future are skipped. */
  maxFutureSkewMs: number;
  /** Offline (no clock): a flow further than this ahead of the latest flow time is skipped. */
  maxJumpMs: number;
  /** Flows older than the latest flow time minus this are skipped (late or skewed clocks). */
  maxLatenessMs: number;
  /** Sample flows attached to an anomaly as evidence. */
  evidenceFlows: number;
}

export const DEFAULT_PIPELINE_OPTIONS: PipelineOptions = {
  baseline: {},
  detectors: {},
  normalize: {},
  cooldownMs: 15 * 60_000,
  maxFutureSkewMs: 5 * 60_000,
  maxJumpMs: 6 * 3_600_000,
  maxLatenessMs: 10 * 60_000,
  evidenceFlows: 5,
};

/**
 * A string made flat (one contiguous string instead of the tree of pieces a template literal
 * builds): a gate can hold a million keys, and the pieces would be ~4 extra objects each for the
 * GC to mark. charCodeAt flattens in place in V8; the value is unchanged.
 */
function flat(key: string): string {
  key.charCodeAt(0);
  return key;
}

/** Dedupe + cooldown: the first anomaly of a key is raised, later ones extend the event silently. */
export class AlertGate {
  // Open events: key → entry id; each entry's figures live in typed arrays (no object per entry),
  // which keeps the gate small and cheap to mark when a burst of new edges opens many events.
  private readonly entries = new Map<string, number>();
  private lastSeen = new Float64Array(64);
  private repeated = new Float64Array(64);
  private readonly freeIds: number[] = [];
  private nextId = 0;
  /** Keys a human dismissed as expected: silent until this flow time. */
  private readonly muted = new Map<string, number>();
  suppressed = 0;

  constructor(private readonly cooldownMs: number) {}

  admit(key: string, time: number): boolean {
    const muted = this.muted.get(key);
    if (muted !== undefined) {
      if (time < muted) {
        this.suppressed += 1;
        return false;
      }
      this.muted.delete(key);
    }
    const id = this.entries.get(key);
    if (id !== undefined && time - (this.lastSeen[id] as number) < this.cooldownMs) {
      if (time > (this.lastSeen[id] as number)) this.lastSeen[id] = time;
      this.repeated[id] = (this.repeated[id] as number) + 1;
      this.suppressed += 1;
      return false;
    }
    const entry = id ?? this.newId();
    this.lastSeen[entry] = time;
    this.repeated[entry] = 0;
    if (id === undefined) this.entries.set(flat(key), entry);
    return true;
  }

  /** "Dismiss as expected": nothing is raised for this key until `untilTime` (flow time). */
  mute(key: string, untilTime: number): void {
    this.muted.set(key, Math.max(untilTime, this.muted.get(key) ?? 0));
  }

  /** Is this key dismissed at this flow time? (No side effect, unlike admit.) */
  isMuted(key: string, time: number): boolean {
    const muted = this.muted.get(key);
    return muted !== undefined && time < muted;
  }

  /** Suppressed repeats of the event currently open for a key. */
  repeats(key: string): number {
    const id = this.entries.get(key);
    return id === undefined ? 0 : (this.repeated[id] as number);
  }

  prune(time: number): void {
    for (const [key, id] of this.entries) {
      if (time - (this.lastSeen[id] as number) >= this.cooldownMs) {
        this.entries.delete(key);
        this.freeIds.push(id);
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private newId(): number {
    const reused = this.freeIds.pop();
    if (reused !== undefined) return reused;
    if (this.nextId === this.lastSeen.length) {
      const grow = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.lastSeen = grow(this.lastSeen);
      this.repeated = grow(this.repeated);
    }
    return this.nextId++;
  }
}

export class FlowPipeline {
  readonly options: PipelineOptions;
  readonly detectors: DetectorConfig;
  readonly normalizer: FlowNormalizer;
  readonly counts: RecordCounts = emptyCounts();
  readonly gate: AlertGate;
  baseline: Baseline;
  /** Latest flow time accepted. */
  watermark = Number.NaN;
  anomaliesRaised = 0;
  /** Sees every accepted flow (the collector's traffic watches); null when nothing watches. */
  tap: ((flow: Flow) => void) | null = null;
  private readonly recent: (Flow | undefined)[];
  private recentPos = 0;
  private lastBucket = Number.NaN;

  constructor(options: Partial<PipelineOptions> = {}, baseline?: Baseline) {
    this.options = { ...DEFAULT_PIPELINE_OPTIONS, ...options };
    this.detectors = detectorConfig(this.options.detectors);
    this.normalizer = new FlowNormalizer(this.options.normalize);
    this.baseline = baseline ?? new Baseline(this.options.baseline);
    this.gate = new AlertGate(this.options.cooldownMs);
    this.recent = new Array<Flow | undefined>(256);
  }

  /** One JSON line of Hubble output. Blank lines are ignored (not records). */
  processLine(line: string, now?: number): Anomaly[] {
    if (line.length === 0 || line.trim().length === 0) return [];
    this.counts.read += 1;
    return this.accept(this.normalizer.parseLine(line), now);
  }

  /** A decoded GetFlowsResponse (from gRPC) or any parsed Hubble record. */
  processRecord(record: unknown, now?: number): Anomaly[] {
    this.counts.read += 1;
    return this.accept(this.normalizer.normalizeRecord(record), now);
  }

  private accept(result: NormalizeResult, now: number | undefined): Anomaly[] {
    if (!result.ok) {
      countSkip(this.counts, result.reason);
      return [];
    }
    return this.processFlow(result.flow, now);
  }

  /** A normalized flow (already counted as read by the caller when it came from a record). */
  processFlow(flow: Flow, now?: number): Anomaly[] {
    const skew = this.timeProblem(flow.time, now);
    if (skew) {
      countSkip(this.counts, skew);
      return [];
    }
    this.counts.accepted += 1;
    if (!(flow.time <= this.watermark)) this.watermark = flow.time;
    this.recent[this.recentPos] = flow;
    this.recentPos = (this.recentPos + 1) % this.recent.length;
    if (this.tap !== null) this.tap(flow);

    // Late flows are learned at the watermark so they cannot reopen closed buckets.
    const time = Math.max(flow.time, this.watermark - this.baseline.options.bucketMs);
    this.housekeeping(time);
    const observation = this.baseline.observe(flow, time);
    const found = detectAll(observation, this.baseline, this.detectors);
    if (found.length === 0) return found;
    const raised: Anomaly[] = [];
    for (const anomaly of found) {
      if (!this.gate.admit(anomaly.dedupeKey, flow.time)) continue;
      this.addEvidence(anomaly);
      raised.push(anomaly);
    }
    this.anomaliesRaised += raised.length;
    return raised;
  }

  private timeProblem(time: number, now: number | undefined): string | null {
    if (now !== undefined && time > now + this.options.maxFutureSkewMs) return 'clock_skew_future';
    if (Number.isNaN(this.watermark)) return null;
    if (now === undefined && time > this.watermark + this.options.maxJumpMs) return 'clock_skew_future';
    if (time < this.watermark - this.options.maxLatenessMs) return 'clock_skew_past';
    return null;
  }

  private housekeeping(time: number): void {
    const bucket = this.baseline.bucketOf(time);
    if (bucket === this.lastBucket) return;
    this.lastBucket = bucket;
    this.baseline.sweep(time);
    if (this.gate.size > 1000) this.gate.prune(time);
  }

  private addEvidence(anomaly: Anomaly): void {
    const wanted = this.options.evidenceFlows;
    const { namespace, name } = anomaly.workload;
    const trigger = anomaly.evidence[0];
    const evidence: Flow[] = trigger ? [trigger] : [];
    const onlyTrigger = anomaly.kind === 'new-external-egress' || anomaly.kind === 'new-east-west-edge';
    for (let i = 1; i <= this.recent.length && evidence.length < wanted && !onlyTrigger; i++) {
      const flow = this.recent[(this.recentPos - i + this.recent.length) % this.recent.length];
      if (!flow || flow === trigger) continue;
      const involves =
        (flow.source.namespace === namespace && flow.source.workload === name) ||
        (flow.destination.namespace === namespace && flow.destination.workload === name);
      if (!involves) continue;
      if (anomaly.kind === 'policy-deny-spike' && flow.verdict !== 'DROPPED') continue;
      evidence.push(flow);
    }
    anomaly.evidence = evidence;
  }
}
