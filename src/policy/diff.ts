// Connectivity delta between two states (e.g. desired policies vs live, or before/after one
// restore step): which connections a change opened and which it closed.
import type { Connection, PeerEndpoint } from './connectivity.js';
import { formatIpRange, type IpFamily } from './ip-set.js';
import { Conns } from './port-set.js';

export interface ConnectionChange {
  kind: 'added' | 'removed' | 'changed';
  src: string;
  dst: string;
  before: Conns;
  after: Conns;
  /** Connections allowed after but not before. */
  opened: Conns;
  /** Connections allowed before but not after. */
  closed: Conns;
  /** Set when an endpoint exists in only one of the two states. */
  workloadsOnlyIn?: { before: string[]; after: string[] };
}

export interface ConnectivityDiff {
  changes: ConnectionChange[];
  opened: ConnectionChange[];
  closed: ConnectionChange[];
}

interface Refined {
  pairs: Map<string, { src: string; dst: string; conns: Conns }>;
  workloads: Set<string>;
}

// The two sides may split the outside world at different boundaries (a new ipBlock adds
// boundaries), so external ranges are first cut at the union of both sides' boundaries.
function boundaries(lists: ReadonlyArray<readonly Connection[]>): Map<IpFamily, bigint[]> {
  const cuts = new Map<IpFamily, Set<bigint>>([
    [4, new Set()],
    [6, new Set()],
  ]);
  for (const list of lists) {
    for (const c of list) {
      for (const e of [c.src, c.dst]) {
        if (e.kind !== 'external') continue;
        cuts.get(e.family)?.add(e.start);
        cuts.get(e.family)?.add(e.end + 1n);
      }
    }
  }
  return new Map([...cuts].map(([f, s]) => [f, [...s].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))]));
}

function split(e: PeerEndpoint, cuts: Map<IpFamily, bigint[]>): string[] {
  if (e.kind !== 'external') return [e.id];
  const list = cuts.get(e.family) ?? [];
  const out: string[] = [];
  let start = e.start;
  for (const cut of list) {
    if (cut <= start) continue;
    if (cut > e.end) break;
    out.push(`${formatIpRange(e.family, start, cut - 1n)}[External]`);
    start = cut;
  }
  out.push(`${formatIpRange(e.family, start, e.end)}[External]`);
  return out;
}

function refine(list: readonly Connection[], cuts: Map<IpFamily, bigint[]>): Refined {
  const pairs = new Map<string, { src: string; dst: string; conns: Conns }>();
  const workloads = new Set<string>();
  for (const c of list) {
    for (const e of [c.src, c.dst]) if (e.kind === 'workload') workloads.add(e.id);
    for (const src of split(c.src, cuts)) {
      for (const dst of split(c.dst, cuts)) {
        const key = `${src} => ${dst}`;
        const prev = pairs.get(key);
        pairs.set(key, { src, dst, conns: prev ? prev.conns.union(c.conns) : c.conns });
      }
    }
  }
  return { pairs, workloads };
}

/**
 * Compares two connectivity lists. `knownBefore`/`knownAfter` name the workloads that exist on
 * each side even if they have no connection (to tell "workload removed" from "connection closed").
 */
export function diffConnectivity(
  before: readonly Connection[],
  after: readonly Connection[],
  known: { before?: Iterable<string>; after?: Iterable<string> } = {},
): ConnectivityDiff {
  const cuts = boundaries([before, after]);
  const b = refine(before, cuts);
  const a = refine(after, cuts);
  for (const w of known.before ?? []) b.workloads.add(w);
  for (const w of known.after ?? []) a.workloads.add(w);
  const changes: ConnectionChange[] = [];
  const keys = new Set([...b.pairs.keys(), ...a.pairs.keys()]);
  for (const key of keys) {
    const x = b.pairs.get(key);
    const y = a.pairs.get(key);
    const src = (x ?? y)?.src as string;
    const dst = (x ?? y)?.dst as string;
    const beforeConns = x?.conns ?? Conns.NONE;
    const afterConns = y?.conns ?? Conns.NONE;
    if (beforeConns.equals(afterConns)) continue;
    const change: ConnectionChange = {
      kind: beforeConns.isEmpty() ? 'added' : afterConns.isEmpty() ? 'removed' : 'changed',
      src,
      dst,
      before: beforeConns,
      after: afterConns,
      opened: afterConns.subtract(beforeConns),
      closed: beforeConns.subtract(afterConns),
    };
    const isWorkload = (id: string): boolean => !id.endsWith('[External]');
    const onlyBefore = [src, dst].filter((id) => isWorkload(id) && b.workloads.has(id) && !a.workloads.has(id));
    const onlyAfter = [src, dst].filter((id) => isWorkload(id) && a.workloads.has(id) && !b.workloads.has(id));
    if (onlyBefore.length > 0 || onlyAfter.length > 0) change.workloadsOnlyIn = { before: onlyBefore, after: onlyAfter };
    changes.push(change);
  }
  const order = { changed: 0, added: 1, removed: 2 } as const;
  changes.sort((p, q) => order[p.kind] - order[q.kind] || (p.src < q.src ? -1 : p.src > q.src ? 1 : p.dst < q.dst ? -1 : p.dst > q.dst ? 1 : 0));
  return {
    changes,
    opened: changes.filter((c) => !c.opened.isEmpty()),
    closed: changes.filter((c) => !c.closed.isEmpty()),
  };
}

/** Text rendering close to netpol-analyzer's diff output. */
export function formatDiff(diff: ConnectivityDiff): string {
  if (diff.changes.length === 0) return '';
  const lines = ['Connectivity diff:'];
  for (const c of diff.changes) {
    let line = `diff-type: ${c.kind}, source: ${c.src}, destination: ${c.dst}, ref1: ${c.before.toString()}, ref2: ${c.after.toString()}`;
    if (c.workloadsOnlyIn) {
      const added = c.workloadsOnlyIn.after;
      const removed = c.workloadsOnlyIn.before;
      if (added.length > 0) line += `, workloads-diff-info: workload ${added.join(' and ')} added`;
      else if (removed.length > 0) line += `, workloads-diff-info: workload ${removed.join(' and ')} removed`;
    }
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}
