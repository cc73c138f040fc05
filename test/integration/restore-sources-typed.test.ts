// Option 4 of the restore's known-good sources: a commit sha or tag the responder types, resolved
// in the real bare clone with the real git CLI. Tags are fetched on demand (the clone fetches with
// --no-tags) into a private namespace; hostile text is refused before any git process runs, which
// a logging `git` first on PATH proves.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { gitSchema } from '../../src/git/config-schema.js';
import { runGit } from '../../src/git/exec.js';
import { PolicyRepositories } from '../../src/git/repositories.js';
import { fetchedTagRef } from '../../src/git/revision.js';
import { loadKnownGood, resolveRevision, type KnownGoodSource } from '../../src/restore/sources.js';
import { createBareRepository, writeHistory, type HistoryCommit } from '../../src/sim/git-remote.js';

const root = mkdtempSync(join(tmpdir(), 'netpol-restore-typed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const erin = { name: 'Erin', email: 'erin@shop.example' };
const np = (name: string, port: number): Record<string, unknown> => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'shop' }, spec: { podSelector: {}, ingress: [{ ports: [{ port }] }] } });
const at = (time: string, files: HistoryCommit['files']): HistoryCommit => ({ author: erin, time, message: 'change', files });
/** Three commits; the repository's name in the first makes each repository's shas its own. */
const history = (repository: string): HistoryCommit[] => [
  at('2026-03-01T08:00:00Z', { 'policies/web.yaml': stringify(np('allow-web', 80)), 'README.md': repository }),
  at('2026-03-01T09:00:00Z', { 'policies/web.yaml': stringify(np('allow-web', 8080)) }),
  at('2026-03-01T10:00:00Z', { 'policies/web.yaml': stringify(np('allow-web', 443)) }),
];

let n = 0;
async function setup(names = ['shop']): Promise<{ git: PolicyRepositories; remotes: Array<{ dir: string; shas: string[] }> }> {
  const remotes: Array<{ dir: string; shas: string[] }> = [];
  for (const name of names) {
    const dir = join(root, `remote-${++n}.git`);
    await createBareRepository(dir);
    remotes.push({ dir, shas: await writeHistory(dir, history(name)) });
  }
  const git = new PolicyRepositories(gitSchema.parse({ dir: join(root, `clones-${++n}`), repositories: names.map((name, i) => ({ name, url: `file://${remotes[i]?.dir}`, paths: ['policies'] })) }));
  await git.start();
  git.stop();
  return { git, remotes };
}

const tag = (remoteDir: string, name: string, commit: string, annotated = false): Promise<unknown> =>
  runGit(['-c', 'user.name=Erin', '-c', 'user.email=erin@shop.example', 'tag', '-f', ...(annotated ? ['-a', '-m', `release ${name}`] : []), name, commit], { cwd: remoteDir });
const refsOf = async (clone: string): Promise<string> => (await runGit(['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: clone })).stdout.toString('utf8');

async function resolved(git: PolicyRepositories, text: string): Promise<KnownGoodSource> {
  const source = await resolveRevision({ git, namespaces: ['shop'] }, text);
  if (!source.available) throw new Error(`${text}: ${source.reason}`);
  return source;
}

describe('a typed revision', () => {
  it('resolves a full or short sha, the tracked branch and HEAD, and loads that commit', async () => {
    const { git, remotes } = await setup();
    const [first, second, third] = remotes[0]!.shas as [string, string, string];
    const full = await resolved(git, second);
    expect(full).toMatchObject({ kind: 'git-revision', repository: 'shop', commit: second, typed: second, revisions: [{ repository: 'shop', commit: second, committedAt: '2026-03-01T09:00:00.000Z' }] });
    expect(full.label).toBe(`Git shop@${second.slice(0, 8)} (committed 2026-03-01 09:00), the commit you typed`);
    expect((await resolved(git, ` ${first.slice(0, 9).toUpperCase()} `)).commit).toBe(first);
    expect(await resolved(git, 'main')).toMatchObject({ commit: third, label: expect.stringContaining('the head of main') });
    expect((await resolved(git, 'HEAD')).commit).toBe(third);
    const state = await loadKnownGood(full, { git, namespaces: ['shop'] });
    expect(state.objects.map((o) => o.object)).toEqual([np('allow-web', 8080)]);
  });

  it('fetches a tag on demand (lightweight, annotated, hex-named, moved), keeping it out of refs/tags', async () => {
    const { git, remotes } = await setup();
    const { dir, shas } = remotes[0]!;
    const clone = git.list[0]!.clonePath;
    await tag(dir, 'v1.0', shas[0]!);
    await tag(dir, 'release/2026-03', shas[1]!, true);
    await tag(dir, '20260301', shas[1]!);
    expect(await refsOf(clone)).not.toContain('refs/tags/');
    expect(await resolved(git, 'v1.0')).toMatchObject({ commit: shas[0], label: expect.stringContaining('tag v1.0') });
    expect((await resolved(git, 'tags/v1.0')).commit).toBe(shas[0]);
    expect((await resolved(git, 'refs/tags/release/2026-03')).commit).toBe(shas[1]); // annotated: peeled to its commit
    expect((await resolved(git, '20260301')).commit).toBe(shas[1]); // hex, no such commit: a tag
    const refs = await refsOf(clone);
    expect(refs).not.toContain('refs/tags/');
    expect(refs).toContain(`${fetchedTagRef('v1.0')} ${shas[0]}`);
    await tag(dir, 'v1.0', shas[2]!); // moved on the remote
    expect((await resolved(git, 'v1.0')).commit).toBe(shas[2]);
  });

  it('says clearly what it cannot find: another branch, an unknown sha or tag, a tree, a missing repository', async () => {
    const { git, remotes } = await setup();
    const { dir, shas } = remotes[0]!;
    await writeHistory(dir, [at('2026-03-02T08:00:00Z', { 'policies/x.yaml': stringify(np('x', 1)) })], { branch: 'feature' });
    const reason = async (text: string): Promise<string | undefined> => (await resolveRevision({ git, namespaces: ['shop'] }, text)).reason;
    expect(await reason('feature')).toBe('shop: no tag feature on the remote (only the branch main is fetched: type a commit sha or a tag)');
    expect(await reason('deadbeef00')).toBe('shop: no commit deadbeef00 in the clone (branch main, just fetched) and no tag of that name on the remote');
    const tree = (await runGit(['rev-parse', `${shas[0]}^{tree}`], { cwd: dir })).stdout.toString('utf8').trim();
    expect(await reason(tree)).toMatch(/^shop: no commit [0-9a-f]{40} in the clone/);
    expect(await reason('nope:v1')).toBe('no repository is named nope (configured: shop)');
    renameSync(dir, `${dir}.moved`); // the remote is gone: the tag cannot be fetched, and says why
    expect(await reason('v1.0')).toMatch(/^shop: the tag could not be fetched: file:\/\/.*: the repository does not exist at this url/);
    expect((await resolveRevision({ git, namespaces: ['shop'] }, shas[0]!)).commit).toBe(shas[0]); // the clone still serves
  });

  it('finds a commit pushed after the last fetch', async () => {
    const { git, remotes } = await setup();
    const [fresh] = await writeHistory(remotes[0]!.dir, [at('2026-03-01T11:00:00Z', { 'policies/web.yaml': stringify(np('allow-web', 8443)) })]);
    expect((await resolved(git, fresh!.slice(0, 12))).commit).toBe(fresh);
  });

  it('with several repositories: the named one at the commit, the others at their head', async () => {
    const { git, remotes } = await setup(['shop', 'infra']);
    const [shop, infra] = remotes as [{ dir: string; shas: string[] }, { dir: string; shas: string[] }];
    const source = await resolved(git, `infra:${infra.shas[0]}`);
    expect(source.revisions?.map((r) => `${r.repository}@${r.commit}`)).toEqual([`shop@${shop.shas[2]}`, `infra@${infra.shas[0]}`]);
    expect(source.label).toContain(`; shop@${shop.shas[2]!.slice(0, 8)} at their head`);
    // A sha only one clone holds needs no name; a tag does.
    expect((await resolved(git, shop.shas[1]!)).revisions?.map((r) => r.commit)).toEqual([shop.shas[1], infra.shas[2]]);
    expect((await resolveRevision({ git, namespaces: ['shop'] }, 'v1')).reason).toBe('several repositories are configured: type <repository>:<sha or tag> (configured: shop, infra)');
    expect((await resolveRevision({ git, namespaces: ['shop'] }, 'abcdef0123')).reason).toBe(
      "no clone holds commit abcdef0123 (configured: shop, infra): type <repository>:<sha or tag> to look for it on that repository's remote",
    );
  });
});

describe('hostile text', () => {
  it('is refused with a clear reason before any git process runs, and leaves the clone as it was', async () => {
    const { git } = await setup();
    const clone = git.list[0]!.clonePath;
    const refsBefore = await refsOf(clone);
    // A `git` first on PATH that logs every call, then runs the real one.
    const bin = join(root, 'logging-bin');
    const log = join(root, 'git-calls.log');
    mkdirSync(bin, { recursive: true });
    const realGit = execFileSync('which', ['git']).toString().trim();
    writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${realGit}' "$@"\n`);
    chmodSync(join(bin, 'git'), 0o755);
    const marker = join(root, 'pwned');
    const cases: Array<[string, RegExp]> = [
      ['--upload-pack=x', /it starts with "-"/],
      [`--upload-pack=touch ${marker}`, /it starts with "-"/],
      ['-c core.sshCommand=x', /it starts with "-"/],
      [`shop:--upload-pack=touch ${marker}`, /it starts with "-"/],
      ['upload-pack=x', /contains "="/],
      ['../../etc/passwd', /contains "\.\."/],
      ['v1 v2', /contains a space/],
      ['v1\n--upload-pack=x', /contains "\\n"/],
      ['$(touch x)', /contains "\$"/],
      ['main;rm -rf /', /contains ";"/],
      ['@{-1}', /contains "\{"/],
      ['@', /"@" alone/],
      ['HEAD~1', /contains "~"/],
      ['v1^{tree}', /contains "\^"/],
      ['x.lock', /ends with "\.lock"/],
      ['refs/heads//x', /empty path component/],
      ['.hidden', /starts with "\."/],
      ['shop:', /type a commit sha or a tag after "shop:"/],
      ['Shop:v1', /is not a repository name/],
      ['', /^type a commit sha or a tag$/],
      ['   ', /^type a commit sha or a tag$/],
      ['v'.repeat(201), /is 201 characters long/],
      ['a'.repeat(1024 * 1024), /^the text is 1048576 characters long/],
    ];
    const previous = process.env.PATH;
    process.env.PATH = `${bin}:${previous ?? ''}`;
    try {
      for (const [text, expected] of cases) {
        const source = await resolveRevision({ git, namespaces: ['shop'] }, text);
        expect(source, JSON.stringify(text).slice(0, 40)).toMatchObject({ kind: 'git-revision', available: false });
        expect(source.reason).toMatch(expected);
        expect(source.reason!.length).toBeLessThan(300);
        expect(source.label.length).toBeLessThan(100);
      }
      expect(existsSync(log)).toBe(false);
      // The logging git does run for acceptable text (the check above is not vacuous).
      await resolveRevision({ git, namespaces: ['shop'] }, 'v9');
      expect(readFileSync(log, 'utf8')).toContain('refs/tags/v9');
    } finally {
      process.env.PATH = previous;
    }
    expect(existsSync(marker)).toBe(false);
    expect(await refsOf(clone)).toBe(refsBefore);
  });
});
