// Hubble Relay stand-in: observer.Observer over gRPC on 127.0.0.1, with a ring buffer of flows
// like a real relay (GetFlows: number/first, since/until, follow, whitelist/blacklist on pods,
// namespaces, IPs and verdicts; field_mask (only the masked Flow fields are sent, as Hubble does);
// GetNamespaces; ServerStatus), and fault injection for tests: stay silent, cut a stream after N
// flows, answer with an error status, restart on the same port.
import * as grpc from '@grpc/grpc-js';
import { loadObserver, toTimestamp } from '../../flows/proto/load.js';
import { parseFlowTime } from '../../flows/normalize.js';
import type { HubbleRecord } from './shop-traffic.js';
import { applyFieldMask, fieldMaskTree, type MaskTree } from './field-mask.js';

export interface RelayFaults {
  /** Accept GetFlows and never send anything. */
  silent: boolean;
  /** End each GetFlows stream with UNAVAILABLE after this many flows. */
  dropAfter: number | null;
  /** Fail the next calls with this status (count = how many calls; Infinity = all). */
  error: { code: grpc.status; details: string; count: number } | null;
  /** Answer GetNamespaces this late (a relay busy streaming); absent: at once. */
  namespacesDelayMs?: number;
}

export interface RelayOptions {
  /** Ring buffer size (a real relay aggregates the nodes' buffers; 4095 each by default). */
  capacity: number;
  version: string;
}

interface StoredRecord {
  time: number;
  wire: Record<string, unknown>;
  flow: Record<string, unknown>;
}

type FlowFilter = Record<string, unknown[] | undefined>;
type GetFlowsCall = grpc.ServerWritableStream<Record<string, unknown>, Record<string, unknown>>;

interface Follower {
  call: GetFlowsCall;
  matches: (r: StoredRecord) => boolean;
  until: number;
  sent: number;
  /** The request's field mask, when it had one. */
  mask: MaskTree | null;
}

/** Converts a JSON-shaped Hubble record into the object proto-loader encodes (Timestamps, wrappers). */
export function toWireRecord(record: HubbleRecord): StoredRecord {
  const flow: Record<string, unknown> = { ...record.flow };
  const time = parseFlowTime(flow.time);
  if (time === undefined || Number.isNaN(time)) throw new Error(`record has no valid flow time: ${String(flow.time)}`);
  flow.time = toTimestamp(time);
  if (typeof flow.is_reply === 'boolean') flow.is_reply = { value: flow.is_reply };
  return { time, flow: record.flow, wire: { flow, node_name: record.node_name, time: toTimestamp(time) } };
}

function strings(value: unknown[] | undefined): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function podMatches(patterns: string[], endpoint: unknown): boolean {
  const ep = (endpoint ?? {}) as { namespace?: string; pod_name?: string };
  const full = `${ep.namespace ?? ''}/${ep.pod_name ?? ''}`;
  // Hubble syntax: "ns/" = namespace, "ns/prefix" = pods by prefix in ns, "prefix" = pods in any namespace.
  return patterns.some((p) => (p.includes('/') ? full.startsWith(p) : (ep.pod_name ?? '').startsWith(p)));
}

/** One FlowFilter: every field that is set must match. */
function filterMatches(filter: FlowFilter, flow: Record<string, unknown>): boolean {
  const ip = (flow.IP ?? {}) as { source?: string; destination?: string };
  const checks: [string[], (v: string[]) => boolean][] = [
    [strings(filter.source_pod), (p) => podMatches(p, flow.source)],
    [strings(filter.destination_pod), (p) => podMatches(p, flow.destination)],
    [strings(filter.source_ip), (v) => v.includes(ip.source ?? '')],
    [strings(filter.destination_ip), (v) => v.includes(ip.destination ?? '')],
    [strings(filter.verdict), (v) => v.includes(String(flow.verdict))],
  ];
  for (const [values, test] of checks) if (values.length > 0 && !test(values)) return false;
  return true;
}

export class FakeHubbleRelay {
  readonly options: RelayOptions;
  faults: RelayFaults = { silent: false, dropAfter: null, error: null };
  private server: grpc.Server | null = null;
  private boundPort = 0;
  private readonly buffer: StoredRecord[] = [];
  private readonly followers = new Set<Follower>();
  private seen = 0;
  private startedAt = process.hrtime.bigint();
  /** GetFlows requests received, newest last (tests assert on resume parameters). */
  readonly requests: Record<string, unknown>[] = [];

  constructor(options: Partial<RelayOptions> = {}) {
    this.options = { capacity: 65_535, version: 'netpol-responder-sim/1.0 (hubble-relay stand-in)', ...options };
  }

  get port(): number {
    return this.boundPort;
  }

  get address(): string {
    return `127.0.0.1:${this.boundPort}`;
  }

  /** Starts listening on 127.0.0.1 (port 0 = any free port; a restart reuses the previous port). */
  async start(port = this.boundPort): Promise<number> {
    const { service } = loadObserver();
    const server = new grpc.Server();
    server.addService(service, {
      GetFlows: (call: GetFlowsCall) => this.getFlows(call),
      ServerStatus: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => this.serverStatus(callback),
      GetNamespaces: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => this.getNamespaces(callback),
    });
    this.boundPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
    });
    this.server = server;
    this.startedAt = process.hrtime.bigint();
    return this.boundPort;
  }

  /** Stops at once: open streams break (clients see UNAVAILABLE or CANCELLED). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const f of this.followers) f.call.end();
    this.followers.clear();
    if (server) server.forceShutdown();
  }

  /** Stop, then listen again on the same port; the flow buffer survives (the nodes keep theirs). */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start(this.boundPort);
  }

  /** The flows the ring buffer holds: the newest `capacity`. */
  private retained(): StoredRecord[] {
    const excess = this.buffer.length - this.options.capacity;
    return excess > 0 ? this.buffer.slice(excess) : this.buffer;
  }

  /** Adds flows to the buffer and streams them to following clients. */
  publish(records: Iterable<HubbleRecord>): void {
    for (const record of records) {
      const stored = toWireRecord(record);
      this.buffer.push(stored);
      // Trimmed in batches: shift() on a large array moves every element, per flow.
      if (this.buffer.length > this.options.capacity * 2) this.buffer.splice(0, this.buffer.length - this.options.capacity);
      this.seen += 1;
      for (const f of this.followers) this.send(f, stored);
    }
  }

  private send(f: Follower, stored: StoredRecord): void {
    if (this.faults.silent || !f.matches(stored)) return;
    if (stored.time > f.until) {
      this.followers.delete(f);
      f.call.end();
      return;
    }
    f.call.write(f.mask ? { ...stored.wire, flow: applyFieldMask(stored.wire.flow as Record<string, unknown>, f.mask) } : stored.wire);
    f.sent += 1;
    if (this.faults.dropAfter !== null && f.sent >= this.faults.dropAfter) {
      this.followers.delete(f);
      f.call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'stream dropped by fault injection' });
    }
  }

  private takeError(): { code: grpc.status; details: string } | null {
    const error = this.faults.error;
    if (!error || error.count <= 0) return null;
    error.count -= 1;
    if (error.count <= 0) this.faults.error = null;
    return { code: error.code, details: error.details };
  }

  private getFlows(call: GetFlowsCall): void {
    const request = call.request;
    this.requests.push(request);
    const error = this.takeError();
    if (error) {
      call.emit('error', error);
      return;
    }
    const whitelist = (Array.isArray(request.whitelist) ? request.whitelist : []) as FlowFilter[];
    const blacklist = (Array.isArray(request.blacklist) ? request.blacklist : []) as FlowFilter[];
    const matches = (r: StoredRecord): boolean =>
      (whitelist.length === 0 || whitelist.some((f) => filterMatches(f, r.flow))) && !blacklist.some((f) => filterMatches(f, r.flow));
    const since = request.since ? timestampMs(request.since) : Number.NEGATIVE_INFINITY;
    const until = request.until ? timestampMs(request.until) : Number.POSITIVE_INFINITY;
    const number = typeof request.number === 'number' ? request.number : 0;
    const follow = request.follow === true;
    // The top-level mask (Cilium 1.15+) wins over the experimental one (1.13/1.14), as in Hubble.
    const maskPaths = maskPathsOf(request);
    let mask: MaskTree | null = null;
    if (maskPaths.length > 0) {
      try {
        mask = fieldMaskTree(maskPaths);
      } catch (maskError) {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: (maskError as Error).message });
        return;
      }
    }

    const follower: Follower = { call, matches, until, sent: 0, mask };
    // Compared in whole microseconds so a Timestamp that went through float ms still matches exactly.
    const us = (ms: number): number => Math.round(ms * 1000);
    let history = this.retained().filter((r) => us(r.time) >= us(since) && us(r.time) <= us(until) && matches(r));
    if (number > 0 && !request.since && !request.until) history = request.first === true ? history.slice(0, number) : history.slice(-number);
    else if (!request.since && !request.until && follow) history = [];
    for (const r of history) {
      if (!this.server) return;
      this.send(follower, r);
      if (this.faults.dropAfter !== null && follower.sent >= this.faults.dropAfter) return;
    }
    if (!follow) {
      call.end();
      return;
    }
    this.followers.add(follower);
    call.on('cancelled', () => this.followers.delete(follower));
    call.on('close', () => this.followers.delete(follower));
  }

  /** Namespaces of the pods in the buffered flows, sorted (Hubble: those seen in the last hour). */
  private getNamespaces(callback: grpc.sendUnaryData<unknown>): void {
    const error = this.takeError();
    if (error) {
      callback({ ...error, name: 'GetNamespacesError', message: error.details });
      return;
    }
    const names = new Set<string>();
    for (const r of this.retained()) {
      for (const side of [r.flow.source, r.flow.destination]) {
        const ns = (side as { namespace?: unknown } | undefined)?.namespace;
        if (typeof ns === 'string' && ns) names.add(ns);
      }
    }
    const answer = { namespaces: [...names].sort().map((namespace) => ({ cluster: '', namespace })) };
    const delay = this.faults.namespacesDelayMs ?? 0;
    if (delay > 0) setTimeout(() => callback(null, answer), delay).unref();
    else callback(null, answer);
  }

  private serverStatus(callback: grpc.sendUnaryData<unknown>): void {
    const error = this.takeError();
    if (error) {
      callback({ ...error, name: 'ServerStatusError', message: error.details });
      return;
    }
    callback(null, {
      num_flows: this.retained().length,
      max_flows: this.options.capacity,
      seen_flows: this.seen,
      uptime_ns: Number(process.hrtime.bigint() - this.startedAt),
      num_connected_nodes: { value: 1 },
      num_unavailable_nodes: { value: 0 },
      version: this.options.version,
    });
  }
}

function maskPathsOf(request: Record<string, unknown>): unknown[] {
  const top = (request.field_mask as { paths?: unknown[] } | undefined)?.paths;
  if (Array.isArray(top) && top.length > 0) return top;
  const experimental = ((request.experimental as { field_mask?: { paths?: unknown[] } } | undefined)?.field_mask)?.paths;
  return Array.isArray(experimental) ? experimental : [];
}

function timestampMs(ts: unknown): number {
  const { seconds, nanos } = (ts ?? {}) as { seconds?: number; nanos?: number };
  return (seconds ?? 0) * 1000 + (nanos ?? 0) / 1e6;
}
