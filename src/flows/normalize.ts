// Hubble flow record (JSON line or decoded protobuf object) → normalized Flow. Pure: no I/O, no clock.
// Accepts both shapes Hubble produces: protojson (`hubble observe -o json|jsonpb`, the exporter file:
// enums as strings, Timestamp as RFC 3339, BoolValue as bool) and the object @grpc/proto-loader
// decodes from the wire (Timestamp as {seconds, nanos}, BoolValue as {value}, enums as strings or numbers).
// A record that cannot become a Flow is rejected with a reason; it never throws.
import { isIP } from 'node:net';
import type { Direction, Flow, FlowEndpoint, L4Protocol, L7Summary, PolicyMatch, Verdict } from './types.js';
import { VERDICTS } from './types.js';

export type RejectReason =
  | 'oversized_line'
  | 'invalid_json'
  | 'not_an_object'
  | 'not_a_flow'
  | 'missing_time'
  | 'invalid_time'
  | 'unknown_verdict'
  | 'missing_endpoints'
  | 'invalid_ip'
  | 'invalid_port';

export type NormalizeResult = { ok: true; flow: Flow } | { ok: false; reason: RejectReason; detail: string };

export interface NormalizeOptions {
  /** Kubernetes labels kept per endpoint; the rest are dropped and `labelsTruncated` is set. */
  maxLabels: number;
  /** Label strings looked at per endpoint at most (bounds CPU on hostile records). */
  maxLabelsScanned: number;
  /** DNS names kept per endpoint. */
  maxNames: number;
  /** Longest JSON line accepted, in characters. */
  maxLineLength: number;
}

export const DEFAULT_NORMALIZE_OPTIONS: NormalizeOptions = {
  maxLabels: 64,
  maxLabelsScanned: 1024,
  maxNames: 8,
  maxLineLength: 1_048_576,
};

const VERDICT_BY_NUMBER: readonly (Verdict | undefined)[] = [undefined, ...VERDICTS];
const VERDICT_SET: ReadonlySet<string> = new Set(VERDICTS);

// The drop reasons the detectors care about by name; others keep their number.
const DROP_REASON_BY_NUMBER: Record<number, string> = {
  130: 'INVALID_SOURCE_MAC',
  131: 'INVALID_DESTINATION_MAC',
  132: 'INVALID_SOURCE_IP',
  133: 'POLICY_DENIED',
  134: 'INVALID_PACKET_DROPPED',
  135: 'CT_TRUNCATED_OR_INVALID_HEADER',
  136: 'CT_MISSING_TCP_ACK_FLAG',
  151: 'STALE_OR_UNROUTABLE_IP',
  158: 'SERVICE_BACKEND_NOT_FOUND',
  181: 'POLICY_DENY',
  189: 'AUTH_REQUIRED',
};

/** Drop reasons that mean "a network policy said no". */
export const POLICY_DROP_REASONS: ReadonlySet<string> = new Set(['POLICY_DENIED', 'POLICY_DENY']);

const L7_TYPES = ['UNKNOWN', 'REQUEST', 'RESPONSE', 'SAMPLE'] as const;

// Labels Cilium adds to every identity; they say nothing a pod selector could use.
const CILIUM_INTERNAL_LABEL = /^io\.(cilium\.k8s\.|kubernetes\.pod\.namespace)/;
// ReplicaSet pods: <deployment>-<pod-template-hash>-<5 chars>; StatefulSet pods: <name>-<ordinal>;
// DaemonSet/Job pods: <name>-<5 chars>.
const REPLICASET_POD = /^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$/;
const STATEFULSET_POD = /^(.+)-\d{1,5}$/;
const GENERATED_POD = /^(.+)-[a-z0-9]{5}$/;
const WORKLOAD_LABELS = ['app.kubernetes.io/name', 'app', 'k8s-app', 'name'];

interface ParsedLabels {
  labels: Record<string, string>;
  reserved: string[];
  truncated: boolean;
  count: number;
  first: string;
  /** The owner last derived for an endpoint with these labels, and the pod/namespace it was derived from. */
  ownerPod?: string;
  ownerNamespace?: string;
  owner?: WorkloadInfo;
}

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function field(obj: Obj, protoName: string, jsonName: string): unknown {
  const value = obj[protoName];
  return value === undefined ? obj[jsonName] : value;
}

/** Port as an integer 0..65535; -1 when present but not a valid port. */
function port(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : -1;
}

function uint(value: unknown): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
}

const FRACTION = /\.(\d+)/;

/** Epoch ms from an RFC 3339 string or a protobuf Timestamp; NaN when invalid, undefined when absent. */
export function parseFlowTime(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) return Number.NaN;
    // Date.parse keeps milliseconds only; keep microseconds as a fraction so ordering survives.
    const fraction = FRACTION.exec(value)?.[1];
    if (fraction && fraction.length > 3) return ms + Number(fraction.slice(3, 6).padEnd(3, '0')) / 1000;
    return ms;
  }
  if (isObj(value)) {
    const seconds = typeof value.seconds === 'string' ? Number(value.seconds) : value.seconds;
    const nanos = value.nanos === undefined ? 0 : value.nanos;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || typeof nanos !== 'number' || !Number.isFinite(nanos)) {
      return Number.NaN;
    }
    if (nanos < 0 || nanos > 999_999_999) return Number.NaN;
    return seconds * 1000 + Math.floor(nanos / 1000) / 1000;
  }
  return Number.NaN;
}

function verdictOf(value: unknown): Verdict | undefined {
  if (typeof value === 'string') return VERDICT_SET.has(value) ? (value as Verdict) : undefined;
  if (typeof value === 'number') return VERDICT_BY_NUMBER[value];
  return undefined;
}

function directionOf(value: unknown): Direction {
  if (value === 'INGRESS' || value === 1) return 'INGRESS';
  if (value === 'EGRESS' || value === 2) return 'EGRESS';
  return 'UNKNOWN';
}

function dropReasonOf(flow: Obj): string {
  const desc = field(flow, 'drop_reason_desc', 'dropReasonDesc');
  if (typeof desc === 'string' && desc !== 'DROP_REASON_UNKNOWN') return desc;
  const code = typeof desc === 'number' && desc > 0 ? desc : uint(field(flow, 'drop_reason', 'dropReason'));
  if (code === 0) return '';
  return DROP_REASON_BY_NUMBER[code] ?? `DROP_REASON_${code}`;
}

function isReplyOf(flow: Obj): boolean | null {
  const wrapped = field(flow, 'is_reply', 'isReply');
  if (typeof wrapped === 'boolean') return wrapped;
  if (isObj(wrapped)) return wrapped.value === true;
  return flow.reply === true ? true : null;
}

function policyNames(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) return [];
  const names: string[] = [];
  for (const policy of value.slice(0, 16)) {
    if (!isObj(policy)) continue;
    const name = str(policy.name);
    if (name) names.push(policy.namespace ? `${str(policy.namespace)}/${name}` : name);
  }
  return names;
}

// Shared by every flow that carries no policy information (most of them): saves allocations.
const NO_POLICY: PolicyMatch = Object.freeze({ matchType: 0, allowedBy: [], deniedBy: [] }) as PolicyMatch;
const NO_NAMES: string[] = [];

function policyOf(flow: Obj): PolicyMatch {
  if (
    flow.policy_match_type === undefined && flow.policyMatchType === undefined &&
    flow.egress_allowed_by === undefined && flow.ingress_allowed_by === undefined &&
    flow.egress_denied_by === undefined && flow.ingress_denied_by === undefined &&
    flow.egressAllowedBy === undefined && flow.ingressAllowedBy === undefined &&
    flow.egressDeniedBy === undefined && flow.ingressDeniedBy === undefined
  ) {
    return NO_POLICY;
  }
  return {
    matchType: uint(field(flow, 'policy_match_type', 'policyMatchType')),
    allowedBy: [
      ...policyNames(field(flow, 'egress_allowed_by', 'egressAllowedBy')),
      ...policyNames(field(flow, 'ingress_allowed_by', 'ingressAllowedBy')),
    ],
    deniedBy: [
      ...policyNames(field(flow, 'egress_denied_by', 'egressDeniedBy')),
      ...policyNames(field(flow, 'ingress_denied_by', 'ingressDeniedBy')),
    ],
  };
}

function stripDot(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

function l7Of(value: unknown): L7Summary | null {
  if (!isObj(value)) return null;
  const rawType = value.type;
  const type =
    typeof rawType === 'string' && (L7_TYPES as readonly string[]).includes(rawType)
      ? (rawType as L7Summary['type'])
      : typeof rawType === 'number'
        ? (L7_TYPES[rawType] ?? 'UNKNOWN')
        : 'UNKNOWN';
  if (isObj(value.dns)) {
    const query = stripDot(str(value.dns.query)).slice(0, 253);
    const qtypes = Array.isArray(value.dns.qtypes) ? value.dns.qtypes.slice(0, 4).map(str).join(',') : '';
    const rcode = uint(value.dns.rcode);
    const summary = `DNS ${type === 'RESPONSE' ? 'answer' : 'query'} ${query}${qtypes ? ` ${qtypes}` : ''}${type === 'RESPONSE' ? ` rcode=${rcode}` : ''}`;
    return { protocol: 'dns', type, summary, dnsQuery: query };
  }
  if (isObj(value.http)) {
    const code = uint(value.http.code);
    const request = `${str(value.http.method)} ${str(value.http.url).slice(0, 512)}`.trim();
    const summary = `${str(value.http.protocol) || 'HTTP'} ${code ? `${code} ` : ''}${request}`.trim();
    return code ? { protocol: 'http', type, summary, httpCode: code } : { protocol: 'http', type, summary };
  }
  if (isObj(value.kafka)) {
    const kafka = value.kafka;
    return { protocol: 'kafka', type, summary: `kafka ${str(kafka.api_key ?? kafka.apiKey)} ${str(kafka.topic)}`.trim() };
  }
  return null;
}

function namesOf(value: unknown, max: number): string[] {
  if (!Array.isArray(value) || value.length === 0) return NO_NAMES;
  const names: string[] = [];
  for (const name of value) {
    if (names.length >= max) break;
    if (typeof name === 'string' && name.length > 0 && name.length <= 253) names.push(stripDot(name));
  }
  return names;
}

interface WorkloadInfo {
  namespace: string;
  workload: string;
  kind: string;
  key: string;
}

const NO_WORKLOAD: WorkloadInfo = { namespace: '', workload: '', kind: '', key: '' };

function workloadInfo(namespace: string, workload: string, kind: string): WorkloadInfo {
  return { namespace, workload, kind, key: workload ? `${namespace}/${workload}` : '' };
}

const EMPTY_LABELS: ParsedLabels = { labels: {}, reserved: [], truncated: false, count: 0, first: '' };

export class FlowNormalizer {
  readonly options: NormalizeOptions;
  // Cilium identities stand for one label set, so parsed labels are cached per identity;
  // pod names map to one workload. Both caches are bounded and only save CPU.
  private readonly labelCache = new Map<number, ParsedLabels>();
  private readonly workloadCache = new Map<string, WorkloadInfo>();
  private static readonly CACHE_LIMIT = 50_000;

  constructor(options: Partial<NormalizeOptions> = {}) {
    this.options = { ...DEFAULT_NORMALIZE_OPTIONS, ...options };
  }

  /** One line of `hubble observe -o json` / exporter output. Blank lines must be filtered by the caller. */
  parseLine(line: string): NormalizeResult {
    if (line.length > this.options.maxLineLength) {
      return { ok: false, reason: 'oversized_line', detail: `line of ${line.length} characters` };
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      return { ok: false, reason: 'invalid_json', detail: error instanceof Error ? error.message : 'invalid JSON' };
    }
    return this.normalizeRecord(value);
  }

  /**
   * A GetFlowsResponse / exporter record (`{flow, node_name, time}`), or a bare Flow (legacy
   * `hubble observe -o json` before Hubble 0.10). Records of other kinds (lost_events,
   * node_status, agent events) are rejected as `not_a_flow`.
   */
  normalizeRecord(value: unknown): NormalizeResult {
    if (!isObj(value)) return { ok: false, reason: 'not_an_object', detail: `got ${Array.isArray(value) ? 'array' : typeof value}` };
    if (value.flow !== undefined) {
      if (!isObj(value.flow)) return { ok: false, reason: 'not_a_flow', detail: '"flow" is not an object' };
      return this.normalizeFlow(value.flow, str(field(value, 'node_name', 'nodeName')));
    }
    if (value.verdict !== undefined || value.IP !== undefined || value.l4 !== undefined) return this.normalizeFlow(value, '');
    const kind = Object.keys(value).find((k) => k !== 'node_name' && k !== 'nodeName' && k !== 'time') ?? 'empty object';
    return { ok: false, reason: 'not_a_flow', detail: `record holds ${kind}` };
  }

  normalizeFlow(flow: Obj, wrapperNode = ''): NormalizeResult {
    const time = parseFlowTime(flow.time);
    if (time === undefined) return { ok: false, reason: 'missing_time', detail: 'flow has no time' };
    if (Number.isNaN(time)) return { ok: false, reason: 'invalid_time', detail: `unparseable time ${JSON.stringify(flow.time).slice(0, 64)}` };

    const verdict = verdictOf(flow.verdict);
    if (!verdict) return { ok: false, reason: 'unknown_verdict', detail: `verdict ${JSON.stringify(flow.verdict ?? null).slice(0, 64)}` };

    const ip = isObj(flow.IP) ? flow.IP : isObj(flow.ip) ? flow.ip : undefined;
    const sourceIp = ip ? str(ip.source) : '';
    const destinationIp = ip ? str(ip.destination) : '';
    if ((sourceIp && isIP(sourceIp) === 0) || (destinationIp && isIP(destinationIp) === 0)) {
      return { ok: false, reason: 'invalid_ip', detail: `IP ${sourceIp.slice(0, 64)} -> ${destinationIp.slice(0, 64)}` };
    }

    let protocol: L4Protocol = 'NONE';
    let sourcePort = 0;
    let destinationPort = 0;
    if (isObj(flow.l4)) {
      const l4 = flow.l4;
      const ported = isObj(l4.TCP) ? ((protocol = 'TCP'), l4.TCP) : isObj(l4.UDP) ? ((protocol = 'UDP'), l4.UDP) : isObj(l4.SCTP) ? ((protocol = 'SCTP'), l4.SCTP) : undefined;
      if (ported) {
        sourcePort = port(field(ported, 'source_port', 'sourcePort'));
        destinationPort = port(field(ported, 'destination_port', 'destinationPort'));
        if (sourcePort < 0 || destinationPort < 0) {
          return { ok: false, reason: 'invalid_port', detail: `ports ${JSON.stringify(field(ported, 'source_port', 'sourcePort'))} -> ${JSON.stringify(field(ported, 'destination_port', 'destinationPort'))}`.slice(0, 128) };
        }
      } else if (isObj(l4.ICMPv4)) protocol = 'ICMPv4';
      else if (isObj(l4.ICMPv6)) protocol = 'ICMPv6';
    }

    const source = this.endpoint(flow.source, sourceIp, field(flow, 'source_names', 'sourceNames'), sourcePort);
    const destination = this.endpoint(flow.destination, destinationIp, field(flow, 'destination_names', 'destinationNames'), destinationPort);
    if (!source || !destination) {
      return { ok: false, reason: 'missing_endpoints', detail: `${source ? 'destination' : 'source'} has no IP, pod, identity or labels` };
    }

    return {
      ok: true,
      flow: {
        time,
        uuid: str(flow.uuid),
        verdict,
        dropReason: verdict === 'DROPPED' ? dropReasonOf(flow) : '',
        source,
        destination,
        protocol,
        l7: l7Of(flow.l7),
        direction: directionOf(field(flow, 'traffic_direction', 'trafficDirection')),
        isReply: isReplyOf(flow),
        policy: policyOf(flow),
        node: str(field(flow, 'node_name', 'nodeName')) || wrapperNode,
      },
    };
  }

  private endpoint(value: unknown, ip: string, names: unknown, endpointPort: number): FlowEndpoint | null {
    const ep = isObj(value) ? value : {};
    const namespace = str(ep.namespace).slice(0, 63);
    const pod = str(field(ep, 'pod_name', 'podName')).slice(0, 253);
    const identity = uint(ep.identity);
    const parsed = this.labels(ep.labels, identity);
    if (!ip && !pod && identity === 0 && parsed.count === 0) return null;
    const owner = namespace ? this.ownerOf(ep, namespace, pod, parsed) : NO_WORKLOAD;
    return {
      namespace,
      pod,
      workload: owner.workload,
      workloadKind: owner.kind,
      workloadKey: owner.key,
      labels: parsed.labels,
      labelsTruncated: parsed.truncated,
      reserved: parsed.reserved,
      ip,
      identity,
      names: namesOf(names, this.options.maxNames),
      port: endpointPort,
    };
  }

  private labels(value: unknown, identity: number): ParsedLabels {
    if (!Array.isArray(value) || value.length === 0) return EMPTY_LABELS;
    const cached = identity > 0 ? this.labelCache.get(identity) : undefined;
    if (cached && cached.count === value.length && cached.first === value[0]) return cached;

    const labels: Record<string, string> = {};
    const reserved: string[] = [];
    let kept = 0;
    let truncated = value.length > this.options.maxLabelsScanned;
    const scan = Math.min(value.length, this.options.maxLabelsScanned);
    for (let i = 0; i < scan; i++) {
      const label = value[i];
      if (typeof label !== 'string' || label.length > 320) continue;
      if (label.startsWith('reserved:')) {
        if (reserved.length < 8) reserved.push(label.slice(9));
        continue;
      }
      if (!label.startsWith('k8s:')) continue;
      const eq = label.indexOf('=');
      const key = eq < 0 ? label.slice(4) : label.slice(4, eq);
      if (CILIUM_INTERNAL_LABEL.test(key)) continue;
      if (kept >= this.options.maxLabels) {
        truncated = true;
        continue;
      }
      labels[key] = eq < 0 ? '' : label.slice(eq + 1);
      kept += 1;
    }
    const parsed: ParsedLabels = { labels, reserved, truncated, count: value.length, first: str(value[0]), ownerPod: undefined, ownerNamespace: undefined, owner: undefined };
    if (identity > 0) {
      if (this.labelCache.size >= FlowNormalizer.CACHE_LIMIT) this.labelCache.clear();
      this.labelCache.set(identity, parsed);
    }
    return parsed;
  }

  /**
   * workloadOf, remembered on the (per-identity cached) labels: an identity is nearly always seen
   * with the same pod, so one string comparison replaces a second cache lookup (both caches are
   * large and cold at 10k workloads). Hubble's own `workloads` field, when sent, always wins.
   */
  private ownerOf(ep: Obj, namespace: string, pod: string, parsed: ParsedLabels): WorkloadInfo {
    if (ep.workloads === undefined && parsed.owner !== undefined && parsed.ownerPod === pod && parsed.ownerNamespace === namespace) {
      return parsed.owner;
    }
    const owner = this.workloadOf(ep, namespace, pod, parsed.labels);
    if (ep.workloads === undefined && parsed !== EMPTY_LABELS) {
      parsed.ownerPod = pod;
      parsed.ownerNamespace = namespace;
      parsed.owner = owner;
    }
    return owner;
  }

  private workloadOf(ep: Obj, namespace: string, pod: string, labels: Record<string, string>): WorkloadInfo {
    const workloads = ep.workloads;
    if (Array.isArray(workloads) && isObj(workloads[0]) && str(workloads[0].name)) {
      return workloadInfo(namespace, str(workloads[0].name).slice(0, 253), str(workloads[0].kind));
    }
    if (pod) {
      // Cached per pod so every flow of a pod shares one key string (cheap Map lookups downstream).
      const cached = this.workloadCache.get(pod);
      if (cached && cached.namespace === namespace) return cached;
      const [name, kind] = workloadFromPodName(pod);
      const info = workloadInfo(namespace, name, kind);
      if (this.workloadCache.size >= FlowNormalizer.CACHE_LIMIT) this.workloadCache.clear();
      this.workloadCache.set(pod, info);
      return info;
    }
    for (const key of WORKLOAD_LABELS) {
      const name = labels[key];
      if (name) return workloadInfo(namespace, name, '');
    }
    return NO_WORKLOAD;
  }
}

/** Owner name and kind guessed from a pod name's shape (what the ReplicaSet/StatefulSet/DaemonSet controllers generate). */
export function workloadFromPodName(pod: string): [string, string] {
  let match = REPLICASET_POD.exec(pod);
  if (match?.[1]) return [match[1], 'Deployment'];
  match = STATEFULSET_POD.exec(pod);
  if (match?.[1]) return [match[1], 'StatefulSet'];
  match = GENERATED_POD.exec(pod);
  if (match?.[1]) return [match[1], 'DaemonSet'];
  return [pod, 'Pod'];
}

const defaultNormalizer = new FlowNormalizer();

/** Normalizes one record with default options (see FlowNormalizer for the details). */
export function normalizeRecord(value: unknown): NormalizeResult {
  return defaultNormalizer.normalizeRecord(value);
}

export function parseHubbleLine(line: string): NormalizeResult {
  return defaultNormalizer.parseLine(line);
}
