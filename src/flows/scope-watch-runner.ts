// The collector side of traffic watches, while this collector holds the lock (sharded: for the
// watches whose scope namespace this replica owns, fenced by that namespace's owner key; a
// namespace that moves takes its watches along, the new owner resuming after the last flush):
// every tick (500 ms)
// it flushes what its watches gathered, closes the windows that ended, and picks up new
// registrations from the index. Polling, not pub/sub: the tick is needed for the flush anyway, so
// a registration is seen within one tick at the cost of one ZRANGEBYSCORE; and a notification
// would be missed by a replica that takes over (or reconnects) after it was sent, which a poll of
// the index cannot miss.
//
// The window is on the collector's flow clock: the worker gives wall-clock times, and the first
// claim shifts them by (flow clock − wall clock) at that moment and stores the result, so every
// later holder watches the same flow-time window. Live, the flow clock is the wall clock (shift 0).
import { silentLogger, type Logger } from '../log.js';
import { COUNTER_FIELDS, ScopeWatchSet, type WatchDelta, type WatchSpec } from './scope-watch.js';
import type { Flow } from './types.js';
import type { TrafficWatchRegistry, WatchFence } from './watch-registry.js';

/** Where the collector hands accepted flows to the watches (a pipeline, or a sharded collector with the flow's namespace). */
export interface WatchTapPoint {
  tap: ((flow: Flow, namespace?: string) => void) | null;
}

export interface WatchRunnerOptions {
  registry: TrafficWatchRegistry;
  pipeline: WatchTapPoint;
  /** What fences every write to a watch of this namespace (the collector lock), or null when it is not this collector's. */
  fenceFor: (namespace: string) => WatchFence | null;
  /** The collector's flow clock. */
  now: () => number;
  wallNow?: () => number;
  /** Flush and poll period (default 500 ms). */
  tickMs?: number;
  /** Flows may arrive this long after a window's end and still count (default 2 s). */
  closeGraceMs?: number;
  logger?: Logger;
}

export class ScopeWatchRunner {
  readonly watches = new ScopeWatchSet();
  private readonly wallNow: () => number;
  private readonly tickMs: number;
  private readonly graceMs: number;
  private readonly log: Logger;
  /** member → wall-clock end of its window. */
  private readonly ends = new Map<string, number>();
  /** Registrations whose spec cannot be read: reported once, not retried every tick. */
  private readonly refused = new Set<string>();
  /** Specs read, by index entry: watches other replicas hold are not read again every tick. */
  private readonly specs = new Map<string, WatchSpec>();
  private readonly observe = (flow: Flow, namespace?: string): void => this.watches.observe(flow, namespace);
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private running = false;

  constructor(private readonly options: WatchRunnerOptions) {
    this.wallNow = options.wallNow ?? Date.now;
    this.tickMs = options.tickMs ?? 500;
    this.graceMs = options.closeGraceMs ?? 2_000;
    this.log = (options.logger ?? silentLogger).child({ module: 'flows.scope-watch' });
  }

  /** Starts ticking; resolves after the first tick (errors are logged and retried, never thrown). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.runTick();
    await this.ticking;
  }

  /** Stops; with `flush`, writes what was gathered first (a graceful stop, the lock still held). */
  async stop(flush: boolean): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
    if (flush) await this.flushAll(false).catch((error: unknown) => this.log.warn({ err: error }, 'final traffic watch flush failed'));
    this.options.pipeline.tap = null;
    for (const member of this.watches.members()) this.watches.remove(member);
    this.ends.clear();
    this.refused.clear();
    this.specs.clear();
  }

  private runTick(): void {
    this.ticking = this.tick()
      .catch((error: unknown) => this.log.warn({ err: error }, 'traffic watch tick failed; retrying'))
      .finally(() => {
        this.ticking = null;
        if (this.running) this.timer = setTimeout(() => this.runTick(), this.tickMs);
      });
  }

  /** One round: flush, close ended windows, claim new registrations. */
  async tick(): Promise<void> {
    await this.flushAll(true);
    if (this.running) await this.claimNew();
    this.options.pipeline.tap = this.watches.size > 0 ? this.observe : null;
  }

  private async flushAll(closeEnded: boolean): Promise<void> {
    const wall = this.wallNow();
    for (const member of this.watches.members()) {
      const spec = this.watches.spec(member) as WatchSpec;
      const close = closeEnded && wall >= (this.ends.get(member) ?? Number.POSITIVE_INFINITY) + this.graceMs;
      const delta = this.watches.drain(member) as WatchDelta;
      const fence = this.options.fenceFor(spec.scope.namespace);
      let result;
      try {
        result = fence ? await this.options.registry.flush(delta, spec, fence, close) : 'lock-lost';
      } catch (error) {
        this.requeue(delta);
        throw error;
      }
      if (result === 'lock-lost') {
        // The lock (or the namespace) is someone else's now: whoever holds it takes the watch on
        // from the last flush; nothing more may be written from here.
        this.watches.remove(member);
        this.ends.delete(member);
        this.log.warn({ watch: member }, 'traffic watch dropped: its fence (collector lock or namespace owner) is no longer ours');
        continue;
      }
      if (result === 'gone' || close) {
        this.watches.remove(member);
        this.ends.delete(member);
        this.log.info({ watch: member, closed: close && result === 'ok' }, close ? 'traffic watch closed' : 'traffic watch replaced or expired');
      }
    }
  }

  private requeue(delta: WatchDelta): void {
    // The drained tallies go back (the next flush retries them) rather than being lost.
    const again = this.watches.drain(delta.member);
    if (!again) return;
    for (const f of COUNTER_FIELDS) delta.counters[f] += again.counters[f];
    for (const [k, n] of again.connections) delta.connections.set(k, (delta.connections.get(k) ?? 0) + n);
    delta.forwardedSamples.push(...again.forwardedSamples);
    delta.droppedSamples.push(...again.droppedSamples);
    if (!(again.maxFlowTime <= delta.maxFlowTime)) delta.maxFlowTime = again.maxFlowTime;
    this.watches.restore(delta);
  }

  private async claimNew(): Promise<void> {
    const active = await this.options.registry.active(this.graceMs);
    for (const member of this.specs.keys()) if (!active.has(member)) this.specs.delete(member);
    const wall = this.wallNow();
    for (const [member, end] of active) {
      if (this.watches.has(member) || this.refused.has(member) || end + this.graceMs <= wall) continue;
      const skew = this.options.now() - this.wallNow();
      const claimed = await this.options.registry.claim(
        member,
        (spec) => this.options.fenceFor(spec.scope.namespace),
        (spec) => ({ flowFrom: spec.fromMs + skew, flowUntil: spec.untilMs + skew }),
        this.specs,
      );
      if (claimed === 'lock-lost' || claimed === 'not-ours' || claimed === 'gone' || claimed === 'ok') continue;
      if ('error' in claimed) {
        this.refused.add(member);
        this.log.warn({ watch: member, reason: claimed.error }, 'traffic watch ignored: its registration cannot be read');
        continue;
      }
      const resumeAfter = Number.isNaN(claimed.flushedFlowTime) ? Number.NEGATIVE_INFINITY : claimed.flushedFlowTime;
      this.watches.add(member, claimed.spec, { flowFrom: claimed.flowFrom, flowUntil: claimed.flowUntil, resumeAfter });
      this.ends.set(member, end);
      this.log.info({ watch: member, flowFrom: claimed.flowFrom, flowUntil: claimed.flowUntil }, 'traffic watch claimed');
    }
  }
}
