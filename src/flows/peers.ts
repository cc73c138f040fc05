// How a flow's endpoints become baseline peers: a workload, an external IP (with its CIDR),
// a DNS name, or a Cilium reserved identity. Pure.
import ipaddr from 'ipaddr.js';
import type { FlowEndpoint } from './types.js';

export type PeerKind = 'workload' | 'ip' | 'cidr' | 'dns' | 'reserved';

// Address ranges that never count as "external" even without a world identity.
const INTERNAL_RANGES: ReadonlySet<string> = new Set([
  'private',
  'loopback',
  'linkLocal',
  'uniqueLocal',
  'carrierGradeNat',
  'multicast',
  'broadcast',
  'unspecified',
]);

/** true when the endpoint is outside the cluster: Cilium's world identity, or a public IP with no identity. */
export function isExternal(endpoint: FlowEndpoint): boolean {
  if (endpoint.namespace) return false;
  for (const r of endpoint.reserved) if (r === 'world' || r === 'world-ipv4' || r === 'world-ipv6') return true;
  if (endpoint.reserved.length > 0 || !endpoint.ip) return false;
  try {
    return !INTERNAL_RANGES.has(ipaddr.parse(endpoint.ip).range());
  } catch {
    return false;
  }
}

const cidrCache = new Map<string, string>();

/** The CIDR an external IP is grouped into: /24 for IPv4, /48 for IPv6 by default. */
export function cidrOf(ip: string, v4Prefix = 24, v6Prefix = 48): string {
  const cacheKey = `${ip}/${v4Prefix}/${v6Prefix}`;
  const cached = cidrCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const cidr = computeCidr(ip, v4Prefix, v6Prefix);
  if (cidrCache.size >= 100_000) cidrCache.clear();
  cidrCache.set(cacheKey, cidr);
  return cidr;
}

function computeCidr(ip: string, v4Prefix: number, v6Prefix: number): string {
  try {
    const parsed = ipaddr.parse(ip);
    const prefix = parsed.kind() === 'ipv4' ? v4Prefix : v6Prefix;
    const bytes = parsed.toByteArray();
    const keep = Math.floor(prefix / 8);
    for (let i = keep; i < bytes.length; i++) bytes[i] = i === keep ? (bytes[i] as number) & (0xff << (8 - (prefix % 8))) & 0xff : 0;
    return `${ipaddr.fromByteArray(bytes).toString()}/${prefix}`;
  } catch {
    return '';
  }
}

/** The primary peer key of an endpoint: `w:ns/name`, `ip:addr`, `r:reserved`, or '' when it cannot be named. */
// Workload keys come interned from the normalizer, so their peer keys are cached per key instance.
const workloadPeers = new Map<string, string>();

export function peerKeyOf(endpoint: FlowEndpoint): string {
  if (endpoint.workloadKey) {
    let peer = workloadPeers.get(endpoint.workloadKey);
    if (peer === undefined) {
      if (workloadPeers.size >= 100_000) workloadPeers.clear();
      peer = `w:${endpoint.workloadKey}`;
      workloadPeers.set(endpoint.workloadKey, peer);
    }
    return peer;
  }
  if (isExternal(endpoint)) return endpoint.ip ? `ip:${endpoint.ip}` : 'r:world';
  if (endpoint.reserved.length > 0) return `r:${endpoint.reserved[0]}`;
  return endpoint.ip ? `ip:${endpoint.ip}` : '';
}

export function peerKind(peerKey: string): PeerKind {
  switch (peerKey.charCodeAt(0)) {
    case 119: // w
      return 'workload';
    case 105: // i
      return 'ip';
    case 99: // c
      return 'cidr';
    case 100: // d
      return 'dns';
    default:
      return 'reserved';
  }
}

/** "w:db/postgres" → "db/postgres", "ip:1.2.3.4" → "1.2.3.4". */
export function peerLabel(peerKey: string): string {
  const colon = peerKey.indexOf(':');
  return colon < 0 ? peerKey : peerKey.slice(colon + 1);
}

// Names that resolve inside the cluster are east-west, not external egress.
export function isClusterName(name: string, clusterDomains: readonly string[]): boolean {
  for (const domain of clusterDomains) if (name === domain || name.endsWith(`.${domain}`)) return true;
  return false;
}
