// The trace's walk back through the cluster's states (changeEffects) against an oracle that builds
// every state afresh: each change's effect on the scope is the difference between the fresh index
// of the state before it and of the state after it, and each sample flow is decided in both. The
// same holds when the walk starts from an index built already and reads through a memo (as the
// compute thread runs it), and that index, refreshed to the next state, is that state's fresh build.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connectivityDifference, scopeConnectivityOf, type ScopeView } from '../../src/containment/proof.js';
import { indexLive } from '../../src/policy/index-refresh.js';
import { allowed, buildIndex, connectivity, type CompileMemo, type LiveObjects, type PolicyIndex } from '../../src/policy/index.js';
import type { TracedChange } from '../../src/trace/changes.js';
import { changeEffects, mayTouchScope, type Probe } from '../../src/trace/effects.js';
import { deepFreeze } from '../helpers/deep-freeze.js';
import { fuzzAssert, fuzzOptions } from '../helpers/fuzz.js';
import { tracedChange } from '../helpers/traced-change.js';

type Obj = { metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: Record<string, unknown> };
interface State {
  namespaces: Obj[];
  pods: Obj[];
  networkPolicies: Obj[];
  adminNetworkPolicies: Obj[];
}

const NAMESPACES = ['a', 'b', 'c'];
const APPS = ['web', 'db'];
const TEAMS = ['red', 'blue'];
const SCOPE: ScopeView = { namespace: 'a' };
const PROBES: Probe[] = [
  { src: 'b/web-0', dst: 'a/db-0', port: 5432, protocol: 'TCP', at: 0 },
  { src: 'a/web-0', dst: 'c/db-0', port: 5432, protocol: 'TCP', at: 0 },
  { src: 'a/db-0', dst: '198.51.100.7', port: 443, protocol: 'TCP', at: 0 },
  { src: 'c/web-0', dst: 'a/web-0', port: 8080, protocol: 'TCP', at: 0 },
];

const pod = (namespace: string, app: string): Obj => ({
  metadata: { namespace, name: `${app}-0`, labels: { app } },
  spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: app === 'db' ? 5432 : 8080 }] }] },
});

/** Policies of a few shapes: deny-all, allow from a team's namespaces, allow all egress, egress to an IP block. */
function policy(namespace: string, name: string, shape: number, app: string, team: string): Obj {
  const specs: Array<Record<string, unknown>> = [
    { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    { podSelector: { matchLabels: { app } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team } } }], ports: [{ port: 'http' }] }] },
    { podSelector: { matchLabels: { app } }, policyTypes: ['Egress'], egress: [{}] },
    { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '198.51.100.0/24' } }, { namespaceSelector: { matchLabels: { team } }, podSelector: { matchLabels: { app } } }] }] },
    { podSelector: { matchLabels: { app } }, policyTypes: ['Ingress'], ingress: [{}] },
  ];
  return { metadata: { namespace, name }, spec: specs[shape % specs.length] as Record<string, unknown> };
}

const anp = (name: string, ns: string): Obj => ({ metadata: { name }, spec: { priority: 5, subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': ns } } }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] } });

function initial(): State {
  return {
    namespaces: NAMESPACES.map((name, i) => ({ metadata: { name, labels: { 'kubernetes.io/metadata.name': name, team: TEAMS[i % 2] as string } } })),
    pods: NAMESPACES.flatMap((ns) => APPS.map((app) => pod(ns, app))),
    networkPolicies: NAMESPACES.map((ns) => policy(ns, 'deny-all', 0, 'web', 'red')),
    adminNetworkPolicies: [],
  };
}

type Op =
  | { op: 'put-policy'; ns: string; n: number; shape: number; app: string; team: string }
  | { op: 'delete-policy'; at: number }
  | { op: 'relabel-namespace'; ns: string; team: string }
  | { op: 'put-anp'; ns: string }
  | { op: 'delete-anp' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('put-policy' as const), ns: fc.constantFrom(...NAMESPACES), n: fc.nat(2), shape: fc.nat(4), app: fc.constantFrom(...APPS), team: fc.constantFrom(...TEAMS, 'green') }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete-policy' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('relabel-namespace' as const), ns: fc.constantFrom(...NAMESPACES), team: fc.constantFrom(...TEAMS, 'green') }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('put-anp' as const), ns: fc.constantFrom(...NAMESPACES) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'delete-anp' as const }) },
);

const keyOf = (o: Obj): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

const traced = (kind: string, before: Obj | null, after: Obj | null, at: number): TracedChange => tracedChange(kind, before, after, new Date(Date.UTC(2026, 11, 5, 10, 0, at)).toISOString());

/** Replaces (or removes, with null) the object of `key` in a list, a new object where it was, or last when it is new. */
function put(list: Obj[], key: string, obj: Obj | null): { list: Obj[]; before: Obj | null } {
  const at = list.findIndex((o) => keyOf(o) === key);
  const before = at >= 0 ? (list[at] as Obj) : null;
  if (at < 0) return { list: obj ? [...list, obj] : list, before };
  return { list: obj ? list.map((o, i) => (i === at ? obj : o)) : list.filter((_, i) => i !== at), before };
}

/** The next state and the change that made it, or none when the op changes nothing. */
function step(state: State, o: Op, at: number): { state: State; change: TracedChange } | undefined {
  const apply = (list: keyof State, kind: string, key: string, obj: Obj | null) => {
    const { list: next, before } = put(state[list], key, obj);
    if (before === null && obj === null) return undefined;
    return { state: { ...state, [list]: next }, change: traced(kind, before, obj, at) };
  };
  switch (o.op) {
    case 'put-policy': {
      const p = policy(o.ns, `p-${o.n}`, o.shape, o.app, o.team);
      return apply('networkPolicies', 'NetworkPolicy', keyOf(p), p);
    }
    case 'delete-policy': {
      const target = state.networkPolicies[o.at % Math.max(1, state.networkPolicies.length)];
      return target ? apply('networkPolicies', 'NetworkPolicy', keyOf(target), null) : undefined;
    }
    case 'relabel-namespace': {
      const ns = state.namespaces.find((n) => n.metadata.name === o.ns) as Obj;
      return apply('namespaces', 'Namespace', keyOf(ns), { metadata: { ...ns.metadata, labels: { ...ns.metadata.labels, team: o.team } } });
    }
    case 'put-anp':
      return apply('adminNetworkPolicies', 'AdminNetworkPolicy', '/isolate', anp('isolate', o.ns));
    case 'delete-anp':
      return apply('adminNetworkPolicies', 'AdminNetworkPolicy', '/isolate', null);
  }
}

const liveOf = (s: State): LiveObjects => ({ ...s, baselineAdminNetworkPolicies: [], ciliumNetworkPolicies: [] });

function decide(index: PolicyIndex, p: Probe): boolean | undefined {
  try {
    return allowed(index, p.src, p.dst, p.port, p.protocol).allowed;
  } catch {
    return undefined;
  }
}

/** What each relevant change did, from fresh builds of the states on either side of it. */
function oracle(states: State[], changes: TracedChange[]): Array<{ relevant: boolean; opened?: string[]; closed?: string[]; opens?: Probe[]; closes?: Probe[] }> {
  const last = states[states.length - 1] as State;
  const scopeNs = last.namespaces.find((n) => n.metadata.name === SCOPE.namespace) as Obj;
  const fresh = states.map((s) => buildIndex(liveOf(s)).index);
  return changes.map((change, i) => {
    if (!mayTouchScope(change, SCOPE, scopeNs.metadata.labels ?? {})) return { relevant: false };
    const before = fresh[i] as PolicyIndex;
    const after = fresh[i + 1] as PolicyIndex;
    const diff = connectivityDifference(scopeConnectivityOf(before, SCOPE), scopeConnectivityOf(after, SCOPE));
    return {
      relevant: true,
      opened: [...diff.gained, ...diff.changed],
      closed: diff.lost,
      opens: PROBES.filter((p) => decide(before, p) === false && decide(after, p) === true),
      closes: PROBES.filter((p) => decide(before, p) === true && decide(after, p) === false),
    };
  });
}

const outcome = (effects: ReturnType<typeof changeEffects>) =>
  effects.map((e) => (e.relevant ? { relevant: true, opened: e.effect?.opened, closed: e.effect?.closed, opens: e.effect?.opensProbes, closes: e.effect?.closesProbes } : { relevant: false }));

function history(ops: Op[]): { states: State[]; changes: TracedChange[] } {
  const states = [deepFreeze(initial())];
  const changes: TracedChange[] = [];
  ops.forEach((o, i) => {
    const next = step(states[states.length - 1] as State, o, i);
    if (!next) return;
    states.push(deepFreeze(next.state));
    changes.push(deepFreeze(next.change));
  });
  return { states, changes };
}

describe("the trace's walk back through the states", () => {
  it("gives each change the effect a fresh build of the states on either side gives, from a built index and a memo as without them; that index, refreshed, is the next state's fresh build", async () => {
    let relevantSeen = 0;
    let refreshed = 0;
    await fuzzAssert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 10 }), fc.array(op, { maxLength: 3 }), (ops, later) => {
        const { states, changes } = history(ops);
        const live = liveOf(states[states.length - 1] as State);
        const expected = oracle(states, changes);
        relevantSeen += expected.filter((e) => e.relevant).length;
        expect(outcome(changeEffects(live, changes, SCOPE, PROBES))).toEqual(expected);

        // As the compute thread runs it: the index of now, kept from before, and a memo of frozen objects.
        const memo: CompileMemo = new WeakMap();
        const kept = indexLive(undefined, live, memo);
        expect(outcome(changeEffects(live, changes, SCOPE, PROBES, () => false, { index: kept.index, memo }))).toEqual(expected);

        // The walk changed the kept index's policies; the next state's refresh sets it right.
        let state = states[states.length - 1] as State;
        later.forEach((o, i) => (state = deepFreeze(step(state, o, 100 + i)?.state ?? state)));
        const next = liveOf(state);
        const again = indexLive(kept, next, memo);
        if (again.index === kept.index) refreshed++;
        const fresh = buildIndex(next);
        const options = { external: true, externalRanges: 'merged' as const };
        expect(connectivity(again.index, options)).toEqual(connectivity(fresh.index, options));
        expect([...again.index.policies.keys()]).toEqual([...fresh.index.policies.keys()]);
        expect(scopeConnectivityOf(again.index, SCOPE)).toEqual(scopeConnectivityOf(fresh.index, SCOPE));
      }),
      fuzzOptions(5151),
    );
    // The cases were not all trivial: changes touched the scope, and kept indexes were refreshed rather than built anew.
    expect(relevantSeen).toBeGreaterThan(200);
    expect(refreshed).toBeGreaterThan(50);
  }, 60_000);

  it('ignored changes are replayed but not measured, and a change of a kind the walk does not hold changes nothing', () => {
    const { states, changes } = history([
      { op: 'put-policy', ns: 'a', n: 1, shape: 4, app: 'web', team: 'red' },
      { op: 'put-policy', ns: 'a', n: 0, shape: 2, app: 'db', team: 'red' },
    ]);
    const live = liveOf(states[states.length - 1] as State);
    const podChange = { ...traced('Pod', null, pod('a', 'extra'), 1), key: 'Pod/a/extra-0' };
    const all = [changes[0] as TracedChange, podChange, changes[1] as TracedChange];
    const memo: CompileMemo = new WeakMap();
    const effects = changeEffects(live, all, SCOPE, PROBES, (c) => c === changes[1], { index: indexLive(undefined, live, memo).index, memo });
    expect(effects.map((e) => e.relevant)).toEqual([true, true, false]);
    // A pod's change is in the scope's namespace, but the walk does not hold pods: it changed nothing it can measure.
    expect(effects[1]?.effect).toMatchObject({ opened: [], closed: [] });
    // The first change's after-state is the state before the ignored one: the ignored policy was walked back first.
    expect(outcome(effects)[0]).toEqual(oracle([states[0] as State, states[1] as State], [changes[0] as TracedChange])[0]);
  });
});
