// The change journal on a real redis-server: entries in order (two in one millisecond too),
// idempotency across connections, queries filtered in Redis and paged, stateAt through each
// object's chain, retention by count and by age, fencing, a clock that goes back, and bounded
// storage for hostile objects.
import { afterAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { ChangeJournal, type AppendResult } from '../../src/journal/index.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

const connections: Redis[] = [];
afterAll(() => {
  for (const c of connections) c.disconnect();
});

function redis(): Redis {
  const r = testRedis();
  connections.push(r);
  return r;
}

const DAY = 86_400_000;
const RETENTION = { maxAgeMs: 30 * DAY, maxEntries: 200_000 };

function journal(opts: { prefix?: string; retention?: typeof RETENTION; now?: () => number; maxObjectBytes?: number; connection?: Redis } = {}): ChangeJournal {
  return new ChangeJournal(opts.connection ?? redis(), opts.prefix ?? uniquePrefix('journal'), opts.retention ?? RETENTION, {
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.maxObjectBytes ? { limits: { maxObjectBytes: opts.maxObjectBytes } } : {}),
  });
}

function np(name: string, rv: number, opts: { namespace?: string; uid?: string; port?: number; manager?: string; time?: string } = {}): Record<string, unknown> {
  return {
    metadata: {
      name,
      namespace: opts.namespace ?? 'api',
      uid: opts.uid ?? `uid-${name}`,
      resourceVersion: String(rv),
      managedFields: [{ manager: opts.manager ?? 'kubectl', operation: 'Apply', time: opts.time ?? '2025-01-01T00:00:00Z', fieldsV1: { 'f:spec': {} } }],
    },
    spec: { podSelector: {}, ingress: [{ ports: [{ port: opts.port ?? 80 }] }] },
  };
}

function ns(name: string, rv: number, labels: Record<string, string>): Record<string, unknown> {
  return { metadata: { name, uid: `uid-ns-${name}`, resourceVersion: String(rv), labels }, status: { phase: 'Active' } };
}

function stored(r: AppendResult): string[] {
  if (r.outcome !== 'stored') throw new Error(`expected stored, got ${JSON.stringify(r)}`);
  return r.entries.map((e) => e.id);
}

const ids = (entries: Array<{ id: string }>): string[] => entries.map((e) => e.id);
const EPOCH = '1970-01-01T00:00:00Z';

describe('ChangeJournal', () => {
  it('stores changes in order with before, after and the managers that moved; two in the same millisecond stay two', async () => {
    const t = Date.now();
    const j = journal({ now: () => t });
    stored(await j.append('NetworkPolicy', { type: 'added', object: np('p', 1) }));
    stored(await j.append('NetworkPolicy', { type: 'modified', object: np('p', 2, { port: 81, manager: 'argocd', time: '2025-01-01T00:00:01Z' }) }));
    stored(await j.append('NetworkPolicy', { type: 'modified', object: np('p', 3, { port: 82, manager: 'argocd', time: '2025-01-01T00:00:01Z' }) }));
    stored(await j.append('NetworkPolicy', { type: 'deleted', object: np('p', 4, { port: 82 }) }));
    const entries = await j.query({ since: EPOCH });
    expect(entries.map((e) => `${e.type}@${e.resourceVersion}`)).toEqual(['added@1', 'modified@2', 'modified@3', 'deleted@4']);
    expect(entries.every((e) => e.observedAt === new Date(t).toISOString())).toBe(true);
    expect(entries.map((e) => e.id)).toEqual([`${t}-0`, `${t}-1`, `${t}-2`, `${t}-3`]);
    const [added, second, third, deleted] = entries;
    expect(added).toMatchObject({ kind: 'NetworkPolicy', namespace: 'api', name: 'p', before: null, managers: [{ manager: 'kubectl', operation: 'Apply' }] });
    expect(second!.before).toEqual(added!.after);
    expect(second!.managers).toEqual([{ manager: 'argocd', operation: 'Apply', time: '2025-01-01T00:00:01Z' }]);
    // Same second, same owned fields: managedFields cannot tell who wrote the second time.
    expect(third!.managers).toEqual([]);
    expect(third!.before).toEqual(second!.after);
    expect(deleted).toMatchObject({ after: null, managers: [] });
    expect(deleted!.before).toEqual(third!.after);
  });

  it('stores a version once, whichever connection repeats it, even concurrently', async () => {
    const prefix = uniquePrefix('journal');
    const a = journal({ prefix });
    const b = journal({ prefix });
    const versions = Array.from({ length: 40 }, (_, i) => np('p', i + 1, { port: 1000 + i }));
    for (const object of versions) {
      const results = await Promise.all([a.append('NetworkPolicy', { type: 'modified', object }), b.append('NetworkPolicy', { type: 'added', object })]);
      expect(results.map((r) => r.outcome).sort()).toEqual(['skipped', 'stored']);
    }
    // Replayed late (an older version, then a repeat): nothing new.
    expect(await a.append('NetworkPolicy', { type: 'modified', object: versions[10] })).toEqual({ outcome: 'skipped', reason: 'stale' });
    expect(await b.append('NetworkPolicy', { type: 'modified', object: versions[39] })).toEqual({ outcome: 'skipped', reason: 'duplicate' });
    const entries = await a.query({ since: EPOCH });
    expect(entries.map((e) => e.resourceVersion)).toEqual(versions.map((_, i) => String(i + 1)));
    expect(entries.map((e) => e.type)).toEqual(['added', ...Array(39).fill('modified')]);
  });

  it('journals namespaces on label changes only, moving the state silently for the rest', async () => {
    const j = journal();
    stored(await j.append('Namespace', { type: 'added', object: ns('db', 1, { team: 'data' }) }));
    expect(await j.append('Namespace', { type: 'modified', object: { ...ns('db', 2, { team: 'data' }), metadata: { ...(ns('db', 2, { team: 'data' }).metadata as object), annotations: { a: 'b' } }, status: { phase: 'Terminating' } } })).toEqual({ outcome: 'unchanged' });
    expect(await j.append('Namespace', { type: 'modified', object: ns('db', 2, { team: 'data' }) })).toEqual({ outcome: 'skipped', reason: 'duplicate' });
    stored(await j.append('Namespace', { type: 'modified', object: ns('db', 3, { team: 'data', env: 'prod' }) }));
    const entries = await j.query({ since: EPOCH, kinds: ['Namespace'] });
    expect(entries.map((e) => `${e.type}@${e.resourceVersion}`)).toEqual(['added@1', 'modified@3']);
    // `before` is the last known state: the annotation-only change moved it to version 2.
    expect(entries[1]!.before).toMatchObject({ metadata: { resourceVersion: '2', labels: { team: 'data' } } });
    expect(entries[1]!.after).toMatchObject({ metadata: { resourceVersion: '3', labels: { team: 'data', env: 'prod' } } });
    expect(entries[1]!.namespace).toBeUndefined();
  });

  it('filters by namespace and kind in Redis, pages through long ranges, and honours since, until and limit', async () => {
    let t = 1_000_000_000_000;
    const j = journal({ now: () => t, retention: { maxAgeMs: 100_000 * DAY, maxEntries: 200_000 } });
    // 1200 changes in "other", then a few that matter, spread over time.
    for (let i = 0; i < 1200; i++) {
      t += 1;
      await j.append('NetworkPolicy', { type: 'added', object: np(`noise-${i}`, i + 1, { namespace: 'other' }) });
    }
    t += 1000;
    const tDb = t;
    stored(await j.append('NetworkPolicy', { type: 'added', object: np('db-rule', 5000, { namespace: 'db' }) }));
    t += 1000;
    stored(await j.append('Namespace', { type: 'added', object: ns('db', 5001, { a: 'b' }) }));
    stored(await j.append('AdminNetworkPolicy', { type: 'added', object: { metadata: { name: 'global', uid: 'anp', resourceVersion: '5002' }, spec: { priority: 1 } } }));
    stored(await j.append('CiliumNetworkPolicy', { type: 'added', object: np('cnp', 5003, { namespace: 'db' }) }));
    const describe = (e: { kind: string; namespace?: string; name: string }): string => `${e.kind} ${e.namespace ?? '-'}/${e.name}`;
    expect((await j.query({ since: EPOCH, namespaces: ['db'] })).map(describe)).toEqual(['NetworkPolicy db/db-rule', 'Namespace -/db', 'AdminNetworkPolicy -/global', 'CiliumNetworkPolicy db/cnp']);
    expect((await j.query({ since: EPOCH, namespaces: ['db'], clusterScoped: false })).map(describe)).toEqual(['NetworkPolicy db/db-rule', 'Namespace -/db', 'CiliumNetworkPolicy db/cnp']);
    expect((await j.query({ since: EPOCH, namespaces: ['db'], kinds: ['CiliumNetworkPolicy', 'Namespace'] })).map(describe)).toEqual(['Namespace -/db', 'CiliumNetworkPolicy db/cnp']);
    expect((await j.query({ since: new Date(tDb + 1).toISOString(), kinds: ['NetworkPolicy'] })).map(describe)).toEqual([]);
    expect((await j.query({ since: EPOCH, until: new Date(tDb).toISOString(), namespaces: ['db'] })).map(describe)).toEqual(['NetworkPolicy db/db-rule']);
    const all = await j.query({ since: EPOCH, limit: 10_000 });
    expect(all).toHaveLength(1204);
    expect([...ids(all)].sort((a, b) => (BigInt(a.replace('-', '')) < BigInt(b.replace('-', '')) ? -1 : 1))).toEqual(ids(all));
    const limited = await j.query({ since: EPOCH, namespaces: ['other'], limit: 700 });
    expect(limited.map((e) => e.name)).toEqual(Array.from({ length: 700 }, (_, i) => `noise-${i}`));
  });

  it('leaves out first sightings of objects created before a time, in Redis; keeps changes, recent creations and entries without a creation time', async () => {
    const DAY0 = Date.parse('2026-01-10T00:00:00Z');
    let t = DAY0;
    const j = journal({ now: () => t, retention: { maxAgeMs: 100_000 * DAY, maxEntries: 200_000 } });
    const created = (ms: number, o: Record<string, unknown>): Record<string, unknown> => ({ ...o, metadata: { ...(o.metadata as Record<string, unknown>), creationTimestamp: new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') } });
    // The watcher's first list: 300 objects created days ago, one with a creation time that does not parse.
    for (let i = 0; i < 300; i++) stored(await j.append('NetworkPolicy', { type: 'added', object: created(DAY0 - 3 * DAY, np(`old-${i}`, i + 1)) }));
    stored(await j.append('NetworkPolicy', { type: 'added', object: { ...np('odd', 400), metadata: { ...(np('odd', 400).metadata as object), creationTimestamp: 'not a time' } } }));
    t += 60_000;
    // Then real changes: an update of a sighted one, a creation seen at once, a deletion.
    stored(await j.append('NetworkPolicy', { type: 'modified', object: created(DAY0 - 3 * DAY, np('old-7', 500, { port: 81 })) }));
    stored(await j.append('NetworkPolicy', { type: 'added', object: created(t - 1000, np('new', 501)) }));
    stored(await j.append('NetworkPolicy', { type: 'deleted', object: created(DAY0 - 3 * DAY, np('old-8', 502)) }));
    const withoutSightings = { createdBefore: new Date(DAY0 - DAY).toISOString(), afterMs: 120_000 };
    const describe = (e: { type: string; name: string }): string => `${e.type} ${e.name}`;
    expect((await j.query({ since: EPOCH, withoutSightings })).map(describe)).toEqual(['added odd', 'modified old-7', 'added new', 'deleted old-8']);
    // The limit counts what is returned: the sightings no longer fill it ahead of the changes.
    expect((await j.query({ since: EPOCH, withoutSightings, limit: 3 })).map(describe)).toEqual(['added odd', 'modified old-7', 'added new']);
    // Created after createdBefore, or observed within afterMs of its creation: not left out.
    expect(await j.query({ since: EPOCH, withoutSightings: { createdBefore: new Date(DAY0 - 4 * DAY).toISOString(), afterMs: 120_000 } })).toHaveLength(304);
    expect(await j.query({ since: EPOCH, withoutSightings: { createdBefore: new Date(DAY0).toISOString(), afterMs: 4 * DAY } })).toHaveLength(304);
    // Without the option every entry comes, as before.
    const all = await j.query({ since: EPOCH, limit: 10_000 });
    expect(all).toHaveLength(304);
    expect(all.find((e) => e.name === 'old-0')?.after?.metadata).toMatchObject({ creationTimestamp: '2026-01-07T00:00:00Z' });
  });

  it('answers stateAt from the latest entry at or before the time, through deletes and recreation', async () => {
    let t = 2_000_000_000_000;
    const j = journal({ now: () => t, retention: { maxAgeMs: 100_000 * DAY, maxEntries: 200_000 } });
    const at = (ms: number): string => new Date(ms).toISOString();
    const start = t;
    stored(await j.append('NetworkPolicy', { type: 'added', object: np('p', 1, { port: 1 }) }));
    t += 1000;
    stored(await j.append('NetworkPolicy', { type: 'modified', object: np('p', 2, { port: 2 }) }));
    t += 1000;
    stored(await j.append('NetworkPolicy', { type: 'deleted', object: np('p', 3, { port: 2 }) }));
    t += 1000;
    stored(await j.append('NetworkPolicy', { type: 'added', object: np('p', 4, { port: 4, uid: 'second' }) }));
    for (let i = 5; i < 40; i++) {
      t += 10;
      stored(await j.append('NetworkPolicy', { type: 'modified', object: np('p', i, { port: i, uid: 'second' }) }));
    }
    const port = (o: Record<string, unknown> | null): unknown => (o ? (o.spec as { ingress: Array<{ ports: Array<{ port: number }> }> }).ingress[0]!.ports[0]!.port : null);
    expect(await j.lookup('NetworkPolicy', 'api', 'p', at(start - 1))).toEqual({ object: null, known: false });
    expect(port(await j.stateAt('NetworkPolicy', 'api', 'p', at(start)))).toBe(1);
    expect(port(await j.stateAt('NetworkPolicy', 'api', 'p', at(start + 999)))).toBe(1);
    expect(port(await j.stateAt('NetworkPolicy', 'api', 'p', at(start + 1000)))).toBe(2);
    const gone = await j.lookup('NetworkPolicy', 'api', 'p', at(start + 2500));
    expect(gone).toMatchObject({ object: null, known: true });
    expect(gone.entryId).toBe(`${start + 2000}-0`);
    expect(port(await j.stateAt('NetworkPolicy', 'api', 'p', at(start + 3000)))).toBe(4);
    expect(port(await j.stateAt('NetworkPolicy', 'api', 'p', at(start + 3105)))).toBe(14);
    expect(port(await j.stateAt('NetworkPolicy', 'api', 'p', at(t + 5000)))).toBe(39);
    expect(await j.lookup('NetworkPolicy', 'api', 'never', at(t))).toEqual({ object: null, known: true });
    await expect(j.stateAt('NetworkPolicy', undefined, 'p', at(t))).rejects.toThrow('NetworkPolicy is namespaced: give its namespace');
    await expect(j.stateAt('NetworkPolicy', 'api', 'p', 'noon')).rejects.toThrow('at: "noon" is not an ISO time');
  });

  it('keeps at most maxEntries, the newest; stateAt vouches only for what the retained entries tell', async () => {
    let t = 3_000_000_000_000;
    const j = journal({ now: () => t, retention: { maxAgeMs: 100_000 * DAY, maxEntries: 100 } });
    const timeOf = (i: number): number => 3_000_000_000_000 + i * 1000;
    for (let i = 1; i <= 250; i++) {
      t = timeOf(i);
      await j.append('NetworkPolicy', { type: 'modified', object: np('p', i, { port: i }) });
    }
    expect(await j.size()).toBe(100);
    const entries = await j.query({ since: EPOCH, limit: 1000 });
    expect(entries.map((e) => e.resourceVersion)).toEqual(Array.from({ length: 100 }, (_, i) => String(151 + i)));
    // Between the last trimmed change (150) and the first retained one (151): the retained entry's `before`.
    const between = await j.lookup('NetworkPolicy', 'api', 'p', new Date(timeOf(150) + 500).toISOString());
    expect(between.known).toBe(true);
    expect((between.object?.metadata as { resourceVersion: string }).resourceVersion).toBe('150');
    // Further back the chain runs into trimmed entries: the journal cannot tell.
    expect(await j.lookup('NetworkPolicy', 'api', 'p', new Date(timeOf(100)).toISOString())).toEqual({ object: null, known: false });
  });

  it('forgets entries and tombstones older than maxAge, on the next write', async () => {
    let t = Date.now() - 40 * DAY;
    const prefix = uniquePrefix('journal');
    const connection = redis();
    const j = journal({ prefix, connection, now: () => t, retention: { maxAgeMs: 30 * DAY, maxEntries: 1000 } });
    stored(await j.append('NetworkPolicy', { type: 'added', object: np('old', 1) }));
    stored(await j.append('NetworkPolicy', { type: 'deleted', object: np('old', 2) }));
    t += 15 * DAY;
    stored(await j.append('NetworkPolicy', { type: 'added', object: np('mid', 3) }));
    expect(await connection.zcard(`${prefix}:journal:tombstones:NetworkPolicy`)).toBe(1);
    t = Date.now();
    stored(await j.append('NetworkPolicy', { type: 'added', object: np('new', 4) }));
    expect(await j.size()).toBe(2);
    expect((await j.query({ since: EPOCH })).map((e) => e.name)).toEqual(['mid', 'new']);
    expect(await connection.hexists(`${prefix}:journal:state:NetworkPolicy`, 'api/old')).toBe(0);
    expect(await connection.zcard(`${prefix}:journal:tombstones:NetworkPolicy`)).toBe(0);
    // Queries never reach past maxAge, even before the next write trims.
    t = Date.now() + 26 * DAY;
    expect((await j.query({ since: EPOCH })).map((e) => e.name)).toEqual(['new']);
  });

  it('writes nothing when the lock is not the writer’s', async () => {
    const prefix = uniquePrefix('journal');
    const connection = redis();
    const j = journal({ prefix, connection });
    await connection.set(`${prefix}:watcher:lock`, 'someone-else');
    expect(await j.append('NetworkPolicy', { type: 'added', object: np('p', 1) }, { fence: { key: `${prefix}:watcher:lock`, token: 'me' } })).toEqual({ outcome: 'fenced' });
    expect(await connection.keys(`${prefix}:journal:*`)).toEqual([]);
    await connection.set(`${prefix}:watcher:lock`, 'me');
    stored(await j.append('NetworkPolicy', { type: 'added', object: np('p', 1) }, { fence: { key: `${prefix}:watcher:lock`, token: 'me' } }));
  });

  it('keeps ids increasing when the clock goes back', async () => {
    let t = Date.now();
    const j = journal({ now: () => t });
    stored(await j.append('NetworkPolicy', { type: 'added', object: np('p', 1) }));
    t -= 60_000;
    stored(await j.append('NetworkPolicy', { type: 'modified', object: np('p', 2, { port: 2 }) }));
    const [a, b] = await j.query({ since: EPOCH });
    expect(Date.parse(b!.observedAt)).toBeGreaterThanOrEqual(Date.parse(a!.observedAt));
    expect(b!.id > a!.id || b!.id.length > a!.id.length).toBe(true);
  });

  it('refuses malformed objects and writes nothing; bounds oversized ones', async () => {
    const prefix = uniquePrefix('journal');
    const connection = redis();
    const j = journal({ prefix, connection, maxObjectBytes: 4096 });
    const bad: unknown[] = ['x', null, [], { metadata: { name: 'p|q', namespace: 'api', resourceVersion: '1' } }, { metadata: { name: 'p', namespace: 'api', resourceVersion: '1\n2' } }];
    for (const object of bad) expect((await j.append('NetworkPolicy', { type: 'added', object })).outcome).toBe('refused');
    await expect(j.append('Pod' as never, { type: 'added', object: np('p', 1) })).rejects.toThrow('not a journal kind: Pod');
    expect(await connection.keys(`${prefix}:journal:*`)).toEqual([]);
    const huge = np('huge', 7);
    (huge.spec as Record<string, unknown>).egress = Array.from({ length: 20_000 }, (_, i) => ({ to: [{ ipBlock: { cidr: `10.${i % 256}.${i >> 8}.0/24` } }] }));
    const result = await j.append('NetworkPolicy', { type: 'added', object: huge });
    expect(result.outcome === 'stored' && result.entries[0]!.after).toMatchObject({ 'netpol-responder.io/truncated': { limit: 4096 } });
    const [again] = (await j.query({ since: EPOCH })) as Array<{ after: Record<string, unknown> }>;
    expect(again!.after['netpol-responder.io/truncated']).toMatchObject({ limit: 4096 });
    expect(await connection.hstrlen(`${prefix}:journal:state:NetworkPolicy`, 'api/huge')).toBeLessThan(2048);
    // The same oversized content again is no news; a different one is.
    expect((await j.append('NetworkPolicy', { type: 'modified', object: { ...huge, metadata: { ...(huge.metadata as object), resourceVersion: '8' } } })).outcome).toBe('unchanged');
  });

  it('infers the deletion of an object a list no longer shows, once', async () => {
    const j = journal();
    stored(await j.append('NetworkPolicy', { type: 'added', object: np('p', 1) }));
    expect(await j.liveObjects('NetworkPolicy')).toEqual([{ namespace: 'api', name: 'p' }]);
    const gone = await j.appendGone('NetworkPolicy', { namespace: 'api', name: 'p' });
    expect(gone).toMatchObject({ outcome: 'stored', entries: [{ type: 'deleted', inferred: true, resourceVersion: '1', after: null }] });
    expect(await j.appendGone('NetworkPolicy', { namespace: 'api', name: 'p' })).toEqual({ outcome: 'skipped', reason: 'already-deleted' });
    expect(await j.liveObjects('NetworkPolicy')).toEqual([]);
    await expect(j.appendGone('NetworkPolicy', { namespace: 'api', name: '../etc' })).rejects.toThrow('metadata.name "../etc" is not a valid name');
  });

  it('refuses bad retention settings', () => {
    expect(() => journal({ retention: { maxAgeMs: 0, maxEntries: 10 } })).toThrow('maxAgeMs must be positive');
    expect(() => journal({ retention: { maxAgeMs: DAY, maxEntries: 1.5 } })).toThrow('maxEntries must be a positive whole number');
  });
});
