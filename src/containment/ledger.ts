// The containment ledger: what one incident's containment changed in the cluster, written to
// Redis *before* each change, so a worker that dies between two writes leaves enough behind for
// the re-run to finish without doing anything twice, and for the lift to put everything back.
// The first recorded "before" of an object wins (HSETNX): a re-run never mistakes our own patch
// for the owner's original.
import type { Redis } from 'ioredis';
import type { LabelSelectorSpec } from '../incident/model.js';

export interface ObjectKey {
  kind: string;
  namespace?: string;
  name: string;
}

export interface PatchBefore {
  namespace: string;
  name: string;
  resourceVersion: string;
  podSelector: LabelSelectorSpec;
  /** The Flux reconcile annotation as it was (null: absent). */
  fluxReconcile: string | null;
  /** Whether our patch suspends Flux (we then remove the annotation on lift). */
  suspendsFlux: boolean;
}

export interface ApplicationBefore {
  namespace: string;
  name: string;
  /** argocd.argoproj.io/skip-reconcile as it was (null: absent). */
  skipReconcile: string | null;
}

export interface LedgerMeta {
  incidentId: string;
  strategy: string;
  namespace: string;
  labelSelector?: LabelSelectorSpec;
  startedAt: string;
  /** The scope's connectivity before containment, and a fingerprint of the other policies then. */
  baseline: { connectivity: string[]; fingerprint: string };
}

export interface LedgerRecord {
  meta: LedgerMeta;
  created: ObjectKey[];
  patches: Array<PatchBefore & { patchedResourceVersion?: string; gone?: boolean }>;
  pods: string[];
  applications: ApplicationBefore[];
}

const keyOf = (o: ObjectKey): string => `${o.kind}/${o.namespace ?? ''}/${o.name}`;

export class ContainmentLedger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(incidentId: string): string {
    return `${this.prefix}:containment:${incidentId}`;
  }

  /** Every containment that may be in force (for the guard and for expiry), by incident id. */
  private activeKey(): string {
    return `${this.prefix}:containments:active`;
  }

  /** Starts the record; a re-run keeps the first meta (and its baseline). */
  async begin(meta: LedgerMeta): Promise<LedgerMeta> {
    const key = this.key(meta.incidentId);
    await this.redis.multi().hsetnx(key, 'meta', JSON.stringify(meta)).sadd(this.activeKey(), meta.incidentId).exec();
    return JSON.parse((await this.redis.hget(key, 'meta')) ?? JSON.stringify(meta)) as LedgerMeta;
  }

  async recordCreated(incidentId: string, object: ObjectKey): Promise<void> {
    await this.redis.hset(this.key(incidentId), `created:${keyOf(object)}`, JSON.stringify(object));
  }

  async recordPod(incidentId: string, pod: string): Promise<void> {
    await this.redis.hset(this.key(incidentId), `pod:${pod}`, '1');
  }

  /** Records the policy as it was before our first patch; returns the first record made. */
  async recordPatchBefore(incidentId: string, before: PatchBefore): Promise<PatchBefore> {
    const key = this.key(incidentId);
    const field = `patch:${before.namespace}/${before.name}`;
    await this.redis.hsetnx(key, field, JSON.stringify(before));
    return JSON.parse((await this.redis.hget(key, field)) ?? JSON.stringify(before)) as PatchBefore;
  }

  async markPatched(incidentId: string, namespace: string, name: string, resourceVersion: string): Promise<void> {
    await this.redis.hset(this.key(incidentId), `patched:${namespace}/${name}`, resourceVersion);
  }

  async markPolicyGone(incidentId: string, namespace: string, name: string): Promise<void> {
    await this.redis.hset(this.key(incidentId), `gone:${namespace}/${name}`, '1');
  }

  async recordApplicationBefore(incidentId: string, before: ApplicationBefore): Promise<ApplicationBefore> {
    const key = this.key(incidentId);
    const field = `application:${before.namespace}/${before.name}`;
    await this.redis.hsetnx(key, field, JSON.stringify(before));
    return JSON.parse((await this.redis.hget(key, field)) ?? JSON.stringify(before)) as ApplicationBefore;
  }

  async load(incidentId: string): Promise<LedgerRecord | undefined> {
    const fields = await this.redis.hgetall(this.key(incidentId));
    if (!fields.meta) return undefined;
    const record: LedgerRecord = { meta: JSON.parse(fields.meta) as LedgerMeta, created: [], patches: [], pods: [], applications: [] };
    for (const [field, value] of Object.entries(fields)) {
      if (field.startsWith('created:')) record.created.push(JSON.parse(value) as ObjectKey);
      else if (field.startsWith('pod:')) record.pods.push(field.slice('pod:'.length));
      else if (field.startsWith('application:')) record.applications.push(JSON.parse(value) as ApplicationBefore);
      else if (field.startsWith('patch:')) {
        const before = JSON.parse(value) as PatchBefore;
        const ref = `${before.namespace}/${before.name}`;
        record.patches.push({
          ...before,
          ...(fields[`patched:${ref}`] ? { patchedResourceVersion: fields[`patched:${ref}`] } : {}),
          ...(fields[`gone:${ref}`] ? { gone: true } : {}),
        });
      }
    }
    const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    record.created.sort(byName);
    record.patches.sort(byName);
    record.pods.sort();
    return record;
  }

  /** Incident ids whose containment may be in force. */
  async active(): Promise<string[]> {
    return (await this.redis.smembers(this.activeKey())).sort();
  }

  /** The lift is done: the record stays (for the postmortem) but the guard stops enforcing it. */
  async markLifted(incidentId: string, at: string): Promise<void> {
    await this.redis.multi().hset(this.key(incidentId), 'liftedAt', at).srem(this.activeKey(), incidentId).exec();
  }
}
