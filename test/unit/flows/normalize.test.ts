import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowNormalizer, parseFlowTime, workloadFromPodName } from '../../../src/flows/normalize.js';

const fixtures = join(import.meta.dirname, '../../fixtures/hubble');

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
}

const exporterLine = (flow: Record<string, unknown>): string => JSON.stringify({ flow, node_name: 'n1', time: flow.time });
const goodFlow = (): Record<string, unknown> => ({
  time: '2024-05-01T10:00:00.123456789Z',
  verdict: 'FORWARDED',
  IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
  l4: { TCP: { source_port: 40000, destination_port: 5432, flags: { SYN: true } } },
  source: { identity: 100, namespace: 'api', labels: ['k8s:app=orders'], pod_name: 'orders-5d8f7c9b6d-abcde' },
  destination: { identity: 200, namespace: 'db', labels: ['k8s:app=postgres'], pod_name: 'postgres-0' },
  traffic_direction: 'EGRESS',
  Type: 'L3_L4',
});

describe('normalize: real Hubble captures', () => {
  it('parses every flow of the hubble-otel testdata (1,916 flows) with no reject', () => {
    const normalizer = new FlowNormalizer();
    const dir = join(fixtures, 'hubble-otel/testdata');
    let total = 0;
    const verdicts: Record<string, number> = {};
    const l7: Record<string, number> = {};
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      for (const line of lines(join(dir, file))) {
        const result = normalizer.parseLine(line);
        if (!result.ok) throw new Error(`${file}: ${result.reason} ${result.detail}`);
        total += 1;
        verdicts[result.flow.verdict] = (verdicts[result.flow.verdict] ?? 0) + 1;
        if (result.flow.l7) l7[`${result.flow.l7.protocol}:${result.flow.l7.type}`] = (l7[`${result.flow.l7.protocol}:${result.flow.l7.type}`] ?? 0) + 1;
      }
    }
    expect(total).toBe(1916);
    // Tallies from the fixtures' SOURCES-detail.md: 457 REDIRECTED, 418 HTTP (211/207), 483 DNS (242/241).
    expect(verdicts.REDIRECTED).toBe(457);
    expect(verdicts.FORWARDED).toBe(1916 - 457);
    expect(l7).toEqual({ 'http:REQUEST': 211, 'http:RESPONSE': 207, 'dns:REQUEST': 242, 'dns:RESPONSE': 241 });
  });

  it('reads pod, workload, labels, reserved identity and reply flag from a real flow', () => {
    const first = lines(join(fixtures, 'hubble-otel/testdata/basic-sample-10-flows.json'))[0] as string;
    const result = new FlowNormalizer().parseLine(first);
    if (!result.ok) throw new Error(result.reason);
    const flow = result.flow;
    expect(flow.time).toBeCloseTo(Date.parse('2021-06-16T16:52:13.136Z') + 0.834, 3);
    expect(flow.source).toMatchObject({ namespace: 'bookinfo', pod: 'reviews-v1-545db77b95-s6jb8', workload: 'reviews-v1', workloadKind: 'Deployment', identity: 25339, ip: '10.0.2.16', port: 15020 });
    expect(flow.source.labels).toEqual({ app: 'reviews', 'security.istio.io/tlsMode': 'istio', version: 'v1' });
    expect(flow.destination.reserved).toEqual(['host']);
    expect(flow.destination.workload).toBe('');
    expect(flow.isReply).toBe(true);
    expect(flow.direction).toBe('INGRESS');
    expect(flow.protocol).toBe('TCP');
  });

  it('parses both exporter samples from the Cilium docs, with their drop reasons and empty endpoints', () => {
    const results = lines(join(fixtures, 'cilium-docs/export-rst-exporter-sample.jsonl')).map((l) => new FlowNormalizer().parseLine(l));
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    const [invalid, denied] = results.map((r) => (r.ok ? r.flow : null));
    expect(invalid?.dropReason).toBe('INVALID_SOURCE_IP');
    expect(invalid?.protocol).toBe('ICMPv6');
    expect(invalid?.source.namespace).toBe('');
    expect(denied).toMatchObject({ verdict: 'DROPPED', dropReason: 'POLICY_DENIED', node: 'kind-kind/kind-worker' });
    expect(denied?.source).toMatchObject({ namespace: 'default', pod: 'xwing', workload: 'xwing', workloadKind: 'Pod' });
    expect(denied?.destination).toMatchObject({ workload: 'deathstar', port: 80 });
  });
});

describe('normalize: shapes', () => {
  it('accepts a legacy bare Flow line (no "flow" wrapper) and camelCase field names', () => {
    const flow = goodFlow();
    flow.l4 = { UDP: { sourcePort: 5353, destinationPort: 53 } };
    flow.destination = { namespace: 'kube-system', podName: 'coredns-7db6d8ff4d-x2x9k', labels: ['k8s:k8s-app=kube-dns'] };
    const result = new FlowNormalizer().parseLine(JSON.stringify(flow));
    expect(result.ok && result.flow.destination).toMatchObject({ workload: 'coredns', port: 53 });
  });

  it('accepts the proto-loader object shape (Timestamp, BoolValue wrapper, numeric enums)', () => {
    const flow = { ...goodFlow(), time: { seconds: 1714557600, nanos: 123456789 }, verdict: 2, drop_reason_desc: 133, is_reply: { value: false }, traffic_direction: 2 };
    const result = new FlowNormalizer().normalizeRecord({ flow });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.flow.time).toBeCloseTo(1714557600123.456, 3);
    expect(result.flow).toMatchObject({ verdict: 'DROPPED', dropReason: 'POLICY_DENIED', isReply: false, direction: 'EGRESS' });
  });

  it('keeps policy correlation and L7 DNS summaries', () => {
    const flow = {
      ...goodFlow(),
      egress_allowed_by: [{ name: 'allow-db', namespace: 'api' }],
      ingress_denied_by: [{ name: 'deny-all', namespace: 'db' }],
      policy_match_type: 2,
      l7: { type: 'REQUEST', dns: { query: 'Example.COM.', qtypes: ['A'] } },
      destination_names: ['api.example.com.'],
    };
    const result = new FlowNormalizer().parseLine(exporterLine(flow));
    if (!result.ok) throw new Error(result.reason);
    expect(result.flow.policy).toEqual({ matchType: 2, allowedBy: ['api/allow-db'], deniedBy: ['db/deny-all'] });
    expect(result.flow.l7).toMatchObject({ protocol: 'dns', dnsQuery: 'example.com', summary: 'DNS query example.com A' });
    expect(result.flow.destination.names).toEqual(['api.example.com']);
  });

  it('derives workloads from pod-name shapes', () => {
    expect(workloadFromPodName('web-7c9d8f6b5c-x8k2p')).toEqual(['web', 'Deployment']);
    expect(workloadFromPodName('postgres-0')).toEqual(['postgres', 'StatefulSet']);
    expect(workloadFromPodName('cilium-x7k2q')).toEqual(['cilium', 'DaemonSet']);
    expect(workloadFromPodName('xwing')).toEqual(['xwing', 'Pod']);
  });

  it('parses times with and without fractions, and rejects impossible Timestamps', () => {
    expect(parseFlowTime('2024-05-01T10:00:00Z')).toBe(Date.parse('2024-05-01T10:00:00Z'));
    expect(parseFlowTime(undefined)).toBeUndefined();
    expect(parseFlowTime('yesterday')).toBeNaN();
    expect(parseFlowTime({ seconds: 10, nanos: 2_000_000_000 })).toBeNaN();
    expect(parseFlowTime({ seconds: 'x' })).toBeNaN();
  });
});

describe('normalize: bad input is rejected with a reason, never thrown', () => {
  const normalizer = new FlowNormalizer({ maxLineLength: 10_000 });
  const reject = (line: string): string => {
    const result = normalizer.parseLine(line);
    return result.ok ? 'accepted' : result.reason;
  };
  const withFlow = (patch: Record<string, unknown>): string => exporterLine({ ...goodFlow(), ...patch });

  it('truncated and garbage JSON', () => {
    const full = withFlow({});
    expect(reject(full.slice(0, full.length / 2))).toBe('invalid_json');
    expect(reject('\u0000\u0001garbage')).toBe('invalid_json');
    expect(reject('{"flow": ')).toBe('invalid_json');
    expect(reject('42')).toBe('not_an_object');
    expect(reject('[1,2]')).toBe('not_an_object');
    expect(reject('null')).toBe('not_an_object');
  });

  it('records that are not flows', () => {
    expect(reject('{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"12"},"time":"2024-05-01T10:00:00Z"}')).toBe('not_a_flow');
    expect(reject('{"node_status":{"state_change":"NODE_CONNECTED"}}')).toBe('not_a_flow');
    expect(reject('{"flow":"yes"}')).toBe('not_a_flow');
    expect(reject('{}')).toBe('not_a_flow');
  });

  it('flows missing endpoints', () => {
    expect(reject(withFlow({ IP: undefined, source: undefined, destination: undefined }))).toBe('missing_endpoints');
    expect(reject(withFlow({ IP: { destination: '10.0.0.2' }, source: {} }))).toBe('missing_endpoints');
    expect(reject(withFlow({ source: 'not an object', IP: { destination: '10.0.0.2' } }))).toBe('missing_endpoints');
  });

  it('unknown verdicts, missing or bad times', () => {
    expect(reject(withFlow({ verdict: 'MAYBE' }))).toBe('unknown_verdict');
    expect(reject(withFlow({ verdict: 99 }))).toBe('unknown_verdict');
    expect(reject(withFlow({ verdict: undefined }))).toBe('unknown_verdict');
    expect(reject(withFlow({ verdict: { __proto__: 'FORWARDED' } }))).toBe('unknown_verdict');
    expect(reject(withFlow({ time: undefined }))).toBe('missing_time');
    expect(reject(withFlow({ time: 'the day after tomorrow' }))).toBe('invalid_time');
  });

  it('absurd ports and invalid IPs', () => {
    expect(reject(withFlow({ l4: { TCP: { source_port: 1, destination_port: 70000 } } }))).toBe('invalid_port');
    expect(reject(withFlow({ l4: { TCP: { source_port: -1, destination_port: 80 } } }))).toBe('invalid_port');
    expect(reject(withFlow({ l4: { UDP: { source_port: 1.5, destination_port: 53 } } }))).toBe('invalid_port');
    expect(reject(withFlow({ l4: { TCP: { source_port: 1, destination_port: '80; rm -rf' } } }))).toBe('invalid_port');
    expect(reject(withFlow({ IP: { source: '999.1.1.1', destination: '10.0.0.2' } }))).toBe('invalid_ip');
  });

  it('oversized lines', () => {
    expect(reject(withFlow({ padding: 'x'.repeat(20_000) }))).toBe('oversized_line');
  });

  it('huge label sets are capped, flagged, and do not cost unbounded work', () => {
    const labels = Array.from({ length: 5000 }, (_, i) => `k8s:label-${i}=v`);
    const big = new FlowNormalizer().parseLine(JSON.stringify({ flow: { ...goodFlow(), source: { namespace: 'api', pod_name: 'orders-0', labels } } }));
    expect(big.ok).toBe(true);
    if (!big.ok) return;
    expect(Object.keys(big.flow.source.labels)).toHaveLength(64);
    expect(big.flow.source.labelsTruncated).toBe(true);
  });
});
