// One Slack front for every cluster the bot serves: which cluster's runtime a command, a click or
// a webhook is for. An incident id leads with its cluster's name (newIncidentId), so it routes
// without asking Redis; a cluster typed as `<cluster>/<namespace>` routes a new incident.
import type { AnomalyDesk } from '../anomaly/desk.js';
import type { DriftDesk } from '../drift/desk.js';
import type { IncidentStore } from '../incident/store.js';
import type { IncidentEngine } from '../playbook/engine.js';
import type { JobQueue } from '../queue/bullmq.js';
import { escapeMrkdwn } from './block-text.js';
import type { RestoreDecisions } from './restore-blocks.js';

/** What the Slack front needs of one cluster's runtime. */
export interface ClusterFront {
  /** The cluster's name (config `clusters`); absent for the one cluster of a bot without `clusters`. */
  name?: string;
  engine: IncidentEngine;
  store: IncidentStore;
  queue: JobQueue;
  /** Whether Redis answered lately (src/redis/heartbeat.ts); absent: each command that queues work PINGs first. */
  redisHeartbeat?: { readonly fresh: boolean };
  protectedNamespaces: ReadonlySet<string>;
  /** Asked before `/netpol incident` is acknowledged, so an unknown namespace is refused at once. */
  namespaceExists?: (name: string) => Promise<boolean>;
  /** Alerts and decisions on anomalies; absent when no alerts channel is configured. */
  desk?: AnomalyDesk;
  /** Drift alerts' buttons. */
  driftDesk?: DriftDesk;
  /** The restore step's decisions; absent: restore is not available. */
  restore?: RestoreDecisions;
}

const ID_AFTER_CLUSTER = /^(.+)-(\d{8}-[a-z0-9]{6})$/;

/** The cluster name an incident id leads with, if it is one of `names`. Pure. */
export function clusterOfIncidentId(id: string, names: readonly string[]): string | undefined {
  const match = ID_AFTER_CLUSTER.exec(id);
  return match && names.includes(match[1]!) ? match[1] : undefined;
}

/**
 * The cluster a webhook delivery names with `?cluster=<name>` (each cluster's sender gets its own
 * URL). `names`: the clusters served by name (none for the one cluster of a bot without `clusters`).
 * With at most one cluster the parameter may be left out. Pure.
 */
export function clusterOfRequest(url: string | undefined, names: readonly string[]): { name: string | undefined } | { error: string } {
  const named = new URL(url ?? '/', 'http://localhost').searchParams.get('cluster');
  if (names.length <= 1) return named === null || named === names[0] ? { name: names[0] } : { error: `unknown cluster "${named.slice(0, 64)}"` };
  if (named === null) return { error: `this bot serves several clusters: add ?cluster=<name> to the URL (${names.join(', ')})` };
  return names.includes(named) ? { name: named } : { error: `unknown cluster "${named.slice(0, 64)}" (this bot serves ${names.join(', ')})` };
}

export type ScopeRoute = { ok: true; front: ClusterFront } | { ok: false; message: string };

export class ClusterRoutes {
  private readonly byName = new Map<string, ClusterFront>();

  constructor(readonly fronts: readonly ClusterFront[]) {
    if (fronts.length === 0) throw new Error('the Slack front needs at least one cluster');
    for (const front of fronts) if (front.name) this.byName.set(front.name, front);
    if (fronts.length > 1 && this.byName.size !== fronts.length) throw new Error('several clusters need a distinct name each');
  }

  /** True when the bot serves several named clusters (config `clusters`). */
  get named(): boolean {
    return this.byName.size > 0;
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** The cluster whose runtime keeps this incident; undefined: no cluster could hold that id. */
  forIncident(id: string): ClusterFront | undefined {
    if (!this.named) return this.fronts[0];
    const name = clusterOfIncidentId(id, this.names);
    return name ? this.byName.get(name) : undefined;
  }

  /** The cluster a typed `[cluster/]namespace` names; a single cluster needs no prefix. */
  forScope(cluster: string | undefined): ScopeRoute {
    const list = this.names.map((n) => `\`${n}\``).join(', ');
    if (cluster === undefined) {
      if (this.fronts.length === 1) return { ok: true, front: this.fronts[0]! };
      return { ok: false, message: `Which cluster? This bot serves ${list}: type \`/netpol incident <cluster>/<namespace>\`. No incident was opened.` };
    }
    const front = this.named ? this.byName.get(cluster) : undefined;
    if (front) return { ok: true, front };
    const served = this.named ? `it serves ${list}` : 'it serves one cluster: leave the cluster out';
    return { ok: false, message: `This bot does not serve a cluster \`${escapeMrkdwn(cluster)}\` (${served}). No incident was opened.` };
  }
}

export interface AlertOwner<D> {
  desk: D;
  /** Where that desk posted the alert (undefined: not posted, or not yet recorded). */
  posted: { channel: string; ts: string } | undefined;
}

/**
 * The desk (anomaly or drift) of the cluster whose alert was clicked. Their ids are per cluster, so
 * with several clusters each is asked where it posted an alert of that id, and the one posted on
 * the clicked message wins; none: the first that has one (the click is then refused as made
 * elsewhere).
 */
export async function alertOwner<D extends { alertOf(id: string): Promise<{ channel: string; ts: string } | undefined> }>(
  routes: ClusterRoutes,
  deskOf: (front: ClusterFront) => D | undefined,
  id: string,
  origin: { channel?: string; messageTs?: string },
): Promise<AlertOwner<D> | undefined> {
  const desks = routes.fronts.map(deskOf).filter((d): d is D => d !== undefined);
  if (desks.length <= 1) return desks[0] && { desk: desks[0], posted: await desks[0].alertOf(id) };
  const owners = await Promise.all(desks.map(async (desk) => ({ desk, posted: await desk.alertOf(id) })));
  return owners.find((o) => o.posted?.channel === origin.channel && o.posted?.ts === origin.messageTs) ?? owners.find((o) => o.posted) ?? undefined;
}
