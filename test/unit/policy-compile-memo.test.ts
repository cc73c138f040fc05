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

  it('an object at another position is compiled again: its messages name where it is now', () => {
    const bad = { metadata: { name: 'bad', namespace: 'a' }, spec: { podSelector: { matchLabels: { 'x/y/z': 'v' } } } };
    const memo: CompileMemo = new WeakMap();
    const at0 = loadLiveObjects({ networkPolicies: [bad] }, memo);
    const at1 = loadLiveObjects({ networkPolicies: [{ metadata: { name: 'ok', namespace: 'a' }, spec: { podSelector: {} } }, bad] }, memo);
    expect(at0.issues.map((i) => i.source)).toEqual(['live:NetworkPolicy[0]']);
    expect(at1.issues.map((i) => i.source)).toEqual(['live:NetworkPolicy[1]']);
    expect(at1.policies.map((p) => p.name)).toEqual(['ok']);
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
