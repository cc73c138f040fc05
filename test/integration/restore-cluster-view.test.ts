// The restore's watched cluster view against the simulated API server (HTTPS on loopback): the
// same namespaces, pods and policies a list returns, kept up to date by the watches, one list in
// all however many steps ask, the same list objects while nothing changed; a cluster that refuses
// to be watched, or a view gone idle, falls back to listing or restarts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readPolicies, readWorkloads, servedKinds } from '../../src/containment/snapshot.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { LiveClusterView, type PolicyLists } from '../../src/restore/cluster-view.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';

let sim: KubeApiSim;
let gateway: KubeGateway;
let dir: string;
let view: LiveClusterView | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'policy-view-'));
  sim = await startKubeApiServer({ cluster: { cni: 'cilium', adminNetworkPolicy: true } });
  sim.seed(shopObjects());
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) }));
});
afterEach(async () => {
  await view?.stop();
  view = undefined;
  sim.clearDenials();
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const names = (lists: PolicyLists): Record<string, string[]> =>
  Object.fromEntries(Object.entries(lists).map(([k, v]) => [k, ((v ?? []) as Array<{ metadata: { namespace?: string; name: string } }>).map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort()]));

async function eventually(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function listRequests(): number {
  return sim.requests.filter((r) => r.method === 'GET' && r.verb === 'list' && /policies/.test(r.resource ?? '')).length;
}

describe('LiveClusterView', () => {
  it('namespaces and pods: what a list returns, the same lists until a pod changes', async () => {
    view = new LiveClusterView(gateway);
    const first = await view.workloads();
    const listed = await readWorkloads(gateway);
    const podNames = (w: { pods?: readonly unknown[] }): string[] => names({ networkPolicies: w.pods } as PolicyLists).networkPolicies ?? [];
    expect(podNames(first)).toEqual(podNames(listed));
    expect(first.namespaces?.length).toBe(listed.namespaces?.length);
    const policies = await view.policies();
    expect(await view.workloads()).toBe(first);
    expect(await view.policies()).toBe(policies);
    const rolled = sim.rollPods('api', 'app=orders');
    expect(rolled.added.length).toBeGreaterThan(0);
    await eventually('the view to see the new pods', async () => (await view!.workloads()) !== first && podNames(await view!.workloads()).join() === podNames(await readWorkloads(gateway)).join());
    // Policies did not change: still the same lists.
    expect(await view.policies()).toBe(policies);
  });

  it('serves what a list returns, follows changes, and lists only once for many steps', async () => {
    view = new LiveClusterView(gateway);
    const listed = await readPolicies(gateway, servedKinds(await gateway.discoverKinds()));
    expect(names(await view.policies())).toEqual(names(listed));
    sim.clearRequests();
    const nps = gateway.objects('NetworkPolicy');
    await nps.apply({ metadata: { name: 'view-new', namespace: 'db' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }, { fieldManager: 'test' });
    await nps.delete({ namespace: 'db', name: 'default-deny-all' });
    await eventually('the view to follow', async () => {
      const now = names(await view!.policies()).networkPolicies ?? [];
      return now.includes('db/view-new') && !now.includes('db/default-deny-all');
    });
    for (let i = 0; i < 5; i++) await view.policies();
    expect(listRequests()).toBe(0);
    expect(names(await view.policies())).toEqual(names(await readPolicies(gateway, servedKinds(await gateway.discoverKinds()))));
  });

  it('a cluster that forbids watching: each call lists instead, with the same answer', async () => {
    const lift = sim.deny({ verb: 'watch', resource: 'networkpolicies' });
    try {
      view = new LiveClusterView(gateway, { syncTimeoutMs: 2000 });
      expect(names(await view.policies())).toEqual(names(await readPolicies(gateway, servedKinds(await gateway.discoverKinds()))));
      // A change the forbidden watch cannot deliver is still seen: every call lists afresh.
      await gateway.objects('NetworkPolicy').apply({ metadata: { name: 'unwatched', namespace: 'db' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }, { fieldManager: 'test' });
      await eventually('the watch to fail', async () => sim.requests.some((r) => r.verb === 'watch' && r.status === 403));
      expect(names(await view.policies()).networkPolicies).toContain('db/unwatched');
      expect(names(await view.policies())).toEqual(names(await readPolicies(gateway, servedKinds(await gateway.discoverKinds()))));
    } finally {
      lift();
    }
  });

  it('stopped (or idle), it starts again on the next call', async () => {
    let now = 0;
    view = new LiveClusterView(gateway, { idleMs: 1000, clock: () => now });
    const first = names(await view.policies());
    await view.stop();
    now = 10_000;
    expect(names(await view.policies())).toEqual(first);
  });
});
