// Hubble Relay client: observer.Observer/GetFlows with follow and namespace allow/deny filters,
// ServerStatus, and reconnect with exponential backoff that resumes where the last stream stopped.
//
// Resume contract (docs/flows.md states it for users):
// - Every delivered flow's Timestamp is remembered, with references to the flows delivered in the
//   last `reorderWindowMs` of flow time (the relay merges nodes and may deliver slightly out of order).
// - A reconnect asks for `since = newest delivered time − reorderWindowMs`, follow=true, same filters;
//   after a restart that reached back for namespaces just added, the time that restart got to
//   (less the window) until it catches up, so a cut there does not skip the rest of it.
// - Flows the relay re-sends from that window are dropped if already delivered (resend-window.ts) (same uuid, or the
//   same node/time/addresses/ports/verdict/summary when the relay sends no uuid); anything new in
//   the window is delivered. Nothing is delivered twice; nothing the relay still holds is skipped.
// - Flows the relay no longer holds (its ring buffer wrapped during the outage) are lost; the relay
//   says so with lost_events records, which are counted in stats.lostEvents.
//
// Field mask: with `fieldMask`, the request asks only for the Flow fields the collector reads
// (GetFlowsRequest.field_mask, and experimental.field_mask for Cilium 1.13/1.14). A relay without
// field masks ignores both and sends whole flows; one that refuses a path (INVALID_ARGUMENT, e.g. an
// older Hubble without the policy-correlation fields) gets the request again without a mask.
import * as grpc from '@grpc/grpc-js';
import { fromTimestamp, loadObserver } from '../proto/load.js';
import { ResendWindow } from './resend-window.js';

/**
 * The Flow fields the normalizer (normalize.ts) and the resume fingerprint read. Everything else
 * (ethernet, Type, event_type, services, trace point, Summary, endpoint IDs…) is never looked at.
 */
export const COLLECTOR_FIELD_MASK: readonly string[] = [
  'time', 'uuid', 'verdict', 'drop_reason', 'drop_reason_desc',
  'IP.source', 'IP.destination', 'l4', 'l7',
  'source.identity', 'source.namespace', 'source.labels', 'source.pod_name', 'source.workloads',
  'destination.identity', 'destination.namespace', 'destination.labels', 'destination.pod_name', 'destination.workloads',
  'node_name', 'source_names', 'destination_names', 'reply', 'is_reply', 'traffic_direction', 'policy_match_type',
  'egress_allowed_by', 'ingress_allowed_by', 'egress_denied_by', 'ingress_denied_by',
];

export interface NamespaceFilter {
  /** Only flows from or to these namespaces (empty = all). */
  allow?: string[];
  /** Never flows from or to these namespaces. */
  deny?: string[];
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** ± fraction of random jitter. */
  jitter: number;
}

export interface HubbleRelayClientOptions {
  /** host:port of Hubble Relay (e.g. hubble-relay.kube-system.svc:80, or 127.0.0.1:4245). */
  address: string;
  credentials?: grpc.ChannelCredentials;
  namespaces?: NamespaceFilter;
  /** Ask only for these Flow fields (paths relative to flow.Flow); absent or empty = whole flows. */
  fieldMask?: readonly string[];
  /** First connect: stream from this time (epoch ms); undefined = only new flows. */
  since?: number;
  backoff?: Partial<BackoffOptions>;
  /** Reconnect when a stream delivers nothing for this long (0 = never; a quiet cluster is silent too). */
  idleTimeoutMs?: number;
  reorderWindowMs?: number;
  /** Called with each GetFlowsResponse that carries a flow (proto field names, as Hubble JSON). */
  onRecord: (record: Record<string, unknown>) => void;
  onEvent?: (event: RelayClientEvent) => void;
  /** Wall clock, for the first resume point when no flow was delivered yet. */
  now?: () => number;
}

export type RelayClientEvent =
  | { type: 'connected'; attempt: number; since: number | null }
  | { type: 'disconnected'; code: number; details: string; retryInMs: number }
  | { type: 'lost-events'; count: number; source: string }
  | { type: 'field-mask-refused'; details: string };

export interface RelayClientStats {
  connects: number;
  delivered: number;
  duplicatesDropped: number;
  lostEvents: number;
  lastError: string | null;
}

type ObserverClient = grpc.Client & {
  GetFlows(request: Record<string, unknown>): grpc.ClientReadableStream<Record<string, unknown>>;
  ServerStatus(request: object, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response: Record<string, unknown>) => void): void;
};

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000, factor: 2, jitter: 0.2 };

/**
 * GetFlows filters for namespace lists: two FlowFilters per list (the fields of one filter are
 * ANDed, the filters ORed), source pod in any of them OR destination pod in any ("ns/" = the whole
 * namespace). An empty allow list means no whitelist, i.e. every flow.
 */
export function namespaceFilters(namespaces: NamespaceFilter = {}): { whitelist: object[]; blacklist: object[] } {
  const sides = (list: string[] = []): object[] => {
    if (list.length === 0) return [];
    const patterns = list.map((ns) => `${ns}/`);
    return [{ source_pod: patterns }, { destination_pod: [...patterns] }];
  };
  return { whitelist: sides(namespaces.allow), blacklist: sides(namespaces.deny) };
}

export class HubbleRelayClient {
  readonly stats: RelayClientStats = { connects: 0, delivered: 0, duplicatesDropped: 0, lostEvents: 0, lastError: null };
  private readonly client: ObserverClient;
  private readonly backoff: BackoffOptions;
  private readonly reorderWindowMs: number;
  private call: grpc.ClientReadableStream<Record<string, unknown>> | null = null;
  private stopped = true;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  /** The flows delivered within the reorder window before the newest, for dropping what a restart sends again. */
  private readonly delivered: ResendWindow;
  /** Every flow older than this was delivered (the current stream's start, then its progress less the reorder window). */
  private completeBefore = Number.NaN;
  private firstConnectAt = Number.NaN;
  private namespaces: NamespaceFilter;
  /** The next connect starts no later than this (flows of namespaces just added are wanted from here). */
  private replayFrom: number | null = null;
  private initialSince: number | undefined;
  private fieldMask: readonly string[];

  constructor(private readonly options: HubbleRelayClientOptions) {
    const { Client } = loadObserver();
    this.client = new Client(options.address, options.credentials ?? grpc.credentials.createInsecure()) as unknown as ObserverClient;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.reorderWindowMs = options.reorderWindowMs ?? 2_000;
    this.delivered = new ResendWindow(this.reorderWindowMs, false);
    this.namespaces = options.namespaces ?? {};
    this.fieldMask = options.fieldMask ?? [];
    this.initialSince = options.since;
  }

  /** The field mask in use (empty once a relay refused it). */
  get maskPaths(): readonly string[] {
    return this.fieldMask;
  }

  /**
   * New namespace filters: the stream is reopened at once, resuming where it stopped (same
   * contract as a reconnect: nothing already delivered is delivered again).
   */
  setNamespaces(namespaces: NamespaceFilter, replayFrom?: number): void {
    this.namespaces = namespaces;
    if (this.stopped) return;
    this.replayFrom = replayFrom ?? null;
    const call = this.call;
    this.call = null;
    call?.cancel();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  /** observer.Observer/GetNamespaces: the namespaces the relay saw in recent flows. */
  getNamespaces(timeoutMs = 5_000): Promise<{ cluster: string; namespace: string }[]> {
    return new Promise((resolve, reject) => {
      (this.client as unknown as { GetNamespaces: ObserverClient['ServerStatus'] }).GetNamespaces({}, { deadline: Date.now() + timeoutMs }, (error, response) => {
        if (error) return reject(error);
        const list = Array.isArray(response.namespaces) ? (response.namespaces as { cluster?: unknown; namespace?: unknown }[]) : [];
        resolve(list.map((n) => ({ cluster: typeof n.cluster === 'string' ? n.cluster : '', namespace: typeof n.namespace === 'string' ? n.namespace : '' })));
      });
    });
  }

  /** Time of the newest flow delivered, epoch ms (NaN before the first). */
  get lastFlowTime(): number {
    return this.delivered.newest;
  }

  /** Starts streaming; `since` (epoch ms) overrides the first connect's starting point, or bounds a restart's. */
  start(since?: number): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (since !== undefined) {
      if (this.stats.connects === 0) this.initialSince = since;
      else this.replayFrom = since;
    }
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.retryTimer = null;
    this.idleTimer = null;
    const call = this.call;
    this.call = null;
    call?.cancel();
  }

  close(): void {
    void this.stop();
    this.client.close();
  }

  serverStatus(timeoutMs = 5_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.client.ServerStatus({}, { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response)));
    });
  }

  private resumePoint(): number | null {
    // Not the newest flow less the window: a restart that reached back (namespaces gained) and was
    // cut before it caught up resumes where it got to, not past what it still had to send.
    if (!Number.isNaN(this.completeBefore)) return this.completeBefore;
    // Nothing delivered yet: the caller's starting point still holds, else the moment we first asked.
    if (this.initialSince !== undefined) return this.initialSince;
    return Number.isNaN(this.firstConnectAt) ? null : this.firstConnectAt - this.reorderWindowMs;
  }

  private connect(): void {
    if (this.stopped) return;
    const resume = this.stats.connects === 0 ? (this.initialSince ?? null) : this.resumePoint();
    const replay = this.replayFrom;
    this.replayFrom = null;
    const since = replay === null ? resume : resume === null ? replay : Math.min(resume, replay);
    if (Number.isNaN(this.firstConnectAt)) this.firstConnectAt = (this.options.now ?? Date.now)();
    const request: Record<string, unknown> = { follow: true, ...namespaceFilters(this.namespaces) };
    if (this.fieldMask.length > 0) {
      const mask = { paths: [...this.fieldMask] };
      request.field_mask = mask;
      request.experimental = { field_mask: mask };
    }
    if (since !== null) {
      const seconds = Math.floor(since / 1000);
      request.since = { seconds, nanos: Math.max(0, Math.round((since - seconds * 1000) * 1e6)) };
    }
    // Anything the relay re-sends up to the newest delivered time is checked against what we delivered.
    this.delivered.armResend();
    if (since !== null && !(since >= this.completeBefore)) this.completeBefore = since;
    const call = this.client.GetFlows(request);
    this.call = call;
    this.stats.connects += 1;
    this.options.onEvent?.({ type: 'connected', attempt: this.attempt, since });
    this.armIdle(call);
    let got = false;
    call.on('data', (response: Record<string, unknown>) => {
      if (!got) {
        got = true;
        this.attempt = 0;
      }
      this.armIdle(call);
      this.receive(response);
    });
    call.on('error', (error: grpc.ServiceError) => this.lost(call, error.code, error.details || error.message));
    call.on('end', () => this.lost(call, grpc.status.UNAVAILABLE, 'stream ended by the relay'));
  }

  private armIdle(call: grpc.ClientReadableStream<unknown>): void {
    const idle = this.options.idleTimeoutMs ?? 0;
    if (idle <= 0) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.call !== call) return;
      call.cancel();
      this.lost(call, grpc.status.DEADLINE_EXCEEDED, `no data for ${idle} ms`);
    }, idle);
    this.idleTimer.unref();
  }

  private lost(call: grpc.ClientReadableStream<unknown>, code: number, details: string): void {
    if (this.call !== call) return; // an older stream, already replaced
    this.call = null;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.stopped) return;
    this.stats.lastError = `${grpc.status[code] ?? code}: ${details}`;
    if (code === grpc.status.INVALID_ARGUMENT && this.fieldMask.length > 0) {
      // The relay knows field masks but not one of our paths: whole flows instead, right away.
      this.fieldMask = [];
      this.options.onEvent?.({ type: 'field-mask-refused', details });
      this.retryTimer = setTimeout(() => this.connect(), 0);
      return;
    }
    const base = Math.min(this.backoff.maxMs, this.backoff.initialMs * Math.pow(this.backoff.factor, this.attempt));
    const retryInMs = Math.round(base * (1 + this.backoff.jitter * (2 * Math.random() - 1)));
    this.attempt += 1;
    this.options.onEvent?.({ type: 'disconnected', code, details, retryInMs });
    this.retryTimer = setTimeout(() => this.connect(), retryInMs);
  }

  private receive(response: Record<string, unknown>): void {
    const flow = response.flow as Record<string, unknown> | undefined;
    if (!flow) {
      const lost = response.lost_events as { num_events_lost?: number; source?: string } | undefined;
      if (lost) {
        this.stats.lostEvents += Number(lost.num_events_lost ?? 0);
        this.options.onEvent?.({ type: 'lost-events', count: Number(lost.num_events_lost ?? 0), source: String(lost.source ?? '') });
      }
      return;
    }
    const time = fromTimestamp(flow.time) ?? fromTimestamp(response.time) ?? Number.NaN;
    // The stream got this far (a re-sent flow counts too): everything older than the window behind it came.
    if (!Number.isNaN(time) && !(time - this.reorderWindowMs <= this.completeBefore)) this.completeBefore = time - this.reorderWindowMs;
    if (this.delivered.isResent(time, response)) {
      this.stats.duplicatesDropped += 1;
      return;
    }
    this.delivered.add(time, response);
    this.stats.delivered += 1;
    this.options.onRecord(response);
  }
}
