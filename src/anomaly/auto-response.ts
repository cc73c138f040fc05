// Automatic response to one anomaly, before its alert is posted: the first matching
// anomalies.autoContain rule opens an incident that contains the scope at once, without approval
// and time-boxed, unless the namespace is protected, an incident already holds the scope, or the
// rate limit refuses it. Every outcome is recorded on the anomaly, so its alert can say it.
import type { Anomaly } from '../flows/types.js';
import { scopeKeyOf, type IncidentScope } from '../incident/model.js';
import type { OpenRequest } from '../incident/transitions.js';
import { incidentLogger, type Logger } from '../log.js';
import { newIncidentId } from '../playbook/engine.js';
import type { JobQueue } from '../queue/bullmq.js';
import { selectorText } from '../slack/anomaly-blocks.js';
import { automaticActor } from '../timeline/types.js';
import { describeRefusal, type AutoContainLimiter } from './auto-limit.js';
import { decideAutoResponse, type AutoContainRule } from './auto-rules.js';
import type { AnomalyDecision, AnomalyRecord, AnomalyStore } from './store.js';

/** The incident scope an anomaly suggests: its namespace, or the pods its selector picks there. */
export function incidentScopeOf(anomaly: Anomaly): IncidentScope {
  const selector = selectorText(anomaly.scope.podSelector);
  return { namespace: anomaly.scope.namespace, ...(selector ? { selector, labelSelector: { matchLabels: { ...anomaly.scope.podSelector } } } : {}) };
}

export interface AutoResponderOptions {
  rules: readonly AutoContainRule[];
  limiter: AutoContainLimiter;
  /** The open incident holding a scope, if any (one open incident per scope). */
  openIncidentFor: (scopeKey: string) => Promise<string | undefined>;
  store: AnomalyStore;
  queue: JobQueue;
  protectedNamespaces: ReadonlySet<string>;
  /** Where the incident is posted. */
  channel: string;
  /** The cluster (several served): leads the incident id. */
  cluster?: string;
  logger: Logger;
  clock: () => Date;
}

export class AutoResponder {
  constructor(private readonly options: AutoResponderOptions) {}

  private requestFor(anomaly: Anomaly, decision: AnomalyDecision & { incidentId: string; rule: number }, strategy: AutoContainRule['strategy']): OpenRequest {
    return {
      id: decision.incidentId,
      scope: incidentScopeOf(anomaly),
      reason: anomaly.title,
      requestedBy: automaticActor,
      channel: this.options.channel,
      anomalyIds: [anomaly.id],
      auto: { rule: decision.rule, ...(strategy ? { strategy } : {}), maxDuration: decision.maxDuration ?? 0, anomalyId: anomaly.id },
    };
  }

  /**
   * Decides and acts on an anomaly nobody decided on yet; returns the record as it now stands.
   * Safe to run again after a crash: the limit counts an anomaly once, the open job has a fixed id.
   */
  async respond(record: AnomalyRecord): Promise<AnomalyRecord> {
    const { anomaly } = record;
    const log = this.options.logger.child({ anomaly: anomaly.id, kind: anomaly.kind, severity: anomaly.severity, namespace: anomaly.scope.namespace });
    if (record.decision?.kind === 'auto-contained') {
      await this.reopen(record, record.decision);
      return record;
    }
    if (record.decision || record.autoResponse) return record;
    const decision = decideAutoResponse(this.options.rules, anomaly, this.options.protectedNamespaces);
    if (decision.kind === 'none') return record;
    if (decision.kind === 'protected') {
      log.info({ rule: decision.rule }, 'automatic containment not applied: protected namespace');
      return record;
    }
    const now = this.options.clock();
    const holder = await this.options.openIncidentFor(scopeKeyOf(incidentScopeOf(anomaly)));
    if (holder) {
      const reason = `incident \`${holder}\` is already open for this scope`;
      log.info({ rule: decision.rule, incident: holder }, 'automatic containment skipped: an incident holds the scope');
      return this.note(record, { outcome: 'skipped', reason, at: now.toISOString() });
    }
    const limit = await this.options.limiter.take(anomaly.scope.namespace, anomaly.id);
    if (!limit.allowed) {
      const reason = describeRefusal(limit);
      log.warn({ rule: decision.rule, limit: limit.limit, count: limit.count, max: limit.max, windowMs: limit.windowMs }, `automatic containment refused by the rate limit: ${reason.replace(/`/g, '')}`);
      return this.note(record, { outcome: 'refused', reason, at: now.toISOString() });
    }
    const taken: AnomalyDecision & { incidentId: string; rule: number } = {
      kind: 'auto-contained',
      user: automaticActor,
      at: now.toISOString(),
      incidentId: newIncidentId(now, this.options.cluster),
      rule: decision.rule,
      maxDuration: decision.maxDuration,
    };
    const decided = await this.options.store.decide(anomaly.id, taken);
    if (!decided.taken) return (await this.options.store.get(anomaly.id)) ?? record;
    await this.options.queue.enqueue({ name: 'open', data: { request: this.requestFor(anomaly, taken, decision.strategy) } });
    incidentLogger(log, taken.incidentId).warn({ rule: decision.rule, maxDurationMs: decision.maxDuration }, 'anomaly contained automatically, without approval');
    return { ...record, decision: taken };
  }

  /** A retried alert job after the decision was stored: enqueue the open again (ignored when already queued). */
  private async reopen(record: AnomalyRecord, decision: AnomalyDecision): Promise<void> {
    if (!decision.incidentId || typeof decision.rule !== 'number') return;
    const rule = this.options.rules[decision.rule];
    const full = { ...decision, incidentId: decision.incidentId, rule: decision.rule, maxDuration: decision.maxDuration ?? rule?.maxDuration };
    if (!full.maxDuration) return;
    await this.options.queue.enqueue({ name: 'open', data: { request: this.requestFor(record.anomaly, full, rule?.strategy) } });
  }

  private async note(record: AnomalyRecord, note: NonNullable<AnomalyRecord['autoResponse']>): Promise<AnomalyRecord> {
    await this.options.store.setAutoResponse(record.anomaly.id, note);
    return { ...record, autoResponse: note };
  }
}
