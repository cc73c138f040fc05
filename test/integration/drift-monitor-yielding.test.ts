// The drift monitor over 10k policies (simulated API server over HTTPS, a real Git repository,
// real Redis): its evaluation finds the one drift, and its comparison runs in chunks with the
// event loop turning between them (a setImmediate probe runs at every pause), so the roles
// sharing its process are not held up for the whole comparison.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { COMPARE_CHUNK } from '../../src/drift/compare.js';
import { DRIFT_DEFAULTS } from '../../src/drift/config-schema.js';
import type { DriftEpisode } from '../../src/drift/episode.js';
import { DriftMonitor } from '../../src/drift/monitor.js';
import { DriftStore } from '../../src/drift/store.js';
import { gitSchema } from '../../src/git/config-schema.js';
import { PolicyRepositories } from '../../src/git/repositories.js';
import { createKubeGateway, loadKubeConfig } from '../../src/kube/index.js';
import { silentLogger } from '../../src/log.js';
import { createBareRepository, writeHistory } from '../../src/sim/git-remote.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

type Obj = Record<string, unknown>;

const POLICIES = 10_000;
let dir: string;
let kube: KubeApiSim;
let git: PolicyRepositories;
const redis = testRedis();

// 10k policies over 100 namespaces; the pods are left out (the comparison is about policies).
const policies = (syntheticCluster({ pods: 10_000, policiesPerPod: 1, openNamespaces: 0, seed: 5 }) as Obj[]).filter((o) => o.kind === 'NetworkPolicy').slice(0, POLICIES);
const namespaces = [...new Set(policies.map((p) => String((p.metadata as Obj).namespace)))];
const edited = policies[4242] as Obj;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drift-yielding-'));
  kube = await startKubeApiServer({});
  // The cluster: every policy as Git has it, but one with its ingress opened to everything.
  const live = policies.map((p) => (p === edited ? { ...p, spec: { ...(p.spec as Obj), ingress: [{}] } } : p));
  kube.seed([...namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })), ...live]);
  const remote = join(dir, 'policies.git');
  await createBareRepository(remote);
  const files: Record<string, string> = {};
  for (let k = 0; k * 100 < policies.length; k++) files[`policies/part-${k}.yaml`] = policies.slice(k * 100, (k + 1) * 100).map((p) => stringify(p)).join('---\n');
  await writeHistory(remote, [{ author: { name: 'Erin', email: 'erin@shop.example' }, time: '2026-03-01T09:00:00Z', message: 'policies', files }]);
  git = new PolicyRepositories(gitSchema.parse({ dir: join(dir, 'clones'), repositories: [{ name: 'policies', url: `file://${remote}`, paths: ['policies'] }] }));
  const synced = await git.list[0]?.sync();
  if (!synced?.ok) throw new Error(`clone failed: ${synced?.error}`);
}, 120_000);

afterAll(async () => {
  await kube?.close();
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

it('evaluates 10k policies in chunks, the event loop turning at every pause, and finds the one drift', async () => {
  const prefix = uniquePrefix('drift-yield');
  const alerted: DriftEpisode[] = [];
  let turns = 0;
  let probing = true;
  const probe = (): void => {
    if (!probing) return;
    turns++;
    setImmediate(probe);
  };
  const turnsAtPauses: number[] = [];
  const monitor = new DriftMonitor({
    config: DRIFT_DEFAULTS,
    gateway: createKubeGateway(loadKubeConfig({ kubeconfigPath: kube.writeKubeconfig(dir) })),
    git,
    store: new DriftStore(redis, prefix),
    fieldManager: 'netpol-responder',
    argocdNamespace: 'argocd',
    alert: async (episode) => {
      alerted.push(episode);
    },
    isActive: () => true,
    logger: silentLogger,
    // The default pause (the next turn), with a note of how far the probe had got.
    pause: async () => {
      turnsAtPauses.push(turns);
      await nextTurn();
    },
  });
  setImmediate(probe);
  const summary = await monitor.evaluate();
  probing = false;
  await monitor.stop();

  expect(summary).toMatchObject({ compared: POLICIES, drifted: 1, problems: [] });
  const key = `NetworkPolicy ${String((edited.metadata as Obj).namespace)}/${String((edited.metadata as Obj).name)}`;
  expect(alerted).toHaveLength(1);
  expect(alerted[0]?.objects.map((o) => [o.key, o.status])).toEqual([[key, 'modified']]);

  // Desired, live and compared keys each in chunks of COMPARE_CHUNK: a pause after every one.
  expect(turnsAtPauses.length).toBeGreaterThanOrEqual(3 * Math.floor(POLICIES / COMPARE_CHUNK));
  // The probe got a turn between every two pauses: no chunk ran into the next without the event loop in between.
  const between = turnsAtPauses.slice(1).map((t, i) => t - (turnsAtPauses[i] as number));
  expect(between.filter((n) => n < 1)).toEqual([]);
}, 180_000);
