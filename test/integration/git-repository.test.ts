// PolicyRepository on real repositories with the real git CLI: clone and fetch, a force-pushed
// branch, renames, the per-commit index, and the remote going away (the last good clone serves).
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { gitRepositorySchema, type GitRepositoryConfig } from '../../src/git/config-schema.js';
import { PolicyRepository } from '../../src/git/repository.js';
import { createBareRepository, writeHistory, type HistoryCommit } from '../../src/sim/git-remote.js';

const root = mkdtempSync(join(tmpdir(), 'netpol-git-repo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const erin = { name: 'Erin', email: 'erin@shop.example' };
const frank = { name: 'Frank', email: 'frank@shop.example' };

function policy(namespace: string | undefined, name: string, spec: Record<string, unknown> = { podSelector: {} }): Record<string, unknown> {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, ...(namespace ? { namespace } : {}) }, spec };
}
const yaml = (...objs: unknown[]): string => objs.map((o) => stringify(o)).join('---\n');

let n = 0;
async function remote(commits: HistoryCommit[]): Promise<{ dir: string; shas: string[] }> {
  const dir = join(root, `remote-${++n}.git`);
  await createBareRepository(dir);
  return { dir, shas: await writeHistory(dir, commits) };
}

function repoConfig(url: string, extra: Partial<GitRepositoryConfig> = {}): GitRepositoryConfig {
  return gitRepositorySchema.parse({ name: `r${n}`, url, paths: ['policies'], ...extra });
}

function clones(): string {
  return join(root, `clones-${n}`);
}

const history: HistoryCommit[] = [
  { author: erin, time: '2026-03-01T09:00:00Z', message: 'default deny for db', files: { 'policies/db/deny.yaml': yaml(policy('db', 'default-deny-all')) } },
  { author: frank, time: '2026-03-03T09:00:00Z', message: 'api to db', files: { 'policies/db/ingress.yaml': yaml(policy('db', 'from-api', { podSelector: {}, ingress: [{ ports: [{ port: 5432 }] }] })) } },
  { author: erin, time: '2026-03-05T09:00:00Z', message: 'rename', renames: [['policies/db/ingress.yaml', 'policies/db/allow-db-from-api.yaml']] },
  {
    author: frank,
    time: '2026-03-07T09:00:00Z',
    message: 'redis too',
    files: { 'policies/db/allow-db-from-api.yaml': yaml(policy('db', 'from-api', { podSelector: {}, ingress: [{ ports: [{ port: 5432 }, { port: 6379 }] }] })) },
  },
];
const fromApi = { kind: 'NetworkPolicy', namespace: 'db', name: 'from-api' };

describe('PolicyRepository on a real repository', () => {
  let fixture: { dir: string; shas: string[] };
  let repo: PolicyRepository;
  beforeEach(async () => {
    fixture = await remote(history);
    repo = new PolicyRepository(repoConfig(`file://${fixture.dir}`), { dir: clones() });
  });

  it('clones, locates, and reads the object at any commit', async () => {
    expect(repo.head()).toBeUndefined();
    const result = await repo.sync();
    expect(result).toEqual({ ok: true, head: fixture.shas[3], changed: true });
    expect(await repo.locate(fromApi)).toEqual({ path: 'policies/db/allow-db-from-api.yaml', document: 0, match: 'exact' });
    // At the second commit the file had its old name: the commit's own index finds it.
    expect(await repo.locate(fromApi, fixture.shas[1])).toMatchObject({ path: 'policies/db/ingress.yaml' });
    expect(await repo.objectAt(fromApi, fixture.shas[1] as string)).toMatchObject({ spec: { ingress: [{ ports: [{ port: 5432 }] }] } });
    expect(await repo.objectAt(fromApi, fixture.shas[0] as string)).toBeUndefined();
    expect(await repo.objectAt(fromApi, 'ffffffffffffffffffffffffffffffffffffffff')).toBeUndefined();
    expect(await repo.objectAt(fromApi, '--all')).toBeUndefined();
    expect(await repo.sync()).toEqual({ ok: true, head: fixture.shas[3], changed: false });
  });

  it('lists the commits that touched a file in a window, across its rename, with the path at each', async () => {
    await repo.sync();
    const all = await repo.commitsTouching('policies/db/allow-db-from-api.yaml', '2026-01-01T00:00:00Z');
    expect(all.map((c) => [c.sha, c.change, c.path, c.previousPath])).toEqual([
      [fixture.shas[3], 'modified', 'policies/db/allow-db-from-api.yaml', undefined],
      [fixture.shas[2], 'renamed', 'policies/db/allow-db-from-api.yaml', 'policies/db/ingress.yaml'],
      [fixture.shas[1], 'added', 'policies/db/ingress.yaml', undefined],
    ]);
    expect(all[0]).toMatchObject({ author: frank, committer: frank, time: '2026-03-07T09:00:00.000Z', authorTime: '2026-03-07T09:00:00.000Z', subject: 'redis too' });
    expect(all[0]?.url).toBeUndefined(); // a file remote has no web page
    // The window: until before the rename still follows it (git would lose it with --until).
    const early = await repo.commitsTouching('policies/db/allow-db-from-api.yaml', '2026-03-02T00:00:00Z', '2026-03-04T00:00:00Z');
    expect(early.map((c) => c.sha)).toEqual([fixture.shas[1]]);
    expect(await repo.commitsTouching('policies/db/allow-db-from-api.yaml', '2026-03-08T00:00:00Z')).toEqual([]);
    expect((await repo.history('policies/db/allow-db-from-api.yaml', { limit: 2 })).map((c) => c.sha)).toEqual([fixture.shas[3], fixture.shas[2]]);
  });

  it('gives the object along its history for classifyChange (trail)', async () => {
    await repo.sync();
    const trail = await repo.trail(fromApi, '2026-03-06T00:00:00Z');
    expect(trail.location?.path).toBe('policies/db/allow-db-from-api.yaml');
    expect(trail.commits.map((c) => c.commit.sha)).toEqual([fixture.shas[3]]);
    expect(trail.before?.commit.sha).toBe(fixture.shas[2]);
    expect(trail.before?.object).toMatchObject({ spec: { ingress: [{ ports: [{ port: 5432 }] }] } });
    expect(await repo.trail({ kind: 'NetworkPolicy', namespace: 'db', name: 'nope' }, '2026-01-01T00:00:00Z')).toEqual({ commits: [] });
  });

  it('finds the object at a commit that moved it into another file (not a rename)', async () => {
    const moved = await writeHistory(fixture.dir, [
      {
        author: erin,
        time: '2026-03-08T09:00:00Z',
        message: 'one file for db',
        files: { 'policies/db/allow-db-from-api.yaml': null, 'policies/db/all.yaml': yaml(policy('db', 'other'), policy('db', 'from-api', { podSelector: { matchLabels: { app: 'pg' } } })) },
      },
    ]);
    await repo.sync();
    const commits = await repo.commitsTouching('policies/db/allow-db-from-api.yaml', '2026-03-06T00:00:00Z');
    expect(commits.map((c) => [c.sha, c.change])).toEqual([
      [moved[0], 'deleted'],
      [fixture.shas[3], 'modified'],
    ]);
    const along = await repo.objectsAlong(fromApi, commits);
    expect(along.map((s) => (s.object?.spec as { podSelector?: unknown } | undefined)?.podSelector)).toEqual([{ matchLabels: { app: 'pg' } }, {}]);
    expect(await repo.locate(fromApi)).toEqual({ path: 'policies/db/all.yaml', document: 1, match: 'exact' });
  });

  it('refuses paths that leave the repository or could be options', async () => {
    await repo.sync();
    await expect(repo.commitsTouching('../../etc/passwd', '2026-01-01T00:00:00Z')).rejects.toThrow(/not a file path inside the repository/);
    await expect(repo.commitsTouching('/etc/passwd', '2026-01-01T00:00:00Z')).rejects.toThrow(/not a file path inside the repository/);
    await expect(repo.commitsTouching('policies/db/deny.yaml', 'yesterday-ish')).rejects.toThrow(/since is not a time/);
    // A file name that looks like an option or a glob is only a file name.
    expect(await repo.commitsTouching('--output=/tmp/x', '2026-01-01T00:00:00Z')).toEqual([]);
    expect(await repo.commitsTouching('policies/*', '2026-01-01T00:00:00Z')).toEqual([]);
  });

  it('follows a force-pushed branch: the local ref takes the rewritten history', async () => {
    await repo.sync();
    const rewritten = await writeHistory(fixture.dir, [{ author: erin, time: '2026-03-09T09:00:00Z', message: 'rewrite: drop api access', files: { 'policies/db/deny.yaml': yaml(policy('db', 'default-deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })) } }], {
      parent: fixture.shas[0],
    });
    const result = await repo.sync();
    expect(result).toEqual({ ok: true, head: rewritten[0], changed: true });
    expect(await repo.locate(fromApi)).toBeUndefined();
    expect((await repo.commitsTouching('policies/db/deny.yaml', '2026-01-01T00:00:00Z')).map((c) => c.subject)).toEqual(['rewrite: drop api access', 'default deny for db']);
    // Commits that left the branch can still be read while the clone holds them.
    expect(await repo.objectAt(fromApi, fixture.shas[3] as string)).toMatchObject({ metadata: { name: 'from-api' } });
  });

  it('keeps serving the last good clone when the remote disappears, and says why', async () => {
    await repo.sync();
    renameSync(fixture.dir, `${fixture.dir}.gone`);
    try {
      const result = await repo.sync();
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error).toMatch(/remote-\d+\.git: the repository does not exist at this url/);
      expect(result.head).toBe(fixture.shas[3]);
      expect(repo.head()).toBe(fixture.shas[3]);
      expect(await repo.locate(fromApi)).toMatchObject({ path: 'policies/db/allow-db-from-api.yaml' });
      expect(repo.status()).toMatchObject({ head: fixture.shas[3], lastSync: { ok: false } });
      // A new process (same git.dir) serves the clone on disk until the remote is back.
      const restarted = new PolicyRepository(repo.config, { dir: clones() });
      expect(await restarted.sync()).toMatchObject({ ok: false, head: fixture.shas[3] });
      expect(await restarted.locate(fromApi)).toMatchObject({ path: 'policies/db/allow-db-from-api.yaml' });
    } finally {
      renameSync(`${fixture.dir}.gone`, fixture.dir);
    }
    expect(await repo.sync()).toMatchObject({ ok: true });
  });

  it('runs one fetch at a time and fetches on its interval', async () => {
    const [a, b] = await Promise.all([repo.sync(), repo.sync()]);
    expect(a).toBe(b);
    const quick = new PolicyRepository({ ...repo.config, fetchInterval: 150 }, { dir: clones() });
    await quick.start();
    const [next] = await writeHistory(fixture.dir, [{ author: erin, time: '2026-03-10T09:00:00Z', message: 'more', files: { 'policies/db/x.yaml': yaml(policy('db', 'x')) } }]);
    const deadline = Date.now() + 10_000;
    while (quick.head() !== next && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    quick.stop();
    expect(quick.head()).toBe(next);
  });

  it('names a missing branch, and a clone directory it cannot write', async () => {
    const noBranch = new PolicyRepository({ ...repo.config, branch: 'release' }, { dir: clones() });
    expect(await noBranch.sync()).toMatchObject({ ok: false, error: expect.stringMatching(/branch release does not exist on the remote/) });
    const file = join(root, `not-a-dir-${n}`);
    writeFileSync(file, 'x');
    const blocked = new PolicyRepository(repo.config, { dir: join(file, 'clones') });
    expect(await blocked.sync()).toEqual({ ok: false, error: expect.stringMatching(/^git.dir .* is not a writable directory: (ENOTDIR|EEXIST)/) });
    expect(await blocked.locate(fromApi)).toBeUndefined();
  });
});

describe('PolicyRepository with remotes that cannot be reached', () => {
  it('reports a host that does not resolve, fast and without network', async () => {
    const repo = new PolicyRepository(repoConfig('https://git.shop.invalid/platform/policies.git'), { dir: clones() });
    const started = Date.now();
    const result = await repo.sync();
    expect(result).toEqual({ ok: false, error: 'https://git.shop.invalid/platform/policies.git: cannot resolve host git.shop.invalid (DNS)' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(repo.head()).toBeUndefined();
  });

  it('reports a closed loopback port as unreachable', async () => {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    const repo = new PolicyRepository(repoConfig(`http://127.0.0.1:${port}/policies.git`), { dir: clones() });
    expect(await repo.sync()).toEqual({ ok: false, error: `http://127.0.0.1:${port}/policies.git: cannot connect to the remote (connection refused or timed out)` });
  });

  it('gives up on a server that never answers within fetchTimeout, and leaves no git process behind', async () => {
    const { createServer } = await import('node:net');
    const held: Array<{ closed: boolean }> = [];
    // Accepts and reads, never answers.
    const server = createServer((socket) => {
      const entry = { closed: false };
      held.push(entry);
      socket.resume();
      socket.on('close', () => (entry.closed = true));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const repo = new PolicyRepository(repoConfig(`http://127.0.0.1:${port}/policies.git`), { dir: clones(), fetchTimeoutMs: 1500 });
    const started = Date.now();
    const result = await repo.sync();
    expect(result).toEqual({ ok: false, error: `http://127.0.0.1:${port}/policies.git: git fetch gave no answer within 2 s` });
    expect(Date.now() - started).toBeLessThan(5000);
    // The killed git (and its remote helper) closed their connection.
    const deadline = Date.now() + 3000;
    while (held.some((s) => !s.closed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(held.length).toBeGreaterThan(0);
    expect(held.every((s) => s.closed)).toBe(true);
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe('the index of a large or hostile repository', () => {
  it('indexes thousands of files once, then answers from the cache; a new commit re-reads only what changed', async () => {
    const files: Record<string, string> = {};
    for (let ns = 0; ns < 60; ns++) {
      for (let i = 0; i < 50; i++) files[`policies/ns-${ns}/policy-${i}.yaml`] = yaml(policy(`ns-${ns}`, `policy-${i}`, { podSelector: { matchLabels: { app: `a${i}` } }, ingress: [{ ports: [{ port: 1000 + i }] }] }));
    }
    const fixture = await remote([{ author: erin, time: '2026-03-01T09:00:00Z', message: '3000 policies', files }]);
    const repo = new PolicyRepository(repoConfig(`file://${fixture.dir}`), { dir: clones() });
    await repo.sync();
    const key = { kind: 'NetworkPolicy', namespace: 'ns-42', name: 'policy-7' };
    let t = performance.now();
    expect(await repo.locate(key)).toEqual({ path: 'policies/ns-42/policy-7.yaml', document: 0, match: 'exact' });
    const cold = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < 100; i++) await repo.locate({ ...key, name: `policy-${i % 50}` });
    const warm = (performance.now() - t) / 100;
    const index = await repo.index();
    expect(index?.files.size).toBe(3000);
    // ~0.4 s and 0.03 ms on a 2-core machine; the bounds leave room for a busy one.
    expect(cold).toBeLessThan(5000);
    expect(warm).toBeLessThan(5);
    const [next] = await writeHistory(fixture.dir, [{ author: frank, time: '2026-03-02T09:00:00Z', message: 'one more', files: { 'policies/ns-42/policy-7.yaml': yaml(policy('ns-42', 'policy-7', { podSelector: {} })) } }]);
    await repo.sync();
    t = performance.now();
    expect(await repo.objectAt(key, next as string)).toMatchObject({ spec: { podSelector: {} } });
    const incremental = performance.now() - t;
    expect(incremental).toBeLessThan(Math.max(cold / 2, 1000));
    process.stdout.write(`  3000 files: cold index + locate ${cold.toFixed(0)} ms, warm locate ${warm.toFixed(2)} ms, next commit ${incremental.toFixed(0)} ms\n`);
  });

  it('skips symlinks (never followed), submodules, huge files and unreadable documents, and says why', async () => {
    const outside = join(root, 'outside.yaml');
    writeFileSync(outside, yaml(policy('db', 'planted')));
    const big = `# padding\n${'#'.repeat(1100 * 1024)}\n${yaml(policy('db', 'big'))}`;
    const fixture = await remote([
      {
        author: erin,
        time: '2026-03-01T09:00:00Z',
        message: 'hostile',
        files: {
          'policies/db/big.yaml': big,
          'policies/db/broken.yaml': `${yaml(policy('db', 'ok-before'))}---\nkind: [unclosed\n---\n${yaml(policy('db', 'ok-after'))}`,
          'policies/db/bomb.yaml': `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`,
          'policies/db/--output=x.yaml': yaml(policy('db', 'dashes')),
        },
        symlinks: { 'policies/db/planted.yaml': outside, 'policies/db/up.yaml': '../../../outside.yaml' },
      },
    ]);
    const repo = new PolicyRepository(repoConfig(`file://${fixture.dir}`), { dir: clones() });
    await repo.sync();
    const index = await repo.index();
    const reasons = Object.fromEntries((index?.skipped ?? []).map((s) => [s.path, s.reason]));
    expect(reasons['policies/db/planted.yaml']).toBe('a symbolic link (not followed)');
    expect(reasons['policies/db/up.yaml']).toBe('a symbolic link (not followed)');
    expect(reasons['policies/db/big.yaml']).toMatch(/^larger than 1048576 bytes \(\d+ bytes\)$/);
    expect(reasons['policies/db/broken.yaml']).toMatch(/^document 1: invalid YAML/);
    expect(reasons['policies/db/bomb.yaml']).toMatch(/invalid YAML: .*alias/i);
    expect(await repo.locate({ kind: 'NetworkPolicy', namespace: 'db', name: 'planted' })).toBeUndefined();
    expect(await repo.locate({ kind: 'NetworkPolicy', namespace: 'db', name: 'big' })).toBeUndefined();
    expect(await repo.locate({ kind: 'NetworkPolicy', namespace: 'db', name: 'ok-after' })).toEqual({ path: 'policies/db/broken.yaml', document: 2, match: 'exact' });
    expect(await repo.objectAt({ kind: 'NetworkPolicy', namespace: 'db', name: 'ok-after' }, repo.head() as string)).toMatchObject({ metadata: { name: 'ok-after' } });
    expect(await repo.locate({ kind: 'NetworkPolicy', namespace: 'db', name: 'dashes' })).toMatchObject({ path: 'policies/db/--output=x.yaml' });
    expect((await repo.commitsTouching('policies/db/--output=x.yaml', '2026-01-01T00:00:00Z')).length).toBe(1);
    // An origin annotation pointing outside the repository finds nothing.
    expect(await repo.locate({ kind: 'NetworkPolicy', namespace: 'db', name: 'planted', annotations: { 'config.kubernetes.io/origin': `path: ${outside}\n` } })).toBeUndefined();
    expect(await repo.locate({ kind: 'NetworkPolicy', namespace: 'db', name: 'planted', annotations: { 'config.kubernetes.io/origin': 'path: ../../../outside.yaml\n' } })).toBeUndefined();
  });

  it('only indexes the configured paths', async () => {
    const fixture = await remote([
      { author: erin, time: '2026-03-01T09:00:00Z', message: 'two dirs', files: { 'policies/a.yaml': yaml(policy('db', 'in')), 'apps/b.yaml': yaml(policy('db', 'out')) } },
    ]);
    mkdirSync(clones(), { recursive: true });
    const repo = new PolicyRepository(repoConfig(`file://${fixture.dir}`), { dir: clones() });
    await repo.sync();
    expect(await repo.locate({ kind: 'NetworkPolicy', namespace: 'db', name: 'in' })).toBeDefined();
    expect(await repo.locate({ kind: 'NetworkPolicy', namespace: 'db', name: 'out' })).toBeUndefined();
    const whole = new PolicyRepository(repoConfig(`file://${fixture.dir}`, { paths: [''] }), { dir: clones() });
    await whole.sync();
    expect(await whole.locate({ kind: 'NetworkPolicy', namespace: 'db', name: 'out' })).toMatchObject({ path: 'apps/b.yaml' });
  });
});
