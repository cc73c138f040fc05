// The containment guard on the simulated cluster with a real Redis: pods that join the scope are
// labelled within 2 s, a reverted or new policy is excluded again, our deleted deny-all comes back,
// every repair is reported with a fresh proof, a lifted containment is left alone, and only one
// guard acts at a time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { designContainment } from '../../src/containment/design.js';
import { hasExclusion, QUARANTINE_LABEL } from '../../src/containment/exclusion.js';
import { applyPlan, liftContainment, type ContainmentDeps } from '../../src/containment/execute.js';
import { ContainmentGuard } from '../../src/containment/guard.js';
import { ContainmentLedger } from '../../src/containment/ledger.js';
import { policyFingerprint, scopeConnectivity } from '../../src/containment/proof.js';
import { readLiveObjects } from '../../src/containment/snapshot.js';
import { LiveClusterView } from '../../src/restore/cluster-view.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import type { TimelineEvent } from '../../src/timeline/types.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

const SERVED = { adminNetworkPolicy: false, ciliumNetworkPolicy: false };
const SCOPE = { namespace: 'api', labelSelector: { matchLabels: { app: 'orders' } } };
const DNS = { keep: true, namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };
const ID = '20261201-guard1';

let sim: KubeApiSim;
let dir: string;
let gateway: KubeGateway;
let redis: Redis;
let deps: ContainmentDeps;
let prefix: string;
let view: LiveClusterView;
const reported: Array<{ id: string; events: TimelineEvent[] }> = [];
const guards: ContainmentGuard[] = [];
/** What the guards logged at warn and above, one parsed line each. */
const logged: Array<{ level: number; msg: string; incident?: string }> = [];
const logger = createLogger({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as (typeof logged)[number]) });

function guard(): ContainmentGuard {
  const g = new ContainmentGuard({ gateway, deps, redis: testRedis(), keyPrefix: prefix, report: async (id, events) => void reported.push({ id, events }), logger, refreshMs: 100, view });
  guards.push(g);
  return g;
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const summaries = () => reported.flatMap((r) => r.events.map((e) => e.summary));
const labels = (name: string) => (sim.get('Pod', 'api', name) as { metadata: { labels: Record<string, string> } } | undefined)?.metadata.labels ?? {};
const policy = (name: string) => sim.get('NetworkPolicy', 'api', name) as { metadata: { resourceVersion: string }; spec: { podSelector: unknown } } | undefined;

beforeAll(async () => {
  sim = await startKubeApiServer();
  sim.seed(shopObjects());
  dir = mkdtempSync(join(tmpdir(), 'netpol-guard-'));
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) }));
  redis = testRedis();
  view = new LiveClusterView(gateway);
  prefix = uniquePrefix('guard');
  const ledger = new ContainmentLedger(redis, prefix);
  deps = { objects: gateway.objects.bind(gateway), ledger, fieldManager: 'netpol-responder', retries: 2, retryDelayMs: 5, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), argocdSkipReconcile: false, argocdNamespace: 'argocd', log: silentLogger };
  const live = await readLiveObjects(gateway, SERVED);
  const plan = designContainment({ strategy: 'networkpolicy-exclusive', reason: 'test', target: { incidentId: ID, ...SCOPE, dns: DNS, approvers: [] }, anpPriority: 0, live });
  await applyPlan(deps, { incidentId: ID, strategy: plan.strategy, ...SCOPE, startedAt: new Date().toISOString(), dns: DNS, exclusion: 'all-selecting', baseline: { connectivity: scopeConnectivity(live, SCOPE), fingerprint: policyFingerprint(live) } }, plan);
});

afterAll(async () => {
  for (const g of guards) await g.stop();
  await view.stop();
  redis.disconnect();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('containment guard', () => {
  it('only one guard is active at a time', async () => {
    const a = guard();
    const b = guard();
    await a.start();
    await b.start();
    await until('a guard to be active', () => a.isActive || b.isActive);
    expect([a.isActive, b.isActive].filter(Boolean)).toHaveLength(1);
  });

  it('names a containment record it cannot read, once, and goes on guarding the others', async () => {
    const damaged = '20261201-damaged';
    await redis.hset(deps.ledger.key(damaged), 'meta', '{"incidentId": "20261201-damaged", "namespace": ');
    await deps.ledger.activate(damaged);
    await until('the error naming it', () => logged.find((l) => l.incident === damaged));
    await new Promise((r) => setTimeout(r, 300));
    const lines = logged.filter((l) => l.incident === damaged);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toMatch(/^containment guard: the containment record of 20261201-damaged cannot be read: .*JSON.*; the guard cannot enforce it until the record is mended$/);
    expect(logged.filter((l) => /reading active containments failed/.test(l.msg))).toEqual([]);
    // The next tests show the other containment still enforced.
  });

  it('labels pods that join the scope (a rollout) within 2 s, and reports it with a fresh proof', async () => {
    const rolled = sim.rollPods('api', 'app=orders');
    const started = Date.now();
    const names = rolled.added.map((p) => (p as { metadata: { name: string } }).metadata.name);
    await until('the new pods to be labelled', () => names.every((n) => labels(n)[QUARANTINE_LABEL] === ID), 2000);
    const took = Date.now() - started;
    expect(took).toBeLessThan(2000);
    await until('the report', () => summaries().some((s) => s.startsWith(`Pod \`${names[0]}\` joined the scope`)));
    expect(summaries()).toContain('Proven again by the engine: nothing but DNS to kube-dns is open');
  });

  it('excludes again a policy a controller reverted', async () => {
    const before = policy('allow-api-from-frontend')!;
    expect(hasExclusion(before.spec.podSelector)).toBe(true);
    const current = (await gateway.objects('NetworkPolicy').get({ namespace: 'api', name: 'allow-api-from-frontend' }))!;
    const mark = sim.requests.length;
    const proofs = summaries().filter((s) => s.startsWith('Proven again')).length;
    await gateway.objects('NetworkPolicy').replace({ ...current, spec: { ...current.spec!, podSelector: { matchLabels: { tier: 'api' } } } }, { fieldManager: 'kustomize-controller' });
    await until('the exclusion to be back', () => hasExclusion(policy('allow-api-from-frontend')?.spec.podSelector));
    await until('the report', () => summaries().some((s) => /^`allow-api-from-frontend` lost its exclusion( \(changed by kustomize-controller\))?: excluded again$/.test(s)));
    await until('its proof', () => summaries().filter((s) => s.startsWith('Proven again')).length > proofs);
    // The proof read the scope's namespace, and every other one from the watched view: no list of the whole cluster.
    const clusterWide = sim.requests.slice(mark).filter((r) => r.method === 'GET' && r.namespace === undefined && (r.resource === 'pods' || r.resource === 'networkpolicies') && r.query.watch === undefined);
    expect(clusterWide).toEqual([]);
    expect(sim.requests.slice(mark).some((r) => r.method === 'GET' && r.namespace === 'api' && r.resource === 'pods')).toBe(true);
  });

  it('excludes a new policy that selects the scope, and re-applies our deleted deny-all', async () => {
    await gateway.objects('NetworkPolicy').create({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-everything', namespace: 'api' },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{}], egress: [{}] },
    });
    await until('the new policy to be excluded', () => hasExclusion(policy('allow-everything')?.spec.podSelector));
    await gateway.objects('NetworkPolicy').delete({ namespace: 'api', name: `netpol-responder-quarantine-${ID}` });
    await until('our deny-all to be back', () => policy(`netpol-responder-quarantine-${ID}`));
    await until('the reports', () => summaries().some((s) => s.startsWith('New policy `allow-everything` selects the scope')) && summaries().some((s) => s === `NetworkPolicy \`netpol-responder-quarantine-${ID}\` was deleted during containment: applied again`));
  });

  it('leaves a lifted containment alone, and the lift removes the exclusion from the new policy too', async () => {
    await liftContainment(deps, ID);
    await deps.ledger.markLifted(ID, new Date().toISOString());
    await new Promise((r) => setTimeout(r, 300));
    expect(policy(`netpol-responder-quarantine-${ID}`)).toBeUndefined();
    expect(hasExclusion(policy('allow-everything')?.spec.podSelector)).toBe(false);
    const count = reported.length;
    sim.rollPods('api', 'app=orders');
    await new Promise((r) => setTimeout(r, 500));
    expect(reported.length).toBe(count);
    const pods = sim.list('Pod', 'api') as Array<{ metadata: { labels: Record<string, string> } }>;
    expect(pods.filter((p) => QUARANTINE_LABEL in p.metadata.labels)).toEqual([]);
  });
});
