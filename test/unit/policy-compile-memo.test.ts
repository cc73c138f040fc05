// Loading several states of one cluster with a CompileMemo (the contain step's preview): the same
// result as without one, each shared NetworkPolicy compiled once, and a changed or moved object
// compiled again. Live lists give their items' kind whatever kind an item carries.
import { describe, expect, it } from 'vitest';
import { buildIndex, connectivity, loadLiveObjects, type CompileMemo, type LiveObjects } from '../../src/policy/index.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';

type Obj = Record<string, unknown>;

function live(seed: number): LiveObjects {
  const objects = syntheticCluster({ pods: 200, policiesPerPod: 1, seed }) as Obj[];
  const strip = ({ kind: _kind, ...rest }: Obj): Obj => rest;
  return {
    namespaces: objects.filter((o) => o.kind === 'Namespace').map(strip),
    pods: objects.filter((o) => o.kind === 'Pod').map(strip),
    networkPolicies: objects.filter((o) => o.kind === 'NetworkPolicy').map(strip),
  };
}

describe('loading live objects with a compile memo', () => {
  it('gives what a load without it gives, state after state, and compiles each shared policy once', () => {
    const now = live(3);
    const policies = now.networkPolicies as Obj[];
    // The next state: one policy replaced (a new object), one appended, the rest the same objects.
    const replaced = { ...policies[0], spec: { podSelector: {}, ingress: [] } };
    const added = { metadata: { name: 'added', namespace: 'ns-0' }, spec: { podSelector: {}, policyTypes: ['Egress'] } };
    const next: LiveObjects = { ...now, networkPolicies: [replaced, ...policies.slice(1), added] };
    const memo: CompileMemo = new WeakMap();

    const first = loadLiveObjects(now, memo);
    expect(first).toEqual(loadLiveObjects(now));
    const second = loadLiveObjects(next, memo);
    expect(second).toEqual(loadLiveObjects(next));
    // Shared objects: the very compiled policy of the first load; changed and new ones: their own.
    expect(second.policies[1]).toBe(first.policies[1]);
    expect(second.policies.at(-2)).toBe(first.policies.at(-1));
    expect(second.policies[0]).not.toBe(first.policies[0]);
    expect(second.policies[0]?.ingress).toEqual([]);
    expect(second.policies.at(-1)?.name).toBe('added');
    // The indexes agree with indexes built without the memo.
    const options = { external: true, externalRanges: 'merged' as const };
    expect(connectivity(buildIndex(next, memo).index, options)).toEqual(connectivity(buildIndex(next).index, options));
  });

  it('an object at another position keeps its very compilation: its messages name it, not its position', () => {
    const bad = { metadata: { name: 'bad', namespace: 'a' }, spec: { podSelector: { matchLabels: { 'x/y/z': 'v' } } } };
    const good = { metadata: { name: 'good', namespace: 'a' }, spec: { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] } };
    const memo: CompileMemo = new WeakMap();
    const at0 = loadLiveObjects({ networkPolicies: [bad, good] }, memo);
    const at1 = loadLiveObjects({ networkPolicies: [{ metadata: { name: 'ok', namespace: 'a' }, spec: { podSelector: {} } }, bad, good] }, memo);
    expect(at0.issues.map((i) => i.source)).toEqual(['live:NetworkPolicy a/bad']);
    expect(at1.issues.map((i) => i.source)).toEqual(['live:NetworkPolicy a/bad']);
    expect(at1.policies.map((p) => p.name)).toEqual(['ok', 'good']);
    // Not compiled again, not even copied: the very policy of the first load.
    const [before, after] = [at0.policies.find((p) => p.name === 'good'), at1.policies.find((p) => p.name === 'good')];
    expect(after?.source).toBe('live:NetworkPolicy a/good');
    expect(after).toBe(before);
    expect(at1).toEqual(loadLiveObjects({ networkPolicies: [{ metadata: { name: 'ok', namespace: 'a' }, spec: { podSelector: {} } }, bad, good] }));
  });

  it('an object without a name the API would accept is named by its position, and a hostile name never reaches a message', () => {
    const hostile = { metadata: { name: 'x\n<!channel>', namespace: 'a' }, spec: { podSelector: {} } };
    const oddNamespace = { metadata: { name: 'y', namespace: 'A B' }, spec: { podSelector: {} } };
    const cluster = { metadata: { name: 'deny' }, spec: { podSelector: {} } };
    const loaded = loadLiveObjects({ networkPolicies: [{ metadata: {} }, hostile, oddNamespace], nodes: [cluster] });
    expect(loaded.issues.map((i) => i.source)).toEqual(['live:NetworkPolicy[0]']);
    expect(loaded.policies.map((p) => p.source)).toEqual(['live:NetworkPolicy[1]', 'live:NetworkPolicy[2]']);
    expect((loaded.nodes ?? []).map((n) => n.source)).toEqual(['live:Node deny']);
  });

  it('pods are read once: the same Pod while the object is the same, the same when it moves, what a load without a memo gives', () => {
    const now = live(5);
    const pods = now.pods as Obj[];
    const memo: CompileMemo = new WeakMap();
    const first = loadLiveObjects(now, memo);
    expect(first).toEqual(loadLiveObjects(now));
    // One pod relabelled (a new object), one gone from the front: the rest move up by one.
    const relabelled = { ...pods[3], metadata: { ...(pods[3]?.metadata as Obj), labels: { quarantine: 'yes' } } };
    const next: LiveObjects = { ...now, pods: [...pods.slice(1, 3), relabelled, ...pods.slice(4)] };
    const second = loadLiveObjects(next, memo);
    expect(second).toEqual(loadLiveObjects(next));
    const named = (loaded: typeof first, name: string) => loaded.pods.find((p) => p.name === name);
    const moved = String((pods[10]?.metadata as Obj).name);
    expect(named(second, moved)?.source).toBe(`live:Pod ns-0/${moved}`);
    expect(named(second, moved)).toBe(named(first, moved));
    expect(named(second, String((pods[3]?.metadata as Obj).name))?.labels).toEqual({ quarantine: 'yes' });
    // Unmoved objects give the very Pod of the first load.
    const unmoved = loadLiveObjects(now, memo);
    expect(unmoved.pods[20]).toBe(first.pods[20]);
  });

  it('a pod with something to say is read again each time, and a remembered pod is still refused as a duplicate', () => {
    const odd = { metadata: { name: 'odd', namespace: 'a', labels: { app: 'x' } }, spec: { containers: [{ ports: [{ name: 'Not_A_Name', containerPort: 80 }] }] } };
    const web = { metadata: { name: 'web', namespace: 'a', labels: { app: 'web' } }, spec: {} };
    const memo: CompileMemo = new WeakMap();
    const once = loadLiveObjects({ pods: [odd, web] }, memo);
    expect(once.issues).toHaveLength(1);
    expect(loadLiveObjects({ pods: [odd, web] }, memo)).toEqual(once);
    const twice = loadLiveObjects({ pods: [web, web, odd] }, memo);
    expect(twice).toEqual(loadLiveObjects({ pods: [web, web, odd] }));
    expect(twice.pods.map((p) => p.name)).toEqual(['web', 'odd']);
    expect(twice.issues.map((i) => `${i.source}: ${i.message}`)).toEqual([
      'live:Pod a/web: duplicate object; the first definition is kept',
      expect.stringMatching(/^live:Pod a\/odd: container port/),
    ]);
  });

  it('a remembered policy is still refused as a duplicate, and one compiled with errors says them again on every load', () => {
    const allow = { metadata: { name: 'allow', namespace: 'a' }, spec: { podSelector: {}, ingress: [{}] } };
    const bad = { metadata: { name: 'bad', namespace: 'a' }, spec: { podSelector: { matchLabels: { 'x/y/z': 'v' } } } };
    const memo: CompileMemo = new WeakMap();
    loadLiveObjects({ networkPolicies: [allow, bad] }, memo);
    for (const list of [[allow, allow, bad], [bad, allow], [{ ...allow }, allow]]) {
      const loaded = loadLiveObjects({ networkPolicies: list }, memo);
      expect(loaded).toEqual(loadLiveObjects({ networkPolicies: list }));
    }
    expect(loadLiveObjects({ networkPolicies: [allow, allow] }, memo).issues.map((i) => `${i.source}: ${i.message}`)).toEqual(['live:NetworkPolicy a/allow: duplicate object; the first definition is kept']);
  });

  it('an object remembered under one list kind is read again in another list, and a pod remembered by its position is read again', () => {
    const web = { metadata: { name: 'web', namespace: 'a', labels: { app: 'web' } }, spec: { podSelector: {} } };
    const nameless = { metadata: { namespace: 'a', labels: { app: 'x' } }, spec: {} };
    const memo: CompileMemo = new WeakMap();
    loadLiveObjects({ pods: [web, nameless] }, memo);
    for (const live of [{ networkPolicies: [web] }, { namespaces: [web] }, { nodes: [web] }, { pods: [nameless, web] }] as LiveObjects[]) {
      expect(loadLiveObjects(live, memo)).toEqual(loadLiveObjects(live));
    }
  });

  it('an object met as a policy and then as a pod is read as each, never mixed up', () => {
    const both = { metadata: { name: 'x', namespace: 'a', labels: { app: 'x' } }, spec: { podSelector: {} } };
    const memo: CompileMemo = new WeakMap();
    const asPolicy = loadLiveObjects({ networkPolicies: [both] }, memo);
    const asPod = loadLiveObjects({ pods: [both] }, memo);
    expect(asPolicy).toEqual(loadLiveObjects({ networkPolicies: [both] }));
    expect(asPod).toEqual(loadLiveObjects({ pods: [both] }));
    expect(loadLiveObjects({ networkPolicies: [both] }, memo)).toEqual(asPolicy);
  });

  it("a live list's kind is its items' kind, whatever kind an item carries, and the item is left as it was", () => {
    const pod = { kind: 'NetworkPolicy', metadata: { name: 'web', namespace: 'a', labels: { app: 'web' } }, spec: {} };
    const before = structuredClone(pod);
    const loaded = loadLiveObjects({ pods: [pod], networkPolicies: [{ kind: 'List', items: [], metadata: { name: 'deny', namespace: 'a' }, spec: { podSelector: {} } }] });
    expect(loaded.pods.map((p) => p.name)).toEqual(['web']);
    expect(loaded.policies.map((p) => p.name)).toEqual(['deny']);
    expect(loaded.issues).toEqual([]);
    expect(pod).toEqual(before);
  });

  it('hostile items in a live list are issues, with or without a memo', () => {
    const memo: CompileMemo = new WeakMap();
    const hostile: LiveObjects = { networkPolicies: [null, 'x', 42, [], { metadata: { name: 'p', namespace: 'a' }, spec: 'not a spec' }] };
    const once = loadLiveObjects(hostile, memo);
    expect(loadLiveObjects(hostile, memo)).toEqual(once);
    expect(once.policies).toEqual([]);
    expect(once.issues.map((i) => i.message)).toEqual([
      'document is not a Kubernetes object (expected a mapping)',
      'document is not a Kubernetes object (expected a mapping)',
      'document is not a Kubernetes object (expected a mapping)',
      'spec: must be an object',
    ]);
  });
});
