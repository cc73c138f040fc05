// The drift monitor (watcher role, while it holds the watcher lock): compares the live policies
// with the desired state in the policy repositories whenever either moves — a journalled change,
// a push webhook, a fetch that brought a new head — debounced so a burst is evaluated once. Each
// evaluation moves the episodes (reconcile.ts), works out what each open episode does to
// connectivity and who caused it (attribution.ts), and queues the Slack alert of every episode
// that changed.
import type { AuditStore } from '../audit/store.js';
import { shareLive } from '../compute/shared-lists.js';
import { computeOffThread } from '../compute/thread.js';
import { readLiveObjects, servedKinds, type WatchedObjects } from '../containment/snapshot.js';
import type { PolicyRepositories } from '../git/index.js';
import type { DesiredObject } from '../git/render.js';
import type { ChangeJournal } from '../journal/index.js';
import type { KubeGateway } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { LiveObjects } from '../policy/index.js';
import { DriftAttribution, namedByAudit } from './attribution.js';
import { COMPARE_CHUNK, CompareMemo, compareStateYielding, formatFieldDiff, keyString, objectKeyOf, type DriftItem, type DriftReport } from './compare.js';
import type { DriftConfig } from './config-schema.js';
import { comparedKinds, withoutUnsureExtras } from './coverage.js';
import { quietUntil, SEVERITY_RANK, type DeltaSummary, type DriftEpisode, type EpisodeObject } from './episode.js';
import { fingerprint, livePolicies } from './live.js';
import { reconcileEpisodes, type FoundDrift } from './reconcile.js';
import { mapYielding } from './yielding.js';
import type { DriftStore } from './store.js';
import { monitoredNamespaces, WatchedSnapshot } from './watched-namespaces.js';

export interface DriftMonitorOptions {
  config: DriftConfig;
  gateway: KubeGateway;
  git: PolicyRepositories;
  store: DriftStore;
  journal?: ChangeJournal;
  audit?: AuditStore;
  /** The bot's field manager: its own writes (a revert) are named as such. */
  fieldManager: string;
  /** Namespace of Argo CD Applications named without one. */
  argocdNamespace: string;
  /** Queues the episode's Slack alert (post or update), after `delayMs` when given. */
  alert(episode: DriftEpisode, delayMs?: number): Promise<void>;
  /** Whether this replica may act (it holds the watcher lock). */
  isActive(): boolean;
  logger: Logger;
  now?: () => Date;
  /** How often the repositories' heads are looked at (default 1 s; reads memory only). */
  headPollMs?: number;
  /**
   * The cluster as watches keep it (the view shared with the restore and the containment), read at
   * each evaluation instead of listing: listing 10k policies and pods at every evaluation is what
   * the monitor spent its time on, and the API server's. Its policy changes schedule an evaluation
   * too, so one that ran a moment before the view caught up with a change is followed by another.
   * Absent: everything is listed.
   */
  view?: DriftView;
  /** Namespaces watched beyond the configuration (the hardening step's), read before each evaluation. */
  watched?: () => Promise<string[]>;
  /** Awaited between chunks of an evaluation's comparison (default: the next turn of the event loop). */
  pause?: () => Promise<void>;
  /**
   * Whether urgent work runs in this process now (an approved containment, a click): a due
   * evaluation waits for it to end, at most `urgentDeferMs` (default 5 s). Absent: never waits.
   */
  urgentBusy?: () => boolean;
  urgentDeferMs?: number;
}

/** How often a deferred evaluation looks again whether the urgent work is done. */
const DEFER_POLL_MS = 100;

export interface DriftView extends WatchedObjects {
  /** Calls `listener` after every policy change; returns the unsubscribe. */
  onPolicyChange(listener: () => void): () => void;
}

export interface EvaluationSummary {
  at: string;
  compared: number;
  drifted: number;
  changed: string[];
  created?: string;
  problems: string[];
}

/** When actors named only by managedFields are looked up again in the audit log. */
const ACTOR_REFRESH_MS = [1500, 5000];

const DAY_ID = (d: Date): string => d.toISOString().slice(0, 10).replace(/-/g, '');

function itemObject(item: DriftItem): Record<string, unknown> | undefined {
  return item.status === 'missing' ? undefined : item.live;
}

/**
 * When the next evaluation starts (pure): once changes have been quiet for `wait`, at the latest
 * `maxDelay` after the first, but never sooner after the last evaluation than the last took. On
 * a big cluster an evaluation takes seconds of the process's time; under a storm of changes
 * (fifty containments at once) they would run back to back, and the incidents would get what
 * is left. Paced, drift takes at most about half, and is found at most one evaluation later.
 */
export function evaluationAt(input: { now: number; firstPendingAt: number; wait: number; maxDelay: number; last?: { endedAt: number; tookMs: number } }): number {
  const due = Math.min(input.now + input.wait, input.firstPendingAt + input.maxDelay);
  return input.last ? Math.max(due, input.last.endedAt + input.last.tookMs) : due;
}

/**
 * Whether a due evaluation waits (pure): only while urgent work runs, and never longer than
 * `maxMs` since it first waited. A whole-cluster evaluation takes the process's CPU for a while;
 * fifty containments at once would get what it leaves, and drift is found a few seconds later.
 */
export function deferEvaluation(input: { now: number; waitingSince: number | undefined; busy: boolean; maxMs: number }): boolean {
  return input.busy && input.maxMs > 0 && (input.waitingSince === undefined || input.now - input.waitingSince < input.maxMs);
}

export class DriftMonitor {
  private timer: NodeJS.Timeout | undefined;
  /** When a due evaluation started waiting for urgent work (undefined: none waits). */
  private waitingSince: number | undefined;
  private firstPendingAt: number | undefined;
  private lastEvaluation: { endedAt: number; tookMs: number } | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private headTimer: NodeJS.Timeout | undefined;
  private unsubscribeView: (() => void) | undefined;
  private readonly heads = new Map<string, string | undefined>();
  private wasActive = false;
  private stopped = false;
  private readonly now: () => Date;
  private sequence = 0;
  private lastProblems = '';
  /** The watched namespaces as last read (the debounce decides on it without waiting for Redis). */
  private readonly watched: WatchedSnapshot;
  /** Who made a drift, who resolved it, which controller self-heals it. */
  private readonly attribution: DriftAttribution;
  /** Each evaluation normalises only the objects that changed since the last. */
  private readonly compareMemo = new CompareMemo();

  constructor(private readonly options: DriftMonitorOptions) {
    this.now = options.now ?? (() => new Date());
    this.attribution = new DriftAttribution(options);
    this.watched = new WatchedSnapshot(options.watched, (error) => options.logger.debug({ err: error }, 'drift: reading the watched namespaces failed'));
  }

  start(): void {
    this.stopped = false;
    this.unsubscribeView ??= this.options.view?.onPolicyChange(() => this.changed());
    // The heads move on the repositories' own fetch interval (or a push): cheap to look at often.
    this.headTimer = setInterval(() => this.checkHeads(), this.options.headPollMs ?? 1000);
    this.headTimer.unref();
    this.checkHeads();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeView?.();
    this.unsubscribeView = undefined;
    if (this.timer) clearTimeout(this.timer);
    if (this.headTimer) clearInterval(this.headTimer);
    this.timer = undefined;
    this.headTimer = undefined;
    await this.running.catch(() => undefined);
  }

  /** A journalled change (or anything else that may have moved live state). */
  changed(): void {
    this.schedule();
  }

  /** A push webhook named this repository: fetch it now, then evaluate. */
  async pushed(repository: string): Promise<void> {
    const repo = this.options.git.get(repository);
    if (!repo) return;
    const result = await repo.sync();
    if (!result.ok) this.options.logger.warn({ repository, error: result.error }, 'drift: fetch after a push failed');
    this.checkHeads();
    this.schedule();
  }

  private checkHeads(): void {
    // A namespace added to the watched set is compared from the next evaluation on (scheduled now).
    this.watched.refresh(() => {
      if (this.options.isActive()) this.schedule();
    });
    const active = this.options.isActive();
    if (active && !this.wasActive) this.schedule();
    this.wasActive = active;
    for (const repo of this.options.git.list) {
      const head = repo.head();
      if (this.heads.get(repo.config.name) !== head) {
        this.heads.set(repo.config.name, head);
        if (head) this.schedule();
      }
    }
  }

  /** Whether anything is to be compared: drift is enabled, or the hardening step asked for namespaces. */
  private get monitoring(): boolean {
    return this.options.config.enabled || this.watched.current.length > 0;
  }

  /** Debounce: evaluate once things are quiet for `debounce`, at the latest `maxDelay` after the first (paced: evaluationAt). */
  private schedule(delayMs?: number): void {
    if (this.stopped || !this.monitoring) return;
    const now = Date.now();
    this.firstPendingAt ??= now;
    const { debounce, maxDelay } = this.options.config;
    const at = evaluationAt({ now, firstPendingAt: this.firstPendingAt, wait: delayMs ?? debounce, maxDelay, last: this.lastEvaluation });
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.due(), Math.max(0, at - now));
    this.timer.unref();
  }

  /** The debounce ran out: evaluate, or wait while urgent work runs (deferEvaluation). */
  private due(): void {
    const now = Date.now();
    const busy = this.options.urgentBusy?.() ?? false;
    if (deferEvaluation({ now, waitingSince: this.waitingSince, busy, maxMs: this.options.urgentDeferMs ?? 5000 })) {
      this.waitingSince ??= now;
      this.timer = setTimeout(() => this.due(), DEFER_POLL_MS);
      this.timer.unref();
      return;
    }
    this.timer = undefined;
    this.firstPendingAt = undefined;
    this.waitingSince = undefined;
    void this.evaluate().catch((error: unknown) => this.options.logger.error({ err: error }, 'drift evaluation failed'));
  }

  /** One evaluation (serialised: a second call waits for the first). */
  evaluate(): Promise<EvaluationSummary | undefined> {
    const next = this.running.catch(() => undefined).then(async () => {
      const startedAt = Date.now();
      try {
        return await this.evaluateNow();
      } finally {
        this.lastEvaluation = { endedAt: Date.now(), tookMs: Date.now() - startedAt };
      }
    });
    this.running = next;
    return next;
  }

  private async evaluateNow(): Promise<EvaluationSummary | undefined> {
    if (this.stopped || !this.options.isActive()) return undefined;
    const { gateway, git, config, store, logger } = this.options;
    const namespaces = monitoredNamespaces(config, await this.watched.load());
    if (namespaces.length === 0) return undefined;
    const now = this.now();
    const desired = await git.desiredState();
    if (desired.states.length === 0) {
      logger.debug('drift: no repository is synced yet; nothing to compare');
      return undefined;
    }
    const served = servedKinds(await gateway.discoverKinds());
    const view = this.options.view;
    const live: LiveObjects = view ? { ...(await view.workloads()), ...(await view.policies()) } : await readLiveObjects(gateway, served);
    const { kinds, problems: kindProblems } = comparedKinds(desired.objects, served);
    const policies = livePolicies(live);
    // In chunks with the event loop free between them: the web and worker roles of this process keep answering.
    const compared = await compareStateYielding(policies, desired.objects, { ignore: config.ignore, namespaces, kinds, memo: this.compareMemo, ...(this.options.pause ? { pause: this.options.pause } : {}) });
    const { report, note } = withoutUnsureExtras(compared, desired.problems.length);
    this.logProblems([...kindProblems, ...desired.problems.map((p) => `${p.repository}: ${p.message}`), ...(note ? [note] : [])]);
    const found: FoundDrift[] = await mapYielding(report.items, (item) => ({
      key: keyString(item.key),
      kind: item.key.kind,
      ...(item.key.namespace ? { namespace: item.key.namespace } : {}),
      name: item.key.name,
      status: item.status,
      diff: item.status === 'modified' ? formatFieldDiff(item.diff, 12) : [item.status === 'missing' ? 'in Git, not in the cluster' : 'in the cluster, not in Git'],
      live: fingerprint(itemObject(item)),
      desired: fingerprint(item.status === 'extra' ? undefined : item.desired),
      ...(item.status !== 'extra' && item.source ? { source: `${item.source.repository}:${item.source.path}` } : {}),
    }), COMPARE_CHUNK, this.options.pause);
    const recent = (await store.list()).filter((e) => e.state !== 'resolved' || (e.resolvedAt && now.getTime() - Date.parse(e.resolvedAt) <= config.reopenWithin));
    const result = reconcileEpisodes({ episodes: recent, found, now, reopenWithinMs: config.reopenWithin, newId: () => `drift-${DAY_ID(now)}-${now.getTime().toString(36)}${(this.sequence++).toString(36)}` });
    const itemsByKey = new Map(report.items.map((i) => [keyString(i.key), i]));
    const snapshotStates = new Map(recent.map((e) => [e.id, e.state]));
    const touched: DriftEpisode[] = [...result.changed];
    if (result.created) touched.push({ ...result.created, version: 0 });
    const summary: EvaluationSummary = { at: now.toISOString(), compared: report.compared, drifted: report.items.length, changed: [], problems: [...kindProblems, ...desired.problems.map((p) => `${p.repository}: ${p.message}`), ...(note ? [note] : [])] };
    for (const episode of touched) {
      const enriched = await this.enrich(episode, { live, report, desired: desired.objects, itemsByKey, started: new Set(result.startedKeys), resolved: new Set(result.resolvedKeys), now });
      const stored = episode.version === 0 ? await store.create(enriched) : (await store.update(episode.id, (current) => merge(current, enriched, snapshotStates.get(episode.id) ?? current.state))).episode;
      if (!stored) continue;
      if (episode.version === 0) summary.created = stored.id;
      else summary.changed.push(stored.id);
      await this.queueAlert(stored, now);
    }
    this.scheduleSelfHealCheck(touched);
    this.scheduleActorRefresh(touched);
    if (touched.length > 0) logger.info({ drifted: report.items.length, changed: summary.changed, created: summary.created }, 'drift evaluated');
    return summary;
  }

  /** Severity and connectivity delta of the episode's open drifts, actors, self-heal and resolvers. */
  private async enrich(
    episode: DriftEpisode,
    ctx: { live: LiveObjects; report: DriftReport; desired: readonly DesiredObject[]; itemsByKey: Map<string, DriftItem>; started: Set<string>; resolved: Set<string>; now: Date },
  ): Promise<DriftEpisode> {
    const open = episode.objects.filter((o) => !o.resolved);
    const items = open.map((o) => ctx.itemsByKey.get(o.key)).filter((i): i is DriftItem => i !== undefined);
    const delta = items.length > 0 ? await this.deltaOf(ctx.live, ctx.desired, { ...ctx.report, items }) : episode.delta;
    const objects: EpisodeObject[] = [];
    for (const o of episode.objects) {
      const next = { ...o };
      if (ctx.started.has(o.key)) {
        const actor = await this.attribution.actorOf(o, ctx.now);
        if (actor) next.actor = actor;
        // A drifted object's live side is in its drift item (none when it is missing from the cluster).
        const item = ctx.itemsByKey.get(o.key);
        const liveObject = item && item.status !== 'missing' ? item.live : undefined;
        const heal = liveObject ? await this.attribution.selfHealOf(liveObject) : undefined;
        if (heal) next.selfHeal = heal;
        else delete next.selfHeal;
      }
      if (ctx.resolved.has(o.key) && next.resolved) {
        const by = await this.attribution.resolverOf(o, ctx.now);
        if (by) next.resolved = { ...next.resolved, by };
      }
      objects.push(next);
    }
    const held = this.heldFor(delta, ctx.now, episode);
    const { held: _old, ...rest } = episode;
    return { ...rest, objects, delta, ...(held ? { held } : {}) };
  }

  /** Off the main thread: the Slack acknowledgements and jobs of this process go on meanwhile. */
  private deltaOf(live: LiveObjects, desired: readonly DesiredObject[], report: DriftReport): Promise<DeltaSummary> {
    const drifted = new Set(report.items.map((i) => keyString(i.key)));
    // Only the drifted objects' versions in Git are read: the others are not copied to the thread.
    const wanted = desired.filter((d) => {
      const key = objectKeyOf(d.object, d.namespace);
      return key !== undefined && drifted.has(keyString(key));
    });
    // Shared: the pods (the watched view's) are encoded once, not copied for every evaluation.
    return computeOffThread('driftDelta', { live: shareLive(live), desired: wanted, report });
  }

  /** Below minSeverity: never alerted; in quiet hours below alertAbove: alerted when they end. */
  private heldFor(delta: DeltaSummary, now: Date, episode: DriftEpisode): DriftEpisode['held'] {
    const { minSeverity, quietHours } = this.options.config;
    if (SEVERITY_RANK[delta.severity] < SEVERITY_RANK[minSeverity]) return { reason: `below the alerting threshold (drift.minSeverity: ${minSeverity})` };
    if (episode.alert || !quietHours || SEVERITY_RANK[delta.severity] >= SEVERITY_RANK[quietHours.alertAbove]) return undefined;
    const until = quietUntil(now, quietHours);
    return until ? { reason: `quiet hours until ${quietHours.to} ${quietHours.timeZone}`, until: until.toISOString() } : undefined;
  }

  private async queueAlert(episode: DriftEpisode, now: Date): Promise<void> {
    if (episode.held && !episode.held.until) {
      // Never alerted; an alert already posted is still kept up to date.
      if (episode.alert) await this.options.alert(episode);
      return;
    }
    const delay = episode.held?.until ? Math.max(0, Date.parse(episode.held.until) - now.getTime()) : 0;
    await this.options.alert(episode, delay > 0 ? delay : undefined);
  }

  /**
   * Self-healing controllers get `selfHealGrace` to revert. Then the alert of every episode still
   * waiting for one is redrawn, so it says the controller did not (a revert would have resolved it).
   */
  private scheduleSelfHealCheck(episodes: DriftEpisode[]): void {
    const waiting = episodes.filter((e) => e.objects.some((o) => o.selfHeal && !o.resolved)).map((e) => e.id);
    if (waiting.length === 0) return;
    const timer = setTimeout(() => {
      if (this.stopped || !this.options.isActive()) return;
      void (async () => {
        for (const id of waiting) {
          const episode = await this.options.store.get(id);
          if (episode && episode.state !== 'resolved' && episode.objects.some((o) => o.selfHeal && !o.resolved)) await this.queueAlert(episode, this.now());
        }
      })().catch((error: unknown) => this.options.logger.warn({ err: error }, 'drift: self-heal check failed'));
    }, this.options.config.selfHealGrace + 50);
    timer.unref();
  }

  /** Problems reading Git are logged when they change (not at every evaluation). */
  private logProblems(problems: string[]): void {
    const text = problems.join('\n');
    if (text === this.lastProblems) return;
    this.lastProblems = text;
    if (problems.length > 0) this.options.logger.warn({ problems: problems.slice(0, 20), count: problems.length }, 'drift: the desired state in Git has problems');
  }

  /**
   * The audit webhook delivers in batches, often after the watch: an actor taken from managedFields
   * is looked up again a little later, and the alert redrawn when the audit log names the person.
   */
  private scheduleActorRefresh(episodes: DriftEpisode[]): void {
    if (!this.options.audit) return;
    const ids = episodes.filter((e) => e.objects.some((o) => !o.resolved && !namedByAudit(o.actor))).map((e) => e.id);
    if (ids.length === 0) return;
    for (const delay of ACTOR_REFRESH_MS) {
      const timer = setTimeout(() => {
        if (this.stopped || !this.options.isActive()) return;
        void this.refreshActors(ids).catch((error: unknown) => this.options.logger.debug({ err: error }, 'drift: actor refresh failed'));
      }, delay);
      timer.unref();
    }
  }

  private async refreshActors(ids: string[]): Promise<void> {
    const now = this.now();
    for (const id of ids) {
      const current = await this.options.store.get(id);
      if (!current) continue;
      const better = new Map<string, string>();
      for (const o of current.objects) {
        if (o.resolved || namedByAudit(o.actor)) continue;
        const actor = await this.attribution.actorOf(o, now);
        if (namedByAudit(actor)) better.set(o.key, actor);
      }
      if (better.size === 0) continue;
      const { episode } = await this.options.store.update(id, (e) => ({ ...e, objects: e.objects.map((o) => (better.has(o.key) ? { ...o, actor: better.get(o.key) } : o)) }));
      if (episode) await this.queueAlert(episode, now);
    }
  }
}

/**
 * An evaluation's view of an episode laid over what a click stored meanwhile: the Slack message,
 * a revert, an incident, and an acceptance made after the evaluation read the episode (unless the
 * evaluation found the drift moved, which ends an acceptance anyway).
 */
function merge(current: DriftEpisode, evaluated: DriftEpisode, snapshotState: DriftEpisode['state']): DriftEpisode {
  const acceptedMeanwhile = current.state === 'accepted' && snapshotState === 'open' && evaluated.state === 'open';
  return {
    ...evaluated,
    version: current.version,
    state: acceptedMeanwhile ? 'accepted' : evaluated.state,
    ...(current.alert ? { alert: current.alert } : {}),
    ...(current.revert ? { revert: current.revert } : {}),
    ...(current.incidentId ? { incidentId: current.incidentId } : {}),
    ...(current.accepted ? { accepted: current.accepted } : {}),
  };
}
