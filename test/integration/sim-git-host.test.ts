// The Git host stand-in over real HTTP on 127.0.0.1: what it refuses (wrong token, malformed or
// oversized bodies, unknown projects) the way GitHub and GitLab do, and Git over its smart HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGit } from '../../src/git/exec.js';
import { startGitHost, type GitHost } from '../../src/sim/git-host.js';
import { createBareRepository, writeHistory } from '../../src/sim/git-remote.js';

const root = mkdtempSync(join(tmpdir(), 'netpol-git-host-'));
const TOKEN = 'tok_standin_0123456789';
let github: GitHost;
let gitlab: GitHost;

beforeAll(async () => {
  const dir = join(root, 'shop.git');
  await createBareRepository(dir);
  const [main] = await writeHistory(dir, [{ author: { name: 'Erin', email: 'erin@shop.example' }, time: '2026-03-01T09:00:00Z', message: 'baseline', files: { 'a.yaml': 'a: 1\n' } }]);
  await writeHistory(dir, [{ author: { name: 'Erin', email: 'erin@shop.example' }, time: '2026-03-02T09:00:00Z', message: 'feature', files: { 'b.yaml': 'b: 1\n' } }], { branch: 'feature', parent: main as string });
  github = await startGitHost({ flavor: 'github', token: TOKEN });
  gitlab = await startGitHost({ flavor: 'gitlab', token: TOKEN });
  github.addRepository('shop/policies', dir);
  gitlab.addRepository('group/sub/policies', dir);
});
afterAll(async () => {
  await github.close();
  await gitlab.close();
  rmSync(root, { recursive: true, force: true });
});

const gh = (path: string, init: RequestInit & { token?: string } = {}) =>
  fetch(`${github.apiUrl}${path}`, { ...init, headers: { authorization: `token ${init.token ?? TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
const gl = (path: string, init: RequestInit & { token?: string } = {}) =>
  fetch(`${gitlab.apiUrl}${path}`, { ...init, headers: { 'private-token': init.token ?? TOKEN, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });

describe('the GitHub API subset', () => {
  it('401 with a wrong or missing token', async () => {
    const wrong = await gh('/repos/shop/policies', { token: 'nope' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ message: 'Bad credentials' });
    expect((await fetch(`${github.apiUrl}/repos/shop/policies`)).status).toBe(401);
  });

  it('the repository; 404 for an unknown one', async () => {
    expect(await (await gh('/repos/shop/policies')).json()).toMatchObject({ full_name: 'shop/policies', default_branch: 'main' });
    expect((await gh('/repos/shop/other')).status).toBe(404);
  });

  it('malformed JSON is 400, an invalid body 422, an oversized one 413', async () => {
    expect((await gh('/repos/shop/policies/pulls', { method: 'POST', body: '{"title": ' })).status).toBe(400);
    expect((await gh('/repos/shop/policies/pulls', { method: 'POST', body: JSON.stringify({ title: '', head: 'feature', base: 'main' }) })).status).toBe(422);
    expect((await gh('/repos/shop/policies/pulls', { method: 'POST', body: JSON.stringify({ title: 't', head: 'feature', base: 'main', extra: 1 }) })).status).toBe(422);
    expect((await gh('/repos/shop/policies/pulls', { method: 'POST', body: JSON.stringify({ title: 't', head: 'feature', base: 'main', body: 'x'.repeat(2 * 1024 * 1024) }) })).status).toBe(413);
    expect((await gh('/repos/shop/policies/pulls', { method: 'POST', body: JSON.stringify({ title: 't', head: 'missing', base: 'main' }) })).status).toBe(422);
    expect(github.pulls).toHaveLength(0);
  });

  it('opens a pull request once, lists it by head, and refuses a second and an empty one', async () => {
    const created = await gh('/repos/shop/policies/pulls', { method: 'POST', body: JSON.stringify({ title: 'Feature', head: 'feature', base: 'main', body: 'why' }) });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ number: 1, html_url: `${github.origin}/shop/policies/pull/1`, head: { ref: 'feature' } });
    expect(await (await gh('/repos/shop/policies/pulls?head=shop:feature&state=open')).json()).toHaveLength(1);
    expect(await (await gh('/repos/shop/policies/pulls?head=shop:other&state=open')).json()).toHaveLength(0);
    const again = await gh('/repos/shop/policies/pulls', { method: 'POST', body: JSON.stringify({ title: 'Feature', head: 'feature', base: 'main' }) });
    expect(again.status).toBe(422);
    expect(JSON.stringify(await again.json())).toContain('already exists');
    const empty = await gh('/repos/shop/policies/pulls', { method: 'POST', body: JSON.stringify({ title: 'Nothing', head: 'main', base: 'feature' }) });
    expect(empty.status).toBe(422);
    expect(JSON.stringify(await empty.json())).toContain('No commits between feature and main');
    expect(github.pulls).toMatchObject([{ title: 'Feature', body: 'why', head: 'feature', base: 'main' }]);
  });
});

describe('the GitLab API subset', () => {
  it('401 with a wrong token; Bearer is accepted as well', async () => {
    expect((await gl('/projects/group%2Fsub%2Fpolicies', { token: 'nope' })).status).toBe(401);
    const bearer = await fetch(`${gitlab.apiUrl}/projects/group%2Fsub%2Fpolicies`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await bearer.json()).toMatchObject({ path_with_namespace: 'group/sub/policies' });
  });

  it('the project by path or numeric id; 404 for another', async () => {
    expect(await (await gl(`/projects/${gitlab.projectId('group/sub/policies')}`)).json()).toMatchObject({ path_with_namespace: 'group/sub/policies' });
    expect((await gl('/projects/group%2Fother')).status).toBe(404);
  });

  it('malformed JSON is 400, an invalid body 400, an oversized one 413', async () => {
    expect((await gl('/projects/group%2Fsub%2Fpolicies/merge_requests', { method: 'POST', body: 'not json' })).status).toBe(400);
    expect((await gl('/projects/group%2Fsub%2Fpolicies/merge_requests', { method: 'POST', body: JSON.stringify({ title: 't' }) })).status).toBe(400);
    expect((await gl('/projects/group%2Fsub%2Fpolicies/merge_requests', { method: 'POST', body: JSON.stringify({ title: 't', source_branch: 'feature', target_branch: 'main', description: 'x'.repeat(2 * 1024 * 1024) }) })).status).toBe(413);
    expect(gitlab.pulls).toHaveLength(0);
  });

  it('opens a merge request once (409 for a second) and lists it by source branch', async () => {
    const body = JSON.stringify({ title: 'Feature', source_branch: 'feature', target_branch: 'main', labels: 'a,b' });
    const created = await gl('/projects/group%2Fsub%2Fpolicies/merge_requests', { method: 'POST', body });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ iid: 1, web_url: `${gitlab.origin}/group/sub/policies/-/merge_requests/1`, labels: ['a', 'b'] });
    expect((await gl('/projects/group%2Fsub%2Fpolicies/merge_requests', { method: 'POST', body })).status).toBe(409);
    expect(await (await gl('/projects/group%2Fsub%2Fpolicies/merge_requests?source_branch=feature&state=opened')).json()).toHaveLength(1);
  });
});

describe('Git over smart HTTP', () => {
  it('asks for the token (401), then serves the repository', async () => {
    const url = github.gitUrl('shop/policies');
    const refused = await runGit(['ls-remote', url], { cwd: root }).then(
      () => 'served',
      (e: { stderr: string }) => e.stderr,
    );
    expect(refused).toMatch(/could not read Username|Authentication failed|401/);
    const header = `Authorization: Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;
    const { stdout } = await runGit(['-c', `http.extraHeader=${header}`, 'ls-remote', url], { cwd: root });
    expect(stdout.toString('utf8')).toMatch(/refs\/heads\/feature/);
    expect((await fetch(`${github.origin}/shop/nope.git/info/refs?service=git-upload-pack`)).status).toBe(404);
  });
});
