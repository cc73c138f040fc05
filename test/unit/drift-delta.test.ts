// The connectivity delta of a drift, by the policy engine over the live pods: exposure (open now,
// not allowed by Git), breakage (allowed by Git, closed now), severity from them; the intended
// state is live with the drifted policies as Git declares them, both without the bot's containment.
import { describe, expect, it } from 'vitest';
import { withExclusion } from '../../src/containment/exclusion.js';
import { denyAllNetworkPolicy } from '../../src/containment/objects.js';
import { compareState, type DesiredInput, type DriftReport } from '../../src/drift/compare.js';
import { connectivityDelta, connectivityDeltaIndexed, driftDelta, intendedObjects, type ConnectivityDelta } from '../../src/drift/delta.js';
import { buildIndex, diffConnectivity, type CompileMemo, type LiveObjects } from '../../src/policy/index.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';

type Obj = Record<string, unknown>;

const ns = (name: string): Obj => ({ metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
const pod = (namespace: string, app: string): Obj => ({ metadata: { namespace, name: `${app}-0`, labels: { app } }, spec: { containers: [{ name: 'main' }] }, status: { phase: 'Running', podIP: '10.244.0.1' } });
const selectApp = (app: string): Obj => ({ matchLabels: { app } });

function np(namespace: string, name: string, spec: Obj, metadata: Obj = {}): Obj {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name, ...metadata }, spec };
}

/** Git's design for a small shop: default deny, web → api:8080 and web → 10.0.0.0/8:443, api → payments/db:5432. */
function design(): Obj[] {
  return [
    np('shop', 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    np('shop', 'web-egress', { podSelector: selectApp('web'), policyTypes: ['Egress'], egress: [{ to: [{ podSelector: selectApp('api') }], ports: [{ port: 8080 }] }, { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 443 }] }] }),
    np('shop', 'api-ingress', { podSelector: selectApp('api'), ingress: [{ from: [{ podSelector: selectApp('web') }], ports: [{ port: 8080 }] }] }),
    np('shop', 'api-egress', { podSelector: selectApp('api'), policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } }, podSelector: selectApp('db') }], ports: [{ port: 5432 }] }] }),
    np('shop', 'batch-egress', { podSelector: selectApp('batch'), policyTypes: ['Egress'], egress: [{ to: [{ podSelector: {} }] }] }),
    np('payments', 'db-ingress', { podSelector: selectApp('db'), ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, podSelector: selectApp('api') }], ports: [{ port: 5432 }] }] }),
  ];
}

const world = (): Pick<LiveObjects, 'namespaces' | 'pods'> => ({ namespaces: [ns('shop'), ns('payments')], pods: [pod('shop', 'web'), pod('shop', 'api'), pod('shop', 'batch'), pod('payments', 'db')] });
const asGit = (objects: Obj[]): DesiredInput[] => objects.map((object) => ({ object: structuredClone(object) }));
const named = (objects: Obj[], name: string): Obj => objects.find((o) => (o.metadata as Obj).name === name) as Obj;

/** Live objects (list items carry no kind) from policies as written. */
function liveObjects(policies: Obj[], extra: Partial<LiveObjects> = {}): LiveObjects {
  const strip = (o: Obj): Obj => {
    const { kind: _kind, ...rest } = o;
    return rest;
  };
  return { ...world(), networkPolicies: policies.filter((p) => p.kind === 'NetworkPolicy').map(strip), adminNetworkPolicies: policies.filter((p) => p.kind === 'AdminNetworkPolicy').map(strip), ...extra };
}

/** compare → intended → delta, as the drift monitor chains them. */
function deltaOf(livePolicies: Obj[], gitPolicies: Obj[], options: Parameters<typeof compareState>[2] = {}): ConnectivityDelta & { report: DriftReport } {
  const live = liveObjects(livePolicies);
  const desired = asGit(gitPolicies);
  const report = compareState(livePolicies, desired, options);
  const { live: current, intended } = intendedObjects(live, desired, report);
  return { ...connectivityDelta(current, intended), report };
}

const brief = (lines: ConnectivityDelta['exposure']): string[] => lines.map((l) => `${l.src} → ${l.dst} ${l.conns}${l.external ? ' external' : ''}${l.crossNamespace ? ' cross' : ''}`);

describe('exposure and breakage', () => {
  it('a widened CIDR exposes an external range: high', () => {
    const live = design();
    ((named(live, 'web-egress').spec as Obj).egress as Obj[])[1] = { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443 }] };
    const delta = deltaOf(live, design());
    expect(delta.report.items.map((i) => i.status)).toEqual(['modified']);
    expect(brief(delta.exposure)).toEqual(['shop/web-0[Pod] → 0.0.0.0-9.255.255.255[External] TCP 443 external', 'shop/web-0[Pod] → 11.0.0.0-255.255.255.255[External] TCP 443 external']);
    expect(delta.breakage).toEqual([]);
    expect(delta.severity).toBe('high');
    expect(delta.why).toBe('2 connections Git does not allow are open (2 with an address outside the cluster).');
  });

  it('an exposure inside one namespace only: medium', () => {
    const live = design();
    (named(live, 'api-ingress').spec as Obj).ingress = [{ from: [{ podSelector: {} }], ports: [{ port: 8080 }] }];
    const delta = deltaOf(live, design());
    expect(brief(delta.exposure)).toEqual(['shop/batch-0[Pod] → shop/api-0[Pod] TCP 8080']);
    expect(delta.severity).toBe('medium');
    expect(delta.why).toBe('1 connection Git does not allow is open, within its namespace.');
  });

  it('a default deny missing from the cluster exposes across namespaces and from outside: high', () => {
    const delta = deltaOf(design().filter((p) => (p.metadata as Obj).name !== 'default-deny'), design());
    expect(delta.report.items.map((i) => i.status)).toEqual(['missing']);
    expect(delta.exposure.some((l) => l.crossNamespace && l.src === 'payments/db-0[Pod]' && l.dst === 'shop/web-0[Pod]')).toBe(true);
    expect(delta.exposure.some((l) => l.external && l.dst === 'shop/web-0[Pod]')).toBe(true);
    expect(delta.severity).toBe('high');
    expect(delta.why).toMatch(/^\d+ connections Git does not allow are open \(\d+ with an address outside the cluster and \d+ across namespaces\)\.$/);
  });

  it('an allow rule missing from the cluster breaks what Git allows: medium', () => {
    const delta = deltaOf(design().filter((p) => (p.metadata as Obj).name !== 'api-ingress'), design());
    expect(brief(delta.breakage)).toEqual(['shop/web-0[Pod] → shop/api-0[Pod] TCP 8080']);
    expect(delta.exposure).toEqual([]);
    expect(delta.severity).toBe('medium');
    expect(delta.why).toBe('1 connection Git allows is closed; nothing Git forbids is open.');
  });

  it('an extra allow-all in the cluster exposes the pods it selects', () => {
    const live = [...design(), np('shop', 'debug-open-web', { podSelector: selectApp('web'), ingress: [{}] })];
    const delta = deltaOf(live, design());
    expect(delta.report.items.map((i) => i.status)).toEqual(['extra']);
    expect(delta.exposure.map((l) => l.dst).every((d) => d === 'shop/web-0[Pod]')).toBe(true);
    expect(brief(delta.exposure.filter((l) => !l.external))).toEqual(['payments/db-0[Pod] → shop/web-0[Pod] All Connections cross', 'shop/batch-0[Pod] → shop/web-0[Pod] All Connections']);
    expect(delta.severity).toBe('high');
  });

  it('exposure and breakage together', () => {
    const live = design();
    (named(live, 'api-egress').spec as Obj).egress = [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } }, podSelector: selectApp('db') }], ports: [{ port: 5433 }] }];
    (named(live, 'db-ingress').spec as Obj).ingress = [{ from: [{ namespaceSelector: {} }], ports: [{ port: 5433 }] }];
    const delta = deltaOf(live, design());
    expect(brief(delta.breakage)).toEqual(['shop/api-0[Pod] → payments/db-0[Pod] TCP 5432 cross']);
    expect(brief(delta.exposure)).toEqual(['shop/api-0[Pod] → payments/db-0[Pod] TCP 5433 cross']);
    expect(delta.why).toBe('1 connection Git does not allow is open (1 across namespaces); 1 connection Git allows is closed.');
  });

  it('a drift that changes no connection: low', () => {
    const live = design();
    (named(live, 'web-egress').metadata as Obj).labels = { edited: 'by-hand' };
    ((named(live, 'web-egress').spec as Obj).egress as Obj[]).reverse();
    const delta = deltaOf(live, design());
    expect(delta.report.items.map((i) => i.status)).toEqual(['modified']);
    expect(delta).toMatchObject({ exposure: [], breakage: [], severity: 'low', why: 'The drift changes no connection between the live pods.' });
  });

  it('an AdminNetworkPolicy rule order drift (the engine’s full path): Allow before Deny opens shop → payments', () => {
    const rules = [
      { name: 'deny-payments', action: 'Deny', to: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } } }] },
      { name: 'allow-payments', action: 'Allow', to: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'payments' } } }] },
    ];
    const anp = (egress: Obj[]): Obj => ({ apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: 'shop-to-payments' }, spec: { priority: 5, subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } }, egress } });
    const delta = deltaOf([...design(), anp([...rules].reverse())], [...design(), anp(rules)]);
    expect(delta.report.items.map((i) => i.status)).toEqual(['modified']);
    expect(brief(delta.exposure)).toEqual(['shop/api-0[Pod] → payments/db-0[Pod] TCP 5432 cross']);
    expect(delta.severity).toBe('high');
  });
});

describe('the intended objects', () => {
  it('both sides leave out the bot’s containment: a quarantine in force is neither exposure nor breakage', () => {
    const quarantine = denyAllNetworkPolicy({ incidentId: 'inc-7', namespace: 'shop', labelSelector: selectApp('api'), dns: { keep: false, namespace: 'kube-system', podLabels: {} }, approvers: [] }) as unknown as Obj;
    const live = design();
    const apiIngress = named(live, 'api-ingress');
    (apiIngress.spec as Obj).podSelector = withExclusion((apiIngress.spec as Obj).podSelector);
    const delta = deltaOf([...live, quarantine], design());
    expect(delta.report.items).toEqual([]);
    expect(delta.report.containment.map((c) => c.what)).toEqual(['exclusion', 'containment-object']);
    expect(delta).toMatchObject({ exposure: [], breakage: [], severity: 'low' });

    const objects = liveObjects([...live, quarantine]);
    const { live: current, intended } = intendedObjects(objects, asGit(design()), delta.report);
    for (const side of [current, intended]) {
      expect(side.networkPolicies?.map((p) => ((p as Obj).metadata as Obj).name)).not.toContain('netpol-responder-quarantine-inc-7');
      expect(JSON.stringify(side.networkPolicies)).not.toContain('netpol-responder.io/quarantine');
    }
    // The input is left as it was.
    expect(JSON.stringify(objects.networkPolicies)).toContain('netpol-responder.io/quarantine');
  });

  it('missing added, extra removed, modified replaced; pods shared; the rest stays as live', () => {
    const gitPolicies = design();
    const live = design().filter((p) => (p.metadata as Obj).name !== 'batch-egress');
    (named(live, 'web-egress').spec as Obj).egress = [];
    live.push(np('shop', 'extra', { podSelector: {} }));
    const cilium = { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'l7', namespace: 'shop' }, spec: { endpointSelector: {}, ingress: [{}] } };
    const objects = liveObjects(live, { ciliumNetworkPolicies: [cilium] });
    const desired = asGit(gitPolicies);
    const report = compareState([...live, cilium], desired);
    const { live: current, intended } = intendedObjects(objects, desired, report);
    const names = (l: LiveObjects): string[] => (l.networkPolicies ?? []).map((p) => ((p as Obj).metadata as Obj).name as string).sort();
    expect(names(current)).toEqual(['api-egress', 'api-ingress', 'db-ingress', 'default-deny', 'extra', 'web-egress']);
    expect(names(intended)).toEqual(['api-egress', 'api-ingress', 'batch-egress', 'db-ingress', 'default-deny', 'web-egress']);
    expect((intended.networkPolicies ?? []).find((p) => ((p as Obj).metadata as Obj).name === 'web-egress')).toBe(named(desired.map((d) => d.object), 'web-egress'));
    expect(intended.pods).toBe(current.pods);
    expect(intended.namespaces).toBe(objects.namespaces);
    expect(intended.ciliumNetworkPolicies).toEqual([cilium]);
    // Unchanged policies are the same objects on both sides.
    expect((intended.networkPolicies ?? []).find((p) => ((p as Obj).metadata as Obj).name === 'db-ingress')).toBe((objects.networkPolicies ?? []).find((p) => ((p as Obj).metadata as Obj).name === 'db-ingress'));
  });

  it('ignored objects keep their live state in the intent', () => {
    const live = design();
    (named(live, 'db-ingress').spec as Obj).ingress = [{}];
    const delta = deltaOf(live, design(), { ignore: [{ namespaces: ['payments'] }] });
    expect(delta.report).toMatchObject({ items: [], ignored: 1 });
    expect(delta).toMatchObject({ exposure: [], breakage: [], severity: 'low' });
  });

  it('namespaces keep the lines with an end in them', () => {
    const live = design();
    (named(live, 'api-ingress').spec as Obj).ingress = [{ from: [{ podSelector: {} }], ports: [{ port: 8080 }] }];
    (named(live, 'db-ingress').spec as Obj).ingress = [{}];
    const desired = asGit(design());
    const report = compareState(live, desired);
    const { live: current, intended } = intendedObjects(liveObjects(live), desired, report);
    const all = connectivityDelta(current, intended);
    const payments = connectivityDelta(current, intended, { namespaces: ['pay*'] });
    expect(all.exposure.some((l) => l.dst === 'shop/api-0[Pod]')).toBe(true);
    expect(payments.exposure.length).toBeGreaterThan(0);
    expect(payments.exposure.every((l) => l.src.startsWith('payments/') || l.dst.startsWith('payments/'))).toBe(true);
    expect(connectivityDelta(current, intended, { namespaces: ['other'] })).toMatchObject({ exposure: [], breakage: [], severity: 'low' });
  });

  it("an episode's delta (driftDelta, the monitor's task): lines as shown, limited to the drifted objects' namespaces", () => {
    const live = design();
    (named(live, 'api-ingress').spec as Obj).ingress = [{ from: [{ podSelector: {} }], ports: [{ port: 8080 }] }];
    (named(live, 'db-ingress').spec as Obj).ingress = [{}];
    const desired = asGit(design());
    const report = compareState(live, desired);
    const paymentsOnly = { ...report, items: report.items.filter((i) => i.key.namespace === 'payments') };
    const { live: current, intended } = intendedObjects(liveObjects(live), desired, paymentsOnly);
    const expected = connectivityDelta(current, intended, { namespaces: ['payments'] });
    const summary = driftDelta({ live: liveObjects(live), desired, report: paymentsOnly });
    expect(summary).toEqual({ exposure: expected.exposure.map((l) => `${l.src} → ${l.dst} ${l.conns}`), breakage: [], severity: expected.severity, why: expected.why });
    expect(summary.exposure.length).toBeGreaterThan(0);
    expect(summary.exposure.every((l) => /(^payments\/|→ payments\/)/.test(l))).toBe(true);
    // Only the drifted objects' versions in Git are read: the monitor sends no others.
    const drifted = desired.filter((d) => (d.object.metadata as Obj).namespace === 'payments');
    expect(driftDelta({ live: liveObjects(live), desired: drifted, report: paymentsOnly })).toEqual(summary);
  });

  it('hostile live items do not stop the delta', () => {
    const objects = { ...liveObjects(design()), networkPolicies: [...(liveObjects(design()).networkPolicies ?? []), null, 'x', { metadata: { name: 'no-spec', namespace: 'shop' }, spec: 'bad' }] };
    const report = compareState([], []);
    const { live: current, intended } = intendedObjects(objects, [], report);
    expect(connectivityDelta(current, intended)).toMatchObject({ exposure: [], breakage: [], severity: 'low' });
  });
});

/** Per workload end and connections: the number of outside addresses covered, and the workload pairs. */
function coverage(lines: string[][]): Record<string, string> {
  const out: Record<string, bigint | string> = {};
  const size = (e: string): bigint | undefined => {
    const m = /^([\d.]+)-([\d.]+)\[External\]$/.exec(e);
    if (!m) return undefined;
    const n = (ip: string): bigint => ip.split('.').reduce((a, b) => a * 256n + BigInt(b), 0n);
    return n(m[2] as string) - n(m[1] as string) + 1n;
  };
  for (const [src, dst, conns] of lines as Array<[string, string, string]>) {
    const s = size(src) ?? size(dst);
    if (s === undefined) out[`${src} ${dst} ${conns}`] = 'pair';
    else {
      const key = size(src) !== undefined ? `* → ${dst} ${conns}` : `${src} → * ${conns}`;
      out[key] = ((out[key] as bigint | undefined) ?? 0n) + s;
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, String(v)]));
}

describe('the incremental engine path gives what two full evaluations give', () => {
  it.each([
    ['a few changes, applied to the live index one by one', 1, 37, 53],
    ['a few changes, another cluster', 2, 41, 59],
    ['many changes, a second index', 3, 4, 9],
  ])('%s', (_name, seed, modifyEvery, dropEvery) => {
    const objects = syntheticCluster({ pods: 300, policiesPerPod: 1, seed, openNamespaces: 0 }) as Obj[];
    const gitPolicies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const live = structuredClone(gitPolicies);
    // Deterministic drifts: widen ingresses to all sources, drop policies, add an open one.
    live.forEach((p, i) => {
      const spec = p.spec as Obj;
      if (i % modifyEvery === 0 && Array.isArray(spec.ingress)) spec.ingress = [{}];
    });
    const trimmed = live.filter((_, i) => i % dropEvery !== 1);
    trimmed.push(np('ns-0', 'open-egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] }));
    const lo: LiveObjects = {
      namespaces: objects.filter((o) => o.kind === 'Namespace'),
      pods: objects.filter((o) => o.kind === 'Pod'),
      networkPolicies: trimmed,
    };
    const desired = asGit(gitPolicies);
    const report = compareState(trimmed, desired);
    expect(report.items.length).toBeGreaterThan(3);
    if (modifyEvery < 10) expect(report.items.length).toBeGreaterThan(40);
    else expect(report.items.length).toBeLessThanOrEqual(20);
    const { live: current, intended } = intendedObjects(lo, desired, report);
    const delta = connectivityDelta(current, intended);
    // Other pod lists (equal, but not the same objects) take the engine's plain path: two full indexes.
    const full = connectivityDelta({ ...current, pods: [...(current.pods ?? [])] }, intended);
    expect(delta).toEqual(full);
    // Lines cut at adjacent address blocks are joined, covering exactly what the engine's diff covers.
    const raw = diffConnectivity(buildIndex(intended).index, buildIndex(current).index, { externalRanges: 'merged' });
    expect(coverage(delta.exposure.map((l) => [l.src, l.dst, l.conns]))).toEqual(coverage(raw.opened.map((c) => [c.src, c.dst, c.opened.toString()])));
    expect(coverage(delta.breakage.map((l) => [l.src, l.dst, l.conns]))).toEqual(coverage(raw.closed.map((c) => [c.src, c.dst, c.closed.toString()])));
    expect(delta.exposure.length).toBeLessThan(raw.opened.length);
    expect(delta.exposure.length + delta.breakage.length).toBeGreaterThan(0);
    // The index the work ended with is the intended policies' (the validation asks it the intended verdicts).
    const indexed = connectivityDeltaIndexed(current, intended);
    expect(indexed.delta).toEqual(delta);
    const unlike = diffConnectivity(indexed.intendedIndex!, buildIndex(intended).index, { externalRanges: 'merged' });
    expect([unlike.opened, unlike.closed]).toEqual([[], []]);
    // With a compile memo, twice (the second time from what the first compiled): the same delta.
    const memo: CompileMemo = new WeakMap();
    expect(connectivityDelta(current, intended, { memo })).toEqual(delta);
    expect(connectivityDelta(current, intended, { memo })).toEqual(delta);
  });

  it('no intended index when the intended policies are the live ones: the live index answers for both', () => {
    const report = compareState(design(), asGit(design()));
    expect(report.items).toEqual([]);
    const { live: current, intended } = intendedObjects(liveObjects(design()), asGit(design()), report);
    const indexed = connectivityDeltaIndexed(current, intended);
    expect(indexed.intendedIndex).toBeUndefined();
    expect(indexed.delta).toMatchObject({ exposure: [], breakage: [], severity: 'low' });
  });
});
