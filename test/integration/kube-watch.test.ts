// The adapter's resilient watch against the simulated API server: cut streams, 410 Gone, restarts on
// the same port, bookmarks, RBAC denials, pod rollouts and many events. The handler's view must
// converge to the cluster's with no event lost or delivered twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createKubeGateway, loadKubeConfig, type CiliumNetworkPolicy, type KindWatch, type KubeGateway, type KubeObject, type WatchEvent } from '../../src/kube/index.js';
import { startKubeApiServer, type KubeApiSim, type KubeApiSimOptions } from '../../src/sim/kube/index.js';
import { SHOP_PODS, shopObjects } from '../../src/sim/scenarios/shop.js';
import { clusterView, waitFor } from '../helpers/kube-watch.js';

const BOT = 'system:serviceaccount:netpol-responder:netpol-responder';
const MANAGER = 'netpol-responder';
const dir = mkdtempSync(join(tmpdir(), 'kube-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function cluster(opts: KubeApiSimOptions = {}): Promise<{ sim: KubeApiSim; gateway: KubeGateway }> {
  const sim = await startKubeApiServer({ users: { [`t-${Math.random()}`]: BOT }, cluster: { cni: 'cilium' }, ...opts });
  sim.seed(shopObjects());
  cleanups.push(() => sim.close());
  const gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(join(dir, String(Math.random()))) }));
  return { sim, gateway };
}

/** What the handler was told: the event log, and the state it implies. */
class Recorder {
  readonly log: Array<{ type: string; key: string; rv: string; uid: string }> = [];
  readonly state = new Map<string, KubeObject>();
  readonly handle = (e: WatchEvent<KubeObject>): void => {
    const key = `${e.object.metadata?.namespace ?? ''}/${e.object.metadata?.name}`;
    this.log.push({ type: e.type, key, rv: String(e.object.metadata?.resourceVersion), uid: String(e.object.metadata?.uid) });
    if (e.type === 'deleted') this.state.delete(key);
    else this.state.set(key, e.object);
  };
  view(): string[] {
    return [...this.state.entries()].map(([k, o]) => `${k}@${o.metadata?.resourceVersion}`).sort();
  }
}

function track(w: KindWatch): KindWatch {
  cleanups.push(() => w.stop());
  return w;
}

function cnp(name: string, app = 'postgres', namespace = 'db'): CiliumNetworkPolicy {
  return { metadata: { name, namespace, labels: { incident: 'inc-9' } }, spec: { endpointSelector: { matchLabels: { app } }, egressDeny: [{ toEntities: ['world'] }] } };
}

describe('watch', () => {
  it('delivers the list, then every change in order, and stops cleanly', async () => {
    const { sim, gateway } = await cluster();
    const rec = new Recorder();
    const synced: Array<{ relist: boolean }> = [];
    const w = track(gateway.watch('Pod', rec.handle, { namespace: 'api', onSynced: (s) => synced.push(s) }));
    await w.synced;
    expect(rec.log.map((e) => e.type)).toEqual(['added', 'added', 'added']);
    expect(synced).toEqual([{ resourceVersion: sim.resourceVersion(), relist: false }]);
    const pods = gateway.objects('Pod');
    await pods.mergePatch({ namespace: 'api', name: SHOP_PODS.payments }, { metadata: { labels: { seen: 'yes' } } });
    await pods.mergePatch({ namespace: 'db', name: SHOP_PODS.postgres }, { metadata: { labels: { elsewhere: 'yes' } } });
    await pods.delete({ namespace: 'api', name: SHOP_PODS.orders[0] });
    await waitFor('the delete', () => rec.log.length === 5);
    expect(rec.log.slice(3).map((e) => `${e.type} ${e.key}`)).toEqual([`modified api/${SHOP_PODS.payments}`, `deleted api/${SHOP_PODS.orders[0]}`]);
    expect(rec.view()).toEqual(clusterView(sim, 'Pod', 'api'));
    await w.stop();
    await waitFor('the stream to close', () => sim.openWatches() === 0);
  });

  it('sees a Deployment roll: new pods under new names with the same app labels, old ones gone', async () => {
    const { sim, gateway } = await cluster();
    const rec = new Recorder();
    await track(gateway.watch('Pod', rec.handle, { namespace: 'api', labelSelector: 'app=orders' })).synced;
    const rolled = sim.rollPods('api', 'app=orders');
    expect(rolled.removed.sort()).toEqual([...SHOP_PODS.orders].sort());
    await waitFor('the roll', () => rec.log.length === 6);
    expect(rec.log.slice(2).map((e) => e.type)).toEqual(['added', 'added', 'deleted', 'deleted']);
    const names = [...rec.state.keys()];
    expect(names).toHaveLength(2);
    expect(names.every((n) => /^api\/orders-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(n))).toBe(true);
    const fresh = [...rec.state.values()][0] as KubeObject & { status?: { podIP?: string } };
    expect(fresh.metadata?.labels).toMatchObject({ app: 'orders', tier: 'api' });
    expect(fresh.status?.podIP).toMatch(/^10\.244\.\d\.\d+$/);
  });

  it('resumes after cut streams without losing or doubling an event', async () => {
    const { sim, gateway } = await cluster();
    const rec = new Recorder();
    const w = track(gateway.watch('CiliumNetworkPolicy', rec.handle, { backoff: { initialMs: 5, maxMs: 50 } }));
    await w.synced;
    const cnps = gateway.objects('CiliumNetworkPolicy');
    const expected: string[] = [];
    for (let i = 0; i < 300; i++) {
      const name = `p${i % 17}`;
      if (i % 11 === 10 && sim.get('cnp', 'db', name)) {
        await cnps.delete({ namespace: 'db', name });
        expected.push(`deleted db/${name}`);
      } else {
        const out = await cnps.apply(cnp(name, `app-${i}`), { fieldManager: MANAGER });
        expected.push(`${out.metadata?.generation === 1 ? 'added' : 'modified'} db/${name}@${out.metadata?.resourceVersion}`);
      }
      if (i % 25 === 0) sim.cutWatches();
    }
    await waitFor('every event', () => rec.log.length >= expected.length);
    await new Promise((r) => setTimeout(r, 100));
    const got = rec.log.map((e) => (e.type === 'deleted' ? `deleted ${e.key}` : `${e.type} ${e.key}@${e.rv}`));
    expect(got).toEqual(expected);
    expect(w.stats.lists).toBe(1);
    expect(w.stats.streams).toBeGreaterThan(10);
    expect(rec.view()).toEqual(clusterView(sim, 'CiliumNetworkPolicy'));
  });

  it('relists after 410 Gone and converges, reporting each difference once', async () => {
    const { sim, gateway } = await cluster({ watchHistoryLimit: 20 });
    const rec = new Recorder();
    const cnps = gateway.objects('CiliumNetworkPolicy');
    for (const name of ['keep', 'change', 'drop', 'recreate']) await cnps.apply(cnp(name), { fieldManager: MANAGER });
    const synced: boolean[] = [];
    const w = track(gateway.watch('CiliumNetworkPolicy', rec.handle, { namespace: 'db', bookmarks: false, backoff: { initialMs: 5, maxMs: 20 }, onSynced: (s) => synced.push(s.relist) }));
    await w.synced;
    const oldUid = sim.get('cnp', 'db', 'recreate')?.metadata?.uid;
    // While the watch cannot reconnect, the history moves on past its resourceVersion.
    const lift = sim.deny({ user: BOT, verb: 'watch', resource: 'ciliumnetworkpolicies' });
    sim.cutWatches();
    await cnps.apply(cnp('change', 'other'), { fieldManager: MANAGER });
    await cnps.delete({ namespace: 'db', name: 'drop' });
    await cnps.delete({ namespace: 'db', name: 'recreate' });
    await cnps.apply(cnp('recreate'), { fieldManager: MANAGER });
    await cnps.apply(cnp('added-late'), { fieldManager: MANAGER });
    for (let i = 0; i < 30; i++) await gateway.objects('Pod').mergePatch({ namespace: 'db', name: SHOP_PODS.postgres }, { metadata: { labels: { churn: String(i) } } });
    lift();
    await waitFor('the relist', () => synced.length === 2);
    expect(synced).toEqual([false, true]);
    expect(rec.log.slice(4).map((e) => `${e.type} ${e.key}`).sort()).toEqual(['added db/added-late', 'added db/recreate', 'deleted db/drop', 'deleted db/recreate', 'modified db/change'].sort());
    expect(rec.log.find((e) => e.type === 'deleted' && e.key === 'db/recreate')?.uid).toBe(oldUid);
    expect(rec.view()).toEqual(clusterView(sim, 'CiliumNetworkPolicy', 'db'));
    expect(w.stats.lists).toBe(2);
  });

  it('resumes across an API server restart on the same port, and relists when the cluster was rebuilt', async () => {
    const { sim, gateway } = await cluster();
    const rec = new Recorder();
    const errors: Error[] = [];
    const w = track(gateway.watch('CiliumNetworkPolicy', rec.handle, { backoff: { initialMs: 10, maxMs: 100 }, onError: (e) => errors.push(e) }));
    await w.synced;
    const cnps = gateway.objects('CiliumNetworkPolicy');
    await cnps.apply(cnp('before'), { fieldManager: MANAGER });
    await waitFor('before', () => rec.state.has('db/before'));
    await sim.restart();
    await cnps.apply(cnp('after'), { fieldManager: MANAGER });
    await waitFor('after', () => rec.state.has('db/after'));
    expect(w.stats.lists).toBe(1);
    expect(rec.log.map((e) => `${e.type} ${e.key}`)).toEqual(['added db/before', 'added db/after']);

    // Rebuilt from scratch: resourceVersions start over, so the one the watch holds is "too large"
    // (504) and it lists again: what it knew is gone. Versions are reused after that, which is why
    // this test lets the relist happen before the cluster fills up again.
    await sim.restart({ keepState: false });
    await waitFor('the relist', () => w.stats.lists === 2);
    expect(rec.log.slice(2).map((e) => `${e.type} ${e.key}`).sort()).toEqual(['deleted db/after', 'deleted db/before']);
    sim.seed([...shopObjects(), { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', ...cnp('fresh') }]);
    await waitFor('the new object', () => rec.state.has('db/fresh'));
    expect(rec.view()).toEqual(clusterView(sim, 'CiliumNetworkPolicy'));
    expect(errors.some((e) => /ECONNREFUSED|ECONNRESET|socket hang up|Premature close/i.test(e.message))).toBe(true);
  });

  it('keeps its resume point fresh with bookmarks, so a quiet watch resumes without a relist', async () => {
    for (const bookmarks of [true, false]) {
      const { sim, gateway } = await cluster({ watchHistoryLimit: 10 });
      const rec = new Recorder();
      const w = track(gateway.watch('CiliumNetworkPolicy', rec.handle, { labelSelector: 'incident=none', bookmarks, backoff: { initialMs: 5, maxMs: 20 } }));
      await w.synced;
      const start = w.resourceVersion();
      for (let i = 0; i < 15; i++) await gateway.objects('Pod').mergePatch({ namespace: 'db', name: SHOP_PODS.postgres }, { metadata: { labels: { churn: String(i) } } });
      sim.sendBookmarks();
      if (bookmarks) await waitFor('a bookmark', () => w.resourceVersion() === sim.resourceVersion());
      else {
        await new Promise((r) => setTimeout(r, 100));
        expect(w.resourceVersion()).toBe(start);
      }
      sim.cutWatches();
      await waitFor('a new stream', () => w.stats.streams >= 2 && sim.openWatches() === 1);
      await new Promise((r) => setTimeout(r, 50));
      expect(w.stats.lists).toBe(bookmarks ? 1 : 2);
      expect(w.stats.bookmarks > 0).toBe(bookmarks);
      expect(rec.log).toEqual([]);
    }
  });

  it('reports a forbidden watch with the RBAC rule to add, and recovers once it is granted', async () => {
    const { sim, gateway } = await cluster();
    const lift = sim.deny({ user: BOT, verb: 'watch', resource: 'ciliumnetworkpolicies' });
    const errors: Error[] = [];
    const rec = new Recorder();
    const w = track(gateway.watch('CiliumNetworkPolicy', rec.handle, { namespace: 'db', backoff: { initialMs: 10, maxMs: 20 }, onError: (e) => errors.push(e) }));
    await w.synced;
    await waitFor('an error', () => errors.length > 0);
    expect(errors[0]?.message).toMatch(/lacks verb "watch" on resource "ciliumnetworkpolicies" in apiGroup "cilium.io" \(namespace db, or cluster-wide\)/);
    lift();
    await gateway.objects('CiliumNetworkPolicy').apply(cnp('later'), { fieldManager: MANAGER });
    await waitFor('the event after the grant', () => rec.state.has('db/later'));
  });

  it('says so when the kind is not served, and never delivers anything', async () => {
    const { sim, gateway } = await cluster({ cluster: {} });
    const errors: Error[] = [];
    const w = track(gateway.watch('AdminNetworkPolicy', () => undefined, { backoff: { initialMs: 10, maxMs: 20 }, onError: (e) => errors.push(e) }));
    await waitFor('an error', () => errors.length > 0);
    expect(errors[0]?.message).toMatch(/AdminNetworkPolicy is not served by this cluster: its CRD adminnetworkpolicies.policy.networking.k8s.io is not installed/);
    expect(w.stats.events).toBe(0);
    expect(sim.openWatches()).toBe(0);
  });

  it('counts malformed stream lines and a handler that throws, and goes on', async () => {
    const { gateway } = await cluster();
    const errors: Error[] = [];
    let calls = 0;
    const w = track(
      gateway.watch(
        'Namespace',
        () => {
          calls++;
          if (calls === 2) throw new Error('handler broke');
        },
        { onError: (e) => errors.push(e) },
      ),
    );
    await w.synced;
    expect(calls).toBe(5);
    expect(errors.map((e) => e.message)).toEqual(['handler broke']);
    await gateway.objects('Namespace').mergePatch({ name: 'db' }, { metadata: { labels: { a: 'b' } } });
    await waitFor('the next event', () => calls === 6);
  });

  it('refuses bad arguments at once, without a request', async () => {
    const { sim, gateway } = await cluster();
    sim.clearRequests();
    expect(() => gateway.watch('Pod', () => undefined, { labelSelector: 'app in (x' })).toThrow(/invalid label selector "app in \(x"/);
    expect(() => gateway.watch('Namespace', () => undefined, { namespace: 'db' })).toThrow('Namespace is cluster-scoped: watch it without a namespace');
    expect(() => gateway.watch('Pod', () => undefined, { namespace: ' ' })).toThrow('namespace must not be blank');
    expect(sim.requests).toEqual([]);
  });

  it('keeps up with many events and random cuts', async () => {
    const { sim, gateway } = await cluster();
    const rec = new Recorder();
    const w = track(gateway.watch('Pod', rec.handle, { backoff: { initialMs: 2, maxMs: 20 } }));
    await w.synced;
    const pods = gateway.objects('Pod');
    const names = [SHOP_PODS.postgres, SHOP_PODS.redis, SHOP_PODS.payments];
    const namespaces = ['db', 'db', 'api'];
    const writes = Array.from({ length: 1500 }, (_, i) => i);
    for (const i of writes) {
      const at = i % names.length;
      await pods.mergePatch({ namespace: namespaces[at] as string, name: names[at] as string }, { metadata: { labels: { n: String(i) } } });
      if (i % 97 === 0) sim.cutWatches();
    }
    await waitFor('convergence', () => rec.view().join() === clusterView(sim, 'Pod').join(), 20_000);
    const rvs = rec.log.filter((e) => e.type === 'modified').map((e) => Number(e.rv));
    expect(rvs).toHaveLength(1500);
    expect(new Set(rvs).size).toBe(1500);
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    expect(w.stats.lists).toBe(1);
  }, 60_000);
});
