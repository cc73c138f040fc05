// The state before a containment, from its ledger record (src/containment/before.ts): what a contain
// step resuming after a worker died mid-apply takes its baseline from.
import { describe, expect, it } from 'vitest';
import { beforeContainment } from '../../../src/containment/before.js';
import { designContainment, projectContainment, type ContainmentPlan } from '../../../src/containment/design.js';
import { QUARANTINE_LABEL, withExclusion } from '../../../src/containment/exclusion.js';
import type { LedgerRecord } from '../../../src/containment/ledger.js';
import { policyFingerprint, scopeConnectivity } from '../../../src/containment/proof.js';
import type { StrategyName } from '../../../src/containment/strategy.js';
import type { LiveObjects } from '../../../src/policy/index.js';
import { shopObjects } from '../../../src/sim/scenarios/shop.js';

type Obj = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: Record<string, unknown> };
type Record_ = Pick<LedgerRecord, 'meta' | 'created' | 'patches' | 'pods'>;

const INCIDENT = '20261204-before1';
const DNS = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };
const SCOPE = { namespace: 'db', labelSelector: { matchLabels: { app: 'postgres' } } };

const allowAllEgress = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-all-egress', namespace: 'db' }, spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] } };

function shop(): LiveObjects {
  const objects = [...shopObjects(), allowAllEgress] as Obj[];
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  return { namespaces: of('Namespace'), pods: of('Pod'), networkPolicies: of('NetworkPolicy'), adminNetworkPolicies: of('AdminNetworkPolicy'), ciliumNetworkPolicies: of('CiliumNetworkPolicy') };
}

/** The record an apply of `plan` over `live` leaves (what the ledger holds once every write is done). */
function recordOf(plan: ContainmentPlan, live: LiveObjects): Record_ {
  const policies = (live.networkPolicies ?? []) as Obj[];
  return {
    meta: { incidentId: INCIDENT, strategy: plan.strategy, ...SCOPE, startedAt: '2026-12-04T10:00:00Z', dns: { keep: true, ...DNS } },
    created: plan.create.map((o) => ({ kind: o.kind, ...('namespace' in o.metadata ? { namespace: String(o.metadata.namespace) } : {}), name: o.metadata.name })),
    patches: plan.footprint.patches.map((p) => {
      const policy = policies.find((x) => x.metadata.namespace === SCOPE.namespace && x.metadata.name === p.name)!;
      return { namespace: SCOPE.namespace, name: p.name, resourceVersion: '1', podSelector: (policy.spec?.podSelector ?? {}) as never, fluxReconcile: null, suspendsFlux: false };
    }),
    pods: [...plan.footprint.podsToLabel],
  };
}

function contained(strategy: StrategyName) {
  const live = shop();
  const plan = designContainment({ strategy, reason: 'test', target: { incidentId: INCIDENT, ...SCOPE, dns: { keep: true, ...DNS }, approvers: [] }, anpPriority: 1, live });
  return { live, plan, inForce: projectContainment(live, plan, INCIDENT), record: recordOf(plan, live) };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

describe('the state before a containment', () => {
  it.each(['networkpolicy-exclusive', 'networkpolicy-additive', 'admin-network-policy', 'cilium'] as const)('%s: the containment taken out gives the connectivity and fingerprint of before', (strategy) => {
    const { live, plan, inForce, record } = contained(strategy);
    expect(plan.create.length).toBeGreaterThan(0);
    // The additive deny-all leaves the shop's allow-all-egress open: the same connectivity, other objects.
    if (strategy !== 'networkpolicy-additive') expect(scopeConnectivity(inForce, SCOPE)).not.toEqual(scopeConnectivity(live, SCOPE));
    const undone = beforeContainment(deepFreeze(inForce), record);
    expect(scopeConnectivity(undone, SCOPE)).toEqual(scopeConnectivity(live, SCOPE));
    expect(policyFingerprint(undone)).toBe(policyFingerprint(live));
    // The lists as they were, object for object.
    expect(undone.networkPolicies).toEqual(live.networkPolicies);
    expect(undone.pods).toEqual(live.pods);
    expect(undone.adminNetworkPolicies).toEqual(live.adminNetworkPolicies);
    expect(undone.ciliumNetworkPolicies).toEqual(live.ciliumNetworkPolicies);
  });

  it('a run that died part-way: only what the record lists is taken out', () => {
    const { live, plan, record } = contained('networkpolicy-exclusive');
    expect(plan.footprint.patches.length).toBeGreaterThan(1);
    // The first run created the deny-all, labelled the pod and patched one policy before it died.
    const [first, ...rest] = plan.footprint.patches;
    const halfway = projectContainment(live, { ...plan, footprint: { ...plan.footprint, patches: [first!] } }, INCIDENT);
    const partial = { ...record, patches: record.patches.filter((p) => p.name === first!.name) };
    const undone = beforeContainment(halfway, partial);
    expect(scopeConnectivity(undone, SCOPE)).toEqual(scopeConnectivity(live, SCOPE));
    expect(undone.networkPolicies).toEqual(live.networkPolicies);
    // A policy recorded but never patched (the worker died between the two) comes out as it is.
    const recordedOnly = { ...record, patches: record.patches };
    expect(beforeContainment(halfway, recordedOnly).networkPolicies).toEqual(live.networkPolicies);
    expect(rest.length).toBeGreaterThan(0);
  });

  it("leaves other incidents' containments, other namespaces and other kinds as they are", () => {
    const { inForce, record } = contained('networkpolicy-exclusive');
    const ours = record.created[0]!;
    const other = (name: string, namespace: string, labels: Record<string, string>) => ({ kind: 'Pod', metadata: { name, namespace, labels }, spec: {} });
    const postgres = record.pods[0]!;
    const live: LiveObjects = {
      ...inForce,
      // The same name in another namespace, and as another kind.
      networkPolicies: [...(inForce.networkPolicies ?? []), { kind: 'NetworkPolicy', metadata: { name: ours.name, namespace: 'web' }, spec: { podSelector: withExclusion({}) } }],
      ciliumNetworkPolicies: [{ kind: 'CiliumNetworkPolicy', metadata: { name: ours.name, namespace: 'db' }, spec: {} }],
      pods: [
        ...(inForce.pods ?? []),
        other(postgres, 'web', { [QUARANTINE_LABEL]: INCIDENT, app: 'x' }),
        other('held-elsewhere', 'db', { [QUARANTINE_LABEL]: '20261204-other9', app: 'y' }),
      ],
    };
    const undone = beforeContainment(live, { ...record, pods: [...record.pods, 'held-elsewhere'] });
    const find = (list: readonly unknown[] | undefined, namespace: string, name: string) => (list as Obj[]).find((o) => o.metadata.namespace === namespace && o.metadata.name === name);
    expect(find(undone.networkPolicies, 'db', ours.name)).toBeUndefined();
    expect(find(undone.networkPolicies, 'web', ours.name)?.spec?.podSelector).toEqual(withExclusion({}));
    expect(undone.ciliumNetworkPolicies).toEqual(live.ciliumNetworkPolicies);
    expect(find(undone.pods, 'db', postgres)?.metadata.labels?.[QUARANTINE_LABEL]).toBeUndefined();
    expect(find(undone.pods, 'db', postgres)?.metadata.labels?.app).toBe('postgres');
    expect(find(undone.pods, 'web', postgres)?.metadata.labels?.[QUARANTINE_LABEL]).toBe(INCIDENT);
    expect(find(undone.pods, 'db', 'held-elsewhere')?.metadata.labels?.[QUARANTINE_LABEL]).toBe('20261204-other9');
    // Objects it does not change are the very same objects.
    const untouched = (live.pods as Obj[]).filter((p) => p.metadata.namespace !== 'db');
    for (const pod of untouched) expect((undone.pods as Obj[]).includes(pod)).toBe(true);
  });

  it('an empty record changes nothing; odd objects and missing lists pass through', () => {
    const odd = [null, {}, { metadata: null }, { metadata: { namespace: 7, name: ['x'] } }];
    const live: LiveObjects = { pods: odd, networkPolicies: odd };
    const none: Record_ = { meta: { incidentId: INCIDENT, strategy: 'networkpolicy-exclusive', namespace: 'db', startedAt: '', dns: { keep: true, ...DNS } }, created: [], patches: [], pods: [] };
    expect(beforeContainment(live, none)).toEqual(live);
    expect(beforeContainment({}, { ...none, created: [{ kind: 'NetworkPolicy', namespace: 'db', name: 'x' }], pods: ['p'] })).toEqual({});
    const { inForce, record } = contained('networkpolicy-exclusive');
    expect(() => beforeContainment({ ...inForce, pods: [...(inForce.pods ?? []), ...odd] }, record)).not.toThrow();
  });
});
