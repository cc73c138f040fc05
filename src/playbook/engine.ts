// The incident engine: runs the playbook's steps as jobs. It is generic over steps: a step's work
// lives in its handler; the engine moves state (atomically, through the store), asks for
// approvals, schedules reminders, and keeps the Slack message and thread in step with the state.
import { randomBytes } from 'node:crypto';
import { requesterUserId, type Incident } from '../incident/model.js';
import type { IncidentStore } from '../incident/store.js';
import {
  completeStep,
  failStep,
  openIncident,
  recordApproval,
  recordRejection,
  recordReminder,
  requestApproval,
  setMessage,
  startStep,
  TransitionRefused,
  type OpenRequest,
} from '../incident/transitions.js';
import { incidentLogger, type Logger } from '../log.js';
import type { IncidentJob } from '../queue/jobs.js';
import type { JobQueue } from '../queue/bullmq.js';
import type { ApproverDirectory } from '../slack/approvers.js';
import { incidentMessage, timelineReply } from '../slack/blocks.js';
import type { ChatGateway } from '../slack/chat.js';
import { describeScope, postmortemFileName, renderPostmortem, type ExportFormat } from '../timeline/render.js';
import { actorUserId, automaticActor, botActor, slackActor } from '../timeline/types.js';
import { formatDuration } from '../timeline/render.js';
import type { Playbook, PlaybookStep } from './schema.js';
import type { AnomalyLookup, ClusterAccess, StepContext, StepHandler, StepSettings } from './steps/types.js';
import { ContainmentNotProven } from './steps/contain.js';
import { ContainmentRunner } from './containment-runner.js';
import type { ContainmentLedger } from '../containment/ledger.js';
import type { TrafficCheck } from '../containment/traffic.js';
import type { AuditStore } from '../audit/store.js';
import type { PolicyRepositories } from '../git/index.js';
import type { ChangeJournal } from '../journal/index.js';
import type { RestoreStore } from '../restore/plan-store.js';
import type { LiveClusterView } from '../restore/cluster-view.js';
import { RestoreRunner } from './restore-runner.js';
import { RestoreDecisions } from './restore-decisions.js';
import { INCIDENT_LABEL } from '../containment/objects.js';
import { QUARANTINE_LABEL } from '../containment/exclusion.js';
import type { TimelineEvent } from '../timeline/types.js';

export interface EngineDeps {
  store: IncidentStore;
  /** The cluster this engine acts on, when the bot serves several: recorded in each incident it opens. */
  clusterName?: string;
  /** Where containment records what it changed, for re-runs and the lift. */
  ledger: ContainmentLedger;
  /** The flow collector's view of a contained scope's traffic (absent: not verified by traffic). */
  traffic?: TrafficCheck;
  journal?: ChangeJournal;
  audit?: AuditStore;
  git?: PolicyRepositories;
  driftIgnore?: StepContext['driftIgnore'];
  learnedEdges?: StepContext['learnedEdges'];
  /** Delivers the hardening step's files as a branch and a pull/merge request (absent: attached to the thread). */
  proposeChanges?: StepContext['proposeChanges'];
  permalink?: StepContext['permalink'];
  /** Drift monitoring's namespaces (the hardening step turns it on for the ones it hardened). */
  driftWatch?: StepContext['driftWatch'];
  /** Restore plans and step records (the restore step needs them). */
  restore?: RestoreStore;
  /** Namespaces, pods and policies as watches keep them, for the restore's engine checks (absent: each step lists them). */
  clusterView?: LiveClusterView;
  queue: JobQueue;
  playbook: Playbook;
  handlers: ReadonlyMap<string, StepHandler>;
  chat: ChatGateway;
  cluster: ClusterAccess;
  anomalies?: AnomalyLookup;
  approvers: ApproverDirectory;
  settings: StepSettings;
  /** Never contained by automatic response (the playbook's protectedNamespaces plus the bot's own). */
  protectedNamespaces?: ReadonlySet<string>;
  logger: Logger;
  clock?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

/** The jobs the engine runs (anomaly alerts belong to the anomaly desk). */
export type EngineJob = Exclude<IncidentJob, { name: 'anomaly-alert' }>;

export interface DecisionResult {
  ok: boolean;
  message: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `20261202-k3x9qa`; with several clusters led by the cluster's name (`prod-eu-20261202-k3x9qa`), which routes it. */
export function newIncidentId(now: Date, cluster?: string): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  const id = `${day}-${randomBytes(4).readUInt32BE(0).toString(36).padStart(6, '0').slice(-6)}`;
  return cluster ? `${cluster}-${id}` : id;
}

export class IncidentEngine {
  private readonly clock: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Containment after the contain step: time box, lift approvals, the verified lift. */
  readonly containment: ContainmentRunner;
  /** The restore step in the background: its jobs, the lift, the watch window. */
  readonly restoreRunner?: RestoreRunner;
  /** The restore step's decisions from Slack (approve a step, Stop, Roll back, ...). */
  readonly restore?: RestoreDecisions;

  constructor(private readonly deps: EngineDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.sleep = deps.sleep ?? sleep;
    this.containment = new ContainmentRunner({ ...deps, clock: this.clock, sleep: this.sleep, publish: (id) => this.publish(id) });
    if (deps.restore) {
      this.restoreRunner = new RestoreRunner({
        ...deps,
        restore: deps.restore,
        containment: this.containment,
        clock: this.clock,
        publish: (id) => this.publish(id),
        advance: (incident) => this.prepareNext(incident),
      });
      this.restore = new RestoreDecisions({
        runner: this.restoreRunner,
        approvers: deps.approvers,
        ledger: deps.ledger,
        playbook: deps.playbook,
        reprepare: (incident, stepId) => this.prepareStep(incident, stepId),
        approve: (incidentId, stepId, userId) => this.decide({ incidentId, stepId, userId, decision: 'approve' }),
      });
    }
  }

  get playbook(): Playbook {
    return this.deps.playbook;
  }

  async handle(job: EngineJob): Promise<void> {
    switch (job.name) {
      case 'open':
        return this.open(job.data.request, job.data.responseUrl);
      case 'run-step':
        return this.runStep(job.data.incidentId, job.data.stepId);
      case 'remind':
        return this.remind(job.data.incidentId, job.data.stepId, job.data.reminder);
      case 'export':
        return this.export(job.data);
      case 'lift':
        return this.containment.lift(job.data.incidentId);
      case 'containment-expire':
        return this.containment.expire(job.data.incidentId, job.data.expiresAt);
      case 'containment-expiry-reminder':
        return this.containment.remindExpiry(job.data.incidentId, job.data.expiresAt);
      case 'containment-traffic':
        return this.containment.reportTraffic(job.data.incidentId);
      case 'restore-continue':
        return this.restoreRunner?.continue(job.data.incidentId, job.data);
      case 'restore-watch-end':
        return this.restoreRunner?.watchEnd(job.data.incidentId, job.data.planId);
    }
  }

  private log(incidentId: string, extra: Record<string, unknown> = {}): Logger {
    return incidentLogger(this.deps.logger, incidentId, extra);
  }

  private definition(stepId: string): PlaybookStep {
    const step = this.deps.playbook.steps.find((s) => s.id === stepId);
    if (!step) throw new Error(`the playbook has no step "${stepId}"`);
    return step;
  }

  private handler(step: PlaybookStep): StepHandler {
    const handler = this.deps.handlers.get(step.action);
    if (!handler) throw new Error(`no handler for action "${step.action}"`);
    return handler;
  }

  private async reply(responseUrl: string | undefined, channel: string, user: string, text: string): Promise<void> {
    if (responseUrl) await this.deps.chat.respond(responseUrl, text);
    else await this.deps.chat.postEphemeral(channel, user, text);
  }

  private async open(request: OpenRequest, responseUrl?: string): Promise<void> {
    const log = this.log(request.id, { job: 'open', ...(request.auto ? { auto: true, rule: request.auto.rule } : {}) });
    // Automatic response has nobody to answer: refusals are logged (the anomaly's alert shows it).
    const reply = (text: string) => (request.auto ? Promise.resolve() : this.reply(responseUrl, request.channel, request.requestedBy, text));
    let incident = await this.deps.store.get(request.id);
    if (!incident) {
      if (request.auto && this.deps.protectedNamespaces?.has(request.scope.namespace)) {
        log.error({ namespace: request.scope.namespace }, 'automatic response refused: protected namespace; no incident opened');
        return;
      }
      if (!(await this.deps.cluster.namespaceExists(request.scope.namespace))) {
        log[request.auto ? 'warn' : 'info']({ namespace: request.scope.namespace }, 'unknown namespace; no incident opened');
        await reply(`Namespace \`${request.scope.namespace}\` does not exist in the cluster. No incident was opened.`);
        return;
      }
      const created = await this.deps.store.create(openIncident(this.deps.clusterName ? { ...request, cluster: this.deps.clusterName } : request, this.deps.playbook, this.clock()));
      if (!created.created) {
        const open = await this.deps.store.get(created.openIncidentId);
        log.info({ openIncident: created.openIncidentId }, 'scope already has an open incident');
        const duplicate = request.auto
          ? { actor: automaticActor, summary: `Automatic response: another anomaly for the same scope${request.reason ? `: ${request.reason}` : ''} (already handled by this incident)` }
          : { actor: slackActor(request.requestedBy), summary: `<@${request.requestedBy}> asked to open an incident for the same scope${request.reason ? `: ${request.reason}` : ''}` };
        await this.deps.store.appendEvents(created.openIncidentId, [{ at: this.clock().toISOString(), type: 'incident.duplicate', ...duplicate }]);
        await this.publish(created.openIncidentId);
        await reply(
          `An incident is already open for ${open ? describeScope(open) : 'this scope'}: \`${created.openIncidentId}\`${open ? ` in <#${open.channel}>` : ''}. Follow its thread, or \`/netpol status ${created.openIncidentId}\`.`,
        );
        return;
      }
      incident = created.incident;
      log.info({ scope: incident.scope }, request.auto ? 'incident opened by automatic response' : 'incident opened');
    }
    if (!incident.messageTs) {
      const ts = await this.deps.chat.postMessage(incident.channel, this.render(incident));
      incident = (await this.deps.store.transition(incident.id, (i) => setMessage(i, ts, this.clock())))?.incident ?? incident;
    }
    await this.publish(incident.id);
    const stepId = incident.currentStep;
    if (stepId && incident.steps[stepId]?.status === 'pending') await this.prepareStep(incident, stepId);
  }

  /** The approval rule a step runs under: an automatic response waives it for the contain step only. */
  private approvalFor(incident: Incident, step: PlaybookStep): { rule: PlaybookStep['approval']; waived?: { actor: string; summary: string } } {
    if (!incident.auto || step.action !== 'contain') return { rule: step.approval };
    const { rule, maxDuration } = incident.auto;
    return {
      rule: { ...step.approval, rule: 'none' },
      waived: { actor: automaticActor, summary: `No approval asked: automatic response (anomalies.autoContain rule ${rule + 1}), time-boxed to ${formatDuration(maxDuration)}` },
    };
  }

  private async prepareStep(incident: Incident, stepId: string): Promise<void> {
    const log = this.log(incident.id, { step: stepId });
    const step = this.definition(stepId);
    let evidence: Record<string, unknown>;
    let posted: TimelineEvent[] = [];
    try {
      ({ events: posted = [], ...evidence } = (await this.handler(step).prepare(this.context(incident, step, log))) as Record<string, unknown> & { events?: TimelineEvent[] });
    } catch (error) {
      log.error({ err: error }, 'gathering evidence failed');
      await this.deps.store.transition(incident.id, (i) => failStep(i, stepId, `gathering evidence failed: ${(error as Error).message}`, this.clock()));
      await this.publish(incident.id);
      return;
    }
    const approval = this.approvalFor(incident, step);
    const out = await this.deps.store.transition(incident.id, (i) => {
      if (i.steps[stepId]?.status !== 'pending') return null;
      const requested = requestApproval(i, stepId, approval.rule, evidence, this.clock(), approval.waived);
      return { ...requested, events: [...posted, ...requested.events] };
    });
    await this.publish(incident.id);
    const state = out?.incident.steps[stepId];
    if (!state) return;
    // Approved without anyone (a step that needs no approval) runs in the background; a
    // containment (an automatic one, or one the playbook runs without approval) runs as soon as
    // a slot frees, like an approved step.
    if (state.status === 'approved') await this.enqueueRun(incident.id, stepId, state.attempts + 1, { background: step.action !== 'contain' });
    if (state.status === 'awaiting-approval') {
      await this.deps.queue.enqueue({ name: 'remind', data: { incidentId: incident.id, stepId, reminder: 1 } }, { delayMs: step.approval.timeout });
    }
  }

  private enqueueRun(incidentId: string, stepId: string, attempt: number, options: { background?: boolean } = {}): Promise<void> {
    return this.deps.queue.enqueue({ name: 'run-step', data: { incidentId, stepId, attempt } }, options);
  }

  private context(incident: Incident, step: PlaybookStep, logger: Logger) {
    const { playbook, cluster, anomalies, settings, ledger, traffic, journal, audit, git, driftIgnore, learnedEdges, restore, proposeChanges, driftWatch, protectedNamespaces, permalink, clusterView } = this.deps;
    return { incident, step, playbook, cluster, anomalies, settings, ledger, traffic, journal, audit, git, driftIgnore, learnedEdges, restore, proposeChanges, driftWatch, protectedNamespaces, permalink, clusterView, logger, now: this.clock, sleep: this.sleep };
  }

  private async runStep(incidentId: string, stepId: string): Promise<void> {
    const log = this.log(incidentId, { step: stepId, job: 'run-step' });
    let incident: Incident;
    try {
      const started = await this.deps.store.transition(incidentId, (i) => startStep(i, stepId, this.clock()));
      if (!started) return;
      incident = started.incident;
      log.info({ resumed: started.resumed }, started.resumed ? 'resuming an interrupted step' : 'step started');
    } catch (error) {
      if (error instanceof TransitionRefused) {
        log.info({ reason: error.message }, 'step not runnable; skipping');
        // A worker that died after recording the step done, before preparing the next one, leaves
        // this job to be run again: the playbook goes on from here (prepareStep is idempotent).
        // Slack is brought up to date too (that worker may have died before it redrew the message).
        const now = await this.deps.store.get(incidentId);
        if (now?.steps[stepId]?.status !== 'done') return;
        await this.publish(incidentId);
        if (now.status === 'open') await this.prepareNext(now);
        return;
      }
      throw error;
    }
    await this.publish(incidentId);
    const step = this.definition(stepId);
    try {
      const outcome = await this.handler(step).execute(this.context(incident, step, log));
      if (outcome.continues) {
        if (!this.restoreRunner) throw new Error('the restore step needs the restore store (Redis) configured');
        if (outcome.events.length > 0) await this.deps.store.appendEvents(incidentId, outcome.events);
        log.info({ result: outcome.result.summary }, 'step goes on in the background');
        await this.restoreRunner.begin(incidentId, outcome.continues);
        return;
      }
      const done = await this.deps.store.transition(incidentId, (i) => completeStep(i, stepId, outcome.result, outcome.events, this.clock(), outcome.containment));
      log.info({ result: outcome.result.summary }, 'step completed');
      await this.publish(incidentId);
      for (const file of outcome.files ?? []) {
        await this.deps.chat.uploadFile({ channel: incident.channel, threadTs: incident.messageTs, filename: file.filename, content: file.content, comment: file.comment }).catch((error: unknown) => log.warn({ err: error }, 'attaching a file to the thread failed'));
      }
      if (done && outcome.containment) await this.containment.scheduleTimeBox(done.incident);
      if (done && typeof outcome.result.trafficUntil === 'string') await this.containment.scheduleTrafficReport(incidentId, outcome.result.trafficUntil);
      if (done) await this.prepareNext(done.incident);
    } catch (error) {
      // Redis lost the incident under the step (restarted without its data): nothing to record the
      // failure in. Say so where people look, naming what the step may have left in the cluster.
      if (!(await this.deps.store.get(incidentId))) return this.incidentLost(incident, step, log, error);
      log.error({ err: error }, 'step failed');
      // Containment applied but not proven stays in force (and liftable): the incident stays open.
      const inForce = error instanceof ContainmentNotProven ? { containment: error.containment, events: error.events } : undefined;
      const failed = await this.deps.store.transition(incidentId, (i) => (i.status === 'open' ? failStep(i, stepId, (error as Error).message, this.clock(), inForce) : null));
      await this.publish(incidentId);
      if (failed && inForce) {
        await this.containment.scheduleTimeBox(failed.incident);
        const next = failed.incident.currentStep;
        if (next && failed.incident.steps[next]?.status === 'pending') await this.prepareStep(failed.incident, next);
      }
    }
  }

  private async incidentLost(incident: Incident, step: PlaybookStep, log: Logger, error: unknown): Promise<void> {
    const find = `kubectl get networkpolicies -A -l ${INCIDENT_LABEL}=${incident.id}; kubectl get pods -A -l ${QUARANTINE_LABEL}=${incident.id}`;
    const text =
      `:warning: Incident \`${incident.id}\` is no longer in Redis (did Redis restart without its data? Run it with AOF). ` +
      `Its step *${step.title}* was running and is left as it is: anything it applied stays in force, and the bot no longer tracks or lifts it. ` +
      `Find it with \`${find}\`; delete it when it is safe, or open a new incident.`;
    log.error({ err: error, step: step.id }, `incident ${incident.id} is no longer in Redis while its step ran; what it applied stays in the cluster (${find})`);
    await this.deps.chat.postMessage(incident.channel, { text, blocks: [] }).catch((failure: unknown) => log.warn({ err: failure }, 'telling the channel failed'));
  }

  /** Prepares the incident's current step when it waits to be prepared (after a step completed). */
  private async prepareNext(incident: Incident): Promise<void> {
    const next = incident.currentStep;
    if (next && incident.steps[next]?.status === 'pending') await this.prepareStep(incident, next);
  }

  private async remind(incidentId: string, stepId: string, reminder: number): Promise<void> {
    const step = this.definition(stepId);
    const out = await this.deps.store.transition(incidentId, (i) =>
      i.steps[stepId]?.reminders === reminder - 1 ? recordReminder(i, stepId, step.approval, this.clock()) : null,
    );
    if (!out) return;
    this.log(incidentId, { step: stepId }).info({ reminder }, 'approval reminder posted');
    await this.publish(incidentId);
    if (reminder < step.approval.maxReminders) {
      await this.deps.queue.enqueue({ name: 'remind', data: { incidentId, stepId, reminder: reminder + 1 } }, { delayMs: step.approval.remindEvery });
    }
  }

  /** "Contain with <strategy>": proposes the contain step again with a stronger strategy. */
  async containStronger(incidentId: string, userId: string, strategy: string): Promise<DecisionResult> {
    const result = await this.containment.retryStronger(incidentId, userId, strategy);
    if (result.incident && result.incident.currentStep) {
      const { incident } = result;
      void this.publish(incidentId)
        .then(() => this.prepareStep(incident, incident.currentStep as string))
        .catch((error: unknown) => this.log(incidentId).error({ err: error }, 'proposing the stronger containment failed'));
    }
    return { ok: result.ok, message: result.message };
  }

  /** Records an Approve/Reject click. Refusals change nothing and explain why. */
  async decide(input: { incidentId: string; stepId: string; userId: string; decision: 'approve' | 'reject' }): Promise<DecisionResult> {
    const log = this.log(input.incidentId, { step: input.stepId, user: input.userId });
    if (!(await this.deps.approvers.isApprover(input.userId))) {
      log.warn({ decision: input.decision }, 'decision refused: not an approver');
      return { ok: false, message: `Only approvers (${this.deps.approvers.mentions()}) can approve or reject this step. Nothing changed.` };
    }
    const step = this.definition(input.stepId);
    try {
      if (input.decision === 'approve') {
        const out = await this.deps.store.transition(input.incidentId, (i) => recordApproval(i, input.stepId, step.approval, input.userId, this.clock()));
        if (out?.approved) await this.enqueueRun(input.incidentId, input.stepId, (out.incident.steps[input.stepId]?.attempts ?? 0) + 1);
        void this.publish(input.incidentId).catch((error: unknown) => log.error({ err: error }, 'updating Slack failed'));
        log.info({ approved: out?.approved }, 'approval recorded');
        return { ok: true, message: out?.approved ? `Approved: ${step.title} is running.` : 'Approval recorded; a second approver is needed.' };
      }
      const out = await this.deps.store.transition(input.incidentId, (i) => recordRejection(i, input.stepId, input.userId, this.clock(), step));
      const skipped = out?.incident.steps[input.stepId]?.status === 'skipped';
      // Declined under onReject: skip: the playbook goes on with the next step, prepared after Slack is redrawn.
      void this.publish(input.incidentId)
        .then(() => (skipped && out ? this.prepareNext(out.incident) : undefined))
        .catch((error: unknown) => log.error({ err: error }, skipped ? 'going on after the skipped step failed' : 'updating Slack failed'));
      log.info(skipped ? 'step declined and skipped' : 'step rejected');
      if (skipped) return { ok: true, message: `Declined: ${step.title} is skipped; ${out?.incident.currentStep ? 'the playbook goes on' : 'the playbook is finished'}.` };
      return { ok: true, message: `Rejected: nothing will be applied for ${step.title}.` };
    } catch (error) {
      if (error instanceof TransitionRefused) return { ok: false, message: error.message };
      throw error;
    }
  }

  private async export(data: Extract<IncidentJob, { name: 'export' }>['data']): Promise<void> {
    const incident = await this.deps.store.get(data.incidentId);
    if (!incident) {
      await this.reply(data.responseUrl, data.channel, data.userId, `No incident with id \`${data.incidentId}\`.`);
      return;
    }
    const content = await this.postmortem(incident, data.format);
    const filename = postmortemFileName(incident.id, data.format);
    await this.deps.chat.uploadFile({ channel: incident.channel, threadTs: incident.messageTs, filename, content, comment: `Postmortem timeline for incident ${incident.id}` });
    await this.deps.store.appendEvents(incident.id, [
      { at: this.clock().toISOString(), type: 'export.created', actor: slackActor(data.userId), summary: `Postmortem timeline exported as ${filename}`, data: { format: data.format } },
    ]);
    await this.publish(incident.id);
  }

  /** The postmortem document, with Slack user ids resolved to names where Slack knows them. */
  async postmortem(incident: Incident, format: ExportFormat): Promise<string> {
    const timeline = await this.deps.store.timeline(incident.id);
    const ids = new Set([...[requesterUserId(incident)].filter((u): u is string => !!u), ...timeline.map((e) => actorUserId(e.actor)).filter((u): u is string => !!u)]);
    const userNames: Record<string, string> = {};
    await Promise.all(
      [...ids].map(async (id) => {
        const name = await this.deps.chat.userName(id);
        if (name) userNames[id] = name;
      }),
    );
    const stepTitles = Object.fromEntries(this.deps.playbook.steps.map((s) => [s.id, s.title]));
    return renderPostmortem(format, { incident, timeline, stepTitles, userNames, generatedAt: this.clock() });
  }

  private render(incident: Incident) {
    return incidentMessage(incident, this.deps.playbook, { approversText: this.deps.approvers.mentions() });
  }

  /**
   * Brings Slack up to date: redraws the incident message from the latest state and posts every
   * timeline event not yet in the thread. One process at a time per incident (a Redis lock); a
   * caller that finds the lock taken leaves a mark that the holder picks up before it lets go.
   */
  async publish(incidentId: string): Promise<void> {
    const { store, chat } = this.deps;
    await store.markDirty(incidentId);
    for (let round = 0; round < 100; round += 1) {
      // The holder may have died holding the lock (a killed worker): its mark would wait for the
      // next change, which may never come (the last step). Wait the lock out once, then go on.
      if (round === 50) await this.sleep(Math.min(await store.threadLockRemainingMs(incidentId), 15_000));
      const ran = await store.withThreadLock(incidentId, async () => {
        while (await store.takeDirty(incidentId)) {
          const incident = await store.require(incidentId);
          if (!incident.messageTs) return;
          await chat.updateMessage(incident.channel, incident.messageTs, this.render(incident));
          for (const event of await store.timeline(incidentId, await store.threadCursor(incidentId))) {
            const mention = event.type === 'approval.reminder' ? ` ${this.deps.approvers.mentions()}` : '';
            await chat.postMessage(incident.channel, { text: timelineReply(event) + mention, blocks: [] }, incident.messageTs);
            await store.setThreadCursor(incidentId, event.id);
          }
        }
      });
      if (!(await store.isDirty(incidentId))) return;
      if (!ran) await this.sleep(20);
    }
    this.log(incidentId).warn('Slack view still out of date after many rounds; the next change will redraw it');
  }
}

export { botActor };
