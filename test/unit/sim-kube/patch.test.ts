import { describe, expect, it } from 'vitest';
import { deepEqual, jsonPatch, mergePatch, strategicMergePatch } from '../../../src/sim/kube/patch.js';
import { StatusError } from '../../../src/sim/kube/status.js';

describe('mergePatch (RFC 7386)', () => {
  it('merges objects, deletes nulls, replaces lists and scalars, never mutates input', () => {
    const target = { a: 1, b: { c: 2, d: [1, 2] }, e: 'x' };
    const patch = { a: null, b: { d: [3], f: true }, g: { h: 1 } };
    const copy = structuredClone(target);
    expect(mergePatch(target, patch)).toEqual({ b: { c: 2, d: [3], f: true }, e: 'x', g: { h: 1 } });
    expect(target).toEqual(copy);
  });
  it('replaces the whole document with a non-object patch', () => {
    expect(mergePatch({ a: 1 }, [1])).toEqual([1]);
    expect(mergePatch({ a: 1 }, 'x')).toBe('x');
  });
});

describe('jsonPatch (RFC 6902)', () => {
  const doc = { metadata: { labels: { a: '1' } }, spec: { policyTypes: ['Ingress'] } };
  it('applies add, remove, replace, move, copy and test', () => {
    const out = jsonPatch(doc, [
      { op: 'add', path: '/metadata/labels/b', value: '2' },
      { op: 'add', path: '/spec/policyTypes/-', value: 'Egress' },
      { op: 'replace', path: '/metadata/labels/a', value: 'one' },
      { op: 'copy', from: '/metadata/labels/b', path: '/metadata/labels/c' },
      { op: 'move', from: '/metadata/labels/c', path: '/metadata/labels/d~1e' },
      { op: 'test', path: '/spec/policyTypes/1', value: 'Egress' },
      { op: 'remove', path: '/metadata/labels/b' },
    ]);
    expect(out).toEqual({ metadata: { labels: { a: 'one', 'd/e': '2' } }, spec: { policyTypes: ['Ingress', 'Egress'] } });
    expect(doc.metadata.labels).toEqual({ a: '1' });
  });
  it('fails a test operation with 422 and changes nothing', () => {
    const before = structuredClone(doc);
    expect(() => jsonPatch(doc, [{ op: 'replace', path: '/metadata/labels/a', value: 'z' }, { op: 'test', path: '/metadata/labels/a', value: 'y' }])).toThrow(/testing value/);
    expect(doc).toEqual(before);
  });
  it('rejects malformed patches with Status errors', () => {
    const statusOf = (ops: unknown): number => {
      try {
        jsonPatch(doc, ops);
        return 0;
      } catch (error) {
        expect(error).toBeInstanceOf(StatusError);
        return (error as StatusError).code;
      }
    };
    expect(statusOf({ op: 'add' })).toBe(400);
    expect(statusOf([1])).toBe(400);
    expect(statusOf([{ op: 'frobnicate', path: '/a' }])).toBe(400);
    expect(statusOf([{ op: 'add', path: 'no-slash', value: 1 }])).toBe(400);
    expect(statusOf([{ op: 'remove', path: '/nope/deeper' }])).toBe(422);
    expect(statusOf([{ op: 'replace', path: '/spec/policyTypes/9', value: 1 }])).toBe(422);
    expect(statusOf([{ op: 'add', path: '/spec/policyTypes/9', value: 1 }])).toBe(422);
  });
});

describe('deepEqual', () => {
  it('compares structure, not identity or key order', () => {
    expect(deepEqual({ a: [1, { b: 2 }], c: null }, { c: null, a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual({}, [])).toBe(false);
  });
});

describe('strategicMergePatch', () => {
  it('behaves as a merge patch and ignores kubectl directives', () => {
    const live = { metadata: { labels: { a: '1', b: '2' } }, spec: { policyTypes: ['Ingress'], ingress: [{ from: [] }] } };
    const patch = { $setElementOrder: { x: [] }, metadata: { labels: { a: null, c: '3' } }, spec: { '$setElementOrder/policyTypes': ['Egress'], policyTypes: ['Egress'] } };
    expect(strategicMergePatch(live, patch)).toEqual({ metadata: { labels: { b: '2', c: '3' } }, spec: { policyTypes: ['Egress'], ingress: [{ from: [] }] } });
  });
  it('honours $patch: replace and $patch: delete on maps', () => {
    const live = { spec: { podSelector: { matchLabels: { a: 'b' } }, policyTypes: ['Ingress'] } };
    expect(strategicMergePatch(live, { spec: { podSelector: { $patch: 'replace', matchExpressions: [] } } })).toEqual({ spec: { podSelector: { matchExpressions: [] }, policyTypes: ['Ingress'] } });
    expect(strategicMergePatch(live, { spec: { podSelector: { $patch: 'delete' } } })).toEqual({ spec: { policyTypes: ['Ingress'] } });
  });
});
