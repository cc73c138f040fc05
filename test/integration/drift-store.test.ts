// Drift episodes on a real redis-server: compare-and-set across connections (a click and an
// evaluation never overwrite each other), listing newest first, unknown and hostile ids.
import { describe, expect, it } from 'vitest';
import type { DriftEpisode } from '../../src/drift/episode.js';
import { DriftStore } from '../../src/drift/store.js';
import { redisConnections, uniquePrefix } from '../helpers/redis.js';

const redis = redisConnections();

function episode(id: string, at = '2026-12-01T10:00:00.000Z'): Omit<DriftEpisode, 'version'> {
  return {
    id,
    state: 'open',
    objects: [{ key: 'NetworkPolicy frontend/a', kind: 'NetworkPolicy', namespace: 'frontend', name: 'a', status: 'modified', diff: ['~ x'], live: 'l', desired: 'd', since: at }],
    delta: { exposure: [], breakage: [], severity: 'low', why: '' },
    openedAt: at,
    updatedAt: at,
    reopened: 0,
  };
}

describe('DriftStore', () => {
  it('creates once: a second create of the same id is a conflict', async () => {
    const store = new DriftStore(redis(), uniquePrefix('drift'));
    const created = await store.create(episode('e1'));
    expect(created.version).toBe(1);
    await expect(store.create(episode('e1'))).rejects.toThrow(/changed meanwhile/);
    expect(await store.get('e1')).toEqual(created);
  });

  it('update bumps the version; a stale write from another connection is refused and retried on fresh data', async () => {
    const prefix = uniquePrefix('drift');
    const a = new DriftStore(redis(), prefix);
    const b = new DriftStore(redis(), prefix);
    await a.create(episode('e2'));
    let calls = 0;
    const result = await a.update('e2', (e) => {
      calls++;
      // The first time round, another replica accepts the episode in between.
      if (calls === 1) void b.update('e2', (x) => ({ ...x, state: 'accepted', accepted: { by: 'U2', at: 'now' } }));
      return { ...e, objects: e.objects.map((o) => ({ ...o, diff: ['~ y'] })) };
    });
    expect(result.changed).toBe(true);
    const final = await a.get('e2');
    // Both changes survive: the acceptance and the new diff, whatever order they landed in.
    expect(final?.objects[0]?.diff).toEqual(['~ y']);
    expect(final?.version).toBeGreaterThanOrEqual(2);
  });

  it('parallel updates from several connections each land exactly once', async () => {
    const prefix = uniquePrefix('drift');
    const stores = Array.from({ length: 4 }, () => new DriftStore(redis(), prefix));
    await stores[0]!.create({ ...episode('e3'), reopened: 0 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 4]!.update('e3', (e) => ({ ...e, reopened: e.reopened + 1 }))));
    const final = await stores[0]!.get('e3');
    expect(final?.reopened).toBe(20);
    expect(final?.version).toBe(21);
  });

  it('an update that changes nothing writes nothing', async () => {
    const store = new DriftStore(redis(), uniquePrefix('drift'));
    await store.create(episode('e4'));
    expect(await store.update('e4', () => undefined)).toMatchObject({ changed: false, episode: { version: 1 } });
    expect((await store.get('e4'))?.version).toBe(1);
  });

  it('lists newest first and answers undefined for unknown or hostile ids', async () => {
    let now = 1000;
    const store = new DriftStore(redis(), uniquePrefix('drift'), () => now);
    await store.create(episode('old'));
    now = 2000;
    await store.create(episode('new'));
    expect((await store.list()).map((e) => e.id)).toEqual(['new', 'old']);
    expect(await store.get('missing')).toBeUndefined();
    expect(await store.get('../../etc/passwd')).toBeUndefined();
    expect(await store.get('x'.repeat(500))).toBeUndefined();
    expect(await store.update('missing', (e) => e)).toEqual({ changed: false });
  });
});
