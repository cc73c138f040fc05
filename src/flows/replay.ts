// Offline replay of captured Hubble output through the same pipeline the collector runs:
// learn from a "normal" capture (or the first part of the stream), then report the anomalies
// that would have been raised and the record counts (read, accepted, skipped per reason).
// The clock is the capture's own: no record is skipped for its time (see followCapture).
import type { Readable } from 'node:stream';
import { printable } from '../printable.js';
import { FlowPipeline, type PipelineOptions } from './pipeline.js';
import { EXPECTED_INPUT, durationText, excerpt, guessInput, learningNote } from './replay-diagnosis.js';
import { readLines } from './sources/jsonl.js';
import { countSkip, type Anomaly, type Flow, type RecordCounts } from './types.js';

export interface ReplayInput {
  name: string;
  /** Opened when its turn comes, so a directory of a thousand files holds one open at a time. */
  open(): Readable;
}

/** Where a skipped record was: the input, its line (from 1) and the line's beginning. */
export interface SkipExample {
  source: string;
  line: number;
  excerpt: string;
}

/** Where the capture's time jumped (concatenated captures, a clock reset): the record that jumped and from when. */
export interface TimeJumps {
  count: number;
  first: { source: string; line: number; from: number; to: number };
}

export interface PartReport {
  sources: string[];
  counts: RecordCounts;
  /** The first record skipped for each reason. */
  firstSkipped: Record<string, SkipExample>;
  /** Jumps in flow time, each the start of a new stretch of capture (null when none). */
  timeJumps: TimeJumps | null;
  /** Earliest and latest time of the accepted flows (null when none was accepted). */
  span: { from: number; to: number } | null;
  /** When no flow was accepted: what the input seems to be instead, if recognised. */
  looksLike?: string;
}

export interface ReplayReport {
  learn: (PartReport & { workloads: number; edges: number }) | null;
  replay: PartReport;
  baseline: { workloads: number; edges: number; evictions: number };
  learningPeriodMs: number;
  /** No learn capture, and the whole capture fits in the learning period: nothing could be raised. */
  learnedWholeCapture: boolean;
  anomalies: Anomaly[];
  suppressedRepeats: number;
}

/** An input failed while being read (its errno code, e.g. EACCES, EISDIR, EIO). */
export class CaptureReadError extends Error {
  constructor(
    readonly source: string,
    readonly code: string,
  ) {
    super(`cannot read ${source}: ${code}`);
  }
}

/** First lines kept to recognise an input that holds no flow. */
const SNIFF_LINES = 5;

/**
 * The replay's clock follows the capture. Live, a flow far ahead of the bot's clock or far behind
 * the latest flow is suspect and skipped (clock_skew_*); in a capture it is the start of another
 * stretch: captures from different days concatenated, or given in any order. Such a flow (more than
 * maxJumpMs ahead of the latest flow time, or more than maxLatenessMs behind it) makes the clock
 * start again from it, as between --learn and the capture: the open buckets are dropped (learned
 * edges and rates are kept) and the watermark is set to it, backwards too. A flow a little late
 * (within maxLatenessMs) is learned at the watermark, as live. True when the flow starts a stretch.
 */
export function followCapture(pipeline: FlowPipeline, time: number): boolean {
  const { watermark } = pipeline;
  if (Number.isNaN(watermark)) return false;
  if (time <= watermark + pipeline.options.maxJumpMs && time >= watermark - pipeline.options.maxLatenessMs) return false;
  pipeline.watermark = Number.NaN;
  pipeline.baseline.closeBuckets();
  return true;
}

/** The first example of an oversized line: its size, then its beginning. */
function oversizedExcerpt(length: number, max: number, head: string): string {
  return `(a line of ${length} characters, longer than ${max}) ${excerpt(head)}`;
}

/**
 * Feeds inputs through the pipeline line by line. These are FlowPipeline.processLine's steps
 * (count, parse, count the skip or process the flow) done here so that each record's skip reason
 * and time are known: they give the first example of each reason and the capture's span.
 */
async function feed(pipeline: FlowPipeline, inputs: readonly ReplayInput[], onAnomalies: (a: Anomaly[]) => void): Promise<PartReport> {
  const counts = pipeline.counts;
  const start = { read: counts.read, accepted: counts.accepted, skipped: { ...counts.skipped } };
  const firstSkipped: Record<string, SkipExample> = {};
  // Mirror of counts.skipped, so that a skip inside the pipeline shows which reason it was.
  const mirror: Record<string, number> = { ...counts.skipped };
  const sniffed: string[] = [];
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  let timeJumps: TimeJumps | null = null;
  const maxLine = pipeline.normalizer.options.maxLineLength;
  for (const input of inputs) {
    let line = 0;
    const skipped = (reason: string, text: string): void => {
      firstSkipped[reason] ??= { source: input.name, line, excerpt: text };
    };
    const onLine = (text: string): void => {
      line += 1;
      if (text.trim().length === 0) return;
      if (sniffed.length < SNIFF_LINES) sniffed.push(text.slice(0, 512));
      counts.read += 1;
      const result = pipeline.normalizer.parseLine(text);
      if (!result.ok) {
        countSkip(counts, result.reason);
        mirror[result.reason] = counts.skipped[result.reason] as number;
        skipped(result.reason, excerpt(text));
        return;
      }
      const before = pipeline.watermark;
      if (followCapture(pipeline, result.flow.time)) {
        if (timeJumps) timeJumps.count += 1;
        else timeJumps = { count: 1, first: { source: input.name, line, from: before, to: result.flow.time } };
      }
      const accepted = counts.accepted;
      onAnomalies(pipeline.processFlow(result.flow));
      if (counts.accepted > accepted) {
        from = Math.min(from, result.flow.time);
        to = Math.max(to, result.flow.time);
        return;
      }
      // followCapture leaves no time the pipeline would skip; should it skip one all the same, the
      // example is kept: the one reason whose count moved.
      const reason = Object.keys(counts.skipped).find((r) => counts.skipped[r] !== mirror[r]);
      if (reason === undefined) return;
      mirror[reason] = counts.skipped[reason] as number;
      skipped(reason, excerpt(text));
    };
    const onOversized = (length: number, head: string): void => {
      line += 1;
      counts.read += 1;
      countSkip(counts, 'oversized_line');
      mirror.oversized_line = counts.skipped.oversized_line as number;
      skipped('oversized_line', oversizedExcerpt(length, maxLine, head));
    };
    try {
      await readLines(input.open(), { onLine, onOversized }, maxLine);
    } catch (error) {
      throw new CaptureReadError(input.name, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
    }
  }
  const partCounts = minus(counts, start);
  const looksLike = partCounts.accepted === 0 ? guessInput(sniffed) : undefined;
  return {
    sources: inputs.map((i) => i.name),
    counts: partCounts,
    firstSkipped,
    timeJumps,
    span: partCounts.accepted > 0 ? { from, to } : null,
    ...(looksLike ? { looksLike } : {}),
  };
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
 * Runs the inputs, read in order as one stream, through a fresh pipeline. With `learn` inputs the
 * baseline is built from them first with alerts discarded, and the learning period is over when
 * the replay starts. Without: the pipeline's learning period applies to the stream itself.
 */
export async function replay(inputs: readonly ReplayInput[], learn: readonly ReplayInput[] = [], options: Partial<PipelineOptions> = {}): Promise<ReplayReport> {
  const pipeline = new FlowPipeline(learn.length > 0 ? { ...options, baseline: { ...options.baseline, learningPeriodMs: 0 } } : options);
  const learningPeriodMs = learn.length > 0 ? 0 : pipeline.baseline.options.learningPeriodMs;
  let learnReport: ReplayReport['learn'] = null;
  if (learn.length > 0) {
    const part = await feed(pipeline, learn, () => undefined);
    learnReport = { ...part, workloads: pipeline.baseline.workloadCount, edges: pipeline.baseline.edgeCount };
    // The capture to judge may come from another day: its times must not count as skewed.
    pipeline.watermark = Number.NaN;
    pipeline.baseline.closeBuckets();
  }
  const anomalies: Anomaly[] = [];
  const suppressedBefore = pipeline.gate.suppressed;
  const part = await feed(pipeline, inputs, (found) => anomalies.push(...found));
  return {
    learn: learnReport,
    replay: part,
    baseline: { workloads: pipeline.baseline.workloadCount, edges: pipeline.baseline.edgeCount, evictions: pipeline.baseline.evictionCount },
    learningPeriodMs,
    learnedWholeCapture: learn.length === 0 && part.span !== null && part.span.to - part.span.from < learningPeriodMs,
    anomalies,
    suppressedRepeats: pipeline.gate.suppressed - suppressedBefore,
  };
}

function sourcesText(sources: readonly string[]): string {
  const names = sources.map((n) => printable(n, 200));
  return names.length <= 3 ? names.join(', ') : `${names.length} files (${names[0]} … ${names[names.length - 1]})`;
}

/** The counts line of a part, then one line per skip reason with its first example. */
function partLines(verb: string, part: PartReport, extra = ''): string[] {
  const { read, accepted, skipped } = part.counts;
  const span = part.span ? `; flows from ${new Date(part.span.from).toISOString()} to ${new Date(part.span.to).toISOString()} (${durationText(part.span.to - part.span.from)})` : '';
  const lines = [`${verb} ${sourcesText(part.sources)}: ${read} read, ${accepted} accepted, ${read - accepted} skipped${extra}${span}`];
  for (const [reason, n] of Object.entries(skipped).sort((a, b) => b[1] - a[1])) {
    const first = part.firstSkipped[reason];
    const where = first ? `, first at ${part.sources.length > 1 ? `${printable(first.source, 200)} ` : ''}line ${first.line}: ${first.excerpt}` : '';
    lines.push(`  skipped ${n} ${reason}${where}`);
  }
  const jumps = part.timeJumps;
  if (jumps) {
    const at = `${part.sources.length > 1 ? `${printable(jumps.first.source, 200)} ` : ''}line ${jumps.first.line}`;
    const first = `${new Date(jumps.first.from).toISOString()} to ${new Date(jumps.first.to).toISOString()}`;
    lines.push(`  flow time jumped ${jumps.count} ${jumps.count === 1 ? 'time' : 'times'} (captures from different times?), first at ${at}: from ${first}; each jump starts a new stretch, all replayed`);
  }
  return lines;
}

/**
 * When a capture held no flow at all (empty, another format): what replay expected, what the
 * input seems to be and its first skipped lines. Null when both captures held flows.
 */
export function inputProblem(report: ReplayReport): string | null {
  for (const [part, label] of [[report.learn, '--learn capture'], [report.replay, 'capture']] as const) {
    if (!part || part.counts.accepted > 0) continue;
    const what = `${label} ${sourcesText(part.sources)}`;
    const head = part.counts.read === 0 ? `nothing to replay: the ${what} holds no line` : `no Hubble flow in the ${what}: ${part.counts.read} lines read, none is a flow record`;
    return [head, EXPECTED_INPUT, ...(part.looksLike ? [part.looksLike] : []), ...partLines('read', part).slice(1), ''].join('\n');
  }
  return null;
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
  if (report.learn) out.push(...partLines('learned from', report.learn, `; ${report.learn.workloads} workloads, ${report.learn.edges} edges`));
  out.push(...partLines('replayed', report.replay));
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
  if (report.anomalies.length === 0 && report.learnedWholeCapture && report.replay.span) {
    out.push('', learningNote(report.replay.span.to - report.replay.span.from, report.learningPeriodMs));
  }
  // Names and titles come from the capture: nothing in them may drive the terminal.
  return `${out.map((line) => printable(line)).join('\n')}\n`;
}
