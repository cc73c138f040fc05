// The pure parts of the repository index: what a file declares, where an object is declared,
// and git log parsing.
import { describe, expect, it } from 'vitest';
import { buildCommitIndex, locateIn, originSuffix, pickDeclared, type IndexedFile } from '../../src/git/locate.js';
import { followChain, parseLog, type GitCommit } from '../../src/git/log.js';
import { manifestEntries, manifestObjects, originPath } from '../../src/git/manifests.js';
import { parseBatch, parseLsTree } from '../../src/git/objects.js';

describe('what a file declares', () => {
  it('reads multi-document YAML, Lists and JSON, with document and item indexes', () => {
    const yaml = [
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: db}\n',
      '# only a comment\n',
      'apiVersion: v1\nkind: List\nitems:\n- {kind: NetworkPolicy, metadata: {name: b, namespace: db}}\n- {kind: NetworkPolicy, metadata: {name: c}}\n- not an object\n',
      'kind: NetworkPolicy\nmetadata: {name: ""}\n',
      'kind: NetworkPolicy\nmetadata: {namespace: db}\n',
      '- a list at the top\n',
    ].join('---\n');
    expect(manifestEntries(yaml, 'p.yaml')).toEqual({
      entries: [
        { kind: 'NetworkPolicy', name: 'a', namespace: 'db', apiVersion: 'networking.k8s.io/v1', document: 0 },
        { kind: 'NetworkPolicy', name: 'b', namespace: 'db', document: 2, item: 0 },
        { kind: 'NetworkPolicy', name: 'c', document: 2, item: 1 },
      ],
      problems: [],
    });
    expect(manifestEntries('{"kind":"NetworkPolicyList","items":[{"kind":"NetworkPolicy","metadata":{"name":"j","namespace":"x"}}]}', 'p.json').entries).toEqual([
      { kind: 'NetworkPolicy', name: 'j', namespace: 'x', document: 0, item: 0 },
    ]);
    expect(manifestObjects('\uFEFFkind: X\nmetadata: {name: y}\n', 'p.yml').objects).toEqual([{ document: 0, object: { kind: 'X', metadata: { name: 'y' } } }]);
  });

  it('reports unreadable documents and keeps the others', () => {
    const parsed = manifestEntries('kind: A\nmetadata: {name: a}\n---\nkind: [\n---\nkind: B\nmetadata: {name: b}\n', 'p.yaml');
    expect(parsed.entries.map((e) => [e.name, e.document])).toEqual([
      ['a', 0],
      ['b', 2],
    ]);
    expect(parsed.problems).toEqual([expect.stringMatching(/^document 1: invalid YAML: /)]);
    expect(manifestEntries('{"kind": ', 'p.json')).toEqual({ entries: [], problems: [expect.stringMatching(/^invalid JSON: /)] });
    // An alias bomb is refused, not expanded.
    const bomb = 'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
    expect(manifestEntries(bomb, 'p.yaml').problems).toEqual([expect.stringMatching(/alias/i)]);
    // Duplicate keys are YAML errors in strict parsers; we read the last one, as kubectl does.
    expect(manifestEntries('kind: A\nmetadata: {name: a}\nmetadata: {name: b}\n', 'p.yaml').entries.map((e) => e.name)).toEqual(['b']);
  });

  it("keeps a kustomization's namespace, not its identity", () => {
    expect(manifestEntries('apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: db\nresources: [a.yaml]\n', 'overlays/db/kustomization.yaml')).toEqual({ entries: [], problems: [], kustomizeNamespace: 'db' });
    expect(manifestEntries('namespace: db\nresources: [a.yaml]\n', 'x/Kustomization').kustomizeNamespace).toBe('db');
    // A file merely named like one elsewhere is not.
    expect(manifestEntries('kind: Kustomization\nnamespace: db\n', 'x/not-kustomization.yaml').kustomizeNamespace).toBeUndefined();
  });

  it("reads kustomize's origin annotation", () => {
    expect(originPath({ 'config.kubernetes.io/origin': 'path: policies/db/deny.yaml\n' })).toBe('policies/db/deny.yaml');
    expect(originPath({ 'config.kubernetes.io/origin': 'path: ../base/deny.yaml\nref: v1\n' })).toBe('../base/deny.yaml');
    expect(originPath({ 'config.kubernetes.io/origin': 'path: examples/pod.yaml\nrepo: https://github.com/kubernetes-sigs/kustomize\nref: v1.0.6\n' })).toBeUndefined();
    expect(originPath({ 'config.kubernetes.io/origin': 'configuredIn: kustomization.yaml\nconfiguredBy:\n  kind: ConfigMapGenerator\n' })).toBeUndefined();
    expect(originPath({ 'config.kubernetes.io/origin': '[unclosed' })).toBeUndefined();
    expect(originPath({ 'config.kubernetes.io/origin': 'path: [a]\n' })).toBeUndefined();
    expect(originPath({ 'config.kubernetes.io/origin': `path: ${'a'.repeat(5000)}` })).toBeUndefined();
    expect(originPath({ 'config.kubernetes.io/origin': 'path: a\n---\npath: b\n' })).toBeUndefined();
    expect(originPath(undefined)).toBeUndefined();
    expect(originSuffix('./policies/db/x.yaml')).toBe('policies/db/x.yaml');
    expect(originSuffix('../../base/x.yaml')).toBe('base/x.yaml');
    expect(originSuffix('a/../../../x.yaml')).toBe('x.yaml');
    expect(originSuffix('/etc/passwd')).toBeUndefined();
    expect(originSuffix('..')).toBeUndefined();
    expect(originSuffix('a\\..\\b')).toBeUndefined();
  });
});

function file(path: string, entries: Array<{ kind?: string; name: string; namespace?: string; document?: number }>, kustomizeNamespace?: string): IndexedFile {
  return {
    path,
    oid: path,
    entries: entries.map((e) => ({ kind: e.kind ?? 'NetworkPolicy', name: e.name, ...(e.namespace ? { namespace: e.namespace } : {}), document: e.document ?? 0 })),
    ...(kustomizeNamespace ? { kustomizeNamespace } : {}),
  };
}

describe('where a live object is declared', () => {
  const index = buildCommitIndex('c0', [
    file('clusters/prod/db/deny.yaml', [{ name: 'default-deny-all', namespace: 'db' }]),
    file('clusters/staging/db/deny.yaml', [{ name: 'default-deny-all', namespace: 'db' }]),
    file('base/deny.yaml', [{ name: 'default-deny-all' }]),
    file('apps/api/kustomization.yaml', [], 'api'),
    file('apps/api/policies/allow.yaml', [{ name: 'allow' }, { name: 'web', document: 1 }]),
    file('apps/web/kustomization.yaml', [], 'frontend'),
    file('apps/web/allow.yaml', [{ name: 'allow' }]),
    file('loose/one.yaml', [{ name: 'lonely' }]),
    file('loose/two.yaml', [{ name: 'lonely' }]),
    file('cluster/anp.yaml', [{ kind: 'AdminNetworkPolicy', name: 'guard' }]),
  ], []);

  it('by kind/namespace/name, naming the other files that declare it', () => {
    expect(locateIn(index, { kind: 'NetworkPolicy', namespace: 'db', name: 'default-deny-all' })).toEqual({
      path: 'clusters/prod/db/deny.yaml',
      document: 0,
      match: 'exact',
      alsoIn: ['clusters/staging/db/deny.yaml'],
    });
    expect(locateIn(index, { kind: 'AdminNetworkPolicy', name: 'guard' })).toEqual({ path: 'cluster/anp.yaml', document: 0, match: 'exact' });
    expect(locateIn(index, { kind: 'CiliumNetworkPolicy', namespace: 'db', name: 'default-deny-all' })).toBeUndefined();
    // Without a namespace, only a declaration without one fits.
    expect(locateIn(index, { kind: 'NetworkPolicy', name: 'default-deny-all' })).toEqual({ path: 'base/deny.yaml', document: 0, match: 'exact' });
    expect(locateIn(index, { kind: 'NetworkPolicy', name: 'allow-nothing' })).toBeUndefined();
  });

  it('by the origin annotation first, even against another exact match', () => {
    const origin = (path: string) => ({ kind: 'NetworkPolicy', namespace: 'db', name: 'default-deny-all', annotations: { 'config.kubernetes.io/origin': `path: ${path}\n` } });
    expect(locateIn(index, origin('staging/db/deny.yaml'))).toEqual({ path: 'clusters/staging/db/deny.yaml', document: 0, match: 'origin' });
    // Relative to an overlay: "../" is dropped, the rest must end a path.
    expect(locateIn(index, origin('../../base/deny.yaml'))).toEqual({ path: 'base/deny.yaml', document: 0, match: 'origin' });
    // Pointing at nothing, outside, or at a file that does not declare it: back to kind/namespace/name.
    expect(locateIn(index, origin('nowhere.yaml'))?.match).toBe('exact');
    expect(locateIn(index, origin('/etc/passwd'))?.match).toBe('exact');
    expect(locateIn(index, origin('loose/one.yaml'))?.path).toBe('clusters/prod/db/deny.yaml');
  });

  it('namespace-less files: by the kustomization above them, else by name, saying so', () => {
    expect(locateIn(index, { kind: 'NetworkPolicy', namespace: 'api', name: 'allow' })).toEqual({ path: 'apps/api/policies/allow.yaml', document: 0, match: 'kustomization' });
    expect(locateIn(index, { kind: 'NetworkPolicy', namespace: 'frontend', name: 'allow' })).toEqual({ path: 'apps/web/allow.yaml', document: 0, match: 'kustomization' });
    // A kustomization that names another namespace means it is someone else's object.
    expect(locateIn(index, { kind: 'NetworkPolicy', namespace: 'db', name: 'allow' })).toBeUndefined();
    expect(locateIn(index, { kind: 'NetworkPolicy', namespace: 'api', name: 'web' })).toEqual({ path: 'apps/api/policies/allow.yaml', document: 1, match: 'kustomization' });
    expect(locateIn(index, { kind: 'NetworkPolicy', namespace: 'anything', name: 'lonely' })).toEqual({ path: 'loose/one.yaml', document: 0, match: 'name-only', alsoIn: ['loose/two.yaml'] });
    // The namespace-less base counts for any namespace without an exact declaration.
    expect(locateIn(index, { kind: 'NetworkPolicy', namespace: 'payments', name: 'default-deny-all' })).toEqual({ path: 'base/deny.yaml', document: 0, match: 'name-only' });
  });
});

describe('the object within a file', () => {
  it('picks kind and name, its own namespace before a namespace-less one', () => {
    const { objects } = manifestObjects(
      ['kind: NetworkPolicy\nmetadata: {name: a}\nspec: {n: 1}\n', 'kind: NetworkPolicy\nmetadata: {name: a, namespace: db}\nspec: {n: 2}\n', 'kind: CiliumNetworkPolicy\nmetadata: {name: a, namespace: db}\n', 'kind: NetworkPolicy\nmetadata: nonsense\n'].join('---\n'),
      'f.yaml',
    );
    expect(pickDeclared({ kind: 'NetworkPolicy', namespace: 'db', name: 'a' }, objects)?.spec).toEqual({ n: 2 });
    expect(pickDeclared({ kind: 'NetworkPolicy', namespace: 'api', name: 'a' }, objects)?.spec).toEqual({ n: 1 });
    expect(pickDeclared({ kind: 'NetworkPolicy', name: 'a' }, objects)?.spec).toEqual({ n: 1 });
    expect(pickDeclared({ kind: 'NetworkPolicy', namespace: 'db', name: 'b' }, objects)).toBeUndefined();
    expect(pickDeclared({ kind: 'Namespace', name: 'db' }, objects)).toBeUndefined();
  });
});

const c = (sha: string, path: string, change: GitCommit['change'], previousPath?: string): GitCommit => ({
  sha: sha.repeat(40).slice(0, 40),
  author: { name: 'a', email: 'a@x' },
  committer: { name: 'a', email: 'a@x' },
  time: '2026-01-01T00:00:00.000Z',
  authorTime: '2026-01-01T00:00:00.000Z',
  subject: 's',
  path,
  change,
  ...(previousPath ? { previousPath } : {}),
});

describe('git log output', () => {
  const header = (sha: string, subject: string) => `\u001e${sha}\u0000Erin\u0000erin@x\u0000Frank\u0000frank@x\u00002026-03-01T10:00:00+01:00\u00002026-02-28T10:00:00-05:00\u0000${subject}\u0000`;

  it('reads fields by count, so hostile subjects and paths stay in their place', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const m = 'c'.repeat(40);
    const out = `${header(a, 'evil \u001e' + b + '\u001f subject')}\nR087\u0000old\u001e.yaml\u0000new.yaml\u0000${header(m, 'merge')}${header(b, 'first')}\nA\u0000old\u001e.yaml\u0000`;
    expect(parseLog(out)).toEqual([
      { sha: a, author: { name: 'Erin', email: 'erin@x' }, committer: { name: 'Frank', email: 'frank@x' }, time: '2026-03-01T09:00:00.000Z', authorTime: '2026-02-28T15:00:00.000Z', subject: `evil \u001e${b}\u001f subject`, previousPath: 'old\u001e.yaml', path: 'new.yaml', change: 'renamed' },
      { sha: m, author: { name: 'Erin', email: 'erin@x' }, committer: { name: 'Frank', email: 'frank@x' }, time: '2026-03-01T09:00:00.000Z', authorTime: '2026-02-28T15:00:00.000Z', subject: 'merge' },
      { sha: b, author: { name: 'Erin', email: 'erin@x' }, committer: { name: 'Frank', email: 'frank@x' }, time: '2026-03-01T09:00:00.000Z', authorTime: '2026-02-28T15:00:00.000Z', subject: 'first', path: 'old\u001e.yaml', change: 'added' },
    ]);
    expect(parseLog('')).toEqual([]);
    expect(parseLog('garbage\u0000\u001enot-a-sha\u0000x')).toEqual([]);
    expect(parseLog(`\u001e${a}\u0000truncated`)).toEqual([]);
  });

  it('stops following at a copy (a look-alike file) or where the path breaks', () => {
    expect(followChain([c('1', 'n.yaml', 'modified'), c('2', 'n.yaml', 'renamed', 'o.yaml'), c('3', 'o.yaml', 'added')]).map((x) => x.sha[0])).toEqual(['1', '2', '3']);
    expect(followChain([c('1', 'n.yaml', 'modified'), c('2', 'n.yaml', 'copied', 'other.yaml'), c('3', 'other.yaml', 'modified')])).toEqual([c('1', 'n.yaml', 'modified'), c('2', 'n.yaml', 'added')]);
    expect(followChain([c('1', 'n.yaml', 'modified'), c('2', 'x.yaml', 'modified')]).length).toBe(1);
    // Deleted and re-created at the same path: one history.
    expect(followChain([c('1', 'n.yaml', 'added'), c('2', 'n.yaml', 'deleted'), c('3', 'n.yaml', 'added')]).length).toBe(3);
  });

  it('reads ls-tree and cat-file --batch output', () => {
    const oid = 'd'.repeat(40);
    expect(parseLsTree(Buffer.from(`100644 blob ${oid}     12\tpolicies/a b.yaml\u0000120000 blob ${oid}      9\tl.yaml\u0000160000 commit ${oid}       -\tsub\u0000junk\u0000`))).toEqual([
      { mode: '100644', type: 'blob', oid, size: 12, path: 'policies/a b.yaml' },
      { mode: '120000', type: 'blob', oid, size: 9, path: 'l.yaml' },
      { mode: '160000', type: 'commit', oid, path: 'sub' },
    ]);
    const e = 'e'.repeat(40);
    const blobs = parseBatch(Buffer.from(`${oid} blob 3\nabc\n${'f'.repeat(40)} missing\n${e} blob 2\nx\n\n`));
    expect([...blobs].map(([k, v]) => [k, v.toString()])).toEqual([
      [oid, 'abc'],
      [e, 'x\n'],
    ]);
    // A size beyond the output (truncated) stops the reader instead of reading garbage.
    expect(parseBatch(Buffer.from(`${oid} blob 999\nabc\n`)).size).toBe(0);
  });
});
