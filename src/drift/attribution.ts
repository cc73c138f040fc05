// Who is behind a drift (drift monitor): the person or controller that made an object's live
// state (the audit log, else the journal's managedFields), who brought it back to Git's state, and
// the GitOps controller that reverts it by itself. Reads only; the monitor decides when to ask.
import type { AuditStore } from '../audit/store.js';
import { gitOpsOwners, FLUX_RECONCILE_ANNOTATION, FLUX_RECONCILE_DISABLED } from '../containment/gitops.js';
import type { ChangeJournal, JournalKind } from '../journal/index.js';
import { isJournalKind } from '../journal/types.js';
import type { KubeGateway } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { EpisodeObject } from './episode.js';

/** Ends an actor named by the audit log (stronger evidence than managedFields). */
const AUDIT_MARK = ', audit log)';

/** Whether the actor was named by the audit log (then it is not looked up again). */
export function namedByAudit(actor: string | undefined): actor is string {
  return actor?.endsWith(AUDIT_MARK) ?? false;
}

export interface DriftAttributionDeps {
  gateway: KubeGateway;
  journal?: ChangeJournal;
  audit?: AuditStore;
  /** The bot's field manager: its own writes (a revert) are named as such. */
  fieldManager: string;
  /** Namespace of Argo CD Applications named without one. */
  argocdNamespace: string;
  logger: Logger;
}

export class DriftAttribution {
  constructor(private readonly deps: DriftAttributionDeps) {}

  /** Who made the live state: the newest audit change to it, else the journal's managers. */
  async actorOf(o: EpisodeObject, now: Date): Promise<string | undefined> {
    const since = new Date(now.getTime() - 3_600_000).toISOString();
    const namespaces = o.namespace ? [o.namespace] : undefined;
    const { audit, journal } = this.deps;
    try {
      const changes = audit ? await audit.query({ since, ...(namespaces ? { namespaces } : {}), limit: 500 }) : [];
      const toObject = changes.filter((c) => !c.refused && c.objectRef.name === o.name && (o.namespace ?? undefined) === (c.objectRef.namespace ?? undefined)).sort((a, b) => a.at.localeCompare(b.at));
      // The bot's own later edits (containment's exclusions, a revert) did not make the drift:
      // name the newest change someone else made, and the bot only when it made them all.
      const mine = toObject.filter((c) => c.tool !== 'netpol-responder').at(-1) ?? toObject.at(-1);
      if (mine) {
        const who = mine.impersonatedUser ? `${mine.user.username} as ${mine.impersonatedUser.username}` : mine.user.username;
        return `${who} (${mine.verb} with ${mine.tool}${AUDIT_MARK}`;
      }
      if (!journal || !isJournalKind(o.kind)) return undefined;
      const entries = await journal.query({ since, ...(namespaces ? { namespaces } : {}), kinds: [o.kind as JournalKind], limit: 1000 });
      const last = entries.filter((e) => e.name === o.name).at(-1);
      const managers = last?.managers.map((m) => m.manager) ?? [];
      const manager = managers.filter((m) => m !== this.deps.fieldManager).at(-1) ?? managers.at(-1);
      return manager ? `manager ${manager} (managedFields: weaker evidence than an audit log)` : undefined;
    } catch (error) {
      this.deps.logger.debug({ err: error }, 'drift: actor lookup failed');
      return undefined;
    }
  }

  /** Who brought the object back to Git's state: the manager of its newest journalled change. */
  async resolverOf(o: EpisodeObject, now: Date): Promise<string | undefined> {
    const { journal, fieldManager } = this.deps;
    if (!journal || !isJournalKind(o.kind)) return undefined;
    const entries = await journal.query({ since: o.since < now.toISOString() ? o.since : now.toISOString(), ...(o.namespace ? { namespaces: [o.namespace] } : {}), kinds: [o.kind as JournalKind], limit: 1000 }).catch(() => []);
    const last = entries.filter((e) => e.name === o.name).at(-1);
    const managers = last?.managers.map((m) => m.manager) ?? [];
    if (managers.includes(fieldManager)) return 'Revert to Git';
    if (managers.some((m) => m.startsWith('argocd'))) return 'Argo CD';
    if (managers.some((m) => m === 'kustomize-controller' || m === 'helm-controller')) return 'Flux';
    return managers.at(-1);
  }

  /** The GitOps controller that reverts a drift of this object by itself, if any. */
  async selfHealOf(obj: Record<string, unknown>): Promise<string | undefined> {
    for (const owner of gitOpsOwners(obj as never)) {
      if (owner.tool === 'flux') {
        const annotations = (obj.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
        if (annotations[FLUX_RECONCILE_ANNOTATION] !== FLUX_RECONCILE_DISABLED) return `Flux (${owner.owner})`;
      }
      if (owner.tool === 'argocd' && owner.application) {
        const app = await this.deps.gateway
          .objects('Application')
          .get({ name: owner.application.name, namespace: owner.application.namespace ?? this.deps.argocdNamespace })
          .catch(() => undefined);
        const automated = (app as { spec?: { syncPolicy?: { automated?: { selfHeal?: boolean } } } } | undefined)?.spec?.syncPolicy?.automated;
        if (automated?.selfHeal === true) return `Argo CD (${owner.owner}, self-heal)`;
      }
    }
    return undefined;
  }
}
