// Postmortem renderers: pure functions from an incident and its timeline to a document.
import { stringify as toYaml } from 'yaml';
import { fullValidation, type ValidationResult } from '../drift/validation-report.js';
import { openedByText, type Incident } from '../incident/model.js';
import type { blastRadius } from '../playbook/steps/blast-radius.js';
import type { AnomalySummary } from '../playbook/steps/types.js';
import { renderHtml } from './html.js';
import { mermaidTimeline } from './mermaid.js';
import { renderRestoreMarkdown, restoreSection } from './restore-section.js';
import type { StoredTimelineEvent } from './types.js';
import { actorUserId, AUTOMATIC_RESPONSE_NAME, automaticActor } from './types.js';
import { formatDuration } from './duration.js';

export { formatDuration };

export type ExportFormat = 'md' | 'json' | 'html';
export const exportFormats: readonly ExportFormat[] = ['md', 'json', 'html'];

export interface PostmortemInput {
  incident: Incident;
  timeline: StoredTimelineEvent[];
  /** Step id → title, from the playbook. */
  stepTitles: Record<string, string>;
  /** Slack user id → display name, when known. */
  userNames?: Record<string, string>;
  generatedAt: Date;
}

export function actorName(actor: string, names: Record<string, string>): string {
  const user = actorUserId(actor);
  if (!user) return actor === 'bot' ? 'netpol-responder' : actor === automaticActor ? AUTOMATIC_RESPONSE_NAME : actor;
  return names[user] ? `@${names[user]}` : `<@${user}>`;
}

/** Slack mentions (<@U123>) in summaries become names in a document read outside Slack. */
/** A summary (Slack mrkdwn) as plain text: mentions as names, and the entities escaped text was stored with as the characters. */
export function plainText(text: string, names: Record<string, string>): string {
  return text
    .replace(/<@([A-Z0-9]+)>/g, (_, id: string) => (names[id] ? `@${names[id]}` : `@${id}`))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function describeScope(incident: Incident): string {
  const { namespace, selector } = incident.scope;
  const where = selector ? `pods matching \`${selector}\` in namespace \`${namespace}\`` : `the whole namespace \`${namespace}\``;
  return incident.cluster ? `${where} of cluster \`${incident.cluster}\`` : where;
}

function firstEvent(timeline: StoredTimelineEvent[], type: string): StoredTimelineEvent | undefined {
  return timeline.find((e) => e.type === type);
}

function connectionList(out: string[], heading: string, lines: string[] | undefined, total: number | undefined): void {
  if (!lines?.length) return;
  const count = total ?? lines.length;
  out.push(`${heading} (${count}):`, '', '```', ...lines, ...(count > lines.length ? [`… and ${count - lines.length} more`] : []), '```', '');
}

/** What the bot saw before containment: the flow collector's anomalies and the deny-all's blast radius. */
function renderEvidence(out: string[], evidence: Record<string, unknown>, names: Record<string, string>): void {
  // Stored evidence is JSON from whichever version recorded it: every field may be missing.
  const anomalies = (evidence.anomalies as Partial<AnomalySummary>[] | undefined) ?? [];
  if (anomalies.length > 0) {
    out.push(`Anomalies seen by the flow collector (${anomalies.length}):`, '');
    for (const anomaly of anomalies) {
      out.push(`- **${anomaly.severity ?? '?'}** ${plainText(anomaly.title ?? '', names)}${anomaly.baseline ? `: ${anomaly.baseline}` : ''}`);
      for (const flow of anomaly.sampleFlows ?? []) out.push(`  - \`${flow.replace(/`/g, "'")}\``);
    }
    out.push('');
  }
  if (evidence.strategy) out.push(`Containment strategy: \`${String(evidence.strategy)}\`${evidence.strategyReason ? ` (${String(evidence.strategyReason)})` : ''}`, '');
  const radius = evidence.blastRadius as Partial<ReturnType<typeof blastRadius>> | undefined;
  connectionList(out, 'Connections containment cut', radius?.cut, radius?.cutCount);
  connectionList(out, 'Connections other policies kept allowed', radius?.stillAllowed, radius?.stillAllowedCount);
  connectionList(out, "Connections the quarantine's own DNS exception kept open", radius?.keptByDenyAll, radius?.keptByDenyAllCount);
  const warnings = (evidence.warnings as string[] | undefined) ?? [];
  if (warnings.length > 0) out.push('Warnings shown before approval:', '', ...warnings.map((w) => `- ${w}`), '');
}

interface TracedEvidence {
  key: string;
  at: string;
  verb: string;
  actor: string | null;
  via: string | null;
  evidence: string;
  auditIDs: string[];
  git: { kind: string; reason?: string; commit?: { sha: string; author: string; subject: string; url?: string } } | null;
  opened: string[];
  closed: string[];
  opensAnomaly: boolean;
}

/** Step 2's findings: every change that touched the scope, who made it, how we know, what it did. */
function renderTrace(out: string[], incident: Incident, names: Record<string, string>): void {
  const result = incident.stepOrder.map((id) => incident.steps[id]?.result).find((r) => Array.isArray(r?.changes) && 'window' in (r ?? {}));
  if (!result) return;
  const changes = result.changes as TracedEvidence[];
  const cause = result.cause as { key: string; at: string; confidence: string; why: string } | null;
  const window = result.window as { since: string; until: string };
  out.push('## What changed, who, and how we know', '');
  out.push(`Window: ${window.since} to ${window.until}. ${changes.length} change${changes.length === 1 ? '' : 's'} touched the scope.`, '');
  if (cause) out.push(`**Most likely cause** (${cause.confidence} confidence): ${cause.key} at ${cause.at}: ${cause.why}.`, '');
  for (const limit of (result.limits as string[] | undefined) ?? []) out.push(`- _${limit}_`);
  if (((result.limits as string[] | undefined) ?? []).length > 0) out.push('');
  if (changes.length === 0) return;
  out.push('| Time (UTC) | Change | Who | Via | Evidence | Git | Effect on the scope |', '|---|---|---|---|---|---|---|');
  for (const c of changes) {
    const git = c.git ? `${c.git.kind}${c.git.commit ? ` ${c.git.commit.sha.slice(0, 12)} (${c.git.commit.author}: ${c.git.commit.subject})` : ''}` : 'not checked';
    const evidence = c.evidence === 'audit' ? `audit ${c.auditIDs.join(', ')}` : c.evidence === 'managedFields' ? 'managedFields (weaker)' : 'none';
    const effect = [c.opened.length ? `opened ${c.opened.length}` : '', c.closed.length ? `closed ${c.closed.length}` : '', c.opensAnomaly ? 'lets the anomalous flow through' : ''].filter(Boolean).join('; ') || 'none';
    out.push(`| ${c.at} | ${cell(`${c.verb} ${c.key}`)} | ${cell(plainText(c.actor ?? '?', names))} | ${cell(c.via ?? '?')} | ${cell(evidence)} | ${cell(git)} | ${cell(effect)} |`);
  }
  out.push('');
}

/** Step 3's findings: drift from Git, connectivity, the anomaly's flows, tests and lint. */
function renderValidation(out: string[], incident: Incident): void {
  const result = incident.stepOrder.map((id) => incident.steps[id]?.result).find((r) => r?.kind === 'validation');
  if (result) out.push(fullValidation(result as unknown as ValidationResult, '##'));
}

/** The proofs, the traffic check and the lift, as the timeline recorded them. */
function renderProof(out: string[], timeline: StoredTimelineEvent[], names: Record<string, string>): void {
  const kinds = new Set(['containment.proven', 'containment.not-contained', 'containment.traffic', 'containment.enforced', 'containment.lifted', 'containment.lift-verified', 'containment.lift-failed']);
  const events = timeline.filter((e) => kinds.has(e.type));
  if (events.length === 0) return;
  out.push('## Containment proof and lift', '');
  for (const event of events) {
    const [first = '', ...rest] = plainText(event.summary, names).split('\n');
    out.push(`- ${event.at}: ${first}`, ...rest.map((line) => `  ${line}`));
    const proof = event.data?.proof as { dns?: string[] } | undefined;
    if (event.type === 'containment.proven' && proof?.dns?.length) out.push(...proof.dns.map((line) => `  - kept: \`${line}\``));
  }
  out.push('');
}

export function renderMarkdown(input: PostmortemInput): string {
  const { incident, timeline, stepTitles } = input;
  const names = input.userNames ?? {};
  const out: string[] = [];
  const opened = Date.parse(incident.createdAt);
  const contained = firstEvent(timeline, 'containment.proven') ?? (incident.containment ? undefined : firstEvent(timeline, 'policy.confirmed'));
  const notContained = firstEvent(timeline, 'containment.not-contained');
  const lifted = firstEvent(timeline, 'containment.lifted');

  out.push(`# Postmortem timeline: incident ${incident.id}`, '');
  out.push('## Summary', '');
  out.push(`- **Status:** ${incident.status}${contained ? ' (contained)' : ''}`);
  out.push(`- **Scope:** ${describeScope(incident)}`);
  if (incident.reason) out.push(`- **Reason given:** ${incident.reason}`);
  out.push(`- **Opened:** ${incident.createdAt} by ${openedByText(incident, names)}`);
  if (contained) out.push(`- **Contained:** ${contained.at} (${formatDuration(Date.parse(contained.at) - opened)} after opening)${incident.containment ? `, with \`${incident.containment.strategy}\`, proven by the policy engine` : ''}`);
  if (notContained) out.push(`- **NOT contained:** ${notContained.at}: ${plainText(notContained.summary.split('\n')[0] ?? '', names).replace(/\*/g, '')}`);
  if (lifted) out.push(`- **Containment lifted:** ${lifted.at}${incident.containment?.liftReason ? ` (${incident.containment.liftReason})` : ''}`);
  const failure = firstEvent(timeline, 'step.failed');
  if (failure) out.push(`- **Failed:** ${failure.at}: ${plainText(failure.summary, names)}`);
  out.push(`- **Events recorded:** ${timeline.length}`, '');

  out.push('## Scope and evidence', '');
  for (const stepId of incident.stepOrder) {
    const evidence = incident.steps[stepId]?.evidence;
    const pods = (evidence?.pods as { name: string; labels?: Record<string, string> }[] | undefined) ?? [];
    const policies = (evidence?.policies as { name: string; selectsScope?: boolean }[] | undefined) ?? [];
    if (!evidence) continue;
    out.push(`Pods in scope (${pods.length}): ${pods.length ? pods.map((p) => `\`${p.name}\``).join(', ') : 'none'}`, '');
    out.push(`NetworkPolicies selecting them (${policies.length}): ${policies.length ? policies.map((p) => `\`${p.name}\``).join(', ') : 'none'}`, '');
    renderEvidence(out, evidence, names);
  }

  out.push('## Decisions', '');
  out.push('| Step | Decision | By | At |', '|---|---|---|---|');
  for (const stepId of incident.stepOrder) {
    const step = incident.steps[stepId];
    if (!step) continue;
    const title = stepTitles[stepId] ?? stepId;
    for (const approval of step.approvals) out.push(`| ${cell(title)} | approved | ${actorName(`slack:${approval.user}`, names)} | ${approval.at} |`);
    if (step.rejectedBy) out.push(`| ${cell(title)} | ${step.status === 'skipped' ? 'declined (skipped)' : 'rejected'} | ${actorName(`slack:${step.rejectedBy.user}`, names)} | ${step.rejectedBy.at} |`);
    if (step.approvals.length === 0 && !step.rejectedBy) out.push(`| ${cell(title)} | ${step.status} | | |`);
  }
  out.push('');

  out.push('## Changes applied to the cluster', '');
  const applied = timeline.filter((e) => e.type === 'policy.applied');
  if (applied.length === 0) out.push('Nothing was applied.', '');
  for (const event of applied) {
    out.push(`### ${event.at}: ${plainText(event.summary, names)}`, '');
    // Older records carry one policy; newer ones every object created.
    const objects = (event.data?.objects as unknown[] | undefined) ?? (event.data?.policy ? [event.data.policy] : []);
    for (const obj of objects) out.push('```yaml', toYaml(obj).trimEnd(), '```', '');
  }
  renderProof(out, timeline, names);
  renderTrace(out, incident, names);
  renderValidation(out, incident);
  // Step 4, after the findings it acts on.
  const restore = restoreSection(timeline, (actor) => actorName(actor, names));
  if (restore) out.push(...renderRestoreMarkdown(restore));

  out.push('## Timeline', '');
  const chart = mermaidTimeline(`Incident ${incident.id}`, timeline.map((e) => ({ at: e.at, ...(e.step !== undefined ? { step: e.step } : {}), summary: plainText(e.summary.split('\n')[0] ?? '', names) })), (step) => (step ? (stepTitles[step] ?? step) : 'Incident'));
  if (chart.length > 0) out.push(...chart, '');
  out.push('| Time (UTC) | Actor | Step | Event |', '|---|---|---|---|');
  for (const event of timeline) {
    const step = event.step ? (stepTitles[event.step] ?? event.step) : '';
    out.push(`| ${event.at} | ${cell(actorName(event.actor, names))} | ${cell(step)} | ${cell(plainText(event.summary, names))} |`);
  }
  out.push('', `_Generated by netpol-responder at ${input.generatedAt.toISOString()}._`, '');
  return out.join('\n');
}

export function renderJson(input: PostmortemInput): string {
  const names = input.userNames ?? {};
  return `${JSON.stringify(
    {
      generatedAt: input.generatedAt.toISOString(),
      incident: input.incident,
      stepTitles: input.stepTitles,
      userNames: input.userNames ?? {},
      timeline: input.timeline,
      // Absent (JSON drops undefined) when the incident had no restore.
      restore: restoreSection(input.timeline, (actor) => actorName(actor, names)),
    },
    null,
    2,
  )}\n`;
}

export function renderPostmortem(format: ExportFormat, input: PostmortemInput): string {
  if (format === 'html') return renderHtml(input);
  return format === 'md' ? renderMarkdown(input) : renderJson(input);
}

export function postmortemFileName(incidentId: string, format: ExportFormat): string {
  return `postmortem-${incidentId}.${format}`;
}
