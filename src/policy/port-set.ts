// Port sets as sorted, merged interval lists, and connection sets (one port set per protocol).
// Values are immutable: every operation returns a new object, so sets can be shared freely
// between rules, classes and cached results.

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const MIN_PORT = 1;
export const MAX_PORT = 65535;

/** Flat list [start0, end0, start1, end1, ...] of inclusive, disjoint, non-adjacent ranges, ascending. */
export type PortRanges = readonly number[];

export const NO_PORTS: PortRanges = Object.freeze([]);
export const ALL_PORTS: PortRanges = Object.freeze([MIN_PORT, MAX_PORT]);

export function portRange(start: number, end: number): PortRanges {
  return start > end ? NO_PORTS : [start, end];
}

export function unionRanges(a: PortRanges, b: PortRanges): PortRanges {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < a.length; i += 2) pairs.push([a[i] as number, a[i + 1] as number]);
  for (let i = 0; i < b.length; i += 2) pairs.push([b[i] as number, b[i + 1] as number]);
  pairs.sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  for (const [s, e] of pairs) {
    const last = out.length - 1;
    if (last > 0 && s <= (out[last] as number) + 1) {
      if (e > (out[last] as number)) out[last] = e;
    } else {
      out.push(s, e);
    }
  }
  return out;
}

export function intersectRanges(a: PortRanges, b: PortRanges): PortRanges {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const s = Math.max(a[i] as number, b[j] as number);
    const e = Math.min(a[i + 1] as number, b[j + 1] as number);
    if (s <= e) out.push(s, e);
    if ((a[i + 1] as number) < (b[j + 1] as number)) i += 2;
    else j += 2;
  }
  return out;
}

export function subtractRanges(a: PortRanges, b: PortRanges): PortRanges {
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    let s = a[i] as number;
    const e = a[i + 1] as number;
    while (j < b.length && (b[j + 1] as number) < s) j += 2;
    let k = j;
    while (k < b.length && (b[k] as number) <= e && s <= e) {
      if ((b[k] as number) > s) out.push(s, (b[k] as number) - 1);
      s = Math.max(s, (b[k + 1] as number) + 1);
      k += 2;
    }
    if (s <= e) out.push(s, e);
  }
  return out;
}

export function rangesContain(a: PortRanges, port: number): boolean {
  let lo = 0;
  let hi = a.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (port < (a[2 * mid] as number)) hi = mid - 1;
    else if (port > (a[2 * mid + 1] as number)) lo = mid + 1;
    else return true;
  }
  return false;
}

export function rangesEqual(a: PortRanges, b: PortRanges): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatRanges(a: PortRanges): string {
  const parts: string[] = [];
  for (let i = 0; i < a.length; i += 2) {
    const s = a[i] as number;
    const e = a[i + 1] as number;
    parts.push(s === e ? String(s) : `${s}-${e}`);
  }
  return parts.join(',');
}

/** A set of (protocol, port) pairs over the universe {TCP, UDP, SCTP} x 1..65535. */
export class Conns {
  static readonly NONE = new Conns(NO_PORTS, NO_PORTS, NO_PORTS);
  static readonly ALL = new Conns(ALL_PORTS, ALL_PORTS, ALL_PORTS);

  private constructor(
    readonly TCP: PortRanges,
    readonly UDP: PortRanges,
    readonly SCTP: PortRanges,
  ) {}

  static of(protocol: Protocol, ranges: PortRanges): Conns {
    return Conns.from({ [protocol]: ranges });
  }

  static from(parts: Partial<Record<Protocol, PortRanges>>): Conns {
    return Conns.normalize(parts.TCP ?? NO_PORTS, parts.UDP ?? NO_PORTS, parts.SCTP ?? NO_PORTS);
  }

  ports(protocol: Protocol): PortRanges {
    return this[protocol];
  }

  union(other: Conns): Conns {
    if (this === other) return this;
    if (this === Conns.ALL || other === Conns.NONE) return this;
    if (other === Conns.ALL || this === Conns.NONE) return other;
    return Conns.normalize(unionRanges(this.TCP, other.TCP), unionRanges(this.UDP, other.UDP), unionRanges(this.SCTP, other.SCTP));
  }

  intersect(other: Conns): Conns {
    if (this === other) return this;
    if (this === Conns.ALL || other === Conns.NONE) return other;
    if (other === Conns.ALL || this === Conns.NONE) return this;
    return Conns.normalize(intersectRanges(this.TCP, other.TCP), intersectRanges(this.UDP, other.UDP), intersectRanges(this.SCTP, other.SCTP));
  }

  subtract(other: Conns): Conns {
    if (other === Conns.NONE || this === Conns.NONE) return this;
    if (other === Conns.ALL) return Conns.NONE;
    return Conns.normalize(subtractRanges(this.TCP, other.TCP), subtractRanges(this.UDP, other.UDP), subtractRanges(this.SCTP, other.SCTP));
  }

  has(protocol: Protocol, port: number): boolean {
    return rangesContain(this[protocol], port);
  }

  isEmpty(): boolean {
    return this.TCP.length === 0 && this.UDP.length === 0 && this.SCTP.length === 0;
  }

  isAll(): boolean {
    return PROTOCOLS.every((p) => rangesEqual(this[p], ALL_PORTS));
  }

  equals(other: Conns): boolean {
    return this === other || PROTOCOLS.every((p) => rangesEqual(this[p], other[p]));
  }

  /** `All Connections`, `No Connections`, or e.g. `SCTP 7070,TCP 8080-8081,UDP 53` (protocols in string order). */
  toString(): string {
    if (this.isAll()) return 'All Connections';
    if (this.isEmpty()) return 'No Connections';
    const parts: string[] = [];
    for (const p of ['SCTP', 'TCP', 'UDP'] as const) {
      if (this[p].length > 0) parts.push(`${p} ${formatRanges(this[p])}`);
    }
    return parts.join(',');
  }

  // Shares the ALL/NONE singletons so identity checks above stay cheap.
  private static normalize(tcp: PortRanges, udp: PortRanges, sctp: PortRanges): Conns {
    const c = new Conns(tcp, udp, sctp);
    if (c.isEmpty()) return Conns.NONE;
    if (c.isAll()) return Conns.ALL;
    return c;
  }
}
