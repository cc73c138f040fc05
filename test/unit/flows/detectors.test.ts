import { describe, expect, it } from 'vitest';
import { FlowPipeline } from '../../../src/flows/pipeline.js';
import type { Anomaly } from '../../../src/flows/types.js';
import { flow, MIN, pod, T0, world } from './helpers.js';

const web = pod('frontend', 'web', '10.0.0.1');
const api = pod('api', 'orders', '10.0.0.2');
const db = pod('db', 'postgres', '10.0.0.3');

/** 30 minutes of steady web→api and api→db traffic, learning period 20 min. */
function learned(): FlowPipeline {
  const p = new FlowPipeline({ baseline: { learningPeriodMs: 20 * MIN } });
  for (let m = 0; m < 30; m++) {
    for (let i = 0; i < 20; i++) {
      const t = T0 + m * MIN + i * 2000;
      p.processFlow(flow(web, api, 8080, t));
      p.processFlow(flow(api, db, 5432, t + 500));
    }
  }
  return p;
}

const at = (m: number, s = 0): number => T0 + m * MIN + s * 1000;

describe('detectors', () => {
  it('new east-west edge: web → db:5432 never seen', () => {
    const p = learned();
    const found = p.processFlow(flow(web, db, 5432, at(30, 1)));
    expect(found.map((a) => a.kind)).toEqual(['new-east-west-edge']);
    expect(found[0]).toMatchObject({ workload: { namespace: 'frontend', name: 'web' }, dedupeKey: 'new-east-west-edge:frontend/web:w:db/postgres:TCP/5432', severity: 'medium' });
    expect(p.processFlow(flow(web, db, 5432, at(30, 2)))).toEqual([]);
  });

  it('new external egress; a known DNS name or CIDR keeps a new IP quiet', () => {
    const p = new FlowPipeline({ baseline: { learningPeriodMs: 5 * MIN } });
    for (let m = 0; m < 10; m++) p.processFlow(flow(api, world('198.51.100.7', ['payments.example']), 443, at(m)));
    expect(p.processFlow(flow(api, world('198.51.100.99'), 443, at(10))).length).toBe(0); // same /24
    expect(p.processFlow(flow(api, world('192.0.2.1', ['payments.example']), 443, at(10, 1))).length).toBe(0); // known name
    const found = p.processFlow(flow(api, world('203.0.113.66'), 443, at(10, 2)));
    expect(found.map((a) => a.kind)).toEqual(['new-external-egress']);
    expect(found[0]?.baseline.description).toContain('other known external peer');
  });

  it('nothing is reported during the learning period', () => {
    const p = new FlowPipeline({ baseline: { learningPeriodMs: 60 * MIN } });
    expect(p.processFlow(flow(api, world('203.0.113.66'), 443, at(1)))).toEqual([]);
  });

  it('volume spike: raised once when the bucket count crosses median + k·MAD, not on normal jitter', () => {
    const p = learned();
    const raised: Anomaly[] = [];
    for (let i = 0; i < 25; i++) raised.push(...p.processFlow(flow(web, api, 8080, at(30, i))));
    expect(raised).toEqual([]); // normal rate
    for (let i = 0; i < 300; i++) raised.push(...p.processFlow(flow(web, api, 8080, at(31, i * 0.1))));
    const spikes = raised.filter((a) => a.kind === 'volume-spike');
    expect(spikes.map((a) => a.workload.name).sort()).toEqual(['orders', 'web']);
    expect(spikes[0]?.baseline.expected).toBe(20);
    expect(spikes[0]?.evidence.length).toBe(5);
  });

  it('policy-deny spike: drops well above the usual few', () => {
    const p = learned();
    const raised: Anomaly[] = [];
    for (let i = 0; i < 40; i++) {
      raised.push(...p.processFlow(flow(web, db, 5432, at(31, i), { verdict: 'DROPPED', dropReason: 'POLICY_DENIED', direction: 'INGRESS' })));
    }
    expect(raised.map((a) => `${a.kind} ${a.workload.name}`)).toEqual(['policy-deny-spike postgres']);
    expect(raised[0]?.baseline.observed).toBe(10);
    // Drops for reasons other than policy are not policy denies.
    const q = learned();
    const other = [];
    for (let i = 0; i < 40; i++) other.push(...q.processFlow(flow(web, db, 5432, at(31, i), { verdict: 'DROPPED', dropReason: 'CT_MAP_INSERTION_FAILED' })));
    expect(other).toEqual([]);
  });

  it('fan-out / scan: many distinct destinations in one window', () => {
    const p = learned();
    const raised: Anomaly[] = [];
    for (let port = 1; port <= 100; port++) raised.push(...p.processFlow(flow(api, db, port, at(30, port * 0.2))));
    const fan = raised.filter((a) => a.kind === 'fan-out');
    expect(fan).toHaveLength(1);
    expect(fan[0]?.baseline.observed).toBe(30);
    expect(fan[0]?.severity).toBe('high');
  });

  it('cooldown: one ongoing event is one alert; a new one after a quiet cooldown is raised again', () => {
    const p = new FlowPipeline({ baseline: { learningPeriodMs: 0, halfLifeMs: 1 }, cooldownMs: 10 * MIN });
    // halfLife 1 ms makes every edge fade at once, so each flow is "new" and only the gate dedupes.
    const k = (m: number): number => p.processFlow(flow(api, world('203.0.113.66'), 443, at(m))).length;
    expect(k(0)).toBe(1);
    expect(k(5)).toBe(0);
    expect(k(14)).toBe(0); // still ongoing: last seen at 5, now 14 < 5 + 10
    expect(k(30)).toBe(1);
  });
});

describe('clock skew in flow times', () => {
  it('live: flows from the future are skipped; late flows within bounds are learned; very late ones skipped', () => {
    const p = learned();
    const now = at(30);
    expect(p.processFlow(flow(web, api, 8080, now + 3_600_000), now)).toEqual([]);
    expect(p.counts.skipped.clock_skew_future).toBe(1);
    const before = p.counts.accepted;
    p.processFlow(flow(web, api, 8080, at(29) - 3 * MIN), now);
    expect(p.counts.accepted).toBe(before + 1);
    p.processFlow(flow(web, api, 8080, at(29) - 60 * MIN), now);
    expect(p.counts.skipped.clock_skew_past).toBe(1);
  });

  it('offline: a year-2099 flow does not drag the watermark and poison what follows', () => {
    const p = learned();
    const wm = p.watermark;
    p.processFlow(flow(web, api, 8080, Date.UTC(2099, 0, 1)));
    expect(p.counts.skipped.clock_skew_future).toBe(1);
    expect(p.watermark).toBe(wm);
    p.processFlow(flow(web, api, 8080, wm + 1000));
    expect(p.counts.skipped.clock_skew_past ?? 0).toBe(0);
  });
});

describe('pipeline counts malformed records per reason and keeps going', () => {
  it('mixed garbage and good lines', () => {
    const p = new FlowPipeline();
    const good = JSON.stringify({ flow: { time: '2026-01-01T00:00:00Z', verdict: 'FORWARDED', IP: { source: '10.0.0.1', destination: '10.0.0.2' }, source: { namespace: 'a', pod_name: 'x-0' }, destination: { namespace: 'b', pod_name: 'y-0' } } });
    p.processLine(good);
    const before = p.baseline.snapshot();
    for (const line of ['{"flow":', 'garbage', '', '   ', good.replace('FORWARDED', 'PERHAPS'), good.replace('10.0.0.2', '10.0.0.999')]) {
      expect(p.processLine(line)).toEqual([]);
    }
    // Rejected records change nothing in the baseline.
    expect(p.baseline.snapshot()).toEqual(before);
    p.processLine(good);
    expect(p.counts).toEqual({ read: 6, accepted: 2, skipped: { invalid_json: 2, unknown_verdict: 1, invalid_ip: 1 } });
  });
});
