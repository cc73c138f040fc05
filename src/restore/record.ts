// What each restore step found and did, kept in Redis so that a step can be rolled back and a
// worker that died half-way resumes without doing anything twice. The live object is recorded
// *before* the step writes; each transition (before, applied, rolled back) is one HSETNX, so the
// first write wins: a retried step never overwrites what was there originally, nor a re-run the
// outcome of the run that did the write.
//
// A record belongs to one planned step: its number, its object and the resourceVersion it was
// planned on. A step re-planned after a live change (new resourceVersion) gets a new record; the
// old one stays, as the history of an attempt.
import type { RedisClient } from '../redis/connect.js';
import { keyString } from '../drift/compare.js';
import type { RestoreStep } from './plan.js';
import { isRecord } from './scope.js';

type Obj = Record<string, unknown>;

export type StepOutcome = 'created' | 'updated' | 'deleted' | 'unchanged';

/** Which planned step a record belongs to. */
export type StepIdentity = Pick<RestoreStep, 'n' | 'key' | 'action' | 'resourceVersion'>;

export interface Measured {
  /** Engine lines the write opened / closed, measured on the live state (./verify.ts). */
  opened: string[];
  closed: string[];
}

export interface StepRecord {
  incidentId: string;
  n: number;
  /** keyString of the step's object, e.g. `NetworkPolicy db/allow-db-from-api`. */
  key: string;
  action: RestoreStep['action'];
  /** The resourceVersion the step was planned on ('' for a create). */
  plannedResourceVersion: string;
  /** The live object right before the step wrote, as read (null: it did not exist). */
  before: Obj | null;
  recordedAt: string;
  /** Set once the write is known to have taken effect (by the run that wrote, or a re-run that found it done). */
  appliedAt?: string;
  outcome?: StepOutcome;
  /** The object's resourceVersion after the write (absent after a delete). */
  appliedResourceVersion?: string;
  /** The connectivity change measured when the step was verified. */
  measured?: Measured;
  verified?: boolean;
  rolledBackAt?: string;
  rollbackOutcome?: StepOutcome;
}

export interface AppliedMark {
  at: string;
  outcome: StepOutcome;
  resourceVersion?: string;
  measured: Measured;
  verified: boolean;
}

export interface RollbackMark {
  at: string;
  outcome: StepOutcome;
}

export class RestoreRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRecordError';
  }
}

/** Incident ids become part of a key: bounded, printable, no spaces. */
const INCIDENT_ID = /^[\x21-\x7e]{1,128}$/;

function checkIncident(incidentId: unknown): string {
  if (typeof incidentId !== 'string' || !INCIDENT_ID.test(incidentId)) throw new RestoreRecordError('the incident id must be 1 to 128 printable characters without spaces');
  return incidentId;
}

/** The step's record key (JSON keeps it unambiguous whatever the names hold) and object key. */
function checkIdentity(step: unknown): { field: string; key: string } {
  if (!isRecord(step) || !Number.isSafeInteger(step.n) || (step.n as number) < 1) throw new RestoreRecordError('a step record needs the step number (a positive integer)');
  const key = step.key;
  if (!isRecord(key) || typeof key.kind !== 'string' || typeof key.name !== 'string' || (key.namespace !== undefined && typeof key.namespace !== 'string')) {
    throw new RestoreRecordError(`step ${String(step.n)} has no object key {kind, namespace, name}`);
  }
  if (step.action !== 'create' && step.action !== 'update' && step.action !== 'delete') throw new RestoreRecordError(`step ${String(step.n)}: action must be create, update or delete`);
  if (step.resourceVersion !== undefined && typeof step.resourceVersion !== 'string') throw new RestoreRecordError(`step ${String(step.n)}: resourceVersion must be a string`);
  const id = keyString(key as { kind: string; name: string; namespace?: string });
  return { key: id, field: JSON.stringify([step.n, id, step.resourceVersion ?? '']) };
}

/** The reply of one command of a MULTI; its error is thrown. */
function reply(results: Array<[Error | null, unknown]> | null, at: number): string | null {
  const entry = results?.[at];
  if (!entry) throw new RestoreRecordError('the Redis transaction was aborted');
  if (entry[0]) throw entry[0];
  return (entry[1] as string | null) ?? null;
}

function parse<T>(raw: string | null, what: string): T | undefined {
  if (raw === null) return undefined;
  try {
    const value = JSON.parse(raw) as unknown;
    if (!isRecord(value)) throw new Error('not an object');
    return value as T;
  } catch (error) {
    throw new RestoreRecordError(`the restore record of ${what} is corrupt (${(error as Error).message}); inspect it in Redis before going on`);
  }
}

export class RestoreRecords {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private hash(incidentId: string): string {
    return `${this.prefix}:restore:${incidentId}`;
  }

  /**
   * Records the live object as it is right before the step writes, unless this step already has a
   * record: then the first one stays and is returned (it holds what was there originally).
   */
  async recordBefore(incidentId: string, step: StepIdentity, before: Obj | null, at: Date = new Date()): Promise<StepRecord> {
    const hash = this.hash(checkIncident(incidentId));
    const id = checkIdentity(step);
    if (before !== null && !isRecord(before)) throw new RestoreRecordError(`step ${step.n}: the before state must be an object or null`);
    const record: StepRecord = { incidentId, n: step.n, key: id.key, action: step.action, plannedResourceVersion: step.resourceVersion ?? '', before, recordedAt: at.toISOString() };
    const results = await this.redis.multi().hsetnx(hash, `before:${id.field}`, JSON.stringify(record)).hget(hash, `before:${id.field}`).exec();
    return parse<StepRecord>(reply(results, 1), `step ${step.n}`) ?? record;
  }

  /** The step's record with its transitions, or undefined when it never recorded a before state. */
  async get(incidentId: string, step: StepIdentity): Promise<StepRecord | undefined> {
    const hash = this.hash(checkIncident(incidentId));
    const id = checkIdentity(step);
    const [before, applied, rollback] = await this.redis.hmget(hash, `before:${id.field}`, `applied:${id.field}`, `rollback:${id.field}`);
    const what = `step ${step.n} (${id.key})`;
    const record = parse<StepRecord>(before ?? null, what);
    if (!record) return undefined;
    return withMarks(record, parse<AppliedMark>(applied ?? null, what), parse<RollbackMark>(rollback ?? null, what));
  }

  /** Every record of the incident, by step number then recording time (for the postmortem and a resume). */
  async list(incidentId: string): Promise<StepRecord[]> {
    const fields = await this.redis.hgetall(this.hash(checkIncident(incidentId)));
    const out: StepRecord[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (!field.startsWith('before:')) continue;
      const id = field.slice('before:'.length);
      const record = parse<StepRecord>(value, `field ${field}`) as StepRecord;
      out.push(withMarks(record, parse<AppliedMark>(fields[`applied:${id}`] ?? null, field), parse<RollbackMark>(fields[`rollback:${id}`] ?? null, field)));
    }
    // Records made in the same millisecond (a re-plan right after the first) keep a fixed order.
    const cmp = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
    return out.sort((a, b) => a.n - b.n || cmp(a.recordedAt, b.recordedAt) || cmp(a.key, b.key) || cmp(a.plannedResourceVersion, b.plannedResourceVersion));
  }

  /** The step's write took effect. The first mark stays (a re-run that finds the step done keeps it). Returns the mark kept. */
  async markApplied(incidentId: string, step: StepIdentity, mark: AppliedMark): Promise<AppliedMark> {
    return this.mark(incidentId, step, 'applied', mark);
  }

  /** The step was rolled back. The first mark stays. Returns the mark kept. */
  async markRolledBack(incidentId: string, step: StepIdentity, mark: RollbackMark): Promise<RollbackMark> {
    return this.mark(incidentId, step, 'rollback', mark);
  }

  private async mark<T extends object>(incidentId: string, step: StepIdentity, what: 'applied' | 'rollback', mark: T): Promise<T> {
    const hash = this.hash(checkIncident(incidentId));
    const id = checkIdentity(step);
    if ((await this.redis.hexists(hash, `before:${id.field}`)) === 0) throw new RestoreRecordError(`step ${step.n} (${id.key}) has no before state recorded: record it before writing`);
    const results = await this.redis.multi().hsetnx(hash, `${what}:${id.field}`, JSON.stringify(mark)).hget(hash, `${what}:${id.field}`).exec();
    return parse<T>(reply(results, 1), `step ${step.n}`) ?? mark;
  }
}

function withMarks(record: StepRecord, applied: AppliedMark | undefined, rollback: RollbackMark | undefined): StepRecord {
  return {
    ...record,
    ...(applied
      ? { appliedAt: applied.at, outcome: applied.outcome, measured: applied.measured, verified: applied.verified, ...(applied.resourceVersion !== undefined ? { appliedResourceVersion: applied.resourceVersion } : {}) }
      : {}),
    ...(rollback ? { rolledBackAt: rollback.at, rollbackOutcome: rollback.outcome } : {}),
  };
}
