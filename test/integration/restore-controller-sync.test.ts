// "Let the controller sync" against the simulated API server, the simulated Argo CD controller and
// the shop's real Git repository: the step's object comes back as Git has it, written by Argo CD;
// a sync Argo CD fails, an Application gone or paused, or a controller that never runs stop the
// step with the reason, and the bot writes nothing itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ARGOCD_SKIP_RECONCILE_ANNOTATION } from '../../src/containment/gitops.js';
import { runGit } from '../../src/git/exec.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { ControllerSyncError, syncByController } from '../../src/restore/controller-sync.js';
import type { RestoreStep } from '../../src/restore/plan.js';
import { objectCheck } from '../../src/restore/verify.js';
import { startSimArgoCd, type SimArgoCd } from '../../src/sim/argocd-controller.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { SHOP_ARGOCD, SHOP_POLICIES, shopObjects } from '../../src/sim/scenarios/shop.js';
import { createShopGitRepository, type ShopGitRepository } from '../../src/sim/scenarios/shop-git.js';
import { waitFor } from '../helpers/journal-cluster.js';

type Obj = Record<string, unknown>;
const APP = { namespace: SHOP_ARGOCD.namespace, name: SHOP_ARGOCD.application };
const CONTROLLER = 'argocd-application-controller';

let dir: string;
let kube: KubeApiSim;
let repo: ShopGitRepository;
let gateway: KubeGateway;
let argocd: SimArgoCd | undefined;
let head: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'controller-sync-'));
  kube = await startKubeApiServer({ cluster: { argocd: true } });
  repo = await createShopGitRepository(dir);
  kube.seed(shopObjects({ argocd: true, argocdRepoUrl: repo.remoteUrl }));
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: kube.writeKubeconfig(join(dir, 'bot')) }));
  head = (await runGit(['rev-parse', 'main'], { cwd: repo.remoteDir })).stdout.toString('utf8').trim();
});
afterEach(async () => {
  await argocd?.close();
  argocd = undefined;
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startArgo(): Promise<SimArgoCd> {
  argocd = await startSimArgoCd({ kubeconfigPath: kube.writeKubeconfig(join(dir, 'argocd'), CONTROLLER), repositories: { [repo.remoteUrl]: repo.remoteDir }, pollMs: 20 });
  return argocd;
}

async function gitObject(namespace: string, name: string): Promise<Obj> {
  const path = repo.pathOf(namespace, name) as string;
  return parse((await runGit(['show', `${head}:${path}`], { cwd: repo.remoteDir })).stdout.toString('utf8')) as Obj;
}

/** A create step for a shop policy deleted from the cluster, left to the shop's Application. */
async function deletedPolicyStep(name: string = SHOP_POLICIES.defaultDeny): Promise<RestoreStep> {
  await gateway.objects('NetworkPolicy').delete({ namespace: 'db', name });
  const after = await gitObject('db', name);
  return {
    n: 1,
    action: 'create',
    key: { kind: 'NetworkPolicy', namespace: 'db', name },
    kind: 'NetworkPolicy',
    namespace: 'db',
    name,
    before: null,
    after,
    effect: 'restricts',
    opened: [],
    closed: [],
    diff: [],
    syncedBy: { tool: 'argocd', owner: `Argo CD Application ${APP.namespace}/${APP.name}`, application: APP, revision: head },
  };
}

const ctx = (timeoutMs = 10_000) => ({ gateway, fieldManager: 'netpol-responder', timeoutMs, pollMs: 25 });

async function failure(step: RestoreStep, timeoutMs?: number): Promise<string> {
  const error = await syncByController(step, ctx(timeoutMs)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ControllerSyncError);
  return (error as Error).message;
}

describe('syncByController', () => {
  it('asks for a sync of exactly the step’s object at the source’s commit, and waits until Argo CD applied it', async () => {
    await startArgo();
    const step = await deletedPolicyStep();
    expect(await syncByController(step, ctx())).toBe('created');
    const live = kube.get('NetworkPolicy', 'db', SHOP_POLICIES.defaultDeny) as unknown as Obj;
    expect(objectCheck(step.after, live, 'db').ok).toBe(true);
    const managers = ((live.metadata as Obj).managedFields as Array<{ manager: string }>).map((m) => m.manager);
    expect(managers).toEqual(['argocd-controller']);
    // The object is applied before Argo CD records its operation as finished.
    await waitFor('the sync to be recorded', () => argocd!.syncs.length > 0);
    expect(argocd!.syncs).toEqual([expect.objectContaining({ phase: 'Succeeded', revision: head, resources: [`NetworkPolicy/db/${SHOP_POLICIES.defaultDeny}`] })]);
    // The bot itself wrote no NetworkPolicy.
    expect(kube.requests.filter((r) => r.resource === 'networkpolicies' && r.method !== 'GET' && r.method !== 'DELETE' && r.user !== CONTROLLER && r.status < 300)).toEqual([]);
  });

  it('an object already as Git has it needs no sync (a worker that died after asking resumes here)', async () => {
    await startArgo();
    const step = await deletedPolicyStep();
    await syncByController(step, ctx());
    // The object is applied before Argo CD records its operation as finished: wait for that too.
    await waitFor('the sync to be recorded', () => argocd!.syncs.length === 1 && !(kube.get('Application', APP.namespace, APP.name) as Obj).operation);
    const asked = () => kube.requests.filter((r) => r.resource === 'applications' && r.method === 'PATCH' && r.user !== CONTROLLER).length;
    const before = asked();
    expect(await syncByController(step, ctx())).toBe('created');
    // No second sync was asked for.
    expect(asked()).toBe(before);
  });

  it('a sync Argo CD fails stops the step with Argo CD’s message', async () => {
    kube.deny({ user: CONTROLLER, verb: 'patch', resource: 'networkpolicies' });
    await startArgo();
    const step = await deletedPolicyStep();
    expect(await failure(step)).toMatch(/Argo CD Application argocd\/shop-network-policies \(sync of `NetworkPolicy db\/default-deny-all` at [0-9a-f]{12}\) failed: .*forbidden/i);
    expect(kube.get('NetworkPolicy', 'db', SHOP_POLICIES.defaultDeny)).toBeUndefined();
  });

  it('an earlier operation that failed (someone else’s) is not taken for ours', async () => {
    const step = await deletedPolicyStep();
    await gateway.objects('Application').mergePatch(APP, { status: { operationState: { phase: 'Failed', message: 'an old failure', startedAt: new Date(Date.now() + 60_000).toISOString(), operation: { initiatedBy: { username: 'someone' }, sync: { revision: 'main' } } } } });
    await startArgo();
    expect(await syncByController(step, ctx())).toBe('created');
  });

  it('an Application that is gone, or paused, is not waited for', async () => {
    const step = await deletedPolicyStep();
    await gateway.objects('Application').mergePatch(APP, { metadata: { annotations: { [ARGOCD_SKIP_RECONCILE_ANNOTATION]: 'true' } } });
    expect(await failure(step)).toMatch(/is paused \(argocd\.argoproj\.io\/skip-reconcile: "true"\), so it does not sync: resume it, then Resume the restore/);
    expect((await gateway.objects('Application').get(APP))?.operation).toBeUndefined();
    await gateway.objects('Application').delete(APP);
    expect(await failure(step)).toMatch(/is gone: nothing synced the object \(the bot wrote nothing\)/);
  });

  it('another operation running: it waits its turn; a controller that never runs times out, naming it', async () => {
    const step = await deletedPolicyStep();
    const theirs = { initiatedBy: { username: 'someone' }, sync: { revision: 'main' } };
    await gateway.objects('Application').mergePatch(APP, { operation: theirs });
    expect(await failure(step, 600)).toMatch(/the object is not as Git has it after 1 s \(another operation was still running\)/);
    // Theirs was left alone.
    expect((await gateway.objects('Application').get(APP))?.operation).toMatchObject(theirs);
    // Argo CD comes up: it runs theirs (the whole Application), then the object is as Git has it.
    await startArgo();
    expect(await syncByController(step, ctx())).toBe('created');
  });

  it('a step not left to a controller is refused', async () => {
    const step = await deletedPolicyStep();
    const { syncedBy: _syncedBy, ...bare } = step;
    expect(await failure(bare as RestoreStep)).toBe('step 1 is not left to a controller');
  });
});
