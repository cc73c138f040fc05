// Allowed connectivity between every pair of pod classes (and between classes and address
// ranges outside the cluster), rolled up to workloads. A connection needs BOTH the source's
// egress and the destination's ingress to allow it.
import { classSetHas, type ClassSet } from './class-set.js';
import { atomsOf, formatIpRange, IpSet, type IpFamily } from './ip-set.js';
import type { WorkloadRef } from './model.js';
import type { IndexedRule, PolicyChangeImpact, PolicyIndex } from './policy-index.js';
import { Conns, portRange, type Protocol } from './port-set.js';

export type PeerEndpoint =
  | { kind: 'workload'; id: string; ref: WorkloadRef }
  | { kind: 'external'; id: string; family: IpFamily; start: bigint; end: bigint };

export interface Connection {
  src: PeerEndpoint;
  dst: PeerEndpoint;
  conns: Conns;
}

export interface ConnectivityOptions {
  /** Ask one question for every pair, e.g. { protocol: 'TCP', port: 5432 }. Default: all connections. */
  only?: { protocol: Protocol; port: number };
  /** Include address ranges outside the cluster (default true). */
  external?: boolean;
}

interface InEntry {
  peers: ClassSet;
  ips: IpSet;
  conns: Conns;
}

interface EgEntry {
  peers: ClassSet;
  ips: IpSet;
  rule: IndexedRule;
  /** Precomputed when the rule has no named ports (its ports then do not depend on the destination). */
  fixed?: Conns;
}

type ExternalRow = Map<number, Conns>; // atom index -> conns

export interface Atom {
  family: IpFamily;
  start: bigint;
  end: bigint;
}

/** Class-level connectivity that can be updated in place after a policy change. */
export class ClassConnectivity {
  readonly universe: Conns;
  private inEntries: Array<InEntry[] | null> = [];
  private egEntries: Array<EgEntry[] | null> = [];
  /** rows[dst] = src -> conns (non-empty only). */
  rows: Array<Map<number, Conns>> = [];
  inAtoms: Atom[] = [];
  egAtoms: Atom[] = [];
  /** inExternal[dst]: ingress atom -> conns; egExternal[src]: egress atom -> conns. */
  inExternal: ExternalRow[] = [];
  egExternal: ExternalRow[] = [];

  constructor(
    readonly index: PolicyIndex,
    readonly options: ConnectivityOptions = {},
  ) {
    const only = options.only;
    this.universe = only ? Conns.of(only.protocol, portRange(only.port, only.port)) : Conns.ALL;
    this.computeAll();
  }

  private get classCount(): number {
    return this.index.classes.length;
  }

  private buildInEntries(d: number): InEntry[] | null {
    const policies = this.index.ingressOf[d] ?? [];
    if (policies.length === 0) return null;
    const out: InEntry[] = [];
    for (const p of policies) {
      for (const r of p.ingress) {
        const conns = this.index.ruleConnsTo(r.rule, d).intersect(this.universe);
        if (!conns.isEmpty()) out.push({ peers: r.peerClasses, ips: r.ips, conns });
      }
    }
    return out;
  }

  private buildEgEntries(s: number): EgEntry[] | null {
    const policies = this.index.egressOf[s] ?? [];
    if (policies.length === 0) return null;
    const out: EgEntry[] = [];
    for (const p of policies) {
      for (const r of p.egress) {
        if (r.rule.namedPorts.length > 0) {
          out.push({ peers: r.peerClasses, ips: r.ips, rule: r });
          continue;
        }
        const fixed = r.rule.numericConns.intersect(this.universe);
        if (!fixed.isEmpty()) out.push({ peers: r.peerClasses, ips: r.ips, rule: r, fixed });
      }
    }
    return out;
  }

  private ingressConns(s: number, d: number): Conns {
    const entries = this.inEntries[d];
    if (entries === null || entries === undefined) return this.universe;
    let conns = Conns.NONE;
    for (const e of entries) if (classSetHas(e.peers, s)) conns = conns.union(e.conns);
    return conns;
  }

  private egressConns(s: number, d: number | undefined): Conns {
    const entries = this.egEntries[s];
    if (entries === null || entries === undefined) return this.universe;
    let conns = Conns.NONE;
    for (const e of entries) {
      if (d !== undefined && classSetHas(e.peers, d)) conns = conns.union(e.fixed ?? this.index.ruleConnsTo(e.rule.rule, d).intersect(this.universe));
    }
    return conns;
  }

  private pairConns(s: number, d: number): Conns {
    const eg = this.egressConns(s, d);
    if (eg.isEmpty()) return eg;
    return eg.intersect(this.ingressConns(s, d));
  }

  private computeAll(): void {
    const n = this.classCount;
    this.inEntries = Array.from({ length: n }, (_, d) => this.buildInEntries(d));
    this.egEntries = Array.from({ length: n }, (_, s) => this.buildEgEntries(s));
    this.rows = Array.from({ length: n }, () => new Map<number, Conns>());
    // Sources whose egress can reach an ingress-open destination: open egress, or rules naming it.
    const openEgress: number[] = [];
    const reachesAll: number[] = [];
    const reverse = new Map<number, number[]>();
    for (let s = 0; s < n; s++) {
      const entries = this.egEntries[s];
      if (entries === null || entries === undefined) {
        openEgress.push(s);
        continue;
      }
      let all = false;
      for (const e of entries) if (e.peers === 'all') all = true;
      if (all) {
        reachesAll.push(s);
        continue;
      }
      const seen = new Set<number>();
      for (const e of entries) {
        const peers = e.peers as Uint32Array;
        for (let i = 0; i < peers.length; i++) {
          const d = peers[i] as number;
          if (this.inEntries[d] !== null || seen.has(d)) continue;
          seen.add(d);
          const list = reverse.get(d);
          if (list) list.push(s);
          else reverse.set(d, [s]);
        }
      }
    }
    const stamp = new Int32Array(n).fill(-1);
    for (let d = 0; d < n; d++) {
      const row = this.rows[d] as Map<number, Conns>;
      const consider = (s: number): void => {
        if (stamp[s] === d) return;
        stamp[s] = d;
        const c = this.pairConns(s, d);
        if (!c.isEmpty()) row.set(s, c);
      };
      const entries = this.inEntries[d];
      if (entries === null || entries === undefined) {
        for (const s of openEgress) consider(s);
        for (const s of reachesAll) consider(s);
        for (const s of reverse.get(d) ?? []) consider(s);
      } else if (entries.some((e) => e.peers === 'all')) {
        for (let s = 0; s < n; s++) consider(s);
      } else {
        for (const e of entries) {
          const peers = e.peers as Uint32Array;
          for (let i = 0; i < peers.length; i++) consider(peers[i] as number);
        }
      }
    }
    this.computeExternal();
  }

  private collectAtoms(): void {
    const inSets: IpSet[] = [];
    const egSets: IpSet[] = [];
    let v6 = false;
    for (const p of this.index.policies.values()) {
      for (const [rules, sets] of [
        [p.policy.ingress, inSets],
        [p.policy.egress, egSets],
      ] as const) {
        for (const r of rules) {
          if (r.peers === 'all') continue;
          for (const peer of r.peers) {
            if (peer.kind !== 'ipBlock') continue;
            sets.push(peer.set);
            if (peer.set.v6.length > 0) v6 = true;
          }
        }
      }
    }
    // IPv6 ranges are listed only when some policy mentions IPv6, to keep IPv4-only output familiar.
    const families: IpFamily[] = v6 ? [4, 6] : [4];
    const atoms = (sets: IpSet[]): Atom[] => families.flatMap((family) => atomsOf(family, sets).map(([start, end]) => ({ family, start, end })));
    this.inAtoms = atoms(inSets);
    this.egAtoms = atoms(egSets);
  }

  /** Conns per atom for one class and direction. */
  private externalRow(entries: Array<{ ips: IpSet; conns: Conns }> | null, atoms: Atom[]): ExternalRow {
    const row: ExternalRow = new Map();
    if (entries === null) {
      for (let a = 0; a < atoms.length; a++) row.set(a, this.universe);
      return row;
    }
    for (const e of entries) {
      if (e.ips.isEmpty() || e.conns.isEmpty()) continue;
      for (const family of [4, 6] as const) {
        const r = e.ips.ranges(family);
        for (let i = 0; i < r.length; i += 2) {
          let a = firstAtomAtOrAfter(atoms, family, r[i] as bigint);
          for (; a < atoms.length; a++) {
            const atom = atoms[a] as Atom;
            if (atom.family !== family || atom.start > (r[i + 1] as bigint)) break;
            row.set(a, (row.get(a) ?? Conns.NONE).union(e.conns));
          }
        }
      }
    }
    return row;
  }

  private computeExternalFor(classes: Iterable<number>, direction: 'ingress' | 'egress'): void {
    for (const c of classes) {
      if (direction === 'ingress') {
        const entries = this.inEntries[c] ?? null;
        this.inExternal[c] = this.externalRow(entries, this.inAtoms);
      } else {
        const entries = this.egEntries[c] ?? null;
        const flat = entries === null ? null : entries.map((e) => ({ ips: e.ips, conns: e.fixed ?? e.rule.rule.numericConns.intersect(this.universe) }));
        this.egExternal[c] = this.externalRow(flat, this.egAtoms);
      }
    }
  }

  private computeExternal(): void {
    this.inExternal = [];
    this.egExternal = [];
    if (this.options.external === false) return;
    this.collectAtoms();
    const all = Array.from({ length: this.classCount }, (_, i) => i);
    this.computeExternalFor(all, 'ingress');
    this.computeExternalFor(all, 'egress');
  }

  /**
   * Re-evaluates what a policy change can have touched (rows of re-isolated destinations,
   * columns of re-isolated sources) and returns the class pairs whose connections changed.
   */
  applyChange(impact: PolicyChangeImpact): ClassPairChange[] {
    const n = this.classCount;
    const changes: ClassPairChange[] = [];
    const set = (s: number, d: number, after: Conns): void => {
      const row = this.rows[d] as Map<number, Conns>;
      const before = row.get(s) ?? Conns.NONE;
      if (before.equals(after)) return;
      if (after.isEmpty()) row.delete(s);
      else row.set(s, after);
      changes.push({ src: s, dst: d, before, after });
    };
    for (const d of impact.ingress) this.inEntries[d] = this.buildInEntries(d);
    for (const s of impact.egress) this.egEntries[s] = this.buildEgEntries(s);
    for (const d of impact.ingress) for (let s = 0; s < n; s++) set(s, d, this.pairConns(s, d));
    const ingressDone = new Set(impact.ingress);
    for (const s of impact.egress) {
      for (let d = 0; d < n; d++) if (!ingressDone.has(d)) set(s, d, this.pairConns(s, d));
    }
    if (this.options.external !== false) {
      const inBefore = this.inAtoms;
      const egBefore = this.egAtoms;
      this.collectAtoms();
      if (sameAtoms(inBefore, this.inAtoms) && sameAtoms(egBefore, this.egAtoms)) {
        this.computeExternalFor(impact.ingress, 'ingress');
        this.computeExternalFor(impact.egress, 'egress');
      } else {
        const all = Array.from({ length: n }, (_, i) => i);
        this.computeExternalFor(all, 'ingress');
        this.computeExternalFor(all, 'egress');
      }
    }
    return changes;
  }

  /** Rolls classes up to workloads; sorted by source then destination (as the text lines sort). */
  toConnections(): Connection[] {
    const index = this.index;
    const W = index.workloads.length;
    const endpoints: PeerEndpoint[] = index.workloads.map((w) => ({ kind: 'workload', id: w.id, ref: w.ref }));
    const pairs = new Map<number, Conns>();
    for (let d = 0; d < this.rows.length; d++) {
      const dstWorkloads = index.classes[d]?.workloads ?? [];
      for (const [s, conns] of this.rows[d] as Map<number, Conns>) {
        for (const ws of index.classes[s]?.workloads ?? []) {
          for (const wd of dstWorkloads) {
            if (ws === wd) continue;
            const key = ws * W + wd;
            const prev = pairs.get(key);
            pairs.set(key, prev ? prev.union(conns) : conns);
          }
        }
      }
    }
    const out: Array<{ src: number; dst: number; conns: Conns }> = [];
    for (const [key, conns] of pairs) out.push({ src: Math.floor(key / W), dst: key % W, conns });
    // External endpoints get indexes after the workloads.
    const atomEndpoint = (atom: Atom): PeerEndpoint => ({
      kind: 'external',
      id: `${formatIpRange(atom.family, atom.start, atom.end)}[External]`,
      family: atom.family,
      start: atom.start,
      end: atom.end,
    });
    const addExternal = (atoms: Atom[], rows: ExternalRow[], inbound: boolean): void => {
      const base = endpoints.length;
      for (const atom of atoms) endpoints.push(atomEndpoint(atom));
      for (const w of index.workloads) {
        const merged = new Map<number, Conns>();
        for (const c of w.classes) {
          for (const [a, conns] of rows[c] ?? new Map<number, Conns>()) {
            const prev = merged.get(a);
            merged.set(a, prev ? prev.union(conns) : conns);
          }
        }
        for (const [a, conns] of merged) {
          if (conns.isEmpty()) continue;
          out.push(inbound ? { src: base + a, dst: w.index, conns } : { src: w.index, dst: base + a, conns });
        }
      }
    };
    if (this.options.external !== false) {
      addExternal(this.inAtoms, this.inExternal, true);
      addExternal(this.egAtoms, this.egExternal, false);
    }
    const rank = rankByString(endpoints.map((e) => e.id));
    out.sort((x, y) => (rank[x.src] as number) - (rank[y.src] as number) || (rank[x.dst] as number) - (rank[y.dst] as number));
    return out.map((c) => ({ src: endpoints[c.src] as PeerEndpoint, dst: endpoints[c.dst] as PeerEndpoint, conns: c.conns }));
  }

  /** Workload-level view of class changes (union over the classes of each workload pair). */
  workloadChanges(changes: readonly ClassPairChange[]): Array<{ src: string; dst: string; before: Conns; after: Conns }> {
    const index = this.index;
    const touched = new Map<string, [number, number]>();
    for (const ch of changes) {
      for (const ws of index.classes[ch.src]?.workloads ?? []) {
        for (const wd of index.classes[ch.dst]?.workloads ?? []) if (ws !== wd) touched.set(`${ws}>${wd}`, [ws, wd]);
      }
    }
    const beforeOf = new Map<string, Conns>();
    for (const ch of changes) beforeOf.set(`${ch.src}>${ch.dst}`, ch.before);
    const out: Array<{ src: string; dst: string; before: Conns; after: Conns }> = [];
    for (const [ws, wd] of touched.values()) {
      const src = index.workloads[ws];
      const dst = index.workloads[wd];
      if (!src || !dst) continue;
      let before = Conns.NONE;
      let after = Conns.NONE;
      for (const s of src.classes) {
        for (const d of dst.classes) {
          const now = this.rows[d]?.get(s) ?? Conns.NONE;
          after = after.union(now);
          before = before.union(beforeOf.get(`${s}>${d}`) ?? now);
        }
      }
      if (!before.equals(after)) out.push({ src: src.id, dst: dst.id, before, after });
    }
    return out.sort((a, b) => (a.src < b.src ? -1 : a.src > b.src ? 1 : a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0));
  }
}

export interface ClassPairChange {
  src: number;
  dst: number;
  before: Conns;
  after: Conns;
}

function firstAtomAtOrAfter(atoms: Atom[], family: IpFamily, value: bigint): number {
  let lo = 0;
  let hi = atoms.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const a = atoms[mid] as Atom;
    if (a.family < family || (a.family === family && a.end < value)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sameAtoms(a: Atom[], b: Atom[]): boolean {
  return a.length === b.length && a.every((x, i) => x.family === b[i]?.family && x.start === b[i]?.start && x.end === b[i]?.end);
}

function rankByString(ids: string[]): Int32Array {
  const order = ids.map((_, i) => i).sort((x, y) => {
    const a = ids[x] as string;
    const b = ids[y] as string;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const rank = new Int32Array(ids.length);
  order.forEach((idx, r) => (rank[idx] = r));
  return rank;
}

/** Every allowed workload -> workload / external connection. */
export function connectivity(index: PolicyIndex, options: ConnectivityOptions = {}): Connection[] {
  return new ClassConnectivity(index, options).toConnections();
}
