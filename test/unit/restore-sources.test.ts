// The pure parts of the restore's known-good sources: the choice message's line per option, the
// check of what a responder types as a revision, the scope check, times, and a journalled object
// turned into a manifest that can be applied.
import { describe, expect, it } from 'vitest';
import { checkRevisionText, fetchedTagRef, showTyped } from '../../src/git/revision.js';
import { beforeCauseGitLabel, checkScope, clockTime, describeOption, headLabel, inScope, restorableManifest, RestoreSourceError, typedLabel } from '../../src/restore/source-text.js';
import type { KnownGoodSource } from '../../src/restore/source-types.js';

const git: KnownGoodSource = { kind: 'git-before-cause', label: 'Git shop@1a2b3c4d (committed 08:55:10), the last commit before the cause (09:12:03)', available: true };

describe('describeOption', () => {
  it('says what an option changes, in objects and connections', () => {
    expect(describeOption(git, 3, { opened: 2, closed: 5 })).toBe(`${git.label}: 3 objects to change, opens 2 connections and closes 5`);
    expect(describeOption(git, 1, { opened: 1, closed: 0 })).toBe(`${git.label}: 1 object to change, opens 1 connection`);
    expect(describeOption(git, 2, { opened: 0, closed: 1 })).toBe(`${git.label}: 2 objects to change, closes 1 connection`);
    expect(describeOption(git, 4, { opened: 0, closed: 0 })).toBe(`${git.label}: 4 objects to change, no connectivity change`);
    expect(describeOption(git, 0, { opened: 0, closed: 0 })).toBe(`${git.label}: no object to change, no connectivity change`);
  });

  it('gives the reason of an unavailable option, the caveat of an available one, and only the label of the typing option', () => {
    expect(describeOption({ ...git, available: false, reason: 'step 2 found no cause' }, 0, { opened: 0, closed: 0 })).toBe(`${git.label}: not available (step 2 found no cause)`);
    expect(describeOption({ ...git, caveat: 'partial: the journal cannot tell 1 object' }, 1, { opened: 0, closed: 0 })).toBe(`${git.label}: 1 object to change, no connectivity change (partial: the journal cannot tell 1 object)`);
    expect(describeOption({ kind: 'git-revision', label: 'A commit SHA or tag you type', available: true, needsInput: true }, 0, { opened: 0, closed: 0 })).toBe('A commit SHA or tag you type');
  });

  it('refuses numbers that are not counts', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3' as unknown as number, undefined as unknown as number, 2 ** 60]) {
      expect(() => describeOption(git, bad, { opened: 0, closed: 0 })).toThrow(RestoreSourceError);
      expect(() => describeOption(git, 1, { opened: bad, closed: 0 })).toThrow(/delta\.opened must be a whole number/);
      expect(() => describeOption(git, 1, { opened: 0, closed: bad })).toThrow(/delta\.closed must be a whole number/);
    }
    expect(() => describeOption(git, 1, undefined as unknown as { opened: number; closed: number })).toThrow(RestoreSourceError);
  });
});

describe('checkRevisionText', () => {
  it('takes a sha (lower-cased), a tag or branch name, and a repository prefix', () => {
    expect(checkRevisionText('1A2B3C4D')).toEqual({ ok: true, revision: { kind: 'sha', sha: '1a2b3c4d' } });
    expect(checkRevisionText('a'.repeat(40))).toEqual({ ok: true, revision: { kind: 'sha', sha: 'a'.repeat(40) } });
    expect(checkRevisionText('b'.repeat(64))).toEqual({ ok: true, revision: { kind: 'sha', sha: 'b'.repeat(64) } });
    expect(checkRevisionText('abc123')).toEqual({ ok: true, revision: { kind: 'name', name: 'abc123' } }); // too short for a sha: a tag
    expect(checkRevisionText('  v1.2.3 ')).toEqual({ ok: true, revision: { kind: 'name', name: 'v1.2.3' } });
    expect(checkRevisionText('tags/v1.2')).toEqual({ ok: true, revision: { kind: 'name', name: 'v1.2' } });
    expect(checkRevisionText('refs/tags/release/2026-03')).toEqual({ ok: true, revision: { kind: 'name', name: 'release/2026-03' } });
    expect(checkRevisionText('shop-policies:v1+build@x_y')).toEqual({ ok: true, repository: 'shop-policies', revision: { kind: 'name', name: 'v1+build@x_y' } });
    expect(checkRevisionText('infra:deadbeef')).toEqual({ ok: true, repository: 'infra', revision: { kind: 'sha', sha: 'deadbeef' } });
  });

  it.each([
    ['--upload-pack=x', 'starts with "-"'],
    ['-x', 'starts with "-"'],
    ['../x', 'contains ".."'],
    ['a..b', 'contains ".."'],
    ['a b', 'contains a space'],
    ['a\tb', 'contains "\\t"'],
    ['a\u0000b', 'contains "\\u0000"'],
    ['a\nb', 'contains "\\n"'],
    ['é', 'contains "é"'],
    ['a:b:c', 'contains ":"'],
    ['x*', 'contains "*"'],
    ['x?', 'contains "?"'],
    ['[x]', 'contains "["'],
    ['x\\y', 'contains "\\\\"'],
    ['x~1', 'contains "~"'],
    ['x^', 'contains "^"'],
    ['@', '"@" alone'],
    ['/x', 'empty path component'],
    ['x/', 'empty path component'],
    ['a//b', 'empty path component'],
    ['a/.b', 'starts with "."'],
    ['a.lock', 'ends with ".lock"'],
    ['a.lock/b', 'ends with ".lock"'],
    ['a.', 'ends with "."'],
    ['v'.repeat(201), 'is 201 characters long'],
  ])('refuses %j: %s', (text, reason) => {
    const checked = checkRevisionText(text);
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.error).toContain(reason);
    expect(!checked.ok && checked.error).toMatch(/is not a commit sha or a tag: it /);
  });

  it('refuses what is not text, empty, oversized or a bad repository name, without echoing it whole', () => {
    expect(checkRevisionText(undefined)).toEqual({ ok: false, error: 'type a commit sha or a tag' });
    expect(checkRevisionText(42)).toEqual({ ok: false, error: 'type a commit sha or a tag' });
    expect(checkRevisionText(' \n ')).toEqual({ ok: false, error: 'type a commit sha or a tag' });
    const huge = checkRevisionText('x'.repeat(1024 * 1024));
    expect(huge).toEqual({ ok: false, error: 'the text is 1048576 characters long: a commit sha or a tag has at most 200' });
    expect(checkRevisionText('Shop:v1')).toEqual({ ok: false, error: '"Shop" before ":" is not a repository name (type <repository>:<sha or tag>)' });
    expect(checkRevisionText(':v1').ok).toBe(false);
    expect(checkRevisionText('shop:')).toEqual({ ok: false, error: 'type a commit sha or a tag after "shop:"' });
    const long = checkRevisionText(`a b${'c'.repeat(900)}`);
    expect(!long.ok && long.error.length).toBeLessThan(200);
  });

  it('quotes typed text escaped and cut', () => {
    expect(showTyped('a"b\n')).toBe('"a\\"b\\n"');
    expect(showTyped('x'.repeat(100), 10)).toBe('"xxxxxxxxxx…" (100 characters)');
  });

  it('keeps fetched tags under one short, clash-free ref per name', () => {
    expect(fetchedTagRef('v1')).toMatch(/^refs\/netpol-restore\/tags\/[0-9a-f]{64}$/);
    expect(fetchedTagRef('a/b')).not.toBe(fetchedTagRef('a'));
    expect(fetchedTagRef('v'.repeat(200)).length).toBe(fetchedTagRef('v').length);
  });
});

describe('scope, times and labels', () => {
  it('checks the scope', () => {
    expect([...checkScope(['shop', 'db', 'shop'])]).toEqual(['shop', 'db']);
    expect(() => checkScope([])).toThrow('the restore scope needs at least one namespace');
    expect(() => checkScope(['Shop'])).toThrow('the restore scope names "Shop", which is not a namespace name');
    expect(() => checkScope([1])).toThrow(RestoreSourceError);
    expect(() => checkScope(null)).toThrow(RestoreSourceError);
    expect(() => checkScope(Array.from({ length: 1001 }, (_, i) => `n${i}`))).toThrow(/at most 1000/);
    expect(inScope(undefined, new Set(['shop']))).toBe(true);
    expect(inScope('shop', new Set(['shop']))).toBe(true);
    expect(inScope('db', new Set(['shop']))).toBe(false);
  });

  it('tells times beside a reference of the same day, with the date otherwise', () => {
    expect(clockTime('2026-03-01T09:12:03.999Z', '2026-03-01T23:00:00Z')).toBe('09:12:03');
    expect(clockTime('2026-02-27T08:55:10Z', '2026-03-01T09:12:03Z')).toBe('2026-02-27 08:55');
    expect(clockTime('2026-02-27T08:55:10Z')).toBe('2026-02-27 08:55');
    expect(clockTime('not a time')).toBe('not a time');
  });

  it('labels Git sources with their commits', () => {
    const one = [{ repository: 'shop', commit: '1a2b3c4d5e6f', committedAt: '2026-03-01T08:55:10Z' }];
    expect(beforeCauseGitLabel(one, '2026-03-01T09:12:03Z')).toBe('Git shop@1a2b3c4d (committed 08:55:10), the last commit before the cause (09:12:03)');
    const two = [...one, { repository: 'infra', commit: 'ffeeddccbbaa', committedAt: '2026-02-20T10:00:00Z' }];
    expect(beforeCauseGitLabel(two, '2026-03-01T09:12:03Z')).toBe('Git shop@1a2b3c4d (committed 08:55:10), infra@ffeeddcc (committed 2026-02-20 10:00): the last commits before the cause (09:12:03)');
    expect(headLabel(two, new Map([['shop', 'main']]))).toBe('Git shop@1a2b3c4d, the head of main; infra@ffeeddcc, the head of its branch');
    expect(typedLabel(one[0]!, 'tag', 'v1.2', [])).toBe('Git shop@1a2b3c4d (committed 2026-03-01 08:55), tag v1.2');
  });
});

describe('restorableManifest', () => {
  it('keeps what the owner declared and drops what the API server set', () => {
    const stored = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'a', namespace: 'shop', uid: 'u', resourceVersion: '9', generation: 3, creationTimestamp: 't', managedFields: [{ manager: 'kubectl' }], labels: { app: 'x' }, annotations: { note: 'y' } },
      spec: { podSelector: {} },
      status: { conditions: [] },
    };
    expect(restorableManifest(stored)).toEqual({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'a', namespace: 'shop', labels: { app: 'x' }, annotations: { note: 'y' } }, spec: { podSelector: {} } });
    expect(restorableManifest({ apiVersion: 'v', kind: 'K', metadata: { name: 'b', labels: {}, annotations: {} } })).toEqual({ apiVersion: 'v', kind: 'K', metadata: { name: 'b' } });
    expect(restorableManifest({ apiVersion: 'v', kind: 'K', metadata: 'junk' })).toEqual({ apiVersion: 'v', kind: 'K', metadata: { name: undefined } });
  });
});
