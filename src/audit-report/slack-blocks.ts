// The scheduled audit's Slack summary (Block Kit, pure): totals, the worst namespaces, what changed
// since the previous run. Names come from the cluster: every one is made printable, cut, and
// escaped so it can neither mention (<!channel>) nor forge a link (<url|text>) nor leave its code span.
import { printable } from '../printable.js';
import { escapeMrkdwn, type Block, type SlackMessage } from '../slack/blocks.js';
import { escapeControl } from '../slack/block-text.js';
import { section } from '../slack/block-text.js';
import type { AuditReport } from './checks.js';
import type { AuditDelta, StoredFinding } from './history.js';

const WORST = 5;
const LISTED = 8;

/** Cluster text inside a code span: printable, at most `max` characters, no backtick to break out. */
export function codeText(text: string, max = 80): string {
  // Inside a code span formatting is shown as typed: only mentions and links need escaping.
  return `\`${escapeControl(printable(text, max).replace(/`/g, "'"))}\``;
}

function plain(text: string, max = 200): string {
  return escapeMrkdwn(printable(text, max));
}

function findingLine(f: StoredFinding): string {
  return `• ${codeText(f.object, 120)} ${plain(f.ruleId.replace(/^audit\//, ''), 40)}`;
}

function list(findings: readonly StoredFinding[]): string {
  const shown = findings.slice(0, LISTED).map(findingLine);
  if (findings.length > LISTED) shown.push(`… and ${findings.length - LISTED} more`);
  return shown.join('\n');
}

export interface AuditSummaryInput {
  report: Pick<AuditReport, 'findings' | 'scores' | 'checks' | 'totals'>;
  delta: AuditDelta;
  runAt: Date;
  /** The reason the unused-policy check did not run, or that it ran on the collector's flows. */
  flows?: string;
  /** The cluster audited, when the bot serves several (config `clusters`). */
  cluster?: string;
}

export function auditSummaryMessage(input: AuditSummaryInput): SlackMessage {
  const { report, delta, runAt } = input;
  const t = report.totals;
  const byLevel = (level: string): number => report.findings.filter((f) => f.level === level).length;
  const of = input.cluster ? ` of cluster ${codeText(input.cluster, 24)}` : '';
  const head = `*Scheduled NetworkPolicy audit*${of} (${runAt.toISOString().slice(0, 16).replace('T', ' ')} UTC)`;
  const totals = `${t.namespaces} namespaces, ${t.pods} pods, ${t.policies} NetworkPolicies, ${t.adminPolicies} admin policies: *${report.findings.length} findings* (${byLevel('error')} errors, ${byLevel('warning')} warnings, ${byLevel('note')} notes)`;
  const blocks: Block[] = [section(`${head}\n${totals}`)];

  const worst = report.scores.slice(0, WORST);
  if (worst.length > 0) {
    const change = new Map(delta.scoreChanges.map((c) => [c.namespace, c]));
    const lines = worst.map((s) => {
      const c = change.get(s.namespace);
      const moved = c?.before !== undefined ? ` (was ${c.before})` : c && delta.previousRunAt !== undefined ? ' (new)' : '';
      return `• ${codeText(s.namespace, 63)} *${s.score}*/100${moved}`;
    });
    blocks.push(section(`*Lowest scores*\n${lines.join('\n')}`));
  }

  if (delta.previousRunAt === undefined) {
    blocks.push(section('_No previous run to compare with: this run is the baseline for the next one._'));
  } else if (delta.newFindings.length === 0 && delta.resolved.length === 0 && delta.scoreChanges.length === 0) {
    blocks.push(section(`No change since the previous run (${new Date(delta.previousRunAt).toISOString().slice(0, 16).replace('T', ' ')} UTC).`));
  } else {
    if (delta.newFindings.length > 0) blocks.push(section(`*New since the previous run: ${delta.newFindings.length}*\n${list(delta.newFindings)}`));
    if (delta.resolved.length > 0) blocks.push(section(`*Resolved since the previous run: ${delta.resolved.length}*\n${list(delta.resolved)}`));
    const moved = delta.scoreChanges.filter((c) => c.before !== undefined && c.after !== undefined);
    if (moved.length > 0) {
      const lines = moved.slice(0, LISTED).map((c) => `• ${codeText(c.namespace, 63)} ${c.before} → ${c.after}`);
      if (moved.length > LISTED) lines.push(`… and ${moved.length - LISTED} more`);
      blocks.push(section(`*Score changes*\n${lines.join('\n')}`));
    }
  }
  const notRun = report.checks.filter((c) => !c.run).map((c) => `${c.id.replace(/^audit\//, '')}: ${plain(c.reason, 200)}`);
  const context = [...(input.flows ? [plain(input.flows, 300)] : []), ...(notRun.length > 0 ? [`Not run: ${notRun.join('; ')}`] : []), 'Full report in the thread.'];
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ').slice(0, 2900) }] });
  const text = `NetworkPolicy audit${input.cluster ? ` of cluster ${plain(input.cluster, 24)}` : ''}: ${report.findings.length} findings in ${t.namespaces} namespaces${delta.previousRunAt !== undefined ? `, ${delta.newFindings.length} new, ${delta.resolved.length} resolved` : ''}`;
  return { text, blocks };
}
