// The simulated Argo CD controller against the simulated API server and a real bare Git repository
// of the shop's policies: sync operations put Git's objects back, and anything malformed, hostile,
// unknown or skipped writes nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runGit } from '../../src/git/exec.js';
import { sameState } from '../../src/git/normalize.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { MAX_MANIFEST_BYTES, SKIP_RECONCILE_ANNOTATION, startSimArgoCd, type SimArgoCd } from '../../src/sim/argocd-controller.js';
import { writeHistory } from '../../src/sim/git-remote.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { SHOP_ARGOCD, SHOP_POLICIES, shopObjects, shopPolicyObjects } from '../../src/sim/scenarios/shop.js';
import { createShopGitRepository, SHOP_GIT_PEOPLE, shopGitHead, type ShopGitRepository } from '../../src/sim/scenarios/shop-git.js';
import { waitFor } from '../helpers/journal-cluster.js';

type Obj = Record<string, unknown>;
const APP = { namespace: SHOP_ARGOCD.namespace, name: SHOP_ARGOCD.application };
const DB_DENY = { namespace: 'db', name: SHOP_POLICIES.defaultDeny };
const API_DNS = { namespace: 'api', name: SHOP_POLICIES.allowDns };

let dir: string;
let kube: KubeApiSim;
let repo: ShopGitRepository;
let gateway: KubeGateway;
let argocd: SimArgoCd | undefined;

/** The shop with Argo CD, its Application pointed at the local repository (plus any changes). */
function seedShop(app: (app: Obj) => void = () => undefined): void {
  const objects = shopObjects({ argocd: true }) as Obj[];
  const application = objects.find((o) => o.kind === 'Application') as Obj;
  ((application.spec as Obj).source as Obj).repoURL = repo.remoteUrl;
  app(application);
  kube.seed(objects);
}

async function start(): Promise<SimArgoCd> {
  argocd = await startSimArgoCd({ kubeconfigPath: kube.writeKubeconfig(dir), repositories: { [repo.remoteUrl]: repo.remoteDir }, pollMs: 10 });
  return argocd;
}

const policies = () => gateway.objects('NetworkPolicy');
const application = async () => (await gateway.objects('Application').get(APP)) as Obj;

async function requestSync(sync: Obj = {}): Promise<void> {
  await gateway.objects('Application').mergePatch(APP, { operation: { initiatedBy: { username: 'netpol-responder' }, sync } });
}

/** The Application once its operation has finished. */
async function finished(): Promise<Obj> {
  await waitFor('the sync operation to finish', async () => {
    const app = await application();
    return app.operation === undefined && (app.status as Obj | undefined)?.operationState !== undefined;
  });
  return application();
}

/** How many times the controller has listed Applications so far. */
function polls(): number {
  // By path: while the kind is not served, its requests have no resource.
  return kube.requests.filter((r) => r.method === 'GET' && r.path === '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications').length;
}

/** Applies to NetworkPolicies that went through, real ones or dry runs. */
function policyWrites(dryRun = false): number {
  return kube.requests.filter((r) => r.resource === 'networkpolicies' && r.method === 'PATCH' && r.status < 300 && (r.query.dryRun === 'All') === dryRun).length;
}

async function gitObject(ref: { namespace: string; name: string }, revision = 'main'): Promise<Obj> {
  const { stdout } = await runGit(['show', `${revision}:policies/${ref.namespace}/${ref.name}.yaml`], { cwd: repo.remoteDir });
  return parse(stdout.toString('utf8')) as Obj;
}

/** A new commit on main (files replaced or added as given), as a push would leave it. */
async function commit(files: Record<string, string>): Promise<string> {
  const [sha] = await writeHistory(repo.remoteDir, [{ author: SHOP_GIT_PEOPLE.dave, time: new Date(), message: 'edit policies', files }]);
  return sha as string;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'netpol-sim-argocd-'));
  repo = await createShopGitRepository(dir);
  kube = await startKubeApiServer({ cluster: { argocd: true } });
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: kube.writeKubeconfig(dir) }));
});

afterEach(async () => {
  await argocd?.close();
  argocd = undefined;
  await kube?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the simulated Argo CD controller', () => {
  it('puts a deleted policy back as Git declares it, tracked, applied by argocd-controller, and reports the sync', async () => {
    seedShop();
    const controller = await start();
    expect(await policies().delete(DB_DENY)).toBe(true);
    await requestSync();
    const app = await finished();

    const head = await shopGitHead(repo);
    const state = (app.status as Obj).operationState as Obj;
    expect(state).toMatchObject({ phase: 'Succeeded', syncResult: { revision: head } });
    expect(((state.syncResult as Obj).resources as Obj[]).length).toBe(shopPolicyObjects().length);
    expect((app.status as Obj).sync).toMatchObject({ status: 'Synced', revision: head });

    const restored = (await policies().get(DB_DENY)) as unknown as Obj;
    expect(sameState(await gitObject(DB_DENY), restored)).toBe(true);
    const meta = restored.metadata as { annotations: Record<string, string>; managedFields: Array<{ manager: string; operation: string }> };
    expect(meta.annotations['argocd.argoproj.io/tracking-id']).toBe(`${APP.name}:networking.k8s.io/NetworkPolicy:db/${DB_DENY.name}`);
    expect(meta.managedFields).toContainEqual(expect.objectContaining({ manager: 'argocd-controller', operation: 'Apply' }));

    expect(controller.syncs).toHaveLength(1);
    expect(controller.syncs[0]).toMatchObject({ namespace: APP.namespace, application: APP.name, revision: head, phase: 'Succeeded' });
    expect(controller.syncs[0]?.resources).toContain(`NetworkPolicy/db/${DB_DENY.name}`);
    expect(controller.syncs[0]?.resources).toHaveLength(shopPolicyObjects().length);
  });

  it('applies only the resources the operation names, and says which of them Git lacks', async () => {
    seedShop();
    const controller = await start();
    await policies().delete(DB_DENY);
    await policies().delete(API_DNS);
    await requestSync({
      resources: [
        { group: 'networking.k8s.io', kind: 'NetworkPolicy', ...DB_DENY },
        { group: 'networking.k8s.io', kind: 'NetworkPolicy', namespace: 'db', name: 'not-in-git' },
      ],
    });
    const state = ((await finished()).status as Obj).operationState as Obj;
    expect(state.phase).toBe('Succeeded');
    expect(state.message).toContain('NetworkPolicy/db/not-in-git');
    expect(((state.syncResult as Obj).resources as Obj[]).map((r) => `${String(r.namespace)}/${String(r.name)}`)).toEqual([`db/${DB_DENY.name}`]);
    expect(await policies().get(DB_DENY)).toBeDefined();
    expect(await policies().get(API_DNS)).toBeUndefined();
    expect(controller.syncs[0]?.resources).toEqual([`NetworkPolicy/db/${DB_DENY.name}`]);
  });

  it('leaves an Application marked skip-reconcile alone until the mark is removed', async () => {
    seedShop((app) => ((app.metadata as Obj).annotations = { [SKIP_RECONCILE_ANNOTATION]: 'true' }));
    const controller = await start();
    await policies().delete(DB_DENY);
    await requestSync();
    const seen = polls();
    await waitFor('three more polls', () => polls() >= seen + 3);
    expect((await application()).operation).toBeDefined();
    expect(await policies().get(DB_DENY)).toBeUndefined();
    expect(controller.syncs).toEqual([]);

    await gateway.objects('Application').mergePatch(APP, { metadata: { annotations: { [SKIP_RECONCILE_ANNOTATION]: null } } });
    expect(((await finished()).status as Obj).operationState).toMatchObject({ phase: 'Succeeded' });
    expect(await policies().get(DB_DENY)).toBeDefined();
  });

  it('fails an unknown revision without writing anything', async () => {
    seedShop();
    const controller = await start();
    await policies().delete(DB_DENY);
    const writes = policyWrites();
    await requestSync({ revision: 'no-such-branch' });
    const app = await finished();
    expect((app.status as Obj).operationState).toMatchObject({ phase: 'Failed', message: expect.stringContaining('no-such-branch') });
    expect(((app.status as Obj).operationState as Obj).syncResult).toBeUndefined();
    expect((app.status as Obj).sync).toEqual({ status: 'Synced', revision: 'main' });
    expect(controller.syncs).toEqual([expect.objectContaining({ phase: 'Failed', resources: [] })]);
    expect(controller.syncs[0]?.revision).toBeUndefined();
    expect(await policies().get(DB_DENY)).toBeUndefined();
    expect(policyWrites()).toBe(writes);
  });

  const hostile: Array<[string, Record<string, string>, string]> = [
    ['a YAML syntax error', { 'policies/api/allow-dns-egress.yaml': 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: [oops\n' }, 'policies/api/allow-dns-egress.yaml'],
    ['an object without a name', { 'policies/api/allow-dns-egress.yaml': 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  namespace: api\nspec: {}\n' }, 'metadata.name'],
    ['a kind the controller cannot apply', { 'policies/api/allow-dns-egress.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\n  namespace: api\n' }, 'v1 Secret'],
    ['a list instead of an object', { 'policies/api/allow-dns-egress.yaml': '- a\n- b\n' }, 'not a Kubernetes object'],
    ['an alias bomb', { 'policies/api/allow-dns-egress.yaml': `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: 12 }, (_, i) => `b${i}: &b${i} [${`*${i === 0 ? 'a' : `b${i - 1}`}, `.repeat(10)}]`).join('\n')}\n` }, 'allow-dns-egress.yaml: Excessive alias count'],
    ['a resource outside the repository', { 'policies/kustomization.yaml': 'resources:\n  - ../../../../etc/passwd\n' }, 'outside the repository'],
    ['a kustomization feature not simulated', { 'policies/kustomization.yaml': 'resources:\n  - db/default-deny-all.yaml\nnamePrefix: evil-\n' }, 'namePrefix'],
  ];

  it.each(hostile)('fails a commit with %s without writing anything', async (_what, files, named) => {
    seedShop();
    const controller = await start();
    await policies().delete(DB_DENY);
    const sha = await commit(files);
    const applied = policyWrites();
    await requestSync();
    const state = ((await finished()).status as Obj).operationState as Obj;
    expect(state).toMatchObject({ phase: 'Failed', message: expect.stringContaining(named), syncResult: { revision: sha, resources: [] } });
    expect(controller.syncs).toEqual([expect.objectContaining({ phase: 'Failed', revision: sha, resources: [] })]);
    expect(await policies().get(DB_DENY)).toBeUndefined();
    expect(policyWrites()).toBe(applied);
  });

  it('dry-runs every object first: one the API server refuses stops the sync before any write', async () => {
    seedShop();
    await start();
    await policies().delete(DB_DENY);
    const sha = await commit({ 'policies/api/allow-dns-egress.yaml': 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-dns-egress\n  namespace: api\nspec:\n  policyTypes: [Sideways]\n' });
    const [applied, dryRuns] = [policyWrites(), policyWrites(true)];
    await requestSync();
    const state = ((await finished()).status as Obj).operationState as Obj;
    expect(state).toMatchObject({ phase: 'Failed', message: expect.stringContaining('NetworkPolicy/api/allow-dns-egress'), syncResult: { revision: sha, resources: [] } });
    expect(policyWrites(true)).toBeGreaterThan(dryRuns);
    expect(policyWrites()).toBe(applied);
    expect(await policies().get(DB_DENY)).toBeUndefined();
  });

  it('refuses a manifest over the size limit', async () => {
    seedShop();
    await start();
    await policies().delete(DB_DENY);
    const policy = await gitObject(API_DNS);
    const padded = `${JSON.stringify(policy)}\n# ${'x'.repeat(MAX_MANIFEST_BYTES)}\n`;
    await commit({ 'policies/api/allow-dns-egress.yaml': padded });
    await requestSync();
    const state = ((await finished()).status as Obj).operationState as Obj;
    expect(state).toMatchObject({ phase: 'Failed', message: expect.stringMatching(/policies\/api\/allow-dns-egress\.yaml: \d+ bytes is over/) });
    expect(await policies().get(DB_DENY)).toBeUndefined();
  });

  it('fails an Application whose repository it does not know', async () => {
    seedShop((app) => (((app.spec as Obj).source as Obj).repoURL = 'https://git.elsewhere.example/policies.git'));
    const controller = await start();
    await policies().delete(DB_DENY);
    await requestSync();
    const state = ((await finished()).status as Obj).operationState as Obj;
    expect(state).toMatchObject({ phase: 'Failed', message: expect.stringContaining('https://git.elsewhere.example/policies.git') });
    expect(controller.syncs).toEqual([expect.objectContaining({ phase: 'Failed' })]);
    expect(await policies().get(DB_DENY)).toBeUndefined();
  });

  it('syncs again on a second operation, and stops polling once closed', async () => {
    seedShop();
    const controller = await start();
    await requestSync();
    await finished();
    await policies().delete(DB_DENY);
    await requestSync({ revision: repo.commits.at(-1)?.sha });
    await waitFor('the second sync', () => controller.syncs.length === 2);
    expect(await policies().get(DB_DENY)).toBeDefined();

    await controller.close();
    const seen = polls();
    await policies().delete(DB_DENY);
    await requestSync();
    // Nothing to wait for when nothing happens: give a stopped 10 ms poller ample time to show itself.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(polls()).toBe(seen);
    expect((await application()).operation).toBeDefined();
    expect(controller.syncs).toHaveLength(2);
  });

  it('keeps polling while the API server does not serve Applications, and syncs once it does', async () => {
    seedShop();
    kube.setCluster({ argocd: false });
    const controller = await start();
    const seen = polls();
    await waitFor('three polls without Applications', () => polls() >= seen + 3);
    kube.setCluster({ argocd: true });
    kube.seed((shopObjects({ argocd: true }) as Obj[]).filter((o) => o.kind === 'Application').map((o) => ({ ...o, spec: { ...(o.spec as Obj), source: { ...((o.spec as Obj).source as Obj), repoURL: repo.remoteUrl } } })));
    await requestSync();
    await finished();
    expect(controller.syncs).toEqual([expect.objectContaining({ phase: 'Succeeded' })]);
  });
});
