// The containment guard keeps every active containment in force while it lasts. It watches pods
// and policies and restores the invariants the moment they break:
// - a pod that joins a scope (a rollout, a new replica) gets the quarantine label;
// - a policy that selects quarantined pods without our exclusion (a new one, or ours reverted by
//   a GitOps controller or by hand) is excluded again;
// - our own objects, deleted or edited, are applied again.
// Every repair is on the incident's timeline, followed by a fresh proof from the engine. One guard
// is active per cluster (a singleton lock); the others stand by.
import { shareLive } from '../compute/shared-lists.js';
import { computeOffThread } from '../compute/thread.js';
import type { RedisClient } from '../redis/connect.js';
import type { KindWatch, KubeGateway, KubeNetworkPolicy, KubePod } from '../kube/index.js';
import type { Logger } from '../log.js';
import { SingletonLock } from '../redis/singleton-lock.js';
import { botActor, type TimelineEvent } from '../timeline/types.js';
import { QUARANTINE_LABEL } from './exclusion.js';
import { excludePolicy, labelPod, type ContainmentDeps } from './execute.js';
import { LockBusy, UnreadableRecord, type LedgerRecord } from './ledger.js';
import { isOurObject, needsExclusion, podInScope, selectsAny } from './plan.js';
import { sameIntent } from './readback.js';
import { readScopeLive, servedKinds, type WatchedObjects } from './snapshot.js';
import type { ServedKinds } from './strategy.js';

export interface GuardOptions {
  gateway: KubeGateway;
  deps: ContainmentDeps;
  redis: RedisClient;
  keyPrefix: string;
  /** Appends events to the incident's timeline and brings Slack up to date. */
  report(incidentId: string, events: TimelineEvent[]): Promise<void>;
  logger: Logger;
  /** How often the list of active containments is re-read (default 1 s). */
  refreshMs?: number;
  /**
   * The watched view of the cluster: the proof after a repair reads the scope's namespace fresh and
   * every other namespace from it, instead of listing the whole cluster (see readScopeLive).
   */
  view?: WatchedObjects;
  now?: () => Date;
}

interface Tracked {
  record: LedgerRecord;
  /** Repairs waiting to run (debounced per incident). */
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  again?: boolean;
}

const DEBOUNCE_MS = 20;

function nameOf(obj: { metadata?: { name?: string } | null }): string {
  return obj.metadata?.name ?? '?';
}

/**
 * Who changed the policy after our last write, when managedFields can tell: a manager whose entry
 * is newer than ours. A change that only removed fields leaves no entry (the audit log knows).
 */
function changedBy(policy: KubeNetworkPolicy, ours: string): string | undefined {
  const entries = policy.metadata?.managedFields ?? [];
  const ourTime = entries.filter((m) => m.manager === ours).map((m) => String(m.time ?? '')).sort().at(-1);
  // Our entry went with the fields it owned: whoever removed them owns nothing to show.
  if (ourTime === undefined) return undefined;
  const newer = entries.filter((m) => m.manager && m.manager !== ours && String(m.time ?? '') > ourTime);
  newer.sort((a, b) => String(a.time ?? '').localeCompare(String(b.time ?? '')));
  return newer.at(-1)?.manager;
}

export class ContainmentGuard {
  private readonly lock: SingletonLock;
  private readonly pods = new Map<string, KubePod>();
  private readonly policies = new Map<string, KubeNetworkPolicy>();
  private readonly tracked = new Map<string, Tracked>();
  /** Incidents whose record could not be read, warned about once until it reads again. */
  private readonly unreadable = new Set<string>();
  private watches: KindWatch[] = [];
  private refreshTimer: NodeJS.Timeout | null = null;
  private subscriber: RedisClient | null = null;
  private served: ServedKinds = { adminNetworkPolicy: false, ciliumNetworkPolicy: false };
  private running = false;
  private readonly now: () => Date;

  constructor(private readonly options: GuardOptions) {
    this.now = options.now ?? (() => new Date());
    this.lock = new SingletonLock(options.redis, {
      key: `${options.keyPrefix}:containment-guard:lock`,
      instance: 'guard',
      onAcquired: () => this.activate(),
      onLost: (reason) => this.deactivate(reason),
    });
  }

  get isActive(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    await this.lock.start();
  }

  async stop(): Promise<void> {
    await this.lock.stop();
    await this.deactivate('stopped');
  }

  private async activate(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { gateway, logger } = this.options;
    this.served = servedKinds(await gateway.discoverKinds().catch(() => ({ AdminNetworkPolicy: { served: false }, CiliumNetworkPolicy: { served: false } }) as never));
    const key = (o: { metadata?: { namespace?: string; name?: string } }) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    const onError = (error: Error) => logger.warn({ err: error }, 'containment guard: watch trouble (it recovers by itself)');
    this.watches = [
      gateway.watch('Pod', (e) => {
        if (e.type === 'deleted') this.pods.delete(key(e.object));
        else this.pods.set(key(e.object), e.object);
        this.touch(e.object.metadata?.namespace);
      }, { onError }),
      gateway.watch('NetworkPolicy', (e) => {
        if (e.type === 'deleted') this.policies.delete(key(e.object));
        else this.policies.set(key(e.object), e.object);
        this.touch(e.object.metadata?.namespace);
      }, { onError }),
    ];
    if (this.served.adminNetworkPolicy) this.watches.push(gateway.watch('AdminNetworkPolicy', () => this.touchAll('AdminNetworkPolicy'), { onError }));
    if (this.served.ciliumNetworkPolicy) this.watches.push(gateway.watch('CiliumNetworkPolicy', (e) => this.touch(e.object.metadata?.namespace), { onError }));
    await Promise.all(this.watches.map((w) => w.synced));
    // A containment applied or lifted is announced: look at once instead of at the next refresh.
    this.subscriber = this.options.redis.duplicate();
    this.subscriber.on('error', (error: Error) => logger.warn({ err: error }, 'containment guard: subscription trouble'));
    this.subscriber.on('message', () => void this.refreshNow());
    await this.subscriber.subscribe(this.options.deps.ledger.changesChannel);
    logger.info('containment guard active');
    await this.refresh();
  }

  private async deactivate(reason: string): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.subscriber?.disconnect();
    this.subscriber = null;
    for (const t of this.tracked.values()) if (t.timer) clearTimeout(t.timer);
    await Promise.all([...this.tracked.values()].map((t) => t.running));
    this.tracked.clear();
    const watches = this.watches;
    this.watches = [];
    await Promise.all(watches.map((w) => w.stop()));
    this.options.logger.info({ reason }, 'containment guard stood down');
  }

  private refreshing: Promise<void> | null = null;

  /** Re-reads the active containments now (on an announcement), then keeps the periodic pace. */
  private async refreshNow(): Promise<void> {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    await this.refreshing;
    await this.refresh();
  }

  /** Re-reads the active containments; a new one gets a full check at once. */
  private async refresh(): Promise<void> {
    if (!this.running || this.refreshing) return this.refreshing ?? undefined;
    this.refreshing = this.readActive().finally(() => {
      this.refreshing = null;
    });
    await this.refreshing;
    if (this.running && !this.refreshTimer) {
      this.refreshTimer = setTimeout(() => {
        this.refreshTimer = null;
        void this.refresh();
      }, this.options.refreshMs ?? 1000);
    }
  }

  private async readActive(): Promise<void> {
    try {
      const ids = await this.options.deps.ledger.active();
      const active = new Set(ids);
      for (const id of [...this.tracked.keys()]) if (!active.has(id)) this.tracked.delete(id);
      for (const id of [...this.unreadable]) if (!active.has(id)) this.unreadable.delete(id);
      const records = await this.options.deps.ledger.loadMany(ids);
      for (const [i, id] of ids.entries()) {
        const record = records[i];
        if (!record) continue;
        const known = this.tracked.get(id);
        if (record instanceof UnreadableRecord) {
          // The others are still guarded; this one keeps the last record read, if any.
          this.warnUnreadable(id, record, known !== undefined);
          continue;
        }
        this.unreadable.delete(id);
        if (known) known.record = record;
        else {
          this.tracked.set(id, { record });
          this.schedule(id);
        }
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'containment guard: reading active containments failed; retrying');
    }
  }

  private warnUnreadable(id: string, error: UnreadableRecord, keptLast: boolean): void {
    if (this.unreadable.has(id)) return;
    this.unreadable.add(id);
    const keeps = keptLast ? 'the guard keeps enforcing the record it read last' : 'the guard cannot enforce it until the record is mended';
    this.options.logger.error({ err: error, incident: id }, `containment guard: ${error.message}; ${keeps}`);
  }

  private touch(namespace: string | undefined): void {
    for (const [id, t] of this.tracked) if (t.record.meta.namespace === namespace) this.schedule(id);
  }

  private touchAll(_kind: string): void {
    for (const id of this.tracked.keys()) this.schedule(id);
  }

  private schedule(id: string): void {
    const t = this.tracked.get(id);
    if (!t || !this.running) return;
    if (t.running) {
      t.again = true;
      return;
    }
    if (t.timer) return;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      t.running = this.options.deps.ledger
        .withLock(id, () => this.enforce(id))
        .catch((error: unknown) => {
          // An apply or a lift holds the lock: look again shortly (a lift ends the tracking by then).
          if (error instanceof LockBusy) {
            setTimeout(() => this.schedule(id), 200).unref();
            return;
          }
          throw error;
        })
        .catch((error: unknown) => this.options.logger.error({ err: error, incident: id }, 'containment guard: a repair failed; it is tried again on the next change'))
        .finally(() => {
          t.running = undefined;
          if (t.again) {
            t.again = false;
            this.schedule(id);
          }
        });
    }, DEBOUNCE_MS);
  }

  /** Restores the invariants of one containment; reports what it repaired, then proves again. */
  private async enforce(id: string): Promise<void> {
    const t = this.tracked.get(id);
    if (!t || !(await this.options.deps.ledger.isActive(id))) return;
    const { meta } = t.record;
    const { deps } = this.options;
    const events: TimelineEvent[] = [];
    const at = () => this.now().toISOString();
    const inNamespace = <T extends { metadata?: { namespace?: string } }>(map: Map<string, T>) => [...map.values()].filter((o) => o.metadata?.namespace === meta.namespace);

    // Our own objects: deleted or edited ones are applied again.
    for (const created of t.record.createdObjects) {
      const client = this.options.gateway.objects(created.kind as 'NetworkPolicy');
      const live = created.kind === 'NetworkPolicy' ? this.policies.get(`${created.namespace ?? ''}/${created.name}`) : await client.get({ name: created.name, ...(created.namespace ? { namespace: created.namespace } : {}) });
      const desired = created.object as { spec?: Record<string, unknown> };
      if (live && sameIntent(created.kind, desired.spec, (live as { spec?: Record<string, unknown> }).spec)) continue;
      await client.apply(created.object as never, { fieldManager: deps.fieldManager, force: true });
      events.push({ at: at(), type: 'containment.enforced', actor: botActor, summary: `${created.kind} \`${created.name}\` was ${live ? 'changed' : 'deleted'} during containment: applied again`, data: { object: created.name } });
    }

    if (meta.exclusion) {
      // Pods that joined the scope get the label.
      const scope = inNamespace(this.pods).filter((p) => podInScope(p, meta.labelSelector));
      for (const pod of scope) {
        if (pod.metadata?.labels?.[QUARANTINE_LABEL] !== undefined) continue;
        if (!(await labelPod(deps, id, meta.namespace, nameOf(pod)))) continue;
        // creationTimestamp has one-second precision: say how many seconds at most.
        const born = Date.parse(pod.metadata?.creationTimestamp ?? '');
        const after = Number.isFinite(born) ? ` within ${Math.max(1, Math.ceil((this.now().getTime() - born) / 1000))} s of its creation` : '';
        events.push({ at: at(), type: 'containment.enforced', actor: botActor, summary: `Pod \`${nameOf(pod)}\` joined the scope: labelled${after}, so only the quarantine selects it`, data: { pod: nameOf(pod), joinedAfterMs: Number.isFinite(born) ? this.now().getTime() - born : null } });
      }
      // Policies that select quarantined pods without the exclusion: new ones, or ours reverted.
      const quarantined = scope.map((p) => ({ ...p, metadata: { ...p.metadata, labels: { ...(p.metadata?.labels ?? {}), [QUARANTINE_LABEL]: id } } }));
      const patched = new Set(t.record.patches.map((p) => p.name));
      for (const policy of inNamespace(this.policies)) {
        if (isOurObject(policy) || !needsExclusion(policy, meta.exclusion) || !selectsAny(policy, quarantined)) continue;
        const result = await excludePolicy(deps, id, meta.namespace, nameOf(policy));
        if (result.outcome !== 'patched') continue;
        const by = changedBy(policy, deps.fieldManager);
        events.push({
          at: at(),
          type: 'containment.enforced',
          actor: botActor,
          summary: patched.has(nameOf(policy))
            ? `\`${nameOf(policy)}\` lost its exclusion${by ? ` (changed by ${by})` : ''}: excluded again`
            : `New policy \`${nameOf(policy)}\` selects the scope: excluded too (recorded, removed on lift)`,
          data: { policy: nameOf(policy), by: by ?? null, reverted: patched.has(nameOf(policy)) },
        });
      }
    }
    if (events.length === 0) return;
    // On a compute thread: the proof indexes the whole cluster, which on the main thread would
    // hold up every job and lock renewal of the process meanwhile.
    const scope = { namespace: meta.namespace, ...(meta.labelSelector ? { labelSelector: meta.labelSelector } : {}) };
    const live = shareLive(await readScopeLive(this.options.gateway, this.served, meta.namespace, this.options.view));
    const proof = await computeOffThread('proveContainment', { live, scope, dns: { namespace: meta.dns.namespace, podLabels: meta.dns.podLabels } }, { priority: 'urgent' });
    events.push(
      proof.contained
        ? { at: at(), type: 'containment.proven', actor: botActor, summary: 'Proven again by the engine: nothing but DNS to kube-dns is open', data: { proof } }
        : { at: at(), type: 'containment.not-contained', actor: botActor, summary: `*NOT contained after the repair: ${proof.openCount} connection(s) stay open*\n${proof.open.map((l) => `• ${l}`).join('\n')}`, data: { proof } },
    );
    t.record = (await deps.ledger.load(id)) ?? t.record;
    await this.options.report(id, events);
  }
}

