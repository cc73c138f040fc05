// Validation of the learned edges handed to the baseline generator. They come from Redis
// snapshots and from callers: anything malformed is skipped with a note, never trusted, so a
// hostile name can never reach a generated manifest. Pure.
import { parseAddress } from './cidr.js';

export type EdgeProtocol = 'TCP' | 'UDP' | 'SCTP';

/** A learned connection, checked: `src`/`dst` are `namespace/workload` or an IP address. */
export interface HardenEdge {
  src: string;
  dst: string;
  port: number;
  protocol: EdgeProtocol;
}

/** One side of an edge: a workload of the cluster or an address outside it. */
export type EdgePeer = { kind: 'workload'; namespace: string; name: string; id: string } | { kind: 'ip'; address: string };

export class HardenInputError extends Error {}

const PROTOCOLS: ReadonlySet<string> = new Set(['TCP', 'UDP', 'SCTP']);
// Namespaces are DNS-1123 labels; workload names DNS-1123 subdomains (the API server's rules).
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const WORKLOAD = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function isNamespaceName(text: string): boolean {
  return NAMESPACE.test(text);
}

/** Parses one side; undefined when it is neither a valid `namespace/workload` nor an IP address. */
export function parsePeer(text: unknown): EdgePeer | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 320) return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) {
    const address = parseAddress(text);
    return address ? { kind: 'ip', address: address.toString() } : undefined;
  }
  const namespace = text.slice(0, slash);
  const name = text.slice(slash + 1);
  if (!NAMESPACE.test(namespace) || !WORKLOAD.test(name) || name.includes('..')) return undefined;
  return { kind: 'workload', namespace, name, id: text };
}

/** Why a raw edge is unusable, or undefined when it is fine. */
function edgeProblem(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not an object';
  const e = raw as Record<string, unknown>;
  if (!parsePeer(e.src)) return 'src is not namespace/workload or an IP address';
  if (!parsePeer(e.dst)) return 'dst is not namespace/workload or an IP address';
  if (typeof e.port !== 'number' || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) return 'port is not a number from 1 to 65535';
  if (typeof e.protocol !== 'string' || !PROTOCOLS.has(e.protocol.toUpperCase())) return 'protocol is not TCP, UDP or SCTP';
  if (parsePeer(e.src)?.kind === 'ip' && parsePeer(e.dst)?.kind === 'ip') return 'neither side is a workload';
  return undefined;
}

export function edgeKey(e: Pick<HardenEdge, 'src' | 'dst' | 'port' | 'protocol'>): string {
  return `${e.src}\u0000${e.dst}\u0000${e.protocol}\u0000${e.port}`;
}

/** A short, single-line, escaped rendering of untrusted input for notes. */
export function describeUntrusted(raw: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(raw) ?? String(raw);
  } catch {
    text = Object.prototype.toString.call(raw);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export interface CheckedEdges {
  edges: HardenEdge[];
  /** Count of skipped edges by reason, and a few examples of each. */
  skipped: Map<string, { count: number; examples: string[] }>;
}

/**
 * Keeps the well-formed edges, each once, sorted by src, dst, protocol, port. Throws
 * HardenInputError when the input is not a list or holds more than `maxEdges` items.
 */
export function checkEdges(raw: unknown, maxEdges: number): CheckedEdges {
  if (!Array.isArray(raw)) throw new HardenInputError('learned edges must be a list');
  if (raw.length > maxEdges) throw new HardenInputError(`${raw.length} learned edges, more than the limit of ${maxEdges}`);
  const skipped = new Map<string, { count: number; examples: string[] }>();
  const byKey = new Map<string, HardenEdge>();
  for (const item of raw as unknown[]) {
    const problem = edgeProblem(item);
    if (problem) {
      let entry = skipped.get(problem);
      if (!entry) skipped.set(problem, (entry = { count: 0, examples: [] }));
      entry.count += 1;
      if (entry.examples.length < 3) entry.examples.push(describeUntrusted(item));
      continue;
    }
    const e = item as Record<string, unknown>;
    const src = parsePeer(e.src) as EdgePeer;
    const dst = parsePeer(e.dst) as EdgePeer;
    const edge: HardenEdge = {
      src: src.kind === 'ip' ? src.address : src.id,
      dst: dst.kind === 'ip' ? dst.address : dst.id,
      port: e.port as number,
      protocol: (e.protocol as string).toUpperCase() as EdgeProtocol,
    };
    byKey.set(edgeKey(edge), edge);
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const edges = [...byKey.values()].sort((a, b) => cmp(a.src, b.src) || cmp(a.dst, b.dst) || cmp(a.protocol, b.protocol) || a.port - b.port);
  return { edges, skipped };
}
