// What happens to containment after the contain step: its time box (a reminder, then the lift),
// "Lift containment" under the contain step's approval rule, "Keep contained" for an automatic
// containment, and the lift itself, verified: afterwards the engine's connectivity of the scope
// must equal what it was before containment, unless policies changed meanwhile (then it shows how).
import { containmentDeps, liftContainment, type ContainmentSettings, type LiftReport } from '../containment/execute.js';
import type { ContainmentLedger, LedgerRecord } from '../containment/ledger.js';
import type { TrafficCheck } from '../containment/traffic.js';
import { describeTrafficVerdict } from '../containment/traffic-describe.js';
import { computeOffThread } from '../compute/thread.js';
import { shareLive } from '../compute/shared-lists.js';
import { connectivityDifference } from '../containment/proof.js';
import { readLiveObjects, servedKinds } from '../containment/snapshot.js';
import { completeLift, failLift, keepContained, liftable, recordLiftApproval, retryContainment, startLift } from '../incident/containment-transitions.js';
import type { Incident } from '../incident/model.js';
import type { IncidentStore } from '../incident/store.js';
import { TransitionRefused } from '../incident/transitions.js';
import { incidentLogger, type Logger } from '../log.js';
import type { JobQueue } from '../queue/bullmq.js';
import type { ApproverDirectory } from '../slack/approvers.js';
import { botActor, type TimelineEvent } from '../timeline/types.js';
import type { Playbook } from './schema.js';
import type { ClusterAccess } from './steps/types.js';

export interface ContainmentRunnerDeps {
  store: IncidentStore;
  queue: JobQueue;
  playbook: Playbook;
  cluster: ClusterAccess;
  ledger: ContainmentLedger;
  traffic?: TrafficCheck;
  approvers: ApproverDirectory;
  settings: ContainmentSettings;
  logger: Logger;
  clock: () => Date;
  sleep: (ms: number) => Promise<void>;
  /** Brings Slack up to date with the incident (message and thread). */
  publish: (incidentId: string) => Promise<void>;
}

export interface DecisionResult {
  ok: boolean;
  message: string;
}

/** Reminder before the time box runs out: 5 minutes, or a quarter of a shorter box. */
export function expiryReminderLeadMs(boxMs: number): number {
  return Math.min(5 * 60_000, Math.floor(boxMs / 4));
}

/**
 * The minutes a time box has left, for its expiry notice; null once it has ended. The notice's job
 * can run late (the wall clock stepped forward, the queue was stalled): after the end the expiry
 * job lifts containment, and "ends in about 1 min" would be false.
 */
export function minutesLeftToAnnounce(expiresAt: string, now: Date): number | null {
  const left = Date.parse(expiresAt) - now.getTime();
  if (!(left > 0)) return null;
  return Math.max(1, Math.round(left / 60_000));
}

const LIST = 10;

export class ContainmentRunner {
  constructor(private readonly deps: ContainmentRunnerDeps) {}

  private log(incidentId: string): Logger {
    return incidentLogger(this.deps.logger, incidentId, { module: 'containment' });
  }

  /** The approval rule for lifting: the contain step's own. */
  private liftRule(incident: Incident) {
    const stepId = incident.stepOrder.find((id) => this.deps.playbook.steps.find((s) => s.id === id)?.action === 'contain');
    return this.deps.playbook.steps.find((s) => s.id === stepId)?.approval.rule ?? 'one';
  }

  /** Schedules the time box's reminder and expiry once containment is in force. */
  async scheduleTimeBox(incident: Incident): Promise<void> {
    const expiresAt = incident.containment?.expiresAt;
    if (!expiresAt || incident.containment?.status !== 'active') return;
    const left = Date.parse(expiresAt) - this.deps.clock().getTime();
    const box = Date.parse(expiresAt) - Date.parse(incident.containment.appliedAt);
    const lead = expiryReminderLeadMs(box);
    if (left > lead && lead > 0) await this.deps.queue.enqueue({ name: 'containment-expiry-reminder', data: { incidentId: incident.id, expiresAt } }, { delayMs: left - lead });
    await this.deps.queue.enqueue({ name: 'containment-expire', data: { incidentId: incident.id, expiresAt } }, { delayMs: Math.max(0, left) });
  }

  /** Reads the collector's traffic verdict once the window after the apply has passed. */
  async scheduleTrafficReport(incidentId: string, until: string): Promise<void> {
    const delayMs = Math.max(0, Date.parse(until) - this.deps.clock().getTime());
    await this.deps.queue.enqueue({ name: 'containment-traffic', data: { incidentId } }, { delayMs });
  }

  async reportTraffic(incidentId: string): Promise<void> {
    if (!this.deps.traffic) return;
    const verdict = await this.deps.traffic.waitForTrafficVerdict(incidentId);
    if (!verdict) return;
    const { summary, detail } = describeTrafficVerdict(verdict);
    await this.deps.store.appendEvents(incidentId, [
      { at: this.deps.clock().toISOString(), type: 'containment.traffic', actor: botActor, summary: [summary, ...detail.map((d) => `• ${d}`)].join('\n'), data: { verdict } },
    ]);
    await this.deps.publish(incidentId);
  }

  async remindExpiry(incidentId: string, expiresAt: string): Promise<void> {
    const incident = await this.deps.store.get(incidentId);
    if (!incident || incident.containment?.expiresAt !== expiresAt || !liftable(incident)) return;
    const minutes = minutesLeftToAnnounce(expiresAt, this.deps.clock());
    if (minutes === null) return;
    await this.deps.store.appendEvents(incidentId, [
      {
        at: this.deps.clock().toISOString(),
        type: 'containment.expiring',
        actor: botActor,
        summary: `Containment ends in about ${minutes} min (${expiresAt}), then it is lifted and verified. ${incident.containment?.auto ? 'Click *Keep contained* to keep it.' : 'Lift it sooner with *Lift containment*.'}`,
      },
    ]);
    await this.deps.publish(incidentId);
  }

  async expire(incidentId: string, expiresAt: string): Promise<void> {
    const out = await this.deps.store.transition(incidentId, (i) => (i.containment?.expiresAt === expiresAt && liftable(i) ? startLift(i, 'expired', botActor, this.deps.clock()) : null));
    if (!out) return;
    this.log(incidentId).info({ expiresAt }, 'containment time box ran out: lifting');
    await this.enqueueLift(out.incident);
    await this.deps.publish(incidentId);
  }

  /** A "Lift containment" click. Refusals change nothing and explain why. */
  async decideLift(incidentId: string, userId: string): Promise<DecisionResult> {
    if (!(await this.deps.approvers.isApprover(userId))) {
      return { ok: false, message: `Only approvers (${this.deps.approvers.mentions()}) can lift containment. Nothing changed.` };
    }
    try {
      const incident = await this.deps.store.require(incidentId);
      const out = await this.deps.store.transition(incidentId, (i) => recordLiftApproval(i, this.liftRule(incident), userId, this.deps.clock()));
      if (out?.approved) await this.enqueueLift(out.incident);
      void this.deps.publish(incidentId).catch((error: unknown) => this.log(incidentId).error({ err: error }, 'updating Slack failed'));
      return { ok: true, message: out?.approved ? 'Lifting containment: the thread shows the result and its verification.' : 'Approval recorded; lifting needs a second approver.' };
    } catch (error) {
      if (error instanceof TransitionRefused) return { ok: false, message: error.message };
      throw error;
    }
  }

  /** "Keep contained" (approvers): the automatic containment becomes a normal one, without a time box. */
  async keep(incidentId: string, userId: string): Promise<DecisionResult> {
    if (!(await this.deps.approvers.isApprover(userId))) return { ok: false, message: `Only approvers (${this.deps.approvers.mentions()}) can keep a containment. Nothing changed.` };
    try {
      await this.deps.store.transition(incidentId, (i) => keepContained(i, userId, this.deps.clock()));
      void this.deps.publish(incidentId).catch(() => undefined);
      return { ok: true, message: 'Kept contained: no time box; lift it with *Lift containment* when ready.' };
    } catch (error) {
      if (error instanceof TransitionRefused) return { ok: false, message: error.message };
      throw error;
    }
  }

  /**
   * "Contain with <strategy>" (approvers) after containment was not proven: the contain step is
   * proposed again with that strategy. Returns the incident to prepare, or a refusal.
   */
  async retryStronger(incidentId: string, userId: string, strategy: string): Promise<DecisionResult & { incident?: Incident }> {
    if (!(await this.deps.approvers.isApprover(userId))) return { ok: false, message: `Only approvers (${this.deps.approvers.mentions()}) can change the containment. Nothing changed.` };
    try {
      const stepId = (await this.deps.store.require(incidentId)).stepOrder.find((id) => this.deps.playbook.steps.find((s) => s.id === id)?.action === 'contain');
      if (!stepId) return { ok: false, message: 'This playbook has no contain step. Nothing changed.' };
      const out = await this.deps.store.transition(incidentId, (i) => retryContainment(i, stepId, strategy, userId, this.deps.clock()));
      return { ok: true, message: `A proposal with \`${strategy}\` follows in the incident message, for approval.`, ...(out ? { incident: out.incident } : {}) };
    } catch (error) {
      if (error instanceof TransitionRefused) return { ok: false, message: error.message };
      throw error;
    }
  }

  /** "Lift now" on an automatic containment (approvers). */
  async liftNow(incidentId: string, userId: string): Promise<DecisionResult> {
    if (!(await this.deps.approvers.isApprover(userId))) return { ok: false, message: `Only approvers (${this.deps.approvers.mentions()}) can lift containment. Nothing changed.` };
    try {
      const out = await this.deps.store.transition(incidentId, (i) => startLift(i, 'lift-now', `slack:${userId}`, this.deps.clock()));
      if (out) await this.enqueueLift(out.incident);
      void this.deps.publish(incidentId).catch(() => undefined);
      return { ok: true, message: 'Lifting containment now: the thread shows the result and its verification.' };
    } catch (error) {
      if (error instanceof TransitionRefused) return { ok: false, message: error.message };
      throw error;
    }
  }

  private async enqueueLift(incident: Incident): Promise<void> {
    const attempt = (await this.deps.store.timeline(incident.id)).filter((e) => e.type === 'containment.lift-failed').length + 1;
    await this.deps.queue.enqueue({ name: 'lift', data: { incidentId: incident.id, attempt } });
  }

  /** The lift job: reverses the ledger, then verifies connectivity against the baseline. */
  async lift(incidentId: string): Promise<void> {
    const log = this.log(incidentId);
    const incident = await this.deps.store.get(incidentId);
    if (!incident || incident.containment?.status !== 'lifting') return;
    const now = () => this.deps.clock().toISOString();
    try {
      const record = await this.deps.ledger.load(incidentId);
      const deps = containmentDeps(this.deps.cluster, this.deps.ledger, this.deps.settings, log, this.deps.sleep);
      const report: LiftReport | undefined = record ? await liftContainment(deps, incidentId) : undefined;
      const events: TimelineEvent[] = [{ at: now(), type: 'containment.lifted', actor: botActor, summary: liftSummary(report), data: { report: report ?? null } }];
      if (record) events.push(await this.verify(record));
      await this.deps.ledger.markLifted(incidentId, now());
      await this.deps.store.transition(incidentId, (i) => (i.containment?.status === 'lifting' ? completeLift(i, events, this.deps.clock()) : null));
      log.info('containment lifted');
    } catch (error) {
      log.error({ err: error }, 'lifting containment failed');
      await this.deps.store.transition(incidentId, (i) => (i.containment?.status === 'lifting' ? failLift(i, (error as Error).message, this.deps.clock()) : null));
    }
    await this.deps.publish(incidentId);
  }

  private async verify(record: LedgerRecord): Promise<TimelineEvent> {
    const at = this.deps.clock().toISOString();
    const { baseline } = record.meta;
    // Recorded before a containment becomes active: missing only from one never fully applied.
    if (!baseline) return { at, type: 'containment.lift-verified', actor: botActor, summary: 'Lift not verified: no connectivity from before containment was recorded (its apply never finished)', data: { verified: false } };
    const live = await readLiveObjects(this.deps.cluster, servedKinds(await this.deps.cluster.discoverKinds()));
    const scope = { namespace: record.meta.namespace, ...(record.meta.labelSelector ? { labelSelector: record.meta.labelSelector } : {}) };
    // On a compute thread: connectivity and fingerprint over the whole cluster are seconds of CPU
    // at 10k pods and policies, which on this event loop would hold up every click meanwhile.
    const { connectivity: now, fingerprint } = await computeOffThread('containmentBaseline', { live: shareLive(live), scope }, { priority: 'interactive' });
    const diff = connectivityDifference(baseline.connectivity, now);
    const policiesChanged = fingerprint !== baseline.fingerprint;
    const lines = (label: string, items: string[]): string[] => (items.length === 0 ? [] : [`${label} (${items.length}):`, ...items.slice(0, LIST).map((l) => `• ${l}`), ...(items.length > LIST ? [`… and ${items.length - LIST} more`] : [])]);
    if (diff.lost.length === 0 && diff.gained.length === 0 && diff.changed.length === 0) {
      return { at, type: 'containment.lift-verified', actor: botActor, summary: `Lift verified by the engine: the scope's connectivity is what it was before containment (${now.length} connection${now.length === 1 ? '' : 's'})`, data: { verified: true, connections: now.length } };
    }
    const why = policiesChanged ? 'Policies changed during containment, so connectivity differs from before it:' : '*Connectivity differs from before containment although no policy changed:* check the objects listed.';
    return {
      at,
      type: 'containment.lift-verified',
      actor: botActor,
      summary: [why, ...lines('Open before, closed now', diff.lost), ...lines('Open both times, other connections (before → now)', diff.changed), ...lines('Closed before, open now', diff.gained)].join('\n'),
      data: { verified: false, policiesChanged, ...diff },
    };
  }
}

function liftSummary(report: LiftReport | undefined): string {
  if (!report) return 'Containment lifted (nothing was recorded as applied)';
  const parts = [`deleted ${report.deleted.map((d) => `${d.kind} \`${d.name}\``).join(' and ') || 'nothing'}`];
  if (report.restored.length > 0) {
    const edited = report.restored.filter((r) => r.edited).map((r) => `\`${r.name}\``);
    parts.push(`removed the exclusion from ${report.restored.length} polic${report.restored.length === 1 ? 'y' : 'ies'}${edited.length > 0 ? ` (their owners' edits kept: ${edited.join(', ')})` : ''}`);
  }
  if (report.policiesGone.length > 0) parts.push(`${report.policiesGone.length} excluded polic${report.policiesGone.length === 1 ? 'y was' : 'ies were'} deleted meanwhile`);
  if (report.unlabelled.length > 0) parts.push(`unlabelled ${report.unlabelled.length} pod${report.unlabelled.length === 1 ? '' : 's'}`);
  if (report.applications.length > 0) parts.push(`resumed Argo CD ${report.applications.map((a) => `\`${a}\``).join(', ')}`);
  return `Containment lifted: ${parts.join('; ')}`;
}
