// Open-addressing hash map from a two-part numeric key (hi: up to 2^53, lo: int32) to a slot
// number, stored in typed arrays: ~32 bytes per entry instead of a Map entry plus a key string.
// Linear probing; deletion shifts the following entries back, so there are no tombstones.
export class EdgeIndex {
  private hi: Float64Array<ArrayBuffer>;
  private lo: Int32Array<ArrayBuffer>;
  /** slot + 1; 0 = empty. */
  private val: Int32Array<ArrayBuffer>;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let capacity = 16;
    while (capacity < initialCapacity * 2) capacity *= 2;
    this.hi = new Float64Array(capacity);
    this.lo = new Int32Array(capacity);
    this.val = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  private static hash(hi: number, lo: number): number {
    const a = (hi % 4294967296) | 0;
    const b = (hi / 4294967296) | 0;
    let h = Math.imul(a ^ Math.imul(b, 0x27d4eb2d), 0x9e3779b1) ^ Math.imul(lo, 0x85ebca77);
    h ^= h >>> 15;
    return Math.imul(h, 0x2c1b3c6d) ^ (h >>> 13);
  }

  get(hi: number, lo: number): number {
    let i = EdgeIndex.hash(hi, lo) & this.mask;
    for (;;) {
      const v = this.val[i] as number;
      if (v === 0) return -1;
      if (this.hi[i] === hi && this.lo[i] === lo) return v - 1;
      i = (i + 1) & this.mask;
    }
  }

  set(hi: number, lo: number, slot: number): void {
    if ((this.count + 1) * 2 > this.val.length) this.resize(this.val.length * 2);
    let i = EdgeIndex.hash(hi, lo) & this.mask;
    for (;;) {
      const v = this.val[i] as number;
      if (v === 0) {
        this.hi[i] = hi;
        this.lo[i] = lo;
        this.val[i] = slot + 1;
        this.count += 1;
        return;
      }
      if (this.hi[i] === hi && this.lo[i] === lo) {
        this.val[i] = slot + 1;
        return;
      }
      i = (i + 1) & this.mask;
    }
  }

  delete(hi: number, lo: number): boolean {
    let i = EdgeIndex.hash(hi, lo) & this.mask;
    for (;;) {
      if (this.val[i] === 0) return false;
      if (this.hi[i] === hi && this.lo[i] === lo) break;
      i = (i + 1) & this.mask;
    }
    // Backward-shift: move later entries of the probe run into the hole when that keeps them reachable.
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      if (this.val[j] === 0) break;
      const home = EdgeIndex.hash(this.hi[j] as number, this.lo[j] as number) & this.mask;
      const reachable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
      if (reachable) {
        this.hi[hole] = this.hi[j] as number;
        this.lo[hole] = this.lo[j] as number;
        this.val[hole] = this.val[j] as number;
        hole = j;
      }
    }
    this.val[hole] = 0;
    this.count -= 1;
    return true;
  }

  private resize(capacity: number): void {
    const { hi, lo, val } = this;
    this.hi = new Float64Array(capacity);
    this.lo = new Int32Array(capacity);
    this.val = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.count = 0;
    for (let i = 0; i < val.length; i++) if (val[i] !== 0) this.set(hi[i] as number, lo[i] as number, (val[i] as number) - 1);
  }
}
