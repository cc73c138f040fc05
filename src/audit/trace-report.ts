// What `netpol-responder trace` reports, pure: the audit log lines of one or more sources in, the
// changes to the policy kinds and Namespaces out (once per auditID, in time order), refused
// attempts apart, and what was skipped per reason with the first example of each damaged line.
import { printable } from '../printable.js';
import { MALFORMED_REASONS, parseAuditLine, type AuditParseOptions, type AuditSkipReason } from './parse.js';
import { effectiveActor, kindOfResource, namespaceOfChange, type AuditChange } from './types.js';

export interface TraceFilter {
  /** ISO times, inclusive. */
  since?: string;
  until?: string;
  /** Changes in this namespace, to its Namespace object, and to cluster-scoped policies. */
  namespace?: string;
}

/** Where the first line skipped for a reason was: the source, its line (from 1), its beginning. */
export interface SkipExample {
  source: string;
  line: number;
  excerpt: string;
}

/** How a change relates to the policy repository (from src/git classifyChange), when --repo is given. */
export type { GitVerdict } from '../git/index.js';
import type { GitVerdict } from '../git/index.js';
import { plural } from '../words.js';

export interface TraceChange extends AuditChange {
  git?: GitVerdict;
}

export interface TraceReport {
  sources: string[];
  filter: TraceFilter;
  changes: TraceChange[];
  refused: TraceChange[];
  counts: {
    lines: number;
    /** Changes found (before the filter), each auditID once. */
    found: number;
    /** The same auditID seen again (another stage's copy, or a file read twice). */
    duplicates: number;
    /** Outside --since/--until or --namespace. */
    filteredOut: number;
    skipped: Partial<Record<AuditSkipReason, number>>;
  };
  /** The first line of each damaged kind (invalid JSON, not an event, unknown version…). */
  firstSkipped: Partial<Record<AuditSkipReason, SkipExample>>;
}

const EXCERPT = 120;

/** Collects the report line by line, source by source. */
export class TraceCollector {
  private readonly byId = new Map<string, AuditChange>();
  private readonly sources: string[] = [];
  private readonly counts: TraceReport['counts'] = { lines: 0, found: 0, duplicates: 0, filteredOut: 0, skipped: {} };
  private readonly firstSkipped: TraceReport['firstSkipped'] = {};
  private source = '';
  private line = 0;

  constructor(private readonly options: AuditParseOptions = {}) {}

  beginSource(name: string): void {
    this.sources.push(name);
    this.source = name;
    this.line = 0;
  }

  onLine(text: string): void {
    this.line += 1;
    this.counts.lines += 1;
    const parsed = parseAuditLine(text, this.options);
    if (parsed.skip) {
      if (parsed.skip !== 'blank') this.skip(parsed.skip, printable(text.trim(), EXCERPT));
      return;
    }
    if (this.byId.has(parsed.change.auditID)) this.counts.duplicates += 1;
    else this.byId.set(parsed.change.auditID, parsed.change);
  }

  /** A line longer than the limit (its length). */
  onOversized(length: number): void {
    this.line += 1;
    this.counts.lines += 1;
    this.skip('oversized_line', `(a line of ${length} characters)`);
  }

  private skip(reason: AuditSkipReason, excerpt: string): void {
    this.counts.skipped[reason] = (this.counts.skipped[reason] ?? 0) + 1;
    if (MALFORMED_REASONS.has(reason)) this.firstSkipped[reason] ??= { source: this.source, line: this.line, excerpt };
  }

  /** Every change found, oldest first (for the Git classification before the report). */
  all(): AuditChange[] {
    return [...this.byId.values()].sort(byTime);
  }

  report(filter: TraceFilter, git?: ReadonlyMap<string, GitVerdict>): TraceReport {
    const all = this.all();
    const kept = all.filter((c) => matches(c, filter));
    const withGit = (c: AuditChange): TraceChange => {
      const verdict = git?.get(c.auditID);
      return verdict ? { ...c, git: verdict } : c;
    };
    return {
      sources: [...this.sources],
      filter,
      changes: kept.filter((c) => !c.refused).map(withGit),
      refused: kept.filter((c) => c.refused).map(withGit),
      counts: { ...this.counts, found: all.length, filteredOut: all.length - kept.length, skipped: { ...this.counts.skipped } },
      firstSkipped: { ...this.firstSkipped },
    };
  }
}

function byTime(a: AuditChange, b: AuditChange): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : a.auditID < b.auditID ? -1 : a.auditID > b.auditID ? 1 : 0;
}

function matches(change: AuditChange, filter: TraceFilter): boolean {
  const at = Date.parse(change.at);
  if (filter.since !== undefined && at < Date.parse(filter.since)) return false;
  if (filter.until !== undefined && at > Date.parse(filter.until)) return false;
  if (filter.namespace !== undefined) {
    const ns = namespaceOfChange(change);
    if (ns !== undefined && ns !== filter.namespace) return false;
  }
  return true;
}

/** Nothing in the input was an audit event: every line damaged or foreign (a wrong file). */
export function inputProblem(report: TraceReport): string | undefined {
  const malformed = Object.entries(report.counts.skipped)
    .filter(([reason]) => MALFORMED_REASONS.has(reason as AuditSkipReason))
    .reduce((n, [, count]) => n + (count ?? 0), 0);
  const blank = report.counts.skipped.blank ?? 0;
  if (malformed === 0 || malformed < report.counts.lines - blank) return undefined;
  const first = Object.values(report.firstSkipped)[0];
  return (
    `no audit event in ${report.sources.map((s) => printable(s, 200)).join(', ')}: expected kube-apiserver audit log lines ` +
    `(--audit-log-path, JSON format: one audit.k8s.io Event per line)${first ? `; line ${first.line} of ${printable(first.source, 200)} is: ${first.excerpt}` : ''}`
  );
}

function objectText(c: AuditChange): string {
  const ref = c.objectRef;
  const scope = ref.resource === 'namespaces' ? '' : ref.namespace ? `${ref.namespace}/` : '';
  return `${kindOfResource(ref.resource)} ${scope}${ref.name ?? '(collection)'}${ref.subresource ? ` (${ref.subresource})` : ''}`;
}

function rows(changes: TraceChange[], withStatus: boolean): string[] {
  const cells = changes.map((c) => [c.at, printable(effectiveActor(c), 120), c.tool, c.verb, printable(objectText(c), 200), ...(withStatus ? [`${c.responseStatus.code} ${printable(c.responseStatus.reason ?? '', 40)}`.trim()] : [])]);
  const widths = cells.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return changes.flatMap((c, i) => {
    const row = cells[i] as string[];
    const line = `  ${row.map((cell, j) => (j === row.length - 1 ? cell : cell.padEnd(widths[j] ?? 0))).join('  ')}`;
    if (!c.git) return [line];
    const commit = c.git.commit ? ` ${c.git.commit.sha.slice(0, 8)}${c.git.commit.url ? ` ${c.git.commit.url}` : ''}` : '';
    return [line, `      git: ${c.git.kind}${commit}: ${printable(c.git.reason, 300)}`];
  });
}

export function formatTraceText(report: TraceReport): string {
  const { counts } = report;
  const window = [report.filter.since ? `since ${report.filter.since}` : '', report.filter.until ? `until ${report.filter.until}` : '', report.filter.namespace ? `namespace ${report.filter.namespace} (and cluster-scoped policies)` : '']
    .filter(Boolean)
    .join(', ');
  const out = [`${plural(report.changes.length, 'change')}${window ? ` (${window})` : ''}:`, ...(report.changes.length > 0 ? rows(report.changes, false) : ['  none'])];
  if (report.refused.length > 0) out.push('', `${plural(report.refused.length, 'refused attempt')} (not changes):`, ...rows(report.refused, true));
  const skipped = Object.entries(counts.skipped).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0));
  const sources = report.sources.length === 1 ? printable(report.sources[0] as string, 300) : `${report.sources.length} files`;
  out.push(
    '',
    `read ${plural(counts.lines, 'line')} from ${sources}: ${plural(counts.found, 'change')} found (refused attempts included)` +
      `${counts.duplicates ? `, ${plural(counts.duplicates, 'duplicate')} (same auditID)` : ''}${counts.filteredOut ? `, ${counts.filteredOut} outside the filter` : ''}`,
  );
  for (const [reason, n] of skipped) {
    const first = report.firstSkipped[reason as AuditSkipReason];
    const where = first ? `, first at ${report.sources.length > 1 ? `${printable(first.source, 200)} ` : ''}line ${first.line}: ${first.excerpt}` : '';
    out.push(`  skipped ${n} ${reason}${where}`);
  }
  return `${out.join('\n')}\n`;
}
