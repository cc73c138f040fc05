// Synthetic Hubble flows in the shape `hubble observe -o json` prints, for the flow benchmarks:
// workload w's d-th peer, deterministic, with labels and fields in realistic proportion.
import type { HubbleRecord } from '../../src/sim/hubble/shop-traffic.js';

function podName(w: number): string {
  return `app${w}-5d8f7c9b6d-${(w % 99_999).toString(36).padStart(5, 'x')}`;
}

function endpoint(w: number): Record<string, unknown> {
  const ns = `team${w % 500}`;
  return {
    ID: w % 4000,
    identity: 100_000 + w,
    namespace: ns,
    labels: [`k8s:app=app${w}`, `k8s:app.kubernetes.io/part-of=team${w % 500}`, 'k8s:version=v1', `k8s:io.kubernetes.pod.namespace=${ns}`, 'k8s:io.cilium.k8s.policy.cluster=prod', `k8s:io.cilium.k8s.policy.serviceaccount=app${w}`],
    pod_name: podName(w),
  };
}

function ip(w: number): string {
  return `10.${(w >> 8) & 255}.${w & 255}.${(w >> 16) + 10}`;
}

/** The d-th peer of workload w: 80% other workloads on a service port, 20% external IPs. */
export function syntheticRecord(w: number, d: number, time: number, workloads: number): HubbleRecord {
  const external = d % 5 === 4;
  const peer = (w + 1 + d * 97) % workloads;
  const port = external ? 443 : 8000 + (d % 13);
  const flow: Record<string, unknown> = {
    time: new Date(time).toISOString(),
    verdict: 'FORWARDED',
    ethernet: { source: '46:e5:ea:1f:95:ff', destination: 'd6:ec:b0:4a:ff:46' },
    IP: { source: ip(w), destination: external ? `45.${(w >> 8) & 255}.${w & 255}.${d}` : ip(peer), ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 32768 + ((w * 7 + d) % 28000), destination_port: port, flags: { PSH: true, ACK: true } } },
    source: endpoint(w),
    destination: external ? { identity: 2, labels: ['reserved:world'] } : endpoint(peer),
    Type: 'L3_L4',
    node_name: `node-${w % 50}`,
    event_type: { type: 4, sub_type: 3 },
    traffic_direction: 'EGRESS',
    trace_observation_point: 'TO_STACK',
    is_reply: false,
    Summary: 'TCP Flags: ACK, PSH',
  };
  return { flow, node_name: flow.node_name as string, time: flow.time as string };
}

