// The containment ledger: what one incident's containment changed in the cluster, written to
// Redis *before* each change, so a worker that dies between two writes leaves enough behind for
// the re-run to finish without doing anything twice, and for the lift to put everything back.
// The first recorded "before" of an object wins (HSETNX): a re-run never mistakes our own patch
// for the owner's original.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';
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
  /** The DNS the quarantine keeps open (what the proof accepts). */
  dns: { keep: boolean; namespace: string; podLabels: Record<string, string> };
  /** Which policies the exclusion covers (absent: none, e.g. cilium or additive). */
  exclusion?: 'all-selecting' | 'external-ingress';
  /**
   * The scope's connectivity before containment, and a fingerprint of the other policies then.
   * Recorded apart (recordBaseline) when computed while the writes go out, as the contain step
   * does; a record read back carries it here either way.
   */
  baseline?: LedgerBaseline;
}

export interface LedgerBaseline {
  connectivity: string[];
  fingerprint: string;
}

export interface LedgerRecord {
  meta: LedgerMeta;
  created: ObjectKey[];
  /** The objects as applied, to re-apply them if someone deletes or edits them. */
  createdObjects: Array<ObjectKey & { object: unknown }>;
  patches: Array<PatchBefore & { patchedResourceVersion?: string; gone?: boolean }>;
  pods: string[];
  applications: ApplicationBefore[];
}

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** The holder renews the lock while it works; one that died frees it within this. */
const LOCK_TTL_MS = 5_000;

export class LockBusy extends Error {
  constructor(incidentId: string) {
    super(`the containment of ${incidentId} is being changed by another worker; try again`);
    this.name = 'LockBusy';
  }
}

const keyOf = (o: ObjectKey): string => `${o.kind}/${o.namespace ?? ''}/${o.name}`;

export class ContainmentLedger {
  /**
   * loadMany's last record of each incident, with the fields it was parsed from: the guard reads
   * every active record each second, and parsing fifty unchanged ones (baselines included) again
   * each time was a steady cost on the worker's event loop.
   */
  private readonly parsed = new Map<string, { fields: Record<string, string>; record: LedgerRecord | undefined }>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** The Redis hash that holds an incident's record. */
  key(incidentId: string): string {
    return `${this.prefix}:containment:${incidentId}`;
  }

  /** Every containment that may be in force (for the guard and for expiry), by incident id. */
  private activeKey(): string {
    return `${this.prefix}:containments:active`;
  }

  /** Published whenever the set of active containments changes, so the guard looks at once. */
  get changesChannel(): string {
    return `${this.prefix}:containments:changed`;
  }

  /** Starts the record; a re-run keeps the first meta (and its baseline). */
  async begin(meta: LedgerMeta): Promise<LedgerMeta> {
    const key = this.key(meta.incidentId);
    await this.redis.hsetnx(key, 'meta', JSON.stringify(meta));
    return JSON.parse((await this.redis.hget(key, 'meta')) ?? JSON.stringify(meta)) as LedgerMeta;
  }

  /** The baseline taken before containment, when the meta did not carry it; the first recorded wins. */
  async recordBaseline(incidentId: string, baseline: LedgerBaseline): Promise<void> {
    await this.redis.hsetnx(this.key(incidentId), 'baseline', JSON.stringify(baseline));
  }

  /** The containment is fully applied: from now on the guard keeps it in force. */
  async activate(incidentId: string): Promise<void> {
    await this.redis.multi().sadd(this.activeKey(), incidentId).publish(this.changesChannel, incidentId).exec();
  }

  /** Records one of our objects (the key, and the object as applied). */
  async recordCreated(incidentId: string, key: ObjectKey, object: unknown): Promise<void> {
    await this.redis.hset(this.key(incidentId), `created:${keyOf(key)}`, JSON.stringify({ ...key, object }));
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

  /** The incident's record (undefined when it has none); throws UnreadableRecord when it does not parse. */
  async load(incidentId: string): Promise<LedgerRecord | undefined> {
    const fields = await this.redis.hgetall(this.key(incidentId));
    try {
      return recordOf(fields);
    } catch (cause) {
      throw new UnreadableRecord(incidentId, cause);
    }
  }

  /**
   * Several records in one round trip: the guard reads every active one each second. A record that
   * cannot be read comes back as an UnreadableRecord in its place, so the others still can be used.
   * A record whose fields are those of the last call is that call's record (read-only, shared);
   * what is kept is only for the ids of the latest call.
   */
  async loadMany(incidentIds: readonly string[]): Promise<Array<LedgerRecord | UnreadableRecord | undefined>> {
    if (incidentIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of incidentIds) pipeline.hgetall(this.key(id));
    const replies = (await pipeline.exec()) ?? [];
    const asked = new Set(incidentIds);
    for (const id of this.parsed.keys()) if (!asked.has(id)) this.parsed.delete(id);
    return replies.map(([error, reply], i) => {
      if (error) throw error;
      const id = incidentIds[i]!;
      const fields = reply as Record<string, string>;
      const last = this.parsed.get(id);
      if (last && sameFields(last.fields, fields)) return last.record;
      try {
        const record = recordOf(fields);
        this.parsed.set(id, { fields, record });
        return record;
      } catch (cause) {
        this.parsed.delete(id);
        return new UnreadableRecord(id, cause);
      }
    });
  }

  /** Incident ids whose containment may be in force. */
  async active(): Promise<string[]> {
    return (await this.redis.smembers(this.activeKey())).sort();
  }

  async isActive(incidentId: string): Promise<boolean> {
    return (await this.redis.sismember(this.activeKey(), incidentId)) === 1;
  }

  /** A lift starts: the guard stops enforcing the containment from now on. */
  async beginLift(incidentId: string): Promise<void> {
    await this.redis.multi().srem(this.activeKey(), incidentId).publish(this.changesChannel, incidentId).exec();
  }

  /** A lift failed part-way: the containment is in force again and the guard keeps it so. */
  async reactivate(incidentId: string): Promise<void> {
    if (await this.redis.hexists(this.key(incidentId), 'meta')) await this.activate(incidentId);
  }

  /**
   * Runs `fn` holding the incident's containment lock, so the guard's repairs and the lift never
   * interleave. Waits up to `waitMs` for the lock, then throws LockBusy.
   */
  async withLock<T>(incidentId: string, fn: () => Promise<T>, waitMs = 0): Promise<T> {
    const key = `${this.key(incidentId)}:lock`;
    const token = randomBytes(8).toString('hex');
    const deadline = Date.now() + waitMs;
    while ((await this.redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
      if (Date.now() >= deadline) throw new LockBusy(incidentId);
      await new Promise((r) => setTimeout(r, 20));
    }
    const renew = setInterval(() => void this.redis.eval(RENEW, 1, key, token, String(LOCK_TTL_MS)).catch(() => undefined), LOCK_TTL_MS / 3);
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await this.redis.eval(RELEASE, 1, key, token);
    }
  }

  /**
   * Sets a lifted containment's record aside (kept, under a dated key, for the postmortem), so the
   * incident can be contained again from scratch. A containment not lifted is never archived.
   */
  async archive(incidentId: string): Promise<boolean> {
    const key = this.key(incidentId);
    const liftedAt = await this.redis.hget(key, 'liftedAt');
    if (liftedAt === null) return false;
    await this.redis.multi().rename(key, `${key}:archived:${Date.parse(liftedAt) || Date.now()}`).srem(this.activeKey(), incidentId).exec();
    return true;
  }

  /** The lift is done: the record stays (for the postmortem) but the guard stops enforcing it. */
  async markLifted(incidentId: string, at: string): Promise<void> {
    await this.redis.multi().hset(this.key(incidentId), 'liftedAt', at).srem(this.activeKey(), incidentId).exec();
  }
}

/** A containment record whose fields do not parse (written by hand, or damaged). */
export class UnreadableRecord extends Error {
  constructor(
    readonly incidentId: string,
    cause: unknown,
  ) {
    super(`the containment record of ${incidentId} cannot be read: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'UnreadableRecord';
  }
}

/** A record from its hash's fields (none without its meta); throws on a field that does not parse. */
function sameFields(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function recordOf(fields: Record<string, string>): LedgerRecord | undefined {
  if (!fields.meta) return undefined;
  const meta = JSON.parse(fields.meta) as LedgerMeta | null;
  if (typeof meta !== 'object' || meta === null || typeof meta.namespace !== 'string' || typeof meta.incidentId !== 'string') throw new Error('its meta field is not a containment description');
  if (!meta.baseline && fields.baseline !== undefined) {
    const baseline = JSON.parse(fields.baseline) as LedgerBaseline | null;
    if (!Array.isArray(baseline?.connectivity) || typeof baseline.fingerprint !== 'string') throw new Error('its baseline field is not a connectivity baseline');
    meta.baseline = baseline;
  }
  const record: LedgerRecord = { meta, created: [], createdObjects: [], patches: [], pods: [], applications: [] };
  for (const [field, value] of Object.entries(fields)) {
    if (field.startsWith('created:')) {
      const { object, ...key } = JSON.parse(value) as ObjectKey & { object?: unknown };
      record.created.push(key);
      if (object !== undefined) record.createdObjects.push({ ...key, object });
    }
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
  const order = (o: { name: string; kind?: string }): string => `${o.name}\u0000${o.kind ?? ''}`;
  const byName = (a: { name: string; kind?: string }, b: { name: string; kind?: string }): number => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0);
  record.created.sort(byName);
  record.createdObjects.sort(byName);
  record.patches.sort(byName);
  record.pods.sort();
  return record;
}
