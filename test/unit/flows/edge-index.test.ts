import { describe, expect, it } from 'vitest';
import { EdgeIndex } from '../../../src/flows/edge-index.js';

describe('EdgeIndex', () => {
  it('behaves like a Map under random inserts, updates and deletes (growing and shrinking)', () => {
    const index = new EdgeIndex(4);
    const reference = new Map<string, number>();
    let x = 7;
    const rnd = (n: number): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % n;
    };
    for (let step = 0; step < 50_000; step++) {
      const hi = rnd(500) * 2 ** 26 + rnd(300);
      const lo = rnd(4) | (rnd(2) << 20);
      const key = `${hi}/${lo}`;
      if (rnd(3) === 0) {
        expect(index.delete(hi, lo)).toBe(reference.delete(key));
      } else {
        index.set(hi, lo, step);
        reference.set(key, step);
      }
      if (step % 97 === 0) expect(index.size).toBe(reference.size);
    }
    for (const [key, slot] of reference) {
      const [hi, lo] = key.split('/').map(Number) as [number, number];
      expect(index.get(hi, lo)).toBe(slot);
    }
    expect(index.get(2 ** 52, 1)).toBe(-1);
  });
});
