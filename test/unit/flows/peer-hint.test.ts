import { describe, expect, it } from 'vitest';
import { Baseline } from '../../../src/flows/baseline.js';
import { flow, pod, T0 } from './helpers.js';

describe('baseline: remote workloads as peers under eviction churn', () => {
  it('every edge names the right peer while peers are evicted and their ids reused', () => {
    // A tiny global cap: nearly every new edge evicts another, releasing and recycling peer ids.
    const baseline = new Baseline({ learningPeriodMs: 0, maxEdgesTotal: 12, maxEdgesPerWorkload: 4, evictionSample: 3 });
    const workloads = Array.from({ length: 15 }, (_, i) => pod('ns', `w${i}`, `10.0.0.${i + 1}`));
    const peers = new Set(workloads.map((w) => `w:${w.workloadKey}`));
    let notFound = 0;
    let x = 11;
    for (let i = 0; i < 5000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const src = workloads[x % 15]!;
      const dst = workloads[(x >>> 8) % 15]!;
      const port = 8000 + ((x >>> 16) % 3);
      const obs = baseline.observe(flow(src, dst, port, T0 + i), T0 + i);
      expect(obs.source?.edges[0]?.peer).toBe(`w:${dst.workloadKey}`);
      expect(obs.destination?.edges[0]?.peer).toBe(`w:${src.workloadKey}`);
      // Every learned edge of both workloads names a real peer, and no edge key appears twice
      // (a stale peer id would file an edge under the wrong peer or split one edge in two).
      for (const key of [src.workloadKey, dst.workloadKey]) {
        const stats = baseline.workload(key);
        if (!stats) continue;
        const edges = baseline.edgesOf(stats, T0 + i).map((e) => `${e.direction}|${e.port}|${e.peer}`);
        expect(new Set(edges).size).toBe(edges.length);
        for (const e of edges) expect(peers.has(e.split('|')[2] ?? '')).toBe(true);
      }
      // A repeat right away finds the edge again (unless the other side's new edge just evicted it).
      const slot = obs.source?.edges[0]?.slot;
      const again = baseline.observe(flow(src, dst, port, T0 + i), T0 + i);
      if (!again.source?.edges[0]?.isNew) expect(again.source?.edges[0]?.slot).toBe(slot);
      else notFound += 1;
    }
    expect(baseline.edgeCount).toBeLessThanOrEqual(12);
    expect(baseline.evictionCount).toBeGreaterThan(1000);
    expect(notFound).toBeLessThan(2500);
  });
});
