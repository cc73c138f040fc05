// Anomalies in Redis: each raised anomaly (from the collector or a webhook) with the Slack alert
// that shows it and the one decision taken on it (opened as an incident, contained automatically,
// or dismissed as expected), why automatic response did not contain it, plus the dismissals the
// collector must honour.
import type { RedisClient } from '../redis/connect.js';
import type { Anomaly } from '../flows/types.js';

export interface AnomalyDecision {
  kind: 'opened' | 'dismissed' | 'auto-contained';
  /** A Slack user id, or the automatic-response actor for 'auto-contained'. */
  user: string;
  at: string;
  incidentId?: string;
  /** 'auto-contained': the index of the anomalies.autoContain rule and its time box. */
  rule?: number;
  maxDuration?: number;
}

/** A matching rule that did not contain: refused by the limit, or skipped (an incident holds the scope). */
export interface AutoResponseNote {
  outcome: 'refused' | 'skipped';
  reason: string;
  at: string;
}

export interface AnomalyRecord {
  anomaly: Anomaly;
  raisedAt: string;
  alert?: { channel: string; ts: string };
  decision?: AnomalyDecision;
  autoResponse?: AutoResponseNote;
}

export interface Dismissal {
  dedupeKey: string;
  /** Flow time until which the collector raises nothing for this key. */
  until: number;
}

export class AnomalyStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly keepForMs: number,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:anomaly:${id}`;
  }
  private namespaceIndex(namespace: string): string {
    return `${this.prefix}:anomalies:ns:${namespace}`;
  }
  private get dismissalsKey(): string {
    return `${this.prefix}:anomaly-dismissals`;
  }
  /** Stream that tells running collectors about new dismissals. */
  get feedbackStream(): string {
    return `${this.prefix}:anomaly-feedback`;
  }

  /** Stores a newly raised anomaly; false when it was stored already (a redelivery). */
  async save(anomaly: Anomaly, now: Date): Promise<boolean> {
    const key = this.key(anomaly.id);
    const created = await this.redis.hsetnx(key, 'anomaly', JSON.stringify(anomaly));
    if (created === 0) return false;
    const ttlSeconds = Math.ceil(this.keepForMs / 1000);
    await this.redis
      .multi()
      .hset(key, 'raisedAt', now.toISOString())
      .expire(key, ttlSeconds)
      .zadd(this.namespaceIndex(anomaly.scope.namespace), now.getTime(), anomaly.id)
      .zremrangebyscore(this.namespaceIndex(anomaly.scope.namespace), 0, now.getTime() - this.keepForMs)
      .expire(this.namespaceIndex(anomaly.scope.namespace), ttlSeconds)
      .exec();
    return true;
  }

  async get(id: string): Promise<AnomalyRecord | undefined> {
    // Ids come back from Slack buttons: anything but printable ASCII of sane length is not ours.
    if (!/^[\x21-\x7e]{1,300}$/.test(id)) return undefined;
    const fields = await this.redis.hgetall(this.key(id));
    if (!fields.anomaly) return undefined;
    return {
      anomaly: JSON.parse(fields.anomaly) as Anomaly,
      raisedAt: fields.raisedAt ?? '',
      alert: fields.alert ? (JSON.parse(fields.alert) as AnomalyRecord['alert']) : undefined,
      decision: fields.decision ? (JSON.parse(fields.decision) as AnomalyDecision) : undefined,
      ...(fields.autoResponse ? { autoResponse: JSON.parse(fields.autoResponse) as AutoResponseNote } : {}),
    };
  }

  /** Anomalies raised in a namespace since `since`, newest first. */
  async recent(namespace: string, since: Date, limit = 10): Promise<AnomalyRecord[]> {
    const ids = await this.redis.zrevrangebyscore(this.namespaceIndex(namespace), '+inf', since.getTime(), 'LIMIT', 0, limit);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records.filter((r): r is AnomalyRecord => r !== undefined);
  }

  async setAlert(id: string, alert: { channel: string; ts: string }): Promise<void> {
    await this.redis.hset(this.key(id), 'alert', JSON.stringify(alert));
  }

  async setAutoResponse(id: string, note: AutoResponseNote): Promise<void> {
    await this.redis.hset(this.key(id), 'autoResponse', JSON.stringify(note));
  }

  /** Records the decision unless one was taken already: the first click wins. */
  async decide(id: string, decision: AnomalyDecision): Promise<{ taken: true } | { taken: false; existing: AnomalyDecision }> {
    const set = await this.redis.hsetnx(this.key(id), 'decision', JSON.stringify(decision));
    if (set === 1) return { taken: true };
    const existing = await this.redis.hget(this.key(id), 'decision');
    return { taken: false, existing: JSON.parse(existing ?? '{}') as AnomalyDecision };
  }

  async addDismissal(dismissal: Dismissal): Promise<void> {
    await this.redis
      .multi()
      .hset(this.dismissalsKey, dismissal.dedupeKey, String(dismissal.until))
      .xadd(this.feedbackStream, 'MAXLEN', '~', '10000', '*', 'dedupeKey', dismissal.dedupeKey, 'until', String(dismissal.until))
      .exec();
  }

  async dismissals(): Promise<Dismissal[]> {
    const all = await this.redis.hgetall(this.dismissalsKey);
    return Object.entries(all).map(([dedupeKey, until]) => ({ dedupeKey, until: Number(until) }));
  }
}
