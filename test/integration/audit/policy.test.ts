// deploy/audit-policy.yaml: a valid audit.k8s.io/v1 Policy whose first-match rules record exactly
// the writes the bot reads (at RequestResponse) and nothing else; and the simulated apiserver's
// events agree with it (what the policy records, the sim records at the same level).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseAuditEvent } from '../../../src/audit/parse.js';
import { WATCHED_RESOURCES } from '../../../src/audit/types.js';
import { startKubeApiServer, type AuditEvent, type KubeApiSim } from '../../../src/sim/kube/index.js';
import { shopObjects } from '../../../src/sim/scenarios/shop.js';
import { simRequest } from '../../helpers/kube-sim.js';

interface GroupResources {
  group?: string;
  resources?: string[];
  resourceNames?: string[];
}
interface Rule {
  level: string;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: GroupResources[];
  namespaces?: string[];
  nonResourceURLs?: string[];
  omitStages?: string[];
  omitManagedFields?: boolean;
}
interface Policy {
  apiVersion: string;
  kind: string;
  omitStages?: string[];
  omitManagedFields?: boolean;
  rules: Rule[];
}

const LEVELS = ['None', 'Metadata', 'Request', 'RequestResponse'];
const STAGES = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];
const POLICY_FIELDS = ['apiVersion', 'kind', 'metadata', 'omitStages', 'omitManagedFields', 'rules'];
const RULE_FIELDS = ['level', 'users', 'userGroups', 'verbs', 'resources', 'namespaces', 'nonResourceURLs', 'omitStages', 'omitManagedFields'];
const GROUP_RESOURCE_FIELDS = ['group', 'resources', 'resourceNames'];

const text = readFileSync(join(import.meta.dirname, '../../../deploy/audit-policy.yaml'), 'utf8');

/** The audit.k8s.io/v1 Policy schema, strictly (the apiserver refuses unknown fields and levels). */
function loadPolicy(): Policy {
  const doc = parseDocument(text);
  expect(doc.errors).toEqual([]);
  const policy = doc.toJS() as Policy;
  expect(policy.apiVersion).toBe('audit.k8s.io/v1');
  expect(policy.kind).toBe('Policy');
  expect(Object.keys(policy).filter((k) => !POLICY_FIELDS.includes(k))).toEqual([]);
  expect(policy.rules.length).toBeGreaterThan(0);
  for (const stage of policy.omitStages ?? []) expect(STAGES).toContain(stage);
  for (const rule of policy.rules) {
    expect(Object.keys(rule).filter((k) => !RULE_FIELDS.includes(k))).toEqual([]);
    expect(LEVELS).toContain(rule.level);
    for (const gr of rule.resources ?? []) expect(Object.keys(gr).filter((k) => !GROUP_RESOURCE_FIELDS.includes(k))).toEqual([]);
  }
  return policy;
}

function resourceMatches(patterns: string[] | undefined, resource: string, subresource: string | undefined): boolean {
  if (!patterns || patterns.length === 0) return true;
  const full = subresource ? `${resource}/${subresource}` : resource;
  return patterns.some((p) => p === full || p === '*' || (p === `${resource}/*` && subresource !== undefined) || (p === `*/${subresource}` && subresource !== undefined));
}

/** The apiserver's policy checker: the level of the first rule every field of which matches. */
function levelOf(policy: Policy, event: Pick<AuditEvent, 'verb' | 'user' | 'objectRef'>): string {
  const ref = event.objectRef as (AuditEvent['objectRef'] & { subresource?: string }) | undefined;
  for (const rule of policy.rules) {
    if (rule.users?.length && !rule.users.includes(event.user.username)) continue;
    if (rule.userGroups?.length && !rule.userGroups.some((g) => event.user.groups.includes(g))) continue;
    if (rule.verbs?.length && !rule.verbs.includes(event.verb)) continue;
    if (!ref) {
      if (rule.resources?.length || rule.namespaces?.length) continue;
    } else {
      if (rule.nonResourceURLs?.length) continue;
      if (rule.namespaces?.length && !rule.namespaces.includes(ref.namespace ?? '')) continue;
      if (rule.resources?.length) {
        const hit = rule.resources.some(
          (gr) => (gr.group ?? '') === (ref.apiGroup ?? '') && resourceMatches(gr.resources, ref.resource, ref.subresource) && (!gr.resourceNames?.length || gr.resourceNames.includes(ref.name ?? '')),
        );
        if (!hit) continue;
      }
    }
    return rule.level;
  }
  return 'None';
}

describe('deploy/audit-policy.yaml', () => {
  const policy = loadPolicy();

  it('omits RequestReceived and ends with a catch-all None after the specific rule', () => {
    expect(policy.omitStages).toEqual(['RequestReceived']);
    const last = policy.rules[policy.rules.length - 1] as Rule;
    expect(last).toEqual({ level: 'None' });
  });

  it('records writes to exactly the resources the bot reads, in their API groups, at RequestResponse; nothing else', () => {
    const user = { username: 'dave@corp', groups: ['system:authenticated'] };
    for (const [resource, spec] of Object.entries(WATCHED_RESOURCES)) {
      for (const group of spec.groups.filter((g) => g !== 'extensions')) {
        for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection']) {
          expect(levelOf(policy, { verb, user, objectRef: { resource, apiGroup: group || undefined, apiVersion: 'v1' } }), `${verb} ${resource}.${group}`).toBe('RequestResponse');
        }
        for (const verb of ['get', 'list', 'watch']) expect(levelOf(policy, { verb, user, objectRef: { resource, apiGroup: group || undefined, apiVersion: 'v1' } })).toBe('None');
      }
    }
    const others: Array<[string, string | undefined, string | undefined]> = [
      ['pods', undefined, undefined],
      ['secrets', undefined, undefined],
      ['networkpolicies', 'projectcalico.org', undefined],
      ['ciliumclusterwidenetworkpolicies', 'cilium.io', undefined],
      ['namespaces', undefined, 'status'],
      ['namespaces', undefined, 'finalize'],
    ];
    for (const [resource, apiGroup, subresource] of others) {
      const objectRef = { resource, apiVersion: 'v1', ...(apiGroup ? { apiGroup } : {}), ...(subresource ? { subresource } : {}) };
      expect(levelOf(policy, { verb: 'update', user, objectRef: objectRef as AuditEvent['objectRef'] }), `${resource}/${subresource ?? ''}.${apiGroup ?? ''}`).toBe('None');
    }
    expect(levelOf(policy, { verb: 'get', user })).toBe('None'); // non-resource (/healthz)
  });

  describe('and the simulated apiserver', () => {
    let sim: KubeApiSim;
    beforeAll(async () => {
      sim = await startKubeApiServer({ users: { 'a-token': 'alice', 'm-token': 'mallory' }, cluster: { cni: 'cilium', adminNetworkPolicy: true } });
      sim.seed(shopObjects());
    });
    afterAll(() => sim.close());

    it('records at RequestResponse what the policy records, and the bot keeps exactly those events', async () => {
      const np = '/apis/networking.k8s.io/v1/namespaces/db/networkpolicies';
      const json = 'application/json';
      const merge = 'application/merge-patch+json';
      await simRequest(sim, 'PATCH', `${np}/allow-db-from-api`, { user: 'alice', body: '{"metadata":{"labels":{"x":"y"}}}', contentType: merge });
      await simRequest(sim, 'POST', np, { user: 'alice', contentType: json, body: JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'extra' }, spec: { podSelector: {} } }) });
      await simRequest(sim, 'GET', np, { user: 'alice' });
      await simRequest(sim, 'DELETE', `${np}/extra`, { user: 'alice' });
      await simRequest(sim, 'PATCH', '/api/v1/namespaces/db', { user: 'alice', body: '{"metadata":{"labels":{"team":"data"}}}', contentType: merge });
      await simRequest(sim, 'GET', '/api/v1/namespaces/db/pods', { user: 'alice' });
      await simRequest(sim, 'POST', '/apis/cilium.io/v2/namespaces/db/ciliumnetworkpolicies', {
        user: 'alice',
        contentType: json,
        body: JSON.stringify({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'c1' }, spec: { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }] } }),
      });
      await simRequest(sim, 'POST', '/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies', {
        user: 'alice',
        contentType: json,
        body: JSON.stringify({ apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: 'a1' }, spec: { priority: 10, subject: { namespaces: {} }, ingress: [] } }),
      });
      sim.deny({ user: 'mallory', verb: 'delete', resource: 'networkpolicies' });
      await simRequest(sim, 'DELETE', `${np}/allow-db-from-api`, { user: 'mallory' });
      await new Promise((r) => setTimeout(r, 50));

      const events = sim.auditEvents;
      expect(events.length).toBeGreaterThanOrEqual(9);
      const recorded = events.filter((e) => levelOf(policy, e) !== 'None');
      for (const e of events) {
        const level = levelOf(policy, e);
        // What the policy records, the sim records at the same level; the rest the sim logs at Metadata.
        expect(level === 'None' || level === e.level, `${e.verb} ${e.objectRef?.resource}: policy ${level}, sim ${e.level}`).toBe(true);
      }
      expect(recorded.map((e) => `${e.verb} ${e.objectRef?.resource} ${e.responseStatus.code}`)).toEqual([
        'patch networkpolicies 200',
        'create networkpolicies 201',
        'delete networkpolicies 200',
        'patch namespaces 200',
        'create ciliumnetworkpolicies 201',
        'create adminnetworkpolicies 201',
        'delete networkpolicies 403',
      ]);
      // The events the bot keeps are the ones the policy records (and no other).
      const kept = events.filter((e) => parseAuditEvent(e).change);
      expect(kept).toEqual(recorded);
    });
  });
});
