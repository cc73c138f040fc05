// The custom resources of the simulated API server over raw HTTPS: what is served when, status
// subresource and generation semantics, watches with bookmarks and 410, access rules, hostile bodies.
import { request } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { startKubeApiServer, type ClusterOptions, type KubeApiSim } from '../../src/sim/kube/index.js';
import { SHOP_PODS, shopObjects } from '../../src/sim/scenarios/shop.js';
import { simRequest } from '../helpers/kube-sim.js';

const ANPS = '/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies';
const APPS = '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications';
const JSON_TYPE = 'application/json';

const sims: KubeApiSim[] = [];
afterEach(async () => {
  while (sims.length > 0) await sims.pop()?.close();
});

async function start(cluster: ClusterOptions = { adminNetworkPolicy: true, argocd: true, cni: 'cilium' }, extra: { watchHistoryLimit?: number } = {}): Promise<KubeApiSim> {
  const sim = await startKubeApiServer({ cluster, ...extra });
  sims.push(sim);
  sim.seed(shopObjects({ argocd: cluster.argocd === true }));
  return sim;
}

const anp = (name: string, priority = 1, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name }, spec: { priority, subject: { namespaces: {} } }, ...extra });

describe('what is served', () => {
  it('answers 404 on a CRD path, its group and its OpenAPI until the CRD is installed', async () => {
    const sim = await start({});
    expect((await simRequest(sim, 'GET', ANPS)).json).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' });
    expect((await simRequest(sim, 'POST', ANPS, { body: anp('a'), contentType: JSON_TYPE })).status).toBe(404);
    expect((await simRequest(sim, 'GET', '/apis/policy.networking.k8s.io')).status).toBe(404);
    expect((await simRequest(sim, 'GET', '/apis')).text).not.toContain('policy.networking.k8s.io');
    expect(Object.keys((await simRequest(sim, 'GET', '/openapi/v3')).json.paths)).not.toContain('apis/policy.networking.k8s.io/v1alpha1');
    expect(() => sim.seed([{ apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: 'x' }, spec: {} }])).toThrow(
      'seed: AdminNetworkPolicy is not served by this simulated cluster: its CRD is installed by the cluster option adminNetworkPolicy: true',
    );

    sim.setCluster({ adminNetworkPolicy: true });
    expect((await simRequest(sim, 'POST', ANPS, { body: anp('a'), contentType: JSON_TYPE })).status).toBe(201);
    expect((await simRequest(sim, 'GET', '/apis/policy.networking.k8s.io')).json.preferredVersion).toEqual({ groupVersion: 'policy.networking.k8s.io/v1alpha1', version: 'v1alpha1' });
    const index = (await simRequest(sim, 'GET', '/openapi/v3')).json.paths as Record<string, { serverRelativeURL: string }>;
    const doc = (await simRequest(sim, 'GET', index['apis/policy.networking.k8s.io/v1alpha1']?.serverRelativeURL as string)).json;
    expect(doc.paths[`${ANPS}/{name}`].patch['x-kubernetes-group-version-kind']).toEqual({ group: 'policy.networking.k8s.io', version: 'v1alpha1', kind: 'AdminNetworkPolicy' });

    // Removing the CRD deletes its objects, as deleting a CRD does.
    sim.setCluster({});
    expect(sim.list('AdminNetworkPolicy')).toEqual([]);
    expect((await simRequest(sim, 'GET', `${ANPS}/a`)).status).toBe(404);
  });

  it('answers can-i for served kinds only', async () => {
    const sim = await start({ cni: 'cilium' });
    const review = (resource: string, group: string) =>
      simRequest(sim, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        body: JSON.stringify({ kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', spec: { resourceAttributes: { verb: 'create', group, resource, namespace: 'db' } } }),
        contentType: JSON_TYPE,
      });
    expect((await review('ciliumnetworkpolicies', 'cilium.io')).json.status).toMatchObject({ allowed: true });
    expect((await review('adminnetworkpolicies', 'policy.networking.k8s.io')).json.status).toMatchObject({ allowed: false, reason: 'netpol-sim: the simulated API server does not serve adminnetworkpolicies.policy.networking.k8s.io' });
    sim.deny({ verb: 'create', resource: 'ciliumnetworkpolicies' });
    expect((await review('ciliumnetworkpolicies', 'cilium.io')).json.status).toMatchObject({ allowed: false, denied: true });
  });

  it('forbids a denied verb on a CRD with the apiserver RBAC message', async () => {
    const sim = await start();
    sim.deny({ verb: 'delete', resource: 'adminnetworkpolicies' });
    await simRequest(sim, 'POST', ANPS, { body: anp('kept'), contentType: JSON_TYPE });
    const res = await simRequest(sim, 'DELETE', `${ANPS}/kept`);
    expect(res.status).toBe(403);
    expect(res.json.message).toBe(
      'adminnetworkpolicies.policy.networking.k8s.io "kept" is forbidden: User "netpol-sim-admin" cannot delete resource "adminnetworkpolicies" in API group "policy.networking.k8s.io" at the cluster scope',
    );
    expect(sim.get('anp', undefined, 'kept')).toBeDefined();
  });
});

describe('status and generation', () => {
  it('ignores status written through the main resource when the CRD has a status subresource', async () => {
    const sim = await start();
    const created = await simRequest(sim, 'POST', ANPS, { body: anp('s', 1, { status: { conditions: [{ type: 'Ready' }] } }), contentType: JSON_TYPE });
    expect(created.json.status).toBeUndefined();
    expect(created.json.metadata.generation).toBe(1);
    const labelled = await simRequest(sim, 'PATCH', `${ANPS}/s`, { body: JSON.stringify({ metadata: { labels: { a: 'b' } }, status: { x: 1 } }), contentType: 'application/merge-patch+json' });
    expect(labelled.json.metadata.generation).toBe(1);
    expect(labelled.json.status).toBeUndefined();
    const changed = await simRequest(sim, 'PATCH', `${ANPS}/s`, { body: JSON.stringify({ spec: { priority: 2 } }), contentType: 'application/merge-patch+json' });
    expect(changed.json.metadata.generation).toBe(2);
    const deleted = await simRequest(sim, 'DELETE', `${ANPS}/s`);
    expect(deleted.json).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 's', group: 'policy.networking.k8s.io', kind: 'adminnetworkpolicies' } });
  });

  it("lets Argo CD write an Application's status through the object (it has no status subresource)", async () => {
    const sim = await start();
    const res = await simRequest(sim, 'PATCH', `${APPS}/shop-network-policies`, { body: JSON.stringify({ status: { sync: { status: 'OutOfSync' } } }), contentType: 'application/merge-patch+json' });
    expect(res.status).toBe(200);
    expect(res.json.status.sync.status).toBe('OutOfSync');
    expect(res.json.metadata.generation).toBe(2);
  });

  it('drops nulls and unknown fields of a custom resource with warnings, and refuses them under Strict', async () => {
    const sim = await start();
    const body = anp('n', 1, { spec: { priority: 1, subject: { namespaces: {} }, ingress: null, bogus: 1 } });
    const warned = await simRequest(sim, 'POST', ANPS, { body, contentType: JSON_TYPE });
    expect(warned.status).toBe(201);
    expect(warned.headers.warning).toBe('299 - "unknown field \\"spec.bogus\\""');
    expect(warned.json.spec).toEqual({ priority: 1, subject: { namespaces: {} } });
    const strict = await simRequest(sim, 'POST', `${ANPS}?fieldValidation=Strict`, { body: body.replace('"name":"n"', '"name":"n2"'), contentType: JSON_TYPE });
    expect(strict.status).toBe(400);
    expect(strict.json.message).toBe('strict decoding error: unknown field "spec.bogus"');
  });
});

describe('watch', () => {
  it('sends bookmarks to clients that allow them, and only to those', async () => {
    const sim = await start();
    const rv = sim.resourceVersion();
    const stream = (query: string) => simRequest(sim, 'GET', `${ANPS}?watch=true&resourceVersion=${rv}&timeoutSeconds=1${query}`);
    const withBookmarks = stream('&allowWatchBookmarks=true');
    const without = stream('');
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.openWatches()).toBe(2);
    await simRequest(sim, 'POST', ANPS, { body: anp('w'), contentType: JSON_TYPE });
    sim.sendBookmarks();
    const lines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { metadata: { name?: string; resourceVersion: string } } });
    const a = lines((await withBookmarks).text);
    expect(a.map((e) => e.type)).toEqual(['ADDED', 'BOOKMARK']);
    expect(a[1]?.object).toEqual({ kind: 'AdminNetworkPolicy', apiVersion: 'policy.networking.k8s.io/v1alpha1', metadata: { resourceVersion: sim.resourceVersion() } });
    expect(lines((await without).text).map((e) => e.type)).toEqual(['ADDED']);
  });

  it('answers 410 Expired for a version the history no longer holds, and cuts streams on demand', async () => {
    const sim = await start(undefined, { watchHistoryLimit: 5 });
    const old = sim.resourceVersion();
    for (let i = 0; i < 8; i++) await simRequest(sim, 'POST', ANPS, { body: anp(`p${i}`), contentType: JSON_TYPE });
    const gone = await simRequest(sim, 'GET', `${ANPS}?watch=true&resourceVersion=${old}`);
    expect(JSON.parse(gone.text.trim())).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
    // A stream that is cut ends without its final chunk: the client sees the response aborted.
    const ended = new Promise<string>((resolve) => {
      const req = request(new URL(`${ANPS}?watch=true&resourceVersion=${sim.resourceVersion()}`, sim.url), { ca: sim.caPem, headers: { Authorization: `Bearer ${sim.tokenFor('netpol-sim-admin')}` } }, (res) => {
        res.on('error', (e) => resolve(`error: ${e.message}`));
        res.on('end', () => resolve('clean end'));
        res.resume();
      });
      req.on('error', (e) => resolve(`request error: ${e.message}`));
      req.end();
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.cutWatches()).toBe(1);
    expect(await ended).toMatch(/^error: aborted|request error/);
    for (let i = 0; i < 100 && sim.openWatches() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sim.openWatches()).toBe(0);
  });
});

describe('pods', () => {
  it('patches labels by strategic merge with a new resourceVersion and a watch event', async () => {
    const sim = await start({});
    const before = sim.get('Pod', 'db', SHOP_PODS.postgres)?.metadata?.resourceVersion;
    const watch = simRequest(sim, 'GET', `/api/v1/namespaces/db/pods?watch=true&resourceVersion=${sim.resourceVersion()}&timeoutSeconds=1`);
    await new Promise((r) => setTimeout(r, 100));
    const res = await simRequest(sim, 'PATCH', `/api/v1/namespaces/db/pods/${SHOP_PODS.postgres}`, { body: JSON.stringify({ metadata: { labels: { quarantine: 'yes' } } }), contentType: 'application/strategic-merge-patch+json' });
    expect(res.status).toBe(200);
    expect(Number(res.json.metadata.resourceVersion)).toBeGreaterThan(Number(before));
    expect(res.json.metadata.labels).toMatchObject({ app: 'postgres', quarantine: 'yes' });
    const events = (await watch).text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { metadata: { labels: Record<string, string> } } });
    expect(events.map((e) => `${e.type} ${e.object.metadata.labels.quarantine}`)).toEqual(['MODIFIED yes']);
  });

  it('rolls a StatefulSet pod under its name with a new uid', async () => {
    const sim = await start({});
    const uid = sim.get('Pod', 'db', SHOP_PODS.postgres)?.metadata?.uid;
    const rolled = sim.rollPods('db', 'app=postgres');
    expect(rolled.removed).toEqual([SHOP_PODS.postgres]);
    expect(rolled.added.map((p) => p.metadata?.name)).toEqual([SHOP_PODS.postgres]);
    expect(sim.get('Pod', 'db', SHOP_PODS.postgres)?.metadata?.uid).not.toBe(uid);
    expect(() => sim.rollPods('db', 'app=nothing')).toThrow('rollPods: no pod in namespace "db" matches "app=nothing"');
  });
});

describe('hostile bodies', () => {
  it('refuses bodies nested too deep, and answers at once', async () => {
    const sim = await start();
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const body = `{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"deep"},"spec":{"project":"p","destination":{},"source":{"x":${deep}}}}`;
    const res = await simRequest(sim, 'POST', APPS, { body, contentType: JSON_TYPE });
    expect(res.status).toBe(400);
    expect(res.json.message).toBe('the request body is nested more than 1000 levels deep');
    const yaml = await simRequest(sim, 'PATCH', `${APPS}/deep?fieldManager=x`, { body: `apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: deep}\nspec: {project: p, destination: {}, source: {x: ${deep}}}\n`, contentType: 'application/apply-patch+yaml' });
    expect(yaml.status).toBe(400);
    expect(sim.get('Application', 'argocd', 'deep')).toBeUndefined();
  });

  it('refuses a Cilium policy with a megabyte port name by its pattern, quickly', async () => {
    const sim = await start();
    const cnp = { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'p', namespace: 'db' }, spec: { endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: `${'a-'.repeat(500_000)}!` }] }] }] } };
    const started = Date.now();
    const res = await simRequest(sim, 'POST', '/apis/cilium.io/v2/namespaces/db/ciliumnetworkpolicies', { body: JSON.stringify(cnp), contentType: JSON_TYPE });
    expect(res.status).toBe(422);
    expect(res.json.details.causes[0].field).toBe('spec.egress[0].toPorts[0].ports[0].port');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
