// learnedEdges against a real redis-server: the flow collector learns the shop's traffic from a
// Hubble JSON-lines file and snapshots its baseline on stop, as the collector role does; the
// reader maps that snapshot to test connections, scoped by namespace.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FlowCollector } from '../../src/flows/collector.js';
import { flowsKeyPrefix } from '../../src/flows/watch-registry.js';
import { learnedEdges } from '../../src/nettest/learned.js';
import { buildMatrix } from '../../src/nettest/matrix.js';
import { shopTimeline, shopTraffic, type HubbleRecord } from '../../src/sim/hubble/shop-traffic.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';

const tmp = mkdtempSync(join(tmpdir(), 'netpol-learned-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function redis(): Redis {
  const r = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  cleanup.push(() => r.quit());
  return r;
}

const traffic = { normalMinutes: 3, incidentMinutes: 1 };
const timeline = shopTimeline(traffic);

/** A forwarded connection from a client on the internet to the web pods on 443, and an ICMP ping. */
function extraRecords(): HubbleRecord[] {
  const web = { identity: 10101, namespace: 'frontend', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=frontend'], pod_name: 'web-6d4cf56db6-2xk9p' };
  const time = new Date(timeline.start + 90_000).toISOString();
  const inbound = {
    time,
    verdict: 'FORWARDED',
    IP: { source: '198.51.100.7', destination: '10.244.1.11', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 50000, destination_port: 443, flags: { SYN: true } } },
    source: { identity: 2, labels: ['reserved:world'] },
    destination: web,
    Type: 'L3_L4',
    traffic_direction: 'INGRESS',
    is_reply: false,
  };
  const ping = { ...inbound, l4: { ICMPv4: { type: 8 } }, IP: { source: '10.244.1.11', destination: '198.51.100.9', ipVersion: 'IPv4' }, source: web, destination: { identity: 2, labels: ['reserved:world'] }, traffic_direction: 'EGRESS' };
  return [inbound, ping].map((flow) => ({ flow, node_name: 'shop-worker-1', time }));
}

/** Runs the collector over the records until it has read them all, then stops it (which snapshots). */
async function collect(prefix: string): Promise<void> {
  const records = [...shopTraffic(traffic), ...extraRecords()].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const path = join(tmp, `${prefix}.jsonl`);
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const collector = new FlowCollector({
    source: { kind: 'jsonl-file', path, pollMs: 20 },
    onAnomaly: () => undefined,
    redis: redis(),
    // The collector role's own prefix (src/anomaly/collector-role.ts).
    keyPrefix: flowsKeyPrefix(prefix),
    trafficWatch: false,
    now: () => timeline.end + 1_000,
  });
  await collector.start();
  const deadline = Date.now() + 15_000;
  while (collector.pipeline.counts.read < records.length) {
    if (Date.now() > deadline) throw new Error(`collector read ${collector.pipeline.counts.read} of ${records.length} records`);
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(collector.pipeline.counts.accepted).toBe(records.length);
  await collector.stop();
}

const dns = (src: string) => ({ src, dst: 'kube-system/kube-dns', port: 53, protocol: 'UDP' });

describe('learnedEdges', () => {
  it('reads the snapshot the collector wrote: workload and IP edges, each connection once', async () => {
    const prefix = uniquePrefix('learned');
    await collect(prefix);
    const all = await learnedEdges(redis(), prefix);
    expect(all.unavailable).toBeUndefined();
    expect(all.savedAt).toBeGreaterThanOrEqual(timeline.incidentStart);
    expect(all.edges).toEqual([
      { src: '198.51.100.7', dst: 'frontend/web', port: 443, protocol: 'TCP' },
      { src: 'api/orders', dst: 'db/postgres', port: 5432, protocol: 'TCP' },
      { src: 'api/orders', dst: 'db/redis-cache', port: 6379, protocol: 'TCP' },
      dns('api/orders'),
      { src: 'api/payments', dst: 'db/postgres', port: 5432, protocol: 'TCP' },
      dns('api/payments'),
      // The incident's exfiltration was forwarded, so the collector learned it too (its CIDR and ICMP edges are not tests).
      { src: 'db/postgres', dst: '203.0.113.66', port: 443, protocol: 'TCP' },
      dns('db/postgres'),
      dns('db/redis-cache'),
      { src: 'frontend/web', dst: 'api/orders', port: 8080, protocol: 'TCP' },
      dns('frontend/web'),
    ]);
    // The policy-dropped web → postgres flows of the incident are not learned.
    expect(all.edges.some((e) => e.src === 'frontend/web' && e.dst === 'db/postgres')).toBe(false);

    // Scoped: the edges that touch a namespace, on either side.
    const db = await learnedEdges(redis(), prefix, ['db']);
    expect(db.edges.map((e) => `${e.src} ${e.dst}`)).toEqual(['api/orders db/postgres', 'api/orders db/redis-cache', 'api/payments db/postgres', 'db/postgres 203.0.113.66', 'db/postgres kube-system/kube-dns', 'db/redis-cache kube-system/kube-dns']);
    // Per-workload history for the hardening step's minHistory: from the first flow to the snapshot's
    // flow time; 4 minutes of traffic is inside the default 1 h learning period.
    expect(db.history?.map((h) => h.workload)).toEqual(['db/postgres', 'db/redis-cache']);
    for (const h of db.history ?? []) {
      expect(h.learning).toBe(true);
      expect(h.observedMs).toBeGreaterThan(3 * 60_000);
      expect(h.observedMs).toBeLessThanOrEqual((db.savedAt as number) - timeline.start);
    }
    const front = await learnedEdges(redis(), prefix, ['frontend', 'nowhere']);
    expect(front.edges.map((e) => `${e.src} ${e.dst} ${e.port}`)).toEqual(['198.51.100.7 frontend/web 443', 'frontend/web api/orders 8080', 'frontend/web kube-system/kube-dns 53']);
    expect((await learnedEdges(redis(), prefix, [])).edges).toEqual(all.edges);
    expect((await learnedEdges(redis(), prefix, ['nowhere'])).edges).toEqual([]);

    // They feed the validate step's matrix as cases that must stay allowed.
    const matrix = buildMatrix({ learned: front.edges });
    expect(matrix.cases.map((c) => [c.origin, c.expect, c.from, c.to, c.port, c.protocol])).toEqual([
      ['learned', 'allow', '198.51.100.7', 'frontend/web', 443, 'TCP'],
      ['learned', 'allow', 'frontend/web', 'api/orders', 8080, 'TCP'],
      ['learned', 'allow', 'frontend/web', 'kube-system/kube-dns', 53, 'UDP'],
    ]);
  });

  it('says why there is nothing to read: no snapshot, another prefix, a damaged snapshot', async () => {
    const r = redis();
    const prefix = uniquePrefix('learned');
    expect(await learnedEdges(r, prefix)).toEqual({ edges: [], unavailable: 'no snapshot' });
    await collect(prefix);
    // The collector's keys live under the flows prefix: the configuration's prefix is what callers pass.
    expect(await learnedEdges(r, flowsKeyPrefix(prefix))).toEqual({ edges: [], unavailable: 'no snapshot' });
    const generation = await r.get(`${flowsKeyPrefix(prefix)}:baseline:current`);
    expect(generation).toBeTruthy();
    await r.set(`${flowsKeyPrefix(prefix)}:baseline:${generation}:edges:0`, '{not json');
    const damaged = await learnedEdges(r, prefix);
    expect(damaged.edges).toEqual([]);
    expect(damaged.unavailable).toMatch(/edge chunk 0 is corrupt/);
  });
});
