// Benchmark: audit events/s per core through the pre-filter and the parser, on a generated
// kube-apiserver audit log in which 1 % of the events are NetworkPolicy writes (RequestResponse,
// with bodies), 2 % are Namespace reads (which pass the pre-filter and are parsed in full), and the
// rest are the real events of the Falco k8saudit fixtures on other kinds (pods, configmaps, secrets,
// RBAC…, 0.7-10 KB each), every one with its own auditID and time.
// Figures: parser alone on lines in memory, JSON.parse of every line (what parsing all would cost),
// reading the file line by line + parsing, and the follower end to end into Redis.
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { AuditFileSource } from '../../src/audit/file-source.js';
import { readAuditFile } from '../../src/audit/files.js';
import { mayConcernWatched, parseAuditLine } from '../../src/audit/parse.js';
import { AuditStore } from '../../src/audit/store.js';
import { silentLogger } from '../../src/log.js';
import { resolveRedis } from '../../src/redis/throwaway.js';
import { auditLine, falcoLines } from '../helpers/audit-events.js';
import { mb } from './stats.js';

const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 200_000);
const NP_SHARE = 0.01;
const TARGET = 50_000;

function generate(count: number): string[] {
  // Background: the fixtures' events on other kinds (their few Namespace writes would be kept).
  const background = falcoLines()
    .map((l) => l.line)
    .filter((l) => l.includes('"auditID"') && !mayConcernWatched(l));
  const t0 = Date.now() - 3_600_000;
  const lines: string[] = [];
  let x = 12345;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const time = new Date(t0 + i * 10).toISOString().replace('Z', '123Z');
    if (i % Math.round(1 / NP_SHARE) === 0) {
      const body = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `p-${i}`, namespace: `ns-${x % 50}` }, spec: { podSelector: { matchLabels: { app: `a${x % 97}` } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } } }], ports: [{ port: 5432, protocol: 'TCP' }] }], policyTypes: ['Ingress'] } };
      lines.push(auditLine({ time, namespace: `ns-${x % 50}`, name: `p-${i}`, verb: ['patch', 'update', 'create', 'delete'][x % 4], requestObject: body, responseObject: body }));
    } else if (i % 50 === 1) {
      // Reads of Namespaces (controllers): they pass the pre-filter and cost a full parse, then are dropped.
      lines.push(auditLine({ time, resource: 'namespaces', name: `ns-${x % 50}`, verb: x % 2 ? 'get' : 'list', level: 'Metadata', userAgent: 'kube-controller-manager/v1.30.1 (linux/amd64) kubernetes/7c48c2b' }));
    } else {
      // The fixture's own auditID and times replaced, its size and shape kept.
      const base = background[x % background.length] as string;
      lines.push(base.replace(/"auditID":\s*"[^"]*"/, `"auditID":"${randomUUID()}"`).replace(/"stageTimestamp":\s*"[^"]*"/, `"stageTimestamp":"${time}"`));
    }
  }
  return lines;
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString('en-US')} events/s`;
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

async function main(): Promise<void> {
  const lines = generate(EVENTS);
  const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  const watched = lines.filter((l) => l.includes('networkpolicies"')).length;
  const prefiltered = lines.filter((l) => mayConcernWatched(l)).length;
  process.stdout.write(
    `generated ${EVENTS.toLocaleString('en-US')} events, ${mb(bytes)} (avg ${Math.round(bytes / EVENTS)} B/event), ${watched} NetworkPolicy writes (${((watched / EVENTS) * 100).toFixed(1)} %); ${prefiltered} pass the pre-filter\n`,
  );

  // Warm up the JIT on a slice, then measure each stage on the whole set.
  for (const l of lines.slice(0, 20_000)) parseAuditLine(l);

  let kept = 0;
  let started = performance.now();
  let cpu = process.cpuUsage();
  for (const l of lines) if (parseAuditLine(l).change) kept += 1;
  const parseMs = performance.now() - started;
  const parseCpu = cpuMs(cpu);
  process.stdout.write(`pre-filter + parser, lines in memory: ${rate(EVENTS, parseMs)} wall, ${rate(EVENTS, parseCpu)} per core (CPU time); ${kept} changes kept\n`);

  started = performance.now();
  let parsed = 0;
  for (const l of lines) {
    try {
      JSON.parse(l);
      parsed += 1;
    } catch {
      /* counted below */
    }
  }
  const jsonMs = performance.now() - started;
  process.stdout.write(`for comparison, JSON.parse of every line: ${rate(parsed, jsonMs)} (${(jsonMs / parseMs).toFixed(1)}× the pre-filtered parser's time)\n`);

  const dir = mkdtempSync(join(tmpdir(), 'npr-audit-bench-'));
  const redis = await resolveRedis();
  try {
    const path = join(dir, 'audit.log');
    const out = createWriteStream(path);
    for (const l of lines) if (!out.write(`${l}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
    await new Promise<void>((r) => out.end(() => r()));
    const size = statSync(path).size;

    let fileKept = 0;
    started = performance.now();
    cpu = process.cpuUsage();
    await readAuditFile(path, { onLine: (l) => void (parseAuditLine(l).change && (fileKept += 1)) });
    const fileMs = performance.now() - started;
    process.stdout.write(`file read line by line + parse: ${rate(EVENTS, fileMs)} wall, ${rate(EVENTS, cpuMs(cpu))} per core, ${mb((size / fileMs) * 1000)}/s; ${fileKept} changes\n`);

    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const store = new AuditStore(client, `bench-${process.pid}`, { maxAgeMs: 86_400_000, maxEntries: 1_000_000 });
    const source = new AuditFileSource({ path, store, history: false, maxAgeMs: 86_400_000, pollMs: 1000, maxLineBytes: 4 * 1024 * 1024, logger: silentLogger });
    started = performance.now();
    cpu = process.cpuUsage();
    await source.start();
    await source.drain();
    const followMs = performance.now() - started;
    const stored = await store.size();
    await source.stop();
    await client.quit();
    process.stdout.write(`follower end to end (file → pre-filter → parser → Redis): ${rate(EVENTS, followMs)} wall, ${rate(EVENTS, cpuMs(cpu))} per core of this process; ${stored} changes stored\n`);

    const perCore = (EVENTS / parseCpu) * 1000;
    process.stdout.write(`target ≥ ${TARGET.toLocaleString('en-US')} events/s per core through pre-filter and parser: ${perCore >= TARGET ? 'met' : 'NOT MET'}\n`);
    if (perCore < TARGET || kept !== watched || fileKept !== watched || stored !== watched) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await redis.stop();
  }
}

await main();
