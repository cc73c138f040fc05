// Traffic watches on the collector side (pure, no I/O): after a containment, every accepted flow
// is matched against the active watches and tallied per incident (forwarded / dropped by
// direction, DNS to kube-dns apart, a few distinct samples). The runner drains the tallies to
// Redis every flush; nothing here talks to Redis, so the per-flow cost is a few comparisons.
import type { LabelSelectorSpec } from '../incident/model.js';
import { selectorMatches } from '../kube/label-selector.js';
import type { Flow, FlowEndpoint } from './types.js';

/** The contained pods: a namespace, the pods found in scope at apply time, and the selector (absent: the whole namespace). */
export interface WatchScope {
  namespace: string;
  podNames: string[];
  labelSelector?: LabelSelectorSpec;
}

/** Where DNS is kept open to: a forwarded flow to these pods on port 53 is expected, not a leak. */
export interface DnsTarget {
  namespace: string;
  podLabels: Record<string, string>;
}

export const DEFAULT_DNS_TARGET: DnsTarget = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };

export interface WatchSpec {
  incidentId: string;
  scope: WatchScope;
  dns: DnsTarget;
  /** Wall-clock window (epoch ms) the worker asked for; the collector maps it onto its flow clock. */
  fromMs: number;
  untilMs: number;
  /** Distinct samples kept: forwarded non-DNS and dropped. */
  samples: { forwarded: number; dropped: number };
}

export type ScopeDirection = 'egress' | 'ingress';

/** One flow as evidence, seen the way of its connection (initiator → responder:port), values clipped. */
export interface FlowSample {
  /** Flow time (the collector's flow clock), epoch ms. */
  time: number;
  verdict: string;
  dropReason: string;
  direction: ScopeDirection;
  from: string;
  to: string;
  port: number;
  protocol: string;
  /** The flow was the reply half of the connection. */
  reply: boolean;
  /** The scope's pod on this connection (what to restart), '' when Hubble did not name it. */
  scopePod: string;
  /** A DNS name Hubble gave the other side, '' when none. */
  peerName: string;
  /** Same key = same connection (source port aside). */
  key: string;
}

/** Counter fields as stored in Redis. */
export const COUNTER_FIELDS = ['fwd:egress', 'fwd:ingress', 'drop:egress', 'drop:ingress', 'dns', 'other'] as const;
export type CounterField = (typeof COUNTER_FIELDS)[number];

/** What one watch gathered since the last drain. */
export interface WatchDelta {
  member: string;
  counters: Record<CounterField, number>;
  forwardedSamples: FlowSample[];
  droppedSamples: FlowSample[];
  /** Flows per sampled connection (only sampled ones: bounded by the sample limits). */
  connections: Map<string, number>;
  /** Newest flow time tallied, NaN when none. */
  maxFlowTime: number;
}

/** The flow-time window a collector watches, fixed when the watch is first claimed. */
export interface FlowWindow {
  flowFrom: number;
  flowUntil: number;
  /** Flows at or before this were already counted by a previous holder (takeover). */
  resumeAfter: number;
}

/** Longest string kept in a sample field: enough for a pod name or a DNS name. */
export const SAMPLE_FIELD_MAX = 253;

// Verdicts under which the packet went through: AUDIT is policy audit mode letting a denied flow
// pass, REDIRECTED is a hand-over to the L7 proxy. ERROR, TRACED, TRANSLATED are not policy outcomes.
const PASSED = new Set(['FORWARDED', 'AUDIT', 'REDIRECTED']);

interface ActiveWatch {
  member: string;
  spec: WatchSpec;
  window: FlowWindow;
  namespace: string;
  pods: Set<string>;
  selector: LabelSelectorSpec | null;
  dnsSelector: LabelSelectorSpec;
  pending: WatchDelta;
  /** Connections already sampled by this replica (bounded by the sample limits). */
  sampled: Set<string>;
  forwardedSampled: number;
  droppedSampled: number;
}

function emptyDelta(member: string): WatchDelta {
  return {
    member,
    counters: { 'fwd:egress': 0, 'fwd:ingress': 0, 'drop:egress': 0, 'drop:ingress': 0, dns: 0, other: 0 },
    forwardedSamples: [],
    droppedSamples: [],
    connections: new Map(),
    maxFlowTime: Number.NaN,
  };
}

function clip(text: string): string {
  return text.length > SAMPLE_FIELD_MAX ? text.slice(0, SAMPLE_FIELD_MAX) : text;
}

function endpointName(ep: FlowEndpoint): string {
  if (ep.namespace) return clip(`${ep.namespace}/${ep.pod || ep.workload || '?'}`);
  return clip(ep.ip || ep.reserved[0] || '?');
}

export function inScope(ep: FlowEndpoint, namespace: string, pods: ReadonlySet<string>, selector: LabelSelectorSpec | null): boolean {
  if (ep.namespace !== namespace) return false;
  if (selector === null) return true;
  // The pod names catch an endpoint whose labels Hubble left out (or capped); the selector, pods
  // that replaced them under new names.
  return (ep.pod !== '' && pods.has(ep.pod)) || selectorMatches(selector, ep.labels);
}

export interface FlowClass {
  direction: ScopeDirection;
  kind: 'forwarded' | 'dns' | 'dropped' | 'other';
  initiator: FlowEndpoint;
  responder: FlowEndpoint;
  scopeSide: FlowEndpoint;
}

/** How a flow touches a scope, or null when neither side is in it. Pure. */
export function classifyFlow(flow: Flow, scope: { namespace: string; pods: ReadonlySet<string>; selector: LabelSelectorSpec | null }, dns: { namespace: string; selector: LabelSelectorSpec }): FlowClass | null {
  const reply = flow.isReply === true;
  // Seen the way of the connection: a reply travels from the responder back to the initiator.
  const initiator = reply ? flow.destination : flow.source;
  const responder = reply ? flow.source : flow.destination;
  const initiatorIn = inScope(initiator, scope.namespace, scope.pods, scope.selector);
  const responderIn = inScope(responder, scope.namespace, scope.pods, scope.selector);
  if (!initiatorIn && !responderIn) return null;
  const direction: ScopeDirection = initiatorIn && responderIn ? (flow.direction === 'INGRESS' ? 'ingress' : 'egress') : initiatorIn ? 'egress' : 'ingress';
  const scopeSide = direction === 'egress' ? initiator : responder;
  let kind: FlowClass['kind'];
  if (flow.verdict === 'DROPPED') kind = 'dropped';
  else if (!PASSED.has(flow.verdict)) kind = 'other';
  else {
    const toDns =
      responder.port === 53 &&
      (flow.protocol === 'UDP' || flow.protocol === 'TCP') &&
      responder.namespace === dns.namespace &&
      responder.namespace !== '' &&
      selectorMatches(dns.selector, responder.labels);
    kind = toDns ? 'dns' : 'forwarded';
  }
  return { direction, kind, initiator, responder, scopeSide };
}

export function sampleOf(flow: Flow, c: FlowClass): FlowSample {
  const from = endpointName(c.initiator);
  const to = endpointName(c.responder);
  const peer = c.scopeSide === c.initiator ? c.responder : c.initiator;
  const sample: FlowSample = {
    time: flow.time,
    verdict: flow.verdict,
    dropReason: clip(flow.dropReason),
    direction: c.direction,
    from,
    to,
    port: c.responder.port,
    protocol: flow.protocol,
    reply: flow.isReply === true,
    scopePod: clip(c.scopeSide.pod),
    peerName: clip(peer.names[0] ?? ''),
    key: '',
  };
  sample.key = `${c.kind === 'dropped' ? 'd' : 'f'}|${from}|${to}|${sample.port}|${sample.protocol}`;
  return sample;
}

/** The active watches of one collector and what they gathered since the last drain. */
export class ScopeWatchSet {
  private readonly watches = new Map<string, ActiveWatch>();
  // An array for the per-flow loop (no iterator object per flow).
  private list: ActiveWatch[] = [];

  get size(): number {
    return this.list.length;
  }

  has(member: string): boolean {
    return this.watches.has(member);
  }

  members(): string[] {
    return [...this.watches.keys()];
  }

  spec(member: string): WatchSpec | undefined {
    return this.watches.get(member)?.spec;
  }

  add(member: string, spec: WatchSpec, window: FlowWindow): void {
    const selector = spec.scope.labelSelector ?? null;
    this.watches.set(member, {
      member,
      spec,
      window,
      namespace: spec.scope.namespace,
      pods: new Set(spec.scope.podNames),
      selector,
      dnsSelector: { matchLabels: spec.dns.podLabels },
      pending: emptyDelta(member),
      sampled: new Set(),
      forwardedSampled: 0,
      droppedSampled: 0,
    });
    this.list = [...this.watches.values()];
  }

  remove(member: string): void {
    if (this.watches.delete(member)) this.list = [...this.watches.values()];
  }

  /**
   * Tallies one accepted flow against every active watch, or, with `namespace`, against the watches
   * of that namespace only (a sharded collector hands a flow over once per owned namespace it touches).
   */
  observe(flow: Flow, namespace?: string): void {
    const time = flow.time;
    for (let i = 0; i < this.list.length; i++) {
      const w = this.list[i] as ActiveWatch;
      if (namespace !== undefined && w.namespace !== namespace) continue;
      if (time < w.window.flowFrom || time > w.window.flowUntil || time <= w.window.resumeAfter) continue;
      // Most flows involve neither side's namespace: two string comparisons settle them.
      if (flow.source.namespace !== w.namespace && flow.destination.namespace !== w.namespace) continue;
      const c = classifyFlow(flow, w, { namespace: w.spec.dns.namespace, selector: w.dnsSelector });
      if (c) this.tally(w, flow, c);
    }
  }

  private tally(w: ActiveWatch, flow: Flow, c: FlowClass): void {
    const p = w.pending;
    if (!(flow.time <= p.maxFlowTime)) p.maxFlowTime = flow.time;
    if (c.kind === 'dns') p.counters.dns += 1;
    else if (c.kind === 'other') p.counters.other += 1;
    else if (c.kind === 'forwarded') p.counters[c.direction === 'egress' ? 'fwd:egress' : 'fwd:ingress'] += 1;
    else p.counters[c.direction === 'egress' ? 'drop:egress' : 'drop:ingress'] += 1;
    if (c.kind !== 'forwarded' && c.kind !== 'dropped') return;
    const forwarded = c.kind === 'forwarded';
    const limit = forwarded ? w.spec.samples.forwarded : w.spec.samples.dropped;
    const taken = forwarded ? w.forwardedSampled : w.droppedSampled;
    // Sampled connections are counted from then on; a new one only while there is room.
    const sample = sampleOf(flow, c);
    if (w.sampled.has(sample.key)) {
      p.connections.set(sample.key, (p.connections.get(sample.key) ?? 0) + 1);
      return;
    }
    if (taken >= limit) return;
    w.sampled.add(sample.key);
    p.connections.set(sample.key, (p.connections.get(sample.key) ?? 0) + 1);
    if (forwarded) {
      w.forwardedSampled += 1;
      p.forwardedSamples.push(sample);
    } else {
      w.droppedSampled += 1;
      p.droppedSamples.push(sample);
    }
  }

  /** Puts drained tallies back after a failed flush (the caller merged anything newer into them). */
  restore(delta: WatchDelta): void {
    const w = this.watches.get(delta.member);
    if (w) w.pending = delta;
  }

  /** What a watch gathered since the last drain (reset by this call). */
  drain(member: string): WatchDelta | null {
    const w = this.watches.get(member);
    if (!w) return null;
    const delta = w.pending;
    w.pending = emptyDelta(member);
    return delta;
  }
}

/** true when a delta holds nothing to write but the heartbeat. */
export function isEmptyDelta(delta: WatchDelta): boolean {
  return COUNTER_FIELDS.every((f) => delta.counters[f] === 0) && delta.connections.size === 0;
}
