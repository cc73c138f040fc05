// Block Kit for the restore step (step 4): the proposal shown while it waits for approval (known-good
// source options, the numbered plan, its safety) and the run's controls under the incident message
// (Stop, Approve step N, Resume, Roll back, Continue anyway, Force, Contain again). Pure. Stored
// evidence and run records come from whichever version wrote them, so fields are read defensively.
import { isLiftStep, type RestoreButton, type RestoreProposal, type RestoreRun, type RestoreRunStatus } from '../restore/run-model.js';
import type { Block } from './blocks.js';
import { escapeControl, escapeMrkdwn, section, truncate, SECTION_LIMIT } from './block-text.js';
import { plural } from '../words.js';

export const RESTORE_SOURCE_ACTION = 'netpol_restore_source';
export const RESTORE_APPROVE_STEP_ACTION = 'netpol_restore_approve_step';
export const RESTORE_STOP_ACTION = 'netpol_restore_stop';
export const RESTORE_RESUME_ACTION = 'netpol_restore_resume';
export const RESTORE_ROLLBACK_ACTION = 'netpol_restore_rollback';
export const RESTORE_CONTINUE_ACTION = 'netpol_restore_continue';
export const RESTORE_FORCE_ACTION = 'netpol_restore_force';
export const RESTORE_RECONTAIN_ACTION = 'netpol_restore_recontain';

/** What a restore decision answers (the ephemeral reply's text). */
export interface RestoreDecision {
  ok: boolean;
  message: string;
}

/** The restore runner's decisions the Slack surface calls (the contract's methods). */
export interface RestoreDecisions {
  chooseSource(incidentId: string, userId: string, optionIndex: number): Promise<RestoreDecision>;
  chooseRevision(incidentId: string, userId: string, text: string): Promise<RestoreDecision>;
  approveStep(incidentId: string, userId: string, button: RestoreButton): Promise<RestoreDecision>;
  stop(incidentId: string, userId: string, button: RestoreButton): Promise<RestoreDecision>;
  resume(incidentId: string, userId: string, button: RestoreButton): Promise<RestoreDecision>;
  rollback(incidentId: string, userId: string, button: RestoreButton): Promise<RestoreDecision>;
  continueAnyway(incidentId: string, userId: string, button: RestoreButton): Promise<RestoreDecision>;
  force(incidentId: string, userId: string, button: RestoreButton): Promise<RestoreDecision>;
  containAgain(incidentId: string, userId: string): Promise<RestoreDecision>;
}

// The proposal stays a bounded part of the incident message (Slack allows 50 blocks in all).
const MAX_OPTIONS = 6;
const MAX_PLAN_SECTIONS = 4;
const MAX_STEP_LINE = 600;
const MAX_NOTES = 8;
const MAX_NOTE = 300;
const PLAN_CHUNK = SECTION_LIMIT - 100;

const INCIDENT_ID = '[a-z0-9][a-z0-9-]{2,63}';
const SOURCE_VALUE = new RegExp(`^(${INCIDENT_ID}):(0|[1-9][0-9]{0,2})$`);
const INCIDENT_ID_ONLY = new RegExp(`^${INCIDENT_ID}$`);
const RESTORE_VALUE = new RegExp(`^(${INCIDENT_ID}):([a-z0-9]{1,24}):([1-9][0-9]{0,4})$`);
const MAX_STEP = 10_000;
const MAX_VALUE = 200;

const plainText = (text: string) => ({ type: 'plain_text', text });

/**
 * Record text on one line, escaped, and cut to `limit` characters (never inside an entity like `&lt;`).
 * The runner writes these records with its own code spans around object names, so only mentions
 * and links are escaped here (escapeControl); untrusted parts are escaped where they are written.
 */
function clip(value: unknown, limit: number): string {
  const text = escapeControl(String(value ?? '').replace(/\s+/g, ' ').trim());
  return text.length <= limit ? text : `${text.slice(0, limit - 1).replace(/&[a-z]{0,3}$/, '')}…`;
}

/** As many lines as fit in `budget` characters (joined by newlines), and how many were left out. */
function fit(lines: string[], budget: number): { shown: string[]; rest: number } {
  const shown: string[] = [];
  let size = 0;
  for (const line of lines) {
    if (size + line.length + 1 > budget) break;
    shown.push(line);
    size += line.length + 1;
  }
  return { shown, rest: lines.length - shown.length };
}


/** A Slack user id as a mention; anything else as escaped text (a record must not inject a mention). */
function mention(user: unknown): string {
  const text = String(user ?? '');
  return /^[A-Z0-9]{1,32}$/.test(text) ? `<@${text}>` : escapeMrkdwn(text.slice(0, 40));
}

function confirmDialog(title: string, text: string, confirm: string): Record<string, unknown> {
  return { title: plainText(title.slice(0, 100)), text: { type: 'mrkdwn', text: text.slice(0, 300) }, confirm: plainText(confirm.slice(0, 30)), deny: plainText('Cancel') };
}

function optionBlocks(incidentId: string, proposal: RestoreProposal): Block[] {
  const options = Array.isArray(proposal.options) ? proposal.options : [];
  const typed = typeof proposal.typed === 'string' && proposal.typed ? proposal.typed : undefined;
  const blocks: Block[] = [];
  options.slice(0, MAX_OPTIONS).forEach((option, position) => {
    if (typeof option !== 'object' || option === null) return;
    const chosen = position === proposal.chosen;
    const text = clip(option.text ?? option.label ?? '?', 1200);
    let line: string;
    if (!option.available) {
      const reason = option.reason && !String(option.text ?? '').includes(String(option.reason)) ? ` — not available (${clip(option.reason, 400)})` : '';
      line = `:no_entry_sign: ${position + 1}. ${text}${reason}`;
    } else {
      line = `${chosen ? ':white_check_mark:' : ':white_small_square:'} *${position + 1}.* ${text}${chosen ? ' — *planned below*' : ''}`;
      if (option.needsInput) {
        if (typed) line += `\n    planned: \`${clip(typed, 200)}\``;
        line += `\n    type \`/netpol restore ${escapeMrkdwn(incidentId)} <sha-or-tag>\` (\`repository:sha-or-tag\` to name a repository)`;
      }
    }
    const block: Block = section(line);
    // The runner takes the option by its position in the proposal (unique, so the action ids are too).
    if (option.available && !chosen && !option.needsInput) {
      block.accessory = { type: 'button', action_id: `${RESTORE_SOURCE_ACTION}.${position}`, text: plainText('Use this source'), value: `${incidentId}:${position}` };
    }
    blocks.push(block);
  });
  if (options.length > MAX_OPTIONS) blocks.push(section(`… and ${options.length - MAX_OPTIONS} more options`));
  if (proposal.chosen === -1 && !typed) blocks.push(section(':warning: No source could be planned: choose one of the options above, or type a revision.'));
  return blocks;
}

/** The plan's lines in sections of at most SECTION_LIMIT, at most MAX_PLAN_SECTIONS of them. */
function planBlocks(proposal: RestoreProposal): Block[] {
  const steps = Array.isArray(proposal.steps) ? proposal.steps : [];
  if (steps.length === 0) return [];
  const heading = `*Plan: ${plural(steps.length, 'step')}, the lift of containment last*${proposal.planId ? ` (plan \`${clip(proposal.planId, 40)}\`)` : ''}`;
  const chunks: string[][] = [[heading]];
  let size = heading.length;
  let shown = 0;
  for (const [i, step] of steps.entries()) {
    const text = clip(step, MAX_STEP_LINE);
    const line = text.startsWith(`${i + 1}. `) ? text : `${i + 1}. ${text}`;
    if (size + line.length + 1 > PLAN_CHUNK) {
      if (chunks.length === MAX_PLAN_SECTIONS) break;
      chunks.push([]);
      size = 0;
    }
    (chunks[chunks.length - 1] as string[]).push(line);
    size += line.length + 1;
    shown += 1;
  }
  if (shown < steps.length) (chunks[chunks.length - 1] as string[]).push(`… ${plural(steps.length - shown, 'more step')} in the thread`);
  return chunks.map((lines) => section(lines.join('\n')));
}

/** The restore step's proposal, shown while the step waits for approval (the Approve button approves the plan). */
export function restoreProposalBlocks(incidentId: string, proposal: RestoreProposal): Block[] {
  const options = optionBlocks(incidentId, proposal);
  const heading = `*Restore to a known-good state*${proposal.summary ? `: ${clip(proposal.summary, 1000)}` : ''}`;
  const blocks: Block[] = [section(options.length > 0 ? `${heading}\n*Sources* (the planned one is marked):` : heading), ...options];
  const plan = planBlocks(proposal);
  blocks.push(...plan);
  if (plan.length > 0) {
    blocks.push(
      section(
        proposal.safe
          ? ':white_check_mark: Safe order: no state along the way is more open than both the live policies (without containment) and the known-good ones.'
          : ':warning: *Not proven safe*: some state along the way is more open than both the live policies (without containment) and the known-good ones: see the notes below and the thread.',
      ),
    );
  }
  const notes = Array.isArray(proposal.notes) ? proposal.notes : [];
  if (notes.length > 0) {
    const { shown, rest } = fit(notes.slice(0, MAX_NOTES).map((n) => `• ${clip(n, MAX_NOTE)}`), SECTION_LIMIT - 100);
    const more = rest + Math.max(0, notes.length - MAX_NOTES);
    blocks.push(section([...shown, ...(more > 0 ? [`… and ${plural(more, 'more note')} in the thread`] : [])].join('\n')));
  }
  const mode =
    proposal.mode === 'step'
      ? '*Step by step*: approving starts the restore; each step is approved on its own, under this message.'
      : '*Whole plan*: approve once for the whole plan, Stop halts before the next step.';
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: mode }] });
  return blocks;
}

function statusText(run: RestoreRun): string {
  const n = run.next;
  const lift = isLiftStep(run);
  const approvals = Array.isArray(run.stepApprovals) ? run.stepApprovals.map((a) => mention(a?.user)) : [];
  const waiting = approvals.length > 0 ? ` (approved by ${approvals.join(', ')}, waiting for another approver)` : '';
  const byStatus: Record<RestoreRunStatus, () => string> = {
    running: () => (lift ? ':gear: lifting containment' : `:gear: applying step ${n}`),
    'awaiting-step': () => `:raised_hand: step ${n} waits for its approval${waiting}`,
    'traffic-wait': () => `:hourglass_flowing_sand: step ${n} applied and verified; watching its traffic${run.trafficUntil ? ` until ${clip(run.trafficUntil, 40)}` : ''}`,
    stopped: () => `:double_vertical_bar: stopped${run.stoppedBy ? ` by ${mention(run.stoppedBy)}` : ''} before ${lift ? 'the lift' : `step ${n}`}`,
    'verify-failed': () => `:x: step ${n} failed its verification: roll it back, or continue anyway`,
    'field-conflict': () => `:warning: step ${n} would take fields other managers own${waiting ? ` · forcing it${waiting}` : ''}`,
    blocked: () => `:no_entry: ${lift ? 'the lift' : `step ${n}`} could not be applied`,
    lifting: () => (n > run.total ? ':unlock: every step done; lifting containment' : `:unlock: lifting containment before step ${n}: the steps left are synced by their GitOps controller`),
    watching: () => `:eyes: containment lifted. Watching until ${clip(run.watchUntil ?? 'the watch window ends', 40)}`,
    done: () => ':white_check_mark: restored',
  };
  return (byStatus[run.status] ?? (() => clip(run.status, 40)))();
}

function progressText(run: RestoreRun): string {
  const total = Number.isSafeInteger(run.total) && run.total >= 0 ? run.total : 0;
  if (run.status === 'done') return `all ${plural(total, 'step')} and the lift done`;
  if (run.next > total) return run.lifted ? `all ${plural(total, 'step')} done, containment lifted` : `the lift, after ${plural(total, 'step')}`;
  const liftAt = run.liftAt ?? total + 1;
  if (liftAt <= total) return `step ${run.next} of ${total}${run.lifted ? ' (containment lifted; steps from ' + liftAt + ' synced by their GitOps controller)' : ` (the lift before step ${liftAt})`}`;
  return `step ${run.next} of ${total} (+ lift)`;
}

function button(actionId: string, text: string, value: string, extra: Record<string, unknown> = {}): Block {
  return { type: 'button', action_id: actionId, text: plainText(text.slice(0, 75)), value, ...extra };
}

function controlButtons(incidentId: string, run: RestoreRun, value: string): Block[] {
  const n = run.next;
  const stop = button(RESTORE_STOP_ACTION, 'Stop', value);
  switch (run.status) {
    case 'running':
    case 'traffic-wait':
      return [stop];
    case 'awaiting-step':
      return [button(RESTORE_APPROVE_STEP_ACTION, `Approve step ${n}`, value, { style: 'primary' }), stop];
    case 'stopped':
      return [button(RESTORE_RESUME_ACTION, 'Resume', value, { style: 'primary' })];
    case 'verify-failed':
      return [
        button(RESTORE_ROLLBACK_ACTION, 'Roll back this step', value, {
          style: 'danger',
          confirm: confirmDialog(`Roll back step ${n}?`, `Step ${n}'s object is put back as it was before the step, and the result is verified.`, 'Roll back'),
        }),
        button(RESTORE_CONTINUE_ACTION, 'Continue anyway', value, {
          confirm: confirmDialog(`Continue past step ${n}?`, `Step ${n} failed its verification. It stays applied and the restore goes on. Approvers only; your decision is recorded in the timeline.`, 'Continue'),
        }),
      ];
    case 'field-conflict':
      return [
        button(RESTORE_FORCE_ACTION, `Force step ${n} (take the fields)`, value, {
          style: 'danger',
          confirm: confirmDialog(`Force step ${n}?`, `Step ${n} takes the fields other managers own (their next sync may fight it). Approvers only; recorded in the timeline.`, 'Force'),
        }),
        stop,
      ];
    case 'blocked':
      return [button(RESTORE_RESUME_ACTION, 'Resume (retry the step)', value, { style: 'primary' }), stop];
    case 'watching':
      return run.refired
        ? [
            button(RESTORE_RECONTAIN_ACTION, 'Contain again', incidentId, {
              style: 'primary',
              confirm: confirmDialog('Contain again?', 'The anomaly fired again after the restore: the scope is contained again, as the contain step did.', 'Contain'),
            }),
          ]
        : [];
    default:
      return [];
  }
}

/** The restore run's state and the controls that apply to it (shown while the incident is open). */
export function restoreControlBlocks(incidentId: string, run: RestoreRun): Block[] {
  const source = clip(run.source, 300);
  const blocks: Block[] = [{ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(`Restore from ${source}: ${progressText(run)} · ${statusText(run)}`) }] }];
  if (run.failure) {
    const f = run.failure;
    blocks.push(section(`:x: *${f.n > run.total || (f.message.startsWith('the lift failed') && !run.lifted) ? 'The lift' : `Step ${f.n}`}*: ${clip(f.reason, 200)} — ${clip(f.message, 2000)}`));
  }
  if (run.status === 'watching' && run.refired) {
    blocks.push(section(`:rotating_light: The anomaly fired again during the watch window (\`${clip(run.refired.anomalyId, 100)}\` at ${clip(run.refired.at, 40)}).`));
  }
  const value = `${incidentId}:${run.planId}:${run.next}`;
  const elements = controlButtons(incidentId, run, value);
  if (elements.length === 0) return blocks;
  // A button whose value we would refuse would only ever answer "not one of ours": say so instead.
  const valid = INCIDENT_ID_ONLY.test(incidentId) && (elements[0]?.action_id === RESTORE_RECONTAIN_ACTION || parseRestoreButton(value) !== undefined);
  if (!valid) {
    blocks.push(section(':warning: The restore controls cannot be shown: the run record is malformed. `/netpol status` shows the incident.'));
    return blocks;
  }
  blocks.push({ type: 'actions', block_id: `restore.${incidentId}.${run.next}`.slice(0, 255), elements });
  return blocks;
}

/** A restore control's value (`incident:plan:step`), or undefined when it is not one of ours. */
export function parseRestoreButton(value: unknown): RestoreButton | undefined {
  if (typeof value !== 'string' || value.length > MAX_VALUE) return undefined;
  const match = RESTORE_VALUE.exec(value);
  if (!match) return undefined;
  const n = Number(match[3]);
  if (n > MAX_STEP) return undefined;
  return { incidentId: match[1] as string, planId: match[2] as string, n };
}

/** A "Use this source" button's value (`incident:index`), or undefined when it is not one of ours. */
export function parseSourceButton(value: unknown): { incidentId: string; index: number } | undefined {
  if (typeof value !== 'string' || value.length > MAX_VALUE) return undefined;
  const match = SOURCE_VALUE.exec(value);
  return match ? { incidentId: match[1] as string, index: Number(match[2]) } : undefined;
}
