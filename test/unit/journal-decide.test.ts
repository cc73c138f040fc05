// What one observation means given what the journal last knew (idempotency, stale copies, noise,
// recreation), and the checks on what callers ask the journal for.
import { describe, expect, it } from 'vitest';
import { decide, olderVersion, type KnownState } from '../../src/journal/decide.js';
import { observe, type Observed } from '../../src/journal/normalize.js';
import { JournalQueryError, parseQuery, parseRef } from '../../src/journal/query.js';

function cnp(rv: string, opts: { uid?: string; app?: string; manager?: string; time?: string; status?: unknown } = {}): Observed {
  const out = observe(
    'CiliumNetworkPolicy',
    {
      metadata: {
        name: 'p',
        namespace: 'db',
        uid: opts.uid ?? 'u1',
        resourceVersion: rv,
        managedFields: [{ manager: opts.manager ?? 'kubectl', operation: 'Apply', time: opts.time ?? '2025-01-01T00:00:00Z', fieldsV1: { 'f:spec': {} } }],
      },
      spec: { endpointSelector: { matchLabels: { app: opts.app ?? 'postgres' } } },
      ...(opts.status ? { status: opts.status } : {}),
    },
    { maxObjectBytes: 65536 },
  );
  if ('error' in out) throw new Error(out.error);
  return out;
}

function known(o: Observed, head = '1-0'): KnownState {
  return { head, resourceVersion: o.resourceVersion, uid: o.uid, live: true, object: o.stored, digest: o.digest, managers: o.managers };
}

const tombstone = (rv: string, uid = 'u1'): KnownState => ({ head: '2-0', resourceVersion: rv, uid, live: false });

describe('decide', () => {
  it('journals a first sighting as added with every manager', () => {
    const d = decide(null, { type: 'modified', observed: cnp('5') });
    expect(d).toMatchObject({ action: 'write', entries: [{ type: 'added', resourceVersion: '5', before: null, managers: [{ manager: 'kubectl' }] }], next: { live: true, resourceVersion: '5' } });
  });

  it('skips a version already journalled, and an older one', () => {
    const prev = known(cnp('7'));
    expect(decide(prev, { type: 'added', observed: cnp('7') })).toEqual({ action: 'skip', reason: 'duplicate' });
    expect(decide(prev, { type: 'modified', observed: cnp('6', { app: 'x' }) })).toEqual({ action: 'skip', reason: 'stale' });
  });

  it('calls a relisted object that changed "modified", with before, after and the managers that moved', () => {
    const first = cnp('7');
    const d = decide(known(first), { type: 'added', observed: cnp('9', { app: 'api', manager: 'argocd', time: '2025-01-01T00:01:00Z' }) });
    expect(d.action).toBe('write');
    if (d.action !== 'write') return;
    expect(d.entries).toHaveLength(1);
    expect(d.entries[0]).toMatchObject({ type: 'modified', resourceVersion: '9', before: first.stored, managers: [{ manager: 'argocd', operation: 'Apply', time: '2025-01-01T00:01:00Z' }] });
    expect((d.entries[0]!.after as { spec: unknown }).spec).toEqual({ endpointSelector: { matchLabels: { app: 'api' } } });
  });

  it('moves only the state for noise (a status change)', () => {
    const d = decide(known(cnp('7')), { type: 'modified', observed: cnp('8', { status: { nodes: { n1: { ok: true } } } }) });
    expect(d).toMatchObject({ action: 'write', entries: [], next: { resourceVersion: '8', live: true } });
  });

  it('sees a new uid under the same name as deleted then added (inferred)', () => {
    const old = cnp('7');
    const d = decide(known(old), { type: 'added', observed: cnp('12', { uid: 'u2' }) });
    expect(d).toMatchObject({
      action: 'write',
      entries: [
        { type: 'deleted', resourceVersion: '7', before: old.stored, after: null, inferred: true },
        { type: 'added', resourceVersion: '12', before: null, inferred: true },
      ],
      next: { uid: 'u2', live: true },
    });
  });

  it('journals a delete once, and never for another incarnation', () => {
    const prev = known(cnp('7'));
    const d = decide(prev, { type: 'deleted', observed: cnp('8') });
    expect(d).toMatchObject({ action: 'write', entries: [{ type: 'deleted', resourceVersion: '8', before: prev.object, after: null, managers: [] }], next: { live: false, uid: 'u1', resourceVersion: '8' } });
    expect(decide(tombstone('8'), { type: 'deleted', observed: cnp('8') })).toEqual({ action: 'skip', reason: 'already-deleted' });
    expect(decide(null, { type: 'deleted', observed: cnp('8') })).toEqual({ action: 'skip', reason: 'already-deleted' });
    expect(decide(prev, { type: 'deleted', observed: cnp('8', { uid: 'u9' }) })).toEqual({ action: 'skip', reason: 'other-incarnation' });
  });

  it('infers the deletion of an object a list no longer shows', () => {
    const prev = known(cnp('7'));
    expect(decide(prev, { type: 'gone' })).toMatchObject({ action: 'write', entries: [{ type: 'deleted', resourceVersion: '7', inferred: true }], next: { live: false } });
    expect(decide(tombstone('7'), { type: 'gone' })).toEqual({ action: 'skip', reason: 'already-deleted' });
  });

  it('drops a late copy of a deleted uid, and journals a new one as added', () => {
    expect(decide(tombstone('8'), { type: 'modified', observed: cnp('7') })).toEqual({ action: 'skip', reason: 'stale' });
    expect(decide(tombstone('8'), { type: 'added', observed: cnp('20', { uid: 'u2' }) })).toMatchObject({ action: 'write', entries: [{ type: 'added', before: null }] });
  });

  it('compares versions only when both are numbers', () => {
    expect(olderVersion('9', '10')).toBe(true);
    expect(olderVersion('10', '9')).toBe(false);
    expect(olderVersion('99999999999999999999', '100000000000000000000')).toBe(true);
    expect(olderVersion('a', '10')).toBe(false);
  });
});

describe('parseQuery', () => {
  it('fills defaults and removes repeats', () => {
    expect(parseQuery({ since: '2025-01-01T00:00:00Z' })).toEqual({ sinceMs: Date.parse('2025-01-01T00:00:00Z'), clusterScoped: true, limit: 1000 });
    expect(parseQuery({ since: '2025-01-01T00:00:00Z', until: '2025-01-02T00:00:00Z', kinds: ['Namespace', 'Namespace'], namespaces: ['db', 'db'], clusterScoped: false, limit: 5 })).toEqual({
      sinceMs: Date.parse('2025-01-01T00:00:00Z'),
      untilMs: Date.parse('2025-01-02T00:00:00Z'),
      kinds: ['Namespace'],
      namespaces: ['db'],
      clusterScoped: false,
      limit: 5,
    });
    expect(parseQuery({ since: '2025-01-01T00:00:00Z', withoutSightings: { createdBefore: '2025-01-01T00:00:00Z', afterMs: 120_000 } }).withoutSightings).toEqual({ createdBeforeMs: Date.parse('2025-01-01T00:00:00Z'), afterMs: 120_000 });
  });

  it.each([
    [null, 'the query must be an object with at least `since`'],
    [[], 'the query must be an object with at least `since`'],
    [{}, 'since: undefined is not an ISO time'],
    [{ since: 'yesterday' }, 'since: "yesterday" is not an ISO time'],
    [{ since: 12 }, 'since: 12 is not an ISO time'],
    [{ since: '2025-01-01T00:00:00Z'.repeat(10) }, 'is not an ISO time'],
    [{ since: '2025-01-02T00:00:00Z', until: '2025-01-01T00:00:00Z' }, 'until ("2025-01-01T00:00:00Z") is before since ("2025-01-02T00:00:00Z")'],
    [{ since: '2025-01-01T00:00:00Z', kinds: [] }, 'kinds must be a non-empty list'],
    [{ since: '2025-01-01T00:00:00Z', kinds: 'Namespace' }, 'kinds must be a non-empty list'],
    [{ since: '2025-01-01T00:00:00Z', kinds: ['Pod'] }, 'kinds: "Pod" is not one of NetworkPolicy'],
    [{ since: '2025-01-01T00:00:00Z', namespaces: [] }, 'namespaces must be a non-empty list'],
    [{ since: '2025-01-01T00:00:00Z', namespaces: ['Db'] }, 'namespaces: "Db" is not a valid namespace name'],
    [{ since: '2025-01-01T00:00:00Z', namespaces: [{ $ne: 1 }] }, 'namespaces: {"$ne":1} is not a valid namespace name'],
    [{ since: '2025-01-01T00:00:00Z', namespaces: Array.from({ length: 1001 }, (_, i) => `n${i}`) }, 'namespaces: at most 1000 (got 1001)'],
    [{ since: '2025-01-01T00:00:00Z', clusterScoped: 'no' }, 'clusterScoped must be true or false'],
    [{ since: '2025-01-01T00:00:00Z', limit: 0 }, 'limit must be a whole number from 1 to 10000 (got 0)'],
    [{ since: '2025-01-01T00:00:00Z', limit: 10_001 }, 'limit must be a whole number from 1 to 10000'],
    [{ since: '2025-01-01T00:00:00Z', limit: 2.5 }, 'limit must be a whole number'],
    [{ since: '2025-01-01T00:00:00Z', limit: '10' }, 'limit must be a whole number from 1 to 10000 (got "10")'],
    [{ since: '2025-01-01T00:00:00Z', withoutSightings: null }, 'withoutSightings must be an object with createdBefore and afterMs'],
    [{ since: '2025-01-01T00:00:00Z', withoutSightings: [] }, 'withoutSightings must be an object'],
    [{ since: '2025-01-01T00:00:00Z', withoutSightings: { afterMs: 1 } }, 'withoutSightings.createdBefore: undefined is not an ISO time'],
    [{ since: '2025-01-01T00:00:00Z', withoutSightings: { createdBefore: 'soon', afterMs: 1 } }, 'withoutSightings.createdBefore: "soon" is not an ISO time'],
    [{ since: '2025-01-01T00:00:00Z', withoutSightings: { createdBefore: '2025-01-01T00:00:00Z' } }, 'withoutSightings.afterMs must be a number of ms, 0 or more (got undefined)'],
    [{ since: '2025-01-01T00:00:00Z', withoutSightings: { createdBefore: '2025-01-01T00:00:00Z', afterMs: -1 } }, 'withoutSightings.afterMs must be a number of ms'],
    [{ since: '2025-01-01T00:00:00Z', withoutSightings: { createdBefore: '2025-01-01T00:00:00Z', afterMs: Number.POSITIVE_INFINITY } }, 'withoutSightings.afterMs must be a number of ms'],
    [{ since: '2025-01-01T00:00:00Z', withoutSightings: { createdBefore: '2025-01-01T00:00:00Z', afterMs: '1' } }, 'withoutSightings.afterMs must be a number of ms, 0 or more (got "1")'],
  ])('refuses %j', (q, message) => {
    expect(() => parseQuery(q)).toThrow(JournalQueryError);
    expect(() => parseQuery(q)).toThrow(message);
  });

  it('takes a Date as well as an ISO string, and refuses an invalid Date', () => {
    expect(parseQuery({ since: new Date(5) as never }).sinceMs).toBe(5);
    expect(() => parseQuery({ since: new Date('x') as never })).toThrow('since: "Invalid Date" is not an ISO time');
  });
});

describe('parseRef', () => {
  it('checks the kind, the namespace rule and the name', () => {
    expect(parseRef('NetworkPolicy', 'api', 'p')).toEqual({ kind: 'NetworkPolicy', ref: { namespace: 'api', name: 'p' } });
    expect(parseRef('Namespace', undefined, 'db')).toEqual({ kind: 'Namespace', ref: { name: 'db' } });
    expect(() => parseRef('Pod', 'api', 'p')).toThrow('kind: "Pod" is not one of');
    expect(() => parseRef('NetworkPolicy', undefined, 'p')).toThrow('NetworkPolicy is namespaced: give its namespace');
    expect(() => parseRef('AdminNetworkPolicy', 'api', 'p')).toThrow('AdminNetworkPolicy is cluster-scoped but metadata.namespace is "api"');
    expect(() => parseRef('NetworkPolicy', 'api', '../x')).toThrow('metadata.name "../x" is not a valid name');
  });
});
