// An index refreshed in place (index-refresh.ts) is the index a fresh build of the same state
// gives: the same classes, workloads, policies in order, per-class policy lists and
// connectivity, state after state, whatever changed (pods quarantined, relabelled, added or
// removed, policies added, patched or removed, namespace labels, AdminNetworkPolicies).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { indexLive, type BuiltIndex } from '../../src/policy/index-refresh.js';
import { buildIndex, connectivity, openConnections, type CompileMemo, type PolicyIndex } from '../../src/policy/index.js';
import type { ClassSet } from '../../src/policy/class-set.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';
import { fuzzAssert, fuzzOptions } from '../helpers/fuzz.js';
import { deepFreeze } from '../helpers/deep-freeze.js';

type Obj = Record<string, unknown>;
interface Live {
  namespaces: Obj[];
  pods: Obj[];
  networkPolicies: Obj[];
  adminNetworkPolicies: Obj[];
}

const NAMESPACES = ['a', 'b', 'c'];
const APPS = ['web', 'db', 'cache'];
const TEAMS = ['red', 'blue'];


const meta = (o: Obj): Obj => o.metadata as Obj;
const labelsOf = (o: Obj): Record<string, string> => (meta(o).labels ?? {}) as Record<string, string>;
const withLabels = (o: Obj, labels: Record<string, string>): Obj => ({ ...o, metadata: { ...meta(o), labels } });

function podObj(namespace: string, name: string, app: string, tier: string): Obj {
  return {
    metadata: { namespace, name, labels: { app, tier }, ownerReferences: [{ kind: 'ReplicaSet', name: `${app}-rs`, controller: true }] },
    spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: app === 'db' ? 5432 : 8080 }] }] },
  };
}

function policyObj(namespace: string, name: string, app: string, peerTeam: string, withIpBlock: boolean): Obj {
  return {
    metadata: { namespace, name },
    spec: {
      podSelector: { matchLabels: { app } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'front' } } }, { namespaceSelector: { matchLabels: { team: peerTeam } } }], ports: [{ port: 'http' }] }],
      egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } }, ...(withIpBlock ? [{ ipBlock: { cidr: '10.0.0.0/8' } }] : [])] }],
    },
  };
}

function anpObj(name: string, ns: string): Obj {
  return { metadata: { name }, spec: { priority: 5, subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': ns } } }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] } };
}

function initial(): Live {
  const pods: Obj[] = [];
  for (const ns of NAMESPACES) for (const app of APPS) for (let r = 0; r < 2; r++) pods.push(podObj(ns, `${app}-${r}`, app, r === 0 ? 'front' : 'back'));
  return {
    namespaces: NAMESPACES.map((name, i) => ({ metadata: { name, labels: { team: TEAMS[i % 2] as string } } })),
    pods,
    networkPolicies: NAMESPACES.flatMap((ns) => [
      { metadata: { namespace: ns, name: 'default-deny' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
      policyObj(ns, 'allow-web', 'web', 'red', false),
    ]),
    adminNetworkPolicies: [],
  };
}

type Change =
  | { op: 'quarantine'; ns: string; app: string }
  | { op: 'relabel-one'; at: number; value: string }
  | { op: 'add-pod'; ns: string; app: string; n: number }
  | { op: 'remove-pod'; at: number }
  | { op: 'add-policy'; ns: string; app: string; team: string; ip: boolean; n: number }
  | { op: 'patch-policy'; at: number }
  | { op: 'remove-policy'; at: number }
  | { op: 'namespace-label'; ns: string; team: string }
  | { op: 'add-anp'; ns: string; n: number }
  | { op: 'remove-anp' }
  | { op: 'move-pod'; at: number };

const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ op: fc.constant('quarantine' as const), ns: fc.constantFrom(...NAMESPACES), app: fc.constantFrom(...APPS) }),
  fc.record({ op: fc.constant('relabel-one' as const), at: fc.nat(), value: fc.constantFrom('x', 'y') }),
  fc.record({ op: fc.constant('add-pod' as const), ns: fc.constantFrom(...NAMESPACES), app: fc.constantFrom(...APPS), n: fc.nat(99) }),
  fc.record({ op: fc.constant('remove-pod' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('add-policy' as const), ns: fc.constantFrom(...NAMESPACES), app: fc.constantFrom(...APPS), team: fc.constantFrom(...TEAMS), ip: fc.boolean(), n: fc.nat(99) }),
  fc.record({ op: fc.constant('patch-policy' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('remove-policy' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('namespace-label' as const), ns: fc.constantFrom(...NAMESPACES), team: fc.constantFrom(...TEAMS, 'green') }),
  fc.record({ op: fc.constant('add-anp' as const), ns: fc.constantFrom(...NAMESPACES), n: fc.nat(9) }),
  fc.constant({ op: 'remove-anp' as const }),
  fc.record({ op: fc.constant('move-pod' as const), at: fc.nat() }),
);

/** The next state: changed objects are new objects, the rest the very same ones (as the watched view gives them). */
function apply(live: Live, c: Change): Live {
  const next = { ...live };
  const pick = <T,>(xs: readonly T[], at: number): number => (xs.length === 0 ? -1 : at % xs.length);
  switch (c.op) {
    case 'quarantine':
      next.pods = live.pods.map((p) => (meta(p).namespace === c.ns && labelsOf(p).app === c.app ? withLabels(p, { ...labelsOf(p), quarantine: 'incident-1' }) : p));
      break;
    case 'relabel-one': {
      const i = pick(live.pods, c.at);
      if (i >= 0) next.pods = live.pods.map((p, j) => (j === i ? withLabels(p, { ...labelsOf(p), extra: c.value }) : p));
      break;
    }
    case 'add-pod':
      next.pods = [...live.pods, podObj(c.ns, `${c.app}-new-${c.n}`, c.app, 'back')];
      break;
    case 'remove-pod': {
      const i = pick(live.pods, c.at);
      next.pods = live.pods.filter((_, j) => j !== i);
      break;
    }
    case 'move-pod': {
      // A pod that comes back at the end of its list (the watched view re-adding it).
      const i = pick(live.pods, c.at);
      if (i >= 0) next.pods = [...live.pods.filter((_, j) => j !== i), live.pods[i] as Obj];
      break;
    }
    case 'add-policy':
      next.networkPolicies = [...live.networkPolicies, policyObj(c.ns, `added-${c.n}`, c.app, c.team, c.ip)];
      break;
    case 'patch-policy': {
      const i = pick(live.networkPolicies, c.at);
      next.networkPolicies = live.networkPolicies.map((p, j) => {
        if (j !== i) return p;
        const spec = p.spec as Obj;
        return { ...p, spec: { ...spec, podSelector: { ...(spec.podSelector as Obj), matchExpressions: [{ key: 'quarantine', operator: 'DoesNotExist' }] } } };
      });
      break;
    }
    case 'remove-policy': {
      const i = pick(live.networkPolicies, c.at);
      next.networkPolicies = live.networkPolicies.filter((_, j) => j !== i);
      break;
    }
    case 'namespace-label':
      next.namespaces = live.namespaces.map((n) => (meta(n).name === c.ns ? withLabels(n, { team: c.team }) : n));
      break;
    case 'add-anp':
      next.adminNetworkPolicies = [...live.adminNetworkPolicies.filter((a) => meta(a).name !== `anp-${c.n}`), anpObj(`anp-${c.n}`, c.ns)];
      break;
    case 'remove-anp':
      next.adminNetworkPolicies = live.adminNetworkPolicies.slice(1);
      break;
  }
  return deepFreeze(next);
}

const ids = (set: ClassSet): number[] | 'all' => (set === 'all' ? 'all' : Array.from(set));

/** Everything a query reads of an index, as plain data. */
function shape(index: PolicyIndex): unknown {
  return {
    namespaces: [...index.namespaces.values()],
    classes: index.classes.map((c) => ({ ...c, namedPorts: [...c.namedPorts], pods: c.pods })),
    workloads: index.workloads,
    lookups: index.classes.flatMap((c) => c.pods.map((p) => [index.pod(p.namespace, p.name) === p, index.classOf(p)])),
    policies: [...index.policies].map(([id, x]) => ({
      id,
      policy: x.policy,
      selected: ids(x.selected),
      rules: [...x.ingress, ...x.egress].map((r) => ({ peers: ids(r.peerClasses), selections: r.peerSelections.map((s) => (s === undefined ? null : ids(s))), ips: r.ips.toString() })),
    })),
    ingressOf: index.ingressOf.map((list) => list.map((x) => `${x.policy.namespace}/${x.policy.name}`)),
    egressOf: index.egressOf.map((list) => list.map((x) => `${x.policy.namespace}/${x.policy.name}`)),
    extended: index.extended === undefined,
  };
}

/** What stays open to or from the scope, or why it cannot be said (a scope with no pod left). */
function openOrWhy(index: PolicyIndex, scope: { namespace: string; selector: Record<string, string> }): unknown {
  try {
    return openConnections(index, scope);
  } catch (error) {
    return String(error);
  }
}

function expectSameAsFresh(built: BuiltIndex, live: Live, scopes = NAMESPACES.map((namespace) => ({ namespace, selector: { app: 'web' } }))): void {
  const fresh = buildIndex(live);
  expect(shape(built.index)).toEqual(shape(fresh.index));
  expect(built.issues).toEqual(fresh.issues);
  const options = { external: true, externalRanges: 'merged' as const };
  expect(connectivity(built.index, options)).toEqual(connectivity(fresh.index, options));
  for (const scope of scopes) expect(openOrWhy(built.index, scope)).toEqual(openOrWhy(fresh.index, scope));
}

describe('an index refreshed in place', () => {
  it('is what a fresh build gives, state after state, and is refreshed (not built anew) where only pods or policies changed', async () => {
    let refreshed = 0;
    let rebuilt = 0;
    await fuzzAssert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 8 }), (changes) => {
        const memo: CompileMemo = new WeakMap();
        let live = deepFreeze(initial());
        let built = indexLive(undefined, live, memo);
        expectSameAsFresh(built, live);
        for (const c of changes) {
          live = apply(live, c);
          const previous = built.index;
          built = indexLive(built, live, memo);
          if (built.index === previous) refreshed++;
          else rebuilt++;
          expectSameAsFresh(built, live);
        }
      }),
      fuzzOptions(4242),
    );
    // Both paths ran: most changes refresh, a class split or a namespace relabelled builds anew.
    expect(refreshed).toBeGreaterThan(rebuilt);
    expect(rebuilt).toBeGreaterThan(0);
  }, 60_000);

  it('broken and hostile objects in the lists: their issues and the index stay those of a fresh build, change after change', () => {
    const memo: CompileMemo = new WeakMap();
    const start = initial();
    let live: Live = deepFreeze({
      ...start,
      pods: [
        ...start.pods,
        // A label value the API refuses, a port name it refuses, a pod with no name, a hostile name.
        { metadata: { namespace: 'a', name: 'bad-label', labels: { app: 7 } } },
        { metadata: { namespace: 'b', name: 'bad-port', labels: { app: 'web' } }, spec: { containers: [{ ports: [{ name: 'Not_A_Name', containerPort: 80 }] }] } },
        { metadata: { namespace: 'c', labels: { app: 'web' } } },
        { metadata: { namespace: 'c', name: 'x\n<!channel>', labels: { app: 'db' } } },
      ],
      networkPolicies: [...start.networkPolicies, { metadata: { namespace: 'a', name: 'bad-selector' }, spec: { podSelector: { matchLabels: { 'x/y/z': 'v' } } } }, { metadata: {}, spec: {} }, 'not an object'] as Obj[],
    });
    let built = indexLive(undefined, live, memo);
    expect(built.issues.length).toBeGreaterThanOrEqual(5);
    expectSameAsFresh(built, live);
    for (const c of [{ op: 'quarantine', ns: 'a', app: 'web' }, { op: 'patch-policy', at: 1 }, { op: 'add-policy', ns: 'c', app: 'db', team: 'red', ip: true, n: 3 }, { op: 'remove-pod', at: 0 }] as Change[]) {
      live = apply(live, c);
      built = indexLive(built, live, memo);
      expectSameAsFresh(built, live);
    }
  });

  it('a containment one namespace at a time on a larger cluster: every state refreshed, each the fresh build', () => {
    const objects = syntheticCluster({ pods: 1000, policiesPerPod: 0.5, openNamespaces: 0, seed: 7 }) as Obj[];
    const strip = ({ kind: _kind, ...rest }: Obj): Obj => rest;
    let live: Live = deepFreeze({
      namespaces: objects.filter((o) => o.kind === 'Namespace').map(strip),
      pods: objects.filter((o) => o.kind === 'Pod').map(strip),
      networkPolicies: objects.filter((o) => o.kind === 'NetworkPolicy').map(strip),
      adminNetworkPolicies: [],
    });
    const memo: CompileMemo = new WeakMap();
    let built = indexLive(undefined, live, memo);
    for (const ns of ['ns-0', 'ns-3', 'ns-7']) {
      // The exclusive strategy: a deny-all for the quarantined pods, the scope's pods labelled, the policies selecting them patched.
      live = apply(apply(live, { op: 'quarantine', ns, app: 'app-1' }), { op: 'add-policy', ns, app: 'app-1', team: 'payments', ip: false, n: 1 });
      const previous = built.index;
      built = indexLive(built, live, memo);
      expect(built.index).toBe(previous);
      expectSameAsFresh(built, live, [{ namespace: ns, selector: { app: 'app-1' } }, { namespace: ns, selector: { app: 'app-2' } }]);
    }
  });
});
