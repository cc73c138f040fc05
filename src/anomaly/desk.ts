// Where anomalies meet people: raised anomalies are stored and alerted in Slack (after automatic
// response, when configured, had its say); "Open incident" starts the playbook on the suggested
// scope with the anomaly as evidence; "Dismiss as expected" (approvers only) mutes it in the
// collector. The first decision on an anomaly wins.
import type { Anomaly } from '../flows/types.js';
import type { OpenRequest } from '../incident/transitions.js';
import { incidentLogger, type Logger } from '../log.js';
import { newIncidentId } from '../playbook/engine.js';
import type { JobQueue } from '../queue/bullmq.js';
import { anomalyAlert, selectorText } from '../slack/anomaly-blocks.js';
import type { ApproverDirectory } from '../slack/approvers.js';
import type { ChatGateway } from '../slack/chat.js';
import type { AnomalyRecord, AnomalyStore } from './store.js';
import { AutoResponder, incidentScopeOf } from './auto-response.js';
import type { AutoContainLimiter } from './auto-limit.js';
import type { AutoContainRule } from './auto-rules.js';

export interface AnomalyDeskOptions {
  store: AnomalyStore;
  queue: JobQueue;
  chat: ChatGateway;
  approvers: ApproverDirectory;
  /** Where alerts go. */
  alertsChannel: string;
  /** Where incidents opened from an alert go (default: the alerts channel). */
  incidentChannel?: string;
  protectedNamespaces: ReadonlySet<string>;
  dismissForMs: number;
  /** The cluster the anomalies come from, when the bot serves several: named on every alert. */
  cluster?: string;
  logger: Logger;
  clock?: () => Date;
  /** Told of every anomaly stored for the first time (metrics). */
  onRaised?: (anomaly: Anomaly) => void;
  /** Automatic response (anomalies.autoContain); absent or without rules, every alert waits for a person. */
  autoContain?: {
    rules: readonly AutoContainRule[];
    limiter: AutoContainLimiter;
    /** The open incident holding a scope, if any. */
    openIncidentFor: (scopeKey: string) => Promise<string | undefined>;
  };
}

export interface DeskResult {
  ok: boolean;
  message: string;
}

export class AnomalyDesk {
  private readonly clock: () => Date;
  private readonly responder?: AutoResponder;

  constructor(private readonly options: AnomalyDeskOptions) {
    this.clock = options.clock ?? (() => new Date());
    const auto = options.autoContain;
    if (auto && auto.rules.length > 0) {
      this.responder = new AutoResponder({
        ...auto,
        store: options.store,
        queue: options.queue,
        protectedNamespaces: options.protectedNamespaces,
        channel: options.incidentChannel ?? options.alertsChannel,
        ...(options.cluster ? { cluster: options.cluster } : {}),
        logger: options.logger.child({ module: 'auto-response' }),
        clock: this.clock,
      });
    }
  }

  /** The automatic response's rate limiter, when automatic response is on. */
  get autoLimiter(): AutoContainLimiter | undefined {
    return this.responder ? this.options.autoContain?.limiter : undefined;
  }

  private log(anomaly: Anomaly): Logger {
    return this.options.logger.child({ anomaly: anomaly.id, kind: anomaly.kind, workload: `${anomaly.workload.namespace}/${anomaly.workload.name}` });
  }

  /** From the collector or a webhook: store it and queue its Slack alert (once per anomaly id). */
  async raise(anomaly: Anomaly): Promise<void> {
    if (!(await this.options.store.save(anomaly, this.clock()))) return;
    this.options.onRaised?.(anomaly);
    this.log(anomaly).info({ severity: anomaly.severity }, 'anomaly raised');
    await this.options.queue.enqueue({ name: 'anomaly-alert', data: { anomalyId: anomaly.id } });
  }

  private isProtected(anomaly: Anomaly): boolean {
    return this.options.protectedNamespaces.has(anomaly.scope.namespace);
  }

  /** Worker job: automatic response first (when configured), then post the alert (once). */
  async postAlert(anomalyId: string): Promise<void> {
    let record = await this.options.store.get(anomalyId);
    if (!record || record.alert) return;
    if (this.responder) record = await this.respond(record);
    const channel = this.options.alertsChannel;
    const ts = await this.options.chat.postMessage(channel, anomalyAlert(record, { protectedScope: this.isProtected(record.anomaly), cluster: this.options.cluster }));
    await this.options.store.setAlert(anomalyId, { channel, ts });
  }

  /** A failure of automatic response must not hold back the alert: it is posted, saying so. */
  private async respond(record: AnomalyRecord): Promise<AnomalyRecord> {
    try {
      return await this.responder!.respond(record);
    } catch (error) {
      this.log(record.anomaly).error({ err: error }, 'automatic response failed; the alert waits for a person');
      const note = { outcome: 'refused' as const, reason: `automatic response failed (${error instanceof Error ? error.message : String(error)})`.slice(0, 300), at: this.clock().toISOString() };
      await this.options.store.setAutoResponse(record.anomaly.id, note);
      return { ...record, autoResponse: note };
    }
  }

  private async redraw(anomalyId: string): Promise<void> {
    const record = await this.options.store.get(anomalyId);
    if (!record?.alert) return;
    await this.options.chat.updateMessage(record.alert.channel, record.alert.ts, anomalyAlert(record, { protectedScope: this.isProtected(record.anomaly), cluster: this.options.cluster }));
  }

  private describeDecision(existing: { kind: string; user: string; incidentId?: string }): string {
    if (existing.kind === 'auto-contained') return `Already contained automatically as incident \`${existing.incidentId ?? '?'}\`: decide in its thread (*Keep contained* or *Lift now*). Nothing changed.`;
    return existing.kind === 'opened'
      ? `Already opened as incident \`${existing.incidentId ?? '?'}\` by <@${existing.user}>. Nothing changed.`
      : `Already dismissed as expected by <@${existing.user}>. Nothing changed.`;
  }

  async openIncident(anomalyId: string, userId: string): Promise<DeskResult> {
    const record = await this.options.store.get(anomalyId);
    if (!record) return { ok: false, message: 'That anomaly is unknown or has expired. Nothing changed.' };
    const { anomaly } = record;
    if (this.isProtected(anomaly)) {
      return { ok: false, message: `\`${anomaly.scope.namespace}\` is a protected namespace: the bot never contains it. Nothing changed.` };
    }
    const now = this.clock();
    const incidentId = newIncidentId(now, this.options.cluster);
    const decided = await this.options.store.decide(anomalyId, { kind: 'opened', user: userId, at: now.toISOString(), incidentId });
    if (!decided.taken) return { ok: false, message: this.describeDecision(decided.existing) };
    const selector = selectorText(anomaly.scope.podSelector);
    const request: OpenRequest = {
      id: incidentId,
      scope: incidentScopeOf(anomaly),
      reason: anomaly.title,
      requestedBy: userId,
      channel: this.options.incidentChannel ?? this.options.alertsChannel,
      anomalyIds: [anomalyId],
    };
    await this.options.queue.enqueue({ name: 'open', data: { request } });
    incidentLogger(this.log(anomaly), incidentId).info({ user: userId }, 'incident requested from an anomaly');
    await this.redraw(anomalyId);
    return { ok: true, message: `Opening incident \`${incidentId}\` for ${selector ? `\`${selector}\` in ` : ''}\`${anomaly.scope.namespace}\`…` };
  }

  /** Where the anomaly's alert (and so its buttons) was posted, if it was. */
  async alertOf(anomalyId: string): Promise<{ channel: string; ts: string } | undefined> {
    return (await this.options.store.get(anomalyId))?.alert;
  }

  async dismiss(anomalyId: string, userId: string): Promise<DeskResult> {
    if (!(await this.options.approvers.isApprover(userId))) {
      return { ok: false, message: `Only approvers (${this.options.approvers.mentions()}) can dismiss an anomaly as expected. Nothing changed.` };
    }
    const record = await this.options.store.get(anomalyId);
    if (!record) return { ok: false, message: 'That anomaly is unknown or has expired. Nothing changed.' };
    const decided = await this.options.store.decide(anomalyId, { kind: 'dismissed', user: userId, at: this.clock().toISOString() });
    if (!decided.taken) return { ok: false, message: this.describeDecision(decided.existing) };
    await this.options.store.addDismissal({ dedupeKey: record.anomaly.dedupeKey, until: record.anomaly.lastSeen + this.options.dismissForMs });
    this.log(record.anomaly).info({ user: userId }, 'anomaly dismissed as expected');
    await this.redraw(anomalyId);
    return { ok: true, message: 'Dismissed as expected.' };
  }
}
