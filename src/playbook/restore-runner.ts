// The restore step in the background: one job per step of the plan ('restore-continue', keyed by
// plan, step and round, so a duplicate never runs a step twice and a stale one does nothing).
// Each job applies its step, reads it back and verifies it (object and engine), opens the traffic
// window and, when the window has passed, judges the flows; then the next step's job follows, or
// the run waits (a step approval, Stop, a failed verification, a field-manager conflict). After
// the last step the containment is lifted (verified), the watch window opens, and when it ends the
// restore step completes and the playbook moves on. Steps left to a GitOps controller
// (../restore/handover.ts) come after the lift, which resumes the reconcile containment paused.
// Decisions from Slack: ./restore-decisions.ts.
import { readLiveObjects, servedKinds } from '../containment/snapshot.js';
import type { TrafficCheck } from '../containment/traffic.js';
import { startLift } from '../incident/containment-transitions.js';
import type { Incident } from '../incident/model.js';
import { beginRestore, endRestore, finishStep, noteRefire, replanRestore, setRunStatus } from '../incident/restore-transitions.js';
import type { IncidentStore } from '../incident/store.js';
import { completeStep } from '../incident/transitions.js';
import { incidentLogger, type Logger } from '../log.js';
import { allowed, buildIndex, type LiveObjects } from '../policy/index.js';
import type { JobQueue } from '../queue/bullmq.js';
import { executeStep, type StepContext as ExecuteContext, type StepResult } from '../restore/execute.js';
import { EngineSession } from '../restore/engine-session.js';
import { MAX_LINES, replanFrom, type RestorePlan, type RestoreStep } from '../restore/plan.js';
import type { LiveClusterView } from '../restore/cluster-view.js';
import type { RestoreStore } from '../restore/plan-store.js';
import { liftAtOf } from '../restore/handover.js';
import { isLiftStep, stepWaits, type RestoreRun } from '../restore/run-model.js';
import { appliedEvent, failedEvent, replannedEvent, type TrafficEvidence } from '../restore/step-events.js';
import { judgeTraffic, RESTORE_WATCH_SAMPLES, restoreWatchScope } from '../restore/traffic-judge.js';
import { botActor, type TimelineEvent } from '../timeline/types.js';
import type { ContainmentRunner } from './containment-runner.js';
import type { Playbook } from './schema.js';
import { restoreParams, type RestoreParams } from './steps/restore.js';
import type { AnomalyLookup, ClusterAccess, StepContext, StepOutcome, StepSettings } from './steps/types.js';

export interface RestoreRunnerDeps {
  store: IncidentStore;
  queue: JobQueue;
  playbook: Playbook;
  cluster: ClusterAccess;
  restore: RestoreStore;
  traffic?: TrafficCheck;
  anomalies?: AnomalyLookup;
  learnedEdges?: StepContext['learnedEdges'];
  settings: StepSettings;
  containment: ContainmentRunner;
  logger: Logger;
  clock: () => Date;
  /** Brings Slack up to date with the incident (message and thread). */
  publish: (incidentId: string) => Promise<void>;
  /** Namespaces, pods and policies as watches keep them (absent: each step lists them). */
  clusterView?: LiveClusterView;
  /** The restore step completed: the engine prepares the playbook's next step, if any. */
  advance: (incident: Incident) => Promise<void>;
}

type Expect = { planId: string; n: number; round: number };

/** The dedupe key of an anomaly, from its id (`${dedupeKey}@${firstSeen}`). */
export function dedupeKeyOf(anomalyId: string): string {
  const at = anomalyId.lastIndexOf('@');
  return at > 0 ? anomalyId.slice(0, at) : anomalyId;
}

export class RestoreRunner {
  /** The engine of the run measured last, kept between its steps (one run at a time keeps one). */
  private engine: { incidentId: string; session: EngineSession } | undefined;

  constructor(readonly deps: RestoreRunnerDeps) {}

  /** Namespaces, pods and policies from the watched view, for the engine check (listing them each step is slow on big clusters). */
  private viewed(): Pick<ExecuteContext, 'workloads' | 'policies'> {
    const view = this.deps.clusterView;
    return view ? { workloads: () => view.workloads(), policies: () => view.policies() } : {};
  }

  private engineOf(incidentId: string): EngineSession {
    if (this.engine?.incidentId !== incidentId) this.engine = { incidentId, session: new EngineSession(MAX_LINES) };
    return this.engine.session;
  }

  log(incidentId: string): Logger {
    return incidentLogger(this.deps.logger, incidentId, { module: 'restore' });
  }

  /** The playbook's restore step of the incident (its id and parameters). */
  stepOf(incident: Incident): { id: string; params: RestoreParams; rule: Playbook['steps'][number]['approval']['rule'] } {
    const def = this.deps.playbook.steps.find((s) => s.action === 'restore' && incident.stepOrder.includes(s.id));
    if (!def) throw new Error('the playbook has no restore step');
    return { id: def.id, params: restoreParams(def.params), rule: def.approval.rule };
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }

  async enqueue(incidentId: string, run: Pick<RestoreRun, 'planId' | 'next' | 'round'>, delayMs = 0): Promise<void> {
    await this.deps.queue.enqueue({ name: 'restore-continue', data: { incidentId, planId: run.planId, n: run.next, round: run.round } }, delayMs > 0 ? { delayMs } : undefined);
  }

  /** Queues the job the run's state waits for (job ids make a duplicate a no-op). */
  private async ensureNext(incidentId: string, run: RestoreRun): Promise<void> {
    const left = (at: string | undefined) => Math.max(0, Date.parse(at ?? '') - this.deps.clock().getTime() || 0);
    if (run.status === 'running' || run.status === 'lifting') await this.enqueue(incidentId, run);
    if (run.status === 'traffic-wait') await this.enqueue(incidentId, run, left(run.trafficUntil));
    if (run.status === 'watching') await this.deps.queue.enqueue({ name: 'restore-watch-end', data: { incidentId, planId: run.planId } }, { delayMs: left(run.watchUntil) });
  }

  /** The restore step's execute handed over its plan: the run starts (or goes on, after a crash). */
  async begin(incidentId: string, start: NonNullable<StepOutcome['continues']>): Promise<void> {
    const out = await this.deps.store.transition(incidentId, (i) => beginRestore(i, start, this.deps.clock()));
    await this.deps.publish(incidentId);
    const run = out?.incident.restore;
    if (run && (run.status === 'running' || run.status === 'traffic-wait')) await this.enqueue(incidentId, run);
  }

  /** One job: step `n` of plan `planId` in round `round`; anything else is stale and does nothing. */
  async continue(incidentId: string, expect: Expect): Promise<void> {
    const incident = await this.deps.store.get(incidentId);
    const run = incident?.restore;
    if (!incident || incident.status !== 'open' || !run) return;
    // A stale job (a worker died between a transition and queueing what follows it) makes sure the current one is queued.
    if (run.planId !== expect.planId || run.next !== expect.n || run.round !== expect.round) return this.ensureNext(incident.id, run);
    // Stop during the traffic window: the applied step is still judged (and the run stays stopped).
    if (run.status === 'traffic-wait' || (run.status === 'stopped' && run.pending)) return this.judge(incident, run);
    if (run.status === 'lifting' || (run.status === 'running' && (isLiftStep(run) || run.next > run.total))) return this.liftAndWatch(incident, run);
    if (run.status === 'watching') return this.ensureNext(incident.id, run);
    if (run.status !== 'running') return;
    const plan = await this.deps.restore.loadPlan(incidentId, run.planId);
    const step = plan.steps[run.next - 1];
    if (!step) throw new Error(`restore plan ${run.planId} has no step ${run.next}`);
    const { params } = this.stepOf(incident);
    const log = this.log(incidentId);
    log.info({ n: step.n, action: step.action, object: step.name }, 'restore step');
    const result = await executeStep(step, { gateway: this.deps.cluster, fieldManager: this.deps.settings.fieldManager, incidentId, records: this.deps.restore.records, force: run.forced === step.n, logger: log, now: this.deps.clock, ...this.viewed(), measure: (...args) => this.engineOf(incidentId).measure(...args), sync: { timeoutMs: params.syncTimeout } });
    if (!result.ok) return this.failed(incident, run, plan, step, result);
    const watching = params.trafficWindow > 0 && this.deps.traffic && (await this.deps.traffic.collectorRunning().catch(() => false));
    if (watching && this.deps.traffic) {
      const from = this.deps.clock().getTime();
      const until = from + params.trafficWindow;
      const pods = await this.deps.cluster.listPods(incident.scope.namespace).catch(() => []);
      await this.deps.traffic.register(watchIdOf(incidentId, step.n, run.round), restoreWatchScope(incident.scope.namespace, pods.map((p) => p.metadata?.name ?? '').filter(Boolean)), from, until, { samples: RESTORE_WATCH_SAMPLES });
      const out = await this.deps.store.transition(incidentId, (i) => setRunStatus(i, expect, i.restore?.status === 'stopped' ? 'stopped' : 'traffic-wait', this.deps.clock(), [], { trafficUntil: new Date(until).toISOString(), round: run.round + 1, pending: { applied: result.applied, object: result.verification.object, engine: result.verification.engine } }));
      await this.deps.publish(incidentId);
      if (out?.incident.restore) await this.enqueue(incidentId, out.incident.restore, until - this.deps.clock().getTime());
      return;
    }
    await this.finish(incident, run, step, result, { status: params.trafficWindow > 0 ? 'no-collector' : 'skipped', lines: params.trafficWindow > 0 ? ['no flow collector is running: the step is verified by object and engine only'] : [] });
  }

  /** The traffic window of step `next` has passed: the flows decide. */
  private async judge(incident: Incident, run: RestoreRun): Promise<void> {
    const plan = await this.deps.restore.loadPlan(incident.id, run.planId);
    const step = plan.steps[run.next - 1] as RestoreStep;
    const verdict = (await this.deps.traffic?.waitForTrafficVerdict(watchIdOf(incident.id, step.n, run.round - 1))) ?? null;
    const live = await this.liveNow();
    const anomalies = (await this.deps.anomalies?.forIncident(incident).catch(() => [])) ?? [];
    const learned = this.deps.learnedEdges ? await this.deps.learnedEdges(plan.namespaces.filter((n) => !n.includes('*'))).catch(() => ({ edges: [] })) : { edges: [] };
    const index = buildIndex(live).index;
    const expectedOpen = learned.edges.filter((e) => {
      try {
        return allowed(index, e.src, e.dst, e.port, e.protocol as 'TCP').allowed;
      } catch {
        return false;
      }
    });
    const traffic = judgeTraffic({ verdict, expectedOpen, anomalyFlows: anomalies.flatMap((a) => a.probes ?? []) });
    const pending = run.pending ?? { applied: 'updated' as const, object: { ok: true, detail: 'object: checked when applied' }, engine: { ok: true, detail: 'engine: checked when applied' } };
    const verification = { object: pending.object, engine: pending.engine };
    if (traffic.status === 'fail') {
      const { id: stepId } = this.stepOf(incident);
      const event = failedEvent(this.now(), stepId, run.planId, step, { reason: 'verify-failed', message: 'the flows in the window contradict the step', traffic, verification });
      await this.deps.store.transition(incident.id, (i) => setRunStatus(i, { planId: run.planId, n: run.next, round: run.round }, 'verify-failed', this.deps.clock(), [event], { failure: { n: step.n, reason: 'verify-failed', message: 'traffic verification failed' } }));
      await this.deps.publish(incident.id);
      return;
    }
    const result: Extract<StepResult, { ok: true }> = { ok: true, applied: pending.applied, readBack: null, verification };
    await this.finish(incident, run, step, result, traffic);
  }

  private async finish(incident: Incident, run: RestoreRun, step: RestoreStep, result: Extract<StepResult, { ok: true }>, traffic: TrafficEvidence): Promise<void> {
    const { id: stepId } = this.stepOf(incident);
    const approvedBy = run.mode === 'step' ? run.stepApprovals.map((a) => a.user) : run.planApprovedBy;
    const event = appliedEvent(this.now(), stepId, run.planId, step, result, traffic, approvedBy);
    const out = await this.deps.store.transition(incident.id, (i) => finishStep(i, { planId: run.planId, n: run.next, round: run.round }, result.applied, this.deps.clock(), [event]));
    await this.deps.publish(incident.id);
    const next = out?.incident.restore;
    if (next?.status === 'running') await this.enqueue(incident.id, next);
  }

  private async failed(incident: Incident, run: RestoreRun, plan: RestorePlan, step: RestoreStep, result: Extract<StepResult, { ok: false }>): Promise<void> {
    const expect = { planId: run.planId, n: run.next, round: run.round };
    const { id: stepId } = this.stepOf(incident);
    this.log(incident.id).warn({ n: step.n, reason: result.reason, message: result.message }, 'restore step did not go through');
    if (result.reason === 'conflict-changed') {
      const fresh = replanFrom(plan, step.n, await this.liveNow());
      const planId = await this.deps.restore.savePlan(incident.id, fresh);
      const event = replannedEvent(this.now(), stepId, run.planId, planId, step.n, fresh);
      const out = await this.deps.store.transition(incident.id, (i) => replanRestore(i, expect, { planId, total: fresh.steps.length, liftAt: liftAtOf(fresh) }, this.deps.clock(), [event]));
      await this.deps.publish(incident.id);
      const next = out?.incident.restore;
      if (next?.status === 'running') await this.enqueue(incident.id, next);
      return;
    }
    const status = result.reason === 'verify-failed' ? 'verify-failed' : result.reason === 'field-conflict' ? 'field-conflict' : 'blocked';
    const event = failedEvent(this.now(), stepId, run.planId, step, result);
    await this.deps.store.transition(incident.id, (i) => setRunStatus(i, expect, status, this.deps.clock(), [event], { failure: { n: step.n, reason: result.reason, message: result.message.slice(0, 500) } }));
    await this.deps.publish(incident.id);
  }

  async liveNow(): Promise<LiveObjects> {
    return readLiveObjects(this.deps.cluster, servedKinds(await this.deps.cluster.discoverKinds()));
  }

  /**
   * The bot's steps are done: containment is lifted (and verified by the lift itself). Then the
   * steps left to GitOps controllers run (the lift resumed the reconcile containment paused), or
   * the watch window opens.
   */
  private async liftAndWatch(incident: Incident, run: RestoreRun): Promise<void> {
    const expect = { planId: run.planId, n: run.next, round: run.round };
    const { id: stepId, params } = this.stepOf(incident);
    const inForce = !run.lifted && incident.containment && incident.containment.status !== 'lifted';
    const handed = run.next <= run.total;
    if (inForce && run.status !== 'lifting' && incident.containment?.status !== 'lifting') {
      const why = handed ? `Before step ${run.next}: the steps left are synced by their GitOps controller, so containment is lifted first (verified; it lets the controller reconcile again)` : `Step ${run.total + 1}: every restore step is done; lifting containment (verified)`;
      const out = await this.deps.store.transition(incident.id, (i) => {
        const lifting = setRunStatus(i, expect, 'lifting', this.deps.clock(), [{ at: this.now(), type: 'restore.lift', actor: botActor, step: stepId, summary: why }]);
        if (!lifting) return null;
        const lift = startLift(lifting.incident, 'restore', botActor, this.deps.clock());
        return { incident: lift.incident, events: [...lifting.events, ...lift.events] };
      });
      if (!out) return;
      await this.deps.publish(incident.id);
    }
    if (inForce) await this.deps.containment.lift(incident.id);
    const after = await this.deps.store.require(incident.id);
    if (after.containment && after.containment.status !== 'lifted') {
      const error = after.containment.liftError ?? `containment is ${after.containment.status}`;
      await this.deps.store.transition(incident.id, (i) => (i.restore?.planId === run.planId ? { incident: { ...i, restore: { ...(i.restore as RestoreRun), status: 'blocked', failure: { n: run.next, reason: 'error', message: `the lift failed: ${error}` } } }, events: [] } : null));
      await this.deps.publish(incident.id);
      return;
    }
    if (handed) return this.afterLift(incident, run, stepId, !incident.containment);
    const watchUntil = new Date(this.deps.clock().getTime() + params.watchWindow).toISOString();
    const keys = (after.anomalyIds ?? []).map(dedupeKeyOf);
    const summary = keys.length > 0 ? `Watching until ${watchUntil}: if the anomaly fires again, this thread says so and offers *Contain again*` : `Watch window until ${watchUntil} (the incident was not opened from an anomaly: nothing to watch for)`;
    const events: TimelineEvent[] = [
      ...(inForce || run.lifted ? [] : [{ at: this.now(), type: 'restore.lift' as const, actor: botActor, step: stepId, summary: 'Every restore step is done; no containment is in force: nothing to lift' }]),
      { at: this.now(), type: 'restore.watch', actor: botActor, step: stepId, summary, data: { until: watchUntil } },
    ];
    const current = after.restore;
    if (!current || current.planId !== run.planId) return;
    await this.deps.store.transition(incident.id, (i) => setRunStatus(i, { planId: current.planId, n: current.next, round: current.round }, 'watching', this.deps.clock(), events, { watchUntil, lifted: true }));
    // Every step is measured: the run's engine is not needed any more.
    if (this.engine?.incidentId === incident.id) this.engine = undefined;
    await this.deps.restore.watch(keys, incident.id);
    await this.deps.publish(incident.id);
    await this.deps.queue.enqueue({ name: 'restore-watch-end', data: { incidentId: incident.id, planId: run.planId } }, { delayMs: params.watchWindow });
  }

  /** Containment is lifted before steps left to GitOps controllers: they run next (step mode: each approved). */
  private async afterLift(incident: Incident, run: RestoreRun, stepId: string, noneInForce: boolean): Promise<void> {
    const current = (await this.deps.store.require(incident.id)).restore;
    if (!current || current.planId !== run.planId || current.lifted) return;
    const lifted = { ...current, lifted: true };
    const status = current.status === 'stopped' ? 'stopped' : stepWaits(lifted) ? 'awaiting-step' : 'running';
    const summary = `${noneInForce ? 'No containment is in force' : 'Containment is lifted'}: steps ${run.next}–${run.total} are synced by their GitOps controller, each verified like any step`;
    const event: TimelineEvent = { at: this.now(), type: 'restore.lift', actor: botActor, step: stepId, summary, data: { handedFrom: run.next } };
    const out = await this.deps.store.transition(incident.id, (i) => setRunStatus(i, { planId: current.planId, n: current.next, round: current.round }, status, this.deps.clock(), [event], { lifted: true, round: current.round + 1 }));
    await this.deps.publish(incident.id);
    const next = out?.incident.restore;
    if (next?.status === 'running') await this.enqueue(incident.id, next);
  }

  /** The watch window ran out: the restore step completes and the playbook moves on. */
  async watchEnd(incidentId: string, planId: string): Promise<void> {
    const incident = await this.deps.store.get(incidentId);
    if (!incident?.restore || incident.restore.planId !== planId) return;
    if (incident.restore.status !== 'watching') {
      // Run again after a worker died between completing the step and preparing the next one.
      const { id: stepId } = this.stepOf(incident);
      if (incident.steps[stepId]?.status !== 'done') return;
      await this.deps.publish(incidentId);
      if (incident.status === 'open') await this.deps.advance(incident);
      return;
    }
    const { id: stepId } = this.stepOf(incident);
    const run = incident.restore;
    const out = await this.deps.store.transition(incidentId, (i) => {
      const ended = endRestore(i, { planId }, this.deps.clock());
      if (!ended) return null;
      const summary = `Restored from ${run.source}: ${run.done.length} step${run.done.length === 1 ? '' : 's'} and the lift${run.refired ? '; the anomaly fired again during the watch window' : '; the watch window passed quietly'}`;
      // The step's completion that follows carries the summary: this event says only what ended, so the thread does not repeat it.
      const windowEnded = run.refired ? 'The watch window ended: the anomaly fired again during it' : 'The watch window ended quietly: the restore is complete';
      const done: TimelineEvent = { at: this.now(), type: 'restore.completed', actor: botActor, step: stepId, summary: windowEnded, data: { source: run.source, steps: run.done.length, refired: run.refired ?? null } };
      return completeStep(ended.incident, stepId, { summary, planId, source: run.source, steps: run.done }, [done], this.deps.clock());
    });
    await this.deps.restore.unwatch((incident.anomalyIds ?? []).map(dedupeKeyOf), incidentId);
    await this.deps.publish(incidentId);
    if (out) await this.deps.advance(out.incident);
  }

  /** An anomaly was raised: an incident watching its dedupe key hears of it. */
  async noticeAnomaly(anomaly: { id: string; dedupeKey: string }): Promise<void> {
    const anomalyId = anomaly.id;
    const incidentId = await this.deps.restore.watchedBy(anomaly.dedupeKey);
    if (!incidentId) return;
    const out = await this.deps.store.transition(incidentId, (i) => noteRefire(i, anomalyId, this.deps.clock()));
    if (out) {
      this.log(incidentId).warn({ anomalyId }, 'the anomaly fired again during the watch window');
      await this.deps.publish(incidentId);
    }
  }
}

/** The traffic watch of one step (ids are at most 63 characters: incident ids are short). */
export function watchIdOf(incidentId: string, n: number, round: number): string {
  return `${incidentId}.r${n}.${round}`.slice(0, 63);
}
