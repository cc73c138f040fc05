// Which kustomizations need a tool: one that only lists files of its own tree as resources is
// read as those files (kustomize would output them unchanged); anything more is built.
import { describe, expect, it } from 'vitest';
import { renderLayout, resourcesOnly } from '../../src/git/render-layout.js';
import type { TreeEntry } from '../../src/git/objects.js';

const blob = (path: string): TreeEntry => ({ path, oid: `oid-${path}`, type: 'blob', mode: '100644', size: 10 }) as TreeEntry;
const limits = { maxFileBytes: 1024, maxFiles: 100 };

describe('resourcesOnly', () => {
  const blobs = new Set(['p/a.yaml', 'p/sub/b.yml', 'p/c.json', 'p/other/kustomization.yaml', 'q.yaml']);
  it('lists the files of a resources-only kustomization', () => {
    expect(resourcesOnly('p', { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['a.yaml', 'sub/b.yml', './c.json'] }, blobs)).toEqual(['p/a.yaml', 'p/sub/b.yml', 'p/c.json']);
    expect(resourcesOnly('p', { resources: [] }, blobs)).toEqual([]);
    expect(resourcesOnly('p', {}, blobs)).toEqual([]);
  });
  it.each([
    ['a namespace', { namespace: 'x', resources: ['a.yaml'] }],
    ['labels', { commonLabels: { a: 'b' }, resources: ['a.yaml'] }],
    ['patches', { resources: ['a.yaml'], patches: [{ path: 'p.yaml' }] }],
    ['a directory', { resources: ['other'] }],
    ['another kustomization file', { resources: ['other/kustomization.yaml'] }],
    ['a file outside its tree', { resources: ['../q.yaml'] }],
    ['a remote', { resources: ['https://github.com/x/y//base'] }],
    ['a missing file', { resources: ['missing.yaml'] }],
    ['a Component', { kind: 'Component', resources: ['a.yaml'] }],
    ['resources that are not a list', { resources: 'a.yaml' }],
    ['an entry that is not a string', { resources: [{ path: 'a.yaml' }] }],
    ['not an object', 'resources: [a.yaml]'],
  ])('needs the tool for %s', (_what, content) => {
    expect(resourcesOnly('p', content, blobs)).toBeUndefined();
  });
});

describe('renderLayout', () => {
  it('reads the listed files of a resources-only kustomization plainly, not the unlisted ones, and builds the others', () => {
    const entries = ['p/kustomization.yaml', 'p/a.yaml', 'p/unlisted.yaml', 'k/kustomization.yaml', 'k/x.yaml', 'top.yaml'].map(blob);
    const kustomizations = new Map<string, unknown>([
      ['p/kustomization.yaml', { resources: ['a.yaml'] }],
      ['k/kustomization.yaml', { namespace: 'db', resources: ['x.yaml'] }],
    ]);
    const layout = renderLayout(entries, kustomizations, [], limits);
    expect(layout.plain.map((p) => p.path)).toEqual(['p/a.yaml', 'top.yaml']);
    expect(layout.kustomize).toEqual([{ dir: 'k', file: 'k/kustomization.yaml' }]);
  });
});
