// The collector sharded by namespace: N replicas split the cluster's namespaces between them.
// - Members: every replica renews a lease in one Redis sorted set (LeaseMembers); the live members
//   are whoever renewed within the lease TTL.
// - Assignment: rendezvous hashing of the namespaces the relay reports (GetNamespaces, refreshed
//   on every renewal) over the live members: every replica computes the same owners on its own.
// - Stream: one GetFlows per replica, whitelisted to its namespaces (either side's pod); each flow
//   is kept only by the owner of its owner namespace (flow-owner.ts), so it is processed once.
// - State: one pipeline (baseline + alert gate) per owned namespace, snapshotted to Redis per
//   namespace, so a namespace moves with what was learned about it: the new owner starts from the
//   stored baseline and replays the stream from the snapshot's newest flow.
// - Handover: a replica that dies stops renewing; after the TTL the others see it gone and take
//   its namespaces at once. A namespace whose previous owner is still live (a member joined) is
//   taken once that owner has seen the change, stopped, saved it and released its owner key
//   (namespace-claims.ts): never two replicas on one namespace.
// - Alerts: claimed in Redis per dedupe key (alert-claim.ts), so a replayed or repeated event is
//   alerted once across replicas.
// - Traffic watches: the owner of a watch's scope namespace runs it (scope-watch-runner.ts, fenced
//   by the namespace's owner key). It gets every flow with either side in that namespace, whoever
//   owns the flow, so `tap` is handed each flow once per owned namespace it touches.
import type { RedisClient } from '../../redis/connect.js';
import { silentLogger, type Logger } from '../../log.js';
import { LeaseMembers } from '../../redis/lease-members.js';
import { BaselineStore } from '../baseline-store.js';
import { FlowPipeline } from '../pipeline.js';
import { HubbleRelayClient, type HubbleRelayClientOptions, type RelayClientEvent } from '../sources/hubble-grpc.js';
import { ResendWindow } from '../sources/resend-window.js';
import { countSkip, type Anomaly, type Flow } from '../types.js';
import type { WatchFence } from '../watch-registry.js';
import { AlertClaims } from './alert-claim.js';
import { flowOwnerNamespace, isNamespaceName } from './flow-owner.js';
import { NamespaceClaims } from './namespace-claims.js';
import { keysOwnedBy } from './rendezvous.js';

export interface ShardingOptions {
  /** A replica that stops renewing its lease is gone after this (its namespaces move). */
  leaseTtlMs: number;
  /** Lease renewal and namespace-list refresh period (default ttl/3). */
  heartbeatMs?: number;
  /** Baseline snapshot period per owned namespace (default: the collector's snapshot period). */
  snapshotEveryMs?: number;
}

export interface ShardedFlowsOptions {
  redis: RedisClient;
  /** The collector's key prefix ("<prefix>:flows"); every key here is under "<prefix>:shard". */
  keyPrefix: string;
  relay: Omit<HubbleRelayClientOptions, 'onRecord' | 'onEvent' | 'now'>;
  sharding: ShardingOptions;
  /** Counts of every record read (the collector's front pipeline: normalizer, counts, dismissals). */
  front: FlowPipeline;
  snapshotEveryMs: number;
  instance?: string;
  now: () => number;
  onAnomalies: (anomalies: Anomaly[]) => void;
  logger?: Logger;
}

interface Partition {
  pipeline: FlowPipeline;
  /** Flows of this namespace up to this time were processed already (here or by the previous owner): dropped if replayed. */
  replayedBefore: number;
  /** Flow time from which this owner is answerable for the namespace (the snapshot's time, or where its stream starts). */
  from: number;
  /**
   * This namespace's flows processed within the reorder window: a restart of the stream (a
   * reconnect, or a replay for a namespace gained) sends them again. Per namespace, since the relay
   * client's own window follows the newest flow of any namespace, and a quiet namespace's last
   * flows fall out of it.
   */
  processed: ResendWindow;
  /** The same for the flows handed to the traffic watches (either side in this namespace), while a watch runs. */
  tapped: ResendWindow;
}

export class ShardedFlows {
  readonly members: LeaseMembers;
  readonly partitions = new Map<string, Partition>();
  /** Namespaces the relay reports (valid names only), sorted. */
  namespaces: string[] = [];
  private readonly client: HubbleRelayClient;
  private readonly claims: AlertClaims;
  private readonly log: Logger;
  private readonly nsClaims: NamespaceClaims;
  private streaming = false;
  private work: Promise<void> = Promise.resolve();
  /** The membership the queued reassignment will use. */
  private nextMembers: { members: string[] | null; reason: string } | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  takeovers = 0;
  /** Set by the traffic watches while any runs: each accepted flow, once per owned namespace it touches. */
  tap: ((flow: Flow, namespace?: string) => void) | null = null;

  constructor(private readonly options: ShardedFlowsOptions) {
    this.log = (options.logger ?? silentLogger).child({ module: 'flows.shards' });
    const heartbeat = options.sharding.heartbeatMs ?? Math.max(50, Math.floor(options.sharding.leaseTtlMs / 3));
    this.members = new LeaseMembers(options.redis, {
      key: `${this.prefix}:members`,
      ttlMs: options.sharding.leaseTtlMs,
      intervalMs: heartbeat,
      ...(options.instance ? { instance: options.instance } : {}),
      // Not awaited by the lease: a slow reassignment (the relay slow to list its namespaces) must
      // not hold up the renewals, or the lease runs out and the replica gives everything up.
      onMembers: (members, reason) => this.membersChanged(members, reason),
    });
    this.claims = new AlertClaims(options.redis, this.prefix, options.front.options.cooldownMs);
    this.nsClaims = new NamespaceClaims(options.redis, this.prefix, this.members.id, options.sharding.leaseTtlMs);
    this.client = new HubbleRelayClient({
      ...options.relay,
      // Set per assignment; until then the stream is not started (an empty whitelist means every flow).
      namespaces: { allow: [], deny: options.relay.namespaces?.deny ?? [] },
      now: options.now,
      onRecord: (record) => this.receive(record),
      onEvent: (event: RelayClientEvent) => {
        // Sent as the stream restarts, before its first flow.
        if (event.type === 'connected') {
          for (const p of this.partitions.values()) {
            p.processed.armResend();
            p.tapped.armResend();
          }
        }
        this.log.info({ event }, `hubble relay ${event.type}`);
      },
    });
  }

  private get prefix(): string {
    return `${this.options.keyPrefix}:shard`;
  }

  get relay(): HubbleRelayClient {
    return this.client;
  }

  /** true while this replica is a live member that owns at least one namespace. */
  get isActive(): boolean {
    return this.members.members !== null && this.partitions.size > 0;
  }

  /** What fences the traffic watches of a namespace: its owner key, while this replica processes it. */
  fenceOf(namespace: string): WatchFence | null {
    return this.partitions.has(namespace) ? { key: this.nsClaims.keyOf(namespace), token: this.members.id } : null;
  }

  /** Owned namespaces, sorted. */
  get owned(): string[] {
    return [...this.partitions.keys()].sort();
  }

  async start(): Promise<void> {
    await this.refreshNamespaces();
    await this.members.start();
    await this.work;
    const every = this.options.sharding.snapshotEveryMs ?? this.options.snapshotEveryMs;
    if (every > 0) {
      this.snapshotTimer = setInterval(() => this.schedule(() => this.snapshotAll()), every);
      this.snapshotTimer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    await this.work;
    // Save while still a member, then leave: the others take over at once and start from these snapshots.
    const owned = [...this.partitions];
    this.partitions.clear();
    await this.client.stop();
    this.client.close();
    if (this.members.members !== null) {
      for (const [ns, partition] of owned) {
        await this.save(ns, partition);
        await this.nsClaims.release(ns).catch(() => undefined);
      }
    }
    await this.members.stop();
    await this.work;
  }

  /** Stops without saving or leaving (what a crash leaves behind; tests use it). */
  abandon(): void {
    this.stopped = true;
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    this.members.abandon();
    this.client.close();
  }

  /**
   * Queues a reassignment for the latest membership; renewals that come while one is queued only
   * replace what it will use (the owner keys it claims settle who owns what either way).
   */
  private membersChanged(members: string[] | null, reason: string): void {
    const queued = this.nextMembers !== null;
    this.nextMembers = { members, reason };
    if (queued) return;
    void this.schedule(async () => {
      const next = this.nextMembers as { members: string[] | null; reason: string };
      this.nextMembers = null;
      await this.onMembers(next.members, next.reason);
    });
  }

  /** Serializes membership changes, snapshots and stream changes. */
  private schedule(task: () => Promise<void>): Promise<void> {
    this.work = this.work.then(task).catch((error: unknown) => this.log.error({ err: error }, 'collector shard change failed'));
    return this.work;
  }

  private store(namespace: string): BaselineStore {
    // Only DNS-1123 names get here (isNamespaceName), so the key needs no escaping.
    return new BaselineStore(this.options.redis, { prefix: `${this.prefix}:ns:${namespace}` });
  }

  private async refreshNamespaces(): Promise<void> {
    try {
      const listed = await this.client.getNamespaces();
      const allow = this.options.relay.namespaces?.allow ?? [];
      const deny = new Set(this.options.relay.namespaces?.deny ?? []);
      const names = new Set<string>();
      let refused = 0;
      for (const { namespace } of listed) {
        if (!isNamespaceName(namespace)) {
          refused += 1;
          continue;
        }
        if ((allow.length > 0 && !allow.includes(namespace)) || deny.has(namespace)) continue;
        names.add(namespace);
      }
      if (refused > 0) this.log.warn({ refused }, 'the relay listed namespace names that are not DNS-1123 labels; ignored');
      this.namespaces = [...names].sort();
    } catch (error) {
      // Keep the last list: a relay hiccup must not hand every namespace away.
      this.log.warn({ err: error }, 'listing namespaces from the relay failed; keeping the last list');
    }
  }

  private async onMembers(members: string[] | null, reason: string): Promise<void> {
    if (this.stopped && members !== null) return;
    if (members !== null) await this.refreshNamespaces();
    const desired = new Set(members ? keysOwnedBy(this.members.id, members, this.namespaces) : []);

    // Let go first: stop processing, then save for the next owner (only while a member: otherwise
    // a successor may already run it), then free the owner key so the next owner starts.
    const lost = [...this.partitions.keys()].filter((ns) => !desired.has(ns));
    for (const ns of lost) {
      const partition = this.partitions.get(ns) as Partition;
      this.partitions.delete(ns);
      if (members === null) continue;
      await this.save(ns, partition);
      await this.nsClaims.release(ns).catch((error: unknown) => this.log.warn({ err: error, namespace: ns }, 'releasing a namespace failed; it runs out with the lease'));
    }
    if (members === null) {
      if (lost.length > 0) {
        this.log.warn({ reason, lost }, 'collector namespaces given up');
        this.restream(Number.NaN, false);
      }
      return;
    }

    // Renew what we keep and claim what we gain; a namespace whose previous owner still holds its
    // key (it has not seen the change yet) is tried again on the next renewal.
    const { held, errors } = await this.nsClaims.claim([...desired], members);
    if (errors.length > 0) this.log.error({ errors: errors.slice(0, 5) }, 'namespace owner keys could not be claimed');
    const dropped = [...this.partitions.keys()].filter((ns) => !held.has(ns));
    for (const ns of dropped) this.partitions.delete(ns);
    const ready = [...held].filter((ns) => !this.partitions.has(ns)).sort();
    let replayFrom = Number.POSITIVE_INFINITY;
    for (const ns of ready) {
      const partition = await this.take(ns);
      this.partitions.set(ns, partition);
      if (Number.isFinite(partition.replayedBefore)) replayFrom = Math.min(replayFrom, partition.replayedBefore);
    }
    const waiting = [...desired].filter((ns) => !held.has(ns));
    if (lost.length > 0 || ready.length > 0 || dropped.length > 0) {
      this.log.info({ reason, members: members.length, owned: this.owned, gained: ready, lost: [...lost, ...dropped], waiting }, 'collector namespaces reassigned');
      this.restream(replayFrom, ready.length > 0);
    }
  }

  /** A newly owned namespace: its stored baseline (or an empty one), resumed at the snapshot's newest flow. */
  private async take(ns: string): Promise<Partition> {
    const opts = this.options.front.options;
    const loaded = await this.store(ns)
      .load(this.options.now(), opts.baseline)
      .catch((error: unknown) => ({ baseline: null, reason: String(error) }));
    const pipeline = new FlowPipeline(opts, loaded.baseline ?? undefined);
    if (loaded.baseline) {
      pipeline.watermark = loaded.savedAt;
      this.takeovers += 1;
      this.log.info({ namespace: ns, edges: loaded.edges }, 'namespace baseline restored from snapshot');
      return { pipeline, replayedBefore: loaded.savedAt, from: loaded.savedAt, processed: this.processedWindow(), tapped: this.processedWindow() };
    }
    this.log.info({ namespace: ns, reason: loaded.reason }, 'namespace starts with an empty baseline');
    // Not streaming yet: the stream starts at the configured `since` (the relay's buffer), else now.
    const from = this.streaming ? this.options.now() : (this.options.relay.since ?? this.options.now());
    return { pipeline, replayedBefore: Number.NaN, from, processed: this.processedWindow(), tapped: this.processedWindow() };
  }

  private processedWindow(): ResendWindow {
    return new ResendWindow(this.options.relay.reorderWindowMs ?? 2_000, true);
  }

  /**
   * Points the stream at the owned namespaces. With gained namespaces that have a snapshot, the
   * stream restarts at the oldest snapshot's time, so their flows since are replayed; flows of the
   * namespaces already owned that come again are dropped (Partition.processed).
   */
  private restream(replayFrom: number, gained: boolean): void {
    const allow = this.owned;
    if (allow.length === 0) {
      if (this.streaming) void this.client.stop();
      this.streaming = false;
      return;
    }
    const deny = this.options.relay.namespaces?.deny ?? [];
    const replay = gained && Number.isFinite(replayFrom) ? replayFrom : undefined;
    this.client.setNamespaces({ allow, deny }, replay);
    if (!this.streaming) {
      this.streaming = true;
      this.client.start(replay ?? this.options.relay.since);
    }
  }

  private receive(record: Record<string, unknown>): void {
    const front = this.options.front;
    front.counts.read += 1;
    const result = front.normalizer.normalizeRecord(record);
    if (!result.ok) {
      countSkip(front.counts, result.reason);
      return;
    }
    const flow = result.flow;
    if (this.tap !== null) this.tapWatched(flow, record);
    const owner = flowOwnerNamespace(flow);
    const partition = owner === null ? undefined : this.partitions.get(owner);
    if (!partition) {
      // The other side's owner processes it (or nobody: no pod on either side).
      countSkip(front.counts, 'other_shard');
      return;
    }
    if (flow.time <= partition.replayedBefore || partition.processed.isResent(flow.time, record)) {
      countSkip(front.counts, 'replayed');
      return;
    }
    const accepted = partition.pipeline.counts.accepted;
    const raised = partition.pipeline.processFlow(flow, this.options.now());
    if (partition.pipeline.counts.accepted > accepted) {
      partition.processed.add(flow.time, record);
      front.counts.accepted += 1;
      if (!(flow.time <= front.watermark)) front.watermark = flow.time;
    } else countSkip(front.counts, 'clock_skew');
    if (raised.length > 0) void this.claimAndRaise(raised);
  }

  /**
   * Hands a flow to the traffic watches of each owned namespace it touches, unless the stream sent
   * it there before (a restart). A namespace just gained starts with an empty window: its watches
   * skip what the previous owner flushed (FlowWindow.resumeAfter).
   */
  private tapWatched(flow: Flow, record: Record<string, unknown>): void {
    const { source, destination } = flow;
    this.tapNamespace(flow, record, source.namespace);
    if (destination.namespace !== source.namespace) this.tapNamespace(flow, record, destination.namespace);
  }

  private tapNamespace(flow: Flow, record: Record<string, unknown>, namespace: string): void {
    const partition = namespace ? this.partitions.get(namespace) : undefined;
    if (!partition || !this.tap || partition.tapped.isResent(flow.time, record)) return;
    partition.tapped.add(flow.time, record);
    this.tap(flow, namespace);
  }

  private async claimAndRaise(anomalies: Anomaly[]): Promise<void> {
    const out: Anomaly[] = [];
    for (const anomaly of anomalies) {
      if (this.options.front.gate.isMuted(anomaly.dedupeKey, anomaly.lastSeen)) continue;
      try {
        if (await this.claims.claim(anomaly.dedupeKey, anomaly.firstSeen)) out.push(anomaly);
      } catch (error) {
        // Redis unreachable: better a possible duplicate than a missed alert.
        this.log.warn({ err: error, anomaly: anomaly.id }, 'claiming an anomaly across replicas failed; raising it');
        out.push(anomaly);
      }
    }
    if (out.length > 0) {
      this.options.front.anomaliesRaised += out.length;
      this.options.onAnomalies(out);
    }
  }

  private async save(ns: string, partition: Partition): Promise<void> {
    // Saved as processed up to its newest flow; with none processed yet, up to just before where
    // this owner started, so the next owner replays what this one never reached (not "up to now",
    // which would drop a backlog still being read, or flows in flight at the handover).
    const mark = partition.pipeline.watermark;
    const upTo = Number.isNaN(mark) ? partition.from - 1 : mark;
    try {
      await this.store(ns).save(partition.pipeline.baseline, upTo);
    } catch (error) {
      this.log.warn({ err: error, namespace: ns }, 'namespace baseline snapshot failed');
    }
  }

  /** Saves every owned namespace's baseline (only while a member: a successor may already own them otherwise). */
  async snapshotAll(): Promise<void> {
    if (this.members.members === null) return;
    for (const [ns, partition] of [...this.partitions]) await this.save(ns, partition);
  }
}
