// The simulated API server answers a list with its stored objects themselves (no copy per object):
// that holds only if a stored object is never changed in place. Writes of every kind store a new
// object; what a list handed out before stays as it was.
import { describe, expect, it } from 'vitest';
import { resourceForKind } from '../../src/sim/kube/resources.js';
import { ObjectStore } from '../../src/sim/kube/store.js';

const type = (kind: string) => {
  const rt = resourceForKind(kind);
  if (!rt) throw new Error(`no resource type for ${kind}`);
  return rt;
};

describe('stored objects are never changed in place', () => {
  it('updates, no-op writes and deletes leave the objects a list handed out as they were', () => {
    const store = new ObjectStore();
    const [NS, POD, NP] = [type('Namespace'), type('Pod'), type('NetworkPolicy')];
    store.create(NS, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    store.create(POD, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } }, spec: { containers: [{ name: 'c' }] } });
    store.create(NP, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'shop' }, spec: { podSelector: {} } });
    const handedOut = [...store.listShared(NS), ...store.listShared(POD), ...store.listShared(NP)];
    const asTheyWere = structuredClone(handedOut);

    const pod = store.get(POD, 'shop', 'web')!;
    store.update(POD, { ...pod, metadata: { ...pod.metadata, labels: { app: 'web', quarantine: 'i-1' } } });
    store.update(POD, store.get(POD, 'shop', 'web')!); // a no-op write
    const policy = store.get(NP, 'shop', 'deny')!;
    store.update(NP, { ...policy, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
    store.delete(NP, 'shop', 'deny');
    store.delete(NS, undefined, 'shop');

    expect(handedOut).toEqual(asTheyWere);
    expect(store.listShared(POD)).toEqual([]);
  });
});
