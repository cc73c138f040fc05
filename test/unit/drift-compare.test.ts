// Live policies against Git, object by object: in sync when only server defaults and noise
// differ; missing, extra or modified with a compact field diff otherwise; the bot's containment
// apart; ignore rules and namespace limits; hostile input skipped with a reason; 10k objects fast.
import { describe, expect, it } from 'vitest';
import { withExclusion } from '../../src/containment/exclusion.js';
import { denyAllNetworkPolicy } from '../../src/containment/objects.js';
import { compareState, formatFieldDiff, globMatches, keyString, objectKeyOf, type DesiredInput, type DriftItem, type FieldDiff } from '../../src/drift/compare.js';
import { Catalog } from '../../src/sim/kube/catalog.js';
import { applyDefaults } from '../../src/sim/kube/defaults.js';
import { resourceForKind, type ResourceType } from '../../src/sim/kube/resources.js';
import { seedObjects } from '../../src/sim/kube/seed.js';
import { ObjectStore, type KubeObject } from '../../src/sim/kube/store.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';

type Obj = Record<string, unknown>;

const NETWORK_POLICIES = resourceForKind('NetworkPolicy') as ResourceType;

function served(objects: Obj[]): Obj[] {
  return seedObjects(new ObjectStore(() => new Date('2026-03-01T10:00:00Z')), new Catalog({ adminNetworkPolicy: true, cni: 'cilium' }), objects, 'kubectl');
}

function np(name: string, spec: Obj, metadata: Obj = {}): Obj {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'shop', ...metadata }, spec };
}

function anp(name: string, spec: Obj, metadata: Obj = {}): Obj {
  return { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name, ...metadata }, spec: { priority: 10, subject: { namespaces: {} }, ...spec } };
}

const git = (...objects: Obj[]): DesiredInput[] => objects.map((object) => ({ object, source: { repository: 'policies', path: `shop/${(object.metadata as Obj).name as string}.yaml`, via: 'plain' as const } }));

const egressTo = (cidr: string): Obj => ({ podSelector: { matchLabels: { app: 'web' } }, egress: [{ to: [{ ipBlock: { cidr } }], ports: [{ port: 443 }] }] });

function modified(items: DriftItem[]): Extract<DriftItem, { status: 'modified' }> {
  const item = items[0];
  if (item?.status !== 'modified') throw new Error(`expected one modified item, got ${JSON.stringify(items.map((i) => i.status))}`);
  return item;
}

describe('in sync', () => {
  it('objects as the API server returns them match the Git manifests they came from', () => {
    const desired = [np('web', egressTo('10.0.0.0/8')), np('deny', { podSelector: {} }), anp('tenants', { ingress: [{ name: 'a', action: 'Deny', from: [{ namespaces: {} }], ports: [{ portNumber: { port: 22 } }] }] })];
    const live = served(structuredClone(desired));
    const report = compareState(live, git(...desired));
    expect(report).toEqual({ items: [], containment: [], ignored: 0, compared: 3, skipped: [] });
  });

  it('reordered peers, ports and NetworkPolicy rules are no drift', () => {
    const spec = { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }, { ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] }, {}] };
    const live = np('web', { podSelector: {}, ingress: [{}, { ports: [{ port: 53, protocol: 'UDP' }, { port: 80 }], from: [{ ipBlock: { cidr: '10.0.0.0/8' } }, { podSelector: { matchLabels: { app: 'a' } } }] }] });
    expect(compareState([live], git(np('web', spec))).items).toEqual([]);
  });
});

describe('drift', () => {
  it('a widened CIDR is one changed field, Git → live', () => {
    const [live] = served([np('web', egressTo('0.0.0.0/0'))]);
    const item = modified(compareState([live as Obj], git(np('web', egressTo('10.0.0.0/8')))).items);
    expect(item.key).toEqual({ kind: 'NetworkPolicy', namespace: 'shop', name: 'web' });
    expect(item.diff).toEqual([{ path: 'spec.egress[0].to[0].ipBlock.cidr', op: 'changed', live: '0.0.0.0/0', desired: '10.0.0.0/8' }]);
    expect(formatFieldDiff(item.diff)).toEqual(['~ spec.egress[0].to[0].ipBlock.cidr: 10.0.0.0/8 → 0.0.0.0/0']);
    expect(item.source).toEqual({ repository: 'policies', path: 'shop/web.yaml', via: 'plain' });
    expect(item.live).toBe(live);
  });

  it('set-like lists show added and removed elements at their written positions, not index shifts', () => {
    const desired = np('web', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }, { podSelector: { matchLabels: { app: 'b' } } }], ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] }] });
    const live = np('web', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }, { namespaceSelector: {} }, { podSelector: { matchLabels: { app: 'a' } } }], ports: [{ port: 80 }] }] });
    const item = modified(compareState([live], git(desired)).items);
    expect(formatFieldDiff(item.diff)).toEqual(['+ spec.ingress[0].from[1]: {namespaceSelector: {}}', '- spec.ingress[0].ports[1]: {port: 53, protocol: UDP}']);
  });

  it('a changed element of a set is paired with its counterpart and diffed inside', () => {
    const desired = np('web', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }] }, { from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }] });
    const live = np('web', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.2.0.0/16'] } }] }, { from: [{ podSelector: { matchLabels: { app: 'a' } } }] }] });
    expect(formatFieldDiff(modified(compareState([live], git(desired)).items).diff)).toEqual(['~ spec.ingress[0].from[0].ipBlock.except[0]: 10.1.0.0/16 → 10.2.0.0/16']);
  });

  it('AdminNetworkPolicy rule order is drift, shown by rule name', () => {
    const allow = { name: 'allow-dns', action: 'Allow', to: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }] };
    const deny = { name: 'deny-all', action: 'Deny', to: [{ namespaces: {} }] };
    const item = modified(compareState([anp('egress', { egress: [deny, allow] })], git(anp('egress', { egress: [allow, deny] }))).items);
    expect(item.diff).toEqual([{ path: 'spec.egress', op: 'changed', live: ['deny-all', 'allow-dns'], desired: ['allow-dns', 'deny-all'], reordered: true }]);
    expect(formatFieldDiff(item.diff)).toEqual(['~ spec.egress: order [allow-dns, deny-all] → [deny-all, allow-dns]']);
  });

  it('an AdminNetworkPolicy rule inserted first is one added line, not a shift of every rule', () => {
    const rules = ['a', 'b', 'c'].map((name) => ({ name, action: 'Pass', to: [{ namespaces: { matchLabels: { team: name } } }] }));
    const inserted = { name: 'open', action: 'Allow', to: [{ networks: ['0.0.0.0/0'] }] };
    const item = modified(compareState([anp('egress', { egress: [inserted, ...rules] })], git(anp('egress', { egress: rules }))).items);
    expect(formatFieldDiff(item.diff)).toEqual(['+ spec.egress[0]: {name: open, action: Allow, to: [{networks: [0.0.0.0/0]}]}']);
  });

  it('labels, annotations and the pod selector are fields like any other', () => {
    const desired = np('web', { podSelector: { matchLabels: { app: 'web' } } }, { labels: { team: 'web', 'app.kubernetes.io/part-of': 'shop' } });
    const live = np('web', { podSelector: { matchLabels: { app: 'web', tier: 'front' } } }, { labels: { team: 'data' }, annotations: { note: 'edited by hand' } });
    expect(formatFieldDiff(modified(compareState([live], git(desired)).items).diff)).toEqual([
      '+ metadata.annotations: {note: edited by hand}',
      '- metadata.labels["app.kubernetes.io/part-of"]: shop',
      '~ metadata.labels.team: web → data',
      '+ spec.podSelector.matchLabels.tier: front',
    ]);
  });

  it('missing and extra objects, sorted by key', () => {
    const report = compareState([np('b-extra', { podSelector: {} })], git(np('a-missing', { podSelector: {} }), anp('z-missing', {})));
    expect(report.items.map((i) => [i.status, keyString(i.key)])).toEqual([
      ['missing', 'AdminNetworkPolicy z-missing'],
      ['missing', 'NetworkPolicy shop/a-missing'],
      ['extra', 'NetworkPolicy shop/b-extra'],
    ]);
    expect(report.items[0]).toMatchObject({ source: { path: 'shop/z-missing.yaml' } });
    expect(report.compared).toBe(3);
  });

  it('the last of two desired objects with one identity wins (what kubectl apply -f dir/ leaves)', () => {
    const report = compareState([np('web', egressTo('10.0.0.0/8'))], git(np('web', egressTo('0.0.0.0/0')), np('web', egressTo('10.0.0.0/8'))));
    expect(report).toMatchObject({ items: [], compared: 1 });
  });

  it('a desired object without a namespace takes the renderer’s, else "default"', () => {
    const bare = np('web', { podSelector: {} }, { namespace: undefined });
    expect(compareState([np('web', { podSelector: {} })], [{ object: bare, namespace: 'shop' }]).items).toEqual([]);
    expect(compareState([np('web', { podSelector: {} }, { namespace: 'default' })], [{ object: bare }]).items).toEqual([]);
  });
});

describe('the bot containment is reported apart', () => {
  const quarantine = denyAllNetworkPolicy({ incidentId: 'inc-42', namespace: 'shop', dns: { keep: true, namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } }, approvers: ['U1'] }) as unknown as Obj;
  const desired = np('web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] });
  const patched = (change?: (o: Obj) => void): Obj => {
    const live = structuredClone(desired);
    (live.spec as Obj).podSelector = withExclusion((live.spec as Obj).podSelector);
    (live.metadata as Obj).annotations = { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' };
    change?.(live);
    return live;
  };

  it('a containment object is containment in place, never extra', () => {
    const report = compareState([quarantine, desired], git(desired));
    expect(report.items).toEqual([]);
    expect(report.containment).toEqual([{ key: { kind: 'NetworkPolicy', namespace: 'shop', name: 'netpol-responder-quarantine-inc-42' }, incident: 'inc-42', what: 'containment-object' }]);
    expect(report.compared).toBe(1);
  });

  it('the exclusion patch (with its Flux suspension) is containment, not a modification', () => {
    const report = compareState([patched()], git(desired));
    expect(report.items).toEqual([]);
    expect(report.containment).toEqual([{ key: { kind: 'NetworkPolicy', namespace: 'shop', name: 'web' }, what: 'exclusion', fluxSuspended: true }]);
  });

  it('a real change on a patched policy is drift, and the patch still containment', () => {
    const report = compareState([patched((o) => ((o.spec as Obj).ingress = []))], git(desired));
    expect(formatFieldDiff(modified(report.items).diff)).toEqual(['- spec.ingress: [{}]']);
    expect(report.containment).toHaveLength(1);
  });

  it('a Flux suspension someone else set is drift', () => {
    const live = structuredClone(desired);
    (live.metadata as Obj).annotations = { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' };
    const report = compareState([live], git(desired));
    expect(formatFieldDiff(modified(report.items).diff)).toEqual(['+ metadata.annotations: {"kustomize.toolkit.fluxcd.io/reconcile": disabled}']);
    expect(report.containment).toEqual([]);
  });
});

describe('scope and ignore rules', () => {
  const live = [
    np('web', { podSelector: {} }, { labels: { team: 'web' } }),
    np('api', { podSelector: {} }, { namespace: 'payments', labels: { team: 'pay', tier: 'api' } }),
    np('api', { podSelector: {} }, { namespace: 'payments-staging' }),
    anp('cluster-wide', {}),
    { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'l7', namespace: 'shop' }, spec: { endpointSelector: {}, ingress: [{}] } },
  ];
  const desired = git(anp('baseline', {}), np('kept', { podSelector: {} }, { namespace: 'payments' }));
  const extra = (options: Parameters<typeof compareState>[2]): string[] => compareState(live, desired, options).items.filter((i) => i.status === 'extra').map((i) => keyString(i.key));

  it('every policy of a managed kind is compared by default; kinds Git has none of are not', () => {
    expect(extra({})).toEqual(['AdminNetworkPolicy cluster-wide', 'NetworkPolicy payments-staging/api', 'NetworkPolicy payments/api', 'NetworkPolicy shop/web']);
    expect(extra({ kinds: ['NetworkPolicy', 'CiliumNetworkPolicy'] })).toContain('CiliumNetworkPolicy shop/l7');
  });

  it('namespaces (globs) limit the comparison; cluster-scoped objects only with "*"', () => {
    expect(extra({ namespaces: ['payments*'] })).toEqual(['NetworkPolicy payments-staging/api', 'NetworkPolicy payments/api']);
    expect(extra({ namespaces: ['shop', '*'] })).toHaveLength(4);
    expect(extra({ namespaces: [] })).toEqual([]);
    expect(compareState(live, desired, { namespaces: ['shop'] }).compared).toBe(1);
  });

  it.each([
    ['namespaces', { namespaces: ['payments'] }, ['AdminNetworkPolicy cluster-wide', 'NetworkPolicy payments-staging/api', 'NetworkPolicy shop/web'], 2],
    ['namespace globs', { namespaces: ['pay*'] }, ['AdminNetworkPolicy cluster-wide', 'NetworkPolicy shop/web'], 3],
    ['names', { names: ['web'] }, ['AdminNetworkPolicy cluster-wide', 'NetworkPolicy payments-staging/api', 'NetworkPolicy payments/api'], 1],
    ['name globs', { names: ['*-wide', 'a*'] }, ['NetworkPolicy shop/web'], 3],
    ['kinds', { kinds: ['AdminNetworkPolicy'] }, ['NetworkPolicy payments-staging/api', 'NetworkPolicy payments/api', 'NetworkPolicy shop/web'], 2],
    ['matchLabels', { labelSelector: { matchLabels: { team: 'pay' } } }, ['AdminNetworkPolicy cluster-wide', 'NetworkPolicy payments-staging/api', 'NetworkPolicy shop/web'], 1],
    ['matchExpressions', { labelSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['web', 'pay'] }] } }, ['AdminNetworkPolicy cluster-wide', 'NetworkPolicy payments-staging/api'], 2],
    ['every field of a rule at once', { namespaces: ['payments*'], names: ['api'], labelSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } }, ['AdminNetworkPolicy cluster-wide', 'NetworkPolicy payments/api', 'NetworkPolicy shop/web'], 1],
    ['an empty rule ignores nothing', {}, ['AdminNetworkPolicy cluster-wide', 'NetworkPolicy payments-staging/api', 'NetworkPolicy payments/api', 'NetworkPolicy shop/web'], 0],
  ])('ignore by %s', (_name, rule, remaining, ignored) => {
    const report = compareState(live, desired, { ignore: [rule] });
    expect(report.items.filter((i) => i.status === 'extra').map((i) => keyString(i.key))).toEqual(remaining);
    expect(report.ignored).toBe(ignored);
  });

  it('a label selector matches the live labels or Git’s', () => {
    const report = compareState([np('web', egressTo('0.0.0.0/0'))], git(np('web', egressTo('10.0.0.0/8'), { labels: { 'drift/ignore': 'true' } })), { ignore: [{ labelSelector: { matchLabels: { 'drift/ignore': 'true' } } }] });
    expect(report).toMatchObject({ items: [], ignored: 1, compared: 0 });
  });

  it('globs: "*" matches any run, everything else itself', () => {
    expect(globMatches('*', '')).toBe(true);
    expect(globMatches('pay*-staging', 'payments-staging')).toBe(true);
    expect(globMatches('pay*-staging', 'payments-prod')).toBe(false);
    expect(globMatches('a.b', 'axb')).toBe(false);
    expect(globMatches('*a*a*a*a*a*b', 'a'.repeat(200))).toBe(false);
  });
});

describe('hostile input', () => {
  it('unusable objects are skipped with a reason; the rest is still compared', () => {
    const polluted = JSON.parse('{"kind":"NetworkPolicy","metadata":{"name":"p","namespace":"shop"},"spec":{"__proto__":{"admin":true}}}') as Obj;
    const live: unknown[] = [null, 'x', { kind: 'NetworkPolicy' }, { kind: 'NetworkPolicy', metadata: { namespace: 'shop' } }, np('s', 'nope' as never), polluted, np('web', egressTo('0.0.0.0/0'))];
    const desired: unknown[] = [{ object: np('web', egressTo('10.0.0.0/8')) }, {}, null, { object: { metadata: { name: 'x' } }, source: { repository: 'r', path: 'a.yaml', line: 3, via: 'plain' } }];
    const report = compareState(live as Obj[], desired as DesiredInput[]);
    expect(report.skipped).toEqual([
      { side: 'desired', where: 'desired[1]', reason: 'not an object' },
      { side: 'desired', where: 'desired[2]', reason: 'not an object' },
      { side: 'desired', where: 'r:a.yaml:3', reason: 'no kind' },
      { side: 'live', where: 'live[0]', reason: 'not an object' },
      { side: 'live', where: 'live[1]', reason: 'not an object' },
      { side: 'live', where: 'live[2]', reason: 'no metadata' },
      { side: 'live', where: 'live[3]', reason: 'no metadata.name' },
      { side: 'live', where: 'live[4]', reason: 'spec is a string, not an object' },
      { side: 'live', where: 'live[5]', reason: 'it holds the key "__proto__" at spec' },
    ]);
    expect(formatFieldDiff(modified(report.items).diff)).toEqual(['~ spec.egress[0].to[0].ipBlock.cidr: 10.0.0.0/8 → 0.0.0.0/0']);
    expect(({} as Obj).admin).toBeUndefined();
  });

  it('inputs are never modified', () => {
    const live = [np('web', egressTo('0.0.0.0/0'), { annotations: { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' } })];
    ((live[0] as Obj).spec as Obj).podSelector = withExclusion(((live[0] as Obj).spec as Obj).podSelector);
    const desired = git(np('web', egressTo('10.0.0.0/8')));
    const before = JSON.stringify([live, desired]);
    compareState(live, desired);
    expect(JSON.stringify([live, desired])).toBe(before);
  });

  it('huge lists are compared as sets without blowing up', () => {
    const cidrs = Array.from({ length: 20_000 }, (_, i) => ({ ipBlock: { cidr: `10.${i >> 8}.${i & 255}.0/24` } }));
    const desired = np('big', { podSelector: {}, ingress: [{ from: cidrs }] });
    const live = np('big', { podSelector: {}, ingress: [{ from: [...cidrs.slice(1), { ipBlock: { cidr: '0.0.0.0/0' } }].reverse() }] });
    const item = modified(compareState([live], git(desired)).items);
    expect(formatFieldDiff(item.diff)).toEqual(['~ spec.ingress[0].from[0].ipBlock.cidr: 10.0.0.0/24 → 0.0.0.0/0']);
  });
});

describe('formatFieldDiff', () => {
  const diff: FieldDiff[] = [
    { path: 'spec.ingress[0].ports[0].port', op: 'changed', live: 'http', desired: 80 },
    { path: 'metadata.labels.version', op: 'added', live: '80' },
    { path: 'metadata.annotations.note', op: 'removed', desired: 'x'.repeat(300) },
    { path: 'spec.podSelector', op: 'changed', live: { matchLabels: { a: 'true', b: '' } }, desired: {} },
  ];

  it('quotes strings that would read as another type, shortens long values', () => {
    expect(formatFieldDiff(diff)).toEqual([
      '~ spec.ingress[0].ports[0].port: 80 → http',
      '+ metadata.labels.version: "80"',
      `- metadata.annotations.note: ${'x'.repeat(99)}…`,
      '~ spec.podSelector: {} → {matchLabels: {a: "true", b: ""}}',
    ]);
  });

  it('at most maxLines lines, the last counting the rest', () => {
    expect(formatFieldDiff(diff, 2)).toEqual(['~ spec.ingress[0].ports[0].port: 80 → http', '… 3 more differences']);
    expect(formatFieldDiff(diff, 4)).toHaveLength(4);
    expect(formatFieldDiff(diff, 0)).toEqual(['… 4 more differences']);
    expect(formatFieldDiff(diff, Number.NaN)).toHaveLength(4);
    expect(formatFieldDiff([], 3)).toEqual([]);
  });
});

describe('keys', () => {
  it('namespaced and cluster-scoped', () => {
    expect(keyString({ kind: 'NetworkPolicy', namespace: 'db', name: 'allow-api' })).toBe('NetworkPolicy db/allow-api');
    expect(keyString({ kind: 'BaselineAdminNetworkPolicy', name: 'default' })).toBe('BaselineAdminNetworkPolicy default');
    expect(objectKeyOf(anp('x', {}, { namespace: 'added-by-kustomize' }))).toEqual({ kind: 'AdminNetworkPolicy', name: 'x' });
    expect(objectKeyOf(np('x', {}, { namespace: undefined }))).toEqual({ kind: 'NetworkPolicy', namespace: 'default', name: 'x' });
    expect(objectKeyOf({ kind: 'NetworkPolicy' })).toBeUndefined();
  });
});

describe('scale', () => {
  // How long it takes is measured by `npm run bench -- drift`, not asserted here.
  it('10k policies in one namespace: only the two real drifts are found', () => {
    const objects = syntheticCluster({ pods: 100, policiesPerPod: 100, openNamespaces: 0, seed: 3 }) as Obj[];
    const desired = objects.filter((o) => o.kind === 'NetworkPolicy');
    expect(desired).toHaveLength(10_000);
    // As the API server returns them: defaulted, with its metadata (seeding 10k through the store is slow).
    const live = structuredClone(desired).map((o, i) => {
      applyDefaults(NETWORK_POLICIES, o as KubeObject);
      Object.assign(o.metadata as Obj, { uid: `uid-${i}`, resourceVersion: String(1000 + i), generation: 1, creationTimestamp: '2026-03-01T10:00:00Z', managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }] });
      return o;
    });
    (((live[10] as Obj).spec as Obj).ingress as Obj[]).push({});
    live.splice(20, 1);
    const report = compareState(live, git(...desired));
    expect(report.items.map((i) => i.status).sort()).toEqual(['missing', 'modified']);
    expect(report.compared).toBe(10_000);
  });
});
