// The policy engine as the restore planner drives it: one state of the cluster (live pods, the
// policies of the moment) that a restore step changes and then puts back. A NetworkPolicy step is
// applied to the index in place (only the pod classes it selects are re-evaluated); a step on an
// AdminNetworkPolicy, the BaselineAdminNetworkPolicy or a CiliumNetworkPolicy rebuilds the index,
// whose extended part is fixed at construction. Each change is reported as workload-level cells
// (a workload pair, or a workload and an address block outside the cluster) with their
// connections before and after. Pure.
import { ClassConnectivity, Conns, PolicyIndex, type ClusterObjects, type NetworkPolicy, type PolicyChangeImpact } from '../policy/index.js';
import type { Atom, ClassPairChange } from '../policy/connectivity.js';
import { formatIpRange, IpSet } from '../policy/ip-set.js';
import type { AdminPolicy, CiliumPolicy, Peer, Rule } from '../policy/model.js';
import { SELECT_ALL } from '../policy/selectors.js';

export type EngineKind = 'NetworkPolicy' | 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'CiliumNetworkPolicy';
export type PolicyModel = NetworkPolicy | AdminPolicy | CiliumPolicy;

/** One object changed by a step, compiled: absent before (create) or after (delete). */
export interface ModelChange {
  kind: EngineKind;
  namespace?: string;
  name: string;
  before?: PolicyModel;
  after?: PolicyModel;
}

/** Connections of one workload pair, or one workload and one address block, before and after a change. */
export interface Cell {
  key: string;
  src: string;
  dst: string;
  /** Set when one end is outside the cluster: which address block of which direction. */
  atom?: { direction: 'ingress' | 'egress'; index: number };
  before: Conns;
  after: Conns;
}

type World = Pick<ClusterObjects, 'namespaces' | 'pods' | 'nodes'>;
type ExternalRow = ClassConnectivity['inExternal'][number];

const EXTERNAL = '[External]';
/** No namespace can hold a `/`: the boundary policy selects no pod and clashes with no real one. */
const BOUNDARY_NAMESPACE = 'netpol-responder.io/restore';

function rule(direction: 'ingress' | 'egress', sets: readonly IpSet[]): Rule {
  const peers: Peer[] = sets.map((set) => ({ kind: 'ipBlock', cidr: '', except: [], set }));
  return { direction, index: 0, peers, ports: 'all', numericConns: Conns.ALL, namedPorts: [] };
}

/**
 * A NetworkPolicy that selects no pod and names every address block of both ends. The engine cuts
 * the outside world at the ipBlocks of the policies it holds; with this one in every state, all
 * states share the same blocks, so a block's connections compare across states by its index.
 */
export function boundaryPolicy(ingress: readonly IpSet[], egress: readonly IpSet[]): NetworkPolicy | undefined {
  const useful = (sets: readonly IpSet[]): IpSet[] => sets.filter((s) => !s.isEmpty() && !s.equals(IpSet.ALL));
  const inSets = useful(ingress);
  const egSets = useful(egress);
  if (inSets.length + egSets.length === 0) return undefined;
  return {
    namespace: BOUNDARY_NAMESPACE,
    name: 'address-blocks',
    podSelector: SELECT_ALL,
    affectsIngress: inSets.length > 0,
    affectsEgress: egSets.length > 0,
    ingress: inSets.length > 0 ? [rule('ingress', inSets)] : [],
    egress: egSets.length > 0 ? [rule('egress', egSets)] : [],
    source: 'restore planner',
    raw: null,
  };
}

/** The address sets a policy mentions, per direction (what the engine cuts the outside world at). */
export function addressSets(kind: EngineKind, model: PolicyModel, nodes: World['nodes']): { ingress: IpSet[]; egress: IpSet[] } {
  const out = { ingress: [] as IpSet[], egress: [] as IpSet[] };
  if (kind === 'NetworkPolicy') {
    const p = model as NetworkPolicy;
    for (const r of [...p.ingress, ...p.egress]) {
      if (r.peers === 'all') continue;
      for (const peer of r.peers) if (peer.kind === 'ipBlock') out[r.direction].push(peer.set);
    }
  } else if (kind === 'CiliumNetworkPolicy') {
    for (const spec of (model as CiliumPolicy).specs) for (const r of [...spec.ingress, ...spec.egress]) if (r.peers !== 'all') out[r.direction].push(r.peers.ips);
  } else {
    for (const r of [...(model as AdminPolicy).ingress, ...(model as AdminPolicy).egress]) {
      for (const peer of r.peers) {
        if (peer.kind === 'networks') out[r.direction].push(peer.set);
        // Node peers reach the nodes' addresses: every node's, a superset of the blocks needed.
        if (peer.kind === 'nodes') for (const n of nodes ?? []) out[r.direction].push(n.addresses);
      }
    }
  }
  return out;
}

function rowAt(row: ExternalRow | undefined, atom: number, universe: Conns): Conns {
  if (row === 'open') return universe;
  return row?.get(atom) ?? Conns.NONE;
}

export class RestoreEngine {
  private index: PolicyIndex;
  private cc: ClassConnectivity;
  private readonly admin = new Map<string, AdminPolicy>();
  private readonly cilium = new Map<string, CiliumPolicy>();
  private readonly hasBoundary: boolean;

  constructor(
    private readonly world: World,
    start: { policies: readonly NetworkPolicy[]; adminPolicies: readonly AdminPolicy[]; ciliumPolicies: readonly CiliumPolicy[] },
    boundary: NetworkPolicy | undefined,
  ) {
    for (const p of start.adminPolicies) this.admin.set(`${p.kind}/${p.name}`, p);
    for (const p of start.ciliumPolicies) this.cilium.set(`${p.namespace}/${p.name}`, p);
    this.hasBoundary = boundary !== undefined;
    this.index = this.build([...start.policies, ...(boundary ? [boundary] : [])]);
    this.cc = new ClassConnectivity(this.index);
  }

  private build(policies: NetworkPolicy[]): PolicyIndex {
    return new PolicyIndex({ ...this.world, policies, adminPolicies: [...this.admin.values()], ciliumPolicies: [...this.cilium.values()] });
  }

  /** Applies one change; returns the cells it changed and how to put it back (undo in reverse order only). */
  apply(change: ModelChange): { cells: Cell[]; undo: () => void } {
    return change.kind === 'NetworkPolicy' ? this.applyNetworkPolicy(change) : this.rebuildWith(change);
  }

  /** The cells a change would change, the state left as it was. */
  trial(change: ModelChange): Cell[] {
    const { cells, undo } = this.apply(change);
    undo();
    return cells;
  }

  private applyNetworkPolicy(change: ModelChange): { cells: Cell[]; undo: () => void } {
    // Sets the policy to `model`, or removes it; returns what the index re-evaluates.
    const put = (model: PolicyModel | undefined): PolicyChangeImpact =>
      this.fixedBlocks(model ? this.index.upsertPolicy(model as NetworkPolicy) : this.index.removePolicy(change.namespace ?? '', change.name));
    const oldIn = this.cc.inExternal.slice();
    const oldEg = this.cc.egExternal.slice();
    const impact = put(change.after);
    const pairs = this.cc.applyChange(impact);
    const cells = this.cells(pairs, impact.ingress, impact.egress, oldIn, oldEg);
    return { cells, undo: () => void this.cc.applyChange(put(change.before)) };
  }

  /**
   * The boundary policy holds every address block of both ends, so a change never moves the
   * blocks: the engine need not collect them again over every policy (it would find the same).
   */
  private fixedBlocks(impact: PolicyChangeImpact): PolicyChangeImpact {
    return this.hasBoundary ? { ...impact, ipBlocks: false } : impact;
  }

  private rebuildWith(change: ModelChange): { cells: Cell[]; undo: () => void } {
    const previous = { index: this.index, cc: this.cc, admin: new Map(this.admin), cilium: new Map(this.cilium) };
    const map = (change.kind === 'CiliumNetworkPolicy' ? this.cilium : this.admin) as Map<string, PolicyModel>;
    const id = change.kind === 'CiliumNetworkPolicy' ? `${change.namespace}/${change.name}` : `${change.kind}/${change.name}`;
    if (change.after) map.set(id, change.after);
    else map.delete(id);
    this.index = this.build([...previous.index.policies.values()].map((p) => p.policy));
    this.cc = new ClassConnectivity(this.index);
    const pairs: ClassPairChange[] = [];
    for (let d = 0; d < this.cc.rows.length; d++) {
      const was = previous.cc.rows[d] as Map<number, Conns>;
      const now = this.cc.rows[d] as Map<number, Conns>;
      for (const s of new Set([...was.keys(), ...now.keys()])) {
        const before = was.get(s) ?? Conns.NONE;
        const after = now.get(s) ?? Conns.NONE;
        if (!before.equals(after)) pairs.push({ src: s, dst: d, before, after });
      }
    }
    const all = this.index.classes.map((c) => c.id);
    const cells = this.cells(pairs, all, all, previous.cc.inExternal, previous.cc.egExternal);
    const undo = (): void => {
      this.index = previous.index;
      this.cc = previous.cc;
      for (const [target, source] of [[this.admin, previous.admin], [this.cilium, previous.cilium]] as const) {
        target.clear();
        for (const [k, v] of source) (target as Map<string, PolicyModel>).set(k, v);
      }
    };
    return { cells, undo };
  }

  /** Workload-level cells: the pairs the engine re-evaluated, and the address blocks of the re-evaluated classes. */
  private cells(pairs: ClassPairChange[], inClasses: readonly number[], egClasses: readonly number[], oldIn: readonly ExternalRow[], oldEg: readonly ExternalRow[]): Cell[] {
    const out: Cell[] = [];
    for (const w of this.cc.workloadChanges(pairs)) out.push({ key: `${w.src}\u0000${w.dst}`, src: w.src, dst: w.dst, before: w.before, after: w.after });
    this.externalCells('ingress', inClasses, oldIn, out);
    this.externalCells('egress', egClasses, oldEg, out);
    return out;
  }

  private externalCells(direction: 'ingress' | 'egress', classes: readonly number[], oldRows: readonly ExternalRow[], out: Cell[]): void {
    if (classes.length === 0) return;
    const index = this.index;
    const rows = direction === 'ingress' ? this.cc.inExternal : this.cc.egExternal;
    const atoms = direction === 'ingress' ? this.cc.inAtoms : this.cc.egAtoms;
    const universe = this.cc.universe;
    const workloads = new Set<number>();
    for (const c of classes) for (const w of index.classes[c]?.workloads ?? []) workloads.add(w);
    for (const wi of [...workloads].sort((a, b) => a - b)) {
      const w = index.workloads[wi];
      if (!w) continue;
      const touched = new Set<number>();
      let open = false;
      for (const c of w.classes) {
        for (const row of [rows[c], oldRows[c]]) {
          if (row === 'open') open = true;
          else if (row) for (const a of row.keys()) touched.add(a);
        }
      }
      const candidates = open ? atoms.map((_, i) => i) : [...touched].sort((a, b) => a - b);
      for (const a of candidates) {
        let before = Conns.NONE;
        let after = Conns.NONE;
        for (const c of w.classes) {
          before = before.union(rowAt(oldRows[c], a, universe));
          after = after.union(rowAt(rows[c], a, universe));
        }
        if (before.equals(after)) continue;
        const block = `#${direction}:${a}`;
        const [src, dst] = direction === 'ingress' ? [block, w.id] : [w.id, block];
        out.push({ key: `${src}\u0000${dst}`, src, dst, atom: { direction, index: a }, before, after });
      }
    }
  }

  /** The address block a cell's external end stands for, as the engine prints it. */
  blockName(direction: 'ingress' | 'egress', first: number, last: number): string {
    const atoms = direction === 'ingress' ? this.cc.inAtoms : this.cc.egAtoms;
    const a = atoms[first] as Atom;
    const b = atoms[last] as Atom;
    return `${formatIpRange(a.family, a.start, b.end)}${EXTERNAL}`;
  }

  /** Whether two blocks are adjacent (same family, no gap). */
  adjacent(direction: 'ingress' | 'egress', left: number, right: number): boolean {
    const atoms = direction === 'ingress' ? this.cc.inAtoms : this.cc.egAtoms;
    const a = atoms[left];
    const b = atoms[right];
    return a !== undefined && b !== undefined && a.family === b.family && a.end + 1n === b.start;
  }

  /**
   * Engine lines (`SRC => DST : CONNS`, sorted) for cells with the given connections; adjacent
   * address blocks of one workload, direction and connections are one line.
   */
  lines(entries: ReadonlyArray<{ cell: Cell; conns: Conns }>): string[] {
    const out: string[] = [];
    const external = new Map<string, { cell: Cell; conns: string; atoms: number[] }>();
    for (const { cell, conns } of entries) {
      if (conns.isEmpty()) continue;
      if (!cell.atom) {
        out.push(`${cell.src} => ${cell.dst} : ${conns.toString()}`);
        continue;
      }
      const workload = cell.atom.direction === 'ingress' ? cell.dst : cell.src;
      const group = `${cell.atom.direction}\u0000${workload}\u0000${conns.toString()}`;
      const g = external.get(group);
      if (g) g.atoms.push(cell.atom.index);
      else external.set(group, { cell, conns: conns.toString(), atoms: [cell.atom.index] });
    }
    for (const { cell, conns, atoms } of external.values()) {
      const direction = (cell.atom as NonNullable<Cell['atom']>).direction;
      atoms.sort((a, b) => a - b);
      let first = atoms[0] as number;
      let last = first;
      const flush = (): void => {
        const block = this.blockName(direction, first, last);
        out.push(direction === 'ingress' ? `${block} => ${cell.dst} : ${conns}` : `${cell.src} => ${block} : ${conns}`);
      };
      for (const a of atoms.slice(1)) {
        if (this.adjacent(direction, last, a)) last = a;
        else {
          flush();
          first = last = a;
        }
      }
      flush();
    }
    return out.sort();
  }
}
