// Rules about policies that open a direction to everything: NP010 (ingress from every source)
// and its egress mirror NP012 (egress to every destination on every port).
import { IpSet } from './ip-set.js';
import { finding, type LintFinding } from './lint-catalog.js';
import type { NetworkPolicy, Peer, Rule } from './model.js';
import { policyId } from './model.js';
import { ALL_PORTS, formatRanges, PROTOCOLS, rangesEqual } from './port-set.js';
import { formatSelector, isSelectAll, type Selector } from './selectors.js';

const WORLD_V4 = IpSet.range(4, 0n, (1n << 32n) - 1n);
const WORLD_V6 = IpSet.range(6, 0n, (1n << 128n) - 1n);

function coversInternet(set: IpSet): boolean {
  return WORLD_V4.subtract(set).isEmpty() || WORLD_V6.subtract(set).isEmpty();
}

function everyPod(peer: Peer): boolean {
  return peer.kind === 'namespaces' && isSelectAll(peer.namespaceSelector) && isSelectAll(peer.podSelector);
}

/** The pods a policy selects, for messages: `every pod of the namespace` or `pods app=web`. */
export function describePods(selector: Selector): string {
  return isSelectAll(selector) ? 'every pod of the namespace' : `pods ${formatSelector(selector)}`;
}

/** `on every port`, or e.g. `on TCP 80 only`, `on TCP 80,443, every UDP port and port "http"/TCP only`. */
export function describePorts(rule: Rule): string {
  if (rule.ports === 'all' || rule.numericConns.isAll()) return 'on every port';
  const parts: string[] = [];
  for (const p of PROTOCOLS) {
    const ranges = rule.numericConns.ports(p);
    if (ranges.length === 0) continue;
    parts.push(rangesEqual(ranges, ALL_PORTS) ? `every ${p} port` : `${p} ${formatRanges(ranges)}`);
  }
  for (const n of rule.namedPorts) parts.push(`port "${n.name}"/${n.protocol}`);
  const list = parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
  return `on ${list} only`;
}

/** Why an ingress rule admits every source, or undefined. */
function everySourceReason(rule: Rule): string | undefined {
  if (rule.peers === 'all') return 'every source, in and outside the cluster (empty "from")';
  for (const peer of rule.peers) {
    if (peer.kind === 'ipBlock' && coversInternet(peer.set)) return `every address (ipBlock ${peer.cidr}: the whole Internet)`;
    if (everyPod(peer)) return 'every pod of every namespace (empty namespaceSelector)';
  }
  return undefined;
}

function isAllPorts(rule: Rule): boolean {
  return rule.ports === 'all' || rule.numericConns.isAll();
}

/** Why a set of egress rules (all on every port) reaches every destination, or undefined. */
function everyDestinationReason(rules: readonly Rule[]): string | undefined {
  if (rules.some((r) => r.peers === 'all')) return 'every destination, in and outside the cluster (empty "to")';
  let ips = IpSet.EMPTY;
  let pods = false;
  const cidrs: string[] = [];
  for (const r of rules) {
    for (const peer of r.peers as readonly Peer[]) {
      if (peer.kind === 'ipBlock') {
        ips = ips.union(peer.set);
        cidrs.push(peer.cidr);
      } else if (everyPod(peer)) pods = true;
    }
  }
  if (!pods || !coversInternet(ips)) return undefined;
  return `every destination (ipBlock ${[...new Set(cidrs)].join(', ')} and an empty namespaceSelector: the whole Internet and every pod)`;
}

export function exposureFindings(p: NetworkPolicy): LintFinding[] {
  const out: LintFinding[] = [];
  const pid = policyId(p);
  const context = { namespace: p.namespace, policy: p.name, source: p.source };
  const target = describePods(p.podSelector);
  if (p.affectsIngress) {
    for (const r of p.ingress) {
      const why = everySourceReason(r);
      if (!why) continue;
      out.push(
        finding('NP010', `${pid} ingress[${r.index}]`, `allows ingress to ${target} from ${why}, ${describePorts(r)}`, 'restrict "from" to the namespaces/pods or CIDRs that need access', context),
      );
    }
  }
  if (p.affectsEgress) {
    const open = p.egress.filter(isAllPorts);
    // One rule that opens everything is named; otherwise the policy's rules together do.
    const single = open.find((r) => everyDestinationReason([r]) !== undefined);
    const why = everyDestinationReason(single ? [single] : open);
    if (why) {
      const where = single ? `${pid} egress[${single.index}]` : `${pid} egress`;
      out.push(
        finding('NP012', where, `allows egress from ${target} to ${why}, on every port: isolating egress this way restricts nothing`, 'limit "to" and "ports" to what the pods need, or drop Egress from policyTypes', context),
      );
    }
  }
  return out;
}
