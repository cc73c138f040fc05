// Applying and lifting each containment strategy on the simulated cluster (HTTPS, real kubeconfig)
// with the ledger in a real Redis: the live objects prove containment, the lift puts every object
// back as it was, an owner's edit during containment survives, and a crash part-way is finished
// by the re-run without patching anything twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { beforeContainment } from '../../src/containment/before.js';
import { designContainment } from '../../src/containment/design.js';
import { hasExclusion, QUARANTINE_LABEL } from '../../src/containment/exclusion.js';
import { applyPlan, liftContainment, type ContainmentDeps } from '../../src/containment/execute.js';
import { ARGOCD_SKIP_RECONCILE_ANNOTATION, FLUX_RECONCILE_ANNOTATION } from '../../src/containment/gitops.js';
import { ContainmentLedger, UnreadableRecord, type LedgerMeta } from '../../src/containment/ledger.js';
import type { QuarantineTarget } from '../../src/containment/objects.js';
import { policyFingerprint, proveContainment, scopeConnectivity } from '../../src/containment/proof.js';
import { readLiveObjects } from '../../src/containment/snapshot.js';
import type { StrategyName } from '../../src/containment/strategy.js';
import { createKubeGateway, KubeApiError, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { silentLogger } from '../../src/log.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { SHOP_ARGOCD, shopObjects } from '../../src/sim/scenarios/shop.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';
import { eventually } from '../helpers/serve-process.js';

const SERVED = { adminNetworkPolicy: true, ciliumNetworkPolicy: true };
const SCOPE = { namespace: 'db', labelSelector: { matchLabels: { app: 'postgres' } } };
const DNS = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };

const allowAllEgress = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-all-egress', namespace: 'db', labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } },
  spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] },
};
const allowWorld = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-world-to-postgres', namespace: 'db', annotations: { 'argocd.argoproj.io/tracking-id': `${SHOP_ARGOCD.application}:networking.k8s.io/NetworkPolicy:db/allow-world-to-postgres` } },
  spec: { podSelector: { matchLabels: { app: 'postgres' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] },
};

let sim: KubeApiSim;
let dir: string;
let gateway: KubeGateway;
let redis: Redis;
let counter = 0;

beforeAll(async () => {
  sim = await startKubeApiServer({ cluster: { cni: 'cilium', adminNetworkPolicy: true, argocd: true } });
  dir = mkdtempSync(join(tmpdir(), 'netpol-contain-'));
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) }));
  redis = testRedis();
});

afterAll(async () => {
  redis.disconnect();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

let incidentId: string;
let deps: ContainmentDeps;

beforeEach(() => {
  incidentId = `20261201-t${String(++counter).padStart(5, '0')}`;
  deps = {
    objects: gateway.objects.bind(gateway),
    ledger: new ContainmentLedger(redis, uniquePrefix('contain')),
    fieldManager: 'netpol-responder',
    retries: 3,
    retryDelayMs: 5,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    argocdSkipReconcile: true,
    argocdNamespace: SHOP_ARGOCD.namespace,
    log: silentLogger,
  };
});

afterEach(() => {
  sim.clearDenials();
  sim.clearFaults();
});

function target(): QuarantineTarget {
  return { incidentId, ...SCOPE, dns: { keep: true, ...DNS }, approvers: ['U0BOB'] };
}

type Snapshot = Record<string, unknown>;

/** A promise and its resolve (Promise.withResolvers comes with Node 22). */
function later<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Every NetworkPolicy's spec, labels and annotations, and every db pod's labels. */
function state(): Snapshot {
  const out: Snapshot = {};
  for (const p of sim.list('NetworkPolicy') as Array<{ metadata: { namespace: string; name: string; labels?: object; annotations?: object }; spec: unknown }>) {
    out[`np ${p.metadata.namespace}/${p.metadata.name}`] = { spec: p.spec, labels: p.metadata.labels ?? {}, annotations: p.metadata.annotations ?? {} };
  }
  for (const p of sim.list('Pod', 'db') as Array<{ metadata: { name: string; labels?: object } }>) out[`pod ${p.metadata.name}`] = p.metadata.labels ?? {};
  const app = sim.get('Application', SHOP_ARGOCD.namespace, SHOP_ARGOCD.application) as { metadata: { annotations?: object } } | undefined;
  out.application = app?.metadata.annotations ?? {};
  out.anps = sim.list('AdminNetworkPolicy').length;
  out.cnps = sim.list('CiliumNetworkPolicy').length;
  return out;
}

async function design(strategy: StrategyName) {
  const live = await readLiveObjects(gateway, SERVED);
  const plan = designContainment({ strategy, reason: 'test', target: target(), anpPriority: 1, live });
  const meta: LedgerMeta = { incidentId, strategy, ...SCOPE, startedAt: new Date().toISOString(), dns: { keep: true, ...DNS }, baseline: { connectivity: scopeConnectivity(live, SCOPE), fingerprint: policyFingerprint(live) } };
  return { live, plan, meta };
}

describe('containment on the simulated cluster', () => {
  beforeAll(() => {
    sim.seed([...shopObjects({ argocd: true }), allowAllEgress, allowWorld]);
  });

  it.each(['networkpolicy-exclusive', 'admin-network-policy', 'cilium'] as const)('%s: proven by the live objects, lifted back to exactly the prior objects', async (strategy) => {
    const before = state();
    const { live, plan, meta } = await design(strategy);
    const baseline = scopeConnectivity(live, SCOPE);
    const report = await applyPlan(deps, meta, plan);
    expect(report.created.length).toBeGreaterThan(0);

    const inForce = await readLiveObjects(gateway, SERVED);
    const contained = proveContainment(inForce, SCOPE, DNS);
    expect(contained.open).toEqual([]);
    expect(contained.contained).toBe(true);
    // The record takes the containment back out of the live objects: the state before it, as a
    // resumed step computes its baseline.
    const undone = beforeContainment(inForce, (await deps.ledger.load(incidentId))!);
    expect(scopeConnectivity(undone, SCOPE)).toEqual(baseline);
    expect(policyFingerprint(undone)).toBe(policyFingerprint(live));
    expect(scopeConnectivity(inForce, SCOPE)).not.toEqual(baseline);

    const lift = await liftContainment(deps, incidentId);
    const keys = (list: Array<{ kind: string; name: string }>) => list.map((k) => `${k.kind}/${k.name}`).sort();
    expect(keys(lift.deleted)).toEqual(keys(report.created));
    expect(state()).toEqual(before);
    const after = await readLiveObjects(gateway, SERVED);
    expect(scopeConnectivity(after, SCOPE)).toEqual(baseline);
    expect(policyFingerprint(after)).toBe(policyFingerprint(live));
  });

  it('exclusive: labels the pod, excludes every policy selecting it, suspends Flux and Argo CD while contained', async () => {
    const { plan, meta } = await design('networkpolicy-exclusive');
    const report = await applyPlan(deps, meta, plan);
    expect(report.labelled).toEqual(['postgres-0']);
    expect(report.exclusions.map((e) => e.outcome)).toEqual(report.exclusions.map(() => 'patched'));
    expect(report.applications).toEqual([`${SHOP_ARGOCD.namespace}/${SHOP_ARGOCD.application}`]);
    const egress = sim.get('NetworkPolicy', 'db', 'allow-all-egress') as { metadata: { annotations: Record<string, string> }; spec: { podSelector: unknown } };
    expect(hasExclusion(egress.spec.podSelector)).toBe(true);
    expect(egress.metadata.annotations[FLUX_RECONCILE_ANNOTATION]).toBe('disabled');
    expect((sim.get('Pod', 'db', 'postgres-0') as { metadata: { labels: Record<string, string> } }).metadata.labels[QUARANTINE_LABEL]).toBe(incidentId);
    expect((sim.get('Application', SHOP_ARGOCD.namespace, SHOP_ARGOCD.application) as { metadata: { annotations: Record<string, string> } }).metadata.annotations[ARGOCD_SKIP_RECONCILE_ANNOTATION]).toBe('true');
    await liftContainment(deps, incidentId);
  });

  it('a baseline computed while the writes go out is recorded once they are done, before the containment is active; the first recorded wins', async () => {
    const { plan, meta } = await design('networkpolicy-exclusive');
    const { baseline, ...withoutBaseline } = meta;
    const pending = later<NonNullable<LedgerMeta['baseline']>>();
    const applying = applyPlan(deps, withoutBaseline, plan, undefined, pending.promise);
    // The writes go out meanwhile; the containment waits for its baseline to become active.
    await eventually('the pod labelled', async () => ((await deps.ledger.load(incidentId))?.pods.length === 1 ? true : undefined));
    await new Promise((r) => setTimeout(r, 50));
    expect(await deps.ledger.isActive(incidentId)).toBe(false);
    expect((await deps.ledger.load(incidentId))!.meta.baseline).toBeUndefined();
    pending.resolve(baseline!);
    await applying;
    expect(await deps.ledger.isActive(incidentId)).toBe(true);
    expect((await deps.ledger.load(incidentId))!.meta.baseline).toEqual(baseline);
    // A later one does not replace it (as no later "before" does).
    await deps.ledger.recordBaseline(incidentId, { connectivity: [], fingerprint: 'later' });
    expect((await deps.ledger.load(incidentId))!.meta.baseline).toEqual(baseline);
    await liftContainment(deps, incidentId);
  });

  it('a baseline that cannot be computed fails the apply: the containment never becomes active', async () => {
    const { plan, meta } = await design('networkpolicy-exclusive');
    const { baseline: _baseline, ...withoutBaseline } = meta;
    await expect(applyPlan(deps, withoutBaseline, plan, undefined, Promise.reject(new Error('the compute thread died')))).rejects.toThrow('the compute thread died');
    expect(await deps.ledger.isActive(incidentId)).toBe(false);
    await liftContainment(deps, incidentId);
  });

  it('reads several records in one round trip, each as a load of it alone reads it', async () => {
    const { plan, meta } = await design('networkpolicy-exclusive');
    await applyPlan(deps, meta, plan);
    const alone = await deps.ledger.load(incidentId);
    expect(alone?.patches.length).toBeGreaterThan(0);
    expect(await deps.ledger.loadMany([incidentId, 'inc-never-contained', incidentId])).toEqual([alone, undefined, alone]);
    expect(await deps.ledger.loadMany([])).toEqual([]);
    await liftContainment(deps, incidentId);
  });

  it('reads the other records when one cannot be read, and names the one it could not', async () => {
    const ledger = new ContainmentLedger(redis, uniquePrefix('contain'));
    const meta: LedgerMeta = { incidentId: 'inc-good', strategy: 'additive', namespace: 'api', startedAt: '2026-12-01T00:00:00Z', dns: { keep: false, namespace: 'kube-system', podLabels: {} }, baseline: { connectivity: [], fingerprint: 'f' } };
    await ledger.begin(meta);
    const damaged: Array<[string, string, string]> = [
      ['inc-cut', 'meta', '{"incidentId": "inc-cut", "names'],
      ['inc-null', 'meta', 'null'],
      ['inc-no-namespace', 'meta', '{"incidentId": "inc-no-namespace"}'],
      ['inc-bad-patch', 'patch:api/x', '{'],
      ['inc-bad-baseline', 'baseline', '{"connectivity": "all"}'],
      ['inc-null-baseline', 'baseline', 'null'],
    ];
    for (const [id, field, value] of damaged) {
      const { baseline: _inField, ...withoutBaseline } = meta;
      await redis.hset(ledger.key(id), 'meta', JSON.stringify({ ...(field === 'baseline' ? withoutBaseline : meta), incidentId: id }));
      await redis.hset(ledger.key(id), field, value);
    }
    const records = await ledger.loadMany(['inc-good', ...damaged.map(([id]) => id)]);
    expect(records[0]).toEqual(await ledger.load('inc-good'));
    for (const [i, [id]] of damaged.entries()) {
      const record = records[i + 1];
      expect(record).toBeInstanceOf(UnreadableRecord);
      expect((record as UnreadableRecord).incidentId).toBe(id);
      expect((record as UnreadableRecord).message).toMatch(new RegExp(`^the containment record of ${id} cannot be read: `));
      // Read alone, it says the same.
      await expect(ledger.load(id)).rejects.toThrow(new RegExp(`^the containment record of ${id} cannot be read: `));
    }
  });

  it('gives back the record it parsed last while its fields are the same, and parses again when one changed', async () => {
    const ledger = new ContainmentLedger(redis, uniquePrefix('contain'));
    const meta: LedgerMeta = { incidentId: 'inc-1', strategy: 'additive', namespace: 'api', startedAt: '2026-12-01T00:00:00Z', dns: { keep: false, namespace: 'kube-system', podLabels: {} } };
    await ledger.begin(meta);
    await ledger.begin({ ...meta, incidentId: 'inc-2', namespace: 'db' });
    await ledger.recordBaseline('inc-1', { connectivity: [], fingerprint: 'f1' });
    const [first] = await ledger.loadMany(['inc-1', 'inc-2']);
    const [again, other] = await ledger.loadMany(['inc-1', 'inc-2']);
    expect(again).toBe(first);
    expect(other).toEqual(await ledger.load('inc-2'));
    // A field written since: parsed again, with it.
    await ledger.recordPod('inc-1', 'web-0');
    const [changed] = await ledger.loadMany(['inc-1']);
    expect(changed).not.toBe(first);
    expect(changed).toEqual(await ledger.load('inc-1'));
    expect((changed as { pods: string[] }).pods).toEqual(['web-0']);
    // A field changed in place (another value under the same name) counts too.
    await ledger.markPatched('inc-1', 'api', 'p', '10');
    const [patched] = await ledger.loadMany(['inc-1']);
    await ledger.markPatched('inc-1', 'api', 'p', '11');
    const [repatched] = await ledger.loadMany(['inc-1']);
    expect(repatched).not.toBe(patched);
    // Damaged, then mended: unreadable while damaged, never an old record.
    const good = await redis.hget(ledger.key('inc-1'), 'meta');
    await redis.hset(ledger.key('inc-1'), 'meta', '{"cut');
    expect((await ledger.loadMany(['inc-1']))[0]).toBeInstanceOf(UnreadableRecord);
    await redis.hset(ledger.key('inc-1'), 'meta', good as string);
    expect((await ledger.loadMany(['inc-1']))[0]).toEqual(await ledger.load('inc-1'));
    // Gone: no record, not the kept one.
    await redis.del(ledger.key('inc-1'));
    expect((await ledger.loadMany(['inc-1']))[0]).toBeUndefined();
  });

  it("an owner's edit made during containment survives the lift; only our requirement goes", async () => {
    const before = state();
    const { plan, meta } = await design('networkpolicy-exclusive');
    await applyPlan(deps, meta, plan);
    const current = await gateway.objects('NetworkPolicy').get({ namespace: 'db', name: 'allow-world-to-postgres' });
    const edited = { ...current!, spec: { ...current!.spec!, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }] }] } };
    await gateway.objects('NetworkPolicy').replace(edited);

    const lift = await liftContainment(deps, incidentId);
    expect(lift.restored.find((r) => r.name === 'allow-world-to-postgres')).toEqual({ name: 'allow-world-to-postgres', edited: true });
    const after = sim.get('NetworkPolicy', 'db', 'allow-world-to-postgres') as { spec: { podSelector: unknown; ingress: unknown } };
    expect(after.spec.ingress).toEqual([{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }] }]);
    expect(after.spec.podSelector).toEqual({ matchLabels: { app: 'postgres' } });
    // Put the fixture back for the next test.
    await gateway.objects('NetworkPolicy').replace({ ...(await gateway.objects('NetworkPolicy').get({ namespace: 'db', name: 'allow-world-to-postgres' }))!, spec: allowWorld.spec as never });
    expect(state()).toEqual(before);
  });

  it('a concurrent write between our read and our replace is re-read, never overwritten', async () => {
    const { plan, meta } = await design('networkpolicy-exclusive');
    const policies = gateway.objects('NetworkPolicy');
    let interfered = false;
    const racing: ContainmentDeps = {
      ...deps,
      objects: ((kind: 'NetworkPolicy') => {
        const client = gateway.objects(kind);
        if (kind !== 'NetworkPolicy') return client;
        return {
          ...client,
          replace: async (obj: Parameters<typeof client.replace>[0], opts?: Parameters<typeof client.replace>[1]) => {
            if (!interfered && obj.metadata?.name === 'allow-all-egress') {
              interfered = true;
              const owner = await policies.get({ namespace: 'db', name: 'allow-all-egress' });
              await policies.replace({ ...owner!, metadata: { ...owner!.metadata, annotations: { ...(owner!.metadata?.annotations ?? {}), owner: 'was-here' } } });
            }
            return client.replace(obj, opts);
          },
        };
      }) as ContainmentDeps['objects'],
    };
    const report = await applyPlan(racing, meta, plan);
    expect(report.exclusions.find((e) => e.name === 'allow-all-egress')).toMatchObject({ outcome: 'patched', conflicts: 1 });
    const stored = sim.get('NetworkPolicy', 'db', 'allow-all-egress') as { metadata: { annotations: Record<string, string> }; spec: { podSelector: unknown } };
    expect(stored.metadata.annotations.owner).toBe('was-here');
    expect(hasExclusion(stored.spec.podSelector)).toBe(true);
    await liftContainment(deps, incidentId);
    const owner = await policies.get({ namespace: 'db', name: 'allow-all-egress' });
    const { owner: _dropped, ...annotations } = owner!.metadata!.annotations!;
    await policies.replace({ ...owner!, metadata: { ...owner!.metadata, annotations } });
  });

  it('a worker that dies between two patches: the re-run finishes without a second patch, and the lift restores everything', async () => {
    const before = state();
    const { plan, meta } = await design('networkpolicy-exclusive');
    let replaces = 0;
    const dying: ContainmentDeps = {
      ...deps,
      objects: ((kind: 'NetworkPolicy') => {
        const client = gateway.objects(kind);
        if (kind !== 'NetworkPolicy') return client;
        return {
          ...client,
          replace: async (obj: Parameters<typeof client.replace>[0], opts?: Parameters<typeof client.replace>[1]) => {
            const out = await client.replace(obj, opts);
            if (++replaces === 2) throw new Error('worker killed');
            return out;
          },
        };
      }) as ContainmentDeps['objects'],
    };
    sim.clearRequests();
    const { baseline: _fromMeta, ...withoutBaseline } = meta;
    // Never given: the run dies before it would be awaited.
    const pending = later<NonNullable<LedgerMeta['baseline']>>();
    await expect(applyPlan(dying, withoutBaseline, plan, undefined, pending.promise)).rejects.toThrow('worker killed');
    const firstRun = sim.requests.filter((r) => r.method === 'PUT' && r.resource === 'networkpolicies').map((r) => r.path.split('/').pop());
    // Died before its baseline was recorded: the re-run takes it from the live objects with the first run's changes out.
    const left = (await deps.ledger.load(incidentId))!;
    expect(left.meta.baseline).toBeUndefined();
    const halfway = await readLiveObjects(gateway, SERVED);
    expect(scopeConnectivity(halfway, SCOPE)).not.toEqual(meta.baseline!.connectivity);
    expect(scopeConnectivity(beforeContainment(halfway, left), SCOPE)).toEqual(meta.baseline!.connectivity);
    expect(policyFingerprint(beforeContainment(halfway, left))).toBe(meta.baseline!.fingerprint);
    // The resumed step designs again from the live objects: the excluded policies drop out.
    const { plan: again } = await design('networkpolicy-exclusive');
    expect(again.footprint.patches.length).toBeLessThan(plan.footprint.patches.length);
    await applyPlan(deps, withoutBaseline, again, undefined, Promise.resolve(meta.baseline!));
    expect((await deps.ledger.load(incidentId))!.meta.baseline).toEqual(meta.baseline);
    const puts = sim.requests.filter((r) => r.method === 'PUT' && r.resource === 'networkpolicies').map((r) => r.path.split('/').pop());
    // Every policy was written once over both runs.
    expect(new Set(puts).size).toBe(puts.length);
    expect(puts.length).toBe(plan.footprint.patches.length);
    expect(firstRun.length).toBeGreaterThanOrEqual(2);
    expect(proveContainment(await readLiveObjects(gateway, SERVED), SCOPE, DNS).contained).toBe(true);
    await liftContainment(deps, incidentId);
    expect(state()).toEqual(before);
  });

  it('a 403 on the CRD is a clear error naming the RBAC rule; nothing of the plan is left applied after the rollback', async () => {
    const before = state();
    const undo = sim.deny({ verb: 'patch', resource: 'adminnetworkpolicies' as never });
    const { plan, meta } = await design('admin-network-policy');
    const error = await applyPlan(deps, meta, plan).catch((e: unknown) => e);
    undo();
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).status).toBe(403);
    expect((error as KubeApiError).missingPermission).toMatchObject({ verb: 'patch', resource: 'adminnetworkpolicies' });
    await liftContainment(deps, incidentId);
    expect(state()).toEqual(before);
  });
});
