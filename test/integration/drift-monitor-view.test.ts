// The drift monitor reading the watched view (simulated API server over HTTPS, a real Git
// repository, real Redis): an evaluation lists nothing (the view's watches keep the cluster), a
// change the view sees schedules an evaluation by itself (no journal needed), and a stopped
// monitor no longer listens.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DRIFT_DEFAULTS } from '../../src/drift/config-schema.js';
import type { DriftEpisode } from '../../src/drift/episode.js';
import { DriftMonitor, type DriftMonitorOptions } from '../../src/drift/monitor.js';
import { DriftStore } from '../../src/drift/store.js';
import { gitSchema } from '../../src/git/config-schema.js';
import { PolicyRepositories } from '../../src/git/repositories.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { silentLogger } from '../../src/log.js';
import { LiveClusterView } from '../../src/restore/cluster-view.js';
import { createBareRepository, writeHistory } from '../../src/sim/git-remote.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

type Obj = Record<string, unknown>;

let dir: string;
let kube: KubeApiSim;
let gateway: KubeGateway;
let git: PolicyRepositories;
const redis = testRedis();

const policies = (syntheticCluster({ pods: 300, policiesPerPod: 1, openNamespaces: 0, seed: 7 }) as Obj[]).filter((o) => o.kind === 'NetworkPolicy');
const namespaces = [...new Set(policies.map((p) => String((p.metadata as Obj).namespace)))];
const ref = (p: Obj) => ({ namespace: String((p.metadata as Obj).namespace), name: String((p.metadata as Obj).name) });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drift-view-'));
  kube = await startKubeApiServer({});
  kube.seed([...namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })), ...policies]);
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: kube.writeKubeconfig(dir) }));
  const remote = join(dir, 'policies.git');
  await createBareRepository(remote);
  await writeHistory(remote, [{ author: { name: 'Erin', email: 'erin@shop.example' }, time: '2026-03-01T09:00:00Z', message: 'policies', files: { 'policies/all.yaml': policies.map((p) => stringify(p)).join('---\n') } }]);
  git = new PolicyRepositories(gitSchema.parse({ dir: join(dir, 'clones'), repositories: [{ name: 'policies', url: `file://${remote}`, paths: ['policies'] }] }));
  const synced = await git.list[0]?.sync();
  if (!synced?.ok) throw new Error(`clone failed: ${synced?.error}`);
}, 60_000);

afterAll(async () => {
  await kube?.close();
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

const policyLists = () => kube.requests.filter((r) => r.verb === 'list' && r.resource === 'networkpolicies').length;

/** A monitor reading `view`, quick to evaluate after a change, its alerts collected. */
function monitorOn(view: LiveClusterView, extra: Partial<DriftMonitorOptions> = {}): { monitor: DriftMonitor; alerted: DriftEpisode[] } {
  const alerted: DriftEpisode[] = [];
  const monitor = new DriftMonitor({
    config: { ...DRIFT_DEFAULTS, debounce: 100, maxDelay: 300 },
    gateway,
    git,
    store: new DriftStore(redis, uniquePrefix('drift-view')),
    fieldManager: 'netpol-responder',
    argocdNamespace: 'argocd',
    alert: async (episode) => void alerted.push(episode),
    isActive: () => true,
    logger: silentLogger,
    view,
    ...extra,
  });
  return { monitor, alerted };
}

it('evaluates on the view without listing, is woken by a change only the view saw, and stops listening when stopped', async () => {
  const view = new LiveClusterView(gateway);
  const { monitor, alerted } = monitorOn(view);
  try {
    expect(await monitor.evaluate()).toMatchObject({ compared: policies.length, drifted: 0 });
    // The view's own first list; every later evaluation reads the view.
    const listed = policyLists();
    expect(listed).toBe(1);
    monitor.start();

    // Edited behind the bot's back, with nothing telling the monitor (no journal here): the view's watch does.
    const first = policies[17] as Obj;
    await gateway.objects('NetworkPolicy').mergePatch(ref(first), { spec: { ingress: [{}] } });
    await expect.poll(() => alerted.length, { timeout: 10_000 }).toBe(1);
    expect(alerted[0]?.objects.map((o) => [o.key, o.status])).toEqual([[`NetworkPolicy ${ref(first).namespace}/${ref(first).name}`, 'modified']]);
    expect(await monitor.evaluate()).toMatchObject({ compared: policies.length, drifted: 1 });
    expect(policyLists()).toBe(listed);

    // Stopped: a change no longer schedules anything.
    await monitor.stop();
    await gateway.objects('NetworkPolicy').mergePatch(ref(policies[42] as Obj), { spec: { ingress: [{}] } });
    await new Promise((r) => setTimeout(r, 1500));
    expect(alerted).toHaveLength(1);
  } finally {
    await monitor.stop();
    await view.stop();
  }
}, 60_000);

it('waits for urgent work before a due evaluation, and at most urgentDeferMs', async () => {
  const view = new LiveClusterView(gateway);
  let busy = true;
  const { monitor, alerted } = monitorOn(view, { urgentBusy: () => busy, urgentDeferMs: 2500 });
  try {
    await view.policies();
    monitor.start();
    // Busy: the change's evaluation waits; once the urgent work ends it runs.
    const changed = policies[100] as Obj;
    await gateway.objects('NetworkPolicy').mergePatch(ref(changed), { metadata: { labels: { edited: 'one' } } });
    await new Promise((r) => setTimeout(r, 1000));
    expect(alerted).toHaveLength(0);
    busy = false;
    await expect.poll(() => alerted.length, { timeout: 5000 }).toBe(1);

    // Busy without end: it waits urgentDeferMs, then runs anyway.
    busy = true;
    const started = Date.now();
    await gateway.objects('NetworkPolicy').mergePatch(ref(policies[101] as Obj), { metadata: { labels: { edited: 'two' } } });
    await expect.poll(() => alerted.length, { timeout: 10_000 }).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2400);
  } finally {
    await monitor.stop();
    await view.stop();
  }
}, 60_000);

