// The restore step's decisions from Slack: which known-good source, approving a step (or the
// re-planned rest), Stop and Resume, Roll back this step, Continue anyway, Force a field-manager
// conflict, and Contain again during the watch window. Only approvers decide; a refusal changes
// nothing and says why. Each accepted decision is one atomic transition of the incident, then
// the runner's next job.
import type { Incident } from '../incident/model.js';
import type { ContainmentLedger } from '../containment/ledger.js';
import { approveRestoreStep, continueAnyway, reopenContainment, resumeRestore, startRollback, stopRestore } from '../incident/restore-transitions.js';
import { TransitionRefused, type Transition } from '../incident/transitions.js';
import { rollbackStep } from '../restore/execute.js';
import type { RestoreButton, RestoreProposal } from '../restore/run-model.js';
import { rollbackEvent } from '../restore/step-events.js';
import type { ApproverDirectory } from '../slack/approvers.js';
import { slackActor } from '../timeline/types.js';
import { dedupeKeyOf, type RestoreRunner } from './restore-runner.js';
import type { Playbook } from './schema.js';

export interface DecisionResult {
  ok: boolean;
  message: string;
}

export interface RestoreDecisionsDeps {
  runner: RestoreRunner;
  approvers: ApproverDirectory;
  /** Proposes the restore step again (after another source was chosen). */
  /** Where the lifted containment's record is archived before containing again. */
  ledger: Pick<ContainmentLedger, 'archive'>;
  playbook: Playbook;
  /** Proposes a step again (the restore after another source was chosen; the contain step to contain again). */
  reprepare: (incident: Incident, stepId: string) => Promise<void>;
  /** Records an approval of a step, as a click on Approve would. */
  approve: (incidentId: string, stepId: string, userId: string) => Promise<DecisionResult>;
}

/** A typed revision: `[repository:]sha-or-tag`, no spaces or control characters. */
const REVISION = /^[A-Za-z0-9._/@:^~-]{1,200}$/;

export class RestoreDecisions {
  constructor(private readonly deps: RestoreDecisionsDeps) {}

  private get store() {
    return this.deps.runner.deps.store;
  }

  private now(): Date {
    return this.deps.runner.deps.clock();
  }

  /** Runs a decision for approvers only, turning refusals into answers. */
  private async decide(userId: string, what: string, act: () => Promise<DecisionResult>): Promise<DecisionResult> {
    if (!(await this.deps.approvers.isApprover(userId))) return { ok: false, message: `Only approvers (${this.deps.approvers.mentions()}) can ${what}. Nothing changed.` };
    try {
      return await act();
    } catch (error) {
      if (error instanceof TransitionRefused) return { ok: false, message: error.message };
      throw error;
    }
  }

  /** Applies a transition; when the run is then running, its next job is queued. */
  private async move(incidentId: string, change: (i: Incident) => Transition | null): Promise<Incident | undefined> {
    const out = await this.store.transition(incidentId, change);
    void this.deps.runner.deps.publish(incidentId).catch((error: unknown) => this.deps.runner.log(incidentId).error({ err: error }, 'updating Slack failed'));
    const run = out?.incident.restore;
    if (run?.status === 'running') await this.deps.runner.enqueue(incidentId, run);
    return out?.incident;
  }

  private async choose(incidentId: string, userId: string, choice: Incident['restoreChoice'], what: string): Promise<DecisionResult> {
    const incident = await this.store.require(incidentId);
    const { id: stepId } = this.deps.runner.stepOf(incident);
    const out = await this.store.transition(incidentId, (i) => {
      const step = i.steps[stepId];
      if (i.status !== 'open' || i.currentStep !== stepId || step?.status !== 'awaiting-approval') throw new TransitionRefused('The source can only be chosen while the restore waits for approval. Nothing changed.', 'not-current');
      const at = this.now().toISOString();
      return {
        incident: { ...i, restoreChoice: choice, updatedAt: at, steps: { ...i.steps, [stepId]: { status: 'pending', approvals: [], attempts: step.attempts, reminders: 0 } } },
        events: [{ at, type: 'approval.recorded', actor: slackActor(userId), step: stepId, summary: `<@${userId}> chose ${what}: re-planning` }],
      };
    });
    if (out) void this.deps.reprepare(out.incident, stepId).catch((error: unknown) => this.deps.runner.log(incidentId).error({ err: error }, 're-planning failed'));
    return { ok: true, message: `Re-planning from ${what}: the plan follows in the thread.` };
  }

  chooseSource(incidentId: string, userId: string, index: number): Promise<DecisionResult> {
    return this.decide(userId, 'choose the known-good source', async () => {
      const incident = await this.store.require(incidentId);
      const { id: stepId } = this.deps.runner.stepOf(incident);
      const proposal = incident.steps[stepId]?.evidence as RestoreProposal | undefined;
      const option = proposal?.kind === 'restore-proposal' ? proposal.options[index] : undefined;
      if (!option) return { ok: false, message: 'That source is not one of those offered. Nothing changed.' };
      if (!option.available) return { ok: false, message: `${option.label} cannot be used: ${option.reason ?? 'not available'}. Nothing changed.` };
      if (option.needsInput) return { ok: false, message: `Type the revision: \`/netpol restore ${incidentId} <sha-or-tag>\`. Nothing changed.` };
      return this.choose(incidentId, userId, { option: index }, `source ${index + 1} (${option.label})`);
    });
  }

  chooseRevision(incidentId: string, userId: string, text: string): Promise<DecisionResult> {
    return this.decide(userId, 'choose the known-good source', async () => {
      if (!REVISION.test(text)) return { ok: false, message: 'A revision is a commit SHA or a tag (optionally `repository:` first), at most 200 characters without spaces. Nothing changed.' };
      if (!(await this.store.get(incidentId))) return { ok: false, message: `No incident with id \`${incidentId}\`. Nothing changed.` };
      return this.choose(incidentId, userId, { typed: text }, `revision \`${text}\``);
    });
  }

  approveStep(incidentId: string, userId: string, button: RestoreButton): Promise<DecisionResult> {
    return this.decide(userId, 'approve restore steps', async () => {
      const incident = await this.store.require(incidentId);
      const { rule } = this.deps.runner.stepOf(incident);
      let approved = false;
      await this.move(incidentId, (i) => {
        const out = approveRestoreStep(i, button, rule, userId, this.now());
        approved = out.approved;
        return out;
      });
      return { ok: true, message: approved ? `Approved: step ${button.n} runs now.` : 'Approval recorded; a second approver is needed.' };
    });
  }

  force(incidentId: string, userId: string, button: RestoreButton): Promise<DecisionResult> {
    return this.approveStep(incidentId, userId, button);
  }

  stop(incidentId: string, userId: string, button: RestoreButton): Promise<DecisionResult> {
    return this.decide(userId, 'stop the restore', async () => {
      await this.move(incidentId, (i) => stopRestore(i, button, userId, this.now()));
      return { ok: true, message: 'Stopped: nothing more is applied until Resume.' };
    });
  }

  resume(incidentId: string, userId: string, button: RestoreButton): Promise<DecisionResult> {
    return this.decide(userId, 'resume the restore', async () => {
      await this.move(incidentId, (i) => resumeRestore(i, button, userId, this.now()));
      return { ok: true, message: 'Resumed: the thread shows each step.' };
    });
  }

  continueAnyway(incidentId: string, userId: string, button: RestoreButton): Promise<DecisionResult> {
    return this.decide(userId, 'continue past a failed verification', async () => {
      await this.move(incidentId, (i) => continueAnyway(i, button, userId, this.now()));
      return { ok: true, message: `Continuing: step ${button.n} stays applied, recorded as continued anyway by you.` };
    });
  }

  rollback(incidentId: string, userId: string, button: RestoreButton): Promise<DecisionResult> {
    return this.decide(userId, 'roll back a restore step', async () => {
      const stopped = await this.move(incidentId, (i) => startRollback(i, button, this.now()));
      if (!stopped) return { ok: false, message: 'Nothing to roll back. Nothing changed.' };
      const runner = this.deps.runner;
      const { id: stepId } = runner.stepOf(stopped);
      const plan = await runner.deps.restore.loadPlan(incidentId, button.planId);
      const step = plan.steps[button.n - 1];
      if (!step) return { ok: false, message: `The plan has no step ${button.n}. Nothing changed.` };
      const result = await rollbackStep(step, { gateway: runner.deps.cluster, fieldManager: runner.deps.settings.fieldManager, incidentId, records: runner.deps.restore.records, logger: runner.log(incidentId), now: runner.deps.clock });
      await this.store.appendEvents(incidentId, [rollbackEvent(this.now().toISOString(), slackActor(userId), stepId, button.planId, step, result)]);
      await runner.deps.publish(incidentId);
      return result.ok ? { ok: true, message: `Step ${button.n} rolled back and verified; the restore is stopped (Resume re-plans from the live state and asks for approval).` } : { ok: false, message: `Rolling back failed: ${result.message}` };
    });
  }

  /**
   * "Contain again" after the anomaly fired during the watch window: the restore step completes, the
   * lifted containment's record is archived, and the contain step is proposed again with the
   * clicking approver's approval already counted.
   */
  containAgain(incidentId: string, userId: string): Promise<DecisionResult> {
    return this.decide(userId, 'contain again', async () => {
      const containStep = this.deps.playbook.steps.find((s) => s.action === 'contain');
      if (!containStep) return { ok: false, message: 'This playbook has no contain step. Nothing changed.' };
      const runner = this.deps.runner;
      const out = await this.store.transition(incidentId, (i) => reopenContainment(i, containStep.id, runner.stepOf(i).id, userId, this.now()));
      if (!out) return { ok: false, message: 'The restore is no longer in its watch window. Nothing changed.' };
      await this.deps.ledger.archive(incidentId);
      await runner.deps.restore.unwatch((out.incident.anomalyIds ?? []).map(dedupeKeyOf), incidentId);
      await runner.deps.publish(incidentId);
      await this.deps.reprepare(out.incident, containStep.id);
      const decided = await this.deps.approve(incidentId, containStep.id, userId).catch((error: unknown) => ({ ok: false, message: (error as Error).message }));
      return { ok: true, message: decided.ok ? `Containing again: ${decided.message}` : `Containment is proposed again in the incident message: ${decided.message}` };
    });
  }
}
