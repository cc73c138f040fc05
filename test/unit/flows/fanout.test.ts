import { describe, expect, it } from 'vitest';
import { Baseline } from '../../../src/flows/baseline.js';
import { FlowPipeline } from '../../../src/flows/pipeline.js';
import type { FlowEndpoint } from '../../../src/flows/types.js';
import { flow, MIN, pod, T0, world } from './helpers.js';

const peerCount = (baseline: Baseline): number => (baseline as unknown as { peerIds: Map<string, number> }).peerIds.size;
const unnamed: FlowEndpoint = { ...world(''), reserved: [], identity: 0 };

describe('fan-out window', () => {
  it('counts distinct peer × port pairs exactly, even while the edge cap evicts the peers it counts', () => {
    const baseline = new Baseline({ learningPeriodMs: 0, maxEdgesPerWorkload: 8, evictionSample: 4 });
    const scanner = pod('ci', 'scanner');
    const reference = new Set<string>();
    let x = 3;
    for (let i = 0; i < 2000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const target = x % 3 === 0 ? world(`203.0.113.${x % 40}`) : x % 3 === 1 ? pod('db', `db${x % 30}`, '10.1.0.1') : unnamed;
      const port = 1 + ((x >>> 8) % 5);
      const side = baseline.observe(flow(scanner, target, port, T0 + i), T0 + i).source;
      const key = `${target.workloadKey ? `w:${target.workloadKey}` : target.ip ? `ip:${target.ip}` : ''}|${port}`;
      const grew = !reference.has(key) && reference.size < 512;
      if (reference.size < 512) reference.add(key);
      expect(side?.fanoutGrew).toBe(grew);
      expect(side?.workload.fanout.size).toBe(reference.size);
    }
    const w = baseline.workload('ci/scanner');
    if (!w) throw new Error('scanner not learned');
    expect(baseline.fanoutSample(w, 1000)).toEqual([...reference]);
    expect(baseline.fanoutSample(w, 3)).toEqual([...reference].slice(0, 3));
  });

  it('releases the peers a window held once the window closes (no peer kept for ever)', () => {
    const baseline = new Baseline({ learningPeriodMs: 0, maxEdgesPerWorkload: 4, evictionSample: 4 });
    const scanner = pod('ci', 'scanner');
    for (let i = 0; i < 300; i++) baseline.observe(flow(scanner, world(`198.51.100.${i % 250}`), 443, T0 + i), T0 + i);
    const during = peerCount(baseline);
    expect(during).toBeGreaterThan(250); // the window references every IP it counted
    // A flow in a later window closes the old one: only the peers of live edges stay.
    baseline.observe(flow(scanner, pod('db', 'postgres'), 5432, T0 + 5 * MIN), T0 + 5 * MIN);
    expect(peerCount(baseline)).toBeLessThanOrEqual(2 * 4 + 1);
    baseline.closeBuckets();
    expect(peerCount(baseline)).toBeLessThanOrEqual(2 * 4);
  });

  it('raises fan-out with a readable sample of the destinations', () => {
    const pipeline = new FlowPipeline({ baseline: { learningPeriodMs: 0 } });
    const scanner = pod('ci', 'scanner');
    const anomalies = [];
    for (let i = 0; i < 40; i++) anomalies.push(...pipeline.processFlow(flow(scanner, world(`203.0.113.${i}`), 22, T0 + i)));
    const fan = anomalies.find((a) => a.kind === 'fan-out');
    expect(fan?.baseline.observed).toBe(30);
    expect(fan?.details.sample).toBe(Array.from({ length: 10 }, (_, i) => `ip:203.0.113.${i}|22`).join(', '));
  });
});
