// The simulated API server driven by @kubernetes/client-node, as the bot (and any operator tool) would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1NetworkPolicy,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { SHOP_PODS, SHOP_POD_IPS, SHOP_POLICIES, shopObjects } from '../../src/sim/scenarios/shop.js';

let sim: KubeApiSim;
let dir: string;
let kc: KubeConfig;
let core: CoreV1Api;
let net: NetworkingV1Api;
let objects: KubernetesObjectApi;

function configFor(user?: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(sim.writeKubeconfig(dir, user));
  return config;
}

beforeAll(async () => {
  sim = await startKubeApiServer({ watchHistoryLimit: 50 });
  sim.seed(shopObjects());
  dir = mkdtempSync(join(tmpdir(), 'sim-kube-client-'));
  kc = configFor();
  core = kc.makeApiClient(CoreV1Api);
  net = kc.makeApiClient(NetworkingV1Api);
  objects = KubernetesObjectApi.makeApiClient(kc);
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.clearDenials();
  sim.clearFaults();
});

async function failure(call: Promise<unknown>): Promise<{ code: number; status: { reason: string; message: string; details?: { causes?: unknown[] } } }> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiException);
    const e = error as ApiException<string>;
    return { code: e.code, status: JSON.parse(e.body) };
  }
  throw new Error('expected the call to fail');
}

function netpol(name: string, namespace: string, spec: V1NetworkPolicy['spec'], labels?: Record<string, string>): V1NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec };
}

describe('reading with CoreV1Api', () => {
  it('reads and lists namespaces', async () => {
    expect((await core.readNamespace({ name: 'db' })).metadata?.labels?.['kubernetes.io/metadata.name']).toBe('db');
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(['api', 'db', 'frontend', 'kube-system', 'netpol-responder']));
    expect((await failure(core.readNamespace({ name: 'nope' }))).status).toMatchObject({ reason: 'NotFound', message: 'namespaces "nope" not found' });
  });

  it('lists pods by label selector, every operator', async () => {
    const names = async (labelSelector: string, namespace = 'api'): Promise<string[]> =>
      (await core.listNamespacedPod({ namespace, labelSelector })).items.map((p) => p.metadata?.name ?? '').sort();
    expect(await names('app=orders')).toEqual([...SHOP_PODS.orders].sort());
    expect(await names('app==payments')).toEqual([SHOP_PODS.payments]);
    expect(await names('app!=orders')).toEqual([SHOP_PODS.payments]);
    expect(await names('app in (orders,payments),tier=api')).toHaveLength(3);
    expect(await names('app notin (orders)')).toEqual([SHOP_PODS.payments]);
    expect(await names('tier')).toHaveLength(3);
    expect(await names('!tier')).toEqual([]);
    expect((await failure(core.listNamespacedPod({ namespace: 'api', labelSelector: 'app in (x' }))).code).toBe(400);
  });

  it('lists pods across namespaces with field selectors', async () => {
    const all = await core.listPodForAllNamespaces();
    expect(all.items.length).toBe(sim.list('Pod').length);
    const inDb = await core.listPodForAllNamespaces({ fieldSelector: 'metadata.namespace=db' });
    expect(inDb.items.map((p) => p.metadata?.name).sort()).toEqual([SHOP_PODS.postgres, SHOP_PODS.redis]);
    const one = await core.listPodForAllNamespaces({ fieldSelector: `metadata.name=${SHOP_PODS.postgres}` });
    expect(one.items).toHaveLength(1);
    expect(one.items[0]?.status?.podIP).toBe(SHOP_POD_IPS[SHOP_PODS.postgres]);
    expect((await failure(core.listPodForAllNamespaces({ fieldSelector: 'spec.bogus=1' }))).status.message).toBe('field label not supported: spec.bogus');
  });

  it('creates and deletes a pod (the pod comes back on delete)', async () => {
    const pod = await core.createNamespacedPod({ namespace: 'db', body: { metadata: { name: 'debug', labels: { app: 'debug' } }, spec: { containers: [{ name: 'sh', image: 'busybox' }] } } });
    expect(pod.metadata?.uid).toBeTruthy();
    const gone = await core.deleteNamespacedPod({ namespace: 'db', name: 'debug' });
    expect(gone.metadata?.name).toBe('debug');
    expect(sim.get('Pod', 'db', 'debug')).toBeUndefined();
  });
});

describe('writing NetworkPolicies with NetworkingV1Api', () => {
  it('creates, reads, lists (namespaced and all namespaces) and deletes', async () => {
    const created = await net.createNamespacedNetworkPolicy({ namespace: 'db', body: netpol('crud', 'db', { podSelector: { matchLabels: { app: 'postgres' } }, ingress: [{ ports: [{ port: 5432 }] }] }) });
    expect(created.metadata?.generation).toBe(1);
    expect(created.spec?.policyTypes).toEqual(['Ingress']);
    expect(created.spec?.ingress?.[0]?.ports?.[0]?.protocol).toBe('TCP');
    expect(created.metadata?.managedFields?.[0]).toMatchObject({ operation: 'Update', fieldsType: 'FieldsV1' });
    expect((await net.readNamespacedNetworkPolicy({ namespace: 'db', name: 'crud' })).metadata?.uid).toBe(created.metadata?.uid);
    expect((await net.listNamespacedNetworkPolicy({ namespace: 'db' })).items.map((p) => p.metadata?.name)).toContain('crud');
    const everywhere = await net.listNetworkPolicyForAllNamespaces({ labelSelector: 'app.kubernetes.io/part-of=shop' });
    expect(new Set(everywhere.items.map((p) => p.metadata?.namespace))).toEqual(new Set(['frontend', 'api', 'db']));
    const status = await net.deleteNamespacedNetworkPolicy({ namespace: 'db', name: 'crud' });
    expect(status).toMatchObject({ status: 'Success', details: { name: 'crud' } });
    expect((await failure(net.readNamespacedNetworkPolicy({ namespace: 'db', name: 'crud' }))).code).toBe(404);
    expect((await failure(net.deleteNamespacedNetworkPolicy({ namespace: 'db', name: 'crud' }))).status).toMatchObject({
      reason: 'NotFound',
      message: 'networkpolicies.networking.k8s.io "crud" not found',
    });
  });

  it('answers 409 AlreadyExists for a duplicate name', async () => {
    const rv = sim.resourceVersion();
    const res = await failure(net.createNamespacedNetworkPolicy({ namespace: 'db', body: netpol(SHOP_POLICIES.defaultDeny, 'db', { podSelector: {} }) }));
    expect(res.code).toBe(409);
    expect(res.status).toMatchObject({ reason: 'AlreadyExists', message: `networkpolicies.networking.k8s.io "${SHOP_POLICIES.defaultDeny}" already exists` });
    expect(sim.resourceVersion()).toBe(rv);
  });

  it('answers 404 for a policy in a namespace that does not exist', async () => {
    const res = await failure(net.createNamespacedNetworkPolicy({ namespace: 'ghost', body: netpol('x', 'ghost', { podSelector: {} }) }));
    expect(res).toMatchObject({ code: 404, status: { message: 'namespaces "ghost" not found' } });
  });

  it('answers 422 Invalid with causes and stores nothing', async () => {
    const rv = sim.resourceVersion();
    const res = await failure(
      net.createNamespacedNetworkPolicy({
        namespace: 'db',
        body: netpol('bad', 'db', { podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] }, ingress: [{ ports: [{ port: 8000, endPort: 7000 }] }] }),
      }),
    );
    expect(res.code).toBe(422);
    expect(res.status.reason).toBe('Invalid');
    expect(res.status.message).toMatch(/^NetworkPolicy\.networking\.k8s\.io "bad" is invalid: \[/);
    expect(res.status.details?.causes).toHaveLength(2);
    expect(sim.get('NetworkPolicy', 'db', 'bad')).toBeUndefined();
    expect(sim.resourceVersion()).toBe(rv);
    const badName = await failure(net.createNamespacedNetworkPolicy({ namespace: 'db', body: netpol('Bad_Name', 'db', { podSelector: {} }) }));
    expect(badName.status.message).toMatch(/metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
  });

  it('replaces with optimistic concurrency: a stale resourceVersion is 409 Conflict', async () => {
    const current = await net.readNamespacedNetworkPolicy({ namespace: 'api', name: SHOP_POLICIES.apiIngress });
    const updated = await net.replaceNamespacedNetworkPolicy({
      namespace: 'api',
      name: SHOP_POLICIES.apiIngress,
      body: { ...current, metadata: { ...current.metadata, labels: { ...current.metadata?.labels, reviewed: 'yes' } } },
    });
    expect(updated.metadata?.labels?.reviewed).toBe('yes');
    expect(updated.metadata?.generation).toBe(current.metadata?.generation);
    const res = await failure(net.replaceNamespacedNetworkPolicy({ namespace: 'api', name: SHOP_POLICIES.apiIngress, body: current }));
    expect(res.code).toBe(409);
    expect(res.status).toMatchObject({
      reason: 'Conflict',
      message: `Operation cannot be fulfilled on networkpolicies.networking.k8s.io "${SHOP_POLICIES.apiIngress}": the object has been modified; please apply your changes to the latest version and try again`,
    });
  });

  it('merge-patches (spec change bumps generation, managedFields records the editor)', async () => {
    const before = await net.readNamespacedNetworkPolicy({ namespace: 'frontend', name: SHOP_POLICIES.frontendIngress });
    const patched = await net.patchNamespacedNetworkPolicy(
      { namespace: 'frontend', name: SHOP_POLICIES.frontendIngress, body: { spec: { ingress: [{ ports: [{ port: 8443 }] }] } }, fieldManager: 'kubectl-edit' },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.spec?.ingress?.[0]?.ports?.[0]?.port).toBe(8443);
    expect(patched.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 1);
    const editor = patched.metadata?.managedFields?.find((m) => m.manager === 'kubectl-edit');
    expect(editor).toMatchObject({ operation: 'Update', fieldsV1: { 'f:spec': { 'f:ingress': {} } } });
  });

  it('dry-runs create, replace and patch without changing anything', async () => {
    const rv = sim.resourceVersion();
    const wouldBe = await net.createNamespacedNetworkPolicy({ namespace: 'db', body: netpol('dry', 'db', { podSelector: {} }), dryRun: 'All' });
    expect(wouldBe.metadata?.name).toBe('dry');
    expect(wouldBe.metadata?.uid).toBeTruthy();
    const live = await net.readNamespacedNetworkPolicy({ namespace: 'db', name: SHOP_POLICIES.defaultDeny });
    await net.replaceNamespacedNetworkPolicy({ namespace: 'db', name: SHOP_POLICIES.defaultDeny, dryRun: 'All', body: { ...live, spec: { podSelector: { matchLabels: { x: 'y' } } } } });
    const patched = await net.patchNamespacedNetworkPolicy(
      { namespace: 'db', name: SHOP_POLICIES.defaultDeny, dryRun: 'All', body: { metadata: { labels: { dry: 'run' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.metadata?.labels?.dry).toBe('run');
    expect(sim.get('NetworkPolicy', 'db', 'dry')).toBeUndefined();
    expect((sim.get('NetworkPolicy', 'db', SHOP_POLICIES.defaultDeny)?.metadata as { labels: Record<string, string> }).labels.dry).toBeUndefined();
    expect(sim.resourceVersion()).toBe(rv);
    // An invalid object is still rejected on dry run.
    expect((await failure(net.createNamespacedNetworkPolicy({ namespace: 'db', dryRun: 'All', body: netpol('dry', 'db', { podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] }) }))).code).toBe(422);
  });
});

describe('server-side apply with KubernetesObjectApi', () => {
  const apply = (obj: V1NetworkPolicy, manager: string, force = false, dryRun?: string): Promise<V1NetworkPolicy> =>
    objects.patch(obj, undefined, dryRun, manager, force, PatchStrategy.ServerSideApply);

  it('creates, updates idempotently, and keeps one managedFields entry per manager', async () => {
    const intent = netpol('contain-db', 'db', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }, { 'netpol-responder/incident': 'inc-1' });
    const created = await apply(intent, 'netpol-responder');
    expect(created.metadata?.managedFields).toEqual([
      expect.objectContaining({ manager: 'netpol-responder', operation: 'Apply', apiVersion: 'networking.k8s.io/v1', fieldsType: 'FieldsV1' }),
    ]);
    const rv = created.metadata?.resourceVersion;
    const again = await apply(intent, 'netpol-responder');
    expect(again.metadata?.resourceVersion).toBe(rv);
  });

  it('409s on a field another manager owns, and force takes it over', async () => {
    const theirs = netpol('contain-db', 'db', { podSelector: {}, policyTypes: ['Ingress'] });
    try {
      await apply(theirs, 'someone-else');
      expect.unreachable();
    } catch (error) {
      const e = error as ApiException<string>;
      expect(e.code).toBe(409);
      const status = JSON.parse(e.body);
      expect(status.message).toBe('Apply failed with 1 conflict: conflict with "netpol-responder" using networking.k8s.io/v1: .spec.policyTypes');
      expect(status.details.causes[0]).toMatchObject({ reason: 'FieldManagerConflict', field: '.spec.policyTypes' });
    }
    expect((sim.get('NetworkPolicy', 'db', 'contain-db')?.spec as { policyTypes: string[] }).policyTypes).toEqual(['Ingress', 'Egress']);
    const forced = await apply(theirs, 'someone-else', true);
    expect(forced.spec?.policyTypes).toEqual(['Ingress']);
    expect(forced.metadata?.managedFields?.map((m) => `${m.manager}/${m.operation}`).sort()).toEqual(['netpol-responder/Apply', 'someone-else/Apply']);
  });

  it('dry-run apply returns the would-be object and stores nothing', async () => {
    const rv = sim.resourceVersion();
    const out = await apply(netpol('dry-apply', 'db', { podSelector: {} }), 'netpol-responder', false, 'All');
    expect(out.metadata?.name).toBe('dry-apply');
    expect(sim.get('NetworkPolicy', 'db', 'dry-apply')).toBeUndefined();
    expect(sim.resourceVersion()).toBe(rv);
  });

  it('reads, lists and deletes through the generic API too', async () => {
    const read = await objects.read({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'contain-db', namespace: 'db' } });
    expect(read.metadata?.name).toBe('contain-db');
    const list = await objects.list('networking.k8s.io/v1', 'NetworkPolicy', 'db');
    expect(list.items.map((i) => i.metadata?.name)).toContain('contain-db');
    await objects.delete(read);
    expect(sim.get('NetworkPolicy', 'db', 'contain-db')).toBeUndefined();
  });
});

describe('RBAC denials and injected faults', () => {
  it('403s a denied verb with the apiserver message, only for that user and namespace', async () => {
    sim.deny({ user: 'netpol-bot', verb: 'patch', resource: 'networkpolicies', namespace: 'db' });
    const bot = configFor('netpol-bot');
    const botObjects = KubernetesObjectApi.makeApiClient(bot);
    const rv = sim.resourceVersion();
    try {
      await botObjects.patch(netpol('x', 'db', { podSelector: {} }), undefined, undefined, 'netpol-responder', false, PatchStrategy.ServerSideApply);
      expect.unreachable();
    } catch (error) {
      const e = error as ApiException<string>;
      expect(e.code).toBe(403);
      expect(JSON.parse(e.body)).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'Forbidden',
        code: 403,
        message: 'networkpolicies.networking.k8s.io "x" is forbidden: User "netpol-bot" cannot patch resource "networkpolicies" in API group "networking.k8s.io" in the namespace "db"',
      });
    }
    expect(sim.resourceVersion()).toBe(rv);
    // Same user elsewhere, and another user in db, are not affected.
    await botObjects.patch(netpol('x', 'api', { podSelector: {} }), undefined, undefined, 'netpol-responder', false, PatchStrategy.ServerSideApply);
    await objects.patch(netpol('x', 'db', { podSelector: {} }), undefined, undefined, 'netpol-responder', false, PatchStrategy.ServerSideApply);
  });

  it('403s list at the cluster scope and core-group resources with their own wording', async () => {
    const undo = sim.deny({ verb: 'list', resource: 'pods' });
    const res = await failure(core.listPodForAllNamespaces());
    expect(res.status.message).toBe(`pods is forbidden: User "netpol-sim-admin" cannot list resource "pods" in API group "" at the cluster scope`);
    undo();
    expect((await core.listPodForAllNamespaces()).items.length).toBeGreaterThan(0);
  });

  it('fails the next requests with an injected 500, then succeeds', async () => {
    sim.injectFault({ verb: 'get', resource: 'networkpolicies', status: 500, times: 1, message: 'etcdserver: request timed out' });
    const res = await failure(net.readNamespacedNetworkPolicy({ namespace: 'db', name: SHOP_POLICIES.defaultDeny }));
    expect(res).toMatchObject({ code: 500, status: { reason: 'InternalError', message: 'etcdserver: request timed out' } });
    expect((await net.readNamespacedNetworkPolicy({ namespace: 'db', name: SHOP_POLICIES.defaultDeny })).metadata?.name).toBe(SHOP_POLICIES.defaultDeny);
  });
});

describe('watch with client-node Watch', () => {
  interface Seen {
    type: string;
    name: string;
  }

  async function watchUntil(path: string, params: Record<string, string>, count: number, act: () => Promise<void>): Promise<Seen[]> {
    const seen: Seen[] = [];
    let controller: AbortController | undefined;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watch saw only ${JSON.stringify(seen)}`)), 10_000);
      void new Watch(kc)
        .watch(
          path,
          params,
          (type, obj: { metadata?: { name?: string } }) => {
            seen.push({ type, name: obj.metadata?.name ?? '' });
            if (seen.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
          (err: unknown) => {
            if (err && seen.length < count) {
              clearTimeout(timer);
              reject(err as Error);
            }
          },
        )
        .then((c) => {
          controller = c;
          return act();
        });
    });
    await done;
    controller?.abort();
    return seen;
  }

  it('streams ADDED, MODIFIED and DELETED after a resourceVersion', async () => {
    const rv = (await net.listNamespacedNetworkPolicy({ namespace: 'frontend' })).metadata?.resourceVersion ?? '';
    const seen = await watchUntil('/apis/networking.k8s.io/v1/namespaces/frontend/networkpolicies', { resourceVersion: rv }, 3, async () => {
      await net.createNamespacedNetworkPolicy({ namespace: 'frontend', body: netpol('watched', 'frontend', { podSelector: {} }) });
      await net.patchNamespacedNetworkPolicy({ namespace: 'frontend', name: 'watched', body: { metadata: { labels: { a: 'b' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      // Events in other namespaces must not leak into this watch.
      await net.createNamespacedNetworkPolicy({ namespace: 'api', body: netpol('elsewhere', 'api', { podSelector: {} }) });
      await net.deleteNamespacedNetworkPolicy({ namespace: 'frontend', name: 'watched' });
    });
    expect(seen).toEqual([
      { type: 'ADDED', name: 'watched' },
      { type: 'MODIFIED', name: 'watched' },
      { type: 'DELETED', name: 'watched' },
    ]);
  });

  it('starts with synthetic ADDED events when no resourceVersion is given, honouring selectors', async () => {
    const expected = sim.list('Pod', 'db').length;
    const seen = await watchUntil('/api/v1/namespaces/db/pods', { labelSelector: 'tier=db' }, expected, async () => undefined);
    expect(seen.every((e) => e.type === 'ADDED')).toBe(true);
    expect(seen.map((e) => e.name).sort()).toEqual([SHOP_PODS.postgres, SHOP_PODS.redis]);
  });

  it('reports objects entering and leaving a label selection as ADDED and DELETED', async () => {
    const rv = sim.resourceVersion();
    const label = (value: string | null): Promise<unknown> =>
      core.patchNamespacedPod({ namespace: 'db', name: SHOP_PODS.redis, body: { metadata: { labels: { quarantine: value } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const seen = await watchUntil('/api/v1/namespaces/db/pods', { resourceVersion: rv, labelSelector: 'quarantine=true' }, 3, async () => {
      await label('true');
      await label('true-ish'.slice(0, 4)); // same value: no event at all
      await core.patchNamespacedPod({ namespace: 'db', name: SHOP_PODS.redis, body: { metadata: { annotations: { note: 'x' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await label(null);
    });
    expect(seen).toEqual([
      { type: 'ADDED', name: SHOP_PODS.redis },
      { type: 'MODIFIED', name: SHOP_PODS.redis },
      { type: 'DELETED', name: SHOP_PODS.redis },
    ]);
  });

  it('sends ERROR 410 Expired for a resourceVersion older than the history', async () => {
    const old = '1001';
    for (let i = 0; i < 30; i++) {
      await net.createNamespacedNetworkPolicy({ namespace: 'netpol-responder', body: netpol(`churn-${i}`, 'netpol-responder', { podSelector: {} }) });
      await net.deleteNamespacedNetworkPolicy({ namespace: 'netpol-responder', name: `churn-${i}` });
    }
    const seen: Array<{ type: string; code?: number }> = [];
    await new Promise<void>((resolve) => {
      void new Watch(kc).watch(
        '/apis/networking.k8s.io/v1/networkpolicies',
        { resourceVersion: old },
        (type, obj: { code?: number }) => seen.push({ type, code: obj.code }),
        () => resolve(),
      );
    });
    expect(seen).toEqual([{ type: 'ERROR', code: 410 }]);
  });

  it('answers 403 to a denied watch', async () => {
    sim.deny({ verb: 'watch', resource: 'networkpolicies' });
    const err = await new Promise<unknown>((resolve) => {
      void new Watch(kc).watch('/apis/networking.k8s.io/v1/networkpolicies', {}, () => undefined, resolve);
    });
    expect((err as { statusCode?: number }).statusCode).toBe(403);
  });
});
