// The watcher role against the simulated API server over HTTPS and a real redis-server: the first
// list, adds/updates/deletes of every kind, namespace labels (and the noise that is not journalled),
// cut streams, 410 Gone, API server restarts (state kept and rebuilt), two changes in one second,
// and oversized objects. Every change must be journalled once, in order, with nothing lost.
import { afterEach, describe, expect, it } from 'vitest';
import type { AdminNetworkPolicy, CiliumNetworkPolicy, KubeNetworkPolicy } from '../../src/kube/index.js';
import { SHOP_PODS } from '../../src/sim/scenarios/shop.js';
import { BOT, JournalCluster, line, settle, waitFor } from '../helpers/journal-cluster.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

let cluster: JournalCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function start(opts: Parameters<typeof JournalCluster.start>[2] = {}): Promise<JournalCluster> {
  cluster = await JournalCluster.start(uniquePrefix('journal'), testRedis, opts);
  return cluster;
}

function np(name: string, port: number, namespace = 'api'): KubeNetworkPolicy {
  return { metadata: { name, namespace }, spec: { podSelector: { matchLabels: { app: 'orders' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port }] }] } };
}

function cnp(name: string, app = 'postgres', namespace = 'db'): CiliumNetworkPolicy {
  return { metadata: { name, namespace }, spec: { endpointSelector: { matchLabels: { app } }, egressDeny: [{ toEntities: ['world'] }] } };
}

function anp(name: string, priority: number): AdminNetworkPolicy {
  return { metadata: { name }, spec: { priority, subject: { namespaces: { matchLabels: { env: 'prod' } } }, ingress: [{ name: 'deny', action: 'Deny', from: [{ namespaces: {} }] }] } };
}

const rvOf = (o: { metadata?: { resourceVersion?: string } }): string => String(o.metadata?.resourceVersion);

describe('JournalWatcher', () => {
  it('journals the first list, then adds, updates and deletes of every kind with before, after and who moved', async () => {
    const c = await start();
    const { watcher, journal } = c.replica();
    expect(await journal.watched()).toBe(false);
    await watcher.start();
    expect(watcher.isActive).toBe(true);
    // Readers (the trace step) can tell a journal that is being kept from one nobody writes.
    expect(await journal.watched()).toBe(true);
    await watcher.ready();
    expect(watcher.kinds).toEqual(['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'CiliumNetworkPolicy', 'Namespace']);
    const initial = await c.entries(journal);
    const listed = [...c.sim.list('NetworkPolicy'), ...c.sim.list('Namespace')].map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}@${rvOf(o)}`).sort();
    expect(initial.every((e) => e.type === 'added' && e.before === null)).toBe(true);
    expect(initial.map((e) => `${e.namespace ?? ''}/${e.name}@${e.resourceVersion}`).sort()).toEqual(listed);

    const g = c.gateway;
    const expected: string[] = [];
    const a1 = await g.objects('NetworkPolicy').apply(np('allow-metrics', 9090), { fieldManager: 'kubectl' });
    const a2 = await g.objects('NetworkPolicy').mergePatch({ namespace: 'api', name: 'allow-metrics' }, { spec: { ingress: [{ ports: [{ protocol: 'TCP', port: 9091 }] }] } }, { fieldManager: 'argocd-controller' });
    await g.objects('NetworkPolicy').delete({ namespace: 'api', name: 'allow-metrics' });
    expected.push(`added NetworkPolicy api/allow-metrics@${rvOf(a1)}`, `modified NetworkPolicy api/allow-metrics@${rvOf(a2)}`);
    const b1 = await g.objects('AdminNetworkPolicy').apply(anp('deny-all-prod', 10), { fieldManager: 'kubectl' });
    const b2 = await g.objects('AdminNetworkPolicy').apply(anp('deny-all-prod', 11), { fieldManager: 'kubectl' });
    await g.objects('AdminNetworkPolicy').delete({ name: 'deny-all-prod' });
    const c1 = await g.objects('BaselineAdminNetworkPolicy').apply({ metadata: { name: 'default' }, spec: { subject: { namespaces: {} }, ingress: [{ name: 'deny', action: 'Deny', from: [{ namespaces: {} }] }] } }, { fieldManager: 'helm' });
    const c2 = await g.objects('BaselineAdminNetworkPolicy').mergePatch({ name: 'default' }, { metadata: { labels: { owner: 'platform' } } }, { fieldManager: 'kubectl-label' });
    await g.objects('BaselineAdminNetworkPolicy').delete({ name: 'default' });
    const d1 = await g.objects('CiliumNetworkPolicy').apply(cnp('no-world'), { fieldManager: 'kubectl' });
    const d2 = await g.objects('CiliumNetworkPolicy').apply(cnp('no-world', 'redis'), { fieldManager: 'kubectl' });
    await g.objects('CiliumNetworkPolicy').delete({ namespace: 'db', name: 'no-world' });

    const all = await settle(c, journal, initial.length + 12);
    const changes = all.slice(initial.length);
    const byKind = (kind: string): string[] => changes.filter((e) => e.kind === kind).map((e) => `${e.type}@${e.type === 'deleted' ? '' : e.resourceVersion}`);
    expect(byKind('NetworkPolicy')).toEqual([`added@${rvOf(a1)}`, `modified@${rvOf(a2)}`, 'deleted@']);
    expect(byKind('AdminNetworkPolicy')).toEqual([`added@${rvOf(b1)}`, `modified@${rvOf(b2)}`, 'deleted@']);
    expect(byKind('BaselineAdminNetworkPolicy')).toEqual([`added@${rvOf(c1)}`, `modified@${rvOf(c2)}`, 'deleted@']);
    expect(byKind('CiliumNetworkPolicy')).toEqual([`added@${rvOf(d1)}`, `modified@${rvOf(d2)}`, 'deleted@']);
    expect(changes.filter((e) => e.kind === 'NetworkPolicy').slice(0, 2).map(line)).toEqual(expected);
    for (const kind of ['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'CiliumNetworkPolicy']) {
      const [added, modified, deleted] = changes.filter((e) => e.kind === kind);
      expect(modified!.before).toEqual(added!.after);
      expect(deleted!.before).toEqual(modified!.after);
      expect(deleted!.after).toBeNull();
      expect(Number(deleted!.resourceVersion)).toBeGreaterThan(Number(modified!.resourceVersion));
    }
    const [npAdded, npModified] = changes.filter((e) => e.kind === 'NetworkPolicy');
    expect(npAdded!.managers.map((m) => m.manager)).toEqual(['kubectl']);
    expect(npModified!.managers).toMatchObject([{ manager: 'argocd-controller', operation: 'Update' }]);
    expect(changes.find((e) => e.kind === 'BaselineAdminNetworkPolicy' && e.type === 'modified')!.managers.map((m) => m.manager)).toEqual(['kubectl-label']);
    expect((npModified!.after as { status?: unknown }).status).toBeUndefined();
    await watcher.stop();
    expect(await journal.watched()).toBe(false);
  });

  it('journals namespace adds, deletes and label changes, and not annotation, spec or status changes', async () => {
    const c = await start();
    const { watcher, journal, results } = c.replica();
    await watcher.start();
    await watcher.ready();
    const initial = (await c.entries(journal)).length;
    const namespaces = c.gateway.objects('Namespace');
    await namespaces.create({ metadata: { name: 'scratch', labels: { team: 'x' } } });
    await c.gateway.objects('NetworkPolicy').apply(np('inside', 80, 'scratch'), { fieldManager: 'kubectl' });
    await namespaces.mergePatch({ name: 'scratch' }, { metadata: { annotations: { note: 'noise' } } });
    const current = await namespaces.get({ name: 'scratch' });
    await namespaces.replace({ ...current!, status: { phase: 'Terminating' } });
    await namespaces.mergePatch({ name: 'scratch' }, { metadata: { labels: { env: 'dev' } } }, { fieldManager: 'kubectl-label' });
    await namespaces.mergePatch({ name: 'scratch' }, { metadata: { labels: { env: 'prod' } } }, { fieldManager: 'kubectl-label' });
    await namespaces.mergePatch({ name: 'scratch' }, { metadata: { labels: { team: null } } }, { fieldManager: 'kubectl-label' });
    await namespaces.delete({ name: 'scratch' });
    const entries = (await settle(c, journal, initial + 7)).slice(initial);
    // Each kind has its own watch stream, so entries of two kinds interleave in arrival order (as
    // with any Kubernetes watches); each object's own changes stay in order.
    const ofKind = (kind: string): string[] => entries.filter((e) => e.kind === kind).map((e) => `${e.type} ${e.namespace ?? ''}/${e.name}`);
    expect(entries).toHaveLength(7);
    expect(ofKind('Namespace')).toEqual(['added /scratch', 'modified /scratch', 'modified /scratch', 'modified /scratch', 'deleted /scratch']);
    expect(ofKind('NetworkPolicy')).toEqual(['added scratch/inside', 'deleted scratch/inside']);
    const labels = (o: Record<string, unknown> | null): unknown => (o?.metadata as { labels?: unknown } | undefined)?.labels;
    const ns = entries.filter((e) => e.kind === 'Namespace');
    expect(ns.map((e) => labels(e.after))).toEqual([
      { team: 'x', 'kubernetes.io/metadata.name': 'scratch' },
      { team: 'x', env: 'dev', 'kubernetes.io/metadata.name': 'scratch' },
      { team: 'x', env: 'prod', 'kubernetes.io/metadata.name': 'scratch' },
      { env: 'prod', 'kubernetes.io/metadata.name': 'scratch' },
      undefined,
    ]);
    expect(ns[1]!.managers.map((m) => m.manager)).toEqual(['kubectl-label']);
    // The annotation and status changes reached the watcher and moved only the state.
    expect(results.filter((r) => r.kind === 'Namespace' && r.result.outcome === 'unchanged')).toHaveLength(2);
    expect(ns[1]!.before).not.toHaveProperty('status');
    expect(JSON.stringify(ns)).not.toContain('noise');
  });

  it('loses and doubles nothing when streams are cut mid-flight', async () => {
    const c = await start();
    const { watcher, journal } = c.replica();
    await watcher.start();
    await watcher.ready();
    const initial = (await c.entries(journal)).length;
    const cnps = c.gateway.objects('CiliumNetworkPolicy');
    const nps = c.gateway.objects('NetworkPolicy');
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      const name = `p${i % 13}`;
      if (i % 9 === 8 && c.sim.get('cnp', 'db', name)) {
        await cnps.delete({ namespace: 'db', name });
        expected.push(`deleted CiliumNetworkPolicy db/${name}`);
      } else if (i % 2 === 0) {
        const out = await cnps.apply(cnp(name, `app-${i}`), { fieldManager: 'kubectl' });
        expected.push(`${out.metadata?.generation === 1 ? 'added' : 'modified'} CiliumNetworkPolicy db/${name}@${rvOf(out)}`);
      } else {
        const out = await nps.apply(np(`n${i % 5}`, 1000 + i), { fieldManager: 'kubectl' });
        expected.push(`${out.metadata?.generation === 1 ? 'added' : 'modified'} NetworkPolicy api/n${i % 5}@${rvOf(out)}`);
      }
      if (i % 20 === 0) c.sim.cutWatches();
    }
    const entries = (await settle(c, journal, initial + expected.length)).slice(initial);
    const got = entries.map((e) => (e.type === 'deleted' ? `deleted ${e.kind} ${e.namespace}/${e.name}` : line(e)));
    // Each kind's changes in order; the two kinds' streams interleave as the watches deliver them.
    for (const kind of ['CiliumNetworkPolicy', 'NetworkPolicy']) expect(got.filter((g) => g.includes(` ${kind} `))).toEqual(expected.filter((x) => x.includes(` ${kind} `)));
    expect(got).toHaveLength(expected.length);
  });

  it('relists after 410 Gone and journals the merged difference once', async () => {
    const c = await start({ watchHistoryLimit: 20 });
    const { watcher, journal } = c.replica();
    const cnps = c.gateway.objects('CiliumNetworkPolicy');
    for (const name of ['keep', 'change', 'drop', 'recreate']) await cnps.apply(cnp(name), { fieldManager: 'kubectl' });
    await watcher.start();
    await watcher.ready();
    const initial = (await c.entries(journal)).length;
    const lift = c.sim.deny({ user: BOT, verb: 'watch', resource: 'ciliumnetworkpolicies' });
    c.sim.cutWatches();
    const changed = await cnps.apply(cnp('change', 'other'), { fieldManager: 'kubectl' });
    await cnps.delete({ namespace: 'db', name: 'drop' });
    await cnps.delete({ namespace: 'db', name: 'recreate' });
    const recreated = await cnps.apply(cnp('recreate'), { fieldManager: 'kubectl' });
    const late = await cnps.apply(cnp('added-late'), { fieldManager: 'kubectl' });
    for (let i = 0; i < 30; i++) await c.gateway.objects('Pod').mergePatch({ namespace: 'db', name: SHOP_PODS.postgres }, { metadata: { labels: { churn: String(i) } } });
    lift();
    const entries = (await settle(c, journal, initial + 5)).slice(initial);
    expect(entries.map((e) => (e.type === 'deleted' ? `deleted ${e.name}` : `${e.type} ${e.name}@${e.resourceVersion}`)).sort()).toEqual(
      [`modified change@${rvOf(changed)}`, 'deleted drop', 'deleted recreate', `added recreate@${rvOf(recreated)}`, `added added-late@${rvOf(late)}`].sort(),
    );
    const deletedRecreate = entries.findIndex((e) => e.type === 'deleted' && e.name === 'recreate');
    expect(deletedRecreate).toBeLessThan(entries.findIndex((e) => e.type === 'added' && e.name === 'recreate'));
  });

  it('survives an API server restart without losing or doubling a change', async () => {
    const c = await start();
    const { watcher, journal } = c.replica();
    await watcher.start();
    await watcher.ready();
    const initial = (await c.entries(journal)).length;
    const before = await c.gateway.objects('CiliumNetworkPolicy').apply(cnp('before'), { fieldManager: 'kubectl' });
    await settle(c, journal, initial + 1);
    await c.sim.restart();
    const after = await c.gateway.objects('CiliumNetworkPolicy').apply(cnp('after'), { fieldManager: 'kubectl' });
    const modified = await c.gateway.objects('CiliumNetworkPolicy').apply(cnp('before', 'api'), { fieldManager: 'kubectl' });
    const entries = (await settle(c, journal, initial + 3)).slice(initial);
    expect(entries.map(line)).toEqual([
      `added CiliumNetworkPolicy db/before@${rvOf(before)}`,
      `added CiliumNetworkPolicy db/after@${rvOf(after)}`,
      `modified CiliumNetworkPolicy db/before@${rvOf(modified)}`,
    ]);
  });

  it('after a rebuilt cluster (restart without state) journals what went and what came, though versions repeat', async () => {
    const c = await start();
    const { watcher, journal } = c.replica();
    await watcher.start();
    await watcher.ready();
    const first = await c.entries(journal);
    const policies = first.filter((e) => e.kind === 'NetworkPolicy');
    // Rebuilt from scratch: versions start over. The watch's version is then "too large" and it
    // lists again; the caveat of src/kube/watch.ts: this must happen before the new cluster's
    // versions pass the old one, so the cluster is filled only after the relist.
    await c.sim.restart({ keepState: false });
    await settle(c, journal, first.length * 2);
    const gone = (await c.entries(journal)).slice(first.length);
    expect(gone.every((e) => e.type === 'deleted')).toBe(true);
    expect(gone.map((e) => `${e.kind} ${e.namespace ?? ''}/${e.name}`).sort()).toEqual(first.map((e) => `${e.kind} ${e.namespace ?? ''}/${e.name}`).sort());
    // The same objects again, at the same versions as the first time: new uids, so not duplicates.
    c.sim.seed((await import('../../src/sim/scenarios/shop.js')).shopObjects());
    const again = (await settle(c, journal, first.length * 3)).slice(first.length * 2);
    const seeded = again.filter((e) => e.kind === 'NetworkPolicy');
    expect(seeded.map((e) => `${e.type} ${e.namespace}/${e.name}@${e.resourceVersion}`).sort()).toEqual(policies.map((e) => `added ${e.namespace}/${e.name}@${e.resourceVersion}`).sort());
    expect(seeded.every((e) => (e.after?.metadata as { uid: string }).uid !== (policies.find((p) => p.name === e.name)!.after?.metadata as { uid: string }).uid)).toBe(true);
  });

  it('retries a write Redis refuses, holding the watch, and stores every change once when Redis recovers', async () => {
    const c = await start();
    const { watcher, journal, redis } = c.replica();
    await watcher.start();
    await watcher.ready();
    const initial = (await c.entries(journal)).length;
    // A key of the wrong type makes every CiliumNetworkPolicy write fail (WRONGTYPE).
    const stateKey = `${c.prefix}:journal:state:CiliumNetworkPolicy`;
    await redis.set(stateKey, 'not a hash');
    const cnps = c.gateway.objects('CiliumNetworkPolicy');
    const written = [];
    for (const app of ['a', 'b', 'c']) written.push(await cnps.apply(cnp('during-fault', app), { fieldManager: 'kubectl' }));
    const np1 = await c.gateway.objects('NetworkPolicy').apply(np('unaffected', 1), { fieldManager: 'kubectl' });
    await waitFor('failed writes', () => watcher.stats.writeErrors >= 2);
    // The NetworkPolicy's own watch is not held up by the failing kind (its write may still be landing).
    await waitFor('the unaffected kind journalled', async () => (await c.entries(journal)).length > initial);
    expect((await c.entries(journal)).slice(initial).map(line)).toEqual([`added NetworkPolicy api/unaffected@${rvOf(np1)}`]);
    await redis.del(stateKey);
    const entries = (await settle(c, journal, initial + 4)).slice(initial);
    expect(entries.filter((e) => e.kind === 'CiliumNetworkPolicy').map(line)).toEqual(
      written.map((w, i) => `${i === 0 ? 'added' : 'modified'} CiliumNetworkPolicy db/during-fault@${rvOf(w)}`),
    );
  });

  it('stores two changes to one object within a second as two entries, in order', async () => {
    const c = await start();
    const { watcher, journal } = c.replica();
    await watcher.start();
    await watcher.ready();
    const initial = (await c.entries(journal)).length;
    const nps = c.gateway.objects('NetworkPolicy');
    const t0 = Date.now();
    const one = await nps.apply(np('twice', 1), { fieldManager: 'kubectl' });
    const two = await nps.apply(np('twice', 2), { fieldManager: 'kubectl' });
    const three = await nps.apply(np('twice', 3), { fieldManager: 'kubectl' });
    expect(Date.now() - t0).toBeLessThan(1000);
    const entries = (await settle(c, journal, initial + 3)).slice(initial);
    expect(entries.map((e) => `${e.type}@${e.resourceVersion}`)).toEqual([`added@${rvOf(one)}`, `modified@${rvOf(two)}`, `modified@${rvOf(three)}`]);
    expect(new Set(entries.map((e) => e.id)).size).toBe(3);
    expect(entries[1]!.before).toEqual(entries[0]!.after);
    expect(entries[2]!.before).toEqual(entries[1]!.after);
    const at = await journal.stateAt('NetworkPolicy', 'api', 'twice', entries[2]!.observedAt);
    expect((at?.spec as { ingress: Array<{ ports: Array<{ port: number }> }> }).ingress[0]!.ports[0]!.port).toBe(3);
  });

  it('keeps oversized objects as a bounded marker that still tells versions apart', async () => {
    const c = await start();
    const { watcher, journal, redis } = c.replica({ maxObjectBytes: 16 * 1024 });
    await watcher.start();
    await watcher.ready();
    const initial = (await c.entries(journal)).length;
    const big = (tag: string): CiliumNetworkPolicy => ({
      metadata: { name: 'big', namespace: 'db', annotations: { description: `${tag} ${'x'.repeat(100 * 1024)}` } },
      spec: { endpointSelector: { matchLabels: { app: 'postgres' } }, egressDeny: [{ toEntities: ['world'] }] },
    });
    await c.gateway.objects('CiliumNetworkPolicy').apply(big('one'), { fieldManager: 'kubectl' });
    await c.gateway.objects('CiliumNetworkPolicy').apply(big('two'), { fieldManager: 'kubectl' });
    const entries = (await settle(c, journal, initial + 2)).slice(initial);
    expect(entries.map((e) => e.type)).toEqual(['added', 'modified']);
    const markers = entries.map((e) => e.after!['netpol-responder.io/truncated'] as { bytes: number; limit: number; sha256: string; reason: string });
    expect(markers[0]).toMatchObject({ limit: 16 * 1024, reason: expect.stringContaining('the journal keeps objects of at most 16384 bytes') });
    expect(markers[0]!.bytes).toBeGreaterThan(100 * 1024);
    expect(markers[0]!.sha256).not.toBe(markers[1]!.sha256);
    expect(entries[1]!.after!.metadata).toMatchObject({ name: 'big', namespace: 'db' });
    expect(await redis.hstrlen(`${c.prefix}:journal:state:CiliumNetworkPolicy`, 'db/big')).toBeLessThan(2048);
  });
});
