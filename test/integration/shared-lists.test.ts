// Whole-cluster lists shared with the compute threads (src/compute/shared-lists.ts): a real
// compute thread gives the results it gives on copied lists; a namespace's part is encoded once
// while its objects are the same ones; what a thread decoded is frozen; hostile parts fail clearly.
import { describe, expect, it } from 'vitest';
import { serialize } from 'node:v8';
import { openDesired, openLive, settled, shareDesired, shareLive, sharedListStats, type SharedList, type SharedLive } from '../../src/compute/shared-lists.js';
import { computeOffThread } from '../../src/compute/thread.js';
import { designContainment, projectContainment } from '../../src/containment/design.js';
import { containmentPreview } from '../../src/containment/preview.js';
import { proveContainment, scopeConnectivity, policyFingerprint } from '../../src/containment/proof.js';
import { compareState } from '../../src/drift/compare.js';
import { driftDelta } from '../../src/drift/delta.js';
import { livePolicies } from '../../src/drift/live.js';
import type { DesiredObject } from '../../src/git/render.js';
import { computeValidation } from '../../src/playbook/steps/validate-compute.js';
import type { LiveObjects } from '../../src/policy/index.js';
import type { TracedChange } from '../../src/trace/changes.js';
import { changeEffects } from '../../src/trace/effects.js';
import { syntheticLists } from '../helpers/synthetic-cluster.js';

type Obj = { kind?: string; metadata: { namespace?: string; name: string } };

/** openNamespaces 2: no namespace has policies (every one is open); 0: every one has. */
function cluster(pods = 2000, openNamespaces = 2): LiveObjects {
  return { ...syntheticLists({ pods, policiesPerPod: 1, openNamespaces, seed: 7 }), adminNetworkPolicies: [], baselineAdminNetworkPolicies: [], ciliumNetworkPolicies: [] };
}

const partIds = (shared: SharedLive, list: keyof SharedLive): number[] => ((shared[list] as SharedList).sharedParts ?? []).map((p) => p.id);
const DNS = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };

describe('shared lists', () => {
  const live = cluster();
  const scope = { namespace: String((live.pods?.[700] as Obj).metadata.namespace) };

  it('a compute thread proves and measures on shared lists what it does on copied ones', async () => {
    const shared = shareLive(live);
    expect((shared.pods as SharedList).sharedParts.length).toBeGreaterThan(1);
    const [proof, baseline] = await Promise.all([
      computeOffThread('proveContainment', { live: shared, scope, dns: DNS }, { priority: 'urgent' }),
      computeOffThread('containmentBaseline', { live: shared, scope }),
    ]);
    const expected = proveContainment(live, scope, DNS);
    expect(proof.openCount).toBe(expected.openCount);
    expect([...proof.open].sort()).toEqual([...expected.open].sort());
    expect(baseline.connectivity).toEqual(scopeConnectivity(live, scope));
    expect(baseline.fingerprint).toBe(policyFingerprint(live));
    expect(expected.openCount).toBeGreaterThan(0);
    // Again, from what the threads kept: the same answer.
    const again = await computeOffThread('proveContainment', { live: shareLive(live), scope, dns: DNS }, { priority: 'urgent' });
    expect(again).toEqual(proof);
  });

  it("the preview on shared lists: the blast radius still tells the containment's own objects apart", async () => {
    const namespace = scope.namespace;
    const dns = { keep: true, ...DNS };
    const plan = designContainment({ strategy: 'networkpolicy-exclusive', reason: 'test', target: { incidentId: '20261203-shared1', namespace, dns, approvers: [] }, anpPriority: 10, live });
    const scopePods = plan.footprint.scopePods.map((name) => ({ namespace, name }));
    const preview = await computeOffThread('containmentPreview', { before: shareLive(live), plan, incidentId: '20261203-shared1', scopePods, scope, dns: DNS }, { priority: 'interactive' });
    const inline = containmentPreview({ before: live, after: projectContainment(live, plan, '20261203-shared1'), created: plan.create, scopePods, scope, dns: DNS });
    expect(preview).toEqual(JSON.parse(JSON.stringify(inline)));
    expect('error' in preview.radius).toBe(false);
    // Kept by the deny-all's own DNS exception: told apart only when its object is the one in the state after.
    expect((preview.radius as { keptByDenyAllCount: number }).keptByDenyAllCount).toBeGreaterThan(0);
    expect(preview.predicted.contained).toBe(true);
  }, 60_000);

  it("the background steps' tasks on shared lists, decoded frozen on the thread: validation, change effects and a drift's delta as on the main thread", async () => {
    const { namespace } = scope;
    const live = cluster(2000, 0);
    const policies = (live.networkPolicies ?? []) as Obj[];
    expect(policies.length).toBeGreaterThan(500);
    const mine = policies.filter((p) => p.metadata.namespace === namespace);
    expect(mine.length).toBeGreaterThan(0);
    // Git wants one of the scope's policies to allow all egress: a drift with exposure.
    const drifted = mine[0] as Obj & { spec: Record<string, unknown> };
    const desired = policies.map((p) => ({ kind: 'NetworkPolicy', namespace: p.metadata.namespace, object: { ...p, kind: 'NetworkPolicy', ...(p === drifted ? { spec: { ...drifted.spec, egress: [{}] } } : {}) }, source: { repository: 'r', path: `${p.metadata.namespace}.yaml`, via: 'plain' as const } }));
    const validation = { desired: { objects: desired as never, renderProblems: 0, kinds: ['NetworkPolicy'], ignore: [] }, probes: [{ flow: 'probe', probe: { src: `${namespace}/x`, dst: '203.0.113.66', port: 443, protocol: 'TCP' as const } }], cases: [{ from: `${namespace}/*`, to: '0.0.0.0/0', port: 443, protocol: 'TCP', expect: 'deny', origin: 'file' } as never], namespace };
    const inlineValidation = computeValidation({ ...validation, live });
    expect(inlineValidation.report.items).toHaveLength(1);
    const sharedDesired = { ...validation.desired, objects: shareDesired<DesiredObject>(validation.desired.objects) };
    expect(await computeOffThread('validation', { ...validation, desired: sharedDesired, live: shareLive(live) })).toEqual(JSON.parse(JSON.stringify(inlineValidation)));
    // The next validation, from what the thread kept (its index refreshed, its comparison and
    // compilations remembered): the scope's namespace read afresh, another namespace's policy
    // widened out of band. As a fresh validation of that state.
    const other = policies.find((p) => p.metadata.namespace !== namespace) as Obj & { spec: Record<string, unknown> };
    const next: LiveObjects = {
      ...live,
      pods: (live.pods ?? []).map((p) => ((p as Obj).metadata.namespace === namespace ? structuredClone(p) : p)),
      networkPolicies: policies.map((p) => (p === other ? { ...other, spec: { ...other.spec, ingress: [{}] } } : p.metadata.namespace === namespace ? structuredClone(p) : p)),
    };
    const inlineNext = computeValidation({ ...validation, live: next });
    expect(inlineNext.report.items).toHaveLength(2);
    expect(await computeOffThread('validation', { ...validation, desired: sharedDesired, live: shareLive(next) })).toEqual(JSON.parse(JSON.stringify(inlineNext)));

    const at = '2026-12-03T10:00:00.000Z';
    const changes = mine.map((p): TracedChange => ({ key: `NetworkPolicy/${namespace}/${p.metadata.name}`, kind: 'NetworkPolicy', namespace, name: p.metadata.name, at, verb: 'create', evidence: 'journal', auditIDs: [], sourceIPs: [], before: null, after: p, fromAuditOnly: false, managers: [] }) as unknown as TracedChange);
    const ignored = changes.map((_, i) => i % 2 === 1);
    const inlineEffects = changeEffects(live, changes, scope, [], (c) => ignored[changes.indexOf(c)] === true);
    expect(await computeOffThread('changeEffects', { live: shareLive(live), changes, scope, probes: [], ignored })).toEqual(JSON.parse(JSON.stringify(inlineEffects)));
    // The next trace starts from the index the thread kept, which the first walk changed: on the
    // next state, with a policy elsewhere widened and the scope's namespace relabelled (a state the
    // walk builds anew), as inline.
    const scopeNs = (next.namespaces ?? []).find((n) => (n as Obj).metadata.name === namespace) as Obj & { metadata: { labels?: Record<string, string> } };
    const relabelled = { ...scopeNs, metadata: { ...scopeNs.metadata, labels: { ...scopeNs.metadata.labels, tier: 'quarantined' } } };
    const traced = { ...next, namespaces: (next.namespaces ?? []).map((n) => (n === scopeNs ? relabelled : n)) };
    const widenedOther = (next.networkPolicies ?? []).find((p) => (p as Obj).metadata.name === other.metadata.name && (p as Obj).metadata.namespace === other.metadata.namespace) as Obj;
    const nextChanges = [
      { ...(changes[0] as TracedChange), key: `NetworkPolicy/${other.metadata.namespace}/${other.metadata.name}`, namespace: other.metadata.namespace, name: other.metadata.name, verb: 'patch', before: other, after: widenedOther },
      { ...(changes[0] as TracedChange), key: `Namespace//${namespace}`, kind: 'Namespace', namespace: undefined, name: namespace, verb: 'patch', before: scopeNs, after: relabelled },
      ...changes,
    ] as TracedChange[];
    const nextIgnored = nextChanges.map((_, i) => i % 3 === 2);
    const probes = [{ src: `${namespace}/x`, dst: '203.0.113.66', port: 443, protocol: 'TCP' as const, at: 0 }];
    const inlineNextEffects = changeEffects(traced, nextChanges, scope, probes, (c) => nextIgnored[nextChanges.indexOf(c)] === true);
    expect(inlineNextEffects.filter((e) => e.relevant).length).toBeGreaterThan(1);
    expect(await computeOffThread('changeEffects', { live: shareLive(traced), changes: nextChanges, scope, probes, ignored: nextIgnored })).toEqual(JSON.parse(JSON.stringify(inlineNextEffects)));
    // The containment's index is kept apart from the trace's: its proof of that state is as inline.
    expect(await computeOffThread('proveContainment', { live: shareLive(traced), scope, dns: DNS }, { priority: 'urgent' })).toEqual(JSON.parse(JSON.stringify(proveContainment(traced, scope, DNS))));

    const report = compareState(livePolicies(live), desired);
    const wanted = desired.filter((d) => d.object.metadata.name === drifted.metadata.name && d.namespace === namespace);
    const inlineDelta = driftDelta({ live, desired: wanted, report });
    // Live is narrower than Git here: what Git would allow and live cuts is breakage.
    expect(inlineDelta.breakage.length).toBeGreaterThan(0);
    expect(await computeOffThread('driftDelta', { live: shareLive(live), desired: wanted, report })).toEqual(inlineDelta);
  }, 60_000);

  it('encodes a namespace once while its objects are the same ones, and again when one changes', () => {
    const first = shareLive(live);
    expect(partIds(shareLive(live), 'pods')).toEqual(partIds(first, 'pods'));
    // One pod of one namespace replaced (as a watch event replaces it): only that part is new.
    const pods = [...(live.pods ?? [])] as Obj[];
    const changed = pods[700] as Obj;
    pods[700] = { ...changed, metadata: { ...changed.metadata } };
    const next = partIds(shareLive({ ...live, pods }), 'pods');
    const before = partIds(first, 'pods');
    expect(next.length).toBe(before.length);
    expect(next.filter((id, i) => id !== before[i])).toHaveLength(1);
    // Short lists go as they are.
    expect(shareLive({ namespaces: live.namespaces }).namespaces).toBe(live.namespaces);
  });

  it('what a thread decodes is whole and frozen', () => {
    const opened = openLive(shareLive(live));
    const key = (o: unknown) => `${(o as Obj).metadata.namespace}/${(o as Obj).metadata.name}`;
    expect((opened.pods ?? []).map(key).sort()).toEqual((live.pods ?? []).map(key).sort());
    expect((opened.networkPolicies ?? []).length).toBe((live.networkPolicies ?? []).length);
    const pod = opened.pods?.[0] as { metadata: { labels?: Record<string, string> } };
    expect(Object.isFrozen(pod)).toBe(true);
    expect(() => {
      (pod.metadata as { name: string }).name = 'changed';
    }).toThrow(TypeError);
    settled();
  });

  it('decodes in one order whatever order the objects come in: namespaces by name, objects by name within one', () => {
    const key = (o: unknown) => `${(o as Obj).metadata.namespace}/${(o as Obj).metadata.name}`;
    const pods = (live.pods ?? []) as Obj[];
    const scoped = scope.namespace;
    // As readScopeLive hands them over: the namespace read fresh last, its objects in another order.
    const moved = [...pods.filter((p) => p.metadata.namespace !== scoped), ...pods.filter((p) => p.metadata.namespace === scoped).reverse()];
    const shuffled = [...pods].sort((a, b) => (key(a) < key(b) ? 1 : -1));
    const orders = [pods, moved, shuffled].map((list) => (openLive(shareLive({ pods: list })).pods ?? []).map(key));
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
    const byNamespaceThenName = (a: string, b: string) => {
      const [na, ma] = a.split('/') as [string, string];
      const [nb, mb] = b.split('/') as [string, string];
      return na !== nb ? (na < nb ? -1 : 1) : ma < mb ? -1 : ma > mb ? 1 : 0;
    };
    expect(orders[0]).toEqual([...(orders[0] ?? [])].sort(byNamespaceThenName));
    // A name listed twice keeps its order within its namespace (the later one still replaces the earlier).
    const twice = Array.from({ length: 600 }, (_, i) => ({ metadata: { namespace: 'a', name: `p${i % 300}` }, n: i }));
    const opened = (openLive(shareLive({ pods: twice })).pods ?? []) as Array<{ metadata: { name: string }; n: number }>;
    expect(opened.filter((p) => p.metadata.name === 'p7').map((p) => p.n)).toEqual([7, 307]);
    settled();
  });

  it('lets go of parts no task uses any more', () => {
    openLive(shareLive(live));
    expect(sharedListStats().decoded).toBeGreaterThan(0);
    // A while after the last task that sent their list.
    for (let i = 0; i < 300; i++) settled();
    expect(sharedListStats().decoded).toBe(0);
  });

  it("lets go of a namespace's old part after a few tasks that sent its list without it", () => {
    const pods = [...(live.pods ?? [])] as Obj[];
    const first = openLive(shareLive({ pods }));
    settled();
    const parts = sharedListStats().decoded;
    const changed = pods[700] as Obj;
    pods[700] = { ...changed, metadata: { ...changed.metadata } };
    for (let i = 0; i < 10; i++) {
      openLive(shareLive({ pods }));
      settled();
    }
    expect(sharedListStats().decoded).toBe(parts);
    // The other namespaces' parts stayed decoded: the very same objects.
    const again = openLive(shareLive({ pods }));
    expect(again.pods?.[0]).toBe(first.pods?.[0]);
    for (let i = 0; i < 300; i++) settled();
  });

  it("keeps Git's objects decoded across tasks that do not send them", () => {
    const objects = ((live.networkPolicies ?? []) as Obj[]).map((p) => ({ kind: 'NetworkPolicy', namespace: p.metadata.namespace as string, name: p.metadata.name, object: p }));
    const first = openDesired(shareDesired(objects));
    settled();
    // Fifty containments' tasks, say, between two validations.
    for (let i = 0; i < 50; i++) {
      openLive(shareLive(live));
      settled();
    }
    const again = openDesired(shareDesired(objects));
    expect(again).toHaveLength(objects.length);
    expect(again.every((o, i) => o === first[i])).toBe(true);
    expect(Object.isFrozen(again[0]?.object)).toBe(true);
    for (let i = 0; i < 300; i++) settled();
  });

  it("Git's objects keep their own order within a namespace; a short list goes as it is, frozen when opened", () => {
    // The same identity twice (the later one wins) and names out of order: kept as given, by namespace name.
    const objects = Array.from({ length: 600 }, (_, i) => ({ namespace: i % 2 === 0 ? 'b' : 'a', name: `p${(600 - i) % 250}`, n: i, object: {} }));
    const shared = shareDesired(objects);
    expect((shared as SharedList).sharedParts).toHaveLength(2);
    const opened = openDesired(shared);
    expect(opened.map((o) => o.n)).toEqual([...objects.filter((o) => o.namespace === 'a'), ...objects.filter((o) => o.namespace === 'b')].map((o) => o.n));
    expect((shareDesired(objects) as SharedList).sharedParts.map((p) => p.id)).toEqual((shared as SharedList).sharedParts.map((p) => p.id));
    const short = objects.slice(0, 10).map((o) => ({ ...o, object: { spec: {} } }));
    expect(shareDesired(short)).toBe(short);
    const openedShort = openDesired(shareDesired(short));
    expect(Object.isFrozen(openedShort[0]?.object.spec)).toBe(true);
    for (let i = 0; i < 300; i++) settled();
  });

  it('objects without a namespace or metadata, and null, travel like the rest', () => {
    const odd = [null, {}, { metadata: null }, { metadata: { namespace: 7, name: 'x' } }, ...Array.from({ length: 600 }, (_, i) => ({ metadata: { namespace: 'a', name: `p${i}` } }))];
    const opened = openLive(shareLive({ pods: odd }));
    expect(opened.pods).toHaveLength(odd.length);
    expect(opened.pods).toEqual(expect.arrayContaining([null, {}, { metadata: null }]));
  });

  it("Git's objects without a namespace, with a hostile one, or null travel like the rest", () => {
    const odd = [null, {}, { namespace: 7 }, { namespace: '__proto__' }, ...Array.from({ length: 600 }, (_, i) => ({ namespace: 'a', name: `p${i}` }))];
    const opened = openDesired(shareDesired(odd as Array<{ namespace?: string }>));
    expect(opened).toHaveLength(odd.length);
    expect(opened).toEqual(expect.arrayContaining([null, {}, { namespace: 7 }, { namespace: '__proto__' }]));
    for (let i = 0; i < 300; i++) settled();
  });

  it('hostile parts: bytes that are not a list, or not a serialization at all, fail with an error', () => {
    const bytesOf = (value: unknown): SharedArrayBuffer => {
      const encoded = serialize(value);
      const bytes = new SharedArrayBuffer(encoded.length);
      new Uint8Array(bytes).set(encoded);
      return bytes;
    };
    expect(() => openLive({ pods: { sharedParts: [{ id: 1e9, bytes: bytesOf({ not: 'a list' }) }] } })).toThrow(/does not hold a list/);
    const garbage = new SharedArrayBuffer(16);
    new Uint8Array(garbage).fill(0xff);
    expect(() => openLive({ pods: { sharedParts: [{ id: 1e9 + 1, bytes: garbage }] } })).toThrow();
    // An object that cannot be copied to a thread cannot be shared either.
    expect(() => shareLive({ pods: Array.from({ length: 600 }, () => ({ metadata: { namespace: 'a' }, f: () => 1 })) })).toThrow();
  });
});
