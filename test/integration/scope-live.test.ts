// What a containment's change and proof read (readScopeLive), against the simulated API server
// (HTTPS on loopback): the scope's namespace and the cluster-scoped objects fresh, every other
// namespace from the watched view. A stale view cannot hide a change in the scope's namespace;
// with a current view the engine's proof is the one full lists give.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { proveContainment } from '../../src/containment/proof.js';
import { readLiveObjects, readScopeLive, servedKinds, type WatchedObjects } from '../../src/containment/snapshot.js';
import type { ServedKinds } from '../../src/containment/strategy.js';
import { createKubeGateway, KubeApiError, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import type { LiveObjects } from '../../src/policy/index.js';
import { LiveClusterView } from '../../src/restore/cluster-view.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';

let sim: KubeApiSim;
let gateway: KubeGateway;
let served: ServedKinds;
let dir: string;
let view: LiveClusterView | undefined;

const DNS = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scope-live-'));
});
// A cluster of its own for each test: the tests change it.
beforeEach(async () => {
  sim = await startKubeApiServer({ cluster: { cni: 'cilium', adminNetworkPolicy: true } });
  sim.seed(shopObjects());
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) }));
  served = servedKinds(await gateway.discoverKinds());
});
afterEach(async () => {
  await view?.stop();
  view = undefined;
  await sim?.close();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

type Named = { metadata?: { namespace?: string; name?: string } };
const ids = (items: readonly unknown[] | undefined): string[] => ((items ?? []) as Array<Named | null>).map((o) => `${o?.metadata?.namespace ?? ''}/${o?.metadata?.name ?? ''}`).sort();

/** A view frozen at the moment it was taken: what a watch far behind would serve. */
async function frozenView(): Promise<WatchedObjects & { calls: number }> {
  const live = await readLiveObjects(gateway, served);
  const { namespaces, pods, ...policies } = live;
  const frozen = { calls: 0, workloads: async () => (frozen.calls++, { namespaces, pods }), policies: async () => (frozen.calls++, policies) };
  return frozen;
}

const denyAll = (name: string, namespace: string) => ({ metadata: { name, namespace }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] as Array<'Ingress' | 'Egress'> } });
const allowAll = (name: string, namespace: string) => ({ metadata: { name, namespace }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] as Array<'Ingress' | 'Egress'>, ingress: [{}], egress: [{}] } });

describe('readScopeLive', () => {
  it('without a view: the same as listing everything', async () => {
    const all = await readLiveObjects(gateway, served);
    const scoped = await readScopeLive(gateway, served, 'api');
    for (const list of Object.keys(all) as Array<keyof LiveObjects>) expect(ids(scoped[list])).toEqual(ids(all[list]));
  });

  it("reads the scope's namespace and the cluster-scoped objects fresh, other namespaces from the view", async () => {
    const stale = await frozenView();
    const nps = gateway.objects('NetworkPolicy');
    // After the view was taken: changes in the scope's namespace, in another, and cluster-wide.
    await nps.apply(denyAll('late-in-scope', 'api'), { fieldManager: 'test' });
    const inScope = ids((await nps.list({ namespace: 'api' })).items).find((id) => id !== 'api/late-in-scope');
    expect(inScope).toBeDefined();
    await nps.delete({ namespace: 'api', name: inScope!.split('/')[1]! });
    await nps.apply(denyAll('late-elsewhere', 'db'), { fieldManager: 'test' });
    await gateway.objects('Namespace').apply({ metadata: { name: 'late-namespace' } }, { fieldManager: 'test' });

    const live = await readScopeLive(gateway, served, 'api', stale);
    const policies = ids(live.networkPolicies);
    expect(policies).toContain('api/late-in-scope');
    expect(policies).not.toContain(inScope);
    // The far end, as fresh as the view: the stale view does not have it yet.
    expect(policies).not.toContain('db/late-elsewhere');
    expect(ids(live.namespaces)).toContain('/late-namespace');
    // Every namespace's objects are there, each once.
    const fresh = await readLiveObjects(gateway, served);
    expect(ids(live.pods)).toEqual(ids(fresh.pods));
    expect(new Set(policies).size).toBe(policies.length);
    expect(stale.calls).toBe(2);
  });

  it("several namespaces (a restore's): each read fresh, every other from the view; none named: everything listed", async () => {
    const stale = await frozenView();
    const nps = gateway.objects('NetworkPolicy');
    await nps.apply(denyAll('late-api', 'api'), { fieldManager: 'test' });
    await nps.apply(denyAll('late-db', 'db'), { fieldManager: 'test' });
    await nps.apply(denyAll('late-web', 'frontend'), { fieldManager: 'test' });
    const live = await readScopeLive(gateway, served, ['api', 'db', 'api'], stale);
    const policies = ids(live.networkPolicies);
    expect(policies).toEqual(expect.arrayContaining(['api/late-api', 'db/late-db']));
    expect(policies).not.toContain('frontend/late-web');
    expect(new Set(policies).size).toBe(policies.length);
    expect(ids(live.pods)).toEqual(ids((await readLiveObjects(gateway, served)).pods));
    const calls = stale.calls;
    // No namespace named: nothing to read fresh by namespace, so everything is listed (the view is not asked).
    expect(ids((await readScopeLive(gateway, served, [], stale)).networkPolicies)).toContain('frontend/late-web');
    expect(stale.calls).toBe(calls);
  });

  it("a stale view cannot make the proof say contained: the scope's own policies decide it", async () => {
    const nps = gateway.objects('NetworkPolicy');
    await nps.apply(denyAll('quarantine', 'api'), { fieldManager: 'test' });
    for (const p of (await nps.list({ namespace: 'api' })).items as Named[]) {
      if (p.metadata?.name !== 'quarantine') await nps.delete({ namespace: 'api', name: p.metadata!.name! });
    }
    const stale = await frozenView();
    expect(proveContainment(await readScopeLive(gateway, served, 'api', stale), { namespace: 'api' }, DNS).contained).toBe(true);
    // An allow-all lands in the scope after the view was taken: the proof sees it.
    await nps.apply(allowAll('opened-late', 'api'), { fieldManager: 'test' });
    const proof = proveContainment(await readScopeLive(gateway, served, 'api', stale), { namespace: 'api' }, DNS);
    expect(proof.contained).toBe(false);
    expect(proof.open.join('\n')).toContain('opened-late');
  });

  it('with the watched view in sync: the proof and the connectivity of full lists', async () => {
    view = new LiveClusterView(gateway);
    await gateway.objects('NetworkPolicy').apply(denyAll('quarantine', 'db'), { fieldManager: 'test' });
    const listed = await readLiveObjects(gateway, served);
    const expected = proveContainment(listed, { namespace: 'api' }, DNS);
    // The view follows the write within its watches' delay.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const viewed = ids((await view.policies()).networkPolicies);
      if (viewed.includes('db/quarantine')) break;
      if (Date.now() > deadline) throw new Error('the view did not follow');
      await new Promise((r) => setTimeout(r, 20));
    }
    const proof = proveContainment(await readScopeLive(gateway, served, 'api', view), { namespace: 'api' }, DNS);
    expect({ ...proof, open: [...proof.open].sort(), dns: [...proof.dns].sort() }).toEqual({ ...expected, open: [...expected.open].sort(), dns: [...expected.dns].sort() });
    expect(expected.openCount).toBeGreaterThan(0);
  });

  it('hostile view items (no metadata, null, another namespace named like the scope with spaces) stay out of the scope', async () => {
    const hostile: WatchedObjects = {
      workloads: async () => ({ namespaces: [], pods: [null, {}, { metadata: { namespace: 'api ', name: 'x' } }, { metadata: { namespace: 'api', name: 'ghost' } }] }),
      policies: async () => ({ networkPolicies: [null, { metadata: { namespace: 'api', name: 'ghost-policy' } }], ciliumNetworkPolicies: [] }),
    };
    const live = await readScopeLive(gateway, served, 'api', hostile);
    // The view's objects in the scope's namespace are replaced by the fresh ones.
    expect(ids(live.pods)).not.toContain('api/ghost');
    expect(ids(live.networkPolicies)).not.toContain('api/ghost-policy');
    expect(ids(live.pods)).toContain('api /x');
    // The engine reports what it cannot read and still proves.
    expect(() => proveContainment(live, { namespace: 'api' }, DNS)).not.toThrow();
  });

  it('a fresh read refused by the API: the error, not a proof from the view alone', async () => {
    view = new LiveClusterView(gateway);
    await view.policies();
    sim.deny({ verb: 'list', resource: 'pods', namespace: 'api' });
    await expect(readScopeLive(gateway, served, 'api', view)).rejects.toBeInstanceOf(KubeApiError);
  });
});
