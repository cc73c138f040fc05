// The bot's Kubernetes adapter against the simulated API server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiError, LabelSelectorSyntaxError, createKubeGateway, loadKubeConfig, type KubeGateway, type V1NetworkPolicy } from '../../src/kube/index.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { SHOP_PODS, SHOP_POD_IPS, SHOP_POLICIES, shopObjects } from '../../src/sim/scenarios/shop.js';

let sim: KubeApiSim;
let dir: string;
let gateway: KubeGateway;

const MANAGER = 'netpol-responder';

function denyAll(namespace: string, name = 'netpol-responder-contain'): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': MANAGER } },
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  };
}

async function rejection(call: Promise<unknown>): Promise<KubeApiError> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(KubeApiError);
    return error as KubeApiError;
  }
  throw new Error('expected a KubeApiError');
}

beforeAll(async () => {
  sim = await startKubeApiServer({ users: { 'bot-token': 'system:serviceaccount:netpol-responder:bot' } });
  sim.seed(shopObjects());
  dir = mkdtempSync(join(tmpdir(), 'kube-gateway-'));
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir) }));
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.clearDenials();
  sim.clearFaults();
});

describe('connections', () => {
  it('twenty reads and merge patches go over one kept connection; twenty creates each open one, resuming the TLS session', async () => {
    const nps = gateway.objects('NetworkPolicy');
    const [first] = (await nps.list({ namespace: 'db' })).items as Array<{ metadata: { name: string } }>;
    const before = sim.tlsConnections();
    for (let i = 0; i < 20; i++) expect(await gateway.namespaceExists('db')).toBe(true);
    for (let i = 0; i < 20; i++) await nps.mergePatch({ namespace: 'db', name: first!.metadata.name }, { metadata: { annotations: { 'example.com/n': String(i) } } });
    expect(sim.tlsConnections().total - before.total).toBeLessThanOrEqual(1);
    // Creates (not repeatable: sent twice after the first landed, the second fails) get connections of their own.
    const start = sim.tlsConnections();
    for (let i = 0; i < 20; i++) await nps.create({ metadata: { name: `kept-connections-${i}`, namespace: 'db' }, spec: { podSelector: {} } });
    const after = sim.tlsConnections();
    expect(after.total - start.total).toBe(20);
    expect(after.resumed - start.resumed).toBeGreaterThanOrEqual(19);
    for (let i = 0; i < 20; i++) await nps.delete({ namespace: 'db', name: `kept-connections-${i}` });
  });

  it('an API server restart costs no request: the next reads answer', async () => {
    expect(await gateway.namespaceExists('db')).toBe(true);
    await sim.restart();
    expect(await gateway.namespaceExists('db')).toBe(true);
    expect((await gateway.listPods('db')).length).toBeGreaterThan(0);
  });
});

describe('reads', () => {
  it('tells whether a namespace exists', async () => {
    expect(await gateway.namespaceExists('db')).toBe(true);
    expect(await gateway.namespaceExists('no-such-namespace')).toBe(false);
  });

  it('lists pods, optionally by kubectl selector', async () => {
    expect((await gateway.listPods('api')).map((p) => p.metadata?.name).sort()).toEqual([...SHOP_PODS.orders, SHOP_PODS.payments].sort());
    expect((await gateway.listPods('api', 'app=orders,tier in (api)')).map((p) => p.metadata?.name).sort()).toEqual([...SHOP_PODS.orders].sort());
    expect(await gateway.listPods('api', '  ')).toHaveLength(3);
    expect((await gateway.listPods('db', 'app=postgres'))[0]?.status?.podIP).toBe(SHOP_POD_IPS[SHOP_PODS.postgres]);
  });

  it('refuses a malformed selector before calling the server', async () => {
    sim.clearRequests();
    await expect(gateway.listPods('api', 'app in (x')).rejects.toBeInstanceOf(LabelSelectorSyntaxError);
    await expect(gateway.listPods('api', 'app in (x')).rejects.toThrow(/expected "," or "\)"/);
    expect(sim.requests).toEqual([]);
  });

  it('lists and gets policies; a missing one is undefined', async () => {
    const names = (await gateway.listNetworkPolicies('db')).map((p) => p.metadata?.name);
    expect(names).toEqual([SHOP_POLICIES.dbIngress, SHOP_POLICIES.allowDns, SHOP_POLICIES.defaultDeny]);
    const policy = await gateway.getNetworkPolicy('db', SHOP_POLICIES.dbIngress);
    expect(policy?.spec?.ingress?.[0]?.ports?.map((p) => p.port)).toEqual([5432, 6379]);
    expect(await gateway.getNetworkPolicy('db', 'missing')).toBeUndefined();
    expect(await gateway.listNetworkPolicies('no-such-namespace')).toEqual([]);
  });

  it('refuses blank names without calling the server', async () => {
    sim.clearRequests();
    expect((await rejection(gateway.getNetworkPolicy('', 'x'))).reason).toBe('BadRequest');
    expect((await rejection(gateway.deleteNetworkPolicy('db', ' '))).message).toBe('name is required');
    expect((await rejection(gateway.applyNetworkPolicy({ metadata: { name: 'x' } }, { fieldManager: MANAGER }))).message).toBe('policy metadata.namespace is required');
    expect((await rejection(gateway.applyNetworkPolicy(denyAll('db'), { fieldManager: '' }))).message).toBe('fieldManager is required');
    expect(sim.requests).toEqual([]);
  });
});

describe('discoverKinds', () => {
  const discoveryGets = (): number => sim.requests.filter((r) => r.method === 'GET' && /^\/apis?(\/[^/]+){0,2}$/.test(r.path)).length;

  it('calls made while one is in flight share its requests; the next call asks again and sees a CRD installed meanwhile', async () => {
    sim.clearRequests();
    const alone = await gateway.discoverKinds();
    const perCall = discoveryGets();
    expect(perCall).toBeGreaterThan(0);
    expect(alone.AdminNetworkPolicy.served).toBe(false);

    sim.clearRequests();
    const answers = await Promise.all(Array.from({ length: 20 }, () => gateway.discoverKinds()));
    expect(discoveryGets()).toBe(perCall);
    expect(answers.every((a) => a === answers[0])).toBe(true);

    sim.setCluster({ ...sim.cluster(), adminNetworkPolicy: true });
    try {
      sim.clearRequests();
      expect((await gateway.discoverKinds()).AdminNetworkPolicy.served).toBe(true);
      expect(discoveryGets()).toBe(perCall);
    } finally {
      sim.setCluster({ ...sim.cluster(), adminNetworkPolicy: false });
    }
  });

  it('a failure reaches every call that shared it, and is not kept: the next call asks again', async () => {
    // An API server that refuses connections: a port that was free a moment ago.
    const closed = await startKubeApiServer();
    const kubeconfig = closed.writeKubeconfig(dir, 'down');
    await closed.close();
    const down = createKubeGateway(loadKubeConfig({ kubeconfigPath: kubeconfig }));
    const first = down.discoverKinds();
    const shared = Array.from({ length: 5 }, () => down.discoverKinds());
    expect(shared.every((call) => call === first)).toBe(true);
    const failures = await Promise.all([first, ...shared].map((call) => call.then(() => undefined, (error: unknown) => error)));
    expect(failures.every((e) => e instanceof KubeApiError)).toBe(true);
    const again = down.discoverKinds();
    expect(again).not.toBe(first);
    await expect(again).rejects.toBeInstanceOf(KubeApiError);
  });
});

describe('applyNetworkPolicy (server-side apply)', () => {
  it('creates, then re-applies idempotently', async () => {
    const created = await gateway.applyNetworkPolicy(denyAll('db'), { fieldManager: MANAGER });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.managedFields?.[0]).toMatchObject({ manager: MANAGER, operation: 'Apply' });
    const again = await gateway.applyNetworkPolicy(denyAll('db'), { fieldManager: MANAGER });
    expect(again.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
  });

  it('sends only the intent: a stale resourceVersion or uid in the input does not matter', async () => {
    const live = (await gateway.getNetworkPolicy('db', 'netpol-responder-contain')) as V1NetworkPolicy;
    const stale: V1NetworkPolicy = { ...live, metadata: { ...live.metadata, resourceVersion: '1', uid: 'bogus', managedFields: [] } };
    const out = await gateway.applyNetworkPolicy(stale, { fieldManager: MANAGER });
    expect(out.metadata?.uid).toBe(live.metadata?.uid);
  });

  it('dry-runs without storing', async () => {
    const rv = sim.resourceVersion();
    const out = await gateway.applyNetworkPolicy(denyAll('api', 'dry-contain'), { fieldManager: MANAGER, dryRun: true });
    expect(out.metadata?.name).toBe('dry-contain');
    expect(sim.get('NetworkPolicy', 'api', 'dry-contain')).toBeUndefined();
    expect(sim.resourceVersion()).toBe(rv);
  });

  it('surfaces a field-manager conflict as a non-retryable 409, and force resolves it', async () => {
    const edited = denyAll('db');
    edited.spec = { podSelector: {}, policyTypes: ['Ingress'] };
    const error = await rejection(gateway.applyNetworkPolicy(edited, { fieldManager: 'kubectl' }));
    expect(error).toMatchObject({ status: 409, reason: 'Conflict', retryable: false });
    expect(error.message).toBe(`Apply failed with 1 conflict: conflict with "${MANAGER}" using networking.k8s.io/v1: .spec.policyTypes`);
    expect(error.causes[0]).toMatchObject({ reason: 'FieldManagerConflict', field: '.spec.policyTypes' });
    const forced = await gateway.applyNetworkPolicy(edited, { fieldManager: 'kubectl', force: true });
    expect(forced.spec?.policyTypes).toEqual(['Ingress']);
  });

  it('carries the 422 message and causes for an invalid policy', async () => {
    const bad = denyAll('db', 'bad-ports');
    bad.spec = { podSelector: {}, ingress: [{ ports: [{ port: 'not_a_port' }] }] };
    const error = await rejection(gateway.applyNetworkPolicy(bad, { fieldManager: MANAGER }));
    expect(error).toMatchObject({ status: 422, reason: 'Invalid', retryable: false });
    expect(error.message).toMatch(/^NetworkPolicy.networking.k8s.io "bad-ports" is invalid: spec.ingress\[0\].ports\[0\].port: Invalid value: "not_a_port"/);
    expect(sim.get('NetworkPolicy', 'db', 'bad-ports')).toBeUndefined();
  });

  it('carries the Forbidden message verbatim', async () => {
    const botGateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(dir, 'system:serviceaccount:netpol-responder:bot') }));
    sim.deny({ user: 'system:serviceaccount:netpol-responder:bot', verb: 'patch', resource: 'networkpolicies', namespace: 'db' });
    const error = await rejection(botGateway.applyNetworkPolicy(denyAll('db', 'contain-2'), { fieldManager: MANAGER }));
    expect(error).toMatchObject({ status: 403, reason: 'Forbidden', retryable: false });
    expect(error.message).toBe(
      'networkpolicies.networking.k8s.io "contain-2" is forbidden: User "system:serviceaccount:netpol-responder:bot" cannot patch resource "networkpolicies" in API group "networking.k8s.io" in the namespace "db"',
    );
    expect(sim.get('NetworkPolicy', 'db', 'contain-2')).toBeUndefined();
  });
});

describe('deleteNetworkPolicy', () => {
  it('deletes, and tolerates an already-deleted policy', async () => {
    await gateway.applyNetworkPolicy(denyAll('frontend', 'to-delete'), { fieldManager: MANAGER });
    expect(await gateway.deleteNetworkPolicy('frontend', 'to-delete')).toBe(true);
    expect(await gateway.deleteNetworkPolicy('frontend', 'to-delete')).toBe(false);
    expect(sim.get('NetworkPolicy', 'frontend', 'to-delete')).toBeUndefined();
  });

  it('does not swallow a 403', async () => {
    sim.deny({ verb: 'delete', resource: 'networkpolicies' });
    const error = await rejection(gateway.deleteNetworkPolicy('db', SHOP_POLICIES.defaultDeny));
    expect(error.status).toBe(403);
    expect(sim.get('NetworkPolicy', 'db', SHOP_POLICIES.defaultDeny)).toBeDefined();
  });
});

describe('retryability', () => {
  it.each([429, 500, 502, 503, 504])('marks an injected %i as retryable', async (status) => {
    sim.injectFault({ verb: 'list', resource: 'networkpolicies', status, times: 1 });
    const error = await rejection(gateway.listNetworkPolicies('db'));
    expect(error).toMatchObject({ status, retryable: true });
    expect((await gateway.listNetworkPolicies('db')).length).toBeGreaterThan(0);
  });

  it('passes on the server-suggested retry delay', async () => {
    sim.injectFault({ verb: 'get', resource: 'namespaces', status: 429, times: 1, retryAfterSeconds: 7 });
    const error = await rejection(gateway.namespaceExists('db'));
    expect(error).toMatchObject({ status: 429, reason: 'TooManyRequests', retryable: true, retryAfterSeconds: 7 });
  });

  it('treats an injected 409 on apply as a non-retryable conflict', async () => {
    sim.injectFault({ verb: 'patch', resource: 'networkpolicies', status: 409, times: 1, message: 'Operation cannot be fulfilled' });
    const error = await rejection(gateway.applyNetworkPolicy(denyAll('db'), { fieldManager: MANAGER }));
    expect(error).toMatchObject({ status: 409, retryable: false, message: 'Operation cannot be fulfilled' });
  });

  it('marks a refused connection as a retryable network error', async () => {
    const doomed = await startKubeApiServer();
    const config = loadKubeConfig({ kubeconfigPath: doomed.writeKubeconfig(join(dir, 'doomed')) });
    await doomed.close();
    const error = await rejection(createKubeGateway(config).listNetworkPolicies('db'));
    expect(error).toMatchObject({ status: 0, reason: 'NetworkError', retryable: true });
    expect(error.message).toMatch(/^list networkpolicies in db: .*ECONNREFUSED/);
  });
});
