// The normalized flow and the anomaly: the two types every other part of src/flows speaks.
// Sources (Hubble gRPC, Hubble JSON lines) produce Flow; detectors and webhooks produce Anomaly.

export const VERDICTS = ['FORWARDED', 'DROPPED', 'ERROR', 'AUDIT', 'REDIRECTED', 'TRACED', 'TRANSLATED'] as const;
export type Verdict = (typeof VERDICTS)[number];

export type L4Protocol = 'TCP' | 'UDP' | 'SCTP' | 'ICMPv4' | 'ICMPv6' | 'NONE';
export type Direction = 'INGRESS' | 'EGRESS' | 'UNKNOWN';

/** One side of a flow. A pod has namespace/pod/workload; anything else is known by IP and reserved labels. */
export interface FlowEndpoint {
  /** '' when the endpoint is not a pod (world, host, remote node…). */
  namespace: string;
  pod: string;
  /** Owning workload name (Deployment, StatefulSet, DaemonSet…), derived when Hubble does not say. '' for non-pods. */
  workload: string;
  /** Workload kind when known (from Hubble's `workloads` or the pod-name shape), else ''. */
  workloadKind: string;
  /** "namespace/workload" (the baseline's unit), '' for non-pods. */
  workloadKey: string;
  /** Kubernetes labels (the `k8s:` source), capped in number (see labelsTruncated). */
  labels: Record<string, string>;
  labelsTruncated: boolean;
  /** Cilium reserved identities of the endpoint, e.g. ['world'], ['host'], ['kube-apiserver']. */
  reserved: string[];
  ip: string;
  /** Cilium security identity; 0 when unknown. */
  identity: number;
  /** DNS names Hubble associates with this IP (source_names / destination_names). */
  names: string[];
  /** L4 port; 0 when the protocol has none (ICMP) or the record did not carry it. */
  port: number;
}

export interface L7Summary {
  protocol: 'dns' | 'http' | 'kafka';
  type: 'REQUEST' | 'RESPONSE' | 'SAMPLE' | 'UNKNOWN';
  /** Human-readable one-liner: "GET http://x/y", "DNS A example.com.", "kafka produce topic". */
  summary: string;
  /** For DNS: the queried name without the trailing dot. */
  dnsQuery?: string;
  /** For HTTP responses: the status code. */
  httpCode?: number;
}

export interface PolicyMatch {
  /** Cilium policy_match_type (policy verdict events), 0 when absent. */
  matchType: number;
  /** "namespace/name" of the policies that allowed or denied the flow, when Hubble reports them. */
  allowedBy: string[];
  deniedBy: string[];
}

export interface Flow {
  /** Epoch milliseconds (sub-millisecond part kept as a fraction). */
  time: number;
  uuid: string;
  verdict: Verdict;
  /** Drop reason name (e.g. POLICY_DENIED) for DROPPED flows, '' otherwise. */
  dropReason: string;
  source: FlowEndpoint;
  destination: FlowEndpoint;
  protocol: L4Protocol;
  l7: L7Summary | null;
  direction: Direction;
  /** true/false when Hubble says, null when unknown. */
  isReply: boolean | null;
  policy: PolicyMatch;
  node: string;
}

/** "namespace/workload", the unit baselines are kept for. */
export type WorkloadKey = string;

export interface WorkloadRef {
  namespace: string;
  name: string;
  kind: string;
}

export type AnomalyKind =
  | 'new-external-egress'
  | 'new-east-west-edge'
  | 'volume-spike'
  | 'policy-deny-spike'
  | 'fan-out'
  | 'external-alert';

export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** What to contain: a whole namespace, or the pods a selector picks in it. */
export interface ScopeSuggestion {
  namespace: string;
  /** matchLabels for a pod selector; absent means the whole namespace. */
  podSelector?: Record<string, string>;
  /** Why this scope (e.g. "pods of db/postgres, selected by app=postgres"). */
  reason: string;
}

/** The learned figure the anomaly deviates from, stated so a human can judge it. */
export interface BaselineFigure {
  metric: string;
  /** What the baseline expected (e.g. median per minute, or 0 for "never seen"). */
  expected: number;
  observed: number;
  unit: string;
  description: string;
}

export interface Anomaly {
  /** Unique per raised alert: `${dedupeKey}@${firstSeen}`. */
  id: string;
  kind: AnomalyKind;
  severity: Severity;
  /** One line for a Slack message header. */
  title: string;
  workload: WorkloadRef;
  scope: ScopeSuggestion;
  baseline: BaselineFigure;
  /** A few of the flows that triggered it (empty for webhook alerts without flows). */
  evidence: Flow[];
  /** Same key = same ongoing event; the pipeline raises one alert per key per cooldown. */
  dedupeKey: string;
  /** Epoch ms of the first and latest flow (or alert) that belongs to this event. */
  firstSeen: number;
  lastSeen: number;
  origin: 'flows' | 'alertmanager' | 'falcosidekick';
  /** Extra facts as short strings (peer, port, rule name…). */
  details: Record<string, string>;
}

/** Counts of records read, accepted and skipped (per reason) by a source or the pipeline. */
export interface RecordCounts {
  read: number;
  accepted: number;
  skipped: Record<string, number>;
}

export function emptyCounts(): RecordCounts {
  return { read: 0, accepted: 0, skipped: {} };
}

export function countSkip(counts: RecordCounts, reason: string): void {
  counts.skipped[reason] = (counts.skipped[reason] ?? 0) + 1;
}

export function workloadKeyOf(endpoint: FlowEndpoint): WorkloadKey | null {
  return endpoint.workloadKey || null;
}
