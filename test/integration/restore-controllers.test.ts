// Which Argo CD Applications deploy the configured repositories, read from the simulated API
// server with the shop's real Git repository: the commit a target revision names, who paused
// it, and Applications that are malformed, multi-source, of another repository or hostile are
// left out or unresolved, never a crash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitSchema } from '../../src/git/config-schema.js';
import { runGit } from '../../src/git/exec.js';
import { PolicyRepositories } from '../../src/git/repositories.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { findControllers, sameRepositoryUrl } from '../../src/restore/controllers.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { shopObjects } from '../../src/sim/scenarios/shop.js';
import { createShopGitRepository, type ShopGitRepository } from '../../src/sim/scenarios/shop-git.js';

let dir: string;
let kube: KubeApiSim;
let repo: ShopGitRepository;
let gateway: KubeGateway;
let git: PolicyRepositories;
let head: string;

function app(name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}): object {
  return { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name, namespace: 'argocd', annotations }, spec: { project: 'default', destination: { server: 'https://kubernetes.default.svc' }, ...spec } };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'restore-controllers-'));
  kube = await startKubeApiServer({ cluster: { argocd: true } });
  repo = await createShopGitRepository(dir);
  kube.seed(shopObjects({ argocd: true, argocdRepoUrl: repo.remoteUrl }));
  const source = (over: Record<string, unknown> = {}) => ({ source: { repoURL: repo.remoteUrl, path: 'policies', ...over } });
  kube.seed([
    app('paused-by-us', source({ targetRevision: 'HEAD' }), { 'argocd.argoproj.io/skip-reconcile': 'true' }),
    app('paused-by-someone', source(), { 'argocd.argoproj.io/skip-reconcile': 'true' }),
    app('other-repo', { source: { repoURL: 'https://git.example/other.git', path: 'x' } }),
    app('multi-source', { sources: [{ repoURL: repo.remoteUrl, path: 'policies' }] }),
    app('no-such-tag', source({ targetRevision: 'v9.9.9' })),
    app('hostile-revision', source({ targetRevision: '--upload-pack=touch /tmp/pwned' })),
  ]);
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: kube.writeKubeconfig(dir) }));
  git = new PolicyRepositories(gitSchema.parse({ dir: join(dir, 'clones'), repositories: [{ name: 'shop-policies', url: repo.remoteUrl, paths: ['policies'] }] }));
  await git.list[0]?.sync();
  head = (await runGit(['rev-parse', 'main'], { cwd: repo.remoteDir })).stdout.toString('utf8').trim();
});
afterAll(async () => {
  await kube?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('findControllers', () => {
  it('lists the Applications of the configured repository with their commit and who paused them', async () => {
    const found = await findControllers({ gateway, git, pausedByContainment: [{ namespace: 'argocd', name: 'paused-by-us' }] });
    const byName = new Map(found.map((c) => [c.application.name, c]));
    expect([...byName.keys()].sort()).toEqual(['hostile-revision', 'no-such-tag', 'paused-by-someone', 'paused-by-us', 'shop-network-policies']);
    expect(byName.get('shop-network-policies')).toEqual({ tool: 'argocd', owner: 'Argo CD Application argocd/shop-network-policies', application: { namespace: 'argocd', name: 'shop-network-policies' }, repository: 'shop-policies', path: 'policies', commit: head });
    expect(byName.get('paused-by-us')).toMatchObject({ commit: head, pausedByContainment: true });
    expect(byName.get('paused-by-us')?.pausedOtherwise).toBeUndefined();
    expect(byName.get('paused-by-someone')).toMatchObject({ pausedOtherwise: true });
    expect(byName.get('no-such-tag')).toMatchObject({ unresolved: expect.stringContaining('v9.9.9') });
    expect(byName.get('no-such-tag')?.commit).toBeUndefined();
    // A revision that looks like an option is refused before git sees it.
    expect(byName.get('hostile-revision')?.commit).toBeUndefined();
    expect(byName.get('hostile-revision')?.unresolved).toBeTruthy();
  });

  it('none without Argo CD, or without a policy repository', async () => {
    expect(await findControllers({ gateway })).toEqual([]);
    const plain = await startKubeApiServer({});
    try {
      const bare = createKubeGateway(loadKubeConfig({ kubeconfigPath: plain.writeKubeconfig(join(dir, 'plain')) }));
      expect(await findControllers({ gateway: bare, git })).toEqual([]);
    } finally {
      await plain.close();
    }
  });

  it.each([
    ['https://git.example/org/repo.git', 'HTTPS://git.example/org/repo/', true],
    ['https://git.example/org/repo', 'https://git.example/org/other', false],
  ])('sameRepositoryUrl(%s, %s) = %s', (a, b, same) => expect(sameRepositoryUrl(a, b)).toBe(same));
});
