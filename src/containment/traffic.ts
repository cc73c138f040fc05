// The traffic half of the containment proof, on the worker's side: register a watch on the
// contained scope right after the apply, then read what the flow collector saw in the window —
// forwarded versus dropped flows to and from the scope. The collector (another process, sharing
// only Redis) does the watching: src/flows/scope-watch-runner.ts.
import type { RedisClient } from '../redis/connect.js';
import type { DnsTarget, FlowSample, WatchScope } from '../flows/scope-watch.js';
import { collectorRunning, flowsKeyPrefix, TrafficWatchRegistry, type WatchRecord } from '../flows/watch-registry.js';
import { checkIncidentId, checkWatchSpec, TrafficWatchError } from '../flows/watch-spec.js';

export { TrafficWatchError } from '../flows/watch-spec.js';
export { collectorRunning } from '../flows/watch-registry.js';
export type { FlowSample, WatchScope, DnsTarget } from '../flows/scope-watch.js';

export const DEFAULT_TRAFFIC_WINDOW_MS = 30_000;

export type TrafficStatus = 'no-collector' | 'no-traffic' | 'clean' | 'forwarded';

export interface DirectionCounts {
  egress: number;
  ingress: number;
}

/** A sample with how many flows its connection had in the window. */
export interface CountedSample extends FlowSample {
  count: number;
}

export interface TrafficVerdict {
  incidentId: string;
  status: TrafficStatus;
  /** For 'no-collector': why nothing was watched. */
  reason: string | null;
  scope: WatchScope;
  /** Forwarded flows other than DNS to kube-dns (AUDIT and REDIRECTED verdicts included: they pass). */
  forwarded: DirectionCounts;
  dropped: DirectionCounts;
  /** Forwarded DNS to the kept DNS pods (port 53): expected. */
  dnsForwarded: number;
  /** Flows with other verdicts (ERROR, TRACED, TRANSLATED). */
  other: number;
  samples: { forwarded: CountedSample[]; dropped: CountedSample[] };
  window: {
    /** Wall clock, as registered. */
    fromMs: number;
    untilMs: number;
    durationMs: number;
    /** The same window on the collector's flow clock (null until a collector claimed it). */
    flowFromMs: number | null;
    flowUntilMs: number | null;
    /** The collector saw the window through and closed it. */
    complete: boolean;
    /** Last time (wall) the collector wrote to the watch. */
    heartbeatMs: number | null;
    collector: string | null;
  };
}

function counted(samples: FlowSample[], connections: Record<string, number>): CountedSample[] {
  const seen = new Set<string>();
  const out: CountedSample[] = [];
  // A takeover may sample a connection twice: the first stays.
  for (const s of samples) {
    if (seen.has(s.key)) continue;
    seen.add(s.key);
    out.push({ ...s, count: Math.max(1, connections[s.key] ?? 1) });
  }
  return out.sort((a, b) => a.time - b.time);
}

/** The verdict from a stored record (pure). `collectorUp`: is a collector's lock held right now. */
export function trafficVerdictOf(incidentId: string, record: WatchRecord, collectorUp: boolean): TrafficVerdict {
  const spec = record.spec;
  if (!spec) throw new TrafficWatchError(`the traffic watch of incident ${incidentId} cannot be read: ${record.specError ?? 'no spec'}`);
  const c = record.counters;
  const forwarded = { egress: c['fwd:egress'], ingress: c['fwd:ingress'] };
  const dropped = { egress: c['drop:egress'], ingress: c['drop:ingress'] };
  const claimed = record.claimedAt !== null;
  let status: TrafficStatus;
  if (!claimed) status = 'no-collector';
  else if (forwarded.egress + forwarded.ingress > 0) status = 'forwarded';
  else if (dropped.egress + dropped.ingress + c.dns + c.other === 0) status = 'no-traffic';
  else status = 'clean';
  const reason = claimed ? null : collectorUp ? 'the flow collector did not pick up the watch' : 'no flow collector is running';
  return {
    incidentId,
    status,
    reason,
    scope: spec.scope,
    forwarded,
    dropped,
    dnsForwarded: c.dns,
    other: c.other,
    samples: { forwarded: counted(record.forwardedSamples, record.connections), dropped: counted(record.droppedSamples, record.connections) },
    window: {
      fromMs: spec.fromMs,
      untilMs: spec.untilMs,
      durationMs: spec.untilMs - spec.fromMs,
      flowFromMs: record.flowFrom,
      flowUntilMs: record.flowUntil,
      complete: record.closedAt !== null,
      heartbeatMs: record.heartbeatAt,
      collector: record.collector,
    },
  };
}

export interface TrafficCheckOptions {
  /** How long a watch's record stays readable after its window (default 24 h). */
  retentionMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface RegisterOptions {
  /** Where DNS is kept open to (default kube-system, k8s-app=kube-dns): the playbook's dnsNamespace / dnsPodLabels. */
  dns?: DnsTarget;
  /** Distinct samples kept (default 5 forwarded, 3 dropped; at most 20 each). */
  samples?: { forwarded?: number; dropped?: number };
}

export class TrafficCheck {
  private readonly registry: TrafficWatchRegistry;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  /** `prefix`: the bot's key prefix (config redis.keyPrefix), the one the collector role runs under. */
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: TrafficCheckOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.registry = new TrafficWatchRegistry(redis, flowsKeyPrefix(prefix), { retentionMs: options.retentionMs, now: this.now });
  }

  /**
   * Watches the scope's flows from `fromMs` to `untilMs` (wall clock; the collector maps them onto
   * its flow clock). Replaces an earlier watch of the incident. Bad input: TrafficWatchError, nothing written.
   */
  async register(incidentId: string, scope: WatchScope, fromMs: number, untilMs: number, options: RegisterOptions = {}): Promise<void> {
    const spec = checkWatchSpec({ incidentId, scope, fromMs, untilMs, dns: options.dns, samples: options.samples });
    await this.registry.register(spec);
  }

  /** Is the collector lock held? Without a collector, the answer is "not verified by traffic". */
  collectorRunning(): Promise<boolean> {
    return collectorRunning(this.redis, this.prefix);
  }

  /** What the collector recorded so far, or null when no watch is registered for the incident. */
  async readTrafficVerdict(incidentId: string): Promise<TrafficVerdict | null> {
    checkIncidentId(incidentId);
    const record = await this.registry.read(incidentId);
    if (!record) return null;
    return trafficVerdictOf(incidentId, record, record.claimedAt !== null || (await this.collectorRunning()));
  }

  /**
   * Waits until the collector closed the window (its end plus the lateness grace and a flush), or
   * `slackMs` past the window's end, and returns the verdict then. Returns at once when no
   * collector runs and none claimed the watch.
   */
  async waitForTrafficVerdict(incidentId: string, options: { slackMs?: number; pollMs?: number } = {}): Promise<TrafficVerdict | null> {
    const slackMs = options.slackMs ?? 5_000;
    const pollMs = options.pollMs ?? 250;
    while (true) {
      const verdict = await this.readTrafficVerdict(incidentId);
      if (!verdict || verdict.window.complete) return verdict;
      if (verdict.status === 'no-collector' && verdict.reason === 'no flow collector is running') return verdict;
      const left = verdict.window.untilMs + slackMs - this.now();
      if (left <= 0) return verdict;
      await this.sleep(Math.min(pollMs, left));
    }
  }
}
