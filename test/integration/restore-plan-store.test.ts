// Restore plans in a real Redis: written once under a fresh id, read back equal, and a missing,
// corrupt or malformed id is refused with a message that says what to do; the watch list maps an
// anomaly's dedupe key to the incident watching it, and only that incident can take it off.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RestorePlanMissing, RestoreStore } from '../../src/restore/plan-store.js';
import type { RestorePlan } from '../../src/restore/plan.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

let redis: Redis;
let store: RestoreStore;
let prefix: string;
const incidentId = '20261201-plan0001';

const plan = {
  label: 'git shop-policies@1a2b3c4d',
  namespaces: ['db'],
  steps: [{ n: 1, action: 'delete', key: { kind: 'NetworkPolicy', namespace: 'db', name: 'allow-all-egress' }, kind: 'NetworkPolicy', namespace: 'db', name: 'allow-all-egress', before: { metadata: { resourceVersion: '7' } }, after: null, effect: 'restricts', opened: [], closed: ['a => b : TCP 1'], diff: ['- spec: {}'], resourceVersion: '7' }],
  containment: [],
  unchanged: 4,
  safe: true,
  violations: [],
  ordering: 'by-effect',
  skipped: [],
  knownGood: { label: 'git shop-policies@1a2b3c4d', objects: [] },
} as unknown as RestorePlan;

beforeAll(() => {
  redis = testRedis();
});

afterAll(() => {
  redis.disconnect();
});

beforeEach(() => {
  prefix = uniquePrefix('restore-plan');
  store = new RestoreStore(redis, prefix);
});

describe('RestoreStore plans', () => {
  it('saves each plan under a new id and reads it back equal, with an expiry', async () => {
    const a = await store.savePlan(incidentId, plan);
    const b = await store.savePlan(incidentId, plan);
    expect(a).toMatch(/^[a-z0-9]{1,24}$/);
    expect(b).not.toBe(a);
    expect(await store.loadPlan(incidentId, a)).toEqual(plan);
    const ttl = await redis.ttl(`${prefix}:restore-plan:${incidentId}:${a}`);
    expect(ttl).toBeGreaterThan(29 * 24 * 3600);
  });

  it('a plan of another incident is not found under this one', async () => {
    const id = await store.savePlan(incidentId, plan);
    await expect(store.loadPlan('20261201-other001', id)).rejects.toThrow(RestorePlanMissing);
  });

  it('missing, corrupt and malformed ids are refused with what to do, and nothing is written', async () => {
    await expect(store.loadPlan(incidentId, 'abcdef012345')).rejects.toThrow(/is gone from Redis \(expired or deleted\): choose the source again to re-plan/);
    await redis.set(`${prefix}:restore-plan:${incidentId}:badjson1`, '{not json');
    await expect(store.loadPlan(incidentId, 'badjson1')).rejects.toThrow(/is corrupt .*choose the source again/);
    for (const hostile of ['', '../x', 'A'.repeat(25), 'a:b', '*', 'x'.repeat(100_000)]) {
      await expect(store.loadPlan(incidentId, hostile)).rejects.toThrow(/is not a restore plan id/);
    }
    expect((await redis.keys(`${prefix}:*`)).sort()).toEqual([`${prefix}:restore-plan:${incidentId}:badjson1`]);
  });
});

describe('RestoreStore watch list', () => {
  it('maps dedupe keys to the watching incident; only that incident takes them off', async () => {
    await store.watch(['egress:db/postgres:203.0.113.66', 'deny-spike:db/postgres'], incidentId);
    expect(await store.watchedBy('egress:db/postgres:203.0.113.66')).toBe(incidentId);
    await store.unwatch(['egress:db/postgres:203.0.113.66'], '20261201-other001');
    expect(await store.watchedBy('egress:db/postgres:203.0.113.66')).toBe(incidentId);
    await store.unwatch(['egress:db/postgres:203.0.113.66', 'deny-spike:db/postgres'], incidentId);
    expect(await store.watchedBy('egress:db/postgres:203.0.113.66')).toBeNull();
    expect(await store.watchedBy('deny-spike:db/postgres')).toBeNull();
  });

  it('no keys: nothing written', async () => {
    await store.watch([], incidentId);
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });
});
