// Watches of a whole kind share one list and one stream per gateway, against the simulated API
// server. Each subscriber must still get what a watch of its own gives: the objects, onSynced,
// every change in order, its own queue and errors, and a fresh list when it joins a watch in trouble.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createKubeGateway, loadKubeConfig, type KindWatch, type KubeGateway, type KubeObject, type WatchEvent } from '../../src/kube/index.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { SHOP_PODS, shopObjects } from '../../src/sim/scenarios/shop.js';
import { clusterView, waitFor } from '../helpers/kube-watch.js';

const BOT = 'system:serviceaccount:netpol-responder:netpol-responder';
const dir = mkdtempSync(join(tmpdir(), 'kube-shared-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function cluster(): Promise<{ sim: KubeApiSim; gateway: KubeGateway }> {
  const sim = await startKubeApiServer({ users: { [`t-${Math.random()}`]: BOT }, cluster: { cni: 'cilium' } });
  sim.seed(shopObjects());
  cleanups.push(() => sim.close());
  const gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(join(dir, String(Math.random()))) }));
  return { sim, gateway };
}

class Recorder {
  readonly log: string[] = [];
  readonly state = new Map<string, KubeObject>();
  readonly synced: boolean[] = [];
  readonly errors: string[] = [];
  readonly handle = (e: WatchEvent<KubeObject>): void => {
    const key = `${e.object.metadata?.namespace ?? ''}/${e.object.metadata?.name}`;
    this.log.push(`${e.type} ${key}`);
    if (e.type === 'deleted') this.state.delete(key);
    else this.state.set(key, e.object);
  };
  readonly opts = {
    onSynced: (s: { relist: boolean }) => this.synced.push(s.relist),
    onError: (e: Error) => this.errors.push(e.message),
  };
  view(): string[] {
    return [...this.state.entries()].map(([k, o]) => `${k}@${o.metadata?.resourceVersion}`).sort();
  }
}

function lists(sim: KubeApiSim, resource: string): number {
  return sim.requests.filter((r) => r.verb === 'list' && r.resource === resource).length;
}

function track(w: KindWatch): KindWatch {
  cleanups.push(() => w.stop());
  return w;
}

const relabel = (gateway: KubeGateway, n: number) => gateway.objects('Pod').mergePatch({ namespace: 'db', name: SHOP_PODS.postgres }, { metadata: { labels: { n: String(n) } } });

describe('shared watch', () => {
  it('lists and streams a kind once for every subscriber, each seeing the list then every change', async () => {
    const { sim, gateway } = await cluster();
    sim.clearRequests();
    const [a, b] = [new Recorder(), new Recorder()];
    const wa = track(gateway.watch('Pod', a.handle, a.opts));
    const wb = track(gateway.watch('Pod', b.handle, b.opts));
    await Promise.all([wa.synced, wb.synced]);
    expect(lists(sim, 'pods')).toBe(1);
    await waitFor('the stream', () => sim.openWatches() === 1);
    for (const r of [a, b]) {
      expect(r.view()).toEqual(clusterView(sim, 'Pod'));
      expect(r.log.every((line) => line.startsWith('added '))).toBe(true);
      expect(r.synced).toEqual([false]);
    }

    await relabel(gateway, 1);
    await gateway.objects('Pod').delete({ namespace: 'api', name: SHOP_PODS.payments });
    await waitFor('both changes everywhere', () => a.log.length === b.log.length && a.state.size === sim.list('Pod').length && a.log.at(-1)?.startsWith('deleted') === true);
    expect(a.log).toEqual(b.log);
    expect(a.log.slice(-2)).toEqual([`modified db/${SHOP_PODS.postgres}`, `deleted api/${SHOP_PODS.payments}`]);

    // One joining later gets the objects as they are now, from memory: no list, no stream.
    const c = new Recorder();
    await track(gateway.watch('Pod', c.handle, c.opts)).synced;
    expect(c.view()).toEqual(clusterView(sim, 'Pod'));
    expect(c.synced).toEqual([false]);
    expect(lists(sim, 'pods')).toBe(1);
    expect(sim.openWatches()).toBe(1);
    expect(wa.stats).toBe(wb.stats);
    expect(wa.resourceVersion()).toBe(sim.resourceVersion());
  });

  it('keeps the stream while anyone subscribes, ends it with the last, and lists afresh after', async () => {
    const { sim, gateway } = await cluster();
    const [a, b] = [new Recorder(), new Recorder()];
    const wa = gateway.watch('Namespace', a.handle, a.opts);
    const wb = gateway.watch('Namespace', b.handle, b.opts);
    await Promise.all([wa.synced, wb.synced]);
    await wa.stop();
    await gateway.objects('Namespace').mergePatch({ name: 'db' }, { metadata: { labels: { after: 'stop' } } });
    await waitFor('the change for b', () => b.log.includes('modified /db'));
    expect(a.log).not.toContain('modified /db');
    expect(sim.openWatches()).toBe(1);
    await wb.stop();
    await waitFor('the stream to close', () => sim.openWatches() === 0);

    sim.clearRequests();
    const c = new Recorder();
    await track(gateway.watch('Namespace', c.handle, c.opts)).synced;
    expect(lists(sim, 'namespaces')).toBe(1);
    expect(c.view()).toEqual(clusterView(sim, 'Namespace'));
  });

  it('does not share watches that filter, or that run their streams differently', async () => {
    const { sim, gateway } = await cluster();
    sim.clearRequests();
    const whole = track(gateway.watch('Pod', () => undefined));
    const inDb = track(gateway.watch('Pod', () => undefined, { namespace: 'db' }));
    const labelled = track(gateway.watch('Pod', () => undefined, { labelSelector: 'app=orders' }));
    const quicker = track(gateway.watch('Pod', () => undefined, { backoff: { initialMs: 5, maxMs: 20 } }));
    const sameAsWhole = track(gateway.watch('Pod', () => undefined, { bookmarks: true, timeoutSeconds: 300 }));
    await Promise.all([whole, inDb, labelled, quicker, sameAsWhole].map((w) => w.synced));
    expect(lists(sim, 'pods')).toBe(4);
    await waitFor('four streams', () => sim.openWatches() === 4);
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.openWatches()).toBe(4);
  });

  it('gives each subscriber its own queue: a stuck handler holds up no one else and later gets everything in order', async () => {
    const { gateway } = await cluster();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow = new Recorder();
    const fast = new Recorder();
    const ws = track(gateway.watch('Pod', async (e) => {
      await gate;
      slow.handle(e);
    }, slow.opts));
    const wf = track(gateway.watch('Pod', fast.handle, fast.opts));
    await wf.synced;
    for (let i = 0; i < 5; i++) await relabel(gateway, i);
    await waitFor('the fast subscriber', () => fast.log.filter((l) => l.startsWith('modified')).length === 5);
    expect(slow.log).toEqual([]);
    release();
    await ws.synced;
    await waitFor('the slow subscriber', () => slow.log.length === fast.log.length);
    expect(slow.log).toEqual(fast.log);
  });

  it("reports a subscriber's own handler error to it alone, and the watch's trouble to all", async () => {
    const { sim, gateway } = await cluster();
    const [a, b] = [new Recorder(), new Recorder()];
    let calls = 0;
    await track(gateway.watch('Namespace', (e) => {
      if (++calls === 2) throw new Error('handler broke');
      a.handle(e);
    }, { ...a.opts, backoff: { initialMs: 10, maxMs: 20 } })).synced;
    await track(gateway.watch('Namespace', b.handle, { ...b.opts, backoff: { initialMs: 10, maxMs: 20 } })).synced;
    expect(a.errors).toEqual(['handler broke']);
    expect(b.errors).toEqual([]);
    expect(b.state.size).toBe(a.state.size + 1);

    const lift = sim.deny({ user: BOT, verb: 'watch', resource: 'namespaces' });
    sim.cutWatches();
    await waitFor('trouble for both', () => a.errors.length > 1 && b.errors.length > 0);
    expect(b.errors[0]).toMatch(/lacks verb "watch" on resource "namespaces"/);
    lift();
  });

  it('lists again for a subscriber that joins a watch in trouble, as a watch of its own would', async () => {
    const { sim, gateway } = await cluster();
    const a = new Recorder();
    await track(gateway.watch('Pod', a.handle, { ...a.opts, backoff: { initialMs: 10, maxMs: 5000 } })).synced;
    // The stream is refused, so the watch falls behind and backs off.
    const lift = sim.deny({ user: BOT, verb: 'watch', resource: 'pods' });
    sim.cutWatches();
    await waitFor('trouble', () => a.errors.length > 0);
    await relabel(gateway, 7);
    lift();
    sim.clearRequests();

    const b = new Recorder();
    const wb = track(gateway.watch('Pod', b.handle, { ...b.opts, backoff: { initialMs: 10, maxMs: 5000 } }));
    await wb.synced;
    expect(lists(sim, 'pods')).toBe(1);
    // It is given the cluster as listed now, the change made while the stream was refused included.
    expect(b.view()).toEqual(clusterView(sim, 'Pod'));
    expect(b.synced).toEqual([false]);
    // The one already there learns the difference from the same list, and that it was a relist.
    await waitFor('the relist for a', () => a.synced.length === 2);
    expect(a.synced).toEqual([false, true]);
    expect(a.log.at(-1)).toBe(`modified db/${SHOP_PODS.postgres}`);
    expect(a.view()).toEqual(clusterView(sim, 'Pod'));

    // In sync again: the next subscriber is served from memory.
    sim.clearRequests();
    await track(gateway.watch('Pod', () => undefined, { backoff: { initialMs: 10, maxMs: 5000 } })).synced;
    expect(lists(sim, 'pods')).toBe(0);
  });

  it('a stopped subscriber still handles what it was given, and gets nothing after', async () => {
    const { gateway } = await cluster();
    const handled: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const other = new Recorder();
    track(gateway.watch('Pod', other.handle, other.opts));
    const w = gateway.watch('Pod', async (e) => {
      await gate;
      handled.push(e.type);
    });
    await waitFor('the list', () => other.synced.length === 1);
    const stopping = w.stop();
    release();
    await stopping;
    const given = handled.length;
    expect(given).toBe(other.log.length);
    await relabel(gateway, 1);
    await waitFor('the change elsewhere', () => other.log.at(-1)?.startsWith('modified') === true);
    expect(handled).toHaveLength(given);
  });
});

describe('KindWatch.relist', () => {
  it('lists again at once, delivers the difference, then onSynced with relist true', async () => {
    const { sim, gateway } = await cluster();
    const rec = new Recorder();
    const w = track(gateway.watch('Pod', rec.handle, { ...rec.opts, namespace: 'db' }));
    await w.synced;
    const before = rec.log.length;
    w.relist();
    await waitFor('the relist', () => rec.synced.length === 2);
    expect(rec.synced).toEqual([false, true]);
    expect(rec.log).toHaveLength(before);
    expect(w.stats.lists).toBe(2);
    await relabel(gateway, 3);
    await waitFor('the stream after it', () => rec.log.length === before + 1);
    expect(rec.view()).toEqual(sim.list('Pod', 'db').map((o) => `db/${o.metadata?.name}@${o.metadata?.resourceVersion}`).sort());
  });
});
