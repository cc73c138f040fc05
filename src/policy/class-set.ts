// Sets of pod-class ids: sorted Uint32Arrays (classes are numbered namespace by namespace, so
// most selections are short runs), or 'all'.

export type ClassSet = Uint32Array | 'all';

export const EMPTY_CLASSES: ClassSet = new Uint32Array(0);

export function classSetHas(set: ClassSet, id: number): boolean {
  if (set === 'all') return true;
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = set[mid] as number;
    if (v === id) return true;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export function classSetUnion(a: ClassSet, b: ClassSet): ClassSet {
  if (a === 'all' || b === 'all') return 'all';
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? (a[i] as number) : Infinity;
    const y = j < b.length ? (b[j] as number) : Infinity;
    if (x <= y) {
      out[n++] = x;
      i++;
      if (x === y) j++;
    } else {
      out[n++] = y;
      j++;
    }
  }
  return out.subarray(0, n);
}
