// Offline replay of captured Hubble output through the same pipeline the collector runs:
// learn from a "normal" capture (or the first part of the stream), then report the anomalies
// that would have been raised and the record counts (read, accepted, skipped per reason).
import type { Readable } from 'node:stream';
import { FlowPipeline, type PipelineOptions } from './pipeline.js';
import { readLines } from './sources/jsonl.js';
import { countSkip, type Anomaly, type Flow, type RecordCounts } from './types.js';

export interface ReplayInput {
  name: string;
  stream: Readable;
}

export interface ReplayReport {
  learn: { source: string; counts: RecordCounts; workloads: number; edges: number } | null;
  replay: { source: string; counts: RecordCounts };
  baseline: { workloads: number; edges: number; evictions: number };
  anomalies: Anomaly[];
  suppressedRepeats: number;
}

async function feed(pipeline: FlowPipeline, input: ReplayInput, maxLineLength: number, onAnomalies: (a: Anomaly[]) => void): Promise<void> {
  await readLines(
    input.stream,
    {
      onLine: (line) => onAnomalies(pipeline.processLine(line)),
      onOversized: () => {
        pipeline.counts.read += 1;
        countSkip(pipeline.counts, 'oversized_line');
      },
    },
    maxLineLength,
  );
}

function snapshotCounts(counts: RecordCounts): RecordCounts {
  return { read: counts.read, accepted: counts.accepted, skipped: { ...counts.skipped } };
}

function minus(after: RecordCounts, before: RecordCounts): RecordCounts {
  const skipped: Record<string, number> = {};
  for (const [reason, n] of Object.entries(after.skipped)) {
    const d = n - (before.skipped[reason] ?? 0);
    if (d > 0) skipped[reason] = d;
  }
  return { read: after.read - before.read, accepted: after.accepted - before.accepted, skipped };
}

/**
 * With `learn`: the baseline is built from it with alerts discarded, and the learning period is
 * over when the replay starts. Without: the pipeline's learning period applies to the stream itself.
 */
export async function replay(input: ReplayInput, learn: ReplayInput | null, options: Partial<PipelineOptions> = {}): Promise<ReplayReport> {
  const pipeline = new FlowPipeline(learn ? { ...options, baseline: { ...options.baseline, learningPeriodMs: 0 } } : options);
  const maxLine = pipeline.normalizer.options.maxLineLength;
  let learnReport: ReplayReport['learn'] = null;
  if (learn) {
    await feed(pipeline, learn, maxLine, () => undefined);
    learnReport = { source: learn.name, counts: snapshotCounts(pipeline.counts), workloads: pipeline.baseline.workloadCount, edges: pipeline.baseline.edgeCount };
    // The capture to judge may come from another day: its times must not count as skewed.
    pipeline.watermark = Number.NaN;
    pipeline.baseline.closeBuckets();
  }
  const before = snapshotCounts(pipeline.counts);
  const anomalies: Anomaly[] = [];
  const suppressedBefore = pipeline.gate.suppressed;
  await feed(pipeline, input, maxLine, (found) => anomalies.push(...found));
  return {
    learn: learnReport,
    replay: { source: input.name, counts: minus(pipeline.counts, before) },
    baseline: { workloads: pipeline.baseline.workloadCount, edges: pipeline.baseline.edgeCount, evictions: pipeline.baseline.evictionCount },
    anomalies,
    suppressedRepeats: pipeline.gate.suppressed - suppressedBefore,
  };
}

function countsText(counts: RecordCounts): string {
  const skipped = Object.entries(counts.skipped)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason} ${n}`);
  const total = counts.read - counts.accepted;
  return `${counts.read} read, ${counts.accepted} accepted, ${total} skipped${skipped.length ? ` (${skipped.join(', ')})` : ''}`;
}

function endpointText(e: Flow['source']): string {
  const name = e.namespace ? `${e.namespace}/${e.pod || e.workload}` : e.reserved[0] ? `${e.reserved[0]}` : '?';
  return `${name}${e.ip ? ` ${e.ip}` : ''}${e.port ? `:${e.port}` : ''}`;
}

export function flowText(flow: Flow): string {
  const drop = flow.dropReason ? ` ${flow.dropReason}` : '';
  const l7 = flow.l7 ? ` [${flow.l7.summary}]` : '';
  return `${new Date(flow.time).toISOString()} ${endpointText(flow.source)} -> ${endpointText(flow.destination)} ${flow.protocol} ${flow.verdict}${drop}${l7}`;
}

export function formatReplayText(report: ReplayReport): string {
  const out: string[] = [];
  if (report.learn) {
    out.push(`learned from ${report.learn.source}: ${countsText(report.learn.counts)}; ${report.learn.workloads} workloads, ${report.learn.edges} edges`);
  }
  out.push(`replayed ${report.replay.source}: ${countsText(report.replay.counts)}`);
  out.push(`baseline: ${report.baseline.workloads} workloads, ${report.baseline.edges} edges${report.baseline.evictions ? `, ${report.baseline.evictions} evicted` : ''}`);
  out.push(`anomalies: ${report.anomalies.length}${report.suppressedRepeats ? ` (${report.suppressedRepeats} repeats folded into them by cooldown)` : ''}`);
  for (const a of report.anomalies) {
    const scope = a.scope.podSelector ? `namespace ${a.scope.namespace}, pods ${Object.entries(a.scope.podSelector).map(([k, v]) => `${k}=${v}`).join(',')}` : `namespace ${a.scope.namespace}`;
    out.push('');
    out.push(`[${a.severity}] ${a.kind} ${a.workload.namespace}/${a.workload.name} at ${new Date(a.firstSeen).toISOString()}`);
    out.push(`  ${a.title}`);
    out.push(`  baseline: ${a.baseline.description} (expected ${a.baseline.expected}, observed ${a.baseline.observed} ${a.baseline.unit})`);
    out.push(`  contain: ${scope}`);
    for (const f of a.evidence) out.push(`  evidence: ${flowText(f)}`);
  }
  return `${out.join('\n')}\n`;
}
