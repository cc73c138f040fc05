// The shop scenario's traffic as Hubble records (the `hubble observe -o json` / exporter shape:
// `{flow, node_name, time}` with proto field names). Pure and deterministic (seeded), so the demo,
// the Hubble Relay stand-in and the tests all see the same stream.
//
// Normal phase: web→orders:8080, orders→postgres:5432, orders→redis-cache:6379,
// payments→postgres:5432, every workload→kube-dns:53/UDP. Incident phase (after a bad policy
// change): policy drops of web→postgres:5432 and postgres-0 → 203.0.113.66:443 (exfiltration).
// 203.0.113.66 is TEST-NET-3: it only ever appears as data inside flows.
import { seededRandom } from '../random.js';

export interface HubbleRecord {
  flow: Record<string, unknown>;
  node_name: string;
  time: string;
}

export interface ShopTrafficOptions {
  /** Epoch ms of the first minute. */
  start: number;
  /** Minutes of normal traffic before the incident. */
  normalMinutes: number;
  /** Minutes of incident traffic. */
  incidentMinutes: number;
  /** Multiplies every rate (1 = the rates below per minute). */
  scale: number;
  seed: number;
}

export const DEFAULT_SHOP_TRAFFIC: ShopTrafficOptions = {
  start: Date.UTC(2026, 0, 15, 9, 0, 0),
  normalMinutes: 90,
  incidentMinutes: 10,
  scale: 1,
  seed: 42,
};

export const EXFIL_IP = '203.0.113.66';
export const EXFIL_PORT = 443;

interface Pod {
  namespace: string;
  name: string;
  app: string;
  labelKey: string;
  ip: string;
  identity: number;
  node: string;
}

export const SHOP_PODS = {
  web1: { namespace: 'frontend', name: 'web-6d4cf56db6-2xk9p', app: 'web', labelKey: 'app', ip: '10.244.1.11', identity: 10101, node: 'shop-worker-1' },
  web2: { namespace: 'frontend', name: 'web-6d4cf56db6-h7q2m', app: 'web', labelKey: 'app', ip: '10.244.2.12', identity: 10101, node: 'shop-worker-2' },
  orders: { namespace: 'api', name: 'orders-7c5d9b8f4c-kq2wz', app: 'orders', labelKey: 'app', ip: '10.244.1.21', identity: 10201, node: 'shop-worker-1' },
  payments: { namespace: 'api', name: 'payments-5b7f8c6d94-tn4rx', app: 'payments', labelKey: 'app', ip: '10.244.2.22', identity: 10202, node: 'shop-worker-2' },
  postgres: { namespace: 'db', name: 'postgres-0', app: 'postgres', labelKey: 'app', ip: '10.244.2.31', identity: 10301, node: 'shop-worker-2' },
  redis: { namespace: 'db', name: 'redis-cache-6f9d7b5c8d-zq7wn', app: 'redis-cache', labelKey: 'app', ip: '10.244.1.32', identity: 10302, node: 'shop-worker-1' },
  dns: { namespace: 'kube-system', name: 'kube-dns-5d78c9869d-p2v8x', app: 'kube-dns', labelKey: 'k8s-app', ip: '10.244.0.10', identity: 10401, node: 'shop-control-plane' },
} satisfies Record<string, Pod>;

function endpoint(pod: Pod): Record<string, unknown> {
  return {
    ID: pod.identity % 4000,
    identity: pod.identity,
    namespace: pod.namespace,
    labels: [`k8s:${pod.labelKey}=${pod.app}`, `k8s:io.kubernetes.pod.namespace=${pod.namespace}`, 'k8s:io.cilium.k8s.policy.cluster=shop'],
    pod_name: pod.name,
  };
}

const WORLD = { identity: 2, labels: ['reserved:world'] };

function rfc3339(ms: number): string {
  // Microsecond precision, like Hubble's nanosecond timestamps padded.
  const whole = Math.floor(ms);
  const micros = Math.round((ms - whole) * 1000);
  return new Date(whole).toISOString().replace('Z', `${String(micros).padStart(3, '0')}000Z`);
}

interface FlowSpec {
  from: Pod;
  to: Pod | 'world';
  port: number;
  protocol: 'TCP' | 'UDP';
  verdict: 'FORWARDED' | 'DROPPED';
  direction: 'EGRESS' | 'INGRESS';
  /** TCP flags (default SYN: a new connection). */
  flags?: Record<string, boolean>;
}

function record(spec: FlowSpec, time: number, sourcePort: number): HubbleRecord {
  const to = spec.to === 'world' ? null : spec.to;
  const node = spec.direction === 'EGRESS' || !to ? spec.from.node : to.node;
  const l4 =
    spec.protocol === 'TCP'
      ? { TCP: { source_port: sourcePort, destination_port: spec.port, flags: spec.flags ?? { SYN: true } } }
      : { UDP: { source_port: sourcePort, destination_port: spec.port } };
  const flow: Record<string, unknown> = {
    time: rfc3339(time),
    verdict: spec.verdict,
    IP: { source: spec.from.ip, destination: to ? to.ip : EXFIL_IP, ipVersion: 'IPv4' },
    l4,
    source: endpoint(spec.from),
    destination: to ? endpoint(to) : WORLD,
    Type: 'L3_L4',
    node_name: node,
    event_type: { type: spec.verdict === 'DROPPED' ? 1 : 4 },
    traffic_direction: spec.direction,
    is_reply: false,
    Summary: spec.protocol === 'TCP' ? `TCP Flags: ${Object.keys(spec.flags ?? { SYN: true }).join(', ')}` : 'UDP',
  };
  if (spec.verdict === 'DROPPED') {
    flow.drop_reason = 133;
    flow.drop_reason_desc = 'POLICY_DENIED';
  }
  return { flow, node_name: node, time: flow.time as string };
}

const P = SHOP_PODS;

/** Per-minute flows of the normal phase. */
const NORMAL: [FlowSpec, number][] = [
  [{ from: P.web1, to: P.orders, port: 8080, protocol: 'TCP', verdict: 'FORWARDED', direction: 'EGRESS' }, 15],
  [{ from: P.web2, to: P.orders, port: 8080, protocol: 'TCP', verdict: 'FORWARDED', direction: 'EGRESS' }, 15],
  [{ from: P.orders, to: P.postgres, port: 5432, protocol: 'TCP', verdict: 'FORWARDED', direction: 'EGRESS' }, 20],
  [{ from: P.orders, to: P.redis, port: 6379, protocol: 'TCP', verdict: 'FORWARDED', direction: 'EGRESS' }, 20],
  [{ from: P.payments, to: P.postgres, port: 5432, protocol: 'TCP', verdict: 'FORWARDED', direction: 'EGRESS' }, 10],
  ...[P.web1, P.web2, P.orders, P.payments, P.postgres, P.redis].map(
    (pod): [FlowSpec, number] => [{ from: pod, to: P.dns, port: 53, protocol: 'UDP', verdict: 'FORWARDED', direction: 'EGRESS' }, 4],
  ),
];

/** Extra per-minute flows of the incident phase. */
const INCIDENT: [FlowSpec, number][] = [
  [{ from: P.web1, to: P.postgres, port: 5432, protocol: 'TCP', verdict: 'DROPPED', direction: 'INGRESS' }, 25],
  [{ from: P.postgres, to: 'world', port: EXFIL_PORT, protocol: 'TCP', verdict: 'FORWARDED', direction: 'EGRESS' }, 30],
];

export interface ShopTimeline {
  start: number;
  incidentStart: number;
  end: number;
}

export function shopTimeline(options: Partial<ShopTrafficOptions> = {}): ShopTimeline {
  const o = { ...DEFAULT_SHOP_TRAFFIC, ...options };
  const incidentStart = o.start + o.normalMinutes * 60_000;
  return { start: o.start, incidentStart, end: incidentStart + o.incidentMinutes * 60_000 };
}

/** The whole scenario, in time order. */
export function* shopTraffic(options: Partial<ShopTrafficOptions> = {}): Generator<HubbleRecord> {
  const o = { ...DEFAULT_SHOP_TRAFFIC, ...options };
  const random = seededRandom(o.seed);
  const minutes = o.normalMinutes + o.incidentMinutes;
  for (let minute = 0; minute < minutes; minute++) {
    const base = o.start + minute * 60_000;
    const specs = minute < o.normalMinutes ? NORMAL : [...NORMAL, ...INCIDENT];
    const batch: [number, FlowSpec][] = [];
    for (const [spec, perMinute] of specs) {
      const n = Math.max(1, Math.round(perMinute * o.scale * (0.85 + 0.3 * random())));
      for (let i = 0; i < n; i++) batch.push([base + Math.floor(random() * 60_000_000) / 1000, spec]);
    }
    batch.sort((a, b) => a[0] - b[0]);
    for (const [time, spec] of batch) yield record(spec, time, 32768 + Math.floor(random() * 28000));
  }
}

export interface ContainedTrafficOptions {
  /** Flow time of the first flow (epoch ms). */
  start: number;
  /** Flow time between two flows. */
  spacingMs: number;
  /** postgres-0 → 203.0.113.66:443 attempts, dropped by the quarantine (POLICY_DENIED). */
  droppedExfil: number;
  /** orders/payments → postgres-0:5432, dropped at the quarantined pod's ingress. */
  droppedIngress: number;
  /** postgres-0 → kube-dns:53/UDP, forwarded: the DNS the quarantine keeps. */
  dns: number;
  /** Packets of an exfiltration connection opened before the quarantine, still forwarded (conntrack). */
  forwardedExfil: number;
  /** Reply packets of that connection (203.0.113.66 → postgres-0), forwarded. */
  forwardedReplies: number;
}

export const DEFAULT_CONTAINED_TRAFFIC: Omit<ContainedTrafficOptions, 'start'> = {
  spacingMs: 100,
  droppedExfil: 10,
  droppedIngress: 4,
  dns: 3,
  forwardedExfil: 0,
  forwardedReplies: 0,
};

/** Reply of a record: the same connection seen from the responder (world → pod). */
function replyOf(r: HubbleRecord): HubbleRecord {
  const f = r.flow as { IP: Record<string, string>; l4: { TCP: Record<string, unknown> }; source: unknown; destination: unknown };
  const tcp = f.l4.TCP;
  const flow = {
    ...r.flow,
    IP: { ...f.IP, source: f.IP.destination, destination: f.IP.source },
    l4: { TCP: { ...tcp, source_port: tcp.destination_port, destination_port: tcp.source_port } },
    source: f.destination,
    destination: f.source,
    is_reply: true,
  };
  return { ...r, flow };
}

/**
 * The shop's flows of the quarantined postgres-0 after containment, in time order: dropped
 * exfiltration attempts and client connections, kept DNS, and optionally an established
 * exfiltration connection the CNI keeps forwarding (to exercise the "forwarded" verdict).
 */
export function containedTraffic(options: Partial<ContainedTrafficOptions> & { start: number }): HubbleRecord[] {
  const o = { ...DEFAULT_CONTAINED_TRAFFIC, ...options };
  const exfil: FlowSpec = { from: P.postgres, to: 'world', port: EXFIL_PORT, protocol: 'TCP', verdict: 'DROPPED', direction: 'EGRESS' };
  const established: FlowSpec = { ...exfil, verdict: 'FORWARDED', flags: { ACK: true, PSH: true } };
  const kinds: ((i: number, time: number) => HubbleRecord)[] = [];
  for (let i = 0; i < o.droppedExfil; i++) kinds.push((n, t) => record(exfil, t, 33000 + n));
  for (let i = 0; i < o.droppedIngress; i++) {
    const from = i % 2 === 0 ? P.orders : P.payments;
    kinds.push((n, t) => record({ from, to: P.postgres, port: 5432, protocol: 'TCP', verdict: 'DROPPED', direction: 'INGRESS' }, t, 34000 + n));
  }
  for (let i = 0; i < o.dns; i++) kinds.push((n, t) => record({ from: P.postgres, to: P.dns, port: 53, protocol: 'UDP', verdict: 'FORWARDED', direction: 'EGRESS' }, t, 35000 + n));
  // One connection: the same source port on every packet.
  for (let i = 0; i < o.forwardedExfil; i++) kinds.push((_n, t) => record(established, t, 40123));
  for (let i = 0; i < o.forwardedReplies; i++) kinds.push((_n, t) => replyOf(record(established, t, 40123)));
  // Interleaved deterministically, so every kind spreads over the whole span.
  const order = kinds.map((_, i) => i).sort((a, b) => ((a * 7919) % kinds.length) - ((b * 7919) % kinds.length) || a - b);
  return order.map((k, n) => (kinds[k] as (i: number, time: number) => HubbleRecord)(n, o.start + n * o.spacingMs));
}
