// The order of a restore: steps that only restrict first, then neutral ones, then those that widen,
// then those that do both ("mixed": they open something, like a widening step, so none runs
// before a pure widening one; last, because what they open must be weighed against what they
// close, and by then every other step is in place). Ties: by object key.
//
// Effects depend on the state a step runs on, so the order is found in passes:
//  1. each step's effect on the live state alone gives a first order, which is walked, step after
//     step, on the engine (each step's delta on the state before it). When effects in the walk
//     differ from effects alone and break the order, the steps are sorted again by their effects
//     in the walk and walked again (up to RESORT_ROUNDS times, while it helps).
//  2. only when an intermediate state is more open than both ends: safety first. From the live
//     state, the next step is always the one that leaves the fewest connections open that neither
//     end has, then the one with the best effect on the state it runs on, then by key. It replaces
//     the first walk when it has fewer unsafe states, or as many and fewer effects out of order.
//     This pass tries every remaining step at every position (n²/2 trials), so it runs only up to
//     SAFETY_ORDER_LIMIT steps.
// How a state gets more open than both ends: a connection needs the source's egress and the
// destination's ingress, and a state between the ends may pair the source's egress as one end
// has it with the destination's ingress as the other end has it (each end forbids the connection
// on the other side); or a pod that is isolated at both ends loses its isolation for a while
// (the only policy selecting it is replaced by one selecting other pods, before another one
// selects it). When two such pairings cross, no order avoids both.
// An update is never split into a delete and a create: that would open everything the object
// isolated, between the two. What cannot be avoided is reported (violations). Pure.
import type { Conns } from '../policy/index.js';
import type { Cell, ModelChange, RestoreEngine } from './engine.js';

export type Effect = 'restricts' | 'neutral' | 'widens' | 'mixed';

const RANK: Record<Effect, number> = { restricts: 0, neutral: 1, widens: 2, mixed: 3 };

/** Above this many steps, the safety-first pass is not tried (its cost grows with the square). */
export const SAFETY_ORDER_LIMIT = 100;

/** Re-sorts by the effects seen in the walk, at most. */
const RESORT_ROUNDS = 3;

export function effectOf(cells: readonly Cell[]): Effect {
  let opened = false;
  let closed = false;
  for (const c of cells) {
    if (!opened && !c.after.subtract(c.before).isEmpty()) opened = true;
    if (!closed && !c.before.subtract(c.after).isEmpty()) closed = true;
    if (opened && closed) return 'mixed';
  }
  return opened ? 'widens' : closed ? 'restricts' : 'neutral';
}

export interface Excess {
  cell: Cell;
  /** Connections open in the state that neither end has. */
  conns: Conns;
}

export interface Walk {
  /** Indexes into the changes, in the order they run. */
  order: number[];
  /** Per position: the cells the step changed on the state before it. */
  cells: Cell[][];
  effects: Effect[];
  /** Per unsafe intermediate state: after which position (1-based) and what is open too much. */
  violations: Array<{ afterStep: number; excess: Excess[] }>;
  ordering: 'by-effect' | 'safety-first';
}

/** Connections of a cell key in the live state (first seen before) and the known-good one (last seen after). */
interface Ends {
  start: Map<string, Conns>;
  end: Map<string, Conns>;
}

function endsOf(cells: readonly Cell[][]): Ends {
  const start = new Map<string, Conns>();
  const end = new Map<string, Conns>();
  for (const step of cells) {
    for (const c of step) {
      if (!start.has(c.key)) start.set(c.key, c.before);
      end.set(c.key, c.after);
    }
  }
  return { start, end };
}

function excessOf(cell: Cell, start: Conns, end: Conns): Conns {
  return cell.after.subtract(start.union(end));
}

/** The intermediate states (after every step but the last) with connections neither end has. */
function violationsOf(cells: readonly Cell[][]): Walk['violations'] {
  const { start, end } = endsOf(cells);
  const excess = new Map<string, Excess>();
  const out: Walk['violations'] = [];
  for (let i = 0; i < cells.length - 1; i++) {
    for (const c of cells[i] as Cell[]) {
      const conns = excessOf(c, start.get(c.key) as Conns, end.get(c.key) as Conns);
      if (conns.isEmpty()) excess.delete(c.key);
      else excess.set(c.key, { cell: c, conns });
    }
    if (excess.size > 0) out.push({ afterStep: i + 1, excess: [...excess.values()] });
  }
  return out;
}

function inversions(effects: readonly Effect[]): number {
  let n = 0;
  for (let i = 1; i < effects.length; i++) if (RANK[effects[i] as Effect] < RANK[effects[i - 1] as Effect]) n++;
  return n;
}

/** Runs the changes in order on the engine; `undo` puts it back as it was. */
function walk(engine: RestoreEngine, changes: readonly ModelChange[], order: number[], ordering: Walk['ordering']): Walk & { undo: () => void } {
  const cells: Cell[][] = [];
  const undos: Array<() => void> = [];
  for (const i of order) {
    const applied = engine.apply(changes[i] as ModelChange);
    cells.push(applied.cells);
    undos.push(applied.undo);
  }
  const undo = (): void => {
    for (const u of undos.reverse()) u();
  };
  return { order, cells, effects: cells.map(effectOf), violations: violationsOf(cells), ordering, undo };
}

function safetyFirst(engine: RestoreEngine, changes: readonly ModelChange[], byKey: readonly number[], first: Walk): Walk & { undo: () => void } {
  const known = endsOf(first.cells);
  const seen = new Map<string, Conns>();
  const excess = new Set<string>();
  const remaining = [...byKey];
  const order: number[] = [];
  const cells: Cell[][] = [];
  const undos: Array<() => void> = [];
  const startOf = (c: Cell): Conns => known.start.get(c.key) ?? seen.get(c.key) ?? c.before;
  // A cell no step of the first walk changed is the same in both ends.
  const endOf = (c: Cell, start: Conns): Conns => known.end.get(c.key) ?? start;
  while (remaining.length > 0) {
    let best: { at: number; score: [number, number] } | undefined;
    for (let at = 0; at < remaining.length; at++) {
      const cells = engine.trial(changes[remaining[at] as number] as ModelChange);
      let unsafe = excess.size;
      for (const c of cells) {
        const start = startOf(c);
        if (excess.has(c.key)) unsafe--;
        if (!excessOf(c, start, endOf(c, start)).isEmpty()) unsafe++;
      }
      const score: [number, number] = [unsafe, RANK[effectOf(cells)]];
      // `remaining` is in key order, so the first of equal scores is the smallest key.
      if (!best || score[0] < best.score[0] || (score[0] === best.score[0] && score[1] < best.score[1])) best = { at, score };
    }
    const chosen = remaining.splice((best as { at: number }).at, 1)[0] as number;
    const applied = engine.apply(changes[chosen] as ModelChange);
    undos.push(applied.undo);
    order.push(chosen);
    cells.push(applied.cells);
    for (const c of applied.cells) {
      const start = startOf(c);
      if (!seen.has(c.key)) seen.set(c.key, c.before);
      if (excessOf(c, start, endOf(c, start)).isEmpty()) excess.delete(c.key);
      else excess.add(c.key);
    }
  }
  const undo = (): void => {
    for (const u of undos.reverse()) u();
  };
  return { order, cells, effects: cells.map(effectOf), violations: violationsOf(cells), ordering: 'safety-first', undo };
}

/**
 * Orders the changes (keys: their object keys, for ties) and walks them on the engine, which is
 * left in the known-good end (all changes applied).
 */
export function orderChanges(engine: RestoreEngine, changes: readonly ModelChange[], keys: readonly string[]): Walk {
  const byKey = changes.map((_, i) => i).sort((a, b) => ((keys[a] as string) < (keys[b] as string) ? -1 : (keys[a] as string) > (keys[b] as string) ? 1 : a - b));
  const alone = changes.map((c) => effectOf(engine.trial(c)));
  let best = walk(engine, changes, [...byKey].sort((a, b) => RANK[alone[a] as Effect] - RANK[alone[b] as Effect]), 'by-effect');
  // Effects in the walk can differ from effects alone: sort again by the walk's, while that helps.
  for (let round = 0; round < RESORT_ROUNDS && inversions(best.effects) > 0; round++) {
    const rank = new Map(best.order.map((i, at) => [i, RANK[best.effects[at] as Effect]]));
    const order = [...best.order].sort((a, b) => (rank.get(a) as number) - (rank.get(b) as number));
    best.undo();
    const next = walk(engine, changes, order, 'by-effect');
    if (better(next, best)) best = next;
    else {
      next.undo();
      best = walk(engine, changes, best.order, 'by-effect');
      break;
    }
  }
  if (best.violations.length === 0 || changes.length > SAFETY_ORDER_LIMIT) return best;
  best.undo();
  const safer = safetyFirst(engine, changes, byKey, best);
  if (better(safer, best)) return safer;
  safer.undo();
  return walk(engine, changes, best.order, best.ordering);
}

/** Fewer unsafe states, or as many and fewer effects out of order. */
function better(a: Walk, b: Walk): boolean {
  return a.violations.length < b.violations.length || (a.violations.length === b.violations.length && inversions(a.effects) < inversions(b.effects));
}
