// The message that closes an incident's thread once its last step is done: the whole loop in a few
// lines — how long containment took, the cause the trace found, what the restore put back and from
// where, and where the hardening went (pull request, branch, or files in the thread), or who
// declined a step the playbook lets be skipped. Pure: read from the step results in the record
// (each step found by what its result or proposal holds, not by its id, since a playbook may name
// its steps as it likes).
import { codeSpan, escapeMrkdwn } from '../slack/block-text.js';
import { formatDuration } from '../timeline/render.js';
import type { Incident } from './model.js';

type Result = Record<string, unknown>;

/** Seconds with a decimal under a minute (containment takes seconds), else the timeline's format. */
function span(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatDuration(ms);
}

function results(incident: Incident): Result[] {
  return incident.stepOrder.map((id) => incident.steps[id]?.result).filter((r): r is Result => typeof r === 'object' && r !== null);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 300) : undefined;
}

export interface ClosingFacts {
  /** e.g. "4.2 s (opened 10:00:01, containment applied 10:00:05)". */
  contain: string;
  cause: string;
  restore: string;
  hardening: string;
}

export function closingFacts(incident: Incident): ClosingFacts {
  const all = results(incident);
  const opened = Date.parse(incident.createdAt);
  const applied = incident.containment ? Date.parse(incident.containment.appliedAt) : Number.NaN;
  const contain = Number.isFinite(applied) && Number.isFinite(opened) ? `${span(Math.max(0, applied - opened))} (opened ${incident.createdAt.slice(11, 19)}, containment applied ${incident.containment?.appliedAt.slice(11, 19)} with \`${incident.containment?.strategy}\`)` : 'no containment was applied';

  const trace = all.find((r) => 'cause' in r && 'window' in r);
  const cause = trace?.cause as { key?: unknown; at?: unknown; confidence?: unknown } | null | undefined;
  let causeText = trace ? 'the trace found no change that explains the anomaly' : 'not traced';
  if (cause && str(cause.key)) {
    const changes = Array.isArray(trace?.changes) ? (trace.changes as Array<{ key?: unknown; at?: unknown; actor?: unknown; verb?: unknown }>) : [];
    const change = changes.find((c) => c.key === cause.key && c.at === cause.at);
    const who = str(change?.actor);
    causeText = `${str(change?.verb) ? `${str(change?.verb)} of ` : ''}\`${str(cause.key)}\`${who ? ` by ${codeSpan(who)}` : ''} at ${str(cause.at)}${str(cause.confidence) ? ` (${str(cause.confidence)} confidence)` : ''}`;
  }

  const restore = all.find((r) => 'planId' in r && 'source' in r);
  const steps = Array.isArray(restore?.steps) ? (restore.steps as unknown[]).length : undefined;
  const restoreText = restore ? `${steps !== undefined ? `${steps} object(s) put back` : str(restore.summary) ?? 'restored'} from ${escapeMrkdwn(str(restore.source) ?? 'an unnamed source')}${incident.containment?.status === 'lifted' ? ', then containment lifted' : ''}` : 'no restore ran';

  // A step declined under `onReject: skip` has no result: its proposal says what it was.
  const declined = (kind: string): string | undefined => {
    const step = incident.stepOrder.map((id) => incident.steps[id]).find((s) => s?.status === 'skipped' && s.evidence?.kind === kind);
    return step?.rejectedBy ? `declined by <@${step.rejectedBy.user}>` : undefined;
  };
  const restoreDeclined = restore ? undefined : declined('restore-proposal');

  const harden = all.find((r) => r.kind === 'hardening');
  const delivery = harden?.delivery as { kind?: unknown; url?: unknown; branch?: unknown; compareUrl?: unknown; why?: unknown; error?: { message?: unknown } } | undefined;
  let hardening = declined('harden-proposal') ?? 'no hardening step ran';
  if (delivery?.kind === 'pull-request') hardening = `pull request ${str(delivery.url)}`;
  else if (delivery?.kind === 'branch') hardening = `branch \`${str(delivery.branch)}\`${str(delivery.compareUrl) ? ` (${str(delivery.compareUrl)})` : ''}`;
  else if (delivery?.kind === 'attached') hardening = `files attached to this thread${delivery.error ? ` (delivery failed: ${escapeMrkdwn(str(delivery.error.message) ?? '')})` : str(delivery.why) ? ` (${escapeMrkdwn(str(delivery.why) ?? '')})` : ''}`;
  return { contain, cause: causeText, restore: restoreDeclined ?? restoreText, hardening };
}

/** The closing message's text (Slack mrkdwn; the thread publisher posts it as it is). */
export function closingSummary(incident: Incident, at: string): string {
  const f = closingFacts(incident);
  const total = formatDuration(Math.max(0, Date.parse(at) - Date.parse(incident.createdAt)));
  return [
    `*Incident ${incident.id} closed* after ${total}:`,
    `• *Time to contain:* ${f.contain}`,
    `• *Cause:* ${f.cause}`,
    `• *Restore:* ${f.restore}`,
    `• *Hardening:* ${f.hardening}`,
    `Postmortem: \`/netpol export ${incident.id} md\` (or \`html\`).`,
  ].join('\n');
}
