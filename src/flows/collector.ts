// The collector role: holds the per-cluster lock, restores the baseline snapshot, pulls flows
// (Hubble Relay over gRPC, or a followed JSON-lines file), runs them through the pipeline and
// hands every raised anomaly to the caller. Snapshots the baseline periodically and on stop.
// With `source.sharding` (Hubble Relay and Redis), there is no lock: the replicas split the
// namespaces between them instead (shard/sharded-flows.ts), and each runs the traffic watches of
// the namespaces it owns.
import type { RedisClient } from '../redis/connect.js';
import { silentLogger, type Logger } from '../log.js';
import { BaselineStore } from './baseline-store.js';
import { SingletonLock } from '../redis/singleton-lock.js';
import { FlowPipeline, type PipelineOptions } from './pipeline.js';
import { COLLECTOR_FIELD_MASK, HubbleRelayClient, type HubbleRelayClientOptions, type RelayClientEvent } from './sources/hubble-grpc.js';
import { ShardedFlows, type ShardingOptions } from './shard/sharded-flows.js';
import { JsonlFileFollower } from './sources/jsonl.js';
import { ScopeWatchRunner } from './scope-watch-runner.js';
import { TrafficWatchRegistry } from './watch-registry.js';
import { countSkip, type Anomaly } from './types.js';

export type CollectorSource =
  | ({
      kind: 'hubble-relay';
      /** Ask the relay only for the Flow fields the collector reads (default true). */
      fieldMask?: boolean;
      /** Split the namespaces between the collector replicas (needs Redis); absent = one active replica. */
      sharding?: ShardingOptions;
    } & Omit<HubbleRelayClientOptions, 'onRecord' | 'onEvent' | 'now' | 'fieldMask'>)
  | { kind: 'jsonl-file'; path: string; fromEnd?: boolean; pollMs?: number };

export interface CollectorOptions {
  source: CollectorSource;
  /** Called once per raised anomaly (after dedupe/cooldown). Errors are logged, never stop the stream. */
  onAnomaly: (anomaly: Anomaly) => void | Promise<void>;
  pipeline?: Partial<PipelineOptions>;
  /** With Redis: the one-active-collector lock and baseline snapshots. Without: runs unlocked, in memory. */
  redis?: RedisClient;
  /** Key prefix in Redis, e.g. "netpol:<cluster>". */
  keyPrefix?: string;
  lockTtlMs?: number;
  snapshotEveryMs?: number;
  /** Traffic watches after containment (with Redis): flush/poll period and lateness grace; false turns them off. */
  trafficWatch?: { tickMs?: number; closeGraceMs?: number } | false;
  instance?: string;
  now?: () => number;
  logger?: Logger;
}

export class FlowCollector {
  readonly pipeline: FlowPipeline;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly lock: SingletonLock | null;
  private readonly store: BaselineStore | null;
  /** The traffic watches this collector runs (null without Redis, or turned off). */
  readonly watchRunner: ScopeWatchRunner | null;
  /** Set when the source is sharded: it then does the streaming, the baselines and the handover. */
  readonly shards: ShardedFlows | null;
  private relay: HubbleRelayClient | null = null;
  private follower: JsonlFileFollower | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private active = false;

  constructor(private readonly options: CollectorOptions) {
    this.now = options.now ?? Date.now;
    this.log = (options.logger ?? silentLogger).child({ module: 'flows.collector' });
    this.pipeline = new FlowPipeline(options.pipeline);
    const prefix = options.keyPrefix ?? 'netpol:default';
    const lockKey = `${prefix}:collector:lock`;
    const source = options.source;
    this.shards =
      source.kind === 'hubble-relay' && source.sharding && options.redis
        ? new ShardedFlows({
            redis: options.redis,
            keyPrefix: prefix,
            relay: relayClientOptions(source),
            sharding: source.sharding,
            front: this.pipeline,
            snapshotEveryMs: options.snapshotEveryMs ?? 60_000,
            ...(options.instance ? { instance: options.instance } : {}),
            now: this.now,
            onAnomalies: (anomalies) => this.emit(anomalies),
            logger: this.log,
          })
        : null;
    this.lock = options.redis && !this.shards
      ? new SingletonLock(options.redis, {
          key: lockKey,
          ttlMs: options.lockTtlMs,
          instance: options.instance,
          onAcquired: () => this.activate(),
          onLost: (reason) => this.deactivate(reason),
        })
      : null;
    this.store = options.redis && !this.shards ? new BaselineStore(options.redis, { prefix }) : null;
    const fence = this.lock ? { key: lockKey, token: this.lock.token } : null;
    const shards = this.shards;
    this.watchRunner =
      options.redis && (fence || shards) && options.trafficWatch !== false
        ? new ScopeWatchRunner({
            registry: new TrafficWatchRegistry(options.redis, prefix),
            pipeline: shards ?? this.pipeline,
            fenceFor: shards ? (namespace) => shards.fenceOf(namespace) : () => fence,
            now: this.now,
            ...options.trafficWatch,
            logger: this.log,
          })
        : null;
  }

  /** true while this instance holds the lock and streams flows. */
  get isActive(): boolean {
    return this.shards ? this.shards.isActive : this.active;
  }

  get relayClient(): HubbleRelayClient | null {
    return this.shards ? this.shards.relay : this.relay;
  }

  async start(): Promise<void> {
    if (this.shards) {
      await this.shards.start();
      await this.watchRunner?.start();
    } else if (this.lock) await this.lock.start();
    else await this.activate();
  }

  async stop(): Promise<void> {
    if (this.shards) {
      // While the namespaces are still ours: their owner keys fence the final flush.
      await this.watchRunner?.stop(true);
      return this.shards.stop();
    }
    if (this.active) await this.snapshot();
    await this.deactivate('stopped');
    await this.lock?.stop();
  }

  /** Saves the baseline now (no-op without Redis). */
  async snapshot(): Promise<void> {
    if (this.shards) return this.shards.snapshotAll();
    if (!this.store) return;
    try {
      // Stamped with the newest flow time, which is where a successor resumes the stream.
      const watermark = this.pipeline.watermark;
      const saved = await this.store.save(this.pipeline.baseline, Number.isNaN(watermark) ? this.now() : watermark);
      this.log.debug({ edges: saved.edges }, 'baseline snapshot saved');
    } catch (error) {
      this.log.warn({ err: error }, 'baseline snapshot failed');
    }
  }

  private async activate(): Promise<void> {
    if (this.active) return;
    this.active = true;
    let resumeFrom: number | undefined;
    if (this.store) {
      const loaded = await this.store.load(this.now(), this.pipeline.options.baseline).catch((error: unknown) => ({ baseline: null, reason: String(error) }));
      if (loaded.baseline) {
        this.pipeline.baseline = loaded.baseline;
        this.pipeline.watermark = loaded.savedAt;
        resumeFrom = loaded.savedAt;
        this.log.info({ edges: loaded.edges }, 'baseline restored from snapshot');
      } else this.log.info({ reason: loaded.reason }, 'starting with an empty baseline');
    }
    // Before the stream starts, so watches registered while no collector ran are claimed first.
    await this.watchRunner?.start();
    const source = this.options.source;
    if (source.kind === 'hubble-relay') {
      const clientOptions = relayClientOptions(source);
      this.relay = new HubbleRelayClient({
        ...clientOptions,
        since: resumeFrom ?? clientOptions.since,
        now: this.now,
        onRecord: (record) => this.emit(this.pipeline.processRecord(record, this.now())),
        onEvent: (event: RelayClientEvent) => this.log.info({ event }, `hubble relay ${event.type}`),
      });
      this.relay.start();
    } else {
      this.follower = new JsonlFileFollower(
        { path: source.path, fromEnd: source.fromEnd, pollMs: source.pollMs, onError: (err) => this.log.warn({ err }, 'flow file read failed') },
        {
          onLine: (line) => this.emit(this.pipeline.processLine(line, this.now())),
          onOversized: () => {
            this.pipeline.counts.read += 1;
            countSkip(this.pipeline.counts, 'oversized_line');
          },
        },
      );
      await this.follower.start();
    }
    const every = this.options.snapshotEveryMs ?? 60_000;
    if (this.store && every > 0) {
      this.snapshotTimer = setInterval(() => void this.snapshot(), every);
      this.snapshotTimer.unref();
    }
  }

  private async deactivate(reason: string): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.log.info({ reason }, 'collector inactive');
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    this.snapshotTimer = null;
    this.relay?.close();
    this.relay = null;
    await this.follower?.stop();
    this.follower = null;
    // A graceful stop still holds the lock: write what the watches gathered. A lost lock: write nothing.
    await this.watchRunner?.stop(reason === 'stopped');
  }

  private emit(anomalies: Anomaly[]): void {
    for (const anomaly of anomalies) {
      try {
        const done = this.options.onAnomaly(anomaly);
        if (done instanceof Promise) done.catch((error: unknown) => this.log.error({ err: error, anomaly: anomaly.id }, 'anomaly handler failed'));
      } catch (error) {
        this.log.error({ err: error, anomaly: anomaly.id }, 'anomaly handler failed');
      }
    }
  }
}

/** The relay client's options from the source settings (the field mask is on unless turned off). */
function relayClientOptions(source: Extract<CollectorSource, { kind: 'hubble-relay' }>): Omit<HubbleRelayClientOptions, 'onRecord' | 'onEvent' | 'now'> {
  const { kind: _kind, sharding: _sharding, fieldMask, ...rest } = source;
  return { ...rest, fieldMask: fieldMask === false ? [] : COLLECTOR_FIELD_MASK };
}
