// The web role's namespace names against the simulated API server (HTTPS on loopback): what the
// watch has seen answers at once, anything else (not yet synced, never seen, a refused watch, a
// hostile name) is left to the API; creations and deletions arrive through the watch.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { NamespaceNames } from '../../src/kube/namespace-names.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';

let sim: KubeApiSim;
let gateway: KubeGateway;
let dir: string;
let names: NamespaceNames | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'namespace-names-'));
  sim = await startKubeApiServer({});
  sim.seed(shopObjects());
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) }));
});
afterEach(async () => {
  await names?.stop();
  names = undefined;
  sim.clearDenials();
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function eventually(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('NamespaceNames', () => {
  it('answers for the namespaces its watch has seen, never a guess, and follows creations and deletions', async () => {
    sim.clearRequests();
    names = new NamespaceNames(gateway);
    expect(names.has('api')).toBeUndefined();
    expect(sim.requests.some((r) => r.resource === 'namespaces')).toBe(false);
    names.start();
    expect(await names.inSync(5000)).toBe(true);
    expect(names.has('api')).toBe(true);
    for (const name of ['db', 'frontend', 'kube-system']) expect(names.has(name)).toBe(true);
    for (const name of ['no-such-namespace', '', 'api/x', '/api', '__proto__', 'constructor', 'x'.repeat(10_000)]) expect(names.has(name)).toBeUndefined();
    // One list and one watch, however many questions.
    const before = sim.requests.length;
    for (let i = 0; i < 100; i++) names.has('api');
    expect(sim.requests.length).toBe(before);
    await gateway.objects('Namespace').apply({ metadata: { name: 'late-namespace' } }, { fieldManager: 'test' });
    await eventually('the new namespace', () => names!.has('late-namespace') === true);
    await gateway.objects('Namespace').delete({ name: 'late-namespace' });
    await eventually('the deleted namespace to go', () => names!.has('late-namespace') === undefined);
    await names.stop();
    expect(names.has('api')).toBeUndefined();
  });

  it('a watch that failed is dropped: the API is asked until a fresh one is in sync', async () => {
    names = new NamespaceNames(gateway);
    names.start();
    await eventually('the first list', () => names!.has('api') === true);
    const lift = sim.deny({ verb: 'watch', resource: 'namespaces' });
    const mark = sim.requests.length;
    try {
      // Cut until the error reaches it (the first cut may come before the stream is open).
      await eventually('the cut to reach it', () => sim.cutWatches() >= 0 && names!.has('api') === undefined);
      // Each question starts a fresh watch; its stream is refused too, and it goes on asking the API.
      await eventually('a fresh watch refused', () => sim.requests.slice(mark).some((r) => r.verb === 'watch' && r.resource === 'namespaces' && r.status === 403));
      await new Promise((r) => setTimeout(r, 100));
      expect(names.has('api')).toBeUndefined();
    } finally {
      lift();
    }
    // The next question started a fresh watch: its list makes it current again.
    await gateway.objects('Namespace').apply({ metadata: { name: 'after-the-cut' } }, { fieldManager: 'test' });
    await eventually('a fresh watch in sync', () => names!.has('after-the-cut') === true);
    expect(names.has('api')).toBe(true);
    await gateway.objects('Namespace').delete({ name: 'after-the-cut' });
  });

  it('a refused watch never answers: the caller asks the API', async () => {
    const lift = sim.deny({ verb: 'list', resource: 'namespaces' });
    try {
      names = new NamespaceNames(gateway);
      names.start();
      expect(await names.inSync(200)).toBe(false);
      await eventually('the refused list', () => sim.requests.some((r) => r.resource === 'namespaces' && r.status === 403));
      expect(names.has('api')).toBeUndefined();
    } finally {
      lift();
    }
    // Once allowed, the next question starts a fresh watch, whose list gets it in sync.
    await eventually('the watch to recover', () => names!.has('api') === true);
  });
});
