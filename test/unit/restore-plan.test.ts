// The restore planner on the demo shop: which steps (create, update, delete), what each applies,
// its field diff and predicted connectivity delta, the order (restrict, neutral, widen, mixed),
// the bot's containment left alone, the scope, re-planning after a live change, and bad input.
// Order and safety against fresh engine builds: restore-safety.test.ts.
import { describe, expect, it } from 'vitest';
import { EXCLUSION_REQUIREMENT, withExclusion } from '../../src/containment/exclusion.js';
import { FLUX_RECONCILE_ANNOTATION } from '../../src/containment/gitops.js';
import { denyAllNetworkPolicy } from '../../src/containment/objects.js';
import type { LiveObjects } from '../../src/policy/index.js';
import { MAX_LINES, planRestore, replanFrom, RestorePlanError, type KnownGood, type RestorePlan, type RestorePlanInput } from '../../src/restore/plan.js';
import { ALLOW_ALL_EGRESS, shopObjects, shopPolicyObjects } from '../../src/sim/scenarios/shop.js';
import { netpol, pod } from '../helpers/policy.js';

type Obj = Record<string, unknown>;

const SHOP = ['frontend', 'api', 'db'];
const ORDERS = 'api/orders-7c5d9b8f4c[ReplicaSet]';
const PAYMENTS = 'api/payments-5b7f8c6d94[ReplicaSet]';
const POSTGRES = 'db/postgres[StatefulSet]';
const REDIS = 'db/redis-cache-6f9d7b5c8d[ReplicaSet]';
const WEB = 'frontend/web-6d4cf56db6[ReplicaSet]';

function strip(o: Obj): Obj {
  const { kind: _kind, ...rest } = o;
  return rest;
}

const nameOf = (o: Obj): string => String((o.metadata as Obj).name);

/** The shop's policies as the API server returns them: server metadata, a resourceVersion each. */
function served(policies: Obj[]): Obj[] {
  return policies.map((p, i) => {
    const live = strip(structuredClone(p));
    Object.assign(live.metadata as Obj, { uid: `uid-${i}`, resourceVersion: String(100 + i), generation: 1, creationTimestamp: '2026-03-01T10:00:00Z', managedFields: [{ manager: 'kubectl' }] });
    return live;
  });
}

/** The live shop with its policies changed by `edit` (list items without kind). */
function shopLive(edit: (policies: Obj[]) => Obj[] = (p) => p, extra: Partial<LiveObjects> = {}): LiveObjects {
  const objects = shopObjects() as Obj[];
  const of = (kind: string): Obj[] => objects.filter((o) => o.kind === kind).map(strip);
  return { namespaces: of('Namespace'), pods: of('Pod'), networkPolicies: edit(served(objects.filter((o) => o.kind === 'NetworkPolicy'))), ...extra };
}

const git = (objects: object[] = shopPolicyObjects()): KnownGood => ({ label: 'git main@1a2b3c4', objects: objects.map((object, i) => ({ object: object as Obj, source: { repository: 'shop', path: `policies/${i}.yaml` } })) });

const restore = (live: LiveObjects, namespaces = SHOP, knownGood = git()): RestorePlan => planRestore({ live, knownGood, namespaces });
const named = (policies: Obj[], name: string): Obj => policies.find((p) => nameOf(p) === name) as Obj;
const without = (...names: string[]) => (policies: Obj[]): Obj[] => policies.filter((p) => !names.includes(nameOf(p)));
const summary = (plan: RestorePlan): string[] => plan.steps.map((s) => `${s.n} ${s.action} ${s.namespace}/${s.name} ${s.effect}`);

function withDbPorts(ports: number[]) {
  return (policies: Obj[]): Obj[] => {
    const p = named(policies, 'allow-db-from-api');
    ((p.spec as Obj).ingress as Obj[])[0]!.ports = ports.map((port) => ({ protocol: 'TCP', port }));
    return policies;
  };
}

describe('planRestore: what each step does', () => {
  it('live as known-good (server metadata aside): an empty, safe plan', () => {
    const plan = restore(shopLive());
    expect(plan.steps).toEqual([]);
    expect(plan).toMatchObject({ safe: true, violations: [], containment: [], unchanged: 11, skipped: [], ordering: 'by-effect', label: 'git main@1a2b3c4', namespaces: SHOP });
  });

  it('deleted policies are re-created from known-good, with no server metadata, the source kept', () => {
    const plan = restore(shopLive(without('allow-api-to-db', 'allow-db-from-api')));
    // Alone, each half opens nothing (the other side still forbids it); together they open api → db.
    expect(summary(plan)).toEqual(['1 create api/allow-api-to-db neutral', '2 create db/allow-db-from-api widens']);
    const [first, second] = plan.steps;
    expect(first?.before).toBeNull();
    expect(first?.resourceVersion).toBeUndefined();
    expect(first?.after).toEqual(named(shopPolicyObjects() as Obj[], 'allow-api-to-db'));
    expect(first?.source).toEqual({ repository: 'shop', path: 'policies/9.yaml' });
    expect(first?.opened).toEqual([]);
    expect(second?.opened).toEqual([`${ORDERS} => ${POSTGRES} : TCP 5432,6379`, `${ORDERS} => ${REDIS} : TCP 5432,6379`, `${PAYMENTS} => ${POSTGRES} : TCP 5432,6379`, `${PAYMENTS} => ${REDIS} : TCP 5432,6379`]);
    expect(second?.closed).toEqual([]);
    expect(second?.diff).toEqual(['+ metadata.labels: {"app.kubernetes.io/part-of": shop}', expect.stringMatching(/^\+ spec: \{podSelector: \{matchLabels: \{tier: db\}\}/)]);
    expect(plan.unchanged).toBe(9);
  });

  it('a modified policy is reverted: the live object as read, its resourceVersion, the intent, a diff from live to known-good', () => {
    const live = shopLive(withDbPorts([3306]));
    const plan = restore(live);
    expect(summary(plan)).toEqual(['1 update db/allow-db-from-api widens']);
    const step = plan.steps[0];
    const liveObject = named(live.networkPolicies as Obj[], 'allow-db-from-api');
    expect(step?.before).toEqual({ ...liveObject, kind: 'NetworkPolicy' });
    expect(step?.resourceVersion).toBe((liveObject.metadata as Obj).resourceVersion);
    expect(step?.after).toEqual(named(shopPolicyObjects() as Obj[], 'allow-db-from-api'));
    expect(step?.diff).toEqual(['~ spec.ingress[0].ports[0].port: 3306 → 5432', '+ spec.ingress[0].ports[1]: {protocol: TCP, port: 6379}']);
    // api's egress never allowed 3306, so nothing closes.
    expect(step?.closed).toEqual([]);
    expect(step?.opened).toHaveLength(4);
  });

  it('an extra out-of-band policy is deleted: it restricts, and the closed connections say what', () => {
    const plan = restore(shopLive((p) => [...p, strip({ ...structuredClone(ALLOW_ALL_EGRESS), metadata: { ...ALLOW_ALL_EGRESS.metadata, resourceVersion: '9001' } })]));
    expect(summary(plan)).toEqual(['1 delete db/allow-all-egress restricts']);
    const step = plan.steps[0];
    expect(step?.after).toBeNull();
    expect(step?.resourceVersion).toBe('9001');
    expect(step?.opened).toEqual([]);
    expect(step?.closed).toContain(`${POSTGRES} => 0.0.0.0-255.255.255.255[External] : All Connections`);
    expect(step?.closed).toContain(`${REDIS} => ${WEB} : TCP 8080`);
    expect(step?.diff).toEqual(['- metadata.annotations: {"shop.example/reason": debug the backup job}', '- spec: {podSelector: {}, policyTypes: [Egress], egress: [{}]}']);
  });

  it('order: restricting steps first, then neutral, then widening, then mixed; ties by key', () => {
    const openIngress = strip(netpol('api', 'allow-all-ingress', { podSelector: {}, ingress: [{}] }));
    const live = shopLive((policies) => {
      const web = named(policies, 'allow-web-ingress');
      ((web.spec as Obj).ingress as Obj[])[0]!.ports = [{ protocol: 'TCP', port: 9090 }];
      const api = named(policies, 'allow-api-from-frontend');
      (api.metadata as Obj).labels = { 'app.kubernetes.io/part-of': 'shop', edited: 'by-hand' };
      const kept = without('allow-db-from-api')(policies).filter((p) => !(nameOf(p) === 'default-deny-all' && (p.metadata as Obj).namespace === 'frontend'));
      return [...kept, openIngress, strip(structuredClone(ALLOW_ALL_EGRESS) as Obj)];
    });
    const plan = restore(live);
    // By key alone, frontend's mixed update would run last but one and api's label change first.
    expect(summary(plan)).toEqual([
      '1 delete api/allow-all-ingress restricts',
      '2 delete db/allow-all-egress restricts',
      '3 update api/allow-api-from-frontend neutral',
      '4 create frontend/default-deny-all neutral',
      '5 create db/allow-db-from-api widens',
      '6 update frontend/allow-web-ingress mixed',
    ]);
    // Only the outside world and kube-dns (no egress policy) can reach web; api and db egress go elsewhere.
    const dns = 'kube-system/kube-dns-5d78c9869d[ReplicaSet]';
    expect(plan.steps[5]?.opened).toEqual([`0.0.0.0-255.255.255.255[External] => ${WEB} : TCP 8080`, `${dns} => ${WEB} : TCP 8080`]);
    expect(plan.steps[5]?.closed).toEqual([`0.0.0.0-255.255.255.255[External] => ${WEB} : TCP 9090`, `${dns} => ${WEB} : TCP 9090`]);
    expect(plan).toMatchObject({ ordering: 'by-effect', safe: true });
  });

  it('a label-only change is a neutral step: it changes no connection', () => {
    const plan = restore(
      shopLive((policies) => {
        (named(policies, 'allow-web-to-api').metadata as Obj).labels = { team: 'web' };
        return policies;
      }),
    );
    expect(summary(plan)).toEqual(['1 update frontend/allow-web-to-api neutral']);
    expect(plan.steps[0]).toMatchObject({ opened: [], closed: [], diff: ['+ metadata.labels["app.kubernetes.io/part-of"]: shop', '- metadata.labels.team: web'] });
  });

  it('hundreds of connections: the lists stop at MAX_LINES, the last line saying how many more', () => {
    const pods = Array.from({ length: 20 }, (_, i) => strip(pod('big', `p${i}`, { app: `a${i}` })));
    const deny = netpol('big', 'deny-in', { podSelector: {}, policyTypes: ['Ingress'] });
    const plan = planRestore({ live: { namespaces: [{ metadata: { name: 'big' } }], pods, networkPolicies: [strip(deny)] }, knownGood: { label: 'kg', objects: [], kinds: ['NetworkPolicy'] }, namespaces: ['big'] });
    expect(summary(plan)).toEqual(['1 delete big/deny-in widens']);
    const opened = plan.steps[0]?.opened ?? [];
    // Each of 20 pods opens to 19 others and the outside world.
    expect(opened).toHaveLength(MAX_LINES);
    expect(opened[MAX_LINES - 1]).toBe(`… ${20 * 20 - (MAX_LINES - 1)} more connections`);
  });
});

describe('planRestore: containment, scope and kinds', () => {
  const quarantine = (): Obj => strip(denyAllNetworkPolicy({ incidentId: 'inc-42', namespace: 'db', dns: { keep: true, namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } }, approvers: ['U1'] }) as unknown as Obj);
  const excluded = (policy: Obj, flux = true): Obj => {
    const spec = policy.spec as Obj;
    const meta = policy.metadata as Obj;
    return { ...policy, metadata: { ...meta, annotations: { ...((meta.annotations as Obj) ?? {}), ...(flux ? { [FLUX_RECONCILE_ANNOTATION]: 'disabled' } : {}) } }, spec: { ...spec, podSelector: withExclusion(spec.podSelector) } };
  };

  it('the bot’s quarantine and exclusions are left alone and listed; an update keeps the exclusion; predictions ignore containment', () => {
    const live = shopLive((policies) => {
      withDbPorts([3306])(policies);
      return policies.map((p) => (['allow-db-from-api', 'default-deny-all'].includes(nameOf(p)) && (p.metadata as Obj).namespace === 'db' ? excluded(p) : p)).concat([quarantine()]);
    });
    const plan = restore(live);
    expect(summary(plan)).toEqual(['1 update db/allow-db-from-api widens']);
    expect(plan.containment).toEqual([
      { key: { kind: 'NetworkPolicy', namespace: 'db', name: 'allow-db-from-api' }, what: 'exclusion', fluxSuspended: true },
      { key: { kind: 'NetworkPolicy', namespace: 'db', name: 'default-deny-all' }, what: 'exclusion', fluxSuspended: true },
      { key: { kind: 'NetworkPolicy', namespace: 'db', name: 'netpol-responder-quarantine-inc-42' }, incident: 'inc-42', what: 'containment-object' },
    ]);
    const after = plan.steps[0]?.after as Obj;
    // Applying the known-good object as is would drop the exclusion and lift the quarantine early.
    expect(((after.spec as Obj).podSelector as Obj).matchExpressions).toEqual([{ ...EXCLUSION_REQUIREMENT }]);
    expect((after.metadata as Obj).annotations).toEqual({ [FLUX_RECONCILE_ANNOTATION]: 'disabled' });
    expect(plan.steps[0]?.diff).toEqual(['~ spec.ingress[0].ports[0].port: 3306 → 5432', '+ spec.ingress[0].ports[1]: {protocol: TCP, port: 6379}']);
    // The quarantine's deny-all would block api → db; the prediction is for the state after the lift.
    expect(plan.steps[0]?.opened).toContain(`${ORDERS} => ${POSTGRES} : TCP 5432,6379`);
  });

  it('a live exclusion without Flux suspension is kept without adding one', () => {
    const live = shopLive((policies) => withDbPorts([3306])(policies).map((p) => (nameOf(p) === 'allow-db-from-api' ? excluded(p, false) : p)));
    const after = restore(live).steps[0]?.after as Obj;
    expect((after.metadata as Obj).annotations).toBeUndefined();
    expect(((after.spec as Obj).podSelector as Obj).matchExpressions).toEqual([{ ...EXCLUSION_REQUIREMENT }]);
  });

  it('a known-good state that holds the bot’s quarantine (a snapshot taken while contained) does not restore it', () => {
    const plan = restore(shopLive(), SHOP, git([...shopPolicyObjects(), { ...quarantine(), kind: 'NetworkPolicy' }]));
    expect(plan.steps).toEqual([]);
    expect(plan.skipped).toEqual([{ side: 'desired', where: 'known-good[11]', reason: 'NetworkPolicy db/netpol-responder-quarantine-inc-42: the bot’s own containment object; not restored' }]);
  });

  it('a known-good object that carries an exclusion itself (a snapshot taken while contained) is restored without it', () => {
    const snapshot = (shopPolicyObjects() as Obj[]).map((p) => (nameOf(p) === 'allow-db-from-api' ? excluded(p) : p));
    const plan = restore(shopLive(withDbPorts([3306])), SHOP, git(snapshot));
    const after = plan.steps[0]?.after as Obj;
    expect((after.spec as Obj).podSelector).toEqual({ matchLabels: { tier: 'db' } });
    expect((after.metadata as Obj).annotations).toBeUndefined();
  });

  it('only the scope is restored: namespaces by name or glob; objects elsewhere are neither compared nor counted', () => {
    const live = shopLive((p) => without('allow-web-ingress')(withDbPorts([3306])(p)));
    expect(summary(restore(live, ['db']))).toEqual(['1 update db/allow-db-from-api widens']);
    expect(restore(live, ['db']).unchanged).toBe(2);
    expect(summary(restore(live, ['front*']))).toEqual(['1 create frontend/allow-web-ingress widens']);
    expect(restore(live, ['kube-system']).steps).toEqual([]);
  });

  it('kinds: live CiliumNetworkPolicies are not extra when the known-good source does not manage them; they are when it does', () => {
    const cnp = { metadata: { namespace: 'db', name: 'cilium-open' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['world'] }] } };
    const live = shopLive(undefined, { ciliumNetworkPolicies: [cnp] });
    expect(restore(live).steps).toEqual([]);
    const plan = restore(live, SHOP, { ...git(), kinds: ['NetworkPolicy', 'CiliumNetworkPolicy'] });
    expect(summary(plan)).toEqual(['1 delete db/cilium-open restricts']);
    expect(plan.steps[0]?.closed).toEqual([`${POSTGRES} => 0.0.0.0-255.255.255.255[External] : All Connections`, `${REDIS} => 0.0.0.0-255.255.255.255[External] : All Connections`]);
  });

  it('kinds the engine does not model are reported, not restored', () => {
    const ccnp = { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'global' }, spec: { endpointSelector: {} } };
    const route = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'db', name: 'postgres' }, spec: {} };
    const plan = restore(shopLive(), SHOP, git([...shopPolicyObjects(), ccnp, route]));
    expect(plan.steps).toEqual([]);
    expect(plan.skipped.map((s) => s.reason)).toEqual([
      'CiliumClusterwideNetworkPolicy global: the policy engine does not model CiliumClusterwideNetworkPolicy; not restored',
      'Service db/postgres: the policy engine does not model Service; not restored',
    ]);
  });
});

describe('planRestore: what the source cannot tell', () => {
  const extraAndModified = (): LiveObjects => shopLive((p) => [...withDbPorts([3306])(p), strip(structuredClone(ALLOW_ALL_EGRESS) as Obj)]);

  it('an incomplete source deletes nothing only because it lacks it, and says so', () => {
    const plan = restore(extraAndModified(), SHOP, { ...git(), complete: false });
    expect(summary(plan)).toEqual(['1 update db/allow-db-from-api widens']);
    expect(plan.skipped).toEqual([{ side: 'live', where: 'NetworkPolicy db/allow-all-egress', reason: 'not in git main@1a2b3c4, but part of it could not be read; not deleted' }]);
    expect(plan.knownGood.complete).toBe(false);
  });

  it('objects whose known-good state the source cannot tell are left out of the plan', () => {
    const plan = restore(extraAndModified(), SHOP, { ...git(), unknown: [{ kind: 'NetworkPolicy', namespace: 'db', name: 'allow-db-from-api' }] });
    expect(summary(plan)).toEqual(['1 delete db/allow-all-egress restricts']);
    expect(plan.skipped).toEqual([{ side: 'desired', where: 'NetworkPolicy db/allow-db-from-api', reason: 'git main@1a2b3c4 cannot tell its known-good state; not restored' }]);
  });
});

describe('replanFrom: a live object changed under the plan', () => {
  const known = (namespace: string, name: string): Obj => (shopPolicyObjects() as Obj[]).find((p) => nameOf(p) === name && (p.metadata as Obj).namespace === namespace) as Obj;
  const isApiDeny = (p: Obj): boolean => nameOf(p) === 'default-deny-all' && (p.metadata as Obj).namespace === 'api';
  /** api's default-deny-all deleted, allow-db-from-api on the wrong port, allow-all-egress added. */
  const live0 = (): LiveObjects => shopLive((p) => [...withDbPorts([3306])(p).filter((x) => !isApiDeny(x)), strip(structuredClone(ALLOW_ALL_EGRESS) as Obj)]);

  it('re-plans the steps not done from the live state now, numbered on, and says what changed and why', () => {
    const plan = restore(live0());
    expect(summary(plan)).toEqual(['1 delete db/allow-all-egress restricts', '2 create api/default-deny-all neutral', '3 update db/allow-db-from-api widens']);
    // Step 1 is done; meanwhile someone edits allow-db-from-api again and creates api's default-deny-all.
    const now = live0();
    now.networkPolicies = (now.networkPolicies as Obj[]).filter((p) => nameOf(p) !== 'allow-all-egress');
    const edited = named(now.networkPolicies as Obj[], 'allow-db-from-api');
    (edited.metadata as Obj).resourceVersion = '777';
    ((edited.spec as Obj).ingress as Obj[])[0]!.ports = [{ protocol: 'TCP', port: 6380 }];
    now.networkPolicies = [...(now.networkPolicies as Obj[]), strip(known('api', 'default-deny-all'))];
    const next = replanFrom(plan, 2, now);
    expect(summary(next)).toEqual(['1 delete db/allow-all-egress restricts', '2 update db/allow-db-from-api widens']);
    expect(next.steps[0]).toBe(plan.steps[0]);
    expect(next.steps[1]?.resourceVersion).toBe('777');
    expect(next.steps[1]?.diff).toEqual(['~ spec.ingress[0].ports[0].port: 6380 → 5432', '+ spec.ingress[0].ports[1]: {protocol: TCP, port: 6379}']);
    expect(next.replanned).toEqual([
      { key: { kind: 'NetworkPolicy', namespace: 'db', name: 'allow-db-from-api' }, change: 'changed', reason: `the live object changed (resourceVersion ${plan.steps[2]?.resourceVersion} → 777): re-planned` },
      { key: { kind: 'NetworkPolicy', namespace: 'api', name: 'default-deny-all' }, change: 'dropped', reason: 'no step needed any more: the live object matches git main@1a2b3c4, or is no longer planned (see skipped)' },
    ]);
  });

  it('a done step undone by someone, and an object deleted meanwhile, become new steps', () => {
    const plan = restore(live0());
    const now = live0();
    now.networkPolicies = (now.networkPolicies as Obj[]).filter((p) => nameOf(p) !== 'allow-web-ingress');
    const next = replanFrom(plan, 2, now);
    expect(summary(next)).toEqual(['1 delete db/allow-all-egress restricts', '2 delete db/allow-all-egress restricts', '3 create api/default-deny-all neutral', '4 update db/allow-db-from-api widens', '5 create frontend/allow-web-ingress widens']);
    expect(next.replanned).toEqual([
      { key: { kind: 'NetworkPolicy', namespace: 'db', name: 'allow-all-egress' }, change: 'added', reason: 'done at step 1, but the live object differs from git main@1a2b3c4 again' },
      { key: { kind: 'NetworkPolicy', namespace: 'frontend', name: 'allow-web-ingress' }, change: 'added', reason: 'gone from the live state' },
    ]);
  });

  it('nothing changed: the same remaining steps, no notes; from past the last step: only what is left', () => {
    const plan = restore(live0());
    const same = replanFrom(plan, 1, live0());
    expect(summary(same)).toEqual(summary(plan));
    expect(same.replanned).toEqual([]);
    const all = replanFrom(plan, 4, live0());
    expect(all.steps.map((s) => s.n)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses a step number outside the plan and what is not a plan', () => {
    const plan = restore(live0());
    for (const n of [0, 5, 1.5, Number.NaN, -1]) expect(() => replanFrom(plan, n, live0())).toThrow(new RestorePlanError('fromStep must be a step number from 1 to 4'));
    expect(() => replanFrom({} as RestorePlan, 1, live0())).toThrow(RestorePlanError);
  });
});

describe('planRestore: bad input', () => {
  const input = (over: Partial<Record<keyof RestorePlanInput, unknown>>): RestorePlanInput => ({ live: shopLive(), knownGood: git(), namespaces: SHOP, ...over }) as RestorePlanInput;

  it('refuses malformed input with a clear error', () => {
    const cases: Array<[unknown, string]> = [
      [null, 'the restore input must be an object with live, knownGood and namespaces'],
      ['plan', 'the restore input must be an object with live, knownGood and namespaces'],
      [input({ live: [] }), 'live must be an object of lists (pods, namespaces, networkPolicies, ...)'],
      [input({ live: { pods: 'all of them' } }), 'live.pods must be a list'],
      [input({ knownGood: { label: 'x' } }), 'knownGood must have a label and a list of objects'],
      [input({ knownGood: { objects: [] } }), 'knownGood must have a label and a list of objects'],
      [input({ knownGood: { label: 'x', objects: [], kinds: 'NetworkPolicy' } }), 'knownGood.kinds must be a list of kind names'],
      [input({ knownGood: { label: 'x', objects: [], complete: 'yes' } }), 'knownGood.complete must be true or false'],
      [input({ knownGood: { label: 'x', objects: [], unknown: [{ kind: 'NetworkPolicy' }] } }), 'knownGood.unknown must be a list of {kind, namespace, name}'],
      [input({ namespaces: [] }), 'the restore scope names no namespace'],
      [input({ namespaces: 'db' }), 'the restore scope names no namespace'],
      [input({ namespaces: ['db', ''] }), 'the restore scope must list namespace names'],
      [input({ namespaces: [42] }), 'the restore scope must list namespace names'],
    ];
    for (const [bad, message] of cases) expect(() => planRestore(bad as RestorePlanInput)).toThrow(new RestorePlanError(message));
  });

  it('hostile known-good objects are skipped with a reason; the sound ones are planned; nothing is modified', () => {
    const deep: Obj = {};
    let at = deep;
    for (let i = 0; i < 80; i++) at = (at.x = {}) as Obj;
    const objects: unknown[] = [
      null,
      42,
      { object: 'not an object' },
      { object: { kind: 'NetworkPolicy' } },
      { object: { kind: 'NetworkPolicy', metadata: { name: 'spec-text', namespace: 'db' }, spec: 'allow everything' } },
      { object: { kind: 'NetworkPolicy', metadata: { name: 'spec-list', namespace: 'db' }, spec: [] } },
      { object: netpol('db', 'bad-cidr', { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: 'not-a-cidr' } }] }] }) },
      { object: netpol('db', 'too-deep', { podSelector: {}, deep }) },
      { object: JSON.parse('{"kind":"NetworkPolicy","metadata":{"name":"proto","namespace":"db"},"spec":{"__proto__":{"podSelector":{}}}}') },
      ...git().objects,
    ];
    const live = shopLive(withDbPorts([3306]));
    const before = structuredClone({ live, objects });
    const plan = planRestore({ live, knownGood: { label: 'kg', objects: objects as KnownGood['objects'], kinds: ['NetworkPolicy'] }, namespaces: SHOP });
    expect(summary(plan)).toEqual(['1 update db/allow-db-from-api widens']);
    expect(plan.skipped).toEqual([
      { side: 'desired', where: 'known-good[0]', reason: 'not an object' },
      { side: 'desired', where: 'known-good[1]', reason: 'not an object' },
      { side: 'desired', where: 'known-good[2]', reason: 'not an object' },
      { side: 'desired', where: 'known-good[3]', reason: 'no metadata' },
      { side: 'desired', where: 'known-good[4]', reason: 'spec is a string, not an object' },
      { side: 'desired', where: 'known-good[5]', reason: 'spec is a list, not an object' },
      { side: 'desired', where: 'known-good[7]', reason: expect.stringContaining('nesting deeper than 64 levels') },
      { side: 'desired', where: 'known-good[8]', reason: 'it holds the key "__proto__" at spec' },
      { side: 'desired', where: 'NetworkPolicy db/bad-cidr', reason: expect.stringMatching(/^the policy engine cannot read it \(.*not-a-cidr.*\); not restored$/) },
    ]);
    expect({ live, objects }).toEqual(before);
  });

  it('hostile live objects in scope are reported, never deleted; out of scope they are none of the plan’s business', () => {
    const live = shopLive((p) => [...p, { metadata: { name: 'spec-list', namespace: 'db', resourceVersion: '5' }, spec: [] }, { spec: {} }, { metadata: { name: 'elsewhere', namespace: 'other' }, spec: 'x' }]);
    const plan = restore(live);
    expect(plan.steps).toEqual([]);
    expect(plan.skipped).toEqual([
      { side: 'live', where: 'live[11]', reason: 'spec is a list, not an object' },
      { side: 'live', where: 'live[12]', reason: 'no metadata' },
    ]);
  });

  it('a known-good object declared twice: the last declaration is restored, and the duplicate reported', () => {
    const objects = [...git().objects, { object: netpol('db', 'allow-db-from-api', { podSelector: { matchLabels: { tier: 'db' } }, policyTypes: ['Ingress'] }) }];
    const plan = restore(shopLive(), SHOP, { label: 'kg', objects });
    expect(summary(plan)).toEqual(['1 update db/allow-db-from-api restricts']);
    expect(plan.skipped).toEqual([{ side: 'desired', where: 'known-good[10]', reason: 'NetworkPolicy db/allow-db-from-api is declared again at known-good[11]; the last declaration is the one restored' }]);
  });
});
