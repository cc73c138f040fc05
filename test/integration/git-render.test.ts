// The desired state of a policy repository at a commit, on real repositories with the real git
// CLI and the real `kubectl kustomize`: plain files with their lines, kustomizations (bases,
// nested ones, build errors, links leading out), Helm charts, missing tools, hostile files.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { gitRepositorySchema } from '../../src/git/config-schema.js';
import { PolicyRepositories } from '../../src/git/repositories.js';
import { PolicyRepository, type RepositorySettings } from '../../src/git/repository.js';
import type { DesiredState } from '../../src/git/render.js';
import { createBareRepository, writeHistory, type HistoryCommit } from '../../src/sim/git-remote.js';

const root = mkdtempSync(join(tmpdir(), 'netpol-git-render-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const erin = { name: 'Erin', email: 'erin@shop.example' };
const np = (namespace: string | undefined, name: string, spec: Record<string, unknown> = { podSelector: {} }): Record<string, unknown> => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec,
});
const yaml = (...objs: unknown[]): string => objs.map((o) => stringify(o)).join('---\n');
const commit = (files: HistoryCommit['files'], symlinks?: HistoryCommit['symlinks']): HistoryCommit => ({ author: erin, time: '2026-03-01T09:00:00Z', message: 'change', files, ...(symlinks ? { symlinks } : {}) });

/** A directory whose only program is git: a machine without kubectl, kustomize and helm. */
const gitOnly = join(root, 'git-only-bin');
mkdirSync(gitOnly);
symlinkSync(execFileSync('which', ['git']).toString().trim(), join(gitOnly, 'git'));

let n = 0;
async function repository(commits: HistoryCommit[], config: Record<string, unknown> = {}, settings: Partial<RepositorySettings> = {}) {
  const dir = join(root, `remote-${++n}.git`);
  await createBareRepository(dir);
  const shas = await writeHistory(dir, commits);
  const workDir = join(root, `work-${n}`);
  mkdirSync(workDir);
  const repo = new PolicyRepository(gitRepositorySchema.parse({ name: `r${n}`, url: `file://${dir}`, paths: ['policies'], ...config }), { dir: join(root, `clones-${n}`), workDir, ...settings });
  expect((await repo.sync()).ok).toBe(true);
  return { repo, shas, remote: dir, workDir };
}

async function render(repo: PolicyRepository, at?: string): Promise<DesiredState> {
  const state = await repo.desiredState(at);
  if (!state) throw new Error('no desired state');
  return state;
}

const ids = (state: DesiredState): string[] => state.objects.map((o) => `${o.kind} ${o.namespace ?? '-'}/${o.name}`).sort();
const messages = (state: DesiredState): string[] => state.problems.map((p) => p.message);

describe('plain files', () => {
  it('renders each commit once, the same object for the same commit, anew for a new one', async () => {
    const { repo, shas, remote } = await repository([
      commit({
        'policies/db/deny.yaml': yaml(np('db', 'default-deny')),
        'policies/db/api.yaml': `# the API reaches the database\n${yaml(np('db', 'from-api'), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'pg', namespace: 'db' } })}`,
        // Calico's NetworkPolicy is another API's kind: not ours.
        'policies/calico.yaml': yaml({ apiVersion: 'projectcalico.org/v3', kind: 'NetworkPolicy', metadata: { name: 'c', namespace: 'db' } }),
        'elsewhere/ignored.yaml': yaml(np('db', 'outside-paths')),
        'policies/README.md': '# not a manifest\n',
      }),
    ]);
    const [first, again] = await Promise.all([repo.desiredState(), repo.desiredState()]);
    expect(first).toBe(again); // concurrent callers share one render
    expect(first?.commit).toBe(shas[0]);
    expect(first?.repository).toBe(`r${n}`);
    expect(ids(first as DesiredState)).toEqual(['NetworkPolicy db/default-deny', 'NetworkPolicy db/from-api']);
    expect(first?.objects.find((o) => o.name === 'from-api')?.source).toEqual({ repository: `r${n}`, path: 'policies/db/api.yaml', line: 2, via: 'plain' });
    expect(first?.objects.find((o) => o.name === 'from-api')?.object).toEqual(np('db', 'from-api'));
    expect(first?.problems).toEqual([]);
    expect(await repo.desiredState()).toBe(first);

    const [second] = await writeHistory(remote, [commit({ 'policies/db/deny.yaml': null, 'policies/db/web.yaml': yaml(np('db', 'from-web')) })]);
    await repo.sync();
    const next = await render(repo);
    expect(next).not.toBe(first);
    expect(next.commit).toBe(second);
    expect(ids(next)).toEqual(['NetworkPolicy db/from-api', 'NetworkPolicy db/from-web']);
    // An older commit by its sha, cached too; unknown or hostile revisions give nothing.
    expect(await repo.desiredState(shas[0])).toBe(first);
    expect(await repo.desiredState('ffffffffffffffffffffffffffffffffffffffff')).toBeUndefined();
    expect(await repo.desiredState('--all')).toBeUndefined();
  });

  it('reads JSON files and List objects, with the line of each item', async () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [np('a', 'one'), np('a', 'two')] };
    const { repo } = await repository([
      commit({
        'policies/list.yaml': `# two in one\n${stringify(list)}`,
        'policies/one.json': JSON.stringify(np('j', 'json-one'), null, 2),
        'policies/list.json': JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicyList', items: [np('j', 'json-a'), np('j', 'json-b')] }, null, 2),
      }),
    ]);
    const state = await render(repo);
    expect(ids(state)).toEqual(['NetworkPolicy a/one', 'NetworkPolicy a/two', 'NetworkPolicy j/json-a', 'NetworkPolicy j/json-b', 'NetworkPolicy j/json-one']);
    const at = (name: string) => state.objects.find((o) => o.name === name)?.source;
    expect(at('one')).toMatchObject({ path: 'policies/list.yaml', line: 5 });
    expect(at('two')?.line).toBeGreaterThan(5);
    expect(at('json-one')).toMatchObject({ path: 'policies/one.json', line: 1 });
    expect(at('json-a')?.line).toBe(5);
    expect(at('json-b')?.line).toBeGreaterThan(5);
    expect(state.problems).toEqual([]);
  });

  it('reports invalid YAML and JSON with file and line; the other documents and files still count', async () => {
    const { repo } = await repository([
      commit({
        'policies/bad.yaml': `${yaml(np('db', 'before-the-error'))}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: broken: here\n---\n${yaml(np('db', 'after-the-error'))}`,
        // An unclosed bracket is noticed where the document ends.
        'policies/unclosed.yaml': 'kind: NetworkPolicy\nmetadata: {name: x\n',
        'policies/bad.json': '{\n  "kind": "NetworkPolicy",\n  "metadata": {,\n}\n',
        'policies/good.yaml': yaml(np('db', 'good')),
      }),
    ]);
    const state = await render(repo);
    expect(ids(state)).toEqual(['NetworkPolicy db/after-the-error', 'NetworkPolicy db/before-the-error', 'NetworkPolicy db/good']);
    const yamlProblem = state.problems.find((p) => p.path === 'policies/bad.yaml');
    expect(yamlProblem?.line).toBe(12);
    expect(yamlProblem?.message).toMatch(/^policies\/bad\.yaml:12: document 1: invalid YAML: Nested mappings/);
    expect(state.problems.find((p) => p.path === 'policies/unclosed.yaml')).toMatchObject({ line: 2, message: expect.stringMatching(/^policies\/unclosed\.yaml:2: document 0: invalid YAML: /) });
    const jsonProblem = state.problems.find((p) => p.path === 'policies/bad.json');
    expect(jsonProblem).toMatchObject({ line: 3, message: expect.stringMatching(/^policies\/bad\.json:3: invalid JSON: /) });
    expect(state.problems).toHaveLength(3);
  });

  it('keeps the last of two objects with one identity, names both places, and refuses what cannot be applied', async () => {
    const { repo } = await repository([
      commit({
        'policies/a.yaml': yaml(np('db', 'twice', { podSelector: { matchLabels: { v: '1' } } })),
        'policies/b/x.yaml': `# comment\n${yaml(np('db', 'twice', { podSelector: { matchLabels: { v: '2' } } }))}`,
        'policies/c.yaml': yaml(
          np(undefined, 'no-namespace'),
          { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: 'db' } },
          { kind: 'NetworkPolicy', metadata: { name: 'no-api-version', namespace: 'db' } },
          { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: 'cluster-wide', namespace: 'ignored' }, spec: { priority: 10 } },
        ),
      }),
    ]);
    const state = await render(repo);
    expect(ids(state)).toEqual(['AdminNetworkPolicy -/cluster-wide', 'NetworkPolicy db/twice']);
    expect(state.objects.find((o) => o.name === 'twice')?.object.spec).toEqual({ podSelector: { matchLabels: { v: '2' } } });
    // A cluster-scoped kind keeps no namespace, as the API server stores it.
    expect(state.objects.find((o) => o.name === 'cluster-wide')?.object.metadata).toEqual({ name: 'cluster-wide' });
    expect(messages(state)).toEqual([
      'policies/b/x.yaml:2: NetworkPolicy db/twice is declared twice: also at policies/a.yaml:1; this one, the last in path order, is used',
      'policies/c.yaml:1: NetworkPolicy no-namespace has no namespace (set metadata.namespace); not used',
      'policies/c.yaml:8: NetworkPolicy without metadata.name',
      'policies/c.yaml:13: NetworkPolicy without apiVersion',
    ]);
  });

  it('refuses a file over maxFileBytes and an alias bomb, and reads 3000 files', async () => {
    const bomb = 'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
    const many: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) many[`policies/ns-${i % 30}/p-${i}.yaml`] = yaml(np(`ns-${i % 30}`, `p-${i}`));
    const { repo } = await repository([commit({ ...many, 'policies/huge.yaml': `# ${'x'.repeat(5 * 1024 * 1024)}\n${yaml(np('db', 'hidden'))}`, 'policies/bomb.yaml': bomb })], {}, { maxFileBytes: 64 * 1024 });
    const state = await render(repo);
    expect(state.objects).toHaveLength(3000);
    expect(state.objects.some((o) => o.name === 'hidden')).toBe(false);
    expect(messages(state)).toEqual([expect.stringMatching(/^policies\/bomb\.yaml:1: document 0: invalid YAML: .*alias/i), `policies/huge.yaml: larger than 65536 bytes (${5 * 1024 * 1024 + 3 + yaml(np('db', 'hidden')).length} bytes): not read`]);
  });

  it('parses at a new commit only the files it changed; a file moved or unchanged keeps its objects, with its new path', async () => {
    const { repo, remote } = await repository([
      commit({
        'policies/a.yaml': `# a\n${yaml(np('db', 'a'))}`,
        'policies/b.yaml': yaml(np('db', 'b')),
        'policies/c.json': JSON.stringify(np('db', 'c'), null, 2),
        'policies/bad.yaml': `${yaml(np('db', 'before'))}---\nkind: [\n`,
      }),
    ]);
    const first = await render(repo);
    expect(repo.renderCache.parsedFiles).toBe(4);
    const [, moved] = await writeHistory(remote, [
      commit({
        'policies/b.yaml': yaml(np('db', 'b', { podSelector: { matchLabels: { app: 'b' } } })),
        'policies/d.yaml': yaml(np('db', 'd')),
        // One new blob at two paths: parsed once.
        'policies/e.yaml': yaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'db' } }),
        'policies/f.yaml': yaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'db' } }),
      }),
      { ...commit({}), renames: [['policies/a.yaml', 'policies/moved/a.yaml']] },
    ]);
    await repo.sync();
    const next = await render(repo);
    expect(next.commit).toBe(moved);
    // b changed, d and e (= f) are new: three files parsed; a (moved, same blob), c and bad came from the cache.
    expect(repo.renderCache.parsedFiles).toBe(7);
    const object = (state: DesiredState, name: string) => state.objects.find((o) => o.name === name);
    expect(object(next, 'a')?.object).toBe(object(first, 'a')?.object);
    expect(object(next, 'a')?.source).toEqual({ repository: first.repository, path: 'policies/moved/a.yaml', line: 2, via: 'plain' });
    expect(object(next, 'c')?.object).toBe(object(first, 'c')?.object);
    expect(object(next, 'b')?.object.spec).toEqual({ podSelector: { matchLabels: { app: 'b' } } });
    expect(ids(next)).toEqual(['NetworkPolicy db/a', 'NetworkPolicy db/b', 'NetworkPolicy db/before', 'NetworkPolicy db/c', 'NetworkPolicy db/d']);
    // A cached file's problems are reported again, at its place.
    expect(messages(next)).toEqual(messages(first));
    expect(messages(next)).toEqual([expect.stringMatching(/^policies\/bad\.yaml:9: document 1: invalid YAML: Flow sequence/)]);
  });
});

describe('kustomize', () => {
  const kustomization = (k: Record<string, unknown>): string => stringify(k);
  const files = {
    'policies/plain.yaml': yaml(np('db', 'plain')),
    // Built with namespace and labels; includes a base outside `paths`.
    'policies/app/kustomization.yaml': kustomization({ namespace: 'shop', commonLabels: { team: 'web' }, resources: ['np.yaml', '../../bases/common'] }),
    'policies/app/np.yaml': yaml(np(undefined, 'web', { podSelector: { matchLabels: { app: 'web' } } })),
    // Inside the app's directory and included by nobody: not built on its own.
    'policies/app/nested/kustomization.yaml': kustomization({ resources: ['x.yaml'] }),
    'policies/app/nested/x.yaml': yaml(np(undefined, 'nested')),
    'bases/common/kustomization.yaml': kustomization({ resources: ['deny.yaml'] }),
    'bases/common/deny.yaml': yaml(np(undefined, 'default-deny')),
    // An overlay and its base side by side: only the overlay is built.
    'policies/overlay/kustomization.yaml': kustomization({ namespace: 'pay', resources: ['../base'] }),
    'policies/base/kustomization.yml': kustomization({ resources: ['np.yaml'] }),
    'policies/base/np.yaml': yaml(np(undefined, 'from-base')),
  };

  it('builds the outermost kustomizations with kubectl kustomize; their files are not read plainly', async () => {
    const { repo, workDir } = await repository([commit(files)]);
    const state = await render(repo);
    expect(state.problems).toEqual([]);
    expect(ids(state)).toEqual(['NetworkPolicy db/plain', 'NetworkPolicy pay/from-base', 'NetworkPolicy shop/default-deny', 'NetworkPolicy shop/web']);
    const web = state.objects.find((o) => o.name === 'web');
    expect(web?.source).toEqual({ repository: `r${n}`, path: 'policies/app/kustomization.yaml', via: 'kustomize' });
    expect(web?.object).toMatchObject({ metadata: { name: 'web', namespace: 'shop', labels: { team: 'web' } }, spec: { podSelector: { matchLabels: { app: 'web', team: 'web' } } } });
    expect(state.objects.find((o) => o.name === 'from-base')?.source.path).toBe('policies/overlay/kustomization.yaml');
    // The commit's tree written for the build is gone.
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('reports a build error with kustomize\'s message; the other kustomizations and files still render', async () => {
    const { repo, workDir } = await repository([
      commit({ ...files, 'policies/broken/kustomization.yaml': kustomization({ namespace: 'x', resources: ['np.yaml', 'missing.yaml'] }), 'policies/broken/np.yaml': yaml(np(undefined, 'never')) }),
    ]);
    const state = await render(repo);
    expect(ids(state)).toEqual(['NetworkPolicy db/plain', 'NetworkPolicy pay/from-base', 'NetworkPolicy shop/default-deny', 'NetworkPolicy shop/web']);
    expect(state.problems).toHaveLength(1);
    expect(state.problems[0]?.path).toBe('policies/broken/kustomization.yaml');
    expect(state.problems[0]?.message).toMatch(/^policies\/broken\/kustomization\.yaml: kubectl kustomize failed: .*missing\.yaml/);
    // Paths in the message are the repository's, not the private directory's.
    expect(state.problems[0]?.message).not.toContain(workDir);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('never lets a symbolic link read outside the repository', async () => {
    const outside = join(root, `outside-${n}.yaml`);
    writeFileSync(outside, yaml(np('db', 'from-outside')));
    const { repo } = await repository([
      commit(
        { 'policies/leak/kustomization.yaml': kustomization({ namespace: 'leak', resources: ['secret.yaml'] }), 'policies/fine.yaml': yaml(np('db', 'fine')) },
        { 'policies/leak/secret.yaml': outside, 'policies/plain-link.yaml': outside, 'policies/relative-link.yaml': '../../../../../../../../..' + outside },
      ),
    ]);
    const state = await render(repo);
    expect(ids(state)).toEqual(['NetworkPolicy db/fine']);
    expect(messages(state)).toEqual([
      expect.stringMatching(/^policies\/leak\/kustomization\.yaml: kubectl kustomize failed: .*secret\.yaml/),
      'policies/leak/secret.yaml: a symbolic link leading outside the repository: removed before the build',
      'policies/plain-link.yaml: a symbolic link: not followed',
      'policies/relative-link.yaml: a symbolic link: not followed',
    ]);
  });

  it('says that neither kubectl nor kustomize is on PATH, and still reads the plain files', async () => {
    const { repo } = await repository([commit(files)]);
    const saved = process.env.PATH;
    process.env.PATH = gitOnly; // the default: the process's PATH at render time
    let state: DesiredState;
    try {
      state = await render(repo);
    } finally {
      process.env.PATH = saved;
    }
    expect(ids(state)).toEqual(['NetworkPolicy db/plain']);
    expect(messages(state)).toEqual([
      'policies/app/kustomization.yaml: not built: neither kubectl (kubectl kustomize) nor kustomize (kustomize build) is on PATH; install one of them',
      'policies/overlay/kustomization.yaml: not built: neither kubectl (kubectl kustomize) nor kustomize (kustomize build) is on PATH; install one of them',
    ]);
  });
});

/**
 * A test double of the helm CLI (helm is not installed here): prints a NetworkPolicy built from
 * its arguments and the first line of the values file it was given, so the test sees what reached
 * it; fails for the release "broken" and hangs for "hang".
 */
const fakeHelm = `#!/bin/sh
[ "$1" = template ] || { echo "unexpected command: $1" >&2; exit 3; }
[ "$2" = broken ] && { echo 'Error: template: web/templates/np.yaml:3: unexpected "}" in operand' >&2; exit 1; }
[ "$2" = hang ] && while :; do :; done
first=none
[ -n "$7" ] && IFS= read -r first < "$7"
chart=missing
[ -f "$3/Chart.yaml" ] && chart=present
printf '%s\\n' '---' '# Source: web/templates/np.yaml' 'apiVersion: networking.k8s.io/v1' 'kind: NetworkPolicy' 'metadata:' "  name: $2" '  annotations:' "    args: '$*'" "    values: '$first'" "    chart: $chart" 'spec: {podSelector: {}}'
printf '%s\\n' '---' '# Source: web/templates/other.yaml' 'apiVersion: networking.k8s.io/v1' 'kind: NetworkPolicy' 'metadata: {name: pinned, namespace: elsewhere}' 'spec: {podSelector: {}}'
`;

describe('helm', () => {
  const chartFiles = {
    'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
    'charts/web/templates/np.yaml': 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: {{ .Release.Name }}}\n',
    'values/prod.yaml': '# prod values\nreplicas: 3\n',
    'policies/plain.yaml': yaml(np('db', 'plain')),
    // A chart under paths that the configuration does not name: its templates are not YAML.
    'policies/other-chart/Chart.yaml': 'apiVersion: v2\nname: other\nversion: 0.1.0\n',
    'policies/other-chart/templates/np.yaml': 'metadata: {name: {{ .Release.Name }}}\n',
  };
  const helmConfig = { helm: [{ chart: 'charts/web', releaseName: 'web', namespace: 'shop', values: ['values/prod.yaml'] }] };
  const unnamedChart = 'policies/other-chart/Chart.yaml: a Helm chart that the repository configuration does not name under helm: not rendered';

  it('says helm is not on PATH', async () => {
    const { repo } = await repository([commit(chartFiles)], helmConfig, { toolPath: gitOnly });
    const state = await render(repo);
    expect(ids(state)).toEqual(['NetworkPolicy db/plain']);
    expect(messages(state)).toEqual(['charts/web: Helm release shop/web not rendered: helm is not on PATH; install helm', unnamedChart]);
  });

  it('runs helm template with the release, chart, namespace and values, on the commit\'s files', async () => {
    const bin = join(root, 'fake-helm-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'helm'), fakeHelm);
    chmodSync(join(bin, 'helm'), 0o755);
    const config = {
      helm: [
        ...helmConfig.helm,
        { chart: 'charts/web', releaseName: 'broken', namespace: 'shop' },
        { chart: 'charts/web', releaseName: 'hang', namespace: 'shop' },
      ],
    };
    const { repo, workDir } = await repository([commit(chartFiles)], config, { toolPath: `${bin}:${gitOnly}`, toolTimeoutMs: 1500 });
    const state = await render(repo);
    const web = state.objects.find((o) => o.name === 'web');
    expect(web?.namespace).toBe('shop'); // the release namespace, as helm install would
    expect(web?.source).toEqual({ repository: `r${n}`, path: 'charts/web/templates/np.yaml', via: 'helm' });
    const annotations = (web?.object.metadata as { annotations: Record<string, string> }).annotations;
    expect(annotations.args).toMatch(new RegExp(`^template web ${workDir}/netpol-render-\\w+/tree/charts/web --namespace shop -f ${workDir}/netpol-render-\\w+/tree/values/prod\\.yaml$`));
    expect(annotations.values).toBe('# prod values');
    expect(annotations.chart).toBe('present');
    // An object that names its namespace keeps it; the same identity from two releases is one object.
    expect(ids(state)).toEqual(['NetworkPolicy db/plain', 'NetworkPolicy elsewhere/pinned', 'NetworkPolicy shop/web']);
    expect(messages(state)).toEqual([
      'charts/web: helm template broken failed: template: web/templates/np.yaml:3: unexpected "}" in operand',
      'charts/web: helm template hang failed: gave no answer within 2 s',
      unnamedChart,
    ]);
    expect(readdirSync(workDir)).toEqual([]);
  }, 20_000);
});

describe('all repositories', () => {
  it('merges their states; the same policy in two repositories is a problem, a repository not cloned yet too', async () => {
    const a = join(root, `multi-a-${++n}.git`);
    const b = join(root, `multi-b-${n}.git`);
    await createBareRepository(a);
    await createBareRepository(b);
    await writeHistory(a, [commit({ 'policies/x.yaml': yaml(np('db', 'shared'), np('db', 'only-a')) })]);
    await writeHistory(b, [commit({ 'net/y.yaml': yaml(np('db', 'shared', { podSelector: { matchLabels: { from: 'b' } } })) })]);
    const repos = new PolicyRepositories({
      dir: join(root, `multi-clones-${n}`),
      maxFileBytes: 1024 * 1024,
      fetchTimeout: 60_000,
      repositories: [
        gitRepositorySchema.parse({ name: 'alpha', url: `file://${a}`, paths: ['policies'] }),
        gitRepositorySchema.parse({ name: 'beta', url: `file://${b}`, paths: ['net'] }),
        gitRepositorySchema.parse({ name: 'gamma', url: `file://${join(root, 'does-not-exist.git')}` }),
      ],
    });
    await repos.start();
    repos.stop();
    const all = await repos.desiredState();
    expect(all.states.map((s) => s.repository)).toEqual(['alpha', 'beta']);
    expect(all.objects.map((o) => `${o.source.repository}:${o.name}`).sort()).toEqual(['alpha:only-a', 'beta:shared']);
    expect(all.problems.map((p) => p.message)).toEqual([
      'gamma: not cloned yet (no fetch has succeeded): its desired state is unknown',
      'net/y.yaml:1: NetworkPolicy db/shared is declared twice: also at alpha:policies/x.yaml:1; this one, from the later repository of the configuration, is used',
    ]);
    // The same heads: the same merge, shared and so frozen; a head that moved: merged anew.
    const again = await repos.desiredState();
    expect(again.objects).toBe(all.objects);
    expect(Object.isFrozen(again.objects)).toBe(true);
    expect(again.problems).toEqual(all.problems);
    await writeHistory(a, [commit({ 'policies/x.yaml': yaml(np('db', 'shared'), np('db', 'only-a'), np('db', 'new-in-a')) })]);
    expect((await repos.get('alpha')?.sync())?.ok).toBe(true);
    const moved = await repos.desiredState();
    expect(moved.objects).not.toBe(all.objects);
    expect(moved.objects.map((o) => `${o.source.repository}:${o.name}`).sort()).toEqual(['alpha:new-in-a', 'alpha:only-a', 'beta:shared']);
  });
});

