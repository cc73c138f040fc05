// External peers of learned edges become ipBlocks: each address widened to a fixed prefix
// (default /24 for IPv4, /64 for IPv6) so a service's neighbouring addresses stay reachable,
// and never wider, so one address never opens the whole Internet. Pure.
import ipaddr from 'ipaddr.js';

export const DEFAULT_V4_PREFIX = 24;
export const DEFAULT_V6_PREFIX = 64;
// Narrower bounds than the address sizes: a /0 to /7 block is the Internet, not a peer.
export const V4_PREFIX_RANGE = [8, 32] as const;
export const V6_PREFIX_RANGE = [16, 128] as const;

/** Parses a plain IPv4/IPv6 address (no CIDR, no zone); IPv4-mapped IPv6 becomes IPv4. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (text.length > 45 || !ipaddr.isValid(text)) return undefined;
  // isValid accepts legacy forms such as "10.1" or "0x7f.1"; only canonical dotted quads pass.
  if (!text.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  try {
    return ipaddr.process(text);
  } catch {
    return undefined;
  }
}

/** The block of `prefix` bits holding the address, as `network/prefix`. */
export function blockOf(address: ipaddr.IPv4 | ipaddr.IPv6, v4Prefix = DEFAULT_V4_PREFIX, v6Prefix = DEFAULT_V6_PREFIX): string {
  const prefix = address.kind() === 'ipv4' ? v4Prefix : v6Prefix;
  const bytes = address.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = (bytes[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
  return `${ipaddr.fromByteArray(bytes).toString()}/${prefix}`;
}

/** Sort key keeping IPv4 before IPv6 and blocks in address order. */
export function blockSortKey(cidr: string): string {
  const [addr = '', prefix = ''] = cidr.split('/');
  try {
    const bytes = ipaddr.parse(addr).toByteArray();
    return `${bytes.length === 4 ? 4 : 6}:${bytes.map((b) => b.toString(16).padStart(2, '0')).join('')}/${prefix.padStart(3, '0')}`;
  } catch {
    return `9:${cidr}`;
  }
}

/** The distinct blocks of a list of addresses, sorted. */
export function aggregateAddresses(addresses: readonly string[], v4Prefix = DEFAULT_V4_PREFIX, v6Prefix = DEFAULT_V6_PREFIX): string[] {
  const blocks = new Set<string>();
  for (const text of addresses) {
    const address = parseAddress(text);
    if (address) blocks.add(blockOf(address, v4Prefix, v6Prefix));
  }
  return [...blocks].sort((a, b) => (blockSortKey(a) < blockSortKey(b) ? -1 : 1));
}
