// Open-addressing hash map from a two-part numeric key (hi: up to 2^53, lo: int32) to a slot
// number, stored in one typed array: 16 bytes per entry instead of a Map entry plus a key string.
// Each entry's four int32 words (hi low/high halves, lo, slot + 1) sit side by side so a probe
// touches one cache line, not three (the index holds ~1M entries: every lookup is a cache miss).
// Linear probing; deletion shifts the following entries back, so there are no tombstones.
const TWO_32 = 4294967296;

export class EdgeIndex {
  /** Per entry: [hi mod 2^32 (as int32), floor(hi / 2^32), lo, slot + 1]; slot + 1 = 0 means empty. */
  private table: Int32Array<ArrayBuffer>;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let capacity = 16;
    while (capacity < initialCapacity * 2) capacity *= 2;
    this.table = new Int32Array(capacity * 4);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  private static hash(a: number, b: number, lo: number): number {
    let h = Math.imul(a ^ Math.imul(b, 0x27d4eb2d), 0x9e3779b1) ^ Math.imul(lo, 0x85ebca77);
    h ^= h >>> 15;
    return Math.imul(h, 0x2c1b3c6d) ^ (h >>> 13);
  }

  get(hi: number, lo: number): number {
    const a = (hi % TWO_32) | 0;
    const b = (hi / TWO_32) | 0;
    const table = this.table;
    let i = EdgeIndex.hash(a, b, lo) & this.mask;
    for (;;) {
      const at = i << 2;
      const v = table[at + 3] as number;
      if (v === 0) return -1;
      if (table[at] === a && table[at + 1] === b && table[at + 2] === lo) return v - 1;
      i = (i + 1) & this.mask;
    }
  }

  set(hi: number, lo: number, slot: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
    this.put((hi % TWO_32) | 0, (hi / TWO_32) | 0, lo, slot + 1);
  }

  private put(a: number, b: number, lo: number, value: number): void {
    const table = this.table;
    let i = EdgeIndex.hash(a, b, lo) & this.mask;
    for (;;) {
      const at = i << 2;
      if (table[at + 3] === 0) {
        table[at] = a;
        table[at + 1] = b;
        table[at + 2] = lo;
        table[at + 3] = value;
        this.count += 1;
        return;
      }
      if (table[at] === a && table[at + 1] === b && table[at + 2] === lo) {
        table[at + 3] = value;
        return;
      }
      i = (i + 1) & this.mask;
    }
  }

  delete(hi: number, lo: number): boolean {
    const a = (hi % TWO_32) | 0;
    const b = (hi / TWO_32) | 0;
    const table = this.table;
    let i = EdgeIndex.hash(a, b, lo) & this.mask;
    for (;;) {
      const at = i << 2;
      if (table[at + 3] === 0) return false;
      if (table[at] === a && table[at + 1] === b && table[at + 2] === lo) break;
      i = (i + 1) & this.mask;
    }
    // Backward-shift: move later entries of the probe run into the hole when that keeps them reachable.
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      const at = j << 2;
      if (table[at + 3] === 0) break;
      const home = EdgeIndex.hash(table[at] as number, table[at + 1] as number, table[at + 2] as number) & this.mask;
      const reachable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
      if (reachable) {
        table.copyWithin(hole << 2, at, at + 4);
        hole = j;
      }
    }
    table[(hole << 2) + 3] = 0;
    this.count -= 1;
    return true;
  }

  private resize(capacity: number): void {
    const old = this.table;
    this.table = new Int32Array(capacity * 4);
    this.mask = capacity - 1;
    this.count = 0;
    for (let at = 0; at < old.length; at += 4) {
      if (old[at + 3] !== 0) this.put(old[at] as number, old[at + 1] as number, old[at + 2] as number, old[at + 3] as number);
    }
  }
}
