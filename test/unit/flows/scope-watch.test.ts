import { describe, expect, it } from 'vitest';
import { classifyFlow, DEFAULT_DNS_TARGET, isEmptyDelta, SAMPLE_FIELD_MAX, ScopeWatchSet, type WatchSpec } from '../../../src/flows/scope-watch.js';
import type { Flow, FlowEndpoint } from '../../../src/flows/types.js';
import { flow, pod, T0, world } from './helpers.js';

const postgres = { ...pod('db', 'postgres', '10.244.2.31'), pod: 'postgres-0' };
const redisCache = { ...pod('db', 'redis-cache', '10.244.1.32'), pod: 'redis-cache-6f9d7b5c8d-zq7wn' };
const orders = { ...pod('api', 'orders', '10.244.1.21'), pod: 'orders-7c5d9b8f4c-kq2wz' };
const kubeDns: FlowEndpoint = { ...pod('kube-system', 'kube-dns', '10.244.0.10', { 'k8s-app': 'kube-dns' }), pod: 'kube-dns-5d78c9869d-p2v8x' };
const exfil = world('203.0.113.66', ['evil.example']);

const selectorScope = { namespace: 'db', pods: new Set(['postgres-0']), selector: { matchLabels: { app: 'postgres' } } };
const wholeNamespace = { namespace: 'db', pods: new Set<string>(), selector: null };
const dns = { namespace: 'kube-system', selector: { matchLabels: { 'k8s-app': 'kube-dns' } } };

function spec(overrides: Partial<WatchSpec> = {}): WatchSpec {
  return {
    incidentId: 'inc-1',
    scope: { namespace: 'db', podNames: ['postgres-0'], labelSelector: { matchLabels: { app: 'postgres' } } },
    dns: DEFAULT_DNS_TARGET,
    fromMs: T0,
    untilMs: T0 + 30_000,
    samples: { forwarded: 2, dropped: 1 },
    ...overrides,
  };
}

const dropped = (f: Flow): Flow => ({ ...f, verdict: 'DROPPED', dropReason: 'POLICY_DENIED' });

describe('classifyFlow: direction, DNS and verdicts', () => {
  it('egress from a scope pod to the world, forwarded or dropped', () => {
    const f = flow(postgres, exfil, 443, T0);
    expect(classifyFlow(f, selectorScope, dns)).toMatchObject({ direction: 'egress', kind: 'forwarded' });
    expect(classifyFlow(dropped(f), selectorScope, dns)).toMatchObject({ direction: 'egress', kind: 'dropped' });
  });

  it('ingress to a scope pod from another namespace', () => {
    const f = flow(orders, postgres, 5432, T0, { direction: 'INGRESS' });
    expect(classifyFlow(f, selectorScope, dns)).toMatchObject({ direction: 'ingress', kind: 'forwarded' });
    expect(classifyFlow(dropped(f), selectorScope, dns)?.scopeSide.pod).toBe('postgres-0');
  });

  it('a reply packet is seen the way of its connection: the world answering postgres-0 is its egress', () => {
    const reply = flow(exfil, postgres, 40123, T0, { isReply: true, source: { ...exfil, port: 443 } });
    const c = classifyFlow(reply, selectorScope, dns);
    expect(c).toMatchObject({ direction: 'egress', kind: 'forwarded' });
    expect(c?.initiator.pod).toBe('postgres-0');
    expect(c?.responder.port).toBe(443);
  });

  it('DNS to kube-dns on 53 (UDP and TCP) and its replies are DNS, not leaks', () => {
    expect(classifyFlow(flow(postgres, kubeDns, 53, T0, { protocol: 'UDP' }), selectorScope, dns)?.kind).toBe('dns');
    expect(classifyFlow(flow(postgres, kubeDns, 53, T0, { protocol: 'TCP' }), selectorScope, dns)?.kind).toBe('dns');
    const answer = flow(kubeDns, postgres, 35001, T0, { protocol: 'UDP', isReply: true, source: { ...kubeDns, port: 53 } });
    expect(classifyFlow(answer, selectorScope, dns)).toMatchObject({ kind: 'dns', direction: 'egress' });
  });

  it('what only looks like DNS is a leak: another port, another resolver, a look-alike pod elsewhere, ICMP', () => {
    expect(classifyFlow(flow(postgres, kubeDns, 5353, T0, { protocol: 'UDP' }), selectorScope, dns)?.kind).toBe('forwarded');
    expect(classifyFlow(flow(postgres, world('8.8.8.8'), 53, T0, { protocol: 'UDP' }), selectorScope, dns)?.kind).toBe('forwarded');
    const impostor = { ...pod('attacker', 'kube-dns', '10.244.9.9', { 'k8s-app': 'kube-dns' }) };
    expect(classifyFlow(flow(postgres, impostor, 53, T0, { protocol: 'UDP' }), selectorScope, dns)?.kind).toBe('forwarded');
    const unlabelled = { ...kubeDns, labels: { app: 'coredns' } };
    expect(classifyFlow(flow(postgres, unlabelled, 53, T0, { protocol: 'UDP' }), selectorScope, dns)?.kind).toBe('forwarded');
    expect(classifyFlow(flow(postgres, kubeDns, 53, T0, { protocol: 'ICMPv4' }), selectorScope, dns)?.kind).toBe('forwarded');
  });

  it('the DNS target is configurable (namespace and labels)', () => {
    const coredns = { ...pod('dns-system', 'coredns', '10.0.9.9', { app: 'coredns' }) };
    const custom = { namespace: 'dns-system', selector: { matchLabels: { app: 'coredns' } } };
    expect(classifyFlow(flow(postgres, coredns, 53, T0, { protocol: 'UDP' }), selectorScope, custom)?.kind).toBe('dns');
    expect(classifyFlow(flow(postgres, kubeDns, 53, T0, { protocol: 'UDP' }), selectorScope, custom)?.kind).toBe('forwarded');
  });

  it('AUDIT and REDIRECTED pass (count as forwarded); ERROR, TRACED, TRANSLATED are other', () => {
    const f = flow(postgres, exfil, 443, T0);
    expect(classifyFlow({ ...f, verdict: 'AUDIT' }, selectorScope, dns)?.kind).toBe('forwarded');
    expect(classifyFlow({ ...f, verdict: 'REDIRECTED' }, selectorScope, dns)?.kind).toBe('forwarded');
    for (const verdict of ['ERROR', 'TRACED', 'TRANSLATED'] as const) expect(classifyFlow({ ...f, verdict }, selectorScope, dns)?.kind).toBe('other');
  });

  it('selector scope: other pods of the namespace are out; a whole-namespace scope takes them all', () => {
    const f = flow(redisCache, exfil, 443, T0);
    expect(classifyFlow(f, selectorScope, dns)).toBeNull();
    expect(classifyFlow(f, wholeNamespace, dns)).toMatchObject({ direction: 'egress' });
    expect(classifyFlow(flow(orders, exfil, 443, T0), wholeNamespace, dns)).toBeNull();
    expect(classifyFlow(flow(orders, redisCache, 6379, T0), wholeNamespace, dns)).toMatchObject({ direction: 'ingress' });
  });

  it('pod names catch an endpoint without labels; the selector catches a replacement pod under a new name', () => {
    const bare = { ...postgres, labels: {}, labelsTruncated: true };
    expect(classifyFlow(flow(bare, exfil, 443, T0), selectorScope, dns)).not.toBeNull();
    const replacement = { ...postgres, pod: 'postgres-0-new' };
    expect(classifyFlow(flow(replacement, exfil, 443, T0), selectorScope, dns)).not.toBeNull();
    const strangerBare = { ...redisCache, labels: {} };
    expect(classifyFlow(flow(strangerBare, exfil, 443, T0), selectorScope, dns)).toBeNull();
    // A pod of the same name in another namespace is not the scope's.
    expect(classifyFlow(flow({ ...postgres, namespace: 'db2' }, exfil, 443, T0), selectorScope, dns)).toBeNull();
  });

  it('match expressions in the selector', () => {
    const scope = { namespace: 'db', pods: new Set<string>(), selector: { matchExpressions: [{ key: 'app', operator: 'In' as const, values: ['postgres', 'redis-cache'] }] } };
    expect(classifyFlow(flow(redisCache, exfil, 443, T0), scope, dns)).not.toBeNull();
    const notIn = { ...scope, selector: { matchExpressions: [{ key: 'app', operator: 'NotIn' as const, values: ['postgres'] }] } };
    expect(classifyFlow(flow(postgres, exfil, 443, T0), notIn, dns)).toBeNull();
  });

  it('both sides in scope: Hubble\'s direction decides', () => {
    const peer = { ...postgres, pod: 'postgres-1', ip: '10.244.2.32' };
    expect(classifyFlow(flow(postgres, peer, 5432, T0, { direction: 'INGRESS' }), selectorScope, dns)?.direction).toBe('ingress');
    expect(classifyFlow(flow(postgres, peer, 5432, T0, { direction: 'EGRESS' }), selectorScope, dns)?.direction).toBe('egress');
  });

  it('hostile labels do not match by accident (prototype keys)', () => {
    const labels = JSON.parse('{"__proto__": {"app": "postgres"}, "constructor": "x"}') as Record<string, string>;
    const odd = { ...redisCache, labels };
    expect(classifyFlow(flow(odd, exfil, 443, T0), selectorScope, dns)).toBeNull();
    const byConstructor = { namespace: 'db', pods: new Set<string>(), selector: { matchLabels: { constructor: 'y' } } };
    expect(classifyFlow(flow(redisCache, exfil, 443, T0), byConstructor, dns)).toBeNull();
  });
});

describe('ScopeWatchSet', () => {
  it('counts within the flow window only (both ends inclusive) and after a takeover\'s resume point', () => {
    const set = new ScopeWatchSet();
    set.add('inc-1|g', spec(), { flowFrom: T0, flowUntil: T0 + 1000, resumeAfter: T0 + 100 });
    for (const t of [T0 - 1, T0, T0 + 100, T0 + 101, T0 + 1000, T0 + 1001]) set.observe(dropped(flow(postgres, exfil, 443, t)));
    expect(set.drain('inc-1|g')?.counters['drop:egress']).toBe(2);
  });

  it('observe(flow, namespace) tallies only the watches of that namespace (a sharded collector hands a flow over per namespace)', () => {
    const set = new ScopeWatchSet();
    const window = { flowFrom: T0, flowUntil: T0 + 30_000, resumeAfter: Number.NEGATIVE_INFINITY };
    set.add('db|g', spec(), window);
    set.add('api|g', spec({ incidentId: 'inc-2', scope: { namespace: 'api', podNames: ['orders-7c5d9b8f4c-kq2wz'] } }), window);
    const orderToPostgres = flow(orders, postgres, 5432, T0 + 1, { direction: 'INGRESS' });
    set.observe(orderToPostgres, 'db');
    expect(set.drain('db|g')?.counters['fwd:ingress']).toBe(1);
    expect(isEmptyDelta(set.drain('api|g')!)).toBe(true);
    set.observe(orderToPostgres, 'api');
    expect(isEmptyDelta(set.drain('db|g')!)).toBe(true);
    expect(set.drain('api|g')?.counters['fwd:egress']).toBe(1);
    set.observe(orderToPostgres, 'frontend'); // no watch there
    set.observe(orderToPostgres); // every watch
    expect([set.drain('db|g')?.counters['fwd:ingress'], set.drain('api|g')?.counters['fwd:egress']]).toEqual([1, 1]);
  });

  it('tallies by kind and direction, keeps the first distinct samples and counts their connections', () => {
    const set = new ScopeWatchSet();
    set.add('inc-1|g', spec(), { flowFrom: T0, flowUntil: T0 + 30_000, resumeAfter: Number.NEGATIVE_INFINITY });
    const leak = flow(postgres, exfil, 443, T0 + 5);
    for (let i = 0; i < 4; i++) set.observe({ ...leak, time: T0 + 10 + i });
    set.observe(flow(postgres, world('198.51.100.7'), 8443, T0 + 20));
    set.observe(flow(postgres, world('198.51.100.8'), 22, T0 + 21)); // third connection: over the limit of 2
    set.observe(dropped(flow(orders, postgres, 5432, T0 + 30, { direction: 'INGRESS' })));
    set.observe(dropped(flow(orders, postgres, 5432, T0 + 31, { direction: 'INGRESS' })));
    set.observe(dropped(flow(postgres, exfil, 443, T0 + 32)));
    set.observe(flow(postgres, kubeDns, 53, T0 + 40, { protocol: 'UDP' }));
    set.observe({ ...leak, time: T0 + 50, verdict: 'ERROR' });
    set.observe(flow(orders, redisCache, 6379, T0 + 60)); // out of scope
    const d = set.drain('inc-1|g');
    expect(d?.counters).toEqual({ 'fwd:egress': 6, 'fwd:ingress': 0, 'drop:egress': 1, 'drop:ingress': 2, dns: 1, other: 1 });
    expect(d?.forwardedSamples.map((s) => `${s.from} ${s.to}:${s.port} ${s.peerName}`)).toEqual(['db/postgres-0 203.0.113.66:443 evil.example', 'db/postgres-0 198.51.100.7:8443 ']);
    expect(d?.droppedSamples.map((s) => `${s.direction} ${s.from} ${s.to}:${s.port} ${s.dropReason} ${s.scopePod}`)).toEqual(['ingress api/orders-7c5d9b8f4c-kq2wz db/postgres-0:5432 POLICY_DENIED postgres-0']);
    expect(d?.connections.get(d.forwardedSamples[0]!.key)).toBe(4);
    expect(d?.connections.get(d.droppedSamples[0]!.key)).toBe(2);
    expect(d?.maxFlowTime).toBe(T0 + 50);

    // Drained: the next delta starts empty; a sampled connection keeps being counted, not sampled again.
    expect(isEmptyDelta(set.drain('inc-1|g')!)).toBe(true);
    set.observe({ ...leak, time: T0 + 70 });
    const next = set.drain('inc-1|g')!;
    expect(next.forwardedSamples).toEqual([]);
    expect([...next.connections.values()]).toEqual([1]);
  });

  it('watches are independent; removal stops the tally; restore puts a failed flush back', () => {
    const set = new ScopeWatchSet();
    set.add('a|1', spec(), { flowFrom: T0, flowUntil: T0 + 1000, resumeAfter: Number.NEGATIVE_INFINITY });
    set.add('b|1', spec({ scope: { namespace: 'api', podNames: [] } }), { flowFrom: T0, flowUntil: T0 + 1000, resumeAfter: Number.NEGATIVE_INFINITY });
    set.observe(flow(orders, postgres, 5432, T0 + 1));
    expect(set.drain('a|1')?.counters['fwd:ingress']).toBe(1);
    const b = set.drain('b|1')!;
    expect(b.counters['fwd:egress']).toBe(1);
    set.restore(b);
    expect(set.drain('b|1')?.counters['fwd:egress']).toBe(1);
    set.remove('a|1');
    expect(set.size).toBe(1);
    expect(set.drain('a|1')).toBeNull();
  });

  it('zero limits keep counts but no samples', () => {
    const set = new ScopeWatchSet();
    set.add('a|1', spec({ samples: { forwarded: 0, dropped: 0 } }), { flowFrom: T0, flowUntil: T0 + 1000, resumeAfter: Number.NEGATIVE_INFINITY });
    set.observe(flow(postgres, exfil, 443, T0));
    set.observe(dropped(flow(postgres, exfil, 443, T0)));
    const d = set.drain('a|1')!;
    expect([d.counters['fwd:egress'], d.counters['drop:egress'], d.forwardedSamples.length, d.droppedSamples.length, d.connections.size]).toEqual([1, 1, 0, 0, 0]);
  });

  it('hostile, oversized values in flows are clipped in samples, and many distinct peers stay bounded', () => {
    const set = new ScopeWatchSet();
    set.add('a|1', spec({ samples: { forwarded: 3, dropped: 3 } }), { flowFrom: T0, flowUntil: T0 + 1e9, resumeAfter: Number.NEGATIVE_INFINITY });
    const hostile = { ...postgres, pod: `postgres-0\u001b[2J${'x'.repeat(5000)}`, labels: { app: 'postgres' } };
    const peer = world('203.0.113.66', [`${'a'.repeat(10_000)}.example`]);
    set.observe({ ...flow(hostile, peer, 443, T0), dropReason: 'R'.repeat(10_000) });
    for (let i = 0; i < 10_000; i++) set.observe(dropped(flow(postgres, world(`198.51.${i >> 8}.${i & 255}`), 1 + (i % 60_000), T0 + i)));
    const d = set.drain('a|1')!;
    const s = d.forwardedSamples[0]!;
    expect(s.from.length).toBeLessThanOrEqual(SAMPLE_FIELD_MAX);
    expect(s.scopePod.length).toBeLessThanOrEqual(SAMPLE_FIELD_MAX);
    expect(s.peerName.length).toBeLessThanOrEqual(SAMPLE_FIELD_MAX);
    expect(d.counters['drop:egress']).toBe(10_000);
    expect(d.droppedSamples).toHaveLength(3);
    expect(d.connections.size).toBe(4);
  });
});
