// The simulator's own API: seeding, inspection, per-user kubeconfigs, shutdown.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { SIM_CONTEXT, startKubeApiServer } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import { simRequest } from '../helpers/kube-sim.js';

const dir = mkdtempSync(join(tmpdir(), 'sim-kube-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('seed', () => {
  it('accepts List kinds, creates missing namespaces and records a seed manager', async () => {
    const sim = await startKubeApiServer();
    try {
      const stored = sim.seed([
        { kind: 'List', apiVersion: 'v1', items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'orphan', labels: { app: 'x' } } }] },
        { kind: 'NetworkPolicyList', apiVersion: 'networking.k8s.io/v1', items: [{ metadata: { name: 'np', namespace: 'orphan' }, spec: { podSelector: {} } }] },
        { kind: 'NamespaceList', apiVersion: 'v1', items: [{ kind: 'Namespace', metadata: { name: 'listed' } }] },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'in-default' } },
      ]);
      expect(stored.map((o) => `${o.kind}/${String(o.metadata?.name)}`)).toEqual(['Namespace/listed', 'Pod/p', 'NetworkPolicy/np', 'Pod/in-default']);
      expect(sim.get('Namespace', undefined, 'orphan')?.metadata?.labels).toEqual({ 'kubernetes.io/metadata.name': 'orphan' });
      expect(sim.get('ns', undefined, 'default')).toBeDefined();
      expect(sim.get('netpol', 'orphan', 'np')?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
      expect((sim.get('pods', 'orphan', 'p')?.metadata?.managedFields as Array<{ manager: string }>)[0]?.manager).toBe('netpol-sim-seed');
      expect(sim.list('Pod').map((p) => p.metadata?.name)).toEqual(['in-default', 'p']);
    } finally {
      await sim.close();
    }
  });

  it('keeps seeded managedFields and honours a custom seed manager', async () => {
    const sim = await startKubeApiServer();
    try {
      const managedFields = [{ manager: 'argocd-controller', operation: 'Apply', apiVersion: 'networking.k8s.io/v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:podSelector': {} } } }];
      sim.seed([{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'a', namespace: 'db', managedFields }, spec: { podSelector: {} } }]);
      expect(sim.get('NetworkPolicy', 'db', 'a')?.metadata?.managedFields).toEqual(managedFields);
      sim.seed([{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'b', namespace: 'db' }, spec: {} }], { fieldManager: 'kubectl-client-side-apply' });
      expect((sim.get('NetworkPolicy', 'db', 'b')?.metadata?.managedFields as Array<{ manager: string }>)[0]?.manager).toBe('kubectl-client-side-apply');
    } finally {
      await sim.close();
    }
  });

  it('refuses invalid, unsupported or duplicate objects with a clear error', async () => {
    const sim = await startKubeApiServer();
    try {
      sim.seed(shopObjects());
      const rv = sim.resourceVersion();
      expect(() => sim.seed([{ kind: 'Deployment', metadata: { name: 'x' } }])).toThrow(/unsupported kind "Deployment"/);
      expect(() => sim.seed([{ metadata: { name: 'x' } }])).toThrow(/every object needs a kind/);
      expect(() => sim.seed([{ kind: 'List' }])).toThrow(/List without items/);
      expect(() => sim.seed([{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'bad', namespace: 'db' }, spec: { ingress: [{ ports: [{ port: 0 }] }] } }])).toThrow(
        /NetworkPolicy.networking.k8s.io "bad" is invalid/,
      );
      expect(() => sim.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db' } }])).toThrow(/namespaces "db" already exists/);
      // All or nothing: a bad object late in the batch stores none of the earlier ones.
      const batch = [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fresh' } },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ok', namespace: 'fresh' } },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ok', namespace: 'fresh' } },
      ];
      expect(() => sim.seed(batch)).toThrow(/pods "ok" already exists/);
      expect(sim.get('Namespace', undefined, 'fresh')).toBeUndefined();
      expect(sim.resourceVersion()).toBe(rv);
      expect(() => sim.get('Secret', 'db', 'x')).toThrow(/no resource type "Secret"/);
    } finally {
      await sim.close();
    }
  });
});

describe('kubeconfigs and users', () => {
  it('writes a kubeconfig per user, all named netpol-sim, trusted over TLS', async () => {
    const sim = await startKubeApiServer({ users: { 'token-a': 'alice' } });
    try {
      sim.seed(shopObjects());
      const alicePath = sim.writeKubeconfig(dir);
      const bobPath = sim.writeKubeconfig(dir, 'bob');
      expect(alicePath).not.toBe(bobPath);
      const doc = parse(readFileSync(alicePath, 'utf8')) as { 'current-context': string; clusters: Array<{ name: string; cluster: { server: string } }>; users: Array<{ user: { token: string } }> };
      expect(doc['current-context']).toBe(SIM_CONTEXT);
      expect(doc.clusters[0]).toMatchObject({ name: SIM_CONTEXT, cluster: { server: sim.url } });
      expect(doc.users[0]?.user.token).toBe('token-a');
      expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      sim.clearRequests();
      for (const path of [alicePath, bobPath]) {
        const kc = new KubeConfig();
        kc.loadFromFile(path);
        await kc.makeApiClient(CoreV1Api).listNamespace();
      }
      expect(sim.requests.map((r) => r.user)).toEqual(['alice', 'bob']);
      expect(sim.tokenFor('bob')).toBe(sim.tokenFor('bob'));
    } finally {
      await sim.close();
    }
  });

  it('rejects a port that is already taken', async () => {
    const sim = await startKubeApiServer();
    try {
      const port = Number(new URL(sim.url).port);
      await expect(startKubeApiServer({ port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await sim.close();
    }
  });
});

describe('close', () => {
  it('ends open watches and stops answering', async () => {
    const sim = await startKubeApiServer();
    sim.seed(shopObjects());
    const kc = new KubeConfig();
    kc.loadFromFile(sim.writeKubeconfig(join(dir, 'close')));
    let added = 0;
    const ended = new Promise<void>((resolve) => {
      void new Watch(kc).watch('/api/v1/pods', {}, () => added++, () => resolve());
    });
    while (added === 0) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await sim.close();
    await ended;
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(simRequest(sim, 'GET', '/version')).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('audit events', () => {
  it('logs who changed which policy, with bodies, in audit.k8s.io/v1 form, also as JSON lines', async () => {
    const logPath = join(dir, 'audit.log');
    const sim = await startKubeApiServer({ users: { 'a-token': 'alice' }, auditLogPath: logPath });
    try {
      sim.seed(shopObjects());
      const np = '/apis/networking.k8s.io/v1/namespaces/db/networkpolicies';
      const patch = { spec: { ingress: [{}] } };
      await simRequest(sim, 'PATCH', `${np}/allow-db-from-api?fieldManager=kubectl-edit`, { user: 'alice', body: JSON.stringify(patch), contentType: 'application/merge-patch+json' });
      await simRequest(sim, 'GET', `${np}/allow-db-from-api`, { user: 'alice' });
      sim.deny({ user: 'mallory', verb: 'delete', resource: 'networkpolicies' });
      await simRequest(sim, 'DELETE', `${np}/default-deny-all`, { user: 'mallory' });
      await simRequest(sim, 'GET', '/version', { user: 'alice' });
      await new Promise((r) => setTimeout(r, 50)); // audit is written when the response closes

      const [edit, read, denied, ...rest] = sim.auditEvents;
      expect(rest).toEqual([]);
      expect(edit).toMatchObject({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        level: 'RequestResponse',
        stage: 'ResponseComplete',
        verb: 'patch',
        user: { username: 'alice' },
        objectRef: { resource: 'networkpolicies', namespace: 'db', name: 'allow-db-from-api', apiGroup: 'networking.k8s.io', apiVersion: 'v1' },
        responseStatus: { code: 200 },
        requestObject: patch,
        annotations: { 'authorization.k8s.io/decision': 'allow' },
      });
      expect(edit?.requestURI).toBe(`${np}/allow-db-from-api?fieldManager=kubectl-edit`);
      expect((edit?.responseObject as { spec: unknown }).spec).toMatchObject({ ingress: [{}] });
      expect(Date.parse(edit?.stageTimestamp ?? '')).toBeGreaterThanOrEqual(Date.parse(edit?.requestReceivedTimestamp ?? ''));
      expect(read).toMatchObject({ level: 'Metadata', verb: 'get' });
      expect(read?.requestObject).toBeUndefined();
      expect(read?.responseObject).toBeUndefined();
      expect(denied).toMatchObject({
        verb: 'delete',
        user: { username: 'mallory' },
        responseStatus: { code: 403, status: 'Failure', reason: 'Forbidden' },
        annotations: { 'authorization.k8s.io/decision': 'forbid' },
      });
      const lines = readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
      expect(lines).toEqual(sim.auditEvents);
    } finally {
      await sim.close();
    }
  });
});
