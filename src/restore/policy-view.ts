// The cluster's policies as a watch keeps them, for the engine check of each restore step.
//
// Listing every policy of a large cluster for each step is what a step spent its time on (4.6k
// NetworkPolicies listed in ten pages, step after step). A restore runs for minutes, so the
// runner keeps one informer-style view instead: list once, then watch, for every policy kind the
// cluster serves. A step's own object comes from its read-back, never from here (the engine check
// puts the recorded before-state in its place), so a watch lagging a few milliseconds behind the
// step's write does not matter. The watches stop after a while without use; any failure to get
// in sync falls back to a plain list, so a step never depends on the view.
import { readPolicies, servedKinds } from '../containment/snapshot.js';
import type { KindName, KubeGateway, KindWatch } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { LiveObjects } from '../policy/index.js';

export type PolicyLists = Omit<LiveObjects, 'namespaces' | 'pods'>;

type PolicyKind = 'NetworkPolicy' | 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'CiliumNetworkPolicy';

const LIST_OF: Record<PolicyKind, keyof PolicyLists> = {
  NetworkPolicy: 'networkPolicies',
  AdminNetworkPolicy: 'adminNetworkPolicies',
  BaselineAdminNetworkPolicy: 'baselineAdminNetworkPolicies',
  CiliumNetworkPolicy: 'ciliumNetworkPolicies',
};

export interface PolicyViewOptions {
  /** Stop watching after this long without a step asking (default 5 minutes). */
  idleMs?: number;
  /** How long a first sync may take before a step lists instead (default 10 s). */
  syncTimeoutMs?: number;
  logger?: Logger;
  clock?: () => number;
}

interface Running {
  watches: KindWatch[];
  objects: Map<PolicyKind, Map<string, unknown>>;
  synced: Promise<void>;
  /** A watch reported an error: this view is dropped at the next call, which lists instead. */
  broken: boolean;
}

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

function snapshotOf(running: Running): PolicyLists {
  const out: PolicyLists = { networkPolicies: [], adminNetworkPolicies: [], baselineAdminNetworkPolicies: [], ciliumNetworkPolicies: [] };
  for (const [kind, objects] of running.objects) {
    const list = out[LIST_OF[kind]] as unknown[];
    for (const o of objects.values()) list.push(o);
  }
  return out;
}

export class LivePolicyView {
  private running: Running | undefined;
  private starting: Promise<Running> | undefined;
  private lastUse = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly idleMs: number;
  private readonly syncTimeoutMs: number;
  private readonly clock: () => number;

  constructor(
    private readonly gateway: Pick<KubeGateway, 'watch' | 'discoverKinds' | 'objects'>,
    private readonly opts: PolicyViewOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 300_000;
    this.syncTimeoutMs = opts.syncTimeoutMs ?? 10_000;
    this.clock = opts.clock ?? Date.now;
  }

  /** Every policy of the served kinds, from the watches (started on first use), or listed when they are not in sync. */
  async policies(): Promise<PolicyLists> {
    this.lastUse = this.clock();
    try {
      const running = await (this.starting ??= this.start());
      let timer: NodeJS.Timeout | undefined;
      const inSync = await Promise.race([running.synced.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.syncTimeoutMs)))]);
      clearTimeout(timer);
      if (inSync && !running.broken) return snapshotOf(running);
      // A view that could not get in sync is dropped: the next step starts afresh.
      await this.stop();
    } catch (error) {
      this.starting = undefined;
      this.opts.logger?.debug({ err: error }, 'restore policy view: cannot start; listing instead');
    }
    return readPolicies(this.gateway, servedKinds(await this.gateway.discoverKinds()));
  }

  private async start(): Promise<Running> {
    const served = servedKinds(await this.gateway.discoverKinds());
    const kinds: PolicyKind[] = ['NetworkPolicy', ...(served.adminNetworkPolicy ? (['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy'] as const) : []), ...(served.ciliumNetworkPolicy ? (['CiliumNetworkPolicy'] as const) : [])];
    const running: Running = { watches: [], objects: new Map(kinds.map((k) => [k, new Map()])), synced: Promise.resolve(), broken: false };
    const syncs: Promise<void>[] = [];
    for (const kind of kinds) {
      const objects = running.objects.get(kind) as Map<string, unknown>;
      syncs.push(
        new Promise<void>((resolve) => {
          const watch = this.gateway.watch(kind as KindName, (event) => {
            const key = keyOf(event.object as never);
            if (event.type === 'deleted') objects.delete(key);
            else objects.set(key, event.object);
          }, {
            bookmarks: true,
            onSynced: () => resolve(),
            onError: (error) => {
              // A watch that failed may be behind (it retries with a backoff): the next step starts the view afresh.
              running.broken = true;
              this.opts.logger?.debug({ err: error, kind }, 'restore policy view: watch error');
            },
          });
          running.watches.push(watch);
        }),
      );
    }
    running.synced = Promise.all(syncs).then(() => undefined);
    this.running = running;
    this.timer ??= setInterval(() => void this.stopIfIdle(), Math.max(1000, Math.floor(this.idleMs / 4)));
    this.timer.unref();
    return running;
  }

  private async stopIfIdle(): Promise<void> {
    if (this.running && this.clock() - this.lastUse >= this.idleMs) await this.stop();
  }

  /** Ends the watches (a later step starts them again). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const running = this.running ?? (this.starting ? await this.starting.catch(() => undefined) : undefined);
    this.running = undefined;
    this.starting = undefined;
    await Promise.all((running?.watches ?? []).map((w) => w.stop()));
  }
}
