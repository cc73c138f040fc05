// Hardening audit benchmark (`npm run bench -- harden`): the audit report of a synthetic cluster
// of 10k pods (~4.8k policies; HARDEN_BENCH_PODS changes it), from the parsed API objects through
// loading, the index, the checks and all three renderings (file reading and YAML parsing excluded), plus
// the scheduled audit's matching of learned flows. Target: p99 of both together <= 2 s; the exit code is 1 when missed.
import { auditReport } from '../../src/audit-report/checks.js';
import { matchFlows, type FlowEdge } from '../../src/audit-report/matched.js';
import { renderJson, renderMarkdown, renderSarif } from '../../src/audit-report/render.js';
import { loadObjects, PolicyIndex } from '../../src/policy/index.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';
import { percentile, summarize } from './stats.js';

const TARGET_MS = 2000;
const RUNS = 7;
const pods = Number(process.env.HARDEN_BENCH_PODS ?? 10_000);

const objects = syntheticCluster({ pods, seed: 1 });
const loaded = loadObjects(objects.map((object) => ({ object })));
const policyCount = loaded.policies.length;

// A flow-match table for half the policies, so the unused-policy check runs as with the collector.
const now = new Date('2026-12-01T00:00:00Z');
const lastMatch = new Map(loaded.policies.filter((_, i) => i % 2 === 0).map((p) => [`${p.namespace}/${p.name}`, new Date(now.getTime() - (p.name.length % 60) * 86_400_000)]));

// The scheduled audit also matches the collector's learned flows against the policies (matched.ts):
// ~4 edges per workload, each learned on both sides, to its namespace's and kube-dns's workloads.
const workloads = [...new Set(loaded.pods.map((p) => `${p.workload.namespace}/${p.workload.name}\u0000${p.workload.kind}`))].map((w) => w.split('\u0000') as [string, string]);
const edges: FlowEdge[] = [];
workloads.forEach(([w, kind], i) => {
  const peers = [workloads[(i + 1) % workloads.length], workloads[(i + 7) % workloads.length], workloads[(i + 13) % workloads.length]];
  for (const [p, pKind] of peers as Array<[string, string]>) {
    const e = { src: w, dst: p, protocol: 'TCP', port: 8080, lastSeen: now.getTime() - (i % 40) * 86_400_000 };
    edges.push({ ...e, srcKind: kind }, { ...e, dstKind: pKind });
  }
  edges.push({ src: w, dst: 'kube-system/coredns-5d78', protocol: 'UDP', port: 53, lastSeen: now.getTime(), srcKind: kind });
});
const matchSamples: number[] = [];
let matchedPolicies = 0;
for (let i = 0; i < RUNS + 1; i++) {
  const index = new PolicyIndex(loadObjects(objects.map((object) => ({ object }))));
  const t0 = performance.now();
  const m = matchFlows(index, edges);
  const ms = performance.now() - t0;
  if (i === 0) continue;
  matchSamples.push(ms);
  matchedPolicies = m.lastMatch.size;
}

const samples: number[] = [];
let findings = 0;
let bytes = 0;
for (let i = 0; i < RUNS + 1; i++) {
  const t0 = performance.now();
  const report = auditReport(loadObjects(objects.map((object) => ({ object }))), { matched: { lastMatch, now } });
  const output = renderMarkdown(report).length + renderJson(report).length + renderSarif(report, 'bench', 'cluster.yaml').length;
  const ms = performance.now() - t0;
  if (i === 0) continue; // warm-up (JIT)
  samples.push(ms);
  findings = report.findings.length;
  bytes = output;
}

const p99 = percentile([...samples].sort((a, b) => a - b), 99) + percentile([...matchSamples].sort((a, b) => a - b), 99);
process.stdout.write(
  `\n${pods} pods, ${policyCount} policies: ${findings} findings, ${(bytes / 1024 / 1024).toFixed(1)} MB of Markdown + JSON + SARIF\n` +
    `  ${summarize('audit report (load + index + checks + 3 renderings)', samples)}\n` +
    `  ${summarize(`flow matching (${edges.length} learned edges -> ${matchedPolicies} policies matched)`, matchSamples)}\n` +
    `  target p99 (report + flow matching) <= ${TARGET_MS} ms: ${p99 <= TARGET_MS ? 'met' : 'MISSED'} (${p99.toFixed(0)} ms)\n`,
);
process.exitCode = p99 <= TARGET_MS ? 0 : 1;
