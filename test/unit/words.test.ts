import { describe, expect, it } from 'vitest';
import { plural } from '../../src/words.js';

describe('plural', () => {
  it.each([
    [0, 'step', undefined, '0 steps'],
    [1, 'step', undefined, '1 step'],
    [2, 'step', undefined, '2 steps'],
    [1, 'policy', 'policies', '1 policy'],
    [3, 'policy', 'policies', '3 policies'],
    [-1, 'step', undefined, '-1 steps'],
  ])('%i %s', (n, one, many, text) => expect(plural(n, one, many)).toBe(text));
});
