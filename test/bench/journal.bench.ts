// Change journal benchmark: a change in the cluster (a write to the simulated API server over
// HTTPS) → stored in the journal (the watcher's Lua write to a real redis-server returned), p50/p99
// over a few hundred changes of every kind the watcher follows, one at a time; then a burst of
// changes written back to back, for throughput. The watcher holds the shop's objects plus
// BENCH_JOURNAL_POLICIES NetworkPolicies, so its state is not empty.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { ChangeJournal, JournalWatcher } from '../../src/journal/index.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { createLogger } from '../../src/log.js';
import { resolveRedis } from '../../src/redis/throwaway.js';
import { startKubeApiServer } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import { summarize } from './stats.js';

const CHANGES = Number(process.env.BENCH_JOURNAL_CHANGES ?? 400);
const BURST = Number(process.env.BENCH_JOURNAL_BURST ?? 1000);
const POLICIES = Number(process.env.BENCH_JOURNAL_POLICIES ?? 500);
const TARGET_P99_MS = 200;

const stored = new Map<string, number>();
const key = (kind: string, name: string, rv: string): string => `${kind}/${name}@${rv}`;

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('benchmark: timed out waiting for the journal');
    await new Promise((r) => setImmediate(r));
  }
}

let anpWrites = 0;
const written = new Set<string>();

/** One change of the i-th kind in rotation; resolves with the key its journal entry will have. */
async function change(g: KubeGateway, i: number): Promise<string> {
  const k = await write(g, i);
  // A write that changed nothing keeps its version: it would be timed as stored at once.
  if (written.has(k)) throw new Error(`benchmark: write ${i} changed nothing (${k})`);
  written.add(k);
  return k;
}

async function write(g: KubeGateway, i: number): Promise<string> {
  const port = 1000 + (i % 60_000);
  switch (i % 4) {
    case 0: {
      const out = await g.objects('NetworkPolicy').apply(
        { metadata: { name: `bench-${i % 20}`, namespace: 'api' }, spec: { podSelector: { matchLabels: { app: 'orders' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port }] }] } },
        { fieldManager: 'kubectl' },
      );
      return key('NetworkPolicy', String(out.metadata?.name), String(out.metadata?.resourceVersion));
    }
    case 1: {
      const out = await g.objects('CiliumNetworkPolicy').apply(
        { metadata: { name: `bench-${i % 20}`, namespace: 'db' }, spec: { endpointSelector: { matchLabels: { app: `a${port}` } }, egressDeny: [{ toEntities: ['world'] }] } },
        { fieldManager: 'argocd-controller' },
      );
      return key('CiliumNetworkPolicy', String(out.metadata?.name), String(out.metadata?.resourceVersion));
    }
    case 2: {
      const out = await g.objects('Namespace').mergePatch({ name: 'frontend' }, { metadata: { labels: { rollout: String(i) } } }, { fieldManager: 'kubectl-label' });
      return key('Namespace', 'frontend', String(out.metadata?.resourceVersion));
    }
    default: {
      const out = await g.objects('AdminNetworkPolicy').apply(
        { metadata: { name: `bench-${i % 10}` }, spec: { priority: 1 + (anpWrites++ % 999), subject: { namespaces: {} }, ingress: [{ name: 'deny', action: 'Deny', from: [{ namespaces: {} }] }] } },
        { fieldManager: 'helm' },
      );
      return key('AdminNetworkPolicy', String(out.metadata?.name), String(out.metadata?.resourceVersion));
    }
  }
}

const redisServer = await resolveRedis();
const sim = await startKubeApiServer({ cluster: { cni: 'cilium', adminNetworkPolicy: true } });
const dir = mkdtempSync(join(tmpdir(), 'journal-bench-'));
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
const prefix = `bench-journal-${randomBytes(3).toString('hex')}`;
const journal = new ChangeJournal(redis, prefix, { maxAgeMs: 30 * 86_400_000, maxEntries: 200_000 });
const watcher = new JournalWatcher({
  gateway: createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) })),
  redis,
  keyPrefix: prefix,
  journal,
  logger: createLogger({ level: 'warn' }),
  onResult: (kind, result) => {
    if (result.outcome !== 'stored') return;
    const now = performance.now();
    for (const e of result.entries) stored.set(key(kind, e.name, e.resourceVersion), now);
  },
});
try {
  sim.seed([
    ...shopObjects(),
    ...Array.from({ length: POLICIES }, (_, i) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `team-rule-${i}`, namespace: 'api' },
      spec: { podSelector: { matchLabels: { app: `svc-${i}` } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port: 8000 + (i % 1000) }] }] },
    })),
  ]);
  const listStart = performance.now();
  await watcher.start();
  await watcher.ready();
  const listMs = performance.now() - listStart;
  const listed = `${sim.list('NetworkPolicy').length} NetworkPolicies and ${sim.list('Namespace').length} Namespaces`;
  const gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(join(dir, 'writer')) }));
  for (let i = 0; i < 20; i++) await until(((k) => () => stored.has(k))(await change(gateway, i)));

  const samples: number[] = [];
  for (let i = 20; i < 20 + CHANGES; i++) {
    const started = performance.now();
    const k = await change(gateway, i);
    await until(() => stored.has(k));
    samples.push((stored.get(k) as number) - started);
  }

  const burstStart = performance.now();
  const keys: string[] = [];
  for (let i = 0; i < BURST; i++) keys.push(await change(gateway, 100_000 + i));
  await until(() => keys.every((k) => stored.has(k)), 120_000);
  const burstMs = performance.now() - burstStart;

  console.log(`first list: ${listed} journalled in ${listMs.toFixed(0)} ms`);
  const line = summarize(`change in the cluster (API write) → stored in the journal (NetworkPolicy, CiliumNetworkPolicy, Namespace labels, AdminNetworkPolicy in turn, one at a time)`, samples);
  console.log(line);
  console.log(`burst: ${BURST} changes written back to back → all stored in ${burstMs.toFixed(0)} ms (${((BURST / burstMs) * 1000).toFixed(0)} changes/s; the API writes themselves included)`);
  const p99 = [...samples].sort((a, b) => a - b)[Math.ceil(0.99 * samples.length) - 1] as number;
  console.log(`target p99 ≤ ${TARGET_P99_MS} ms: ${p99 <= TARGET_P99_MS ? 'met' : 'NOT met'} (journal holds ${await journal.size()} entries)`);
  if (p99 > TARGET_P99_MS) process.exitCode = 1;
} finally {
  await watcher.stop();
  redis.disconnect();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
  await redisServer.stop();
}
