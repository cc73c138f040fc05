// Block Kit for the incident message and its thread replies. Pure: incident state in, JSON out.
import { openedByText, type Incident, type StepState } from '../incident/model.js';
import type { Playbook } from '../playbook/schema.js';
import { requiredApprovals } from '../playbook/schema.js';
import { describeScope } from '../timeline/render.js';
import type { TimelineEvent } from '../timeline/types.js';
import { actorUserId } from '../timeline/types.js';
import { escapeMrkdwn, listOf, section } from './block-text.js';
import { containmentBlocks, containProposalBlocks } from './contain-blocks.js';
import { restoreControlBlocks, restoreProposalBlocks } from './restore-blocks.js';
import type { RestoreProposal } from '../restore/run-model.js';
import type { HardenProposal } from '../harden/step-model.js';
import { hardenProposalBlocks } from './harden-blocks.js';

export const APPROVE_ACTION = 'netpol_approve';
export const REJECT_ACTION = 'netpol_reject';

export interface Block {
  type: string;
  [key: string]: unknown;
}

export interface SlackMessage {
  text: string;
  blocks: Block[];
}

export interface ApprovalButtonValue {
  incidentId: string;
  stepId: string;
}

export { escapeMrkdwn };

const statusLine: Record<Incident['status'], string> = {
  open: ':large_orange_circle: Open',
  completed: ':large_green_circle: Completed',
  rejected: ':white_circle: Rejected: nothing was applied',
  failed: ':red_circle: Failed',
};

const stepIcon: Record<StepState['status'], string> = {
  pending: ':hourglass_flowing_sand:',
  'awaiting-approval': ':raised_hand:',
  approved: ':white_check_mark:',
  running: ':gear:',
  done: ':heavy_check_mark:',
  rejected: ':no_entry_sign:',
  skipped: ':fast_forward:',
  failed: ':x:',
};

function stepLine(playbook: Playbook, incident: Incident, stepId: string, index: number): string {
  const step = incident.steps[stepId];
  const definition = playbook.steps.find((s) => s.id === stepId);
  if (!step || !definition) return '';
  const needed = requiredApprovals(definition.approval.rule);
  let detail: string = step.status;
  if (step.status === 'awaiting-approval') detail = `waiting for approval (${step.approvals.length} of ${needed})`;
  if (step.status === 'done' && step.result) detail = String(step.result.summary ?? 'done');
  if (step.status === 'failed') detail = `failed: ${escapeMrkdwn(step.error ?? 'unknown error')}`;
  if (step.status === 'rejected' && step.rejectedBy) detail = `rejected by <@${step.rejectedBy.user}>`;
  if (step.status === 'skipped' && step.rejectedBy) detail = `declined by <@${step.rejectedBy.user}>, skipped`;
  const approvals = step.approvals.length > 0 ? ` · approved by ${step.approvals.map((a) => `<@${a.user}>`).join(', ')}` : '';
  return `${stepIcon[step.status]} *${index + 1}. ${escapeMrkdwn(definition.title)}*: ${detail}${approvals}`;
}

export interface IncidentMessageOptions {
  /** Mentions of who may approve, e.g. "<@U1>, <!subteam^S1>". */
  approversText?: string;
}

export function incidentMessage(incident: Incident, playbook: Playbook, options: IncidentMessageOptions = {}): SlackMessage {
  const blocks: Block[] = [];
  blocks.push({ type: 'header', text: { type: 'plain_text', text: `NetworkPolicy incident ${incident.id}`.slice(0, 150) } });
  blocks.push({
    type: 'section',
    fields: [
      { type: 'mrkdwn', text: `*Scope*\n${describeScope(incident)}` },
      { type: 'mrkdwn', text: `*Status*\n${statusLine[incident.status]}` },
      { type: 'mrkdwn', text: `*Opened by*\n${openedByText(incident)}` },
      { type: 'mrkdwn', text: `*Reason*\n${incident.reason ? escapeMrkdwn(incident.reason).slice(0, 500) : '_not given_'}` },
    ],
  });
  blocks.push({ type: 'divider' });
  blocks.push(section(incident.stepOrder.map((id, i) => stepLine(playbook, incident, id, i)).join('\n')));

  const current = incident.currentStep ? incident.steps[incident.currentStep] : undefined;
  // The restore step's evidence is its proposal, shown apart; the pods and policies stay the first step's.
  const restoreProposal = current?.evidence?.kind === 'restore-proposal' ? (current.evidence as unknown as RestoreProposal) : undefined;
  // The hardening step's evidence is its proposal too: a baseline with the engine's proof figures.
  const hardenProposal = current?.evidence?.kind === 'harden-proposal' ? (current.evidence as unknown as HardenProposal) : undefined;
  const evidenceStep = current?.evidence && !restoreProposal && !hardenProposal ? current : incident.steps[incident.stepOrder[0] ?? '']; // after completion, keep showing what was found
  const evidence = evidenceStep?.evidence;
  if (evidence) {
    const pods = (evidence.pods as { name: string }[] | undefined) ?? [];
    const policies = (evidence.policies as { name: string }[] | undefined) ?? [];
    const stillAllowing = (evidence.stillAllowing as string[] | undefined) ?? [];
    const podCount = Number(evidence.podCount ?? pods.length);
    const anomalies = (evidence.anomalies as { severity: string; title: string; baseline: string }[] | undefined) ?? [];
    if (anomalies.length > 0) {
      const shown = anomalies.slice(0, 5).map((a) => `• *${escapeMrkdwn(a.severity)}* ${escapeMrkdwn(a.title)} (${escapeMrkdwn(a.baseline)})`);
      if (anomalies.length > 5) shown.push(`… and ${anomalies.length - 5} more`);
      blocks.push(section(`*Anomalies seen by the flow collector (${anomalies.length})*\n${shown.join('\n')}`));
    }
    const lines = [
      `*Pods in scope (${podCount})*: ${listOf(pods.map((p) => p.name), podCount)}`,
      `*NetworkPolicies selecting them (${policies.length})*: ${listOf(policies.map((p) => p.name))}`,
    ];
    // Evidence recorded before strategies existed: the additive deny-all's warning.
    if (stillAllowing.length > 0 && !evidence.strategy) {
      lines.push(`:warning: NetworkPolicies are additive: the allow rules of ${listOf(stillAllowing)} keep working next to the deny-all.`);
    }
    blocks.push(section(lines.join('\n')));
    if (current?.status === 'awaiting-approval' && !restoreProposal && !hardenProposal) blocks.push(...containProposalBlocks(evidence));
  }
  blocks.push(...containmentBlocks(incident));
  // Approving the step (the buttons below) approves the plan.
  if (restoreProposal && current?.status === 'awaiting-approval') blocks.push(...restoreProposalBlocks(incident.id, restoreProposal));
  if (hardenProposal && current?.status === 'awaiting-approval') blocks.push(...hardenProposalBlocks(hardenProposal));
  if (incident.restore && incident.status === 'open') blocks.push(...restoreControlBlocks(incident.id, incident.restore));

  if (incident.status === 'open' && incident.currentStep && current?.status === 'awaiting-approval') {
    const value: ApprovalButtonValue = { incidentId: incident.id, stepId: incident.currentStep };
    const definition = playbook.steps.find((s) => s.id === incident.currentStep);
    const title = definition?.title ?? incident.currentStep;
    blocks.push({
      type: 'actions',
      block_id: `approval.${incident.id}.${incident.currentStep}`,
      elements: [
        {
          type: 'button',
          action_id: APPROVE_ACTION,
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value: JSON.stringify(value),
          confirm: {
            title: { type: 'plain_text', text: 'Apply this change?' },
            text: { type: 'mrkdwn', text: hardenProposal ? `${escapeMrkdwn(title)} will propose the baseline for review and turn drift monitoring on; the cluster is not changed.` : `${escapeMrkdwn(title)} will change the cluster for ${describeScope(incident)}.` },
            confirm: { type: 'plain_text', text: 'Approve' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
        { type: 'button', action_id: REJECT_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Reject' }, value: JSON.stringify(value) },
      ],
    });
    if (options.approversText) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Approvers: ${options.approversText}` }] });
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `Incident \`${incident.id}\` · postmortem: \`/netpol export ${incident.id}\`` }],
  });
  const text = `NetworkPolicy incident ${incident.id} (${incident.status}): ${describeScope(incident)}`;
  return { text, blocks };
}

/** One timeline event as a thread reply. */
export function timelineReply(event: TimelineEvent): string {
  const who = actorUserId(event.actor);
  const time = event.at.slice(11, 19);
  const actor = who ? (event.summary.includes(`<@${who}>`) ? '' : `<@${who}> `) : ':robot_face: ';
  return `\`${time}\` ${actor}${event.summary}`;
}

export function parseButtonValue(value: string | undefined): ApprovalButtonValue | undefined {
  if (!value || value.length > 500) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<ApprovalButtonValue>;
    if (typeof parsed.incidentId === 'string' && typeof parsed.stepId === 'string' && /^[a-z0-9-]{1,64}$/.test(parsed.incidentId) && /^[a-z0-9-]{1,32}$/.test(parsed.stepId)) {
      return { incidentId: parsed.incidentId, stepId: parsed.stepId };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export function statusSummary(incidents: Incident[], playbook: Playbook): string {
  if (incidents.length === 0) return 'No incidents yet.';
  return incidents
    .map((i) => {
      const step = i.currentStep ? playbook.steps.find((s) => s.id === i.currentStep)?.title ?? i.currentStep : '—';
      return `• \`${i.id}\` ${statusLine[i.status]} · ${describeScope(i)} · step: ${step} · opened ${i.createdAt}`;
    })
    .join('\n');
}
