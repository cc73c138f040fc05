import type { Flow, FlowEndpoint } from '../../../src/flows/types.js';

export function pod(namespace: string, workload: string, ip = '10.0.0.1', labels: Record<string, string> = { app: workload }): FlowEndpoint {
  return { namespace, pod: `${workload}-0`, workload, workloadKind: 'StatefulSet', workloadKey: `${namespace}/${workload}`, labels, labelsTruncated: false, reserved: [], ip, identity: 1000, names: [], port: 0 };
}

export function world(ip: string, names: string[] = []): FlowEndpoint {
  return { namespace: '', pod: '', workload: '', workloadKind: '', workloadKey: '', labels: {}, labelsTruncated: false, reserved: ['world'], ip, identity: 2, names, port: 0 };
}

export function flow(source: FlowEndpoint, destination: FlowEndpoint, port: number, time: number, extra: Partial<Flow> = {}): Flow {
  return {
    time,
    uuid: '',
    verdict: 'FORWARDED',
    dropReason: '',
    source: { ...source, port: 40000 },
    destination: { ...destination, port },
    protocol: 'TCP',
    l7: null,
    direction: 'EGRESS',
    isReply: false,
    policy: { matchType: 0, allowedBy: [], deniedBy: [] },
    node: 'n1',
    ...extra,
  };
}

export const MIN = 60_000;
export const T0 = Date.UTC(2026, 0, 1);
