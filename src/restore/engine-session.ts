// The engine check of restore steps, kept between the steps of one run. Pure (no I/O, no clock).
//
// A step's change is measured on the live state with the step's object as it was before, then as
// read back (./verify.ts). Building the engine over a large cluster is what that costs (10k pods
// and 4.6k policies: parsed and indexed anew for every step). A session keeps the engine of its
// last measure and brings it to the next state by the NetworkPolicies that changed in between
// (the previous step's own object, other writers' edits, containment's patches), each applied in
// place like a planner step. Anything else rebuilds it, as the first measure does: other pods or
// namespaces (a new view of them), an AdminNetworkPolicy or CiliumNetworkPolicy that changed or is
// measured, or an address block the engine does not cut the outside world at yet. Either way the
// lines are those a fresh engine gives: they compare as text with the plan's predictions.
import { keyString, type ObjectKey } from '../drift/compare.js';
import { loadLiveObjects, loadObjects, POLICY_LIST_OF_KIND, type ClusterObjects, type LiveObjects, type NetworkPolicy } from '../policy/index.js';
import { IpSet } from '../policy/ip-set.js';
import { addressSets, boundaryPolicy, RestoreEngine, type EngineKind, type ModelChange, type PolicyModel } from './engine.js';
import type { Measured } from './record.js';
import { compile, isRecord, withoutContainment, withoutOurExclusion } from './scope.js';

type Obj = Record<string, unknown>;

/** What the engine currently holds, to tell what changed by the next measure. */
interface Held {
  engine: RestoreEngine;
  /** The lists of the world it was built on (compared by identity: a new view rebuilds). */
  world: Pick<LiveObjects, 'namespaces' | 'pods' | 'nodes'>;
  nodes: ClusterObjects['nodes'];
  /** Version of each NetworkPolicy it holds, and its model. */
  policies: Map<string, { version: string; model?: NetworkPolicy }>;
  /** Versions of every other policy kind: any change rebuilds. */
  others: string;
  ingress: IpSet[];
  egress: IpSet[];
}

function versionOf(o: unknown): string {
  const meta = isRecord(o) && isRecord(o.metadata) ? o.metadata : {};
  const rv = typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '' ? meta.resourceVersion : undefined;
  return rv !== undefined ? `${String(meta.uid ?? '')}@${rv}` : JSON.stringify(o);
}

function keyOf(o: unknown): string {
  const meta = isRecord(o) && isRecord(o.metadata) ? o.metadata : {};
  return `${typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default'}/${String(meta.name ?? '')}`;
}

function othersOf(start: LiveObjects): string {
  const part = (name: string, list: readonly unknown[] | undefined): string => `${name}:${(list ?? []).map((o) => `${keyOf(o)}=${versionOf(o)}`).sort().join(',')}`;
  return [part('anp', start.adminNetworkPolicies), part('banp', start.baselineAdminNetworkPolicies), part('cnp', start.ciliumNetworkPolicies)].join('|');
}

function sameObject(o: unknown, key: ObjectKey): boolean {
  if (!isRecord(o) || !isRecord(o.metadata) || o.metadata.name !== key.name) return false;
  return key.namespace === undefined || o.metadata.namespace === key.namespace;
}

const LIST: Record<EngineKind, keyof LiveObjects> = POLICY_LIST_OF_KIND;

/** The live objects with the step's object as given (null: absent). */
export function withObject(live: LiveObjects, kind: EngineKind, key: ObjectKey, object: Obj | null): LiveObjects {
  const list = LIST[kind];
  const others = ((live[list] ?? []) as unknown[]).filter((o) => !sameObject(o, key));
  return { ...live, [list]: object ? [...others, object] : others };
}

/** A step's object compiled strictly: one the engine cannot read fails the measure. */
function strictModel(kind: EngineKind, object: Obj | null, what: string): PolicyModel | undefined {
  if (!object) return undefined;
  const compiled = compile(kind, withoutOurExclusion(kind, object), what);
  if (!compiled.model) throw new Error(`the policy engine cannot read the ${what} object (${compiled.errors.join('; ')})`);
  return compiled.model;
}

/** A live NetworkPolicy compiled as loadLiveObjects would (kept with its warnings, left out when unreadable). */
function liveModel(object: unknown): NetworkPolicy | undefined {
  return loadObjects([{ object: isRecord(object) ? { ...object, kind: 'NetworkPolicy' } : object, source: 'live' }]).policies[0];
}

/** Whether the engine already cuts at `set` (the boundary policy leaves out empty sets and the whole space). */
function contains(sets: readonly IpSet[], set: IpSet): boolean {
  return set.isEmpty() || set.equals(IpSet.ALL) || sets.some((s) => s.equals(set));
}

/** The planner's cap on a list of lines: past `max`, the last line counts the rest. */
function capped(lines: string[], max: number): string[] {
  if (lines.length <= max) return lines;
  return [...lines.slice(0, max - 1), `… ${lines.length - (max - 1)} more connections`];
}

export class EngineSession {
  private held: Held | undefined;
  /** How many measures rebuilt the engine, and how many brought it up to date in place. */
  readonly counts = { built: 0, updated: 0 };

  constructor(private readonly maxLines: number) {}

  /**
   * The engine lines a step changed: on `live` with the object as it was before the step
   * (`before`), then as it is now (`now`); the bot's containment aside, as the planner predicts.
   */
  measure(live: LiveObjects, kind: EngineKind, key: ObjectKey, before: Obj | null, now: Obj | null): Measured {
    const start = withoutContainment(withObject(live, kind, key, before));
    const id = keyString(key);
    const beforeModel = strictModel(kind, before, `${id} before the step`);
    const nowModel = strictModel(kind, now, `${id} read back`);
    const change: ModelChange = { kind, name: key.name, ...(key.namespace !== undefined ? { namespace: key.namespace } : {}), ...(beforeModel ? { before: beforeModel } : {}), ...(nowModel ? { after: nowModel } : {}) };
    let engine: RestoreEngine;
    let cells: ReturnType<RestoreEngine['apply']>['cells'];
    try {
      const held = kind === 'NetworkPolicy' ? this.update(start, live, nowModel) : undefined;
      engine = held ? held.engine : this.build(start, live, kind, nowModel);
      cells = engine.apply(change).cells;
    } catch (error) {
      // Half-applied changes leave the held engine in no known state.
      this.held = undefined;
      throw error;
    }
    const k = `${key.namespace ?? 'default'}/${key.name}`;
    if (kind !== 'NetworkPolicy') this.held = undefined;
    else if (now) this.held?.policies.set(k, { version: versionOf(now), ...(nowModel ? { model: nowModel as NetworkPolicy } : {}) });
    else this.held?.policies.delete(k);
    return {
      opened: capped(engine.lines(cells.map((cell) => ({ cell, conns: cell.after.subtract(cell.before) }))), this.maxLines),
      closed: capped(engine.lines(cells.map((cell) => ({ cell, conns: cell.before.subtract(cell.after) }))), this.maxLines),
    };
  }

  /** A fresh engine on `start` (the step's object as before), kept for the next measure when it is a NetworkPolicy's. */
  private build(start: LiveObjects, live: LiveObjects, kind: EngineKind, nowModel: PolicyModel | undefined): RestoreEngine {
    this.counts.built += 1;
    const world = loadLiveObjects(start);
    const ingress: IpSet[] = [];
    const egress: IpSet[] = [];
    const collect = (k: EngineKind, m: PolicyModel): void => {
      const sets = addressSets(k, m, world.nodes);
      for (const s of sets.ingress) ingress.push(s);
      for (const s of sets.egress) egress.push(s);
    };
    for (const p of world.policies) collect('NetworkPolicy', p);
    for (const p of world.adminPolicies ?? []) collect(p.kind, p);
    for (const p of world.ciliumPolicies ?? []) collect('CiliumNetworkPolicy', p);
    if (nowModel) collect(kind, nowModel);
    const engine = new RestoreEngine(
      { namespaces: world.namespaces, pods: world.pods, nodes: world.nodes ?? [] },
      { policies: world.policies, adminPolicies: world.adminPolicies ?? [], ciliumPolicies: world.ciliumPolicies ?? [] },
      boundaryPolicy(ingress, egress),
    );
    const models = new Map(world.policies.map((p) => [`${p.namespace}/${p.name}`, p]));
    const policies = new Map<string, { version: string; model?: NetworkPolicy }>();
    for (const o of start.networkPolicies ?? []) {
      const k = keyOf(o);
      const model = models.get(k);
      policies.set(k, { version: versionOf(o), ...(model ? { model } : {}) });
    }
    this.held = { engine, world: { namespaces: live.namespaces, pods: live.pods, nodes: live.nodes }, nodes: world.nodes, policies, others: othersOf(start), ingress, egress };
    return engine;
  }

  /** The held engine brought to `start` in place, or undefined when it must be rebuilt. */
  private update(start: LiveObjects, live: LiveObjects, nowModel: PolicyModel | undefined): Held | undefined {
    const held = this.held;
    if (!held || held.world.pods !== live.pods || held.world.namespaces !== live.namespaces || held.world.nodes !== live.nodes) return undefined;
    if (othersOf(start) !== held.others) return undefined;
    const target = new Map<string, unknown>();
    for (const o of start.networkPolicies ?? []) target.set(keyOf(o), o);
    const changes: Array<{ key: string; version: string; model?: NetworkPolicy }> = [];
    for (const [k, o] of target) {
      const version = versionOf(o);
      if (held.policies.get(k)?.version === version) continue;
      const model = liveModel(o);
      changes.push({ key: k, version, ...(model ? { model } : {}) });
    }
    for (const k of held.policies.keys()) if (!target.has(k)) changes.push({ key: k, version: '' });
    // A new address block moves the engine's cut of the outside world: only a rebuild gives the same lines.
    for (const m of [...changes.map((c) => c.model), nowModel]) {
      if (!m) continue;
      const sets = addressSets('NetworkPolicy', m, held.nodes);
      if (!sets.ingress.every((s) => contains(held.ingress, s)) || !sets.egress.every((s) => contains(held.egress, s))) return undefined;
    }
    for (const c of changes) {
      const [namespace, ...rest] = c.key.split('/');
      const previous = held.policies.get(c.key)?.model;
      if (previous || c.model) held.engine.apply({ kind: 'NetworkPolicy', namespace: namespace as string, name: rest.join('/'), ...(previous ? { before: previous } : {}), ...(c.model ? { after: c.model } : {}) });
      if (c.version === '') held.policies.delete(c.key);
      else held.policies.set(c.key, { version: c.version, ...(c.model ? { model: c.model } : {}) });
    }
    this.counts.updated += 1;
    return held;
  }
}
