// The engine's proof over the shop with over-permissive policies: every exclusive strategy leaves
// only kept DNS open; the additive deny-all leaves the doors open and says which.
import { describe, expect, it } from 'vitest';
import { designContainment, projectContainment } from '../../../src/containment/design.js';
import type { QuarantineTarget } from '../../../src/containment/objects.js';
import { connectivityDifference, policyFingerprint, policyFingerprintOfParts, proveContainment, scopeConnectivity, type FingerprintMemo } from '../../../src/containment/proof.js';
import { withExclusion } from '../../../src/containment/exclusion.js';
import type { StrategyName } from '../../../src/containment/strategy.js';
import type { LiveObjects } from '../../../src/policy/index.js';
import { shopObjects } from '../../../src/sim/scenarios/shop.js';

type Obj = { kind: string; metadata: { name: string; namespace?: string } };

const DNS = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };

function shop(extra: object[] = []): LiveObjects {
  const objects = [...shopObjects(), ...extra] as Obj[];
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  return {
    namespaces: of('Namespace'),
    pods: of('Pod'),
    networkPolicies: of('NetworkPolicy'),
    adminNetworkPolicies: of('AdminNetworkPolicy'),
    ciliumNetworkPolicies: of('CiliumNetworkPolicy'),
  };
}

const allowAllEgress = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-all-egress', namespace: 'db' }, spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] } };
const allowWorldIngress = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-world-to-postgres', namespace: 'db' },
  spec: { podSelector: { matchLabels: { app: 'postgres' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] },
};
const anpAllow = {
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  kind: 'AdminNetworkPolicy',
  metadata: { name: 'allow-monitoring' },
  spec: {
    priority: 50,
    subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } } },
    ingress: [{ name: 'from-everyone', action: 'Allow', from: [{ namespaces: {} }] }],
    egress: [{ name: 'to-everywhere', action: 'Allow', to: [{ namespaces: {} }, { networks: ['0.0.0.0/0'] }] }],
  },
};
const cnpAllow = {
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'allow-world', namespace: 'db' },
  spec: { endpointSelector: {}, egress: [{ toEntities: ['all'] }], ingress: [{ fromEntities: ['all'] }] },
};

function target(keep = true): QuarantineTarget {
  return { incidentId: '20261201-abcdef', namespace: 'db', labelSelector: { matchLabels: { app: 'postgres' } }, dns: { keep, ...DNS }, approvers: [] };
}

function contain(live: LiveObjects, strategy: StrategyName, keepDns = true) {
  const plan = designContainment({ strategy, reason: 'test', target: target(keepDns), anpPriority: 0, live });
  const after = projectContainment(live, plan, '20261201-abcdef');
  return { plan, after, proof: proveContainment(after, { namespace: 'db', labelSelector: { matchLabels: { app: 'postgres' } } }, DNS) };
}

describe('containment proof by the engine', () => {
  it('before containment the over-permissive policies leave postgres open', () => {
    const proof = proveContainment(shop([allowAllEgress]), { namespace: 'db', labelSelector: { matchLabels: { app: 'postgres' } } }, DNS);
    expect(proof.contained).toBe(false);
    expect(proof.pods).toEqual(['db/postgres-0']);
    expect(proof.open.join('\n')).toContain('allow-all-egress');
  });

  it.each(['networkpolicy-exclusive', 'admin-network-policy', 'cilium'] as const)('%s: only kept DNS remains against allow-all, ANP allows and Cilium allows', (strategy) => {
    const extra = strategy === 'admin-network-policy' ? [allowAllEgress, allowWorldIngress, anpAllow] : strategy === 'cilium' ? [allowAllEgress, allowWorldIngress, cnpAllow] : [allowAllEgress, allowWorldIngress];
    const { proof } = contain(shop(extra), strategy);
    expect(proof.open).toEqual([]);
    expect(proof.contained).toBe(true);
    expect(proof.dns.length).toBeGreaterThan(0);
    expect(proof.dns.join('\n')).toContain('kube-system/kube-dns');
  });

  it.each(['networkpolicy-exclusive', 'admin-network-policy', 'cilium'] as const)('%s without kept DNS: nothing at all', (strategy) => {
    const { proof } = contain(shop([allowAllEgress, allowWorldIngress]), strategy, false);
    expect(proof.contained).toBe(true);
    expect(proof.open).toEqual([]);
    expect(proof.dns).toEqual([]);
  });

  it('additive: the deny-all next to allow rules is NOT containment, and the open doors are named', () => {
    const { proof } = contain(shop([allowAllEgress]), 'networkpolicy-additive');
    expect(proof.contained).toBe(false);
    expect(proof.open.some((l) => l.includes('allow-db-from-api'))).toBe(true);
    expect(proof.open.some((l) => l.includes('allow-all-egress'))).toBe(true);
  });

  it('the exclusive plan excludes exactly the policies that select postgres and labels it', () => {
    const { plan } = contain(shop([allowAllEgress, allowWorldIngress]), 'networkpolicy-exclusive');
    expect(plan.footprint.podsToLabel).toEqual(['postgres-0']);
    expect(plan.footprint.patches.map((p) => p.name).sort()).toEqual(['allow-all-egress', 'allow-db-from-api', 'allow-dns-egress', 'allow-world-to-postgres', 'default-deny-all'].sort());
    const anp = contain(shop([allowAllEgress, allowWorldIngress]), 'admin-network-policy').plan;
    expect(anp.footprint.patches.map((p) => p.name)).toEqual(['allow-world-to-postgres']);
  });

  it('an ANP of higher precedence than the quarantine keeps its doors open, and the proof says so', () => {
    const live = shop([allowAllEgress]);
    const plan = designContainment({ strategy: 'admin-network-policy', reason: 't', target: target(), anpPriority: 60, live: { ...live, adminNetworkPolicies: [anpAllow] } });
    const proof = proveContainment(projectContainment({ ...live, adminNetworkPolicies: [anpAllow] }, plan, 'x'), { namespace: 'db', labelSelector: { matchLabels: { app: 'postgres' } } }, DNS);
    expect(proof.contained).toBe(false);
    expect(proof.open.join('\n')).toContain('allow-monitoring');
  });

  it('the fingerprint ignores our objects and exclusion, and notices an owner edit', () => {
    const live = shop([allowAllEgress]);
    const { after } = contain(live, 'networkpolicy-exclusive');
    expect(policyFingerprint(after)).toBe(policyFingerprint(live));
    const edited = { ...live, networkPolicies: [...(live.networkPolicies ?? []), { ...allowWorldIngress, spec: { ...allowWorldIngress.spec, podSelector: withExclusion({}) } }] };
    expect(policyFingerprint(edited)).not.toBe(policyFingerprint(live));
  });

  it('a fingerprint memo gives the same fingerprints, state after state, and an object in another list counts as that kind', () => {
    const memo = new WeakMap<object, string>();
    const live = shop([allowAllEgress]);
    const { after } = contain(live, 'networkpolicy-exclusive');
    for (const state of [live, after, live]) expect(policyFingerprint(state, memo)).toBe(policyFingerprint(state));
    const policy = (live.networkPolicies ?? [])[0] as object;
    const moved = { ...live, networkPolicies: (live.networkPolicies ?? []).slice(1), ciliumNetworkPolicies: [...(live.ciliumNetworkPolicies ?? []), policy] };
    expect(policyFingerprint(moved, memo)).toBe(policyFingerprint(moved));
    expect(policyFingerprint(moved, memo)).not.toBe(policyFingerprint(live, memo));
  });

  it('the fingerprint keeps its form (SHA-256 of the sorted entries, newline-joined): a baseline recorded by an earlier version still compares', () => {
    const objects = shopObjects() as Obj[];
    const of = (kind: string) => objects.filter((o) => o.kind === kind);
    expect(policyFingerprint({ namespaces: of('Namespace'), pods: of('Pod'), networkPolicies: of('NetworkPolicy') })).toBe('5892b28a893c57e9399bb2f6659f512f81cafc31604e4b9f168ecd7d3180b8a6');
    expect(policyFingerprint({})).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('in parts: the same fingerprint however the lists are cut; a frozen part is kept with its entries, under its kind only; a changed part counts anew', () => {
    const live = shop([allowAllEgress, allowWorldIngress]);
    const policies = [...(live.networkPolicies ?? [])];
    const whole = policyFingerprint(live);
    for (const cut of [1, 2, 3, policies.length]) {
      const parts = Array.from({ length: Math.ceil(policies.length / cut) }, (_, i) => policies.slice(i * cut, (i + 1) * cut));
      expect(policyFingerprintOfParts({ networkPolicies: parts, adminNetworkPolicies: [[]] })).toBe(whole);
    }
    const memo: FingerprintMemo = new WeakMap();
    const frozen = Object.freeze(policies.slice(0, 3).map((p) => Object.freeze(p)));
    const rest = policies.slice(3);
    expect(policyFingerprintOfParts({ networkPolicies: [frozen, rest] }, memo)).toBe(whole);
    expect(memo.get(frozen)).toMatchObject({ kind: 'NetworkPolicy' });
    // A list that may still change is not kept whole.
    expect(memo.get(rest)).toBeUndefined();
    expect(policyFingerprintOfParts({ networkPolicies: [frozen, rest] }, memo)).toBe(whole);
    // The same part as CiliumNetworkPolicies: entered as that kind, not as the NetworkPolicies kept.
    expect(policyFingerprintOfParts({ networkPolicies: [rest], ciliumNetworkPolicies: [frozen] }, memo)).toBe(policyFingerprintOfParts({ networkPolicies: [rest], ciliumNetworkPolicies: [[...frozen]] }));
    expect(policyFingerprintOfParts({ networkPolicies: [rest], ciliumNetworkPolicies: [frozen] }, memo)).not.toBe(whole);
    // A part edited (a new frozen array, as a thread decodes a namespace that changed): counted anew.
    const edited = Object.freeze([...frozen.slice(1), { ...(frozen[0] as object), spec: { podSelector: {}, policyTypes: ['Ingress'] } }]);
    expect(policyFingerprintOfParts({ networkPolicies: [edited, rest] }, memo)).toBe(policyFingerprint({ networkPolicies: [...edited, ...rest] }));
    expect(policyFingerprintOfParts({ networkPolicies: [edited, rest] }, memo)).not.toBe(whole);
  });

  it('scope connectivity before and after can be compared', () => {
    const before = scopeConnectivity(shop([allowAllEgress]), { namespace: 'db', labelSelector: { matchLabels: { app: 'postgres' } } });
    const after = scopeConnectivity(shop(), { namespace: 'db', labelSelector: { matchLabels: { app: 'postgres' } } });
    const diff = connectivityDifference(before, after);
    expect(diff.lost.length + diff.changed.length).toBeGreaterThan(0);
    expect(connectivityDifference(before, before)).toEqual({ lost: [], gained: [], changed: [] });
    expect(connectivityDifference(['-> a : TCP 1', '-> b : All Connections'], ['-> b : TCP 53', '-> c : UDP 9'])).toEqual({
      lost: ['-> a : TCP 1'],
      changed: ['-> b : All Connections → TCP 53'],
      gained: ['-> c : UDP 9'],
    });
  });
});
