// The cache of parsed plain files between renders: by blob and kind of parse, least recently used
// out first once the source bytes it holds pass its bound, a file over the bound never held.
import { describe, expect, it } from 'vitest';
import { RenderCache, type ParsedFile } from '../../src/git/render-cache.js';

const oid = (n: number): string => n.toString(16).padStart(40, '0');
const file = (name: string): ParsedFile => ({ objects: [{ document: 0, object: { kind: 'NetworkPolicy', metadata: { name } }, line: 1 }], problems: [] });

describe('RenderCache', () => {
  it('serves a blob at any path that is parsed the same way, and tells JSON from YAML', () => {
    const cache = new RenderCache(1000);
    const parsed = file('a');
    cache.set(oid(1), 'policies/a.yaml', 10, parsed);
    expect(cache.get(oid(1), 'elsewhere/b.yml')).toBe(parsed);
    expect(cache.get(oid(1), 'policies/a.json')).toBeUndefined();
    expect(cache.get(oid(2), 'policies/a.yaml')).toBeUndefined();
    cache.set(oid(1), 'policies/a.JSON', 10, file('json'));
    expect(cache.get(oid(1), 'x.json')?.objects[0]?.object).toEqual({ kind: 'NetworkPolicy', metadata: { name: 'json' } });
    expect([cache.size, cache.bytes]).toEqual([2, 20]);
  });

  it('drops the least recently used files once it holds more bytes than its bound', () => {
    const cache = new RenderCache(100);
    for (let i = 1; i <= 4; i++) cache.set(oid(i), `p${i}.yaml`, 30, file(`p${i}`));
    // 4 × 30 > 100: the oldest went.
    expect(cache.get(oid(1), 'p1.yaml')).toBeUndefined();
    expect(cache.bytes).toBe(90);
    // Reading p2 makes p3 the oldest.
    expect(cache.get(oid(2), 'p2.yaml')).toBeDefined();
    cache.set(oid(5), 'p5.yaml', 30, file('p5'));
    expect(cache.get(oid(3), 'p3.yaml')).toBeUndefined();
    expect([2, 4, 5].map((i) => cache.get(oid(i), `p${i}.yaml`)?.objects[0]?.object.metadata)).toEqual([{ name: 'p2' }, { name: 'p4' }, { name: 'p5' }]);
    // Setting a key again replaces it and its size.
    cache.set(oid(5), 'p5.yaml', 10, file('p5 again'));
    expect([cache.size, cache.bytes]).toEqual([3, 70]);
  });

  it('never holds a file larger than its bound, and forgets an older entry of that key', () => {
    const cache = new RenderCache(100);
    cache.set(oid(1), 'big.yaml', 10, file('small'));
    cache.set(oid(1), 'big.yaml', 101, file('big'));
    expect(cache.get(oid(1), 'big.yaml')).toBeUndefined();
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });
});
