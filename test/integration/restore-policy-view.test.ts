// The restore's watched policy view against the simulated API server (HTTPS on loopback): the
// same policies a list returns, kept up to date by the watches, one list in all however many
// steps ask; a cluster that refuses to be watched, or a view gone idle, falls back or restarts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readPolicies, servedKinds } from '../../src/containment/snapshot.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { LivePolicyView, type PolicyLists } from '../../src/restore/policy-view.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';

let sim: KubeApiSim;
let gateway: KubeGateway;
let dir: string;
let view: LivePolicyView | undefined;

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

describe('LivePolicyView', () => {
  it('serves what a list returns, follows changes, and lists only once for many steps', async () => {
    view = new LivePolicyView(gateway);
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
      view = new LivePolicyView(gateway, { syncTimeoutMs: 2000 });
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
    view = new LivePolicyView(gateway, { idleMs: 1000, clock: () => now });
    const first = names(await view.policies());
    await view.stop();
    now = 10_000;
    expect(names(await view.policies())).toEqual(first);
  });
});
