// Where restore plans are kept: one Redis key per plan, written once and never changed (a re-plan is
// a new plan with a new id), so the incident record only carries the id. The step records
// (./record.ts) live next to them, under the same prefix.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';
import type { RestorePlan } from './plan.js';
import { RestoreRecords } from './record.js';

/** Plans outlive the incident long enough for a postmortem and a late rollback. */
const PLAN_TTL_SECONDS = 30 * 24 * 3600;
const PLAN_ID = /^[a-z0-9]{1,24}$/;

export class RestorePlanMissing extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestorePlanMissing';
  }
}

export class RestoreStore {
  readonly records: RestoreRecords;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.records = new RestoreRecords(redis, prefix);
  }

  private key(incidentId: string, planId: string): string {
    return `${this.prefix}:restore-plan:${incidentId}:${planId}`;
  }

  async savePlan(incidentId: string, plan: RestorePlan): Promise<string> {
    const planId = randomBytes(6).toString('hex');
    await this.redis.set(this.key(incidentId, planId), JSON.stringify(plan), 'EX', PLAN_TTL_SECONDS, 'NX');
    return planId;
  }

  async loadPlan(incidentId: string, planId: string): Promise<RestorePlan> {
    if (!PLAN_ID.test(planId)) throw new RestorePlanMissing(`"${planId.slice(0, 40)}" is not a restore plan id`);
    const raw = await this.redis.get(this.key(incidentId, planId));
    if (raw === null) throw new RestorePlanMissing(`restore plan ${planId} of incident ${incidentId} is gone from Redis (expired or deleted): choose the source again to re-plan`);
    try {
      return JSON.parse(raw) as RestorePlan;
    } catch (error) {
      throw new RestorePlanMissing(`restore plan ${planId} of incident ${incidentId} is corrupt (${(error as Error).message}): choose the source again to re-plan`);
    }
  }

  /** Incidents in their watch window, by the dedupe key of the anomalies they were opened from. */
  private watchKey(): string {
    return `${this.prefix}:restore-watch`;
  }

  async watch(dedupeKeys: readonly string[], incidentId: string): Promise<void> {
    if (dedupeKeys.length === 0) return;
    await this.redis.hset(this.watchKey(), Object.fromEntries(dedupeKeys.map((k) => [k, incidentId])));
  }

  async unwatch(dedupeKeys: readonly string[], incidentId: string): Promise<void> {
    for (const key of dedupeKeys) {
      if ((await this.redis.hget(this.watchKey(), key)) === incidentId) await this.redis.hdel(this.watchKey(), key);
    }
  }

  watchedBy(dedupeKey: string): Promise<string | null> {
    return this.redis.hget(this.watchKey(), dedupeKey);
  }
}
