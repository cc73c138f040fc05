import { describe, expect, it } from 'vitest';
import { resourceByName, type ResourceType } from '../../../src/sim/kube/resources.js';
import { StatusError } from '../../../src/sim/kube/status.js';
import { ObjectStore, type StoreEvent } from '../../../src/sim/kube/store.js';

const NS = resourceByName('namespaces', '') as ResourceType;
const NETPOL = resourceByName('networkpolicies', 'networking.k8s.io') as ResourceType;
const POD = resourceByName('pods', '') as ResourceType;
const clock = (): Date => new Date('2026-05-01T10:00:00.123Z');

function statusCode(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (error) {
    return (error as StatusError).code;
  }
}

function withDb(): ObjectStore {
  const store = new ObjectStore(clock);
  store.create(NS, { metadata: { name: 'db' } });
  return store;
}

describe('ObjectStore', () => {
  it('assigns uid, timestamps, generation and increasing resourceVersions', () => {
    const store = withDb();
    const a = store.create(NETPOL, { metadata: { name: 'a', namespace: 'db' }, spec: { podSelector: {} } });
    const b = store.create(NETPOL, { metadata: { name: 'b', namespace: 'db' }, spec: {} });
    const am = a.metadata as Record<string, unknown>;
    expect(am.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(am.creationTimestamp).toBe('2026-05-01T10:00:00Z');
    expect(am.generation).toBe(1);
    expect(Number((b.metadata as Record<string, unknown>).resourceVersion)).toBeGreaterThan(Number(am.resourceVersion));
    expect(a.apiVersion).toBe('networking.k8s.io/v1');
    expect(store.get(NS, undefined, 'db')?.status).toEqual({ phase: 'Active' });
  });

  it('refuses duplicates (409) and objects in missing namespaces (404)', () => {
    const store = withDb();
    store.create(NETPOL, { metadata: { name: 'a', namespace: 'db' } });
    expect(statusCode(() => store.create(NETPOL, { metadata: { name: 'a', namespace: 'db' } }))).toBe(409);
    expect(statusCode(() => store.create(NETPOL, { metadata: { name: 'a', namespace: 'nope' } }))).toBe(404);
  });

  it('bumps generation only when spec changes and rejects stale resourceVersions', () => {
    const store = withDb();
    const a = store.create(NETPOL, { metadata: { name: 'a', namespace: 'db' }, spec: { podSelector: {} } });
    const rv = (a.metadata as Record<string, unknown>).resourceVersion;
    const labelled = store.update(NETPOL, { ...a, metadata: { ...(a.metadata as object), labels: { x: 'y' } } });
    expect((labelled.metadata as Record<string, unknown>).generation).toBe(1);
    const respecced = store.update(NETPOL, { ...labelled, spec: { podSelector: { matchLabels: { a: 'b' } } } });
    expect((respecced.metadata as Record<string, unknown>).generation).toBe(2);
    expect(statusCode(() => store.update(NETPOL, { ...a, metadata: { ...(a.metadata as object), resourceVersion: rv } }))).toBe(409);
    expect(statusCode(() => store.update(NETPOL, { metadata: { name: 'zz', namespace: 'db' } }))).toBe(404);
  });

  it('does not bump the version for a no-op update', () => {
    const store = withDb();
    const a = store.create(NETPOL, { metadata: { name: 'a', namespace: 'db' }, spec: {} });
    const again = store.update(NETPOL, a);
    expect((again.metadata as Record<string, unknown>).resourceVersion).toBe((a.metadata as Record<string, unknown>).resourceVersion);
  });

  it('dry runs change nothing and emit nothing', () => {
    const store = withDb();
    const events: StoreEvent[] = [];
    store.subscribe((e) => events.push(e));
    const rv = store.resourceVersion();
    const wouldBe = store.create(NETPOL, { metadata: { name: 'a', namespace: 'db' } }, { dryRun: true });
    expect((wouldBe.metadata as Record<string, unknown>).uid).toBeDefined();
    expect(store.get(NETPOL, 'db', 'a')).toBeUndefined();
    expect(store.resourceVersion()).toBe(rv);
    expect(events).toEqual([]);
  });

  it('deleting a namespace deletes its contents, with events for each', () => {
    const store = withDb();
    store.create(NETPOL, { metadata: { name: 'a', namespace: 'db' } });
    store.create(POD, { metadata: { name: 'p', namespace: 'db' } });
    const events: string[] = [];
    store.subscribe((e) => events.push(`${e.type} ${e.resource.resource}`));
    store.delete(NS, undefined, 'db');
    expect(events).toEqual(['DELETED pods', 'DELETED networkpolicies', 'DELETED namespaces']);
    expect(store.list(NETPOL)).toEqual([]);
  });

  it('checks delete preconditions', () => {
    const store = withDb();
    store.create(NETPOL, { metadata: { name: 'a', namespace: 'db' } });
    expect(statusCode(() => store.delete(NETPOL, 'db', 'a', { uid: 'other' }))).toBe(409);
    expect(statusCode(() => store.delete(NETPOL, 'db', 'missing'))).toBe(404);
    expect(store.get(NETPOL, 'db', 'a')).toBeDefined();
  });

  it('replays events after a resourceVersion', () => {
    const store = withDb();
    const rv = Number(store.resourceVersion());
    store.create(NETPOL, { metadata: { name: 'a', namespace: 'db' } });
    store.delete(NETPOL, 'db', 'a');
    const events = store.eventsSince(rv);
    expect(events === 'expired' ? events : events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
    expect(statusCode(() => store.eventsSince(rv + 1000))).toBe(504);
  });

  it('reports a resourceVersion older than the kept history as expired', () => {
    const store = new ObjectStore(clock, 3);
    store.create(NS, { metadata: { name: 'db' } });
    const early = Number(store.resourceVersion());
    for (const name of ['a', 'b', 'c', 'd']) store.create(NETPOL, { metadata: { name, namespace: 'db' } });
    expect(store.eventsSince(early)).toBe('expired');
    const recent = store.eventsSince(Number(store.resourceVersion()) - 2);
    expect(recent === 'expired' ? recent : recent.map((e) => e.object.metadata?.name)).toEqual(['c', 'd']);
  });

  it('returns copies: callers cannot mutate the stored state', () => {
    const store = withDb();
    store.create(NETPOL, { metadata: { name: 'a', namespace: 'db', labels: { x: '1' } } });
    const got = store.get(NETPOL, 'db', 'a') as { metadata: { labels: Record<string, string> } };
    got.metadata.labels.x = 'changed';
    expect((store.get(NETPOL, 'db', 'a')?.metadata as { labels: Record<string, string> }).labels.x).toBe('1');
  });

  it('lists sorted by namespace then name, optionally in one namespace', () => {
    const store = withDb();
    store.create(NS, { metadata: { name: 'api' } });
    store.create(NETPOL, { metadata: { name: 'z', namespace: 'db' } });
    store.create(NETPOL, { metadata: { name: 'b', namespace: 'api' } });
    store.create(NETPOL, { metadata: { name: 'a', namespace: 'db' } });
    const names = (ns?: string): string[] => store.list(NETPOL, ns).map((o) => `${String(o.metadata?.namespace)}/${String(o.metadata?.name)}`);
    expect(names()).toEqual(['api/b', 'db/a', 'db/z']);
    expect(names('db')).toEqual(['db/a', 'db/z']);
  });
});
