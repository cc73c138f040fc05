// The cluster as watches keep it (namespaces, pods and every served policy kind), for the engine
// check of each restore step.
//
// Listing every pod and policy of a large cluster for each step is what a step spent its time on
// (10k pods and 4.6k NetworkPolicies, in pages, step after step). A restore runs for minutes, so
// the runner keeps one informer-style view instead: list once, then watch. A snapshot is the same
// list objects until something of its group changes, which lets the run's engine session
// (./engine-session.ts) see at a glance that the pods did not move. A step's own object comes
// from its read-back, never from here (the engine check puts the recorded before-state in its
// place), so a watch a few milliseconds behind the step's write does not matter. The watches stop
// after a while without use; a view that cannot get in sync, or whose watch failed, is dropped and
// the step lists instead, so a step never depends on it.
import { readPolicies, readWorkloads, servedKinds } from '../containment/snapshot.js';
import type { KindName, KindWatch, KubeGateway } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { LiveObjects } from '../policy/index.js';

export type PolicyLists = Omit<LiveObjects, 'namespaces' | 'pods'>;
export type Workloads = Pick<LiveObjects, 'namespaces' | 'pods'>;

type ViewKind = 'Namespace' | 'Pod' | 'NetworkPolicy' | 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'CiliumNetworkPolicy';
type Group = 'workloads' | 'policies';

const LIST_OF: Record<ViewKind, keyof LiveObjects> = {
  Namespace: 'namespaces',
  Pod: 'pods',
  NetworkPolicy: 'networkPolicies',
  AdminNetworkPolicy: 'adminNetworkPolicies',
  BaselineAdminNetworkPolicy: 'baselineAdminNetworkPolicies',
  CiliumNetworkPolicy: 'ciliumNetworkPolicies',
};
const GROUP_OF = (kind: ViewKind): Group => (kind === 'Namespace' || kind === 'Pod' ? 'workloads' : 'policies');

export interface ClusterViewOptions {
  /** Stop watching after this long without a step asking (default 5 minutes). */
  idleMs?: number;
  /** How long a first sync may take before a step lists instead (default 5 s). */
  syncTimeoutMs?: number;
  logger?: Logger;
  clock?: () => number;
}

interface Running {
  watches: KindWatch[];
  objects: Map<ViewKind, Map<string, unknown>>;
  synced: Promise<void>;
  /** A watch reported an error: this view is dropped at the next call, which lists instead. */
  broken: boolean;
  /** Every watch has delivered its first list. */
  ready: boolean;
  /** Bumped by every event of the group; a snapshot is kept until it moves. */
  generation: Record<Group, number>;
  snapshots: Partial<Record<Group, { generation: number; lists: Partial<LiveObjects> }>>;
}

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

function snapshot(running: Running, group: Group): Partial<LiveObjects> {
  const kept = running.snapshots[group];
  if (kept && kept.generation === running.generation[group]) return kept.lists;
  const lists: Partial<LiveObjects> = group === 'workloads' ? { namespaces: [], pods: [] } : { networkPolicies: [], adminNetworkPolicies: [], baselineAdminNetworkPolicies: [], ciliumNetworkPolicies: [] };
  for (const [kind, objects] of running.objects) {
    if (GROUP_OF(kind) !== group) continue;
    const list = lists[LIST_OF[kind]] as unknown[];
    for (const o of objects.values()) list.push(o);
  }
  running.snapshots[group] = { generation: running.generation[group], lists };
  return lists;
}

export class LiveClusterView {
  private running: Running | undefined;
  private readonly policyListeners = new Set<() => void>();
  private starting: Promise<Running> | undefined;
  private lastUse = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly idleMs: number;
  private readonly syncTimeoutMs: number;
  private readonly clock: () => number;

  constructor(
    private readonly gateway: Pick<KubeGateway, 'watch' | 'discoverKinds' | 'objects'>,
    private readonly opts: ClusterViewOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 300_000;
    this.syncTimeoutMs = opts.syncTimeoutMs ?? 5_000;
    this.clock = opts.clock ?? Date.now;
  }

  /** Every namespace and pod: the same lists as last time while none changed. */
  async workloads(): Promise<Workloads> {
    const running = await this.inSync();
    return running ? (snapshot(running, 'workloads') as Workloads) : readWorkloads(this.gateway);
  }

  /** Every policy of the served kinds: the same lists as last time while none changed. */
  async policies(): Promise<PolicyLists> {
    const running = await this.inSync();
    return running ? (snapshot(running, 'policies') as PolicyLists) : readPolicies(this.gateway, servedKinds(await this.gateway.discoverKinds()));
  }

  /** Calls `listener` after every policy change the view's watches deliver; returns the unsubscribe. */
  onPolicyChange(listener: () => void): () => void {
    this.policyListeners.add(listener);
    return () => this.policyListeners.delete(listener);
  }

  /** The view (started on first use) once in sync, or undefined when the caller must list. */
  private async inSync(): Promise<Running | undefined> {
    this.lastUse = this.clock();
    try {
      const running = await (this.starting ??= this.start());
      let timer: NodeJS.Timeout | undefined;
      const inSync = await Promise.race([running.synced.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.syncTimeoutMs)))]);
      clearTimeout(timer);
      if (inSync && !running.broken) return running;
      // A view that could not get in sync is dropped (the next call starts afresh); its watches
      // end in the background, so a list stuck in one of them never holds up the caller.
      void this.stop().catch(() => undefined);
    } catch (error) {
      this.starting = undefined;
      this.opts.logger?.debug({ err: error }, 'restore cluster view: cannot start; listing instead');
    }
    return undefined;
  }

  private async start(): Promise<Running> {
    const served = servedKinds(await this.gateway.discoverKinds());
    const kinds: ViewKind[] = ['Namespace', 'Pod', 'NetworkPolicy', ...(served.adminNetworkPolicy ? (['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy'] as const) : []), ...(served.ciliumNetworkPolicy ? (['CiliumNetworkPolicy'] as const) : [])];
    const running: Running = { watches: [], objects: new Map(kinds.map((k) => [k, new Map()])), synced: Promise.resolve(), broken: false, ready: false, generation: { workloads: 0, policies: 0 }, snapshots: {} };
    const syncs = kinds.map(
      (kind) =>
        new Promise<void>((resolve) => {
          const objects = running.objects.get(kind) as Map<string, unknown>;
          const group = GROUP_OF(kind);
          const watch = this.gateway.watch(
            kind as KindName,
            (event) => {
              const key = keyOf(event.object as never);
              if (event.type === 'deleted') objects.delete(key);
              else objects.set(key, event.object);
              running.generation[group] += 1;
              // Once in sync: the first list's events are the starting point, not changes.
              if (group === 'policies' && running.ready) for (const listener of this.policyListeners) listener();
            },
            {
              bookmarks: true,
              onSynced: () => resolve(),
              onError: (error) => {
                // A watch that failed may be behind (it retries with a backoff): the next call starts the view afresh.
                running.broken = true;
                this.opts.logger?.debug({ err: error, kind }, 'restore cluster view: watch error');
              },
            },
          );
          running.watches.push(watch);
        }),
    );
    running.synced = Promise.all(syncs).then(() => {
      running.ready = true;
    });
    this.running = running;
    this.timer ??= setInterval(() => void this.stopIfIdle(), Math.max(1000, Math.floor(this.idleMs / 4)));
    this.timer.unref();
    return running;
  }

  private async stopIfIdle(): Promise<void> {
    if (this.running && this.clock() - this.lastUse >= this.idleMs) await this.stop();
  }

  /** Ends the watches (a later call starts them again). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const running = this.running ?? (this.starting ? await this.starting.catch(() => undefined) : undefined);
    this.running = undefined;
    this.starting = undefined;
    await Promise.all((running?.watches ?? []).map((w) => w.stop()));
  }
}
