// The traffic half of a restore step's verification: learned edges allowed by known-good must be
// seen forwarded, the anomaly's flows must stay dropped, a quiet window is never a pass. Samples
// are named the way the collector names them (built here through its own classifyFlow/sampleOf),
// learned edges by workload, anomaly probes by pod.
import { describe, expect, it } from 'vitest';
import type { CountedSample, TrafficVerdict } from '../../src/containment/traffic.js';
import { classifyFlow, DEFAULT_DNS_TARGET, sampleOf } from '../../src/flows/scope-watch.js';
import type { Flow, FlowEndpoint } from '../../src/flows/types.js';
import { checkScope, WATCH_LIMITS } from '../../src/flows/watch-spec.js';
import type { LearnedEdge } from '../../src/nettest/matrix.js';
import { endpointKeys, judgeTraffic, JUDGE_MAX_ITEMS, restoreWatchScope, RESTORE_WATCH_SAMPLES, type JudgedFlow } from '../../src/restore/traffic-judge.js';
import { flow, world } from './flows/helpers.js';

const NS = 'shop';
const T = Date.UTC(2026, 0, 15, 12, 0, 0);

function podEp(namespace: string, pod: string, workload: string, ip = '10.244.1.10'): FlowEndpoint {
  return { namespace, pod, workload, workloadKind: 'Deployment', workloadKey: `${namespace}/${workload}`, labels: { app: workload }, labelsTruncated: false, reserved: [], ip, identity: 1000, names: [], port: 0 };
}

const API = podEp(NS, 'api-7c9d8f6b5c-x8k2p', 'api', '10.244.1.10');
const API2 = podEp(NS, 'api-7c9d8f6b5c-q4w7z', 'api', '10.244.1.12');
const DB = podEp(NS, 'postgres-0', 'postgres', '10.244.2.31');
const WEB = podEp('frontend', 'web-6d4cf56db6-2xk9p', 'web', '10.244.3.4');

/** A sample exactly as the collector writes it for this flow into a whole-namespace watch. */
function collected(f: Flow, count = 1): CountedSample {
  const c = classifyFlow(f, { namespace: NS, pods: new Set(), selector: null }, { namespace: DEFAULT_DNS_TARGET.namespace, selector: { matchLabels: DEFAULT_DNS_TARGET.podLabels } });
  if (!c) throw new Error('flow outside the scope');
  return { ...sampleOf(f, c), count };
}

const fwd = (src: FlowEndpoint, dst: FlowEndpoint, port: number, extra: Partial<Flow> = {}, count = 1) => collected(flow(src, dst, port, T, extra), count);
const drop = (src: FlowEndpoint, dst: FlowEndpoint, port: number, extra: Partial<Flow> = {}, count = 1) =>
  collected(flow(src, dst, port, T, { verdict: 'DROPPED', dropReason: 'POLICY_DENIED', ...extra }), count);

function verdict(samples: { forwarded?: CountedSample[]; dropped?: CountedSample[] }, over: Partial<TrafficVerdict> = {}): TrafficVerdict {
  const forwarded = samples.forwarded ?? [];
  const dropped = samples.dropped ?? [];
  const total = (list: CountedSample[]) => list.reduce((n, s) => n + s.count, 0);
  return {
    incidentId: '20261201-abc123',
    status: forwarded.length > 0 ? 'forwarded' : dropped.length > 0 ? 'clean' : 'no-traffic',
    reason: null,
    scope: { namespace: NS, podNames: [] },
    forwarded: { egress: total(forwarded), ingress: 0 },
    dropped: { egress: total(dropped), ingress: 0 },
    dnsForwarded: 0,
    other: 0,
    samples: { forwarded, dropped },
    window: { fromMs: T, untilMs: T + 30_000, durationMs: 30_000, flowFromMs: T, flowUntilMs: T + 30_000, complete: true, heartbeatMs: T + 31_000, collector: 'instance:a' },
    ...over,
  };
}

const EDGE: LearnedEdge = { src: 'shop/api', dst: 'shop/postgres', port: 5432, protocol: 'TCP' };
const EXFIL: JudgedFlow = { src: 'shop/postgres-0', dst: '203.0.113.66', port: 443, protocol: 'TCP' };

describe('judgeTraffic: the statuses', () => {
  it('no watch, or no collector: not verified by traffic, with the reason', () => {
    expect(judgeTraffic({ verdict: null, expectedOpen: [EDGE], anomalyFlows: [EXFIL] })).toEqual({ status: 'no-collector', lines: ['Not verified by traffic: no traffic watch is registered for this step'] });
    const none = verdict({}, { status: 'no-collector', reason: 'no flow collector is running', window: { ...verdict({}).window, complete: false, flowFromMs: null, flowUntilMs: null, collector: null } });
    expect(judgeTraffic({ verdict: none, expectedOpen: [EDGE], anomalyFlows: [] })).toEqual({ status: 'no-collector', lines: ['Not verified by traffic: no flow collector is running'] });
    const unclaimed = { ...none, reason: null };
    expect(judgeTraffic({ verdict: unclaimed, expectedOpen: [], anomalyFlows: [] }).lines[0]).toBe('Not verified by traffic: no flow collector watched the window');
  });

  it('a quiet window is no traffic to judge, never a pass', () => {
    const judged = judgeTraffic({ verdict: verdict({}), expectedOpen: [EDGE], anomalyFlows: [EXFIL] });
    expect(judged).toEqual({ status: 'no-traffic', lines: ['No traffic to judge: no flows to or from namespace shop in 30 s'] });
  });

  it('flows that touch no expected edge nor anomaly flow: no traffic to judge', () => {
    const other = verdict({ forwarded: [fwd(WEB, API, 8080)], dropped: [drop(API, world('198.51.100.9'), 80)] }, { dnsForwarded: 4 });
    const judged = judgeTraffic({ verdict: other, expectedOpen: [EDGE], anomalyFlows: [EXFIL] });
    expect(judged.status).toBe('no-traffic');
    expect(judged.lines[0]).toBe('No traffic to judge: 6 flows in 30 s, none on an expected edge or an anomaly\'s flow');
    // DNS alone is traffic, but nothing to judge.
    expect(judgeTraffic({ verdict: verdict({}, { dnsForwarded: 3 }), expectedOpen: [EDGE], anomalyFlows: [] }).status).toBe('no-traffic');
    // Nothing expected at all: still nothing to judge.
    expect(judgeTraffic({ verdict: verdict({ forwarded: [fwd(API, DB, 5432)] }), expectedOpen: [], anomalyFlows: [] }).status).toBe('no-traffic');
  });

  it('an expected edge seen forwarded (pods of the learned workloads) and the anomaly still dropped: pass', () => {
    const v = verdict({ forwarded: [fwd(API, DB, 5432, {}, 12), fwd(API2, DB, 5432, {}, 3)], dropped: [drop(DB, world('203.0.113.66'), 443, {}, 7)] });
    const judged = judgeTraffic({ verdict: v, expectedOpen: [EDGE, { src: 'frontend/web', dst: 'shop/api', port: 8080, protocol: 'TCP' }], anomalyFlows: [EXFIL] });
    expect(judged).toEqual({
      status: 'pass',
      lines: [
        "Traffic (30 s): 1 expected edge seen forwarded, 1 anomaly's flow seen dropped",
        'Open again: shop/api → shop/postgres:5432/TCP (seen as shop/api-7c9d8f6b5c-x8k2p → shop/postgres-0, 15 flows)',
        'Still dropped (anomaly): shop/postgres-0 → 203.0.113.66:443/TCP (7 flows)',
        '1 expected edge had no traffic in the window (not judged).',
      ],
    });
  });

  it('only the anomaly seen, dropped: pass; only an edge seen, forwarded: pass', () => {
    expect(judgeTraffic({ verdict: verdict({ dropped: [drop(DB, world('203.0.113.66'), 443)] }), expectedOpen: [], anomalyFlows: [EXFIL] }).status).toBe('pass');
    expect(judgeTraffic({ verdict: verdict({ forwarded: [fwd(API, DB, 5432)] }), expectedOpen: [EDGE], anomalyFlows: [] }).status).toBe('pass');
  });

  it('an expected edge dropped: fail, with the drop reason and the pods it was seen as', () => {
    const v = verdict({ forwarded: [fwd(WEB, API, 8080)], dropped: [drop(API, DB, 5432, {}, 4), drop(API2, DB, 5432, { dropReason: 'POLICY_DENY_BY_DEFAULT' })] });
    const judged = judgeTraffic({ verdict: v, expectedOpen: [EDGE, { src: 'frontend/web', dst: 'shop/api', port: 8080, protocol: 'TCP' }], anomalyFlows: [] });
    expect(judged).toEqual({
      status: 'fail',
      lines: [
        'Traffic (30 s): 1 expected edge dropped',
        'shop/api → shop/postgres:5432/TCP should be open (learned, allowed by known-good) but was dropped: POLICY_DENIED, POLICY_DENY_BY_DEFAULT (seen as shop/api-7c9d8f6b5c-x8k2p → shop/postgres-0, 5 flows)',
      ],
    });
  });

  it("the anomaly's flow forwarded: fail, even from another pod of the same workload, and listed before dropped edges", () => {
    const other = podEp(NS, 'postgres-1', 'postgres', '10.244.2.32');
    const v = verdict({ forwarded: [fwd(other, world('203.0.113.66'), 443, {}, 9)], dropped: [drop(API, DB, 5432)] });
    const judged = judgeTraffic({ verdict: v, expectedOpen: [EDGE], anomalyFlows: [EXFIL] });
    expect(judged.status).toBe('fail');
    expect(judged.lines).toEqual([
      "Traffic (30 s): 1 anomaly's flow forwarded, 1 expected edge dropped",
      "The anomaly's flow shop/postgres-0 → 203.0.113.66:443/TCP was forwarded (seen as shop/postgres-1 → 203.0.113.66, 9 flows)",
      'shop/api → shop/postgres:5432/TCP should be open (learned, allowed by known-good) but was dropped: POLICY_DENIED (seen as shop/api-7c9d8f6b5c-x8k2p → shop/postgres-0, 1 flow)',
    ]);
  });

  it('notes an incomplete window and flows that fell outside the samples', () => {
    const base = verdict({ forwarded: [fwd(API, DB, 5432)], dropped: [drop(DB, world('203.0.113.66'), 443)] });
    const v = { ...base, dropped: { egress: 40, ingress: 2 }, forwarded: { egress: 1, ingress: 5 }, window: { ...base.window, complete: false } };
    const judged = judgeTraffic({ verdict: v, expectedOpen: [EDGE], anomalyFlows: [EXFIL] });
    expect(judged.status).toBe('pass');
    expect(judged.lines.slice(-3)).toEqual([
      'The collector did not close the window: flows after its last report are not counted.',
      '41 dropped flows fell outside the samples: an expected edge among them is not shown.',
      "5 forwarded flows fell outside the samples: an anomaly's flow among them is not shown.",
    ]);
    const quiet = judgeTraffic({ verdict: { ...verdict({}), window: { ...base.window, complete: false } }, expectedOpen: [EDGE], anomalyFlows: [] });
    expect(quiet).toEqual({ status: 'no-traffic', lines: ['No traffic to judge: no flows to or from namespace shop in 30 s', 'The collector did not close the window: flows after its last report are not counted.'] });
  });

  it('caps the evidence lines with "… N more"', () => {
    const edges: LearnedEdge[] = [];
    const samples: CountedSample[] = [];
    for (let i = 0; i < 30; i++) {
      edges.push({ src: 'shop/api', dst: `10.0.0.${i + 1}`, port: 443, protocol: 'TCP' });
      samples.push(fwd(API, world(`10.0.0.${i + 1}`), 443));
    }
    const judged = judgeTraffic({ verdict: verdict({ forwarded: samples }), expectedOpen: edges, anomalyFlows: [] });
    expect(judged.status).toBe('pass');
    expect(judged.lines).toHaveLength(1 + JUDGE_MAX_ITEMS);
    expect(judged.lines.at(-1)).toBe(`… ${30 - (JUDGE_MAX_ITEMS - 1)} more`);
    const dropped = judgeTraffic({ verdict: verdict({ dropped: samples.map((s) => ({ ...s, verdict: 'DROPPED', dropReason: 'POLICY_DENIED' })) }), expectedOpen: edges, anomalyFlows: [] });
    expect(dropped.status).toBe('fail');
    expect(dropped.lines[0]).toBe('Traffic (30 s): 30 expected edges dropped');
    expect(dropped.lines).toHaveLength(1 + JUDGE_MAX_ITEMS);
  });
});

describe('judgeTraffic: matching', () => {
  const judge = (samples: { forwarded?: CountedSample[]; dropped?: CountedSample[] }, expectedOpen: LearnedEdge[], anomalyFlows: JudgedFlow[] = []) =>
    judgeTraffic({ verdict: verdict(samples), expectedOpen, anomalyFlows }).status;

  it('reply packets are matched on their connection (initiator → responder, the responder port)', () => {
    const reply = fwd(world('203.0.113.66'), DB, 40123, { isReply: true, source: { ...world('203.0.113.66'), port: 443 }, destination: { ...DB, port: 40123 } });
    expect(reply).toMatchObject({ from: 'shop/postgres-0', to: '203.0.113.66', port: 443, reply: true });
    const judged = judgeTraffic({ verdict: verdict({ forwarded: [reply] }), expectedOpen: [], anomalyFlows: [EXFIL] });
    expect(judged.status).toBe('fail');
    expect(judged.lines[1]).toBe("The anomaly's flow shop/postgres-0 → 203.0.113.66:443/TCP was forwarded (1 flow, reply packets included)");
    // The reply of an expected connection counts for it too.
    const back = fwd(DB, API, 38000, { isReply: true, source: { ...DB, port: 5432 }, destination: { ...API, port: 38000 } });
    expect(judge({ forwarded: [back] }, [EDGE])).toBe('pass');
  });

  it('a connection the other way round, another port or another protocol is not the edge', () => {
    expect(judge({ dropped: [drop(DB, API, 5432)] }, [EDGE])).toBe('no-traffic');
    expect(judge({ dropped: [drop(API, DB, 5433)] }, [EDGE])).toBe('no-traffic');
    expect(judge({ dropped: [drop(API, DB, 5432, { protocol: 'UDP' })] }, [EDGE])).toBe('no-traffic');
    expect(judge({ forwarded: [fwd(DB, world('203.0.113.66'), 80)] }, [], [EXFIL])).toBe('no-traffic');
    // Protocol names compare case-insensitively.
    expect(judge({ dropped: [drop(API, DB, 5432)] }, [{ ...EDGE, protocol: 'tcp' }])).toBe('fail');
  });

  it('pods belong to their workload by the baseline\'s own rule, not by a name prefix', () => {
    const admin = podEp(NS, 'api-admin-7c9d8f6b5c-x8k2p', 'api-admin');
    expect(judge({ dropped: [drop(admin, DB, 5432)] }, [EDGE])).toBe('no-traffic');
    expect(judge({ dropped: [drop(admin, DB, 5432)] }, [{ ...EDGE, src: 'shop/api-admin' }])).toBe('fail');
    // A pod Hubble named only by workload: the sample says `ns/workload`.
    const unnamed = { ...API, pod: '' };
    expect(fwd(unnamed, DB, 5432).from).toBe('shop/api');
    expect(judge({ dropped: [drop(unnamed, DB, 5432)] }, [EDGE])).toBe('fail');
    // Another namespace with the same workload name is another workload.
    expect(judge({ dropped: [drop(podEp('staging', 'api-7c9d8f6b5c-x8k2p', 'api'), DB, 5432)] }, [EDGE])).toBe('no-traffic');
    // `analyze` names with a kind.
    expect(judge({ dropped: [drop(API, DB, 5432)] }, [{ ...EDGE, src: 'shop/api[Deployment]' }])).toBe('fail');
  });

  it('anomaly probes name pods: the same pod, or another pod of its workload; not another workload', () => {
    const probe: JudgedFlow = { src: 'shop/api-7c9d8f6b5c-x8k2p', dst: 'shop/postgres-0', port: 5432, protocol: 'TCP' };
    expect(judge({ forwarded: [fwd(API, DB, 5432)] }, [], [probe])).toBe('fail');
    expect(judge({ forwarded: [fwd(API2, DB, 5432)] }, [], [probe])).toBe('fail');
    expect(judge({ forwarded: [fwd(podEp(NS, 'apigw-5d8f7c6b9d-k2l3m', 'apigw'), DB, 5432)] }, [], [probe])).toBe('no-traffic');
  });

  it('addresses compare as addresses, whatever their spelling', () => {
    const v6 = world('2001:db8::66');
    expect(judge({ forwarded: [fwd(DB, v6, 443)] }, [], [{ ...EXFIL, dst: '2001:0db8:0:0:0:0:0:66' }])).toBe('fail');
    const client = world('198.51.100.7');
    expect(judge({ dropped: [drop(client, API, 8443)] }, [{ src: '198.51.100.7', dst: 'shop/api', port: 8443, protocol: 'TCP' }])).toBe('fail');
    expect(judge({ dropped: [drop(client, API, 8443)] }, [{ src: '198.51.100.8', dst: 'shop/api', port: 8443, protocol: 'TCP' }])).toBe('no-traffic');
  });

  it('a connection both learned and anomalous is judged as the anomaly', () => {
    const learnedExfil: LearnedEdge = { src: 'shop/postgres', dst: '203.0.113.66', port: 443, protocol: 'TCP' };
    const dropped = judgeTraffic({ verdict: verdict({ dropped: [drop(DB, world('203.0.113.66'), 443)] }), expectedOpen: [learnedExfil], anomalyFlows: [EXFIL] });
    expect(dropped.status).toBe('pass');
    expect(dropped.lines).toEqual(["Traffic (30 s): 0 expected edges seen forwarded, 1 anomaly's flow seen dropped", 'Still dropped (anomaly): shop/postgres-0 → 203.0.113.66:443/TCP (1 flow)']);
    expect(judge({ forwarded: [fwd(DB, world('203.0.113.66'), 443)] }, [learnedExfil], [EXFIL])).toBe('fail');
  });
});

describe('judgeTraffic: hostile and oversized input', () => {
  it('100k samples and 20k expected edges: a clear result', () => {
    const one = fwd(API, DB, 5432);
    const noise: CountedSample[] = Array.from({ length: 100_000 }, (_, i) => ({ ...one, from: `shop/x-${i}`, key: `f|${i}` }));
    const edges: LearnedEdge[] = Array.from({ length: 20_000 }, (_, i) => ({ src: `shop/w${i}`, dst: 'shop/postgres', port: 5432, protocol: 'TCP' }));
    edges.push(EDGE);
    const v = verdict({ forwarded: noise, dropped: [drop(API, DB, 5432)] });
    const judged = judgeTraffic({ verdict: v, expectedOpen: edges, anomalyFlows: [] });
    expect(judged.status).toBe('fail');
    expect(judged.lines).toHaveLength(2);
    expect(judgeTraffic({ verdict: verdict({ forwarded: noise }), expectedOpen: edges, anomalyFlows: [EXFIL] }).status).toBe('no-traffic');
  });

  it('NaN, fractional and out-of-range ports, odd protocols and sides: never matched, said, never thrown', () => {
    const bad: LearnedEdge[] = [
      { ...EDGE, port: Number.NaN },
      { ...EDGE, port: 5432.5 },
      { ...EDGE, port: 70_000 },
      { ...EDGE, protocol: '' },
      { ...EDGE, src: '' },
      { ...EDGE, dst: 'shop/' },
      { ...EDGE, src: 'x'.repeat(1_000_000) },
      { ...EDGE, src: null as unknown as string },
    ];
    const samples = [drop(API, DB, 5432), { ...drop(API, DB, 5432), port: Number.NaN }, { ...drop(API, DB, 5432), protocol: 42 as unknown as string }];
    const judged = judgeTraffic({ verdict: verdict({ dropped: samples }), expectedOpen: bad, anomalyFlows: [{ ...EXFIL, port: Number.POSITIVE_INFINITY }] });
    expect(judged.status).toBe('no-traffic');
    expect(judged.lines).toContain('9 expected connections could not be compared (a side, port or protocol that is not valid).');
  });

  it('markup and control characters in names are made inert in the lines', () => {
    const evil = podEp(NS, 'api-7c9d8f6b5c-x8k2p', 'api');
    const s = { ...drop(evil, DB, 5432), from: 'shop/<!channel>\u202e*bold*', to: 'shop/postgres-0\n@here', dropReason: '<https://evil|click>' };
    const edge = { src: 'shop/<!channel>\u202e*bold*', dst: 'shop/postgres-0\n@here', port: 5432, protocol: 'TCP' };
    const judged = judgeTraffic({ verdict: verdict({ dropped: [s] }), expectedOpen: [edge], anomalyFlows: [] });
    expect(judged.status).toBe('fail');
    for (const line of judged.lines) expect(line).not.toMatch(/[<>*@\n|\u202e]/);
  });

  it('a damaged verdict (missing or wrong-typed fields, null samples) gives a result, not an exception', () => {
    const damaged = { status: 'clean', samples: { forwarded: [null, 7, 'x', { from: {}, to: [], port: '5432', protocol: 'TCP' }], dropped: 'nope' } } as unknown as TrafficVerdict;
    expect(judgeTraffic({ verdict: damaged, expectedOpen: [EDGE], anomalyFlows: [EXFIL] })).toEqual({
      status: 'no-traffic',
      // The one object among the samples counts as a flow seen, if not one that can be judged.
      lines: ["No traffic to judge: 1 flow in the window, none on an expected edge or an anomaly's flow", 'The collector did not close the window: flows after its last report are not counted.'],
    });
    const counts = { ...verdict({ forwarded: [fwd(API, DB, 5432)] }), forwarded: { egress: Number.NaN, ingress: -5 }, dnsForwarded: Number.POSITIVE_INFINITY };
    expect(judgeTraffic({ verdict: counts, expectedOpen: [EDGE], anomalyFlows: [] }).status).toBe('pass');
    const nothing = { status: 'clean' } as unknown as TrafficVerdict;
    expect(judgeTraffic({ verdict: nothing, expectedOpen: [EDGE], anomalyFlows: [] }).lines[0]).toBe('No traffic to judge: no flows to or from namespace ? in the window');
    expect(judgeTraffic({ verdict: verdict({}), expectedOpen: null as unknown as LearnedEdge[], anomalyFlows: undefined as unknown as JudgedFlow[] }).status).toBe('no-traffic');
    const weirdCount = { ...fwd(API, DB, 5432), count: Number.NaN };
    expect(judgeTraffic({ verdict: verdict({ forwarded: [weirdCount] }), expectedOpen: [EDGE], anomalyFlows: [] }).lines[1]).toContain('1 flow)');
  });

  it('leaves its input as it was', () => {
    const v = verdict({ forwarded: [fwd(API, DB, 5432)], dropped: [drop(DB, world('203.0.113.66'), 443)] });
    const input = { verdict: v, expectedOpen: [EDGE], anomalyFlows: [EXFIL] };
    const before = JSON.stringify(input);
    judgeTraffic(input);
    expect(JSON.stringify(input)).toBe(before);
  });
});

describe('endpointKeys', () => {
  it('keys names, pods with their workload, and canonical addresses', () => {
    expect(endpointKeys('shop/api', false)).toEqual(['w:shop/api']);
    expect(endpointKeys('shop/api-7c9d8f6b5c-x8k2p', true)).toEqual(['w:shop/api-7c9d8f6b5c-x8k2p', 'w:shop/api']);
    expect(endpointKeys('shop/postgres-0', true)).toEqual(['w:shop/postgres-0', 'w:shop/postgres']);
    expect(endpointKeys('shop/xwing', true)).toEqual(['w:shop/xwing']);
    expect(endpointKeys('10.0.0.1', true)).toEqual(endpointKeys('10.0.0.1', false));
    expect(endpointKeys('2001:db8::1', true)).toEqual(endpointKeys('2001:DB8:0::1', true));
    expect(endpointKeys('world', true)).toEqual(['r:world']);
    for (const bad of ['', '?', 'shop/?', '/api', 'shop/', 'a/b/c', 'x'.repeat(400), 42, null, undefined]) expect(endpointKeys(bad, true)).toEqual([]);
  });
});

describe('restoreWatchScope', () => {
  it('the whole namespace, valid pod names once each, sorted, capped: a registration the watch accepts', () => {
    const scope = restoreWatchScope('shop', ['postgres-0', 'api-7c9d8f6b5c-x8k2p', 'postgres-0', 'Bad_Name', '', 'x'.repeat(300), 7 as unknown as string]);
    expect(scope).toEqual({ namespace: 'shop', podNames: ['api-7c9d8f6b5c-x8k2p', 'postgres-0'] });
    expect(scope.labelSelector).toBeUndefined();
    expect(checkScope(scope)).toEqual(scope);
    const many = restoreWatchScope('shop', Array.from({ length: 5_000 }, (_, i) => `pod-${i}`));
    expect(many.podNames).toHaveLength(WATCH_LIMITS.maxPodNames);
    expect(checkScope(many).podNames).toHaveLength(WATCH_LIMITS.maxPodNames);
    expect(RESTORE_WATCH_SAMPLES).toEqual({ forwarded: WATCH_LIMITS.maxSamples, dropped: WATCH_LIMITS.maxSamples });
  });
});
