// Issue #4 benchmarks, on a realistic mix (10,000 workloads, ~1M distinct baseline edges):
//  - flows/s per core through parse → normalize → baseline update → detect, for Hubble JSON lines
//    (with JSON.parse alone on the same lines as the ceiling) and for protobuf GetFlowsResponse
//    messages (decoded with the same proto-loader deserializer grpc-js uses), plus end to end over
//    real gRPC on loopback (relay stand-in in a worker thread, rate per core of the collector thread);
//  - heap bytes per baseline edge and total heap at ~1M edges;
//  - the field mask: bytes per flow on the wire and decode + normalize time, whole flows against
//    flows carrying only the fields the collector reads (COLLECTOR_FIELD_MASK);
//  - sharded collectors: flows/s through 1, 2 and 3 collector processes (sharding by namespace,
//    one redis-server), the relay stand-in in a worker thread of this process.
// (Alert latency, flow in → Slack alert posted, is measured end to end by alert.bench.ts.)
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { FlowCollector } from '../../src/flows/collector.js';
import { FlowPipeline } from '../../src/flows/pipeline.js';
import { loadObserver, toTimestamp } from '../../src/flows/proto/load.js';
import type { HubbleRecord } from '../../src/sim/hubble/shop-traffic.js';
import { COLLECTOR_FIELD_MASK } from '../../src/flows/sources/hubble-grpc.js';
import { applyFieldMask, fieldMaskTree } from '../../src/sim/hubble/field-mask.js';
import { FlowNormalizer } from '../../src/flows/normalize.js';
import { startThrowawayRedis } from '../../src/redis/throwaway.js';
import { mb } from './stats.js';
import { syntheticRecord } from './synthetic-flows.js';

const WORKLOADS = Number(process.env.BENCH_WORKLOADS ?? 10_000);
const DEFS_PER_WORKLOAD = Number(process.env.BENCH_EDGE_DEFS ?? 55);
const STEADY_FLOWS = Number(process.env.BENCH_FLOWS ?? 400_000);
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
};

const record = (w: number, d: number, time: number): HubbleRecord => syntheticRecord(w, d, time, WORKLOADS);

/** Deterministic steady-state traffic over the known edges, 1 ms of flow time apart. */
function* steady(count: number, start: number): Generator<HubbleRecord> {
  let x = 12345;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    yield record(x % WORKLOADS, (x >>> 16) % DEFS_PER_WORKLOAD, start + i);
  }
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString('en-US')} flows/s`;
}

function learnAllEdges(pipeline: FlowPipeline): number {
  let t = T0;
  for (let d = 0; d < DEFS_PER_WORKLOAD; d++) for (let w = 0; w < WORKLOADS; w++) pipeline.processRecord(record(w, d, (t += 1)));
  return t;
}

async function memoryAndThroughput(): Promise<void> {
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const pipeline = new FlowPipeline({ baseline: { learningPeriodMs: 0 } });
  const started = performance.now();
  let t = learnAllEdges(pipeline);
  const learnMs = performance.now() - started;
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const edges = pipeline.baseline.edgeCount;
  console.log(`baseline: ${pipeline.baseline.workloadCount.toLocaleString('en-US')} workloads, ${edges.toLocaleString('en-US')} edges (learned from ${(WORKLOADS * DEFS_PER_WORKLOAD).toLocaleString('en-US')} flows in ${(learnMs / 1000).toFixed(1)} s)`);
  console.log(`heap: ${Math.round((heapAfter - heapBefore) / edges)} bytes per edge; total heap ${mb(heapAfter)} (baseline ${mb(heapAfter - heapBefore)}), rss ${mb(process.memoryUsage().rss)}`);

  // JSON lines: parse → normalize → baseline → detect, in batches (line generation is not timed).
  const BATCH = 50_000;
  let jsonMs = 0;
  let parseMs = 0;
  let processed = 0;
  let anomalies = 0;
  const { definition } = loadObserver();
  const method = (definition['observer.Observer'] as Record<string, { responseSerialize: (v: unknown) => Buffer; responseDeserialize: (b: Buffer) => unknown }>).GetFlows!;
  let protoMs = 0;
  for (let offset = 0; offset < STEADY_FLOWS; offset += BATCH) {
    const records = [...steady(Math.min(BATCH, STEADY_FLOWS - offset), t + 1)];
    t += records.length;
    const lines = records.map((r) => JSON.stringify(r));
    let s = performance.now();
    for (const line of lines) JSON.parse(line);
    parseMs += performance.now() - s;
    s = performance.now();
    for (const line of lines) anomalies += pipeline.processLine(line).length;
    jsonMs += performance.now() - s;
    processed += lines.length;
  }
  console.log(`JSON.parse alone on the same lines (ceiling): ${rate(processed, parseMs)}`);
  console.log(`Hubble JSON lines → parse → normalize → baseline → detect: ${rate(processed, jsonMs)} (1 core; ${anomalies} anomalies; avg line ${Math.round(JSON.stringify(record(1, 1, T0)).length)} bytes)`);

  // Protobuf: the bytes a relay sends, decoded by the same deserializer grpc-js uses, then the pipeline.
  let protoCount = 0;
  for (let offset = 0; offset < STEADY_FLOWS; offset += BATCH) {
    const records = [...steady(Math.min(BATCH, STEADY_FLOWS - offset), t + 1)];
    t += records.length;
    const buffers = records.map((r) => {
      const flow = { ...r.flow, time: toTimestamp(Date.parse(r.time)), is_reply: { value: false } };
      return method.responseSerialize({ flow, node_name: r.node_name, time: toTimestamp(Date.parse(r.time)) });
    });
    const s = performance.now();
    for (const buffer of buffers) pipeline.processRecord(method.responseDeserialize(buffer));
    protoMs += performance.now() - s;
    protoCount += buffers.length;
  }
  console.log(`protobuf GetFlowsResponse → decode → normalize → baseline → detect: ${rate(protoCount, protoMs)} (1 core; avg message ${method.responseSerialize({ flow: { ...record(1, 1, T0).flow, time: toTimestamp(T0), is_reply: { value: false } } }).length} bytes)`);
  console.log(`skipped: ${JSON.stringify(pipeline.counts.skipped)}`);
}

/** Real gRPC on loopback: the relay stand-in runs in a worker thread; the collector's thread CPU time is measured. */
async function grpcEndToEnd(): Promise<void> {
  const N = Number(process.env.BENCH_GRPC_FLOWS ?? 200_000);
  const worker = new Worker(
    `const { register } = await import('tsx/esm/api');
     register();
     const { FakeHubbleRelay } = await import(${JSON.stringify(new URL('../../src/sim/hubble/relay-server.ts', import.meta.url).href)});
     const { parentPort, workerData } = await import('node:worker_threads');
     const relay = new FakeHubbleRelay({ capacity: workerData.n + 10 });
     await relay.start();
     parentPort.postMessage({ port: relay.port });
     parentPort.on('message', (m) => { if (m.records) relay.publish(m.records); if (m.stop) relay.stop().then(() => process.exit(0)); });`,
    { eval: true, workerData: { n: N } },
  );
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (m: { port: number }) => resolve(m.port));
    worker.once('error', reject);
  });
  const pipeline = new FlowPipeline({ baseline: { learningPeriodMs: 0 } });
  const collector = new FlowCollector({ source: { kind: 'hubble-relay', address: `127.0.0.1:${port}`, since: 0 }, onAnomaly: () => undefined, pipeline: pipeline.options, now: () => T0 + 10 * 3_600_000 });
  for (let offset = 0; offset < N; offset += 20_000) worker.postMessage({ records: [...steady(Math.min(20_000, N - offset), T0 + offset)] });
  await new Promise((r) => setTimeout(r, 500));
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const wall0 = performance.now();
  await collector.start();
  while (collector.pipeline.counts.read < N) await new Promise((r) => setTimeout(r, 5));
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const wallMs = performance.now() - wall0;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  // The collector's thread is the main thread: its busy time (event-loop utilization) is the per-core cost.
  console.log(
    `gRPC end to end (relay in a worker thread, HTTP/2 on 127.0.0.1): ${rate(N, wallMs)} wall; ${rate(N, elu.active)} per core of the collector thread ` +
      `(HTTP/2 + decode + pipeline; ${(elu.utilization * 100).toFixed(0)}% busy); whole process incl. relay ${rate(N, cpuMs)} per core`,
  );
  await collector.stop();
  worker.postMessage({ stop: true });
  await new Promise((r) => worker.once('exit', r));
}

/** Whole flows against masked ones: bytes per GetFlowsResponse, and decode + normalize per flow. */
function fieldMaskSaving(): void {
  const { definition } = loadObserver();
  const method = (definition['observer.Observer'] as Record<string, { responseSerialize: (v: unknown) => Buffer; responseDeserialize: (b: Buffer) => unknown }>).GetFlows!;
  const tree = fieldMaskTree(COLLECTOR_FIELD_MASK);
  const N = 50_000;
  const wire = [...steady(N, T0)].map((r) => ({ flow: { ...r.flow, time: toTimestamp(Date.parse(r.time)), is_reply: { value: false } }, node_name: r.node_name, time: toTimestamp(Date.parse(r.time)) }));
  const full = wire.map((w) => method.responseSerialize(w));
  const masked = wire.map((w) => method.responseSerialize({ ...w, flow: applyFieldMask(w.flow, tree) }));
  const bytes = (list: Buffer[]): number => list.reduce((n, b) => n + b.length, 0) / list.length;
  const time = (list: Buffer[]): number => {
    const normalizer = new FlowNormalizer();
    let ok = 0;
    const s = performance.now();
    for (const b of list) if (normalizer.normalizeRecord(method.responseDeserialize(b)).ok) ok += 1;
    const ms = performance.now() - s;
    if (ok !== list.length) throw new Error(`only ${ok} of ${list.length} flows normalized`);
    return (ms * 1000) / list.length;
  };
  // Alternating rounds, best of each: the machine's other load and GC hit both alike.
  let fullUs = Number.POSITIVE_INFINITY;
  let maskedUs = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    gc();
    fullUs = Math.min(fullUs, time(full));
    gc();
    maskedUs = Math.min(maskedUs, time(masked));
  }
  const [fullB, maskedB] = [bytes(full), bytes(masked)];
  const change = (a: number, b: number): string => `${b <= a ? '−' : '+'}${Math.abs(Math.round((1 - b / a) * 100))}%`;
  console.log(
    `field mask (${COLLECTOR_FIELD_MASK.length} paths): ${Math.round(fullB)} → ${Math.round(maskedB)} bytes per flow on the wire (${change(fullB, maskedB)}); ` +
      `decode + normalize ${fullUs.toFixed(2)} → ${maskedUs.toFixed(2)} µs per flow (${change(fullUs, maskedUs)}; best of 5 alternating rounds of ${N.toLocaleString('en-US')})`,
  );
}

interface ShardReport {
  owned: number;
  members: number;
  counts: { read: number; accepted: number };
}

/** Flows/s through K sharded collector processes (K = 1, 2, 3) fed by the relay stand-in in a worker thread. */
async function shardedCollectors(): Promise<void> {
  const N = Number(process.env.BENCH_SHARD_FLOWS ?? 150_000);
  const redis = await startThrowawayRedis();
  const progress = (what: string): void => void (process.env.BENCH_VERBOSE && console.error(`[shards] ${what}`));
  const spawned: ReturnType<typeof fork>[] = [];
  try {
    for (const k of (process.env.BENCH_SHARD_PROCESSES ?? '1,2,3').split(',').map(Number)) {
      const worker = new Worker(
        `const { register } = await import('tsx/esm/api');
         register();
         const { FakeHubbleRelay } = await import(${JSON.stringify(new URL('../../src/sim/hubble/relay-server.ts', import.meta.url).href)});
         const { parentPort, workerData } = await import('node:worker_threads');
         const relay = new FakeHubbleRelay({ capacity: workerData.n + 1000 });
         await relay.start();
         parentPort.postMessage({ port: relay.port });
         parentPort.on('message', (m) => { if (m.records) { relay.publish(m.records); parentPort.postMessage({ published: m.records.length }); } if (m.stop) relay.stop().then(() => process.exit(0)); });`,
        { eval: true, workerData: { n: N } },
      );
      const port = await new Promise<number>((resolve, reject) => {
        worker.once('message', (m: { port: number }) => resolve(m.port));
        worker.once('error', reject);
      });
      // One old flow per namespace, so GetNamespaces lists them all before the measured flows.
      progress(`relay on ${port}`);
      const namespaces = Math.min(500, WORKLOADS);
      worker.postMessage({ records: Array.from({ length: namespaces }, (_, w) => record(w, 0, T0 - 3_600_000 + w)) });
      const prefix = `bench-shards-${k}-${Date.now()}`;
      const reports: ShardReport[] = [];
      const children = Array.from({ length: k }, (_, i) => {
        const child = fork(new URL('./shard-collector-process.ts', import.meta.url).pathname, [`127.0.0.1:${port}`, redis.url, prefix, 'on', String(T0)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        child.on('message', (m: ShardReport) => (reports[i] = m));
        spawned.push(child);
        return child;
      });
      const settled = (): boolean => reports.length === k && reports.every((r) => r && r.members === k) && reports.reduce((n, r) => n + r.owned, 0) === namespaces;
      const deadline = Date.now() + 120_000;
      let shown = 0;
      while (!settled()) {
        if (Date.now() - shown > 5_000) {
          shown = Date.now();
          progress(JSON.stringify(reports.map((r) => r && { owned: r.owned, members: r.members })));
        }
        if (Date.now() > deadline) throw new Error(`collectors did not settle: ${JSON.stringify(reports.map((r) => r && { owned: r.owned, members: r.members }))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 1_000)); // the last stream switches
      const base = reports.reduce((n, r) => n + r.counts.accepted, 0);
      const started = performance.now();
      for (let offset = 0; offset < N; offset += 10_000) worker.postMessage({ records: [...steady(Math.min(10_000, N - offset), T0 + offset)] });
      let told = performance.now();
      while (reports.reduce((n, r) => n + r.counts.accepted, 0) - base < N) {
        if (performance.now() - told > 5_000) {
          told = performance.now();
          progress(JSON.stringify(reports.map((r) => r?.counts)));
        }
        if (performance.now() - started > 300_000) throw new Error(`only ${reports.reduce((n, r) => n + r.counts.accepted, 0) - base} of ${N} flows accepted`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const ms = performance.now() - started;
      const read = reports.reduce((n, r) => n + r.counts.read, 0);
      console.log(`sharded collectors: ${k} process${k > 1 ? 'es' : ''}: ${rate(N, ms)} (${N.toLocaleString('en-US')} flows over ${namespaces} namespaces; ${(read / (base + N)).toFixed(2)} records read per flow accepted: cross-namespace flows reach both owners)`);
      for (const child of children) child.send({ stop: true });
      await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
      worker.postMessage({ stop: true });
      await new Promise((r) => worker.once('exit', r));
    }
  } finally {
    // A failed run must not leave collector processes behind.
    for (const child of spawned) if (child.exitCode === null) child.kill('SIGKILL');
    await redis.stop();
  }
}

async function main(): Promise<void> {
  console.log(`flows benchmark: ${WORKLOADS.toLocaleString('en-US')} workloads × ${DEFS_PER_WORKLOAD} peers each; node ${process.version}`);
  const only = process.env.BENCH_FLOWS_ONLY;
  if (!only || only === 'baseline') {
    await memoryAndThroughput();
    gc();
    await grpcEndToEnd();
  }
  if (!only || only === 'mask') fieldMaskSaving();
  if (!only || only === 'shards') await shardedCollectors();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
