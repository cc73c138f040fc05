// IP addresses and address sets. Addresses are bigints so that IPv4 and IPv6 share one code
// path; a set keeps one sorted, merged interval list per family.

export type IpFamily = 4 | 6;

const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

export function familyMax(family: IpFamily): bigint {
  return family === 4 ? V4_MAX : V6_MAX;
}

export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

const V4_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!V4_OCTET.test(part)) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseV6(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (s: string): string[] | undefined => (s === '' ? [] : s.split(':'));
  const left = toGroups(halves[0] ?? '');
  const right = halves.length === 2 ? toGroups(halves[1] ?? '') : [];
  if (!left || !right) return undefined;
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right];
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(`0x${g}`);
  }
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const value = parseV6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseV4(text);
  return value === undefined ? undefined : { family: 4, value };
}

export interface Cidr {
  family: IpFamily;
  start: bigint;
  end: bigint;
  prefix: number;
  text: string;
}

/** Parses `a.b.c.d/n` or `x::/n`; host bits are cleared (as the API server does for ipBlock). */
export function parseCidr(text: string): Cidr | string {
  if (typeof text !== 'string') return 'CIDR must be a string';
  const slash = text.indexOf('/');
  if (slash < 0) return `"${text}" is not a CIDR (missing /prefix)`;
  const ip = parseIp(text.slice(0, slash));
  if (!ip) return `"${text}" has an invalid address`;
  const prefixText = text.slice(slash + 1);
  const bits = ip.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return `"${text}" has an invalid prefix length (0-${bits})`;
  const prefix = Number(prefixText);
  const hostBits = BigInt(bits - prefix);
  const start = (ip.value >> hostBits) << hostBits;
  const end = start + (1n << hostBits) - 1n;
  return { family: ip.family, start, end, prefix, text };
}

/** Flat [start0, end0, ...] inclusive, sorted, merged. */
export type IpRanges = readonly bigint[];

export class IpSet {
  static readonly EMPTY = new IpSet([], []);
  static readonly ALL = new IpSet([0n, V4_MAX], [0n, V6_MAX]);

  private constructor(
    readonly v4: IpRanges,
    readonly v6: IpRanges,
  ) {}

  static range(family: IpFamily, start: bigint, end: bigint): IpSet {
    return family === 4 ? new IpSet([start, end], []) : new IpSet([], [start, end]);
  }

  static of(v4: IpRanges, v6: IpRanges): IpSet {
    return v4.length === 0 && v6.length === 0 ? IpSet.EMPTY : new IpSet(v4, v6);
  }

  ranges(family: IpFamily): IpRanges {
    return family === 4 ? this.v4 : this.v6;
  }

  isEmpty(): boolean {
    return this.v4.length === 0 && this.v6.length === 0;
  }

  union(o: IpSet): IpSet {
    if (o.isEmpty()) return this;
    if (this.isEmpty()) return o;
    return IpSet.of(unionIp(this.v4, o.v4), unionIp(this.v6, o.v6));
  }

  subtract(o: IpSet): IpSet {
    if (o.isEmpty() || this.isEmpty()) return this;
    return IpSet.of(subtractIp(this.v4, o.v4), subtractIp(this.v6, o.v6));
  }

  intersect(o: IpSet): IpSet {
    return this.subtract(this.subtract(o));
  }

  has(addr: IpAddress): boolean {
    const r = this.ranges(addr.family);
    let lo = 0;
    let hi = r.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (addr.value < (r[2 * mid] as bigint)) hi = mid - 1;
      else if (addr.value > (r[2 * mid + 1] as bigint)) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** True if the whole inclusive range [start, end] lies in the set. */
  covers(family: IpFamily, start: bigint, end: bigint): boolean {
    const r = this.ranges(family);
    for (let i = 0; i < r.length; i += 2) {
      if ((r[i] as bigint) <= start && end <= (r[i + 1] as bigint)) return true;
      if ((r[i] as bigint) > start) return false;
    }
    return false;
  }

  equals(o: IpSet): boolean {
    const eq = (a: IpRanges, b: IpRanges): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
    return eq(this.v4, o.v4) && eq(this.v6, o.v6);
  }

  toString(): string {
    const parts: string[] = [];
    for (const family of [4, 6] as const) {
      const r = this.ranges(family);
      for (let i = 0; i < r.length; i += 2) parts.push(formatIpRange(family, r[i] as bigint, r[i + 1] as bigint));
    }
    return parts.join(', ');
  }
}

function unionIp(a: IpRanges, b: IpRanges): IpRanges {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const pairs: Array<[bigint, bigint]> = [];
  for (let i = 0; i < a.length; i += 2) pairs.push([a[i] as bigint, a[i + 1] as bigint]);
  for (let i = 0; i < b.length; i += 2) pairs.push([b[i] as bigint, b[i + 1] as bigint]);
  pairs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: bigint[] = [];
  for (const [s, e] of pairs) {
    const last = out.length - 1;
    if (last > 0 && s <= (out[last] as bigint) + 1n) {
      if (e > (out[last] as bigint)) out[last] = e;
    } else {
      out.push(s, e);
    }
  }
  return out;
}

function subtractIp(a: IpRanges, b: IpRanges): IpRanges {
  const out: bigint[] = [];
  for (let i = 0; i < a.length; i += 2) {
    let s = a[i] as bigint;
    const e = a[i + 1] as bigint;
    for (let k = 0; k < b.length && s <= e; k += 2) {
      const bs = b[k] as bigint;
      const be = b[k + 1] as bigint;
      if (be < s) continue;
      if (bs > e) break;
      if (bs > s) out.push(s, bs - 1n);
      s = be + 1n;
    }
    if (s <= e) out.push(s, e);
  }
  return out;
}

export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

export function formatIpRange(family: IpFamily, start: bigint, end: bigint): string {
  return `${formatIp(family, start)}-${formatIp(family, end)}`;
}

/**
 * Splits the address space of one family into the intervals induced by the boundaries of the
 * given sets: every returned interval is either wholly inside or wholly outside each set.
 */
export function atomsOf(family: IpFamily, sets: Iterable<IpSet>): Array<[bigint, bigint]> {
  const cuts = new Set<bigint>([0n]);
  const max = familyMax(family);
  for (const set of sets) {
    const r = set.ranges(family);
    for (let i = 0; i < r.length; i += 2) {
      cuts.add(r[i] as bigint);
      if ((r[i + 1] as bigint) < max) cuts.add((r[i + 1] as bigint) + 1n);
    }
  }
  const sorted = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted.map((start, i) => [start, i + 1 < sorted.length ? (sorted[i + 1] as bigint) - 1n : max]);
}
