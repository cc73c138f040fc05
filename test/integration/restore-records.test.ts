// The restore records in a real Redis: the live object recorded before a step writes, first write
// wins for every transition (before, applied, rolled back), a re-planned step gets its own record,
// and bad identities or corrupt records are refused with a clear error.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RestoreRecords, type AppliedMark } from '../../src/restore/record.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

let redis: Redis;
let records: RestoreRecords;
let prefix: string;
const incidentId = '20261201-rec00001';

beforeAll(() => {
  redis = testRedis();
});

afterAll(() => {
  redis.disconnect();
});

beforeEach(() => {
  prefix = uniquePrefix('restore');
  records = new RestoreRecords(redis, prefix);
});

const step = { n: 3, key: { kind: 'NetworkPolicy', namespace: 'db', name: 'allow-db-from-api' }, action: 'update', resourceVersion: '41' } as const;
const mark = (outcome: AppliedMark['outcome']): AppliedMark => ({ at: '2026-12-01T10:00:00.000Z', outcome, resourceVersion: '42', measured: { opened: ['a => b : TCP 1'], closed: [] }, verified: true });

describe('RestoreRecords', () => {
  it('first write wins: a retried step keeps the original before state and the first outcome', async () => {
    const first = await records.recordBefore(incidentId, step, { metadata: { resourceVersion: '41', labels: { original: 'yes' } } }, new Date('2026-12-01T09:00:00Z'));
    const again = await records.recordBefore(incidentId, step, { metadata: { resourceVersion: '41', labels: { original: 'no' } } });
    expect(again).toEqual(first);
    expect(first).toEqual({ incidentId, n: 3, key: 'NetworkPolicy db/allow-db-from-api', action: 'update', plannedResourceVersion: '41', before: { metadata: { resourceVersion: '41', labels: { original: 'yes' } } }, recordedAt: '2026-12-01T09:00:00.000Z' });
    expect(await records.get(incidentId, step)).toEqual(first);
    expect(await records.markApplied(incidentId, step, mark('updated'))).toEqual(mark('updated'));
    expect(await records.markApplied(incidentId, step, mark('unchanged'))).toEqual(mark('updated'));
    expect(await records.markRolledBack(incidentId, step, { at: '2026-12-01T11:00:00.000Z', outcome: 'updated' })).toEqual({ at: '2026-12-01T11:00:00.000Z', outcome: 'updated' });
    expect(await records.markRolledBack(incidentId, step, { at: '2026-12-01T12:00:00.000Z', outcome: 'unchanged' })).toEqual({ at: '2026-12-01T11:00:00.000Z', outcome: 'updated' });
    expect(await records.get(incidentId, step)).toEqual({
      ...first,
      appliedAt: '2026-12-01T10:00:00.000Z',
      outcome: 'updated',
      appliedResourceVersion: '42',
      measured: mark('updated').measured,
      verified: true,
      rolledBackAt: '2026-12-01T11:00:00.000Z',
      rollbackOutcome: 'updated',
    });
  });

  it('a step re-planned on a new resourceVersion gets its own record; list() returns them by step; incidents apart', async () => {
    await records.recordBefore(incidentId, step, null);
    await records.recordBefore(incidentId, { ...step, resourceVersion: '57' }, { metadata: { resourceVersion: '57' } });
    await records.recordBefore(incidentId, { ...step, n: 1, key: { kind: 'NetworkPolicy', namespace: 'a b:c', name: '"x"' } }, null);
    await records.recordBefore('20261201-other', step, null);
    expect((await records.list(incidentId)).map((r) => `${r.n} ${r.key} ${r.plannedResourceVersion}`)).toEqual(['1 NetworkPolicy a b:c/"x" 41', '3 NetworkPolicy db/allow-db-from-api 41', '3 NetworkPolicy db/allow-db-from-api 57']);
    expect(await records.get(incidentId, { ...step, resourceVersion: '99' })).toBeUndefined();
    expect(await records.list('20261201-none')).toEqual([]);
  });

  it.each([
    ['an incident id with a space', () => records.recordBefore('has space', step, null), 'the incident id must be 1 to 128 printable characters without spaces'],
    ['an incident id too long', () => records.get('x'.repeat(129), step), 'incident id'],
    ['an empty incident id', () => records.list(''), 'incident id'],
    ['a step number of 0', () => records.recordBefore(incidentId, { ...step, n: 0 }, null), 'step number'],
    ['a fractional step number', () => records.get(incidentId, { ...step, n: 1.5 }), 'step number'],
    ['no object key', () => records.recordBefore(incidentId, { ...step, key: null } as never, null), 'has no object key'],
    ['an unknown action', () => records.recordBefore(incidentId, { ...step, action: 'patch' } as never, null), 'action must be'],
    ['a resourceVersion that is not text', () => records.recordBefore(incidentId, { ...step, resourceVersion: 41 } as never, null), 'resourceVersion must be a string'],
    ['a before state that is not an object', () => records.recordBefore(incidentId, step, 'text' as never), 'before state must be an object or null'],
    ['an outcome without a before state', () => records.markApplied(incidentId, step, mark('updated')), 'has no before state recorded'],
    ['a rollback without a before state', () => records.markRolledBack(incidentId, step, { at: 'now', outcome: 'updated' }), 'has no before state recorded'],
  ])('refuses %s, writing nothing', async (_what, call, message) => {
    await expect(call()).rejects.toThrow(message);
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });

  it('a corrupt record is an error that says which, not a missing one', async () => {
    await records.recordBefore(incidentId, step, null);
    const hash = `${prefix}:restore:${incidentId}`;
    const [field] = await redis.hkeys(hash);
    for (const bad of ['{"n": 3,', '[1,2]', 'null']) {
      await redis.hset(hash, field!, bad);
      await expect(records.get(incidentId, step)).rejects.toThrow(/the restore record of step 3 \(NetworkPolicy db\/allow-db-from-api\) is corrupt/);
      await expect(records.list(incidentId)).rejects.toThrow(/is corrupt/);
      // A retry does not overwrite it either: first write wins, and the corrupt one is reported.
      await expect(records.recordBefore(incidentId, step, null)).rejects.toThrow(/is corrupt/);
    }
  });
});
