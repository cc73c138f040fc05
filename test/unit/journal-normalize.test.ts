// What the journal keeps of an object: noise stripped per kind, the digest that decides whether a
// change is news, managedFields reduced to stamps, and every malformed, hostile or oversized object
// refused or bounded with a clear reason.
import { describe, expect, it } from 'vitest';
import { canonicalJson, movedManagers, observe, type ManagerStamp, type Observed } from '../../src/journal/normalize.js';
import { TRUNCATED_KEY, truncationOf, type JournalKind } from '../../src/journal/types.js';

const LIMITS = { maxObjectBytes: 256 * 1024 };

function ok(kind: JournalKind, obj: unknown, limits = LIMITS): Observed {
  const out = observe(kind, obj, limits);
  if ('error' in out) throw new Error(out.error);
  return out;
}

function refused(kind: JournalKind, obj: unknown): string {
  const out = observe(kind, obj, LIMITS);
  if (!('error' in out)) throw new Error('accepted');
  return out.error;
}

function policy(overrides: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: 'allow-web',
      namespace: 'api',
      uid: 'u-1',
      resourceVersion: '10',
      generation: 1,
      labels: { team: 'web' },
      annotations: { owner: 'web', 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}' },
      selfLink: '/apis/networking.k8s.io/v1/namespaces/api/networkpolicies/allow-web',
      managedFields: [{ manager: 'kubectl', operation: 'Apply', time: '2025-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
      ...meta,
    },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
    ...overrides,
  };
}

function namespace(labels: Record<string, string>, extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'db', uid: 'n-1', resourceVersion: '5', creationTimestamp: '2025-01-01T00:00:00Z', labels, annotations: { note: 'x' }, ...meta },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
    ...extra,
  };
}

describe('observe: what is stored', () => {
  it('strips status, selfLink and the last-applied copy, and keeps managedFields and other annotations', () => {
    const o = ok('NetworkPolicy', policy({ status: { conditions: [{ type: 'x' }] } }));
    expect(o.ref).toEqual({ namespace: 'api', name: 'allow-web' });
    expect(o.uid).toBe('u-1');
    expect(o.resourceVersion).toBe('10');
    expect(o.stored.status).toBeUndefined();
    const meta = o.stored.metadata as Record<string, unknown>;
    expect(meta.selfLink).toBeUndefined();
    expect(meta.annotations).toEqual({ owner: 'web' });
    expect(meta.managedFields).toHaveLength(1);
    expect(o.stored.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    expect(o.managers).toEqual([{ manager: 'kubectl', operation: 'Apply', time: '2025-01-01T00:00:00Z' }]);
  });

  it('drops annotations that held only the last-applied copy', () => {
    const o = ok('NetworkPolicy', policy({}, { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }));
    expect((o.stored.metadata as Record<string, unknown>).annotations).toBeUndefined();
  });

  it('names the kind from its table, whatever the object claims', () => {
    const o = ok('CiliumNetworkPolicy', { ...policy(), apiVersion: 'evil/v1', kind: 'Pod' });
    expect(o.stored.apiVersion).toBe('cilium.io/v2');
    expect(o.stored.kind).toBe('CiliumNetworkPolicy');
  });

  it('keeps of a Namespace only its name, uid, version, times, labels and managedFields', () => {
    const o = ok('Namespace', namespace({ env: 'prod' }, {}, { managedFields: [{ manager: 'kubectl-label', operation: 'Update', time: '2025-01-02T00:00:00Z' }] }));
    expect(o.ref).toEqual({ name: 'db' });
    expect(o.stored).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'db', uid: 'n-1', resourceVersion: '5', creationTimestamp: '2025-01-01T00:00:00Z', labels: { env: 'prod' }, managedFields: [{ manager: 'kubectl-label', operation: 'Update', time: '2025-01-02T00:00:00Z' }] },
    });
  });
});

describe('observe: the digest tells news from noise', () => {
  const digest = (kind: JournalKind, obj: unknown): string => ok(kind, obj).digest;

  it('a policy: resourceVersion, managedFields and status are noise; spec, labels and annotations are news', () => {
    const base = digest('NetworkPolicy', policy());
    expect(digest('NetworkPolicy', policy({ status: { x: 1 } }, { resourceVersion: '11', managedFields: [] }))).toBe(base);
    expect(digest('NetworkPolicy', policy({ spec: { podSelector: { matchLabels: { a: 'b' } } } }))).not.toBe(base);
    expect(digest('NetworkPolicy', policy({}, { labels: { team: 'db' } }))).not.toBe(base);
    expect(digest('NetworkPolicy', policy({}, { annotations: { owner: 'db' } }))).not.toBe(base);
  });

  it('a namespace: only labels are news', () => {
    const base = digest('Namespace', namespace({ env: 'prod' }));
    expect(digest('Namespace', namespace({ env: 'prod' }, { status: { phase: 'Terminating' }, spec: {} }, { annotations: { other: 'y' }, resourceVersion: '9', deletionTimestamp: '2025-01-03T00:00:00Z' }))).toBe(base);
    expect(digest('Namespace', namespace({ env: 'dev' }))).not.toBe(base);
    expect(digest('Namespace', namespace({ env: 'prod', extra: '' }))).not.toBe(base);
  });

  it('does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":1}'))).toBe('{"__proto__":{"x":1},"a":1}');
  });
});

describe('observe: malformed and hostile objects are refused with the reason', () => {
  it.each([
    ['a string', 'NetworkPolicy', 'hello', 'the object is not a JSON object'],
    ['an array', 'NetworkPolicy', [policy()], 'the object is not a JSON object'],
    ['null', 'NetworkPolicy', null, 'the object is not a JSON object'],
    ['no metadata', 'NetworkPolicy', { spec: {} }, 'the object has no metadata'],
    ['metadata a string', 'NetworkPolicy', { metadata: 'x' }, 'the object has no metadata'],
    ['a name with a slash', 'NetworkPolicy', policy({}, { name: 'a/b' }), 'metadata.name "a/b" is not a valid name'],
    ['an upper-case name', 'NetworkPolicy', policy({}, { name: 'Allow' }), 'metadata.name "Allow" is not a valid name'],
    ['an empty name', 'NetworkPolicy', policy({}, { name: '' }), 'metadata.name "" is not a valid name'],
    ['a numeric name', 'NetworkPolicy', policy({}, { name: 42 }), 'metadata.name 42 is not a valid name'],
    ['a 300-character name', 'NetworkPolicy', policy({}, { name: 'a'.repeat(300) }), 'is not a valid name'],
    ['a newline in the name', 'Namespace', namespace({}, {}, { name: 'db\nx' }), 'metadata.name "db\\nx" is not a valid name'],
    ['no namespace on a namespaced kind', 'NetworkPolicy', policy({}, { namespace: undefined }), 'metadata.namespace undefined is not a valid namespace'],
    ['a bad namespace', 'CiliumNetworkPolicy', policy({}, { namespace: 'a.b' }), 'metadata.namespace "a.b" is not a valid namespace'],
    ['a namespace on a cluster-scoped kind', 'AdminNetworkPolicy', policy({}, { namespace: 'api' }), 'AdminNetworkPolicy is cluster-scoped but metadata.namespace is "api"'],
    ['no resourceVersion', 'NetworkPolicy', policy({}, { resourceVersion: undefined }), 'metadata.resourceVersion undefined is not a valid resourceVersion'],
    ['a resourceVersion with a bar', 'NetworkPolicy', policy({}, { resourceVersion: '1|2' }), 'metadata.resourceVersion "1|2" is not a valid resourceVersion'],
    ['a resourceVersion that is a number', 'NetworkPolicy', policy({}, { resourceVersion: 12 }), 'metadata.resourceVersion 12 is not a valid resourceVersion'],
    ['a 100-character resourceVersion', 'NetworkPolicy', policy({}, { resourceVersion: '1'.repeat(100) }), 'is not a valid resourceVersion'],
    ['a uid with a newline', 'NetworkPolicy', policy({}, { uid: 'u\n1' }), 'metadata.uid "u\\n1" is not a valid uid'],
    ['labels that are a list', 'Namespace', namespace({}, {}, { labels: ['a'] }), 'metadata.labels is not a map'],
    ['a label value that is not a string', 'Namespace', namespace({}, {}, { labels: { env: 1 } }), 'metadata.labels["env"] is not a string'],
  ] as Array<[string, JournalKind, unknown, string]>)('%s', (_what, kind, obj, message) => {
    expect(refused(kind, obj)).toContain(message);
  });

  it('refuses an object nested deeper than 100 levels without exhausting the stack', () => {
    let deep: unknown = {};
    for (let i = 0; i < 200_000; i++) deep = { d: deep };
    expect(refused('NetworkPolicy', policy({ spec: deep }))).toBe('the object is nested deeper than 100 levels');
    let arrays: unknown = [];
    for (let i = 0; i < 150; i++) arrays = [arrays];
    expect(refused('NetworkPolicy', policy({ spec: { ingress: arrays } }))).toBe('the object is nested deeper than 100 levels');
  });

  it('shortens a huge hostile value in the reason', () => {
    const reason = refused('NetworkPolicy', policy({}, { name: 'x'.repeat(100_000) }));
    expect(reason.length).toBeLessThan(200);
  });
});

describe('observe: oversized objects are replaced by a marker', () => {
  it('keeps the name, uid, version and a digest, and says why', () => {
    const rules = Array.from({ length: 2000 }, (_, i) => ({ to: [{ ipBlock: { cidr: `10.${i % 256}.${Math.floor(i / 256)}.0/24` } }] }));
    const big = policy({ spec: { podSelector: {}, egress: rules } });
    const o = ok('NetworkPolicy', big, { maxObjectBytes: 8192 });
    const marker = truncationOf(o.stored);
    expect(marker).toBeDefined();
    expect(marker!.limit).toBe(8192);
    expect(marker!.bytes).toBeGreaterThan(8192);
    expect(marker!.reason).toBe(`the object is ${marker!.bytes} bytes once stripped of noise; the journal keeps objects of at most 8192 bytes`);
    expect(marker!.sha256).toBe(o.digest);
    expect(o.stored.metadata).toEqual({ name: 'allow-web', namespace: 'api', uid: 'u-1', resourceVersion: '10', generation: 1 });
    expect(o.stored.spec).toBeUndefined();
    expect(Buffer.byteLength(JSON.stringify(o.stored))).toBeLessThan(1024);
    expect(Object.keys(o.stored)).toContain(TRUNCATED_KEY);
    // Another oversized version is still told apart by its digest.
    const other = ok('NetworkPolicy', policy({ spec: { podSelector: {}, egress: rules.slice(1) } }), { maxObjectBytes: 8192 });
    expect(truncationOf(other.stored)!.sha256).not.toBe(marker!.sha256);
    expect(truncationOf(ok('NetworkPolicy', big).stored)).toBeUndefined();
  });
});

describe('managers', () => {
  it('bounds hostile managedFields: not a list, junk entries, too many, very long strings', () => {
    expect(ok('NetworkPolicy', policy({}, { managedFields: 'x' })).managers).toEqual([]);
    const junk = [1, null, 'm', { manager: 5 }, { manager: '' }, { manager: 'ok', operation: 7, time: 9, subresource: 'status' }];
    expect(ok('NetworkPolicy', policy({}, { managedFields: junk })).managers).toEqual([{ manager: 'ok', operation: '', subresource: 'status' }]);
    const many = Array.from({ length: 5000 }, (_, i) => ({ manager: `m${i}`.padEnd(1000, 'x'), operation: 'Update' }));
    const stamps = ok('NetworkPolicy', policy({}, { managedFields: many })).managers;
    expect(stamps).toHaveLength(64);
    expect(stamps[0]!.manager).toHaveLength(128);
    expect(stamps[0]!.manager.endsWith('…')).toBe(true);
  });

  it('reports entries that are new or later, sorted by time; not one that only lost fields in the same second', () => {
    const before: ManagerStamp[] = [
      { manager: 'kubectl', operation: 'Apply', time: '2025-01-01T00:00:00Z' },
      { manager: 'argocd', operation: 'Apply', time: '2025-01-01T00:00:00Z' },
      { manager: 'helm', operation: 'Update', time: '2025-01-01T00:00:00Z' },
    ];
    const after: ManagerStamp[] = [
      { manager: 'kubectl', operation: 'Apply', time: '2025-01-01T00:00:05Z' },
      { manager: 'argocd', operation: 'Apply', time: '2025-01-01T00:00:00Z' },
      { manager: 'helm', operation: 'Update', time: '2025-01-01T00:00:00Z', subresource: 'status' },
      { manager: 'kubectl', operation: 'Update', time: '2025-01-01T00:00:03Z' },
    ];
    expect(movedManagers(before, after)).toEqual([
      { manager: 'helm', operation: 'Update', time: '2025-01-01T00:00:00Z', subresource: 'status' },
      { manager: 'kubectl', operation: 'Update', time: '2025-01-01T00:00:03Z' },
      { manager: 'kubectl', operation: 'Apply', time: '2025-01-01T00:00:05Z' },
    ]);
    expect(movedManagers(before, before)).toEqual([]);
    expect(movedManagers(undefined, [{ manager: 'x', operation: 'Update' }])).toEqual([{ manager: 'x', operation: 'Update' }]);
  });
});
