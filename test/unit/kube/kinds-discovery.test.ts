// The adapter's pure parts: the kinds table, availability reasons, error explanations, plain JSON.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KINDS, KubeApiError, availability, collectionPath, crdName, explainKubeError, kindLabel } from '../../../src/kube/index.js';
import { toPlain } from '../../../src/kube/object-ops.js';

describe('kinds', () => {
  it('builds paths for core, grouped, namespaced and cluster-scoped kinds, escaping the namespace', () => {
    expect(collectionPath(KINDS.Pod, 'db')).toBe('/api/v1/namespaces/db/pods');
    expect(collectionPath(KINDS.Pod)).toBe('/api/v1/pods');
    expect(collectionPath(KINDS.Namespace, 'ignored')).toBe('/api/v1/namespaces');
    expect(collectionPath(KINDS.CiliumNetworkPolicy, 'a/../b')).toBe('/apis/cilium.io/v2/namespaces/a%2F..%2Fb/ciliumnetworkpolicies');
    expect(collectionPath(KINDS.AdminNetworkPolicy, 'db')).toBe('/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies');
    expect(kindLabel(KINDS.Application)).toBe('argoproj.io/v1alpha1 Application');
    expect(crdName(KINDS.BaselineAdminNetworkPolicy)).toBe('baselineadminnetworkpolicies.policy.networking.k8s.io');
  });
});

describe('availability', () => {
  it('reads a resource list', () => {
    const info = KINDS.CiliumNetworkPolicy;
    expect(availability(info, { resources: [{ name: 'ciliumnetworkpolicies', kind: 'CiliumNetworkPolicy', namespaced: true, singularName: '', verbs: [] }] })).toEqual({
      kind: 'CiliumNetworkPolicy',
      served: true,
      reason: 'cilium.io/v2 CiliumNetworkPolicy is served',
    });
    expect(availability(info, { resources: [] }).reason).toBe('cilium.io/v2 CiliumNetworkPolicy is not served: cilium.io/v2 has no resource ciliumnetworkpolicies (CRD ciliumnetworkpolicies.cilium.io is not installed)');
    expect(availability(info, { resources: [{ name: 'ciliumnetworkpolicies', kind: 'Other', namespaced: true, singularName: '', verbs: [] }] }).served).toBe(false);
    expect(availability(KINDS.Pod, undefined).reason).toBe('v1 Pod is not served: the cluster has no API v1');
  });
});

describe('explainKubeError', () => {
  const about = { verb: 'delete', group: 'cilium.io', version: 'v2', kind: 'CiliumNetworkPolicy', resource: 'ciliumnetworkpolicies', custom: true, namespace: 'db' };

  it('adds the RBAC rule to a 403 and keeps status, reason and retryability', () => {
    const e = explainKubeError(new KubeApiError({ status: 403, reason: 'Forbidden', message: 'nope' }), about);
    expect(e).toMatchObject({ status: 403, reason: 'Forbidden', retryable: false, missingPermission: { verb: 'delete', group: 'cilium.io', resource: 'ciliumnetworkpolicies', namespace: 'db' } });
    expect(e.message).toBe(`nope. The bot's RBAC lacks verb "delete" on resource "ciliumnetworkpolicies" in apiGroup "cilium.io" (namespace db, or cluster-wide): add it to the bot's ClusterRole (deploy/rbac.yaml) and apply it.`);
  });

  it('tells a kind not served from an object not found', () => {
    const kind = explainKubeError(new KubeApiError({ status: 404, reason: 'NotFound', message: 'the server could not find the requested resource' }), about);
    expect(kind.kindNotServed).toBe(true);
    expect(kind.message).toBe('cilium.io/v2 CiliumNetworkPolicy is not served by this cluster: its CRD ciliumnetworkpolicies.cilium.io is not installed. Install it, or use a containment strategy that does not need it.');
    const object = new KubeApiError({ status: 404, reason: 'NotFound', message: 'ciliumnetworkpolicies.cilium.io "x" not found' });
    expect(explainKubeError(object, about)).toBe(object);
    const retry = new KubeApiError({ status: 503, reason: 'ServiceUnavailable', message: 'busy', retryAfterSeconds: 2 });
    expect(explainKubeError(retry, about)).toBe(retry);
  });
});

describe('toPlain', () => {
  it('turns client-node Dates into the API timestamps and keeps the rest', () => {
    expect(toPlain({ metadata: { creationTimestamp: new Date('2025-03-04T05:06:07.890Z'), labels: { a: 'b' } }, list: [new Date(0)] })).toEqual({
      metadata: { creationTimestamp: '2025-03-04T05:06:07Z', labels: { a: 'b' } },
      list: ['1970-01-01T00:00:00Z'],
    });
  });

  // What it replaced: a JSON round trip. The one walk must give the same on any value.
  const viaJson = (value: unknown): unknown =>
    JSON.parse(
      JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
        const raw = this[key];
        return raw instanceof Date ? raw.toISOString().replace(/\.\d{3}Z$/, 'Z') : v;
      }) ?? 'null',
    );

  it('gives what a JSON round trip gives, on any value (fast-check, fixed seed)', () => {
    class Typed {
      kind = 'Pod';
      missing: string | undefined = undefined;
      constructor(readonly at: Date) {}
    }
    const leaf = fc.oneof(
      fc.anything({ withNullPrototype: true, withObjectString: false }),
      fc.date({ noInvalidDate: true }).map((d) => new Date(d)),
      fc.date({ noInvalidDate: true }).map((d) => new Typed(d)),
      fc.constantFrom(undefined, () => 1, Symbol('s'), Number.NaN, Number.POSITIVE_INFINITY, -0),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(fc.oneof(fc.string(), fc.constant('__proto__')), tie('node'))),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const expected = viaJson(v);
        expect(toPlain(v) ?? null).toEqual(expected);
        expect(JSON.stringify(toPlain(v)) ?? 'null').toBe(JSON.stringify(expected));
      }),
      { seed: 20261203, numRuns: 500 },
    );
  });

  it('a key named __proto__ stays a key and never becomes the prototype', () => {
    const hostile = JSON.parse('{"metadata":{"__proto__":{"polluted":true},"name":"x"}}') as { metadata: Record<string, unknown> };
    const out = toPlain(hostile) as { metadata: Record<string, unknown> };
    expect(Object.keys(out.metadata)).toEqual(['__proto__', 'name']);
    expect((out.metadata as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out.metadata)).toBe(Object.prototype);
  });
});
