// The canonical form of a policy object: what the simulated API server returns for a manifest
// normalises to the manifest's own form; reorderings of sets, empty-vs-missing lists, server
// metadata and tool marks never differ; real changes (and ANP rule order) do; hostile input is a
// clear refusal.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EXCLUSION_REQUIREMENT, withExclusion } from '../../src/containment/exclusion.js';
import { METADATA_NOISE, normalizeDetailed, normalizePolicy, NormalizeError } from '../../src/drift/normalize.js';
import { Catalog } from '../../src/sim/kube/catalog.js';
import { seedObjects } from '../../src/sim/kube/seed.js';
import { ObjectStore } from '../../src/sim/kube/store.js';
import { deepFreeze } from '../helpers/deep-freeze.js';

type Obj = Record<string, unknown>;

const POLICY_KINDS = new Set(['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'CiliumNetworkPolicy']);

/** The objects as the simulated API server stores and returns them (defaults, uid, managedFields...). */
function served(objects: Obj[]): Obj[] {
  const store = new ObjectStore(() => new Date('2026-03-01T10:00:00Z'));
  return seedObjects(store, new Catalog({ adminNetworkPolicy: true, cni: 'cilium' }), objects, 'kubectl-client-side-apply');
}

function np(spec: Obj, metadata: Obj = {}): Obj {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-web', namespace: 'shop', ...metadata }, spec };
}

function anp(spec: Obj): Obj {
  return { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: 'tenants' }, spec: { priority: 10, subject: { namespaces: {} }, ...spec } };
}

function cnp(spec: Obj): Obj {
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'web', namespace: 'shop' }, spec: { endpointSelector: { matchLabels: { app: 'web' } }, ...spec } };
}

const same = (a: Obj, b: Obj): void => expect(normalizePolicy(a)).toEqual(normalizePolicy(b));
const differ = (a: Obj, b: Obj): void => expect(normalizePolicy(a)).not.toEqual(normalizePolicy(b));


/** Every policy of the netpol-analyzer fixtures (plain files and List items). */
function fixturePolicies(): Array<{ dir: string; objects: Obj[] }> {
  const out: Array<{ dir: string; objects: Obj[] }> = [];
  for (const root of ['netpol', 'netpol-anp']) {
    const base = join(import.meta.dirname, '../fixtures', root, 'tests');
    for (const dir of readdirSync(base)) {
      const objects: Obj[] = [];
      for (const file of readdirSync(join(base, dir)).filter((f) => /\.(ya?ml|json)$/.test(f))) {
        for (const doc of parseAllDocuments(readFileSync(join(base, dir, file), 'utf8'))) {
          const value = doc.toJS() as Obj | null;
          const items = value && Array.isArray(value.items) ? (value.items as Obj[]) : [value];
          for (const item of items) if (item && POLICY_KINDS.has(item.kind as string)) objects.push(item);
        }
      }
      if (objects.length > 0) out.push({ dir: `${root}/${dir}`, objects });
    }
  }
  return out;
}

describe('server defaults never differ', () => {
  it('every fixture policy normalises to the same form as the API server returns it', () => {
    let checked = 0;
    for (const { dir, objects } of fixturePolicies()) {
      for (const obj of objects) {
        const git = structuredClone(obj);
        let live: Obj | undefined;
        try {
          [live] = served([obj]);
        } catch {
          continue; // names the apiserver refuses (the analyzer's fixtures are not all valid objects)
        }
        expect(normalizePolicy(live as Obj), `${dir} ${JSON.stringify((obj.metadata as Obj).name)}`).toEqual(normalizePolicy(git));
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(40);
  });

  it.each([
    ['no policyTypes, ingress only', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }],
    ['no policyTypes, egress rules', { podSelector: { matchLabels: { app: 'web' } }, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] }],
    ['empty policyTypes', { podSelector: {}, policyTypes: [], egress: [{}] }],
    ['no podSelector', { ingress: [{ ports: [{ port: 80 }] }] }],
    ['ports without protocol', { podSelector: {}, ingress: [{ ports: [{ port: 80 }, { port: 'http' }, { port: 8000, endPort: 8080 }] }] }],
    ['no spec at all', undefined],
  ])('NetworkPolicy: %s', (_name, spec) => {
    const git = np(spec as Obj);
    if (spec === undefined) delete git.spec;
    const [live] = served([structuredClone(git)]);
    same(live as Obj, git);
  });

  it('ANP and BANP port protocols default to TCP; Cilium reads a missing protocol as ANY', () => {
    const git = anp({ ingress: [{ name: 'web', action: 'Allow', from: [{ namespaces: {} }], ports: [{ portNumber: { port: 80 } }, { portRange: { start: 8000, end: 8080 } }] }] });
    const [live] = served([structuredClone(git)]);
    expect(((live?.spec as Obj).ingress as Obj[])[0]?.ports).toEqual([{ portNumber: { port: 80, protocol: 'TCP' } }, { portRange: { start: 8000, end: 8080, protocol: 'TCP' } }]);
    same(live as Obj, git);
    same(cnp({ ingress: [{ toPorts: [{ ports: [{ port: '80' }] }] }] }), cnp({ ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'ANY' }] }] }] }));
    differ(cnp({ ingress: [{ toPorts: [{ ports: [{ port: '80' }] }] }] }), cnp({ ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] }));
  });

  it('the defaults are what the apiserver would fill in, not a blanket equality', () => {
    // Egress-only written out is not what the default gives for egress rules (Ingress and Egress).
    differ(np({ podSelector: {}, policyTypes: ['Egress'], egress: [{}] }), np({ podSelector: {}, egress: [{}] }));
    differ(np({ podSelector: {}, ingress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] }), np({ podSelector: {}, ingress: [{ ports: [{ port: 53 }] }] }));
    expect((normalizePolicy(np({ podSelector: {}, egress: [{}] })).spec as Obj).policyTypes).toEqual(['Egress', 'Ingress']);
    expect((normalizePolicy(np({ podSelector: {}, egress: [] })).spec as Obj).policyTypes).toEqual(['Ingress']);
  });
});

describe('empty versus missing', () => {
  it.each([
    ['ingress: [] and no ingress', { podSelector: {}, ingress: [] }, { podSelector: {} }],
    ['from: [] and no from', { podSelector: {}, ingress: [{ from: [], ports: [{ port: 80 }] }] }, { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] }],
    ['ports: [] and no ports', { podSelector: {}, ingress: [{ ports: [] }] }, { podSelector: {}, ingress: [{}] }],
    ['matchLabels: {} and none', { podSelector: { matchLabels: {} } }, { podSelector: {} }],
    ['matchExpressions: [] and none', { podSelector: { matchExpressions: [] } }, { podSelector: {} }],
    ['except: [] and none', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: [] } }] }] }, { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] }],
    ['nulls and absent fields', { podSelector: null, ingress: null, egress: [{ to: null, ports: null }] }, { egress: [{}] }],
    ['an empty podSelector next to a namespaceSelector', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: { matchLabels: {} } }] }] }, { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'a' } } }] }] }],
  ])('the same: %s', (_name, a, b) => same(np(a), np(b)));

  it.each([
    ['ingress: [{}] (allow all) and ingress: [] (deny all)', { podSelector: {}, ingress: [{}] }, { podSelector: {}, ingress: [] }],
    ['an empty namespaceSelector (every namespace) and an empty podSelector (this namespace)', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }, { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }],
    ['a podSelector of its own and none', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }] }] }, { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }],
  ])('different: %s', (_name, a, b) => differ(np(a), np(b)));
});

describe('order', () => {
  const rule = (from: Obj[], ports: Obj[]): Obj => ({ from, ports });
  const peers = [{ podSelector: { matchLabels: { app: 'a' } } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.0.0/16'] } }, { namespaceSelector: { matchLabels: { team: 'x' } } }];
  const ports = [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }];

  it('set-like lists of a NetworkPolicy may come in any order', () => {
    same(
      np({ podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [rule(peers, ports), { from: [{ podSelector: {} }] }], egress: [{}] }),
      np({
        podSelector: {},
        policyTypes: ['Egress', 'Ingress'],
        ingress: [{ from: [{ podSelector: {} }] }, rule([peers[2] as Obj, { ipBlock: { except: ['10.2.0.0/16', '10.1.0.0/16'], cidr: '10.0.0.0/8' } }, peers[0] as Obj], [...ports].reverse())],
        egress: [{}],
      }),
    );
  });

  it('selector requirements and their values are sets', () => {
    same(
      np({ podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }, { key: 'env', operator: 'Exists' }] } }),
      np({ podSelector: { matchExpressions: [{ key: 'env', operator: 'Exists', values: [] }, { key: 'tier', operator: 'In', values: ['api', 'web', 'api'] }] } }),
    );
  });

  it('AdminNetworkPolicy rules are ordered (the first match wins), their peers are not', () => {
    const allow = { name: 'allow-monitoring', action: 'Allow', from: [{ namespaces: { matchLabels: { team: 'monitoring' } } }, { pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'probe' } } } }] };
    const deny = { name: 'deny-all', action: 'Deny', from: [{ namespaces: {} }] };
    differ(anp({ ingress: [allow, deny] }), anp({ ingress: [deny, allow] }));
    same(anp({ ingress: [allow, deny] }), anp({ ingress: [{ ...allow, from: [...allow.from].reverse() }, deny] }));
  });

  it('Cilium rules and their lists are sets', () => {
    const a = { fromEndpoints: [{ matchLabels: { app: 'a' } }, { matchLabels: { app: 'b' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }, { port: '443', protocol: 'TCP' }] }] };
    const b = { fromEntities: ['cluster', 'host'] };
    same(
      cnp({ ingress: [a, b] }),
      cnp({ ingress: [{ fromEntities: ['host', 'cluster'] }, { toPorts: [{ ports: [...a.toPorts[0]!.ports].reverse() }], fromEndpoints: [...a.fromEndpoints].reverse() }] }),
    );
  });

  it('duplicates in a set add nothing', () => {
    same(np({ podSelector: {}, ingress: [{ ports: [{ port: 80 }, { port: 80, protocol: 'TCP' }] }] }), np({ podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] }));
  });
});

describe('metadata and status noise', () => {
  const git = np({ podSelector: {} }, { labels: { team: 'web' }, annotations: { owner: 'web-team' } });

  it('server-owned metadata, status and the apiVersion version are ignored', () => {
    const live = structuredClone(git);
    live.apiVersion = 'networking.k8s.io/v1beta1';
    Object.assign(live.metadata as Obj, {
      uid: 'b6e3', resourceVersion: '991', generation: 4, creationTimestamp: '2026-01-01T00:00:00Z', selfLink: '/apis/x',
      managedFields: [{ manager: 'kubectl', operation: 'Update' }], ownerReferences: [{ kind: 'Application', name: 'shop' }], finalizers: [],
    });
    live.status = { conditions: [{ type: 'Ready' }] };
    same(live, git);
  });

  it.each(METADATA_NOISE.map((m) => [`${m.where} ${m.key}`, m] as const))('%s is noise', (_name, mark) => {
    const live = structuredClone(git);
    const field = mark.where === 'label' ? 'labels' : 'annotations';
    const meta = live.metadata as Record<string, Record<string, string>>;
    meta[field] = { ...meta[field], [mark.prefix ? `${mark.key}release-name` : mark.key]: mark.value ?? 'tool-value' };
    same(live, git);
  });

  it('labels and annotations that are intent are compared', () => {
    differ(np({ podSelector: {} }, { labels: { team: 'web' } }), np({ podSelector: {} }, { labels: { team: 'data' } }));
    differ(np({ podSelector: {} }, { annotations: { 'argocd.argoproj.io/sync-options': 'Prune=false' } }), np({ podSelector: {} }));
    // managed-by is noise only with Helm's value.
    differ(np({ podSelector: {} }, { labels: { 'app.kubernetes.io/managed-by': 'team-web' } }), np({ podSelector: {} }));
    same(np({ podSelector: {} }, { labels: {}, annotations: {} }), np({ podSelector: {} }));
  });

  it('namespaces: "default" when none is given, none on cluster-scoped kinds', () => {
    const bare = np({ podSelector: {} }, { namespace: undefined });
    expect((normalizePolicy(bare).metadata as Obj).namespace).toBe('default');
    expect((normalizeDetailed(bare, { namespace: 'shop' }) as { object: Obj }).object.metadata).toMatchObject({ namespace: 'shop' });
    const withNs = anp({});
    (withNs.metadata as Obj).namespace = 'kustomize-added';
    same(withNs, anp({}));
    expect((normalizePolicy(withNs).metadata as Obj).namespace).toBeUndefined();
  });
});

describe('the bot containment', () => {
  const git = np({ podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] }, { labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' } });
  const patched = (flux: boolean): Obj => {
    const live = structuredClone(git);
    (live.spec as Obj).podSelector = withExclusion((live.spec as Obj).podSelector);
    if (flux) (live.metadata as Obj).annotations = { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' };
    return live;
  };

  it('the exclusion and its Flux suspension are stripped and flagged', () => {
    const result = normalizeDetailed(patched(true));
    expect(result.ok && result.containment).toEqual({ exclusion: true, fluxSuspended: true });
    same(patched(true), git);
    same(patched(false), git);
    const plain = normalizeDetailed(git);
    expect(plain.ok && plain.containment).toEqual({ exclusion: false, fluxSuspended: false });
  });

  it('the exclusion next to other requirements leaves them in place', () => {
    const live = np({ podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }, { ...EXCLUSION_REQUIREMENT }] } });
    same(live, np({ podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] } }));
  });

  it('a Flux suspension without the exclusion is someone else’s, and stays', () => {
    const live = structuredClone(git);
    (live.metadata as Obj).annotations = { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' };
    const result = normalizeDetailed(live);
    expect(result.ok && result.containment).toEqual({ exclusion: false, fluxSuspended: false });
    differ(live, git);
  });

  it('a DoesNotExist on another key, or with values, is not ours', () => {
    differ(np({ podSelector: { matchExpressions: [{ key: 'quarantined', operator: 'DoesNotExist' }] } }), np({ podSelector: {} }));
  });
});

describe('hostile and malformed input', () => {
  it.each([
    ['null', null, 'not an object'],
    ['a list', [np({})], 'not an object'],
    ['a string', 'kind: NetworkPolicy', 'not an object'],
    ['no kind', { metadata: { name: 'x' } }, 'no kind'],
    ['no metadata', { kind: 'NetworkPolicy', spec: {} }, 'no metadata'],
    ['metadata a string', { kind: 'NetworkPolicy', metadata: 'x' }, 'no metadata'],
    ['no name', { kind: 'NetworkPolicy', metadata: { namespace: 'a' } }, 'no metadata.name'],
    ['a numeric name', { kind: 'NetworkPolicy', metadata: { name: 7 } }, 'no metadata.name'],
    ['spec a string', np('deny' as never), 'spec is a string, not an object'],
    ['spec a number', np(5 as never), 'spec is a number, not an object'],
    ['spec a list', np([{ podSelector: {} }] as never), 'spec is a list, not an object'],
    ['a __proto__ key', JSON.parse('{"kind":"NetworkPolicy","metadata":{"name":"x"},"spec":{"ingress":[{"__proto__":{"polluted":true}}]}}'), 'it holds the key "__proto__" at spec.ingress[0]'],
    ['a __proto__ label', JSON.parse('{"kind":"NetworkPolicy","metadata":{"name":"x","labels":{"__proto__":"x"}}}'), 'it holds the key "__proto__" at metadata.labels'],
    ['a function', np({ podSelector: { matchLabels: (() => 1) as never } }), 'it holds a function at spec.podSelector.matchLabels'],
  ])('%s is refused with a reason', (_name, input, reason) => {
    const result = normalizeDetailed(input);
    expect(result).toEqual({ ok: false, reason });
    expect(() => normalizePolicy(input as Obj)).toThrow(NormalizeError);
    expect(({} as Obj).polluted).toBeUndefined();
  });

  it('too deep or too large is refused, a large real list is not', () => {
    let deep: Obj = {};
    const root = np({ podSelector: deep });
    for (let i = 0; i < 100; i++) deep = (deep.x = {}) as Obj;
    expect(normalizeDetailed(root)).toMatchObject({ ok: false, reason: expect.stringMatching(/nesting deeper than 64 levels at spec\.podSelector(\.x)+/) });
    const huge = np({ podSelector: {}, ingress: [{ from: Array.from({ length: 70_000 }, (_, i) => ({ ipBlock: { cidr: `10.0.${i % 256}.0/24` } })) }] });
    expect(normalizeDetailed(huge)).toMatchObject({ ok: false, reason: expect.stringMatching(/^it holds more than 200000 values at spec\.ingress\[0\]\.from\[666\d\d\]/) });
    const big = np({ podSelector: {}, ingress: [{ from: Array.from({ length: 5_000 }, (_, i) => ({ ipBlock: { cidr: `10.${i >> 8}.${i & 255}.0/24` } })) }] });
    const reversed = structuredClone(big);
    (((reversed.spec as Obj).ingress as Obj[])[0]?.from as unknown[]).reverse();
    same(big, reversed);
  });

  it('inputs are never modified', () => {
    const git = deepFreeze(np({ ingress: [{ ports: [{ port: 80 }], from: [{ namespaceSelector: {}, podSelector: {} }] }] }, { labels: { team: 'a' } }));
    const patched = deepFreeze(np({ podSelector: withExclusion({}) }, { annotations: { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' } }));
    expect(() => normalizePolicy(git)).not.toThrow();
    expect(() => normalizePolicy(patched)).not.toThrow();
    expect((patched.metadata as Obj).annotations).toEqual({ 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' });
  });

  it('normalising twice changes nothing; unknown kinds are compared as written', () => {
    const once = normalizePolicy(np({ egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { podSelector: {} }] }] }, { labels: { a: 'b' } }));
    expect(normalizePolicy(once)).toEqual(once);
    const other = { kind: 'Widget', metadata: { name: 'w' }, spec: { list: [2, 1] } };
    differ(other, { ...other, spec: { list: [1, 2] } });
  });
});
