import { describe, expect, it } from 'vitest';
import { describeTrafficVerdict, durationText, safeValue } from '../../../src/containment/traffic-describe.js';
import { trafficVerdictOf, TrafficWatchError, type TrafficVerdict } from '../../../src/containment/traffic.js';
import type { FlowSample } from '../../../src/flows/scope-watch.js';
import type { WatchRecord } from '../../../src/flows/watch-registry.js';
import { checkWatchSpec } from '../../../src/flows/watch-spec.js';

const WALL = Date.UTC(2026, 4, 2, 12, 0, 0);
const FLOW = Date.UTC(2026, 0, 15, 11, 30, 0);

function record(overrides: Partial<WatchRecord> = {}, counters: Partial<WatchRecord['counters']> = {}): WatchRecord {
  return {
    gen: 'g1',
    spec: checkWatchSpec({ incidentId: 'inc-1', scope: { namespace: 'db', podNames: ['postgres-0'], labelSelector: { matchLabels: { app: 'postgres' } } }, fromMs: WALL, untilMs: WALL + 30_000 }),
    specError: null,
    registeredAt: WALL,
    claimedAt: WALL + 200,
    collector: 'collector-a:1234',
    heartbeatAt: WALL + 32_500,
    closedAt: WALL + 32_500,
    flowFrom: FLOW - 200,
    flowUntil: FLOW + 29_800,
    flushedFlowTime: FLOW + 1_500,
    counters: { 'fwd:egress': 0, 'fwd:ingress': 0, 'drop:egress': 0, 'drop:ingress': 0, dns: 0, other: 0, ...counters },
    connections: {},
    forwardedSamples: [],
    droppedSamples: [],
    ...overrides,
  };
}

function sample(overrides: Partial<FlowSample> = {}): FlowSample {
  const s: FlowSample = {
    time: FLOW + 1_000,
    verdict: 'FORWARDED',
    dropReason: '',
    direction: 'egress',
    from: 'db/postgres-0',
    to: '203.0.113.66',
    port: 443,
    protocol: 'TCP',
    reply: false,
    scopePod: 'postgres-0',
    peerName: '',
    key: '',
    ...overrides,
  };
  return { ...s, key: overrides.key ?? `${s.verdict === 'DROPPED' ? 'd' : 'f'}|${s.from}|${s.to}|${s.port}|${s.protocol}` };
}

const verdict = (r: WatchRecord, collectorUp = true): TrafficVerdict => trafficVerdictOf('inc-1', r, collectorUp);

describe('trafficVerdictOf', () => {
  it('no claim: not verified, saying whether a collector runs at all', () => {
    const unclaimed = record({ claimedAt: null, collector: null, heartbeatAt: null, closedAt: null, flowFrom: null, flowUntil: null });
    expect(verdict(unclaimed, false)).toMatchObject({ status: 'no-collector', reason: 'no flow collector is running' });
    expect(verdict(unclaimed, true)).toMatchObject({ status: 'no-collector', reason: 'the flow collector did not pick up the watch' });
  });

  it('nothing seen: no-traffic; drops and DNS only: clean; any forwarded non-DNS flow: forwarded', () => {
    expect(verdict(record()).status).toBe('no-traffic');
    expect(verdict(record({}, { dns: 2 })).status).toBe('clean');
    expect(verdict(record({}, { 'drop:egress': 3 })).status).toBe('clean');
    expect(verdict(record({}, { other: 1 })).status).toBe('clean');
    expect(verdict(record({}, { 'drop:egress': 3, 'fwd:ingress': 1 })).status).toBe('forwarded');
  });

  it('merges connection counts into samples, drops duplicate samples of a takeover, orders by time', () => {
    const a = sample({ time: FLOW + 2_000 });
    const b = sample({ time: FLOW + 1_000, to: '198.51.100.7', port: 8443 });
    const v = verdict(record({ forwardedSamples: [a, b, { ...a, time: FLOW + 3_000 }], connections: { [a.key]: 7 } }, { 'fwd:egress': 8 }));
    expect(v.samples.forwarded.map((s) => [s.to, s.count])).toEqual([
      ['198.51.100.7', 1],
      ['203.0.113.66', 7],
    ]);
  });

  it('an unreadable stored spec is an error, not a verdict', () => {
    expect(() => verdict(record({ spec: null, specError: 'watch spec is not JSON' }))).toThrow(TrafficWatchError);
    expect(() => verdict(record({ spec: null, specError: 'watch spec is not JSON' }))).toThrow(/cannot be read: watch spec is not JSON/);
  });
});

describe('describeTrafficVerdict', () => {
  it('no collector', () => {
    const d = describeTrafficVerdict(verdict(record({ claimedAt: null }), false));
    expect(d.summary).toBe('Traffic check: not verified by traffic: no flow collector is running');
    expect(d.detail.join(' ')).toMatch(/start the collector role/);
    const stalled = describeTrafficVerdict(verdict(record({ claimedAt: null }), true));
    expect(stalled.summary).toBe('Traffic check: not verified by traffic: the flow collector did not pick up the watch');
  });

  it('no traffic: names the scope and the flow-time window', () => {
    const d = describeTrafficVerdict(verdict(record()));
    expect(d.summary).toBe('Traffic check (30 s): no traffic to judge in the window — no flow to or from the pods of db matching app=postgres was seen');
    expect(d.detail).toEqual(["Window on the collector's flow clock: 2026-01-15T11:29:59.800Z to 2026-01-15T11:30:29.800Z."]);
    const whole = record({ spec: { ...record().spec!, scope: { namespace: 'db', podNames: [] } } });
    expect(describeTrafficVerdict(verdict(whole)).summary).toContain('no flow to or from namespace db was seen');
  });

  it('clean: the brief\'s line, the split by direction and the dropped samples', () => {
    const drop = sample({ verdict: 'DROPPED', dropReason: 'POLICY_DENIED' });
    const d = describeTrafficVerdict(verdict(record({ droppedSamples: [drop], connections: { [drop.key]: 12 } }, { 'drop:egress': 12, 'drop:ingress': 2, dns: 3 })));
    expect(d.summary).toBe('Traffic check (30 s): 0 flows forwarded, 14 dropped, DNS to kube-dns 3 forwarded — containment holds on the wire');
    expect(d.detail).toContain('dropped: 12 egress (from the scope), 2 ingress (to the scope)');
    expect(d.detail).toContain('dropped: db/postgres-0 → 203.0.113.66:443 TCP POLICY_DENIED at 2026-01-15T11:30:01.000Z (12 flows)');
    // Without DNS the DNS part is left out.
    expect(describeTrafficVerdict(verdict(record({}, { 'drop:egress': 1 }))).summary).toBe('Traffic check (30 s): 0 flows forwarded, 1 dropped — containment holds on the wire');
  });

  it('forwarded: the connection, conntrack as the likely cause and the restart command', () => {
    const leak = sample({ peerName: 'evil.example' });
    const d = describeTrafficVerdict(verdict(record({ forwardedSamples: [leak], connections: { [leak.key]: 2 } }, { 'fwd:egress': 2, 'drop:egress': 5 })));
    expect(d.summary).toBe(
      'Traffic check (30 s): 2 flows still forwarded, not DNS: db/postgres-0 → 203.0.113.66:443 TCP (evil.example) at 2026-01-15T11:30:01.000Z (2 flows) — likely an established connection the CNI keeps (conntrack); restart the pod (kubectl -n db delete pod postgres-0) to cut it',
    );
    expect(d.detail[0]).toBe('forwarded (not DNS): 2 egress (from the scope), 0 ingress (to the scope)');
    expect(d.detail).toContain('5 flows dropped.');
  });

  it('forwarded ingress and several pods: every scope pod in the command, once', () => {
    const a = sample({ direction: 'ingress', from: 'api/orders-1', to: 'db/postgres-0', port: 5432, scopePod: 'postgres-0' });
    const b = sample({ direction: 'ingress', from: 'api/orders-2', to: 'db/postgres-1', port: 5432, scopePod: 'postgres-1' });
    const c = sample({ direction: 'ingress', from: 'api/orders-3', to: 'db/postgres-0', port: 5432, scopePod: 'postgres-0' });
    const d = describeTrafficVerdict(verdict(record({ forwardedSamples: [a, b, c] }, { 'fwd:ingress': 3 })));
    expect(d.summary).toContain('kubectl -n db delete pod postgres-0 postgres-1)');
    expect(d.detail[0]).toBe('forwarded (not DNS): 0 egress (from the scope), 3 ingress (to the scope)');
  });

  it('forwarded replies are said to be replies; a sample without a scope pod name asks to restart the scope', () => {
    const reply = sample({ reply: true, scopePod: '' });
    const d = describeTrafficVerdict(verdict(record({ forwardedSamples: [reply] }, { 'fwd:egress': 1 })));
    expect(d.summary).toContain('(reply packets)');
    expect(d.summary).toContain("restart the scope's pods (the pods of db matching app=postgres) to cut it");
  });

  it('forwarded without a stored sample still says how many', () => {
    const d = describeTrafficVerdict(verdict(record({}, { 'fwd:egress': 4 })));
    expect(d.summary).toMatch(/^Traffic check \(30 s\): 4 flows still forwarded, not DNS — likely an established connection/);
  });

  it('AUDIT verdicts name policy audit mode instead of conntrack', () => {
    const d = describeTrafficVerdict(verdict(record({ forwardedSamples: [sample({ verdict: 'AUDIT' })] }, { 'fwd:egress': 1 })));
    expect(d.summary).toContain('audit mode');
    expect(d.summary).not.toContain('conntrack');
    const mixed = describeTrafficVerdict(verdict(record({ forwardedSamples: [sample(), sample({ verdict: 'AUDIT', to: '198.51.100.1' })] }, { 'fwd:egress': 2 })));
    expect(mixed.summary).toContain('conntrack');
    expect(mixed.detail.join('\n')).toContain('AUDIT verdict: policy audit mode');
  });

  it('a partial window says so', () => {
    const d = describeTrafficVerdict(verdict(record({ closedAt: null, heartbeatAt: WALL + 10_000 }, { 'drop:egress': 1 })));
    expect(d.summary).toMatch(/holds on the wire \(window not fully observed\)$/);
    expect(d.detail.join('\n')).toContain('did not see the window through (last heard from at 2026-05-02T12:00:10.000Z)');
  });

  it('other verdicts are mentioned, not counted', () => {
    expect(describeTrafficVerdict(verdict(record({}, { 'drop:egress': 1, other: 2 }))).detail).toContain('2 flows with other verdicts (ERROR, TRACED, TRANSLATED) not counted.');
  });

  it('hostile values from flows cannot inject markup, mentions, escapes or commands', () => {
    const evil = sample({
      from: 'db/postgres-0',
      to: '<!channel> `rm -rf` *bold* \u001b[2J\u202e',
      peerName: '<https://evil.example|click>',
      scopePod: 'postgres-0; rm -rf /',
      protocol: 'TCP\n',
      time: 1e300,
    });
    const d = describeTrafficVerdict(verdict(record({ forwardedSamples: [evil] }, { 'fwd:egress': 1 })));
    const all = [d.summary, ...d.detail].join('\n');
    for (const bad of ['<', '>', '`', '*', '\u001b', '\u202e', '|', '\n\n', 'rm -rf']) expect(all).not.toContain(bad);
    expect(d.summary).toContain('unknown time');
    // The pod name is not one: no command is built from it.
    expect(all).not.toContain('kubectl');
    expect(d.summary).toContain("restart the scope's pods (the pods of db matching app=postgres)");
    expect(all.split('\n').every((line) => line.length < 2000)).toBe(true);
  });

  it('oversized values are cut', () => {
    const long = sample({ to: 'a'.repeat(100_000), from: `db/${'p'.repeat(10_000)}` });
    const d = describeTrafficVerdict(verdict(record({ forwardedSamples: [long] }, { 'fwd:egress': 1 })));
    expect(d.summary.length).toBeLessThan(600);
    expect(safeValue('x'.repeat(500))).toBe(`${'x'.repeat(100)}…`);
    expect(safeValue('')).toBe('?');
  });

  it('IPv6 peers are bracketed before the port; durations read naturally', () => {
    const v6 = sample({ to: '2001:db8::66' });
    expect(describeTrafficVerdict(verdict(record({ forwardedSamples: [v6] }, { 'fwd:egress': 1 }))).summary).toContain('→ [2001:db8::66]:443 TCP');
    expect([durationText(30_000), durationText(119_000), durationText(600_000), durationText(Number.NaN)]).toEqual(['30 s', '119 s', '10 min', '?']);
  });
});
