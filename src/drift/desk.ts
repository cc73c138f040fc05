// Where drift episodes meet people: the worker posts and redraws each episode's alert in the drift
// channel; the buttons (web role) revert to Git (approvers only, run as a job), accept until Git
// changes (recorded with who), or open an incident with the drift as its reason.
import type { OpenRequest } from '../incident/transitions.js';
import type { Logger } from '../log.js';
import { newIncidentId } from '../playbook/engine.js';
import type { JobQueue } from '../queue/bullmq.js';
import type { ApproverDirectory } from '../slack/approvers.js';
import type { ChatGateway } from '../slack/chat.js';
import { driftAlert } from '../slack/drift-blocks.js';
import { revertable, unresolved, type DriftEpisode } from './episode.js';
import type { DriftStore } from './store.js';

export interface DriftDeskOptions {
  store: DriftStore;
  queue: JobQueue;
  chat: ChatGateway;
  approvers: ApproverDirectory;
  channel: string;
  incidentChannel?: string;
  protectedNamespaces: ReadonlySet<string>;
  selfHealGraceMs: number;
  /** The cluster drifting, when the bot serves several: named on every alert. */
  cluster?: string;
  logger: Logger;
  clock?: () => Date;
}

export interface DriftDeskResult {
  ok: boolean;
  message: string;
}

const UNKNOWN = 'That drift is unknown or has expired. Nothing changed.';

export class DriftDesk {
  private readonly clock: () => Date;

  constructor(private readonly options: DriftDeskOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** Worker job: posts the episode's alert, or redraws it in place. */
  async postAlert(episodeId: string): Promise<void> {
    const episode = await this.options.store.get(episodeId);
    if (!episode) return;
    const message = driftAlert(episode, { now: this.clock(), selfHealGraceMs: this.options.selfHealGraceMs, cluster: this.options.cluster });
    if (episode.alert) {
      await this.options.chat.updateMessage(episode.alert.channel, episode.alert.ts, message);
      return;
    }
    // A resolved episode nobody was told about stays quiet (e.g. held through quiet hours).
    if (episode.state === 'resolved') return;
    const ts = await this.options.chat.postMessage(this.options.channel, message);
    const saved = await this.options.store.update(episodeId, (e) => (e.alert ? undefined : { ...e, alert: { channel: this.options.channel, ts } }));
    // Posted twice by a race (two jobs for one episode): the later one changes its content in place.
    if (saved.episode?.alert && saved.episode.alert.ts !== ts) this.options.logger.warn({ episode: episodeId }, 'drift alert posted twice');
    else if (saved.changed) await this.options.chat.updateMessage(this.options.channel, ts, driftAlert(saved.episode as DriftEpisode, { now: this.clock(), selfHealGraceMs: this.options.selfHealGraceMs, cluster: this.options.cluster }));
  }

  async revert(episodeId: string, userId: string): Promise<DriftDeskResult> {
    if (!(await this.options.approvers.isApprover(userId))) {
      return { ok: false, message: `Only approvers (${this.options.approvers.mentions()}) can revert to Git. Nothing changed.` };
    }
    let refusal: string | undefined;
    const at = this.clock().toISOString();
    const { episode, changed } = await this.options.store.update(episodeId, (e) => {
      if (e.state === 'resolved') refusal = 'That drift is resolved already: live matches Git. Nothing changed.';
      else if (e.revert?.state === 'running') refusal = `A revert by <@${e.revert.by}> is running. Nothing changed.`;
      else if (revertable(e).length === 0) refusal = 'Nothing to revert: every drifted object is left to its GitOps controller. Nothing changed.';
      if (refusal) return undefined;
      return { ...e, updatedAt: at, revert: { by: userId, at, state: 'running', results: [] } };
    });
    if (!episode) return { ok: false, message: UNKNOWN };
    if (!changed) return { ok: false, message: refusal ?? 'Nothing changed.' };
    await this.options.queue.enqueue({ name: 'drift-revert', data: { episodeId, userId, version: episode.version } });
    await this.options.queue.enqueue({ name: 'drift-alert', data: { episodeId, version: episode.version } });
    this.options.logger.info({ episode: episodeId, user: userId }, 'drift revert approved');
    return { ok: true, message: `Reverting ${revertable(episode).length} object(s) to Git…` };
  }

  /** Where the episode's alert (and so its buttons) was posted, if it was. */
  async alertOf(episodeId: string): Promise<{ channel: string; ts: string } | undefined> {
    return (await this.options.store.get(episodeId))?.alert;
  }

  async accept(episodeId: string, userId: string): Promise<DriftDeskResult> {
    // Accepting mutes the alert until Git or the object changes: a decision for approvers, as Revert is.
    if (!(await this.options.approvers.isApprover(userId))) {
      return { ok: false, message: `Only approvers (${this.options.approvers.mentions()}) can accept a drift. Nothing changed.` };
    }
    let refusal: string | undefined;
    const at = this.clock().toISOString();
    const { episode, changed } = await this.options.store.update(episodeId, (e) => {
      if (e.state === 'resolved') refusal = 'That drift is resolved already. Nothing changed.';
      else if (e.state === 'accepted') refusal = `Already accepted by <@${e.accepted?.by ?? '?'}>. Nothing changed.`;
      if (refusal) return undefined;
      return { ...e, state: 'accepted', updatedAt: at, accepted: { by: userId, at } };
    });
    if (!episode) return { ok: false, message: UNKNOWN };
    if (!changed) return { ok: false, message: refusal ?? 'Nothing changed.' };
    await this.options.queue.enqueue({ name: 'drift-alert', data: { episodeId, version: episode.version } });
    this.options.logger.info({ episode: episodeId, user: userId }, 'drift accepted until Git changes');
    return { ok: true, message: 'Accepted: muted until Git or the live object changes. Recorded with your name.' };
  }

  async openIncident(episodeId: string, userId: string): Promise<DriftDeskResult> {
    const current = await this.options.store.get(episodeId);
    if (!current) return { ok: false, message: UNKNOWN };
    const target = unresolved(current).find((o) => o.namespace) ?? current.objects.find((o) => o.namespace);
    if (!target?.namespace) return { ok: false, message: 'This drift is on cluster-scoped policies only: open an incident with `/netpol incident <namespace>`. Nothing changed.' };
    if (this.options.protectedNamespaces.has(target.namespace)) return { ok: false, message: `\`${target.namespace}\` is a protected namespace: the bot never contains it. Nothing changed.` };
    const incidentId = newIncidentId(this.clock(), this.options.cluster);
    let refusal: string | undefined;
    const { episode, changed } = await this.options.store.update(episodeId, (e) => {
      if (e.incidentId) {
        refusal = `Already opened as incident \`${e.incidentId}\`. Nothing changed.`;
        return undefined;
      }
      return { ...e, incidentId, updatedAt: this.clock().toISOString() };
    });
    if (!changed || !episode) return { ok: false, message: refusal ?? UNKNOWN };
    const objects = unresolved(episode).map((o) => `${o.key} (${o.status})`).slice(0, 5).join(', ');
    const request: OpenRequest = {
      id: incidentId,
      scope: { namespace: target.namespace },
      reason: `Drift from Git (${episode.delta.severity}): ${objects}`.slice(0, 500),
      requestedBy: userId,
      channel: this.options.incidentChannel ?? this.options.channel,
      driftEpisodeId: episode.id,
    };
    await this.options.queue.enqueue({ name: 'open', data: { request } });
    await this.options.queue.enqueue({ name: 'drift-alert', data: { episodeId, version: episode.version } });
    return { ok: true, message: `Opening incident \`${incidentId}\` for \`${target.namespace}\`…` };
  }
}
