// Port sets, connection sets and IP sets: the interval arithmetic everything else rests on.
import { describe, expect, it } from 'vitest';
import { atomsOf, formatIp, IpSet, parseCidr, parseIp } from '../../src/policy/ip-set.js';
import { Conns, intersectRanges, portRange, subtractRanges, unionRanges } from '../../src/policy/port-set.js';

describe('port ranges', () => {
  it('union merges overlapping and adjacent ranges', () => {
    expect(unionRanges([1, 5, 10, 12], [6, 8, 13, 20])).toEqual([1, 8, 10, 20]);
    expect(unionRanges([], [3, 4])).toEqual([3, 4]);
  });
  it('intersect and subtract', () => {
    expect(intersectRanges([1, 10, 20, 30], [5, 25])).toEqual([5, 10, 20, 25]);
    expect(subtractRanges([1, 100], [10, 20, 50, 60])).toEqual([1, 9, 21, 49, 61, 100]);
    expect(subtractRanges([1, 10], [1, 10])).toEqual([]);
  });
});

describe('Conns', () => {
  it('prints like netpol-analyzer', () => {
    const c = Conns.of('TCP', portRange(8080, 8081)).union(Conns.of('UDP', portRange(9090, 9090))).union(Conns.of('SCTP', portRange(7070, 7070)));
    expect(c.toString()).toBe('SCTP 7070,TCP 8080-8081,UDP 9090');
    expect(Conns.ALL.toString()).toBe('All Connections');
    expect(Conns.NONE.toString()).toBe('No Connections');
    expect(Conns.of('TCP', portRange(1, 65535)).toString()).toBe('TCP 1-65535');
  });
  it('normalises to the ALL and NONE singletons', () => {
    const all = Conns.from({ TCP: [1, 65535], UDP: [1, 65535], SCTP: [1, 65535] });
    expect(all).toBe(Conns.ALL);
    expect(Conns.ALL.subtract(Conns.ALL)).toBe(Conns.NONE);
    expect(Conns.ALL.subtract(Conns.of('UDP', portRange(53, 53))).toString()).toBe('SCTP 1-65535,TCP 1-65535,UDP 1-52,54-65535');
  });
});

describe('IP addresses and sets', () => {
  it('parses IPv4 and IPv6 (with :: and an embedded IPv4 tail)', () => {
    expect(parseIp('10.1.2.3')).toEqual({ family: 4, value: 0x0a010203n });
    expect(parseIp('::1')).toEqual({ family: 6, value: 1n });
    expect(parseIp('::ffff:1.2.3.4')).toEqual({ family: 6, value: 0xffff01020304n });
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4x', '1::2::3', ':::', '12345::', 'g::1', '']) expect(parseIp(bad)).toBeUndefined();
  });
  it('formats IPv6 compressed', () => {
    expect(formatIp(6, 0x20010db8000000000000000000000001n)).toBe('2001:db8::1');
    expect(formatIp(6, 0n)).toBe('::');
  });
  it('CIDRs clear host bits', () => {
    const c = parseCidr('10.1.2.3/8');
    expect(typeof c !== 'string' && [c.start, c.end]).toEqual([0x0a000000n, 0x0affffffn]);
  });
  it('set arithmetic and atoms', () => {
    const a = IpSet.range(4, 0n, 100n).subtract(IpSet.range(4, 10n, 19n));
    expect(a.v4).toEqual([0n, 9n, 20n, 100n]);
    expect(a.has({ family: 4, value: 15n })).toBe(false);
    expect(a.covers(4, 20n, 30n)).toBe(true);
    expect(a.covers(4, 5n, 15n)).toBe(false);
    expect(atomsOf(4, [a]).slice(0, 3)).toEqual([
      [0n, 9n],
      [10n, 19n],
      [20n, 100n],
    ]);
  });
});
