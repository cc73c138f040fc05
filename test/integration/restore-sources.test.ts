// The known-good sources of a restore on real repositories (the git CLI in temp dirs) and a real
// journal on redis-server: which options exist and why not, the commit chosen around the cause's
// time, the journal's snapshot of how the policies were just before the cause, and loading each.
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { gitSchema } from '../../src/git/config-schema.js';
import { PolicyRepositories } from '../../src/git/repositories.js';
import { ChangeJournal } from '../../src/journal/store.js';
import { defaultOption, knownGoodOptions, loadKnownGood, RestoreSourceError, type KnownGoodSource, type KnownGoodState, type SourceContext } from '../../src/restore/sources.js';
import { createBareRepository, writeHistory, type HistoryCommit } from '../../src/sim/git-remote.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';

const root = mkdtempSync(join(tmpdir(), 'netpol-restore-sources-'));
const connections: Redis[] = [];
afterAll(() => {
  for (const c of connections) c.disconnect();
  rmSync(root, { recursive: true, force: true });
});

const erin = { name: 'Erin', email: 'erin@shop.example' };
const np = (namespace: string, name: string, port = 80): Record<string, unknown> => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec: { podSelector: {}, ingress: [{ ports: [{ port }] }] },
});
const anp = (name: string): Record<string, unknown> => ({ apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name }, spec: { priority: 10, subject: { namespaces: {} }, ingress: [] } });
const yaml = (...objs: unknown[]): string => objs.map((o) => stringify(o)).join('---\n');
const at = (time: string, files: HistoryCommit['files'], message = 'change'): HistoryCommit => ({ author: erin, time, message, files });

/** The shop's history on 2026-03-01; the cause is at 09:12:03.000. */
const CAUSE = '2026-03-01T09:12:03.000Z';
const shopHistory: HistoryCommit[] = [
  at('2026-03-01T08:00:00Z', {
    'policies/shop/deny.yaml': yaml(np('shop', 'default-deny')),
    'policies/shop/web.yaml': yaml(np('shop', 'allow-web', 80)),
    'policies/db/api.yaml': yaml(np('db', 'from-api', 5432)),
    'policies/cluster/anp.yaml': yaml(anp('baseline')),
  }),
  at('2026-03-01T09:00:00Z', { 'policies/shop/web.yaml': yaml(np('shop', 'allow-web', 8080)) }),
  at('2026-03-01T09:12:02Z', { 'policies/shop/metrics.yaml': yaml(np('shop', 'allow-metrics', 9090)) }, 'metrics'),
  at('2026-03-01T09:12:03Z', { 'policies/shop/deny.yaml': null }, 'the offending commit'),
  at('2026-03-01T10:00:00Z', { 'policies/shop/web.yaml': yaml(np('shop', 'allow-web', 443)) }),
];

let n = 0;
async function remote(commits: HistoryCommit[]): Promise<{ url: string; dir: string; shas: string[] }> {
  const dir = join(root, `remote-${++n}.git`);
  await createBareRepository(dir);
  return { url: `file://${dir}`, dir, shas: await writeHistory(dir, commits) };
}

function repositories(list: Array<{ name: string; url: string }>): PolicyRepositories {
  return new PolicyRepositories(gitSchema.parse({ dir: join(root, `clones-${++n}`), repositories: list.map((r) => ({ ...r, paths: ['policies'] })) }));
}

const ids = (state: KnownGoodState): string[] => state.objects.map((o) => `${o.kind} ${o.namespace ?? '-'}/${o.name}`).sort();
const kinds = (options: KnownGoodSource[]): string[] => options.map((o) => o.kind);
const byKind = (options: KnownGoodSource[], kind: KnownGoodSource['kind']): KnownGoodSource => options.find((o) => o.kind === kind) as KnownGoodSource;

describe('Git before the cause and Git head', () => {
  it('picks the last commit at or before the cause less 1 ms, and loads the scope with the cluster-scoped policies', async () => {
    const shop = await remote(shopHistory);
    const git = repositories([{ name: 'shop', url: shop.url }]);
    const options = await knownGoodOptions({ git, cause: { key: 'NetworkPolicy/shop/default-deny', at: CAUSE }, namespaces: ['shop'] });
    expect(kinds(options)).toEqual(['git-before-cause', 'journal-before-cause', 'git-head', 'git-revision']);
    const before = byKind(options, 'git-before-cause');
    // 09:12:03 is not before 09:12:03.000; 09:12:02 is.
    expect(before).toMatchObject({ available: true, repository: 'shop', commit: shop.shas[2], at: '2026-03-01T09:12:02.999Z' });
    expect(before.revisions).toEqual([{ repository: 'shop', commit: shop.shas[2], committedAt: '2026-03-01T09:12:02.000Z' }]);
    expect(before.label).toBe(`Git shop@${shop.shas[2]!.slice(0, 8)} (committed 09:12:02), the last commit before the cause (09:12:03)`);
    expect(defaultOption(options)).toBe(before);
    expect(byKind(options, 'journal-before-cause')).toMatchObject({ available: false, reason: expect.stringContaining('no change journal') });
    expect(byKind(options, 'git-head')).toMatchObject({ available: true, commit: shop.shas[4], label: `Git shop@${shop.shas[4]!.slice(0, 8)}, the head of main` });
    expect(byKind(options, 'git-revision')).toMatchObject({ available: true, needsInput: true });

    const state = await loadKnownGood(before, { git, namespaces: ['shop'] });
    expect(ids(state)).toEqual(['AdminNetworkPolicy -/baseline', 'NetworkPolicy shop/allow-metrics', 'NetworkPolicy shop/allow-web', 'NetworkPolicy shop/default-deny']);
    expect(state.objects.find((o) => o.name === 'allow-web')?.object).toEqual(np('shop', 'allow-web', 8080));
    expect(state.objects.find((o) => o.name === 'default-deny')?.source).toMatchObject({ repository: 'shop', path: 'policies/shop/deny.yaml', via: 'plain' });
    expect(state).toMatchObject({ complete: true, problems: [], unknown: [] });
    // The scope decides: db's policy only when db is in it.
    expect(ids(await loadKnownGood(before, { git, namespaces: ['shop', 'db'] }))).toContain('NetworkPolicy db/from-api');
    const head = await loadKnownGood(byKind(options, 'git-head'), { git, namespaces: ['shop'] });
    expect(ids(head)).toEqual(['AdminNetworkPolicy -/baseline', 'NetworkPolicy shop/allow-metrics', 'NetworkPolicy shop/allow-web']);
    expect(head.objects.find((o) => o.name === 'allow-web')?.object).toEqual(np('shop', 'allow-web', 443));
  });

  it('counts a commit of the same second as the cause when the cause is later in that second; a cause before all history has no Git option', async () => {
    const shop = await remote(shopHistory);
    const git = repositories([{ name: 'shop', url: shop.url }]);
    const later = await knownGoodOptions({ git, cause: { key: 'k', at: '2026-03-01T09:12:03.500Z' }, namespaces: ['shop'] });
    expect(byKind(later, 'git-before-cause')).toMatchObject({ available: true, commit: shop.shas[3] });
    const between = await knownGoodOptions({ git, cause: { key: 'k', at: '2026-03-01T09:30:00Z' }, namespaces: ['shop'] });
    expect(byKind(between, 'git-before-cause').commit).toBe(shop.shas[3]);
    const early = await knownGoodOptions({ git, cause: { key: 'k', at: '2026-03-01T07:59:59Z' }, namespaces: ['shop'] });
    expect(byKind(early, 'git-before-cause')).toMatchObject({ available: false, reason: 'shop has no commit before the cause (07:59:59): its history starts later' });
    expect(defaultOption(early)?.kind).toBe('git-head');
  });

  it('says why: no Git, no cause, a cause time that is not a time, a repository never fetched', async () => {
    const none = await knownGoodOptions({ cause: { key: 'k', at: CAUSE }, namespaces: ['shop'] });
    expect(none.map((o) => o.available)).toEqual([false, false, false, false]);
    expect(byKind(none, 'git-before-cause').reason).toBe('no policy repository is configured (git.repositories)');
    expect(byKind(none, 'git-head').reason).toBe('no policy repository is configured (git.repositories)');
    expect(byKind(none, 'git-revision').reason).toBe('no policy repository is configured (git.repositories)');
    expect(defaultOption(none)).toBeUndefined();

    const shop = await remote(shopHistory);
    const git = repositories([{ name: 'shop', url: shop.url }]);
    const noCause = await knownGoodOptions({ git, cause: null, namespaces: ['shop'] });
    expect(byKind(noCause, 'git-before-cause')).toMatchObject({ available: false, reason: expect.stringContaining('step 2 found no cause') });
    expect(defaultOption(noCause)?.kind).toBe('git-head');
    const badTime = await knownGoodOptions({ git, cause: { key: 'k', at: 'yesterday' }, namespaces: ['shop'] });
    expect(byKind(badTime, 'git-before-cause').reason).toBe('the cause\'s time "yesterday" is not a time');

    const missing = repositories([{ name: 'gone', url: `file://${join(root, 'no-such-remote.git')}` }]);
    const unsynced = await knownGoodOptions({ git: missing, cause: { key: 'k', at: CAUSE }, namespaces: ['shop'] });
    expect(byKind(unsynced, 'git-before-cause')).toMatchObject({ available: false, reason: expect.stringMatching(/^gone is not cloned yet \(.*does not exist/) });
    expect(byKind(unsynced, 'git-head')).toMatchObject({ available: false, reason: expect.stringMatching(/^gone is not cloned yet/) });
    const notFetched = await knownGoodOptions({ git: repositories([{ name: 'shop', url: shop.url }]), fetch: false, cause: { key: 'k', at: CAUSE }, namespaces: ['shop'] });
    expect(byKind(notFetched, 'git-head').reason).toBe('shop is not cloned yet (no fetch has succeeded)');
  });

  it('offers the last good clone with a caveat when the fetch fails, and needs every repository of several', async () => {
    const shop = await remote(shopHistory);
    const infra = await remote([at('2026-03-01T07:00:00Z', { 'policies/infra.yaml': yaml(np('shop', 'allow-dns', 53), np('kube-system', 'dns', 53)) })]);
    const git = repositories([
      { name: 'shop', url: shop.url },
      { name: 'infra', url: infra.url },
    ]);
    const both = await knownGoodOptions({ git, cause: { key: 'k', at: CAUSE }, namespaces: ['shop'] });
    const before = byKind(both, 'git-before-cause');
    expect(before.revisions?.map((r) => `${r.repository}@${r.commit}`)).toEqual([`shop@${shop.shas[2]}`, `infra@${infra.shas[0]}`]);
    expect(before.commit).toBeUndefined(); // several repositories: see revisions
    expect(before.label).toContain('the last commits before the cause (09:12:03)');
    expect(ids(await loadKnownGood(before, { git, namespaces: ['shop'] }))).toContain('NetworkPolicy shop/allow-dns');

    renameSync(infra.dir, `${infra.dir}.moved`);
    const stale = await knownGoodOptions({ git, cause: { key: 'k', at: CAUSE }, namespaces: ['shop'] });
    expect(byKind(stale, 'git-head')).toMatchObject({ available: true, caveat: expect.stringMatching(/^infra: the fetch failed \(.*\), the last good clone is used$/) });

    const late = repositories([
      { name: 'shop', url: shop.url },
      { name: 'late', url: (await remote([at('2026-03-01T11:00:00Z', { 'policies/x.yaml': yaml(np('shop', 'x')) })])).url },
    ]);
    const lateOptions = await knownGoodOptions({ git: late, cause: { key: 'k', at: CAUSE }, namespaces: ['shop'] });
    expect(byKind(lateOptions, 'git-before-cause').reason).toBe('late has no commit before the cause (09:12:03): its history starts later');
  });

  it('keeps what Git could not render as problems and marks the state incomplete; refuses sources that cannot be loaded', async () => {
    const shop = await remote([...shopHistory.slice(0, 2), at('2026-03-01T09:05:00Z', { 'policies/shop/broken.yaml': 'kind: NetworkPolicy\nmetadata: [oops\n' })]);
    const git = repositories([{ name: 'shop', url: shop.url }]);
    const options = await knownGoodOptions({ git, cause: { key: 'k', at: CAUSE }, namespaces: ['shop'] });
    const state = await loadKnownGood(byKind(options, 'git-before-cause'), { git, namespaces: ['shop'] });
    expect(state.complete).toBe(false);
    expect(state.problems).toEqual([expect.stringMatching(/^shop: policies\/shop\/broken\.yaml/)]);
    expect(ids(state)).toContain('NetworkPolicy shop/allow-web');

    await expect(loadKnownGood(byKind(await knownGoodOptions({ cause: null, namespaces: ['shop'] }), 'git-head'), { namespaces: ['shop'] })).rejects.toThrow(
      'Git HEAD of the tracked branch is not available: no policy repository is configured (git.repositories)',
    );
    await expect(loadKnownGood(byKind(options, 'git-revision'), { git, namespaces: ['shop'] })).rejects.toThrow(/type a commit sha or a tag first/);
    const forged: KnownGoodSource = { kind: 'git-head', label: 'forged', available: true, revisions: [{ repository: 'shop', commit: 'f'.repeat(40) }] };
    await expect(loadKnownGood(forged, { git, namespaces: ['shop'] })).rejects.toThrow(`forged: commit ffffffffffff is not in the clone of shop`);
    await expect(loadKnownGood({ ...forged, revisions: [{ repository: 'other', commit: shop.shas[0] as string }] }, { git, namespaces: ['shop'] })).rejects.toThrow('the repository other is no longer configured');
  });

  it('refuses a scope that is not a list of namespace names, before reading anything', async () => {
    for (const namespaces of [[], ['Shop'], ['a b'], ['../etc'], ['x'.repeat(64)], Array.from({ length: 1001 }, (_, i) => `n${i}`), 'shop' as unknown as string[]]) {
      await expect(knownGoodOptions({ cause: null, namespaces })).rejects.toThrow(RestoreSourceError);
    }
  });
});

// ----------------------------------------------------------------------------------------------

const DAY = 86_400_000;

function redis(): Redis {
  const r = testRedis();
  connections.push(r);
  return r;
}

function liveNp(name: string, rv: number, opts: { namespace?: string; port?: number; annotations?: Record<string, string> } = {}): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name,
      namespace: opts.namespace ?? 'shop',
      uid: `uid-${name}`,
      resourceVersion: String(rv),
      creationTimestamp: '2026-03-01T00:00:00Z',
      labels: { app: 'shop' },
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      managedFields: [{ manager: 'kubectl', operation: 'Apply', time: '2026-03-01T00:00:00Z', fieldsV1: { 'f:spec': {} } }],
    },
    spec: { podSelector: {}, ingress: [{ ports: [{ port: opts.port ?? 80 }] }] },
    status: {},
  };
}
const liveNs = (name: string, rv: number): Record<string, unknown> => ({ metadata: { name, uid: `uid-ns-${name}`, resourceVersion: String(rv), labels: { team: name } } });
const liveAnp = (name: string, rv: number): Record<string, unknown> => ({ metadata: { name, uid: `uid-${name}`, resourceVersion: String(rv) }, spec: { priority: 5 } });

/** A journal whose clock the test moves. */
function clocked(start: number, opts: { maxEntries?: number; maxObjectBytes?: number } = {}): { journal: ChangeJournal; tick: (ms: number) => number } {
  let now = start;
  const journal = new ChangeJournal(redis(), uniquePrefix('restore-src'), { maxAgeMs: 30 * DAY, maxEntries: opts.maxEntries ?? 100_000 }, { now: () => now, ...(opts.maxObjectBytes ? { limits: { maxObjectBytes: opts.maxObjectBytes } } : {}) });
  return { journal, tick: (ms) => (now += ms) };
}

describe("the journal's snapshot before the cause", () => {
  it('holds every policy of the scope as it was: deleted later kept, modified later as before, created later or deleted before left out', async () => {
    const t0 = Date.now() - 3_600_000;
    const { journal, tick } = clocked(t0);
    await journal.append('Namespace', { type: 'added', object: liveNs('shop', 1) });
    await journal.append('Namespace', { type: 'added', object: liveNs('db', 2) });
    await journal.append('NetworkPolicy', { type: 'added', object: liveNp('a', 3) });
    await journal.append('NetworkPolicy', { type: 'added', object: liveNp('b', 4) });
    await journal.append('NetworkPolicy', { type: 'added', object: liveNp('c', 5) });
    await journal.append('NetworkPolicy', { type: 'added', object: liveNp('x', 6, { namespace: 'db' }) });
    await journal.append('CiliumNetworkPolicy', { type: 'added', object: liveNp('cnp', 7) });
    await journal.append('AdminNetworkPolicy', { type: 'added', object: liveAnp('global', 8) });
    tick(10_000);
    await journal.append('NetworkPolicy', { type: 'modified', object: liveNp('a', 10, { port: 81, annotations: { note: 'kept', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }) });
    tick(10_000);
    await journal.append('NetworkPolicy', { type: 'deleted', object: liveNp('c', 11) });
    const cause = new Date(tick(10_000)).toISOString();
    await journal.append('NetworkPolicy', { type: 'modified', object: liveNp('a', 12, { port: 9999 }) }); // the cause itself, at its instant
    tick(10_000);
    await journal.append('NetworkPolicy', { type: 'deleted', object: liveNp('b', 13) });
    await journal.append('AdminNetworkPolicy', { type: 'deleted', object: liveAnp('global', 14) });
    tick(10_000);
    await journal.append('NetworkPolicy', { type: 'added', object: liveNp('d', 15) });

    const ctx: SourceContext = { journal, cause: { key: 'NetworkPolicy/shop/a', at: cause }, namespaces: ['shop'] };
    const options = await knownGoodOptions(ctx);
    const option = byKind(options, 'journal-before-cause');
    expect(option).toMatchObject({ available: true, at: new Date(Date.parse(cause) - 1).toISOString() });
    expect(option.label).toBe(`The journal's snapshot just before the cause (${cause.slice(11, 19)})`);
    expect(defaultOption(options)).toBe(option); // works without Git
    const state = await loadKnownGood(option, ctx);
    expect(ids(state)).toEqual(['AdminNetworkPolicy -/global', 'CiliumNetworkPolicy shop/cnp', 'NetworkPolicy shop/a', 'NetworkPolicy shop/b']);
    expect(state).toMatchObject({ complete: true, problems: [], unknown: [] });
    expect(state.objects.find((o) => o.name === 'a')?.object).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'a', namespace: 'shop', labels: { app: 'shop' }, annotations: { note: 'kept' } },
      spec: { podSelector: {}, ingress: [{ ports: [{ port: 81 }] }] },
    });
    expect(state.objects.find((o) => o.name === 'a')?.source).toMatchObject({ resourceVersion: '10', journal: expect.stringMatching(/^\d+-\d+$/) });
    expect(state.objects.find((o) => o.name === 'global')?.object).toEqual({ apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: 'global' }, spec: { priority: 5 } });
    // Scope: db's policy only with db.
    expect(ids(await loadKnownGood(option, { ...ctx, namespaces: ['shop', 'db'] }))).toContain('NetworkPolicy db/x');
  });

  it('is unavailable when the journal started after the cause, holds nothing, or there is no cause', async () => {
    const cause = new Date(Date.now() - 7_200_000).toISOString();
    const { journal } = clocked(Date.parse(cause) + 600_000);
    await journal.append('Namespace', { type: 'added', object: liveNs('shop', 1) });
    await journal.append('NetworkPolicy', { type: 'added', object: liveNp('a', 2) });
    const late = byKind(await knownGoodOptions({ journal, cause: { key: 'k', at: cause }, namespaces: ['shop'] }), 'journal-before-cause');
    expect(late.available).toBe(false);
    expect(late.reason).toBe(`the journal did not watch at ${new Date(Date.parse(cause) - 1).toISOString().slice(11, 19)}: its oldest entry is from ${new Date(Date.parse(cause) + 600_000).toISOString().slice(11, 19)} (it started later, or its retention dropped what came before)`);
    // A source offered earlier is refused when loaded once the journal no longer covers it.
    await expect(loadKnownGood({ ...late, available: true, at: new Date(Date.parse(cause) - 1).toISOString() }, { journal, namespaces: ['shop'] })).rejects.toThrow(/is no longer available: the journal did not watch/);

    const empty = clocked(Date.now()).journal;
    expect(byKind(await knownGoodOptions({ journal: empty, cause: { key: 'k', at: cause }, namespaces: ['shop'] }), 'journal-before-cause').reason).toMatch(/: it holds no entry \(/);
    expect(byKind(await knownGoodOptions({ journal, cause: null, namespaces: ['shop'] }), 'journal-before-cause').reason).toContain('step 2 found no cause');
  });

  it('is partial, saying which objects it cannot tell, when their entries were trimmed or only a digest was kept', async () => {
    const t0 = Date.now() - 3_600_000;
    const { journal, tick } = clocked(t0, { maxEntries: 6, maxObjectBytes: 2048 });
    await journal.append('Namespace', { type: 'added', object: liveNs('shop', 1) });
    await journal.append('NetworkPolicy', { type: 'added', object: liveNp('steady', 2) });
    await journal.append('NetworkPolicy', { type: 'added', object: liveNp('trimmed', 3) });
    await journal.append('NetworkPolicy', { type: 'added', object: liveNp('huge', 4, { annotations: { blob: 'x'.repeat(4000) } }) });
    const cause = new Date(tick(10_000)).toISOString();
    tick(1000);
    await journal.append('NetworkPolicy', { type: 'modified', object: liveNp('trimmed', 5, { port: 81 }) });
    // Changes elsewhere push trimmed's entry after the cause out of the journal.
    for (let i = 0; i < 8; i++) {
      tick(1000);
      await journal.append('NetworkPolicy', { type: 'modified', object: liveNp('noise', 10 + i, { namespace: 'other', port: 1000 + i }) });
    }
    const ctx: SourceContext = { journal, cause: { key: 'k', at: cause }, namespaces: ['shop'] };
    const option = byKind(await knownGoodOptions(ctx), 'journal-before-cause');
    expect(option.available).toBe(true);
    const state = await loadKnownGood(option, ctx);
    expect(ids(state)).toEqual(['NetworkPolicy shop/steady']);
    expect(state.unknown).toEqual([
      { kind: 'NetworkPolicy', namespace: 'shop', name: 'huge' },
      { kind: 'NetworkPolicy', namespace: 'shop', name: 'trimmed' },
    ]);
    expect(state.complete).toBe(false);
    expect(state.source.caveat).toBe('partial: the journal cannot tell 2 objects, left out of the restore');
    expect(state.problems).toEqual([
      expect.stringMatching(/^NetworkPolicy shop\/huge: the journal kept only a digest of it then \(\d+ bytes, over its 2048-byte limit\)/),
      expect.stringMatching(/^NetworkPolicy shop\/trimmed: the journal cannot tell how it was at /),
    ]);
  });

  it('offers an unavailable option, not an error, when Redis cannot be read', async () => {
    const broken = testRedis();
    broken.disconnect();
    const journal = new ChangeJournal(broken, uniquePrefix('restore-src'), { maxAgeMs: DAY, maxEntries: 10 });
    const option = byKind(await knownGoodOptions({ journal, cause: { key: 'k', at: CAUSE }, namespaces: ['shop'] }), 'journal-before-cause');
    expect(option).toMatchObject({ available: false, reason: expect.stringMatching(/^it cannot be examined: /) });
  });
});
