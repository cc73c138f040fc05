// Allowed connectivity between every pair of pod classes (and between classes and address
// ranges outside the cluster), rolled up to workloads. A connection needs BOTH the source's
// egress and the destination's ingress to allow it.
import { classSetHas, type ClassSet } from './class-set.js';
import { atomsOf, formatIpRange, IpSet, type IpFamily } from './ip-set.js';
import type { WorkloadRef } from './model.js';
import type { XSide } from './extended-index.js';
import { layeredConns } from './layered.js';
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
  /**
   * 'policy-blocks' (default, as netpol-analyzer prints): one line per address block induced by
   * the ipBlocks of all policies; 'merged': adjacent blocks with equal connections are joined.
   */
  externalRanges?: 'policy-blocks' | 'merged';
  /**
   * Only the connections from or to these workloads (ids as in PeerEndpoint.id): the others are
   * not computed, so a question about one scope costs its rows and columns, not the whole
   * cluster's. The result equals the whole connectivity filtered to those workloads.
   */
  touching?: readonly string[];
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

/** Atom index -> conns, or 'open' when the class is not isolated in that direction (every atom, universe). */
type ExternalRow = Map<number, Conns> | 'open';

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

  /** With `touching`: the workloads asked about and all their classes (null: everything). */
  private readonly focus: { workloads: Set<number>; classes: Set<number> } | null;

  /** Sides where ANP/BANP/CNP apply (undefined for inputs with NetworkPolicies only: the fast path). */
  private readonly xIn: ReadonlyArray<XSide | undefined> | undefined;
  private readonly xEg: ReadonlyArray<XSide | undefined> | undefined;

  constructor(
    readonly index: PolicyIndex,
    readonly options: ConnectivityOptions = {},
  ) {
    this.xIn = index.extended?.ingress;
    this.xEg = index.extended?.egress;
    const only = options.only;
    this.universe = only ? Conns.of(only.protocol, portRange(only.port, only.port)) : Conns.ALL;
    this.focus = options.touching ? focusOf(index, options.touching) : null;
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
    const x = this.xIn?.[d];
    if (x) return layeredConns(this.index, x, this.index.ingressOf[d] ?? [], 'ingress', { kind: 'class', id: s }, d, this.universe);
    const entries = this.inEntries[d];
    if (entries === null || entries === undefined) return this.universe;
    let conns = Conns.NONE;
    for (const e of entries) if (classSetHas(e.peers, s)) conns = conns.union(e.conns);
    return conns;
  }

  private egressConns(s: number, d: number | undefined): Conns {
    const x = this.xEg?.[s];
    if (x && d !== undefined) return layeredConns(this.index, x, this.index.egressOf[s] ?? [], 'egress', { kind: 'class', id: d }, d, this.universe);
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

  // Reverse egress index: which sources may send to a destination. Open-egress sources and
  // sources with an empty `to` reach everyone; the others reach the classes their rules name.
  private openEgress = new Set<number>();
  private reachesAll = new Set<number>();
  private egressReverse = new Map<number, Set<number>>();

  private indexEgress(s: number, add: boolean): void {
    const entries = this.egEntries[s];
    // An ANP/CNP side may allow any destination (an ANP Allow needs no NetworkPolicy rule).
    if (entries === null || entries === undefined || this.xEg?.[s]) {
      if (add) this.openEgress.add(s);
      else this.openEgress.delete(s);
      return;
    }
    if (entries.some((e) => e.peers === 'all')) {
      if (add) this.reachesAll.add(s);
      else this.reachesAll.delete(s);
      return;
    }
    for (const e of entries) {
      for (const d of e.peers as Uint32Array) {
        let set = this.egressReverse.get(d);
        if (add) {
          if (!set) this.egressReverse.set(d, (set = new Set()));
          set.add(s);
        } else {
          set?.delete(s);
        }
      }
    }
  }

  /** Calls fn for every source whose egress may allow traffic to `d` (possibly more than once). */
  private forEachEgressSource(d: number, fn: (s: number) => void): void {
    for (const s of this.openEgress) fn(s);
    for (const s of this.reachesAll) fn(s);
    for (const s of this.egressReverse.get(d) ?? []) fn(s);
  }

  /** Calls fn for every source worth evaluating for destination d. */
  private forEachCandidateSource(d: number, fn: (s: number) => void): void {
    const entries = this.inEntries[d];
    if (entries === null || entries === undefined || this.xIn?.[d] || entries.some((e) => e.peers === 'all')) {
      this.forEachEgressSource(d, fn);
      return;
    }
    for (const e of entries) {
      const peers = e.peers as Uint32Array;
      for (let i = 0; i < peers.length; i++) fn(peers[i] as number);
    }
  }

  /** Calls fn for every destination the egress of `s` may allow (possibly more than once). */
  private forEachEgressDestination(s: number, fn: (d: number) => void): void {
    const entries = this.egEntries[s];
    if (entries === null || entries === undefined || this.xEg?.[s] || entries.some((e) => e.peers === 'all')) {
      for (let d = 0; d < this.classCount; d++) fn(d);
      return;
    }
    for (const e of entries) for (const d of e.peers as Uint32Array) fn(d);
  }

  private computeAll(): void {
    const n = this.classCount;
    this.inEntries = Array.from({ length: n }, (_, d) => this.buildInEntries(d));
    this.egEntries = Array.from({ length: n }, (_, s) => this.buildEgEntries(s));
    this.rows = Array.from({ length: n }, () => new Map<number, Conns>());
    this.openEgress = new Set();
    this.reachesAll = new Set();
    this.egressReverse = new Map();
    for (let s = 0; s < n; s++) this.indexEgress(s, true);
    const stamp = new Int32Array(n).fill(-1);
    const focus = this.focus?.classes;
    // Rows: every destination's (with a focus, only the focus's destinations).
    for (let d = 0; d < n; d++) {
      if (focus && !focus.has(d)) continue;
      const row = this.rows[d] as Map<number, Conns>;
      this.forEachCandidateSource(d, (s) => {
        if (stamp[s] === d) return;
        stamp[s] = d;
        const c = this.pairConns(s, d);
        if (!c.isEmpty()) row.set(s, c);
      });
    }
    // With a focus, its columns too: what its classes may send to every other destination.
    if (focus) {
      const seen = new Int32Array(n).fill(-1);
      for (const s of focus) {
        this.forEachEgressDestination(s, (d) => {
          if (focus.has(d) || seen[d] === s) return;
          seen[d] = s;
          const c = this.pairConns(s, d);
          if (!c.isEmpty()) (this.rows[d] as Map<number, Conns>).set(s, c);
        });
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
    const x = this.index.extended;
    if (x) {
      inSets.push(...x.ingressIps);
      egSets.push(...x.egressIps);
      if ([...x.ingressIps, ...x.egressIps].some((set) => set.v6.length > 0 && !set.equals(IpSet.ALL))) v6 = true;
    }
    // IPv6 ranges are listed only when some policy mentions IPv6, to keep IPv4-only output familiar.
    const families: IpFamily[] = v6 ? [4, 6] : [4];
    const atoms = (sets: IpSet[]): Atom[] => families.flatMap((family) => atomsOf(family, sets).map(([start, end]) => ({ family, start, end })));
    this.inAtoms = atoms(inSets);
    this.egAtoms = atoms(egSets);
  }

  /** Conns per atom for one class and direction. */
  private externalRow(entries: Array<{ ips: IpSet; conns: Conns }> | null, atoms: Atom[]): ExternalRow {
    if (entries === null) return 'open';
    const row = new Map<number, Conns>();
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

  /** Per atom, what an ANP/BANP/CNP side allows with the addresses of that atom. */
  private layeredExternalRow(c: number, direction: 'ingress' | 'egress', side: XSide, atoms: Atom[]): ExternalRow {
    const nps = (direction === 'ingress' ? this.index.ingressOf : this.index.egressOf)[c] ?? [];
    const row = new Map<number, Conns>();
    atoms.forEach((a, i) => {
      const conns = layeredConns(this.index, side, nps, direction, { kind: 'ip', family: a.family, value: a.start }, direction === 'ingress' ? c : undefined, this.universe);
      if (!conns.isEmpty()) row.set(i, conns);
    });
    return row;
  }

  private computeExternalFor(classes: Iterable<number>, direction: 'ingress' | 'egress'): void {
    for (const c of classes) {
      const x = (direction === 'ingress' ? this.xIn : this.xEg)?.[c];
      if (x) {
        if (direction === 'ingress') this.inExternal[c] = this.layeredExternalRow(c, direction, x, this.inAtoms);
        else this.egExternal[c] = this.layeredExternalRow(c, direction, x, this.egAtoms);
        continue;
      }
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
    const classes = this.focus ? [...this.focus.classes] : Array.from({ length: this.classCount }, (_, i) => i);
    this.computeExternalFor(classes, 'ingress');
    this.computeExternalFor(classes, 'egress');
  }

  /**
   * Re-evaluates what a policy change can have touched (rows of re-isolated destinations,
   * columns of re-isolated sources) and returns the class pairs whose connections changed.
   */
  applyChange(impact: PolicyChangeImpact): ClassPairChange[] {
    if (this.focus) throw new Error('a connectivity limited to some workloads cannot be updated in place');
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
    for (const s of impact.egress) {
      this.indexEgress(s, false);
      this.egEntries[s] = this.buildEgEntries(s);
      this.indexEgress(s, true);
    }
    for (const d of impact.ingress) this.inEntries[d] = this.buildInEntries(d);
    // Candidates: pairs allowed before (they may close) plus pairs the new rules may open.
    for (const d of impact.ingress) {
      const candidates = new Set<number>((this.rows[d] as Map<number, Conns>).keys());
      this.forEachCandidateSource(d, (s) => candidates.add(s));
      for (const s of candidates) set(s, d, this.pairConns(s, d));
    }
    const ingressDone = new Set(impact.ingress);
    for (const s of impact.egress) {
      const entries = this.egEntries[s];
      const everywhere = entries === null || entries === undefined || entries.some((e) => e.peers === 'all');
      const candidates = new Set<number>();
      for (let d = 0; d < n; d++) if (everywhere || (this.rows[d] as Map<number, Conns>).has(s)) candidates.add(d);
      if (!everywhere) for (const e of entries) for (const d of e.peers as Uint32Array) candidates.add(d);
      for (const d of candidates) if (!ingressDone.has(d)) set(s, d, this.pairConns(s, d));
    }
    if (this.options.external !== false) {
      const inBefore = this.inAtoms;
      const egBefore = this.egAtoms;
      if (impact.ipBlocks) this.collectAtoms();
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
    const srcs: number[] = [];
    const dsts: number[] = [];
    const conns: Conns[] = [];
    const emit = (s: number, d: number, c: Conns): void => {
      srcs.push(s);
      dsts.push(d);
      conns.push(c);
    };
    // Usual case: every class is one workload and every workload one class, so no union is needed.
    const oneToOne = index.classes.every((c) => c.workloads.length === 1) && index.workloads.every((w) => w.classes.length === 1);
    // With a focus, a class of a focus workload may be another workload's too: only pairs touching the focus are whole.
    const focus = this.focus?.workloads;
    const wanted = (ws: number, wd: number): boolean => ws !== wd && (!focus || focus.has(ws) || focus.has(wd));
    if (oneToOne) {
      for (let d = 0; d < this.rows.length; d++) {
        const wd = index.classes[d]?.workloads[0] as number;
        for (const [s, c] of this.rows[d] as Map<number, Conns>) {
          const ws = index.classes[s]?.workloads[0] as number;
          if (wanted(ws, wd)) emit(ws, wd, c);
        }
      }
    } else {
      const pairs = new Map<number, Conns>();
      for (let d = 0; d < this.rows.length; d++) {
        const dstWorkloads = index.classes[d]?.workloads ?? [];
        for (const [s, c] of this.rows[d] as Map<number, Conns>) {
          for (const ws of index.classes[s]?.workloads ?? []) {
            for (const wd of dstWorkloads) {
              if (!wanted(ws, wd)) continue;
              const key = ws * W + wd;
              const prev = pairs.get(key);
              pairs.set(key, prev ? prev.union(c) : c);
            }
          }
        }
      }
      for (const [key, c] of pairs) emit(Math.floor(key / W), key % W, c);
    }
    if (this.options.external !== false) {
      const merged = this.options.externalRanges === 'merged';
      this.emitExternal(this.inAtoms, this.inExternal, true, merged, endpoints, emit);
      this.emitExternal(this.egAtoms, this.egExternal, false, merged, endpoints, emit);
    }
    const order = sortedOrder(endpoints.map((e) => e.id), srcs, dsts);
    const out: Connection[] = new Array(order.length);
    for (let i = 0; i < order.length; i++) {
      const k = order[i] as number;
      out[i] = { src: endpoints[srcs[k] as number] as PeerEndpoint, dst: endpoints[dsts[k] as number] as PeerEndpoint, conns: conns[k] as Conns };
    }
    return out;
  }

  private emitExternal(
    atoms: Atom[],
    rows: ExternalRow[],
    inbound: boolean,
    merged: boolean,
    endpoints: PeerEndpoint[],
    emit: (s: number, d: number, c: Conns) => void,
  ): void {
    const endpointIds = new Map<string, number>();
    const endpointFor = (family: IpFamily, start: bigint, end: bigint): number => {
      const id = `${formatIpRange(family, start, end)}[External]`;
      let i = endpointIds.get(id);
      if (i === undefined) {
        i = endpoints.length;
        endpoints.push({ kind: 'external', id, family, start, end });
        endpointIds.set(id, i);
      }
      return i;
    };
    const atomIds = merged ? [] : atoms.map((a) => endpointFor(a.family, a.start, a.end));
    for (const w of this.index.workloads) {
      if (this.focus && !this.focus.workloads.has(w.index)) continue;
      // Per atom, the union over the workload's classes.
      let open = false;
      const perAtom = new Map<number, Conns>();
      for (const c of w.classes) {
        const row = rows[c];
        if (row === 'open') open = true;
        else if (row) for (const [a, conns] of row) perAtom.set(a, (perAtom.get(a) ?? Conns.NONE).union(conns));
      }
      const at = (a: number): Conns => (open ? this.universe : perAtom.get(a) ?? Conns.NONE);
      const put = (atomIndexOrEndpoint: number, c: Conns): void => {
        if (c.isEmpty()) return;
        if (inbound) emit(atomIndexOrEndpoint, w.index, c);
        else emit(w.index, atomIndexOrEndpoint, c);
      };
      const indexes = open ? atoms.map((_, i) => i) : [...perAtom.keys()].sort((x, y) => x - y);
      if (!merged) {
        for (const a of indexes) put(atomIds[a] as number, at(a));
        continue;
      }
      // Join runs of adjacent atoms (same family, contiguous) that carry equal connections.
      let run: { first: Atom; last: Atom; conns: Conns } | undefined;
      const flush = (): void => {
        if (run) put(endpointFor(run.first.family, run.first.start, run.last.end), run.conns);
        run = undefined;
      };
      for (const a of indexes) {
        const atom = atoms[a] as Atom;
        const c = at(a);
        if (run && run.last.family === atom.family && run.last.end + 1n === atom.start && run.conns.equals(c)) run.last = atom;
        else {
          flush();
          run = { first: atom, last: atom, conns: c };
        }
      }
      flush();
    }
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

/** The workloads named (unknown ids are ignored) and every class of theirs. */
function focusOf(index: PolicyIndex, ids: readonly string[]): { workloads: Set<number>; classes: Set<number> } {
  const wanted = new Set(ids);
  const workloads = new Set<number>();
  const classes = new Set<number>();
  for (const w of index.workloads) {
    if (!wanted.has(w.id)) continue;
    workloads.add(w.index);
    for (const c of w.classes) classes.add(c);
  }
  return { workloads, classes };
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

/** Order of the (src, dst) entries by endpoint id strings, via one numeric sort of packed keys. */
function sortedOrder(ids: string[], srcs: number[], dsts: number[]): Uint32Array | number[] {
  const rank = rankByString(ids);
  const n = srcs.length;
  const m = ids.length;
  if (m * m * n < Number.MAX_SAFE_INTEGER) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = ((rank[srcs[i] as number] as number) * m + (rank[dsts[i] as number] as number)) * n + i;
    keys.sort();
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = (keys[i] as number) % n;
    return order;
  }
  return Array.from({ length: n }, (_, i) => i).sort(
    (x, y) => (rank[srcs[x] as number] as number) - (rank[srcs[y] as number] as number) || (rank[dsts[x] as number] as number) - (rank[dsts[y] as number] as number),
  );
}

/** Every allowed workload -> workload / external connection. */
export function connectivity(index: PolicyIndex, options: ConnectivityOptions = {}): Connection[] {
  return new ClassConnectivity(index, options).toConnections();
}
