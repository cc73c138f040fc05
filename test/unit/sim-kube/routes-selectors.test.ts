import { describe, expect, it } from 'vitest';
import { resourceByName, type ResourceType } from '../../../src/sim/kube/resources.js';
import { matchRoute, verbFor } from '../../../src/sim/kube/routes.js';
import { filterMatches, parseFieldSelector, parseFilter } from '../../../src/sim/kube/selectors.js';
import { pruneUnknownFields, unknownFields } from '../../../src/sim/kube/schema.js';
import { humanAge } from '../../../src/sim/kube/table.js';

const POD = resourceByName('pods', '') as ResourceType;
const NETPOL = resourceByName('networkpolicies', 'networking.k8s.io') as ResourceType;

describe('matchRoute', () => {
  it('recognises discovery, namespaced, cluster-wide and all-namespaces paths', () => {
    expect(matchRoute('/api')).toEqual({ kind: 'discovery', path: '/api' });
    expect(matchRoute('/apis/networking.k8s.io/v1/')).toEqual({ kind: 'discovery', path: '/apis/networking.k8s.io/v1' });
    expect(matchRoute('/openapi/v3/apis/networking.k8s.io/v1').kind).toBe('discovery');
    expect(matchRoute('/api/v1/namespaces')).toMatchObject({ kind: 'resource', rt: { resource: 'namespaces' } });
    expect(matchRoute('/api/v1/namespaces/db')).toMatchObject({ kind: 'resource', name: 'db' });
    expect(matchRoute('/api/v1/namespaces/db/pods/p-1')).toMatchObject({ kind: 'resource', namespace: 'db', name: 'p-1' });
    const allPods = matchRoute('/api/v1/pods');
    expect(allPods).toMatchObject({ kind: 'resource', rt: { resource: 'pods' } });
    expect(allPods.kind === 'resource' && allPods.namespace === undefined && allPods.name === undefined).toBe(true);
    expect(matchRoute('/apis/networking.k8s.io/v1/networkpolicies')).toMatchObject({ kind: 'resource' });
    expect(matchRoute('/apis/networking.k8s.io/v1/namespaces/db/networkpolicies/x')).toMatchObject({ namespace: 'db', name: 'x' });
  });
  it('rejects unknown or malformed paths', () => {
    for (const path of ['/', '/api/v2/pods', '/api/v1/secrets', '/api/v1/pods/name-without-namespace', '/apis/networking.k8s.io/v1/namespaces/db/pods', '/api/v1/namespaces/db/pods/a/b/c', '/api/v1/namespaces//pods', '/api/v1/namespaces/%E0%A4%A/pods', '/apis/apps/v1/deployments']) {
      expect(matchRoute(path), path).toEqual({ kind: 'unknown' });
    }
  });
});

describe('verbFor', () => {
  const q = (s = ''): URLSearchParams => new URLSearchParams(s);
  it('maps methods to RBAC verbs', () => {
    expect(verbFor('GET', {}, q())).toBe('list');
    expect(verbFor('GET', { name: 'x' }, q())).toBe('get');
    expect(verbFor('GET', {}, q('watch=1'))).toBe('watch');
    expect(verbFor('GET', {}, q('watch=true'))).toBe('watch');
    expect(verbFor('GET', {}, q('watch=false'))).toBe('list');
    expect(verbFor('POST', {}, q())).toBe('create');
    expect(verbFor('POST', { name: 'x' }, q())).toBeUndefined();
    expect(verbFor('PUT', { name: 'x' }, q())).toBe('update');
    expect(verbFor('PATCH', { name: 'x' }, q())).toBe('patch');
    expect(verbFor('DELETE', { name: 'x' }, q())).toBe('delete');
    expect(verbFor('DELETE', {}, q())).toBe('deletecollection');
    expect(verbFor('OPTIONS', {}, q())).toBeUndefined();
  });
});

describe('selectors', () => {
  const pod = { kind: 'Pod', metadata: { name: 'web-1', namespace: 'frontend', labels: { app: 'web', tier: 'fe' } }, status: { phase: 'Running' } };
  const matches = (query: string, rt = POD): boolean => filterMatches(rt, parseFilter(rt, new URLSearchParams(query)), pod);
  it('filters by every label selector operator', () => {
    expect(matches('labelSelector=app%3Dweb')).toBe(true);
    expect(matches('labelSelector=app%3D%3Dweb')).toBe(true);
    expect(matches('labelSelector=app!%3Dweb')).toBe(false);
    expect(matches('labelSelector=tier in (fe,be)')).toBe(true);
    expect(matches('labelSelector=tier notin (fe)')).toBe(false);
    expect(matches('labelSelector=app')).toBe(true);
    expect(matches('labelSelector=!app')).toBe(false);
    expect(matches('labelSelector=!canary')).toBe(true);
  });
  it('filters by metadata.name / metadata.namespace and pod fields', () => {
    expect(matches('fieldSelector=metadata.name%3Dweb-1')).toBe(true);
    expect(matches('fieldSelector=metadata.name!%3Dweb-1')).toBe(false);
    expect(matches('fieldSelector=metadata.namespace%3D%3Dfrontend,status.phase%3DRunning')).toBe(true);
    expect(matches('fieldSelector=metadata.namespace%3Ddb')).toBe(false);
  });
  it('rejects malformed selectors with 400', () => {
    expect(() => parseFieldSelector(NETPOL, 'status.phase=Running')).toThrow(/field label not supported: status.phase/);
    expect(() => parseFieldSelector(POD, 'metadata.name')).toThrow(/not a valid field selector/);
    expect(() => parseFilter(POD, new URLSearchParams('labelSelector=app in (a'))).toThrow(/unable to parse requirement/);
  });
});

describe('humanAge', () => {
  const now = Date.parse('2026-05-01T12:00:00Z');
  it('prints ages like kubectl', () => {
    expect(humanAge('2026-05-01T11:59:15Z', now)).toBe('45s');
    expect(humanAge('2026-05-01T11:55:30Z', now)).toBe('4m30s');
    expect(humanAge('2026-05-01T11:00:00Z', now)).toBe('60m');
    expect(humanAge('2026-05-01T07:30:00Z', now)).toBe('4h30m');
    expect(humanAge('2026-04-28T12:00:00Z', now)).toBe('3d');
    expect(humanAge(undefined, now)).toBe('<unknown>');
  });
});

describe('unknownFields / pruneUnknownFields', () => {
  it('finds misspelt fields at any depth of a NetworkPolicy, sorted', () => {
    const obj = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'x', labelz: {} }, spec: { podSelector: { matchLabel: {} }, egress: [{ to: [{ ipBlok: {} }], ports: [{ prot: 'TCP' }] }] }, extra: 1 };
    expect(unknownFields(NETPOL, obj)).toEqual(['extra', 'metadata.labelz', 'spec.egress[0].ports[0].prot', 'spec.egress[0].to[0].ipBlok', 'spec.podSelector.matchLabel']);
  });
  it('accepts every real field and leaves labels/annotations free-form', () => {
    const obj = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'x', namespace: 'db', labels: { anything: 'goes' }, annotations: { 'a/b': 'c' }, managedFields: [{ whatever: 1 }] },
      spec: { podSelector: { matchLabels: { a: 'b' }, matchExpressions: [{ key: 'k', operator: 'In', values: ['v'] }] }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: {}, podSelector: {} }, { ipBlock: { cidr: '10.0.0.0/8', except: [] } }], ports: [{ protocol: 'TCP', port: 1, endPort: 2 }] }] },
    };
    expect(unknownFields(NETPOL, obj)).toEqual([]);
    expect(unknownFields(POD, { metadata: { name: 'p' }, spec: { containers: [{ anything: true }] }, status: {} })).toEqual([]);
  });
  it('prunes in place and reports what it removed', () => {
    const obj = { metadata: { name: 'x' }, spec: { podSelectr: {}, ingress: [{ form: [] }] } };
    expect(pruneUnknownFields(NETPOL, obj)).toEqual(['spec.ingress[0].form', 'spec.podSelectr']);
    expect(obj).toEqual({ metadata: { name: 'x' }, spec: { ingress: [{}] } });
  });
  it('ignores non-object input', () => {
    expect(unknownFields(NETPOL, 'x')).toEqual([]);
    expect(unknownFields(NETPOL, { spec: { ingress: 'not-a-list' } })).toEqual([]);
  });
});
