// The traffic half of a restore step's verification (pure): in the step's window, the edges the
// baseline learned and known-good allows must be seen forwarded again where traffic exists, and
// the anomaly's flows must stay dropped. A quiet window is "no traffic to judge", never a pass.
//
// Names differ by origin, so matching goes through keys: the collector's samples name a pod side
// `ns/pod` (src/flows/scope-watch.ts, endpointName; `ns/workload` when Hubble gave no pod) and
// anything else by IP or reserved identity, seen the way of the connection (initiator → responder,
// the responder's port, replies included); learned edges name `ns/workload` or an IP
// (src/nettest/learned.ts); anomaly probes name `ns/pod` or an IP (src/anomaly/lookup.ts). A pod
// is reduced to its workload the way the baseline itself did it (workloadFromPodName).
import { safeValue } from '../containment/traffic-describe.js';
import type { CountedSample, TrafficVerdict, WatchScope } from '../containment/traffic.js';
import { workloadFromPodName } from '../flows/normalize.js';
import { WATCH_LIMITS } from '../flows/watch-spec.js';
import type { LearnedEdge } from '../nettest/matrix.js';
import { parseIp } from '../policy/ip-set.js';
import { printable } from '../printable.js';
import { plural } from '../words.js';

export type TrafficJudgeStatus = 'pass' | 'fail' | 'no-traffic' | 'no-collector';

export interface TrafficJudgement {
  status: TrafficJudgeStatus;
  lines: string[];
}

/** One connection as the judge compares it: `ns/workload`, `ns/pod` or an address on each side. */
export interface JudgedFlow {
  src: string;
  dst: string;
  port: number;
  protocol: string;
}

export interface TrafficJudgeInput {
  verdict: TrafficVerdict | null;
  expectedOpen: readonly LearnedEdge[];
  anomalyFlows: readonly JudgedFlow[];
}

/** Evidence lines shown (failures, or what was seen), then "… N more". */
export const JUDGE_MAX_ITEMS = 10;

/** The most samples a watch keeps: the restore judges on samples, so it asks for all it can get. */
export const RESTORE_WATCH_SAMPLES = { forwarded: WATCH_LIMITS.maxSamples, dropped: WATCH_LIMITS.maxSamples } as const;

// Longer names cannot come from Kubernetes (namespace 63 + "/" + name 253 + a "[Kind]").
const MAX_NAME = 340;
const POD_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The scope a restore step's watch covers: the incident's whole namespace (no selector, so pods a
 * rollout replaces during the window count too). The pod names are the ones valid for a watch,
 * once each, at most the watch's limit; the namespace is checked by TrafficCheck.register.
 */
export function restoreWatchScope(namespace: string, podNames: readonly string[]): WatchScope {
  const valid = new Set<string>();
  for (const p of podNames) {
    if (valid.size >= WATCH_LIMITS.maxPodNames) break;
    if (typeof p === 'string' && p.length <= 253 && POD_NAME.test(p)) valid.add(p);
  }
  return { namespace, podNames: [...valid].sort() };
}

/**
 * The keys one endpoint text matches under: `a:` a canonical address, `w:ns/name` the name as
 * given and, for a pod (`pods`), its workload. Empty when the text cannot be matched at all.
 */
export function endpointKeys(text: unknown, pods: boolean): string[] {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_NAME) return [];
  const ip = parseIp(text);
  if (ip) return [`a:${ip.family}:${ip.value.toString(16)}`];
  const slash = text.indexOf('/');
  if (slash < 0) return text === '?' ? [] : [`r:${text}`];
  const namespace = text.slice(0, slash);
  // `analyze` names may carry a kind: `ns/api[Deployment]`.
  const name = text.slice(slash + 1).replace(/\[[A-Za-z]{1,63}\]$/, '');
  if (namespace === '' || name === '' || name === '?' || name.includes('/')) return [];
  const keys = [`w:${namespace}/${name}`];
  if (pods) {
    const [workload] = workloadFromPodName(name);
    if (workload !== name) keys.push(`w:${namespace}/${workload}`);
  }
  return keys;
}

function portOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535 ? value : undefined;
}

function protocolOf(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 16) return undefined;
  // Samples nearly always say TCP or UDP already.
  return value === 'TCP' || value === 'UDP' ? value : value.toUpperCase();
}

const NONE: readonly number[] = [];

/** Index of connections by port/protocol, then every key of each side (no string built per lookup). */
class FlowIndex {
  private readonly byPort = new Map<string, Map<string, Map<string, number[]>>>();
  /** Entries that cannot be matched (bad side, port or protocol). */
  unmatchable = 0;

  constructor(flows: readonly JudgedFlow[], pods: boolean) {
    flows.forEach((f, i) => {
      const src = endpointKeys(f?.src, pods);
      const dst = endpointKeys(f?.dst, pods);
      const port = portOf(f?.port);
      const protocol = protocolOf(f?.protocol);
      if (src.length === 0 || dst.length === 0 || port === undefined || protocol === undefined) {
        this.unmatchable += 1;
        return;
      }
      const pp = `${port}/${protocol}`;
      let bySrc = this.byPort.get(pp);
      if (!bySrc) this.byPort.set(pp, (bySrc = new Map()));
      for (const a of src) {
        let byDst = bySrc.get(a);
        if (!byDst) bySrc.set(a, (byDst = new Map()));
        for (const b of dst) {
          const list = byDst.get(b);
          if (!list) byDst.set(b, [i]);
          else if (list[list.length - 1] !== i) list.push(i);
        }
      }
    });
  }

  has(portProtocol: string): boolean {
    return this.byPort.has(portProtocol);
  }

  /** Indexes of the connections a sample's keys meet (each once). */
  matches(src: readonly string[], dst: readonly string[], portProtocol: string): readonly number[] {
    const bySrc = this.byPort.get(portProtocol);
    if (!bySrc) return NONE;
    let out: number[] | undefined;
    for (const a of src) {
      const byDst = bySrc.get(a);
      if (!byDst) continue;
      for (const b of dst) {
        for (const i of byDst.get(b) ?? NONE) {
          if (!out) out = [i];
          else if (!out.includes(i)) out.push(i);
        }
      }
    }
    return out ?? NONE;
  }
}

interface Hit {
  flows: number;
  /** The first sample seen, to show the pods behind a workload-level edge. */
  sample: CountedSample;
  reasons: Set<string>;
  reply: boolean;
}

function countOf(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 1 ? Math.floor(value) : 1;
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

function flowText(f: JudgedFlow): string {
  const port = portOf(f.port);
  return `${safeValue(String(f.src))} → ${safeValue(String(f.dst))}:${port ?? '?'}/${safeValue(String(f.protocol))}`;
}

function seenAs(flow: JudgedFlow, hit: Hit): string {
  const s = hit.sample;
  const same = String(s.from) === String(flow.src) && String(s.to) === String(flow.dst);
  const flows = `${hit.flows} flow${hit.flows === 1 ? '' : 's'}${hit.reply ? ', reply packets included' : ''}`;
  return same ? ` (${flows})` : ` (seen as ${safeValue(String(s.from))} → ${safeValue(String(s.to))}, ${flows})`;
}

function record(hits: Map<number, Hit>, i: number, s: CountedSample): void {
  const hit = hits.get(i);
  const reason = typeof s.dropReason === 'string' && s.dropReason !== '' ? safeValue(s.dropReason) : 'DROPPED';
  if (!hit) hits.set(i, { flows: countOf(s.count), sample: s, reasons: new Set([reason]), reply: s.reply === true });
  else {
    hit.flows += countOf(s.count);
    if (hit.reasons.size < 3) hit.reasons.add(reason);
    hit.reply ||= s.reply === true;
  }
}

/** Hits in the order of the input lists (learned edges come sorted), not of the samples' times. */
function inOrder(hits: Map<number, Hit>): Array<[number, Hit]> {
  return [...hits].sort((a, b) => a[0] - b[0]);
}

function capped(items: string[]): string[] {
  if (items.length <= JUDGE_MAX_ITEMS) return items;
  return [...items.slice(0, JUDGE_MAX_ITEMS - 1), `… ${items.length - (JUDGE_MAX_ITEMS - 1)} more`];
}

function samplesOf(value: unknown): CountedSample[] {
  return Array.isArray(value) ? (value.filter((s) => s !== null && typeof s === 'object') as CountedSample[]) : [];
}

function windowText(v: TrafficVerdict): string {
  const ms = num(v.window?.durationMs);
  return ms > 0 ? `${Math.round(ms / 1000)} s` : 'the window';
}

/** The traffic verdict of one restore step. Never throws: damaged input is judged as what it is. */
export function judgeTraffic(input: TrafficJudgeInput): TrafficJudgement {
  const v = input.verdict;
  if (v === null || typeof v !== 'object') return { status: 'no-collector', lines: ['Not verified by traffic: no traffic watch is registered for this step'] };
  if (v.status === 'no-collector') return { status: 'no-collector', lines: [`Not verified by traffic: ${printable(String(v.reason ?? 'no flow collector watched the window'), 200)}`] };

  const expected = Array.isArray(input.expectedOpen) ? input.expectedOpen : [];
  const anomalies = Array.isArray(input.anomalyFlows) ? input.anomalyFlows : [];
  // Expected edges are workload-named; anomaly probes pod-named, reduced to workloads too.
  const expectedIndex = new FlowIndex(expected, false);
  const anomalyIndex = new FlowIndex(anomalies, true);
  const forwarded = samplesOf(v.samples?.forwarded);
  const dropped = samplesOf(v.samples?.dropped);

  const openSeen = new Map<number, Hit>();
  const openDropped = new Map<number, Hit>();
  const anomalyForwarded = new Map<number, Hit>();
  const anomalyDropped = new Map<number, Hit>();
  const touched = new Set<number>();
  const keys = new Map<string, string[]>();
  const keysOf = (text: unknown): string[] => {
    if (typeof text !== 'string') return [];
    let k = keys.get(text);
    if (!k) keys.set(text, (k = endpointKeys(text, true)));
    return k;
  };
  const judge = (samples: CountedSample[], open: Map<number, Hit>, anomaly: Map<number, Hit>): void => {
    for (const s of samples) {
      const port = portOf(s.port);
      const protocol = protocolOf(s.protocol);
      if (port === undefined || protocol === undefined) continue;
      const pp = `${port}/${protocol}`;
      if (!anomalyIndex.has(pp) && !expectedIndex.has(pp)) continue;
      const src = keysOf(s.from);
      const dst = keysOf(s.to);
      if (src.length === 0 || dst.length === 0) continue;
      const bad = anomalyIndex.matches(src, dst, pp);
      for (const i of bad) record(anomaly, i, s);
      const good = expectedIndex.matches(src, dst, pp);
      for (const i of good) touched.add(i);
      // A connection that is both learned and anomalous is judged as the anomaly: it must stay shut.
      if (bad.length === 0) for (const i of good) record(open, i, s);
    }
  };
  judge(forwarded, openSeen, anomalyForwarded);
  judge(dropped, openDropped, anomalyDropped);

  const notes: string[] = [];
  if (v.window?.complete !== true) notes.push('The collector did not close the window: flows after its last report are not counted.');
  const sampledFlows = (list: CountedSample[]): number => list.reduce((n, s) => n + countOf(s.count), 0);
  // Counts at least what the samples show (a damaged record may say less).
  const fwdTotal = Math.max(num(v.forwarded?.egress) + num(v.forwarded?.ingress), sampledFlows(forwarded));
  const dropTotal = Math.max(num(v.dropped?.egress) + num(v.dropped?.ingress), sampledFlows(dropped));
  const unsampledDropped = dropTotal - sampledFlows(dropped);
  const unsampledForwarded = fwdTotal - sampledFlows(forwarded);
  if (unsampledDropped > 0) notes.push(`${plural(unsampledDropped, 'dropped flow')} fell outside the samples: an expected edge among them is not shown.`);
  if (unsampledForwarded > 0) notes.push(`${plural(unsampledForwarded, 'forwarded flow')} fell outside the samples: an anomaly's flow among them is not shown.`);
  const unmatchable = expectedIndex.unmatchable + anomalyIndex.unmatchable;
  if (unmatchable > 0) notes.push(`${plural(unmatchable, 'expected connection')} could not be compared (a side, port or protocol that is not valid).`);

  const failures = [
    ...inOrder(anomalyForwarded).map(([i, hit]) => `The anomaly's flow ${flowText(anomalies[i] as JudgedFlow)} was forwarded${seenAs(anomalies[i] as JudgedFlow, hit)}`),
    ...inOrder(openDropped).map(([i, hit]) => `${flowText(expected[i] as LearnedEdge)} should be open (learned, allowed by known-good) but was dropped: ${[...hit.reasons].join(', ')}${seenAs(expected[i] as LearnedEdge, hit)}`),
  ];
  if (failures.length > 0) {
    const head = `Traffic (${windowText(v)}): ${[anomalyForwarded.size > 0 ? `${plural(anomalyForwarded.size, "anomaly's flow", "anomaly's flows")} forwarded` : '', openDropped.size > 0 ? `${plural(openDropped.size, 'expected edge')} dropped` : ''].filter(Boolean).join(', ')}`;
    return { status: 'fail', lines: [head, ...capped(failures), ...notes] };
  }

  const total = fwdTotal + dropTotal + num(v.dnsForwarded) + num(v.other);
  if (total === 0) {
    return { status: 'no-traffic', lines: [`No traffic to judge: no flows to or from namespace ${safeValue(String(v.scope?.namespace ?? '?'))} in ${windowText(v)}`, ...notes] };
  }
  if (openSeen.size === 0 && anomalyDropped.size === 0) {
    return { status: 'no-traffic', lines: [`No traffic to judge: ${plural(total, 'flow')} in ${windowText(v)}, none on an expected edge or an anomaly's flow`, ...notes] };
  }

  const seen = [
    ...inOrder(openSeen).map(([i, hit]) => `Open again: ${flowText(expected[i] as LearnedEdge)}${seenAs(expected[i] as LearnedEdge, hit)}`),
    ...inOrder(anomalyDropped).map(([i, hit]) => `Still dropped (anomaly): ${flowText(anomalies[i] as JudgedFlow)}${seenAs(anomalies[i] as JudgedFlow, hit)}`),
  ];
  const quiet = expected.length - expectedIndex.unmatchable - touched.size;
  if (quiet > 0) notes.push(`${plural(quiet, 'expected edge')} had no traffic in the window (not judged).`);
  const head = `Traffic (${windowText(v)}): ${plural(openSeen.size, 'expected edge')} seen forwarded, ${plural(anomalyDropped.size, "anomaly's flow", "anomaly's flows")} seen dropped`;
  return { status: 'pass', lines: [head, ...capped(seen), ...notes] };
}
