import { describe, expect, it } from 'vitest';
import { Baseline } from '../../../src/flows/baseline.js';
import { flow, MIN, pod, T0, world } from './helpers.js';

const api = pod('api', 'orders', '10.0.0.1');
const db = pod('db', 'postgres', '10.0.0.2');

describe('baseline', () => {
  it('records egress and ingress edges with counts, first/last seen, and skips replies', () => {
    const b = new Baseline();
    const o1 = b.observe(flow(api, db, 5432, T0), T0);
    expect(o1.source?.edges[0]).toMatchObject({ peer: 'w:db/postgres', port: 5432, protocol: 'TCP', direction: 'egress', isNew: true });
    expect(o1.destination?.edges[0]).toMatchObject({ peer: 'w:api/orders', direction: 'ingress', isNew: true });
    const o2 = b.observe(flow(api, db, 5432, T0 + 1000), T0 + 1000);
    expect(o2.source?.edges[0]?.isNew).toBe(false);
    const e = b.edge(o2.source?.edges[0]?.slot as number, T0 + 1000);
    expect(e).toMatchObject({ firstSeen: T0, lastSeen: T0 + 1000, count: 2 });
    const reply = b.observe(flow(db, api, 40000, T0 + 2000, { isReply: true }), T0 + 2000);
    expect(reply.source).toBeNull();
    expect(b.edgeCount).toBe(2);
  });

  it('files an external IP under its IP, its CIDR and its DNS names', () => {
    const b = new Baseline();
    const o = b.observe(flow(db, world('203.0.113.66', ['exfil.example.']), 443, T0), T0);
    expect(o.source?.edges.map((e) => e.peer)).toEqual(['ip:203.0.113.66', 'cidr:203.0.113.0/24', 'dns:exfil.example.']);
  });

  it('computes median and MAD of completed buckets', () => {
    const b = new Baseline();
    for (let m = 0; m < 5; m++) for (let i = 0; i < 10 + m; i++) b.observe(flow(api, db, 5432, T0 + m * MIN + i), T0 + m * MIN + i);
    b.observe(flow(api, db, 5432, T0 + 5 * MIN), T0 + 5 * MIN);
    const w = b.workload('api/orders');
    expect(w?.historyLen).toBe(5);
    expect(w?.flowMedian).toBe(12);
    expect(w?.flowMad).toBe(1);
  });

  it('stays within the per-workload cap, keeping the most informative edges', () => {
    const b = new Baseline({ maxEdgesPerWorkload: 50, evictionSample: 50 });
    // 10 busy, long-lived peers, then a flood of one-off peers.
    for (let m = 0; m < 30; m++) for (let p = 0; p < 10; p++) b.observe(flow(api, world(`198.51.100.${p}`), 443, T0 + m * MIN), T0 + m * MIN);
    for (let i = 0; i < 500; i++) b.observe(flow(api, world(`192.0.2.${i % 250}`), 1000 + i, T0 + 31 * MIN), T0 + 31 * MIN);
    const w = b.workload('api/orders');
    expect(w?.edgeSlots.length).toBeLessThanOrEqual(50);
    const peers = b.edgesOf(w!, T0 + 31 * MIN).map((e) => e.peer);
    for (let p = 0; p < 10; p++) expect(peers).toContain(`ip:198.51.100.${p}`);
    expect(b.evictionCount).toBeGreaterThan(400);
  });

  it('stays within the total cap', () => {
    const b = new Baseline({ maxEdgesTotal: 300 });
    for (let i = 0; i < 2000; i++) b.observe(flow(pod('ns', `w${i % 40}`), world(`192.0.2.${i % 200}`), i, T0 + i), T0 + i);
    expect(b.edgeCount).toBeLessThanOrEqual(300);
  });

  it('lets retired peers fade: after enough half-lives an edge is new again, and sweep frees it', () => {
    const b = new Baseline({ halfLifeMs: 60 * MIN });
    b.observe(flow(api, db, 5432, T0), T0);
    const later = T0 + 3 * 60 * MIN; // 3 half-lives: weight 1/8 < 0.25
    expect(b.sweep(later)).toBeGreaterThan(0);
    expect(b.edgeCount).toBe(0);
    const again = b.observe(flow(api, db, 5432, later), later);
    expect(again.source?.edges[0]?.isNew).toBe(true);
  });

  it('round-trips through a snapshot, and a snapshot bigger than the caps is cut to them', () => {
    const b = new Baseline();
    for (let i = 0; i < 100; i++) b.observe(flow(pod('ns', `w${i % 5}`), world(`192.0.2.${i}`), 443, T0 + i * 1000), T0 + i * 1000);
    const snap = b.snapshot();
    expect(Baseline.fromSnapshot(snap).snapshot()).toEqual(snap);
    expect(Baseline.fromSnapshot(JSON.parse(JSON.stringify(snap)), { maxEdgesTotal: 30 }).edgeCount).toBe(30);
  });
});
