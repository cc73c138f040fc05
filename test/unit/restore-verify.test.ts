// The pure parts of executing a restore step: who owns which fields (apply conflicts and
// managedFields), the object check (normalised read-back against the intent, containment kept),
// and the engine check: measured on the live state after each step of a plan, the change equals
// the planner's own prediction, for NetworkPolicies with address blocks, AdminNetworkPolicies and
// CiliumNetworkPolicies; a wrong prediction is named line by line.
import { describe, expect, it } from 'vitest';
import { withExclusion } from '../../src/containment/exclusion.js';
import { keyString } from '../../src/drift/compare.js';
import type { LiveObjects } from '../../src/policy/index.js';
import type { EngineKind } from '../../src/restore/engine.js';
import { stepProblem } from '../../src/restore/execute.js';
import { describeOwners, keptFields, leafPaths, ownersFromConflict, pathsOfFieldsV1, UNKNOWN_MANAGER } from '../../src/restore/ownership.js';
import { planRestore, type KnownGood } from '../../src/restore/plan.js';
import { LIST_OF_KIND } from '../../src/restore/scope.js';
import { engineCheck, measureDelta, objectCheck, withObject } from '../../src/restore/verify.js';
import { shopObjects, shopPolicyObjects } from '../../src/sim/scenarios/shop.js';
import { anp, cnp, netpol } from '../helpers/policy.js';

type Obj = Record<string, unknown>;

const strip = (o: Obj): Obj => {
  const { kind: _kind, ...rest } = o;
  return rest;
};
const nameOf = (o: Obj): string => String((o.metadata as Obj).name);

describe('ownersFromConflict', () => {
  it('groups the FieldManagerConflict causes by manager, sorted; other causes are not owners', () => {
    const causes = [
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using networking.k8s.io/v1', field: '.spec.ingress' },
      { reason: 'FieldManagerConflict', message: 'conflict with "argocd-controller" using networking.k8s.io/v1', field: '.metadata.labels.team' },
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using networking.k8s.io/v1', field: '.spec.egress' },
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using networking.k8s.io/v1', field: '.spec.egress' },
      { reason: 'FieldValueInvalid', message: 'conflict with "nobody"', field: '.spec' },
    ];
    const owners = ownersFromConflict(causes);
    expect(owners).toEqual([
      { manager: 'argocd-controller', fields: ['.metadata.labels.team'] },
      { manager: 'kubectl-edit', fields: ['.spec.egress', '.spec.ingress'] },
    ]);
    expect(describeOwners(owners)).toBe('argocd-controller (.metadata.labels.team); kubectl-edit (.spec.egress, .spec.ingress)');
  });

  it('a cause without a manager in quotes, or without a field, still says what it can', () => {
    expect(ownersFromConflict([{ reason: 'FieldManagerConflict', message: 'conflict' }])).toEqual([{ manager: UNKNOWN_MANAGER, fields: [] }]);
    expect(ownersFromConflict([])).toEqual([]);
  });
});

describe('pathsOfFieldsV1', () => {
  it('reads fields, maps and list items (which end the path at their list)', () => {
    const fields = { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:team': {} } }, 'f:spec': { 'f:ingress': {}, 'f:ports': { 'k:{"port":80}': { '.': {}, 'f:port': {} } }, 'f:podSelector': {} } };
    expect(pathsOfFieldsV1(fields)).toEqual([['metadata', 'labels', 'app'], ['metadata', 'labels', 'team'], ['spec', 'ingress'], ['spec', 'ports'], ['spec', 'podSelector']]);
  });

  it('hostile input: not an object, a list, nesting past the bound', () => {
    expect(pathsOfFieldsV1(null)).toEqual([]);
    expect(pathsOfFieldsV1(['f:spec'])).toEqual([]);
    expect(pathsOfFieldsV1('f:spec')).toEqual([]);
    let deep: Obj = {};
    for (let i = 0; i < 200; i++) deep = { [`f:x${i}`]: deep };
    const paths = pathsOfFieldsV1(deep);
    expect(paths).toHaveLength(1);
    expect(paths[0]!.length).toBeLessThanOrEqual(66);
  });
});

describe('keptFields: what an apply would leave because someone else owns it', () => {
  const intent = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'db', labels: { app: 'x' } }, spec: { podSelector: {}, ingress: [{}] } };
  const managed = (entries: Array<[string, string, Obj]>) => entries.map(([manager, operation, fieldsV1]) => ({ manager, operation, fieldsType: 'FieldsV1', fieldsV1 }));

  it('names the owners of the fields the intent lacks; the applier’s own Apply entry is not one', () => {
    const result = {
      ...intent,
      metadata: {
        ...intent.metadata,
        labels: { app: 'x', debug: 'on', 'kustomize.toolkit.fluxcd.io/name': 'apps' },
        managedFields: managed([
          ['netpol-responder', 'Apply', { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:podSelector': {}, 'f:ingress': {} } }],
          ['kubectl-label', 'Update', { 'f:metadata': { 'f:labels': { 'f:debug': {} } } }],
          ['kubectl-edit', 'Update', { 'f:spec': { 'f:egress': {}, 'f:policyTypes': {} } }],
        ]),
      },
      spec: { ...intent.spec, egress: [{}], policyTypes: ['Ingress', 'Egress'] },
    };
    expect(keptFields(result, intent, 'netpol-responder')).toEqual([
      { manager: 'kubectl-edit', fields: ['.spec.egress', '.spec.policyTypes'] },
      { manager: 'kubectl-label', fields: ['.metadata.labels.debug'] },
    ]);
  });

  it('a field nobody claims is named as such; nothing kept, no owner', () => {
    const result = { ...intent, spec: { ...intent.spec, egress: [{}] } };
    expect(keptFields(result, intent, 'netpol-responder')).toEqual([{ manager: UNKNOWN_MANAGER, fields: ['.spec.egress'] }]);
    expect(keptFields(intent, intent, 'netpol-responder')).toEqual([]);
  });

  it('leafPaths: lists are leaves, tools’ marks are not intent', () => {
    expect(leafPaths({ kind: 'K', metadata: { labels: { a: '1', 'app.kubernetes.io/instance': 'argo' }, annotations: { b: '2' } }, spec: { x: { y: 1 }, l: [1, 2], e: {}, n: null } })).toEqual([
      ['spec', 'x', 'y'],
      ['spec', 'l'],
      ['spec', 'e'],
      ['metadata', 'labels', 'a'],
      ['metadata', 'annotations', 'b'],
    ]);
  });
});

describe('objectCheck', () => {
  const intent = netpol('db', 'p', { podSelector: { matchLabels: { app: 'x' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 80 }, { protocol: 'UDP', port: 53 }] }] });

  it('equal after normalisation: server metadata, defaults, set order', () => {
    const served = { ...intent, metadata: { ...(intent.metadata as Obj), uid: 'u', resourceVersion: '7', managedFields: [{}] }, spec: { podSelector: { matchLabels: { app: 'x' } }, ingress: [{ ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 80 }] }] }, status: {} };
    expect(objectCheck(intent, served)).toEqual({ ok: true, detail: 'object: equal to the intent after normalisation' });
  });

  it('says which part differs', () => {
    const other = { ...intent, metadata: { ...(intent.metadata as Obj), labels: { x: 'y' } }, spec: { podSelector: {} } };
    expect(objectCheck(intent, other)).toEqual({ ok: false, detail: 'object: the read-back differs from the intent: metadata.labels, spec' });
  });

  it('the bot’s containment: kept where the intent keeps it, and not added where it does not', () => {
    const contained = { ...intent, spec: { ...(intent.spec as Obj), podSelector: withExclusion((intent.spec as Obj).podSelector) } };
    expect(objectCheck(contained, contained).detail).toBe('object: equal to the intent after normalisation (containment kept until the lift)');
    expect(objectCheck(contained, intent)).toMatchObject({ ok: false, detail: expect.stringContaining('containment is gone from it') });
    expect(objectCheck(intent, contained)).toMatchObject({ ok: false, detail: expect.stringContaining('containment is still on it') });
  });

  it('gone and present; objects that cannot be normalised', () => {
    expect(objectCheck(null, null).ok).toBe(true);
    expect(objectCheck(null, intent)).toMatchObject({ ok: false, detail: 'object: still there (resourceVersion unknown)' });
    expect(objectCheck(intent, null)).toEqual({ ok: false, detail: 'object: not found on read-back' });
    expect(objectCheck(intent, { kind: 'NetworkPolicy', metadata: {} })).toMatchObject({ ok: false, detail: expect.stringContaining('read-back cannot be normalised (no metadata.name)') });
    expect(objectCheck({ kind: 'NetworkPolicy', metadata: { name: 'p' }, spec: [] } as Obj, intent)).toMatchObject({ ok: false, detail: expect.stringContaining('intended object cannot be normalised') });
  });
});

describe('engineCheck', () => {
  it('compares as sets and names each difference, a few lines at a time', () => {
    expect(engineCheck({ opened: ['a', 'b'], closed: [] }, { opened: ['b', 'a', 'a'], closed: [] })).toEqual({ ok: true, detail: 'engine: opened 3 connections and closed 0 connections, as predicted' });
    const many = Array.from({ length: 8 }, (_, i) => `x${i}`);
    const check = engineCheck({ opened: ['a'], closed: ['c'] }, { opened: ['b', ...many], closed: [] });
    expect(check.ok).toBe(false);
    expect(check.detail).toBe('engine: opened but not predicted: b; x0; x1; x2; x3; … 4 more | predicted opened but not: a | predicted closed but not: c');
  });
});

/** Walks a plan on the live objects: each step's change, measured, equals its prediction. */
function walk(live: LiveObjects, knownGood: KnownGood, namespaces: string[]): number {
  const plan = planRestore({ live, knownGood, namespaces });
  let state = live;
  for (const step of plan.steps) {
    const kind = step.kind as EngineKind;
    const list = LIST_OF_KIND[kind];
    const current = ((state[list] ?? []) as Obj[]).find((o) => nameOf(o) === step.name && (step.namespace === undefined || (o.metadata as Obj).namespace === step.namespace)) ?? null;
    const measured = measureDelta(state, kind, step.key, current, step.after);
    expect(measured, `step ${step.n} ${keyString(step.key)}`).toEqual({ opened: step.opened, closed: step.closed });
    expect(engineCheck(step, measured).ok).toBe(true);
    state = withObject(state, kind, step.key, step.after);
  }
  return plan.steps.length;
}

function shopLive(edit: (policies: Obj[]) => Obj[], extra: Partial<LiveObjects> = {}): LiveObjects {
  const objects = shopObjects() as Obj[];
  const of = (kind: string): Obj[] => objects.filter((o) => o.kind === kind).map(strip);
  return { namespaces: of('Namespace'), pods: of('Pod'), networkPolicies: edit(objects.filter((o) => o.kind === 'NetworkPolicy').map(strip)), ...extra };
}

const git = (objects: object[]): KnownGood => ({ label: 'git', objects: objects.map((object) => ({ object: object as Obj })) });

describe('measureDelta equals the planner’s prediction, step after step', () => {
  it('the shop after an incident: deleted, edited (under containment) and extra policies', () => {
    const live = shopLive((policies) => {
      const kept = policies.filter((p) => !['allow-api-to-db', 'allow-db-from-api'].includes(nameOf(p)));
      const web = kept.find((p) => nameOf(p) === 'allow-web-ingress') as Obj;
      web.spec = { ...(web.spec as Obj), podSelector: withExclusion((web.spec as Obj).podSelector), ingress: [{ ports: [{ protocol: 'TCP', port: 9090 }] }] };
      return [...kept, strip(netpol('db', 'allow-all-egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] }))];
    });
    expect(walk(live, git(shopPolicyObjects()), ['frontend', 'api', 'db'])).toBe(4);
  });

  it('address blocks cut differently at each end (except, overlapping and adjacent blocks)', () => {
    const egress = (cidrs: Array<{ cidr: string; except?: string[] }>) => ({ podSelector: { matchLabels: { tier: 'db' } }, policyTypes: ['Egress'], egress: cidrs.map((ipBlock) => ({ to: [{ ipBlock }], ports: [{ protocol: 'TCP', port: 443 }] })) });
    const live = shopLive((policies) => [
      ...policies,
      strip(netpol('db', 'backup-egress', egress([{ cidr: '10.0.0.0/9' }, { cidr: '192.168.0.0/16' }]))),
      strip(netpol('db', 'open-ingress', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '172.16.0.0/12' } }] }] })),
    ]);
    const knownGood = [
      ...shopPolicyObjects(),
      netpol('db', 'backup-egress', egress([{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.200.0.0/13'] }])),
      netpol('api', 'monitoring', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '10.2.0.0/16' } }, { ipBlock: { cidr: '10.3.0.0/16' } }] }] }),
    ];
    expect(walk(live, git(knownGood), ['frontend', 'api', 'db'])).toBe(3);
  });

  it('an AdminNetworkPolicy and a CiliumNetworkPolicy (the engine rebuilds its index for them)', () => {
    const denyDb = anp('deny-db-from-frontend', 10, { subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } } }, ingress: [{ name: 'no-frontend', action: 'Deny', from: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'frontend' } } }] }] });
    const passDb = { ...denyDb, spec: { ...(denyDb.spec as Obj), ingress: [{ name: 'no-frontend', action: 'Pass', from: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'frontend' } } }] }] } };
    const cilium = cnp('api', 'orders-egress', { endpointSelector: { matchLabels: { app: 'orders' } }, egress: [{ toCIDR: ['203.0.113.0/24'], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }] });
    const live = shopLive((p) => p, { adminNetworkPolicies: [strip(passDb)], ciliumNetworkPolicies: [] });
    expect(walk(live, { ...git([...shopPolicyObjects(), denyDb, cilium]), kinds: ['NetworkPolicy', 'AdminNetworkPolicy', 'CiliumNetworkPolicy'] }, ['frontend', 'api', 'db'])).toBe(2);
  });

  it('a wrong model of the read-back is a measurement that fails, not a pass', () => {
    const live = shopLive((p) => p);
    expect(() => measureDelta(live, 'NetworkPolicy', { kind: 'NetworkPolicy', namespace: 'db', name: 'x' }, null, netpol('db', 'x', { podSelector: { matchExpressions: [{ key: 'a', operator: 'Sideways' }] } }))).toThrow(/cannot read the NetworkPolicy db\/x read back object/);
  });
});

describe('stepProblem', () => {
  const step = { n: 1, action: 'delete', key: { kind: 'AdminNetworkPolicy', name: 'a' }, kind: 'AdminNetworkPolicy', name: 'a', before: {}, after: null, opened: [], closed: [], resourceVersion: '5' };
  it('a cluster-scoped kind takes no namespace; hostile shapes are refused with a reason', () => {
    expect(stepProblem(step)).toBeUndefined();
    expect(stepProblem({ ...step, key: { ...step.key, namespace: 'db' }, namespace: 'db' })).toMatch(/cluster-scoped: the key takes no namespace/);
    expect(stepProblem({ ...step, n: 1.5 })).toMatch(/positive integer/);
    expect(stepProblem({ ...step, n: '1' })).toMatch(/positive integer/);
    expect(stepProblem({ ...step, key: { kind: '__proto__', name: 'a' } })).toMatch(/policy kind the engine models/);
    expect(stepProblem({ ...step, after: { kind: 'AdminNetworkPolicy', metadata: { name: 'a' } } })).toMatch(/a delete has no object to apply/);
    expect(stepProblem({ ...step, resourceVersion: '' })).toMatch(/needs the resourceVersion/);
    expect(stepProblem({ ...step, closed: 'x' })).toMatch(/closed must be a list/);
    expect(stepProblem([])).toBe('not a restore step');
  });
});
