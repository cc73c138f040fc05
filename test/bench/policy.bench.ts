// Policy engine benchmark: synthetic clusters of 1k, 10k and 100k pods (0.5 policies per pod;
// POLICY_BENCH_SIZES and POLICY_BENCH_POLICIES_PER_POD change that).
// Figures: load + index build, full workload connectivity for one port (TCP 8080, externals
// included), heap, the connectivity of one workload (every port) against the whole cluster's, the
// contain step's preview of one workload, one `allowed` query, the incremental update after one policy change,
// and the contain step's index refreshed after a containment (index-refresh.ts) against a fresh build.
import { designContainment, projectContainment } from '../../src/containment/design.js';
import { containmentPreview } from '../../src/containment/preview.js';
import { ClassConnectivity, allowed, buildIndex, loadObjects, PolicyIndex, type CompileMemo, type LiveObjects } from '../../src/policy/index.js';
import { indexLive } from '../../src/policy/index-refresh.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';
import { mb, summarize } from './stats.js';

const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);
const sizes = (process.env.POLICY_BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const only = { protocol: 'TCP' as const, port: 8080 };

function heap(): number {
  return process.memoryUsage().heapUsed;
}

for (const pods of sizes) {
  const objects = syntheticCluster({ pods, seed: 1, policiesPerPod: Number(process.env.POLICY_BENCH_POLICIES_PER_POD ?? 0.5) });
  const policyCount = objects.filter((o) => (o as { kind: string }).kind === 'NetworkPolicy').length;
  gc();
  const base = heap();
  let peak = base;
  const t0 = performance.now();
  const loaded = loadObjects(objects.map((object) => ({ object })));
  const t1 = performance.now();
  peak = Math.max(peak, heap());
  const index = new PolicyIndex(loaded);
  const t2 = performance.now();
  peak = Math.max(peak, heap());
  const live = new ClassConnectivity(index, { only, externalRanges: 'merged' });
  const connections = live.toConnections();
  const t3 = performance.now();
  peak = Math.max(peak, heap());
  gc();
  const retained = heap() - base;
  // The netpol-analyzer layout (one line per policy-induced address block) for comparison.
  const b0 = performance.now();
  const blocks = new ClassConnectivity(index, { only }).toConnections().length;
  const blocksMs = performance.now() - b0;

  process.stdout.write(
    `\n${pods} pods, ${policyCount} policies, ${index.namespaces.size} namespaces -> ${index.classCount} pod classes, ${index.workloads.length} workloads\n` +
      `  load objects        ${(t1 - t0).toFixed(0)} ms\n` +
      `  build index         ${(t2 - t1).toFixed(0)} ms\n` +
      `  connectivity TCP/8080, merged external ranges (${connections.length} lines) ${(t3 - t2).toFixed(0)} ms\n` +
      `  total               ${(t3 - t0).toFixed(0)} ms; heap: +${mb(peak - base)} max at phase ends (no GC), +${mb(retained)} retained after GC\n` +
      `  (same with one line per policy address block, as netpol-analyzer: ${blocks} lines, ${blocksMs.toFixed(0)} ms)\n`,
  );

  // All connections of one workload (every port, externals merged), as the contain step's blast
  // radius asks: limited to it, against the whole cluster's filtered to it.
  const scopeSamples: number[] = [];
  let scopeLines = 0;
  for (let i = 0; i < 10; i++) {
    const workload = index.workloads[Math.floor((i * index.workloads.length) / 10)]?.id as string;
    const s0 = performance.now();
    scopeLines += new ClassConnectivity(index, { externalRanges: 'merged', touching: [workload] }).toConnections().length;
    scopeSamples.push(performance.now() - s0);
  }
  const w0 = performance.now();
  new ClassConnectivity(index, { externalRanges: 'merged' }).toConnections();
  const wholeMs = performance.now() - w0;
  process.stdout.write(`  ${summarize('connectivity of one workload, every port', scopeSamples)} (${scopeLines / 10} lines on average; the whole cluster's: ${wholeMs.toFixed(0)} ms)\n`);

  // The contain step's preview (predicted proof + blast radius, as the thread task runs it) for one
  // workload's pods: the exclusive strategy's objects, projected on the cluster.
  const liveObjects = {
    namespaces: objects.filter((o) => (o as { kind: string }).kind === 'Namespace'),
    pods: objects.filter((o) => (o as { kind: string }).kind === 'Pod'),
    networkPolicies: objects.filter((o) => (o as { kind: string }).kind === 'NetworkPolicy'),
  };
  const previewSamples: number[] = [];
  const withApp = liveObjects.pods.filter((p) => (p as { metadata: { labels: Record<string, string> } }).metadata.labels.app !== undefined);
  for (let i = 0; i < 3; i++) {
    const pod = withApp[Math.floor((i * withApp.length) / 3)] as { metadata: { namespace: string; labels: Record<string, string> } };
    const { namespace } = pod.metadata;
    const labelSelector = { matchLabels: { app: pod.metadata.labels.app as string } };
    const dns = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };
    const target = { incidentId: `bench-${i}`, namespace, labelSelector, dns: { keep: true, ...dns }, approvers: [] };
    const plan = designContainment({ strategy: 'networkpolicy-exclusive', reason: 'bench', target, anpPriority: 10, live: liveObjects });
    const p0 = performance.now();
    const after = projectContainment(liveObjects, plan, target.incidentId);
    containmentPreview({ before: liveObjects, after, created: plan.create, scopePods: plan.footprint.scopePods.map((name) => ({ namespace, name })), scope: { namespace, labelSelector }, dns });
    previewSamples.push(performance.now() - p0);
  }
  process.stdout.write(`  ${summarize('contain preview of one workload (proof + blast radius, exclusive)', previewSamples)}\n`);

  // One allowed() query on random pod pairs (names resolved each time, as the bot does).
  const podNames = loaded.pods.map((p) => `${p.namespace}/${p.name}`);
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const queries = 20000;
  const pairs = Array.from({ length: queries }, () => [podNames[Math.floor(rnd() * podNames.length)] as string, podNames[Math.floor(rnd() * podNames.length)] as string]);
  let allowedCount = 0;
  for (let i = 0; i < 2000; i++) allowed(index, pairs[i]?.[0] as string, pairs[i]?.[1] as string, 8080); // warm-up
  const q0 = performance.now();
  for (const [s, d] of pairs) if (allowed(index, s as string, d as string, 8080).allowed) allowedCount++;
  const perQueryUs = ((performance.now() - q0) * 1000) / queries;
  process.stdout.write(`  allowed() query     ${perQueryUs.toFixed(2)} µs mean over ${queries} random pod pairs (${allowedCount} allowed)\n`);

  // Incremental: replace one policy (open its ingress to every pod of the cluster), then remove it.
  const samples: number[] = [];
  const policies = [...index.policies.values()].filter((p) => p.policy.name.startsWith('allow-ingress-')).slice(0, 10);
  let changed = 0;
  for (const { policy } of policies) {
    const opened = { ...policy, ingress: policy.ingress.map((r) => ({ ...r, peers: 'all' as const })) };
    const u0 = performance.now();
    const changes = live.applyChange(index.upsertPolicy(opened));
    changed += live.workloadChanges(changes).length;
    samples.push(performance.now() - u0);
    const r0 = performance.now();
    live.applyChange(index.upsertPolicy(policy));
    samples.push(performance.now() - r0);
  }
  process.stdout.write(`  ${summarize('incremental update after one policy change', samples)} (${changed} workload pairs changed)\n`);
  refreshFigure(liveObjects);
}

/**
 * The contain step's urgent tasks, one containment after another: each state has one namespace's
 * scope pods quarantined (relabelled) and its policies read again (a new part), as the watched
 * view gives them. The index refreshed in place against a fresh build of the same state.
 */
function refreshFigure(live: Required<Pick<LiveObjects, 'namespaces' | 'pods' | 'networkPolicies'>>): void {
  type Obj = { metadata: { namespace: string; labels?: Record<string, string> } };
  const memo: CompileMemo = new WeakMap();
  let state = live;
  let built = indexLive(undefined, state, memo);
  const refreshed: number[] = [];
  const fresh: number[] = [];
  const namespaces = [...new Set((live.pods as Obj[]).map((p) => p.metadata.namespace))].slice(0, 10);
  for (const [i, ns] of namespaces.entries()) {
    const quarantined = (p: Obj): Obj => (p.metadata.namespace === ns && p.metadata.labels?.app === 'app-0' ? { ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, quarantine: `bench-${i}` } } } : p);
    state = { ...state, pods: (state.pods as Obj[]).map(quarantined), networkPolicies: (state.networkPolicies as Obj[]).map((p) => (p.metadata.namespace === ns ? { ...p } : p)) };
    const r0 = performance.now();
    built = indexLive(built, state, memo);
    refreshed.push(performance.now() - r0);
    const b0 = performance.now();
    buildIndex(state, memo);
    fresh.push(performance.now() - b0);
  }
  process.stdout.write(`  ${summarize('contain index refreshed after a containment', refreshed)}; ${summarize('built anew', fresh)}\n`);
}
