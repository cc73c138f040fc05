// The embedded environment with `git: true`: the shop's policies in a real repository, which the
// bot's PolicyRepository clones from the environment's config, and which agrees with the
// simulated cluster (compared as the apiserver returns the objects, defaults included).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyChange } from '../../src/git/classify.js';
import { PolicyRepositories } from '../../src/git/repositories.js';
import { sameState } from '../../src/git/normalize.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { ALLOW_ALL_EGRESS, SHOP_POLICIES, shopPolicyObjects } from '../../src/sim/scenarios/shop.js';
import { SHOP_GIT_PEOPLE } from '../../src/sim/scenarios/shop-git.js';
import { startTestEnvironment } from '../helpers/environment.js';

type Obj = Record<string, unknown>;
let env: EmbeddedEnvironment;
let repos: PolicyRepositories;

beforeAll(async () => {
  env = await startTestEnvironment({ git: true, startBot: false });
  repos = new PolicyRepositories(env.config.git);
});
afterAll(async () => {
  repos?.stop();
  await env?.stop();
});

const key = (o: Obj) => {
  const m = o.metadata as { name: string; namespace?: string; annotations?: Record<string, string> };
  return { kind: o.kind as string, name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}), ...(m.annotations ? { annotations: m.annotations } : {}) };
};

describe('the shop in Git', () => {
  it('is configured for the bot and holds three weeks of history by three people', async () => {
    const git = env.git!;
    expect(env.config.git?.repositories).toEqual([{ name: 'shop-policies', url: git.remoteUrl, branch: 'main', paths: ['policies'], fetchInterval: 60_000 }]);
    expect(env.config.git?.dir).toBe(git.dir);
    expect(git.remoteUrl).toMatch(/^file:\/\/\/.*\/shop-policies\.git$/);
    expect(new Set(git.commits.map((c) => c.author.name))).toEqual(new Set(Object.values(SHOP_GIT_PEOPLE).map((p) => p.name)));
    const days = (Date.parse(git.commits.at(-1)!.time) - Date.parse(git.commits[0]!.time)) / 86_400_000;
    expect(days).toBeGreaterThanOrEqual(14);
    const [result] = await repos.start();
    expect(result?.result).toMatchObject({ ok: true, head: git.commits.at(-1)?.sha });
  });

  it('declares exactly the policies the simulated cluster holds', async () => {
    const repo = repos.get('shop-policies')!;
    const live = env.kube.list('NetworkPolicy') as Obj[];
    expect(live.length).toBe(shopPolicyObjects().length);
    for (const object of live) {
      const location = await repo.locate(key(object));
      const m = object.metadata as { name: string; namespace: string };
      expect(location, `${m.namespace}/${m.name}`).toEqual({ path: `policies/${m.namespace}/${m.name}.yaml`, document: 0, match: 'exact' });
      expect(sameState(await repo.objectAt(key(object), repo.head()!), object), `${m.namespace}/${m.name}`).toBe(true);
    }
    expect((await repo.index())?.skipped).toEqual([]);
  });

  it("follows db's ingress policy through its rename, with authors and links to nothing (a file remote)", async () => {
    const repo = repos.get('shop-policies')!;
    const commits = await repo.commitsTouching(`policies/db/${SHOP_POLICIES.dbIngress}.yaml`, new Date(Date.now() - 30 * 86_400_000).toISOString());
    expect(commits.map((c) => [c.author.name, c.change, c.path])).toEqual([
      ['Erin Platform', 'renamed', 'policies/db/allow-db-from-api.yaml'],
      ['Dave Data', 'modified', 'policies/db/ingress-from-api.yaml'],
      ['Dave Data', 'added', 'policies/db/ingress-from-api.yaml'],
    ]);
  });

  it("dave's bad commit, applied by Argo CD: a GitOps apply of it; erin's revert in Git: revert pending", async () => {
    const git = env.git!;
    const repo = repos.get('shop-policies')!;
    const before = new Date(Date.now() - 60_000).toISOString();
    const bad = await git.addBadCommit();
    expect(bad).toMatchObject({ path: 'policies/db/allow-all-egress.yaml', author: SHOP_GIT_PEOPLE.dave, subject: 'db: open egress to debug the backup job' });
    expect(bad.object).toEqual(ALLOW_ALL_EGRESS);
    expect(await repo.sync()).toMatchObject({ ok: true, head: bad.sha, changed: true });
    expect(await repo.locate(key(bad.object))).toEqual({ path: bad.path, document: 0, match: 'exact' });

    // What the GitOps tool would apply (the lead's scenario applies it through the API as Argo CD).
    const [applied] = env.kube.seed([bad.object], { fieldManager: 'argocd-controller' }) as Obj[];
    const at = new Date().toISOString();
    const argocd = { tool: 'argocd', username: 'system:serviceaccount:argocd:argocd-application-controller' };
    const trail = await repo.trail(key(applied!), before);
    expect(trail.commits.map((c) => c.commit.sha)).toEqual([bad.sha]);
    expect(classifyChange({ after: applied!, actor: argocd, at, ...trail })).toMatchObject({ kind: 'gitops-apply', commit: { sha: bad.sha, author: { name: 'Dave Data' } } });
    // The same object made by hand with kubectl, before any commit held it, would be out-of-band.
    expect(classifyChange({ after: applied!, actor: { tool: 'kubectl', username: 'alice' }, at: before, ...trail })).toMatchObject({ kind: 'out-of-band', laterCommit: { sha: bad.sha } });

    const revert = await git.revertBadCommit();
    expect(await repo.sync()).toMatchObject({ ok: true, head: revert.sha });
    // The file is gone at head: the trail starts from the file the object was last declared in.
    expect(await repo.locate(key(applied!))).toBeUndefined();
    const after = await repo.trail(key(applied!), before);
    expect(after.location).toEqual({ path: bad.path, document: 0, match: 'exact' });
    expect(after.deletedIn).toBe(revert.sha);
    expect(after.commits.map((c) => [c.commit.sha, c.commit.change, c.object === undefined])).toEqual([
      [revert.sha, 'deleted', true],
      [bad.sha, 'added', false],
    ]);
    expect(classifyChange({ after: applied!, actor: argocd, at, ...after })).toMatchObject({ kind: 'revert-pending', commit: { sha: revert.sha }, applied: { sha: bad.sha }, appliedByGitOps: true });
    // Once Argo CD prunes it, the deletion is the GitOps apply of the revert.
    expect(classifyChange({ after: null, actor: argocd, at: new Date(Date.now() + 1000).toISOString(), ...after })).toMatchObject({ kind: 'gitops-apply', commit: { sha: revert.sha } });
    await expect(git.revertBadCommit()).rejects.toThrow(/no bad commit to revert/);
  });
});
