// The adapter's generic object API and discovery, against the simulated API server over HTTPS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  KubeApiError,
  LabelSelectorSyntaxError,
  createKubeGateway,
  isStaleWrite,
  loadKubeConfig,
  type AdminNetworkPolicy,
  type CiliumNetworkPolicy,
  type KubeGateway,
} from '../../src/kube/index.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { SHOP_ARGOCD, SHOP_PODS, shopObjects } from '../../src/sim/scenarios/shop.js';

const BOT = 'system:serviceaccount:netpol-responder:netpol-responder';
const MANAGER = 'netpol-responder';

let sim: KubeApiSim;
let plain: KubeApiSim;
let dir: string;
let gateway: KubeGateway;
let plainGateway: KubeGateway;

function quarantineAnp(name = 'netpol-responder-inc-1', priority = 3): AdminNetworkPolicy {
  return {
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    kind: 'AdminNetworkPolicy',
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': MANAGER } },
    spec: {
      priority,
      subject: { pods: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } }, podSelector: { matchLabels: { app: 'postgres' } } } },
      ingress: [{ name: 'deny-in', action: 'Deny', from: [{ namespaces: {} }] }],
      egress: [
        { name: 'dns', action: 'Allow', to: [{ pods: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } } }], ports: [{ portNumber: { port: 53, protocol: 'UDP' } }] },
        { name: 'deny-out', action: 'Deny', to: [{ namespaces: {} }, { networks: ['0.0.0.0/0', '::/0'] }] },
      ],
    },
  };
}

function quarantineCnp(name = 'quarantine', namespace = 'db'): CiliumNetworkPolicy {
  return {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name, namespace, labels: { incident: 'inc-1' } },
    spec: { endpointSelector: { matchLabels: { app: 'postgres' } }, ingressDeny: [{ fromEntities: ['all'] }], egressDeny: [{ toEntities: ['all'] }] },
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
  dir = mkdtempSync(join(tmpdir(), 'kube-objects-'));
  sim = await startKubeApiServer({ users: { 'bot-token': BOT }, cluster: { cni: 'cilium', adminNetworkPolicy: true, argocd: true } });
  sim.seed(shopObjects({ argocd: true }));
  plain = await startKubeApiServer({ users: { 'bot-token-2': BOT } });
  plain.seed(shopObjects());
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: sim.writeKubeconfig(join(dir, 'full')) }));
  plainGateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: plain.writeKubeconfig(join(dir, 'plain')) }));
});
afterAll(async () => {
  await sim?.close();
  await plain?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.clearDenials();
  sim.clearFaults();
});

describe('discoverKinds', () => {
  it('says which kinds are served, with reasons', async () => {
    const full = await gateway.discoverKinds();
    expect(full.AdminNetworkPolicy).toEqual({ kind: 'AdminNetworkPolicy', served: true, reason: 'policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy is served' });
    expect(full.CiliumNetworkPolicy.served).toBe(true);
    expect(full.Application.served).toBe(true);
    expect(full.Pod.reason).toBe('v1 Pod is served');
    const bare = await plainGateway.discoverKinds();
    expect(bare.NetworkPolicy.served).toBe(true);
    expect(bare.AdminNetworkPolicy).toEqual({
      kind: 'AdminNetworkPolicy',
      served: false,
      reason: 'policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy is not served: the cluster has no API policy.networking.k8s.io/v1alpha1 (CRD adminnetworkpolicies.policy.networking.k8s.io is not installed)',
    });
    expect(bare.CiliumNetworkPolicy.served).toBe(false);
  });

  it('follows a CRD installed while running', async () => {
    plain.setCluster({ argocd: true });
    try {
      expect((await plainGateway.discoverKinds()).Application.served).toBe(true);
    } finally {
      plain.setCluster({});
    }
    expect((await plainGateway.discoverKinds()).Application.served).toBe(false);
  });
});

describe('cluster-scoped kinds: AdminNetworkPolicy', () => {
  const anps = () => gateway.objects('AdminNetworkPolicy');

  it('applies, re-applies idempotently, dry-runs, gets and lists', async () => {
    const created = await anps().apply(quarantineAnp(), { fieldManager: MANAGER });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.spec?.egress?.[0]?.ports?.[0]?.portNumber?.protocol).toBe('UDP');
    const again = await anps().apply(quarantineAnp(), { fieldManager: MANAGER });
    expect(again.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    const rv = sim.resourceVersion();
    const dry = await anps().apply(quarantineAnp('dry-one'), { fieldManager: MANAGER, dryRun: true });
    expect(dry.metadata?.name).toBe('dry-one');
    expect(sim.resourceVersion()).toBe(rv);
    expect((await anps().get({ name: 'netpol-responder-inc-1' }))?.spec?.priority).toBe(3);
    expect(await anps().get({ name: 'nope' })).toBeUndefined();
    const listed = await anps().list({ labelSelector: 'app.kubernetes.io/managed-by=netpol-responder' });
    expect(listed.items.map((a) => a.metadata?.name)).toEqual(['netpol-responder-inc-1']);
    expect(listed.resourceVersion).toBe(sim.resourceVersion());
  });

  it('surfaces an apply conflict as 409, and force takes the field', async () => {
    const edited = quarantineAnp();
    (edited.spec as { priority: number }).priority = 9;
    const error = await rejection(anps().apply(edited, { fieldManager: 'kubectl' }));
    expect(error).toMatchObject({ status: 409, reason: 'Conflict', retryable: false });
    expect(error.message).toMatch(/conflict with "netpol-responder"/);
    expect(isStaleWrite(error)).toBe(true);
    expect((await anps().apply(edited, { fieldManager: 'kubectl', force: true })).spec?.priority).toBe(9);
  });

  it('replaces with optimistic concurrency: a stale version is a 409 to retry on', async () => {
    const live = (await anps().get({ name: 'netpol-responder-inc-1' })) as AdminNetworkPolicy;
    const stale = structuredClone(live);
    const next = structuredClone(live);
    (next.spec as { priority: number }).priority = 4;
    const replaced = await anps().replace(next, { fieldManager: MANAGER });
    expect(replaced.spec?.priority).toBe(4);
    expect(replaced.metadata?.generation).toBe(Number(live.metadata?.generation) + 1);
    (stale.spec as { priority: number }).priority = 7;
    const error = await rejection(anps().replace(stale));
    expect(error).toMatchObject({ status: 409, reason: 'Conflict' });
    expect(isStaleWrite(error)).toBe(true);
    expect(error.message).toBe('Operation cannot be fulfilled on adminnetworkpolicies.policy.networking.k8s.io "netpol-responder-inc-1": the object has been modified; please apply your changes to the latest version and try again');
    const unversioned = structuredClone(live);
    delete unversioned.metadata?.resourceVersion;
    sim.clearRequests();
    expect((await rejection(anps().replace(unversioned))).message).toMatch(/metadata.resourceVersion \(replace is conditional; read the object first\) is required/);
    expect(sim.requests).toEqual([]);
  });

  it('applies only at a given resourceVersion when asked: a stale one is a 409 and changes nothing', async () => {
    const live = (await anps().get({ name: 'netpol-responder-inc-1' })) as AdminNetworkPolicy;
    const rv = String(live.metadata?.resourceVersion);
    const next = quarantineAnp();
    (next.spec as { priority: number }).priority = 5;
    const applied = await anps().apply(next, { fieldManager: MANAGER, force: true, resourceVersion: rv });
    expect(applied.spec?.priority).toBe(5);
    (next.spec as { priority: number }).priority = 6;
    const error = await rejection(anps().apply(next, { fieldManager: MANAGER, force: true, resourceVersion: rv }));
    expect(error).toMatchObject({ status: 409, reason: 'Conflict' });
    expect((await anps().get({ name: 'netpol-responder-inc-1' }))?.spec?.priority).toBe(5);
  });

  it('deletes with preconditions, tolerating 404', async () => {
    await anps().apply(quarantineAnp('to-delete', 20), { fieldManager: MANAGER });
    const live = (await anps().get({ name: 'to-delete' })) as AdminNetworkPolicy;
    const wrongUid = await rejection(anps().delete({ name: 'to-delete' }, { uid: '00000000-0000-0000-0000-000000000000' }));
    expect(wrongUid).toMatchObject({ status: 409, reason: 'Conflict' });
    expect(wrongUid.message).toMatch(/Precondition failed: UID in precondition/);
    expect(await anps().delete({ name: 'to-delete' }, { uid: live.metadata?.uid as string, resourceVersion: live.metadata?.resourceVersion as string })).toBe(true);
    expect(await anps().delete({ name: 'to-delete' })).toBe(false);
  });

  it('refuses a namespace on a cluster-scoped kind, and blank names, without a request', async () => {
    sim.clearRequests();
    expect((await rejection(anps().get({ name: 'x', namespace: 'db' }))).message).toBe('AdminNetworkPolicy is cluster-scoped: it takes no namespace (got "db")');
    expect((await rejection(anps().list({ namespace: 'db' }))).message).toMatch(/cluster-scoped/);
    expect((await rejection(gateway.objects('CiliumNetworkPolicy').get({ name: 'x' }))).message).toBe('CiliumNetworkPolicy namespace is required');
    expect((await rejection(anps().delete({ name: ' ' }))).message).toBe('AdminNetworkPolicy name is required');
    expect((await rejection(anps().apply(quarantineAnp(), { fieldManager: '' }))).message).toBe('fieldManager is required');
    await expect(anps().list({ labelSelector: 'app in (x' })).rejects.toBeInstanceOf(LabelSelectorSyntaxError);
    expect(sim.requests).toEqual([]);
  });

  it('carries 422 messages and causes for objects the CRD rejects, storing nothing', async () => {
    const bad = quarantineAnp('bad-anp', 1001);
    const error = await rejection(anps().apply(bad, { fieldManager: MANAGER }));
    expect(error).toMatchObject({ status: 422, reason: 'Invalid', retryable: false });
    expect(error.message).toBe('AdminNetworkPolicy.policy.networking.k8s.io "bad-anp" is invalid: spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000');
    expect(error.causes).toEqual([{ reason: 'FieldValueInvalid', message: 'Invalid value: 1001: spec.priority in body should be less than or equal to 1000', field: 'spec.priority' }]);
    const banp = await rejection(
      gateway.objects('BaselineAdminNetworkPolicy').apply({ metadata: { name: 'not-default' }, spec: { subject: { namespaces: {} } } }, { fieldManager: MANAGER }),
    );
    expect(banp.message).toMatch(/<nil>: Invalid value: "object": Only one baseline admin network policy with metadata.name="default"/);
    expect(sim.list('AdminNetworkPolicy').map((a) => a.metadata?.name)).not.toContain('bad-anp');
  });

  it('refuses unknown fields: writes ask for strict validation', async () => {
    const typo = quarantineAnp('typo') as AdminNetworkPolicy & { spec: Record<string, unknown> };
    typo.spec.egres = [];
    const error = await rejection(anps().apply(typo, { fieldManager: MANAGER }));
    expect(error).toMatchObject({ status: 400, reason: 'BadRequest' });
    expect(error.message).toBe('strict decoding error: unknown field "spec.egres"');
    expect(sim.get('AdminNetworkPolicy', undefined, 'typo')).toBeUndefined();
  });
});

describe('namespaced kinds: CiliumNetworkPolicy, Pod, Namespace, Application, NetworkPolicy', () => {
  it('lists per namespace and cluster-wide', async () => {
    const cnps = gateway.objects('CiliumNetworkPolicy');
    await cnps.apply(quarantineCnp('q-db', 'db'), { fieldManager: MANAGER });
    await cnps.apply(quarantineCnp('q-api', 'api'), { fieldManager: MANAGER });
    expect((await cnps.list({ namespace: 'db' })).items.map((c) => c.metadata?.name)).toEqual(['q-db']);
    expect((await cnps.list()).items.map((c) => `${c.metadata?.namespace}/${c.metadata?.name}`)).toEqual(['api/q-api', 'db/q-db']);
    expect((await cnps.list({ labelSelector: 'incident=inc-1', pageSize: 1 })).items).toHaveLength(2);
  });

  it('pages through pods and namespaces too (the typed core lists name the token `_continue`)', async () => {
    const pods = (await gateway.objects('Pod').list()).items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
    expect(pods.length).toBeGreaterThan(2);
    expect((await gateway.objects('Pod').list({ pageSize: 1 })).items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)).toEqual(pods);
    const namespaces = (await gateway.objects('Namespace').list()).items.map((n) => n.metadata?.name);
    expect(namespaces.length).toBeGreaterThan(2);
    expect((await gateway.objects('Namespace').list({ pageSize: 2 })).items.map((n) => n.metadata?.name)).toEqual(namespaces);
  });

  it('reports a Cilium port given as a number the way the CRD does', async () => {
    const bad = quarantineCnp('bad-port');
    bad.spec = { endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: 53 as unknown as string, protocol: 'UDP' }] }] }] };
    const error = await rejection(gateway.objects('CiliumNetworkPolicy').create(bad, { fieldManager: MANAGER }));
    expect(error.status).toBe(422);
    expect(error.message).toMatch(/spec.egress\[0\].toPorts\[0\].ports\[0\].port: Invalid value: "integer": spec.egress\[0\].toPorts\[0\].ports\[0\].port in body must be of type string: "integer"/);
  });

  it('patches pod labels with a resourceVersion precondition', async () => {
    const pods = gateway.objects('Pod');
    const pod = (await pods.get({ namespace: 'db', name: SHOP_PODS.postgres }))!;
    expect(typeof pod.metadata?.creationTimestamp).toBe('string');
    expect(pod.metadata?.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const patched = await pods.mergePatch({ namespace: 'db', name: SHOP_PODS.postgres }, { metadata: { labels: { 'netpol-responder/quarantine': 'inc-1' } } }, { resourceVersion: pod.metadata?.resourceVersion as string, fieldManager: MANAGER });
    expect(patched.metadata?.labels).toMatchObject({ app: 'postgres', 'netpol-responder/quarantine': 'inc-1' });
    expect(Number(patched.metadata?.resourceVersion)).toBeGreaterThan(Number(pod.metadata?.resourceVersion));
    const stale = await rejection(pods.mergePatch({ namespace: 'db', name: SHOP_PODS.postgres }, { metadata: { labels: { x: 'y' } } }, { resourceVersion: pod.metadata?.resourceVersion as string }));
    expect(isStaleWrite(stale)).toBe(true);
    const removed = await pods.mergePatch({ namespace: 'db', name: SHOP_PODS.postgres }, { metadata: { labels: { 'netpol-responder/quarantine': null } } });
    expect(removed.metadata?.labels).not.toHaveProperty('netpol-responder/quarantine');
    expect((await pods.list({ namespace: 'api', labelSelector: 'tier=api' })).items).toHaveLength(3);
    expect((await pods.list({ labelSelector: 'app=postgres' })).items.map((p) => p.metadata?.name)).toEqual([SHOP_PODS.postgres]);
  });

  it("annotates Argo CD's Application and labels a namespace", async () => {
    const apps = gateway.objects('Application');
    const ref = { namespace: SHOP_ARGOCD.namespace, name: SHOP_ARGOCD.application };
    const app = await apps.mergePatch(ref, { metadata: { annotations: { 'argocd.argoproj.io/skip-reconcile': 'true' } } }, { fieldManager: MANAGER });
    expect(app.metadata?.annotations?.['argocd.argoproj.io/skip-reconcile']).toBe('true');
    expect(app.spec?.syncPolicy?.automated).toEqual({ prune: true, selfHeal: true });
    const ns = await gateway.objects('Namespace').mergePatch({ name: 'db' }, { metadata: { labels: { quarantined: 'true' } } });
    expect(ns.metadata?.labels).toMatchObject({ quarantined: 'true', 'kubernetes.io/metadata.name': 'db' });
  });

  it('replaces a pod and a namespace read before, and creates only new objects', async () => {
    const pod = (await gateway.objects('Pod').get({ namespace: 'api', name: SHOP_PODS.payments }))!;
    pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, replaced: 'yes' } };
    const replaced = await gateway.objects('Pod').replace(pod);
    expect(replaced.metadata?.labels?.replaced).toBe('yes');
    expect(replaced.spec).toEqual(pod.spec);
    expect(isStaleWrite(await rejection(gateway.objects('Pod').replace(pod)))).toBe(true);
    const ns = (await gateway.objects('Namespace').get({ name: 'api' }))!;
    ns.metadata = { ...ns.metadata, annotations: { owner: 'checkout' } };
    expect((await gateway.objects('Namespace').replace(ns)).metadata?.annotations).toEqual({ owner: 'checkout' });
    const ccnps = gateway.objects('CiliumClusterwideNetworkPolicy');
    const body = { metadata: { name: 'fence' }, spec: { nodeSelector: {}, ingressDeny: [{ fromEntities: ['world' as const] }] } };
    expect((await ccnps.create(body, { fieldManager: MANAGER })).metadata?.uid).toBeTruthy();
    const taken = await rejection(ccnps.create(body, { fieldManager: MANAGER }));
    expect(taken).toMatchObject({ status: 409, reason: 'AlreadyExists' });
    expect(isStaleWrite(taken)).toBe(false);
  });

  it('reaches NetworkPolicies through the same API', async () => {
    const nps = gateway.objects('NetworkPolicy');
    const created = await nps.apply({ metadata: { name: 'np-generic', namespace: 'db' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }, { fieldManager: MANAGER });
    expect(created.spec?.policyTypes).toEqual(['Ingress']);
    expect((await gateway.getNetworkPolicy('db', 'np-generic'))?.metadata?.uid).toBe(created.metadata?.uid);
    expect(await nps.delete({ namespace: 'db', name: 'np-generic' })).toBe(true);
  });
});

describe('errors that say what to do', () => {
  it('names the missing RBAC rule on a 403 for a CRD verb', async () => {
    sim.deny({ user: BOT, verb: 'patch', resource: 'adminnetworkpolicies' });
    const error = await rejection(gateway.objects('AdminNetworkPolicy').apply(quarantineAnp('denied'), { fieldManager: MANAGER }));
    expect(error).toMatchObject({ status: 403, reason: 'Forbidden', retryable: false, missingPermission: { verb: 'patch', group: 'policy.networking.k8s.io', resource: 'adminnetworkpolicies' } });
    expect(error.message).toBe(
      `adminnetworkpolicies.policy.networking.k8s.io "denied" is forbidden: User "${BOT}" cannot patch resource "adminnetworkpolicies" in API group "policy.networking.k8s.io" at the cluster scope. ` +
        `The bot's RBAC lacks verb "patch" on resource "adminnetworkpolicies" in apiGroup "policy.networking.k8s.io": add it to the bot's ClusterRole (deploy/rbac.yaml) and apply it.`,
    );
    sim.deny({ user: BOT, verb: 'patch', resource: 'pods', namespace: 'db' });
    const pod = await rejection(gateway.objects('Pod').mergePatch({ namespace: 'db', name: SHOP_PODS.postgres }, { metadata: { labels: { a: 'b' } } }));
    expect(pod.message).toMatch(/lacks verb "patch" on resource "pods" in apiGroup "" \(core\) \(namespace db, or cluster-wide\)/);
    expect(sim.get('AdminNetworkPolicy', undefined, 'denied')).toBeUndefined();
  });

  it('says a kind is not served when its CRD is missing, on every verb', async () => {
    const anps = plainGateway.objects('AdminNetworkPolicy');
    const get = await rejection(anps.get({ name: 'x' }));
    expect(get).toMatchObject({ status: 404, reason: 'NotFound', kindNotServed: true });
    expect(get.message).toBe(
      'policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy is not served by this cluster: its CRD adminnetworkpolicies.policy.networking.k8s.io is not installed. Install it, or use a containment strategy that does not need it.',
    );
    expect((await rejection(anps.delete({ name: 'x' }))).kindNotServed).toBe(true);
    expect((await rejection(anps.list())).kindNotServed).toBe(true);
    expect((await rejection(plainGateway.objects('CiliumNetworkPolicy').apply(quarantineCnp(), { fieldManager: MANAGER }))).kindNotServed).toBe(true);
  });

  it('keeps hostile names inside their path segment', async () => {
    const pods = gateway.objects('Pod');
    // Unescaped, each of these would resolve to db/postgres-0.
    expect(await pods.get({ namespace: 'api', name: `../../db/pods/${SHOP_PODS.postgres}` })).toBeUndefined();
    expect(await pods.get({ namespace: 'api/pods/../../db', name: SHOP_PODS.postgres })).toBeUndefined();
    expect(await pods.delete({ namespace: 'api', name: `../../db/pods/${SHOP_PODS.postgres}` })).toBe(false);
    expect(sim.get('Pod', 'db', SHOP_PODS.postgres)).toBeDefined();
    expect(await gateway.objects('Namespace').get({ name: 'db?watch=true' })).toBeUndefined();
  });

  it('refuses oversized objects with 413 and huge lists with one error, storing nothing', async () => {
    const huge = quarantineCnp('huge');
    huge.metadata = { ...huge.metadata, annotations: { big: 'x'.repeat(3.5 * 1024 * 1024) } };
    expect((await rejection(gateway.objects('CiliumNetworkPolicy').apply(huge, { fieldManager: MANAGER }))).status).toBe(413);
    const many = quarantineAnp('many-rules');
    many.spec!.ingress = Array.from({ length: 20_000 }, () => ({ action: 'Deny' as const, from: [{ namespaces: {} }] }));
    const error = await rejection(gateway.objects('AdminNetworkPolicy').apply(many, { fieldManager: MANAGER }));
    expect(error.message).toBe('AdminNetworkPolicy.policy.networking.k8s.io "many-rules" is invalid: spec.ingress: Too many: 20000: must have at most 100 items');
    expect(sim.get('CiliumNetworkPolicy', 'db', 'huge')).toBeUndefined();
    expect(sim.get('AdminNetworkPolicy', undefined, 'many-rules')).toBeUndefined();
  });
});
