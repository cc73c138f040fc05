// The review APIs behind `kubectl auth can-i` (SelfSubjectAccessReview), `kubectl auth can-i --list`
// (SelfSubjectRulesReview) and `kubectl auth whoami` (SelfSubjectReview), answered from the
// simulation's own access rules: every authenticated user may do every verb on the served kinds
// except what a deny rule (access.ts) forbids, and may GET the discovery paths. Pure: the
// requester, the deny rules and the request body in; the answer out.

import type { DenyRule } from './access.js';
import { ALL_VERBS, RESOURCES, REVIEWS, reviewByName, type ResourceType, type ReviewType, type Verb } from './resources.js';
import { matchRoute } from './routes.js';
import { badRequest, invalid } from './status.js';
import { isObject } from './validation.js';

export interface ReviewResult {
  code: number;
  body: unknown;
}

interface Decision {
  allowed: boolean;
  denied?: boolean;
  reason: string;
}

/** The paths every authenticated user may GET (the server serves nothing else outside /api and /apis). */
const NON_RESOURCE_URLS = ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/openapi/*', '/version'];

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function qualified(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

/** The deny rules that forbid `verb` on `rt` for a request in `namespace` ('' = every namespace). */
function blocking(rules: readonly DenyRule[], rt: ResourceType, verb: Verb, namespace: string): DenyRule | undefined {
  return rules.find((r) => {
    if (r.resource !== rt.resource || r.verb !== verb) return false;
    if (r.namespace === undefined) return true;
    // A namespaced rule never matches a cluster-scoped request; across all namespaces, any one counts.
    return rt.namespaced && (namespace === '' || r.namespace === namespace);
  });
}

function resourceDecision(rules: readonly DenyRule[], attrs: Record<string, unknown>, served: readonly ResourceType[]): Decision {
  const verb = text(attrs.verb);
  const group = text(attrs.group);
  const resource = text(attrs.resource);
  const namespace = text(attrs.namespace);
  const subresource = text(attrs.subresource);
  if (verb === '') return { allowed: false, reason: 'no verb given' };
  const review = reviewByName(resource, group);
  if (review) {
    return verb === 'create' && subresource === ''
      ? { allowed: true, reason: 'netpol-sim: every authenticated user may create self reviews' }
      : { allowed: false, reason: `netpol-sim: ${qualified(resource, group)} only supports create` };
  }
  const types = resource === '*' ? served.filter((r) => group === '*' || r.group === group) : [served.find((r) => r.resource === resource && r.group === group)];
  if (types.length === 0 || types.some((t) => t === undefined)) {
    return { allowed: false, reason: `netpol-sim: the simulated API server does not serve ${qualified(resource, group) || 'that resource'}` };
  }
  if (subresource !== '') return { allowed: false, reason: `netpol-sim: the simulated API server serves no subresources (asked for ${resource}/${subresource})` };
  const verbs: readonly string[] = verb === '*' ? ALL_VERBS : [verb];
  if (!verbs.every((v) => (ALL_VERBS as readonly string[]).includes(v))) {
    return { allowed: false, reason: `netpol-sim: the simulated API server has no verb "${verb}" (it has ${ALL_VERBS.join(', ')})` };
  }
  for (const rt of types as ResourceType[]) {
    for (const v of verbs as Verb[]) {
      const rule = blocking(rules, rt, v, namespace);
      if (rule) {
        const where = rule.namespace !== undefined ? ` in namespace "${rule.namespace}"` : '';
        return { allowed: false, denied: true, reason: `netpol-sim: denied by the simulation's access rules (${v} ${qualified(rt.resource, rt.group)}${where})` };
      }
    }
  }
  return { allowed: true, reason: 'netpol-sim: allowed (no deny rule applies)' };
}

function nonResourceDecision(attrs: Record<string, unknown>): Decision {
  const path = text(attrs.path);
  const verb = text(attrs.verb).toLowerCase();
  if (!path.startsWith('/')) return { allowed: false, reason: 'netpol-sim: a non-resource path must start with "/"' };
  const served = matchRoute(path.replace(/\/\*$/, '') || '/').kind === 'discovery';
  if (!served) return { allowed: false, reason: `netpol-sim: the simulated API server does not serve ${path}` };
  if (verb !== 'get' && verb !== 'head') return { allowed: false, reason: `netpol-sim: ${path} only answers get` };
  return { allowed: true, reason: 'netpol-sim: discovery paths are open to every authenticated user' };
}

function rulesFor(rules: readonly DenyRule[], namespace: string, served: readonly ResourceType[]): { resourceRules: object[]; nonResourceRules: object[] } {
  const resourceRules: object[] = [];
  for (const rt of served) {
    const verbs = ALL_VERBS.filter((v) => !blocking(rules, rt, v, namespace));
    if (verbs.length > 0) resourceRules.push({ verbs, apiGroups: [rt.group], resources: [rt.resource] });
  }
  for (const group of [...new Set(REVIEWS.map((r) => r.group))]) {
    resourceRules.push({ verbs: ['create'], apiGroups: [group], resources: REVIEWS.filter((r) => r.group === group).map((r) => r.resource) });
  }
  return { resourceRules, nonResourceRules: [{ verbs: ['get'], nonResourceURLs: NON_RESOURCE_URLS }] };
}

function checkTypeMeta(review: ReviewType, body: Record<string, unknown>): void {
  const apiVersion = `${review.group}/${review.version}`;
  if (body.kind !== undefined && body.kind !== review.kind) {
    throw badRequest(`the kind of the provided object (${String(body.kind).slice(0, 80)}) does not match the kind expected by the request (${review.kind})`);
  }
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
    throw badRequest(`the API version in the data (${String(body.apiVersion).slice(0, 80)}) does not match the expected API version (${apiVersion})`);
  }
}

/**
 * Answers a review POST by `user` (already authenticated), with the deny rules that apply to that
 * user; `served` is what the server serves (default: the built-in kinds).
 */
export function answerReview(review: ReviewType, user: string, rules: readonly DenyRule[], body: unknown, served: readonly ResourceType[] = RESOURCES): ReviewResult {
  if (!isObject(body)) throw badRequest('the request body must be a JSON, YAML or protobuf object');
  checkTypeMeta(review, body);
  const spec = isObject(body.spec) ? body.spec : {};
  const head = { kind: review.kind, apiVersion: `${review.group}/${review.version}`, metadata: { creationTimestamp: null } };
  const groupKind = { group: review.group, kind: review.kind };
  switch (review.resource) {
    case 'selfsubjectaccessreviews': {
      const resourceAttributes = isObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
      const nonResourceAttributes = isObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
      if ((resourceAttributes === undefined) === (nonResourceAttributes === undefined)) {
        throw invalid(groupKind, '', [
          { field: 'spec.resourceAttributes', type: 'FieldValueInvalid', value: resourceAttributes ? 'set' : 'null', detail: 'exactly one of nonResourceAttributes or resourceAttributes must be specified' },
        ]);
      }
      const decision = resourceAttributes ? resourceDecision(rules, resourceAttributes, served) : nonResourceDecision(nonResourceAttributes as Record<string, unknown>);
      return { code: 201, body: { ...head, spec, status: decision } };
    }
    case 'selfsubjectrulesreviews': {
      const namespace = text(spec.namespace);
      return { code: 201, body: { ...head, spec, status: { ...rulesFor(rules, namespace, served), incomplete: false } } };
    }
    case 'selfsubjectreviews':
      // Every authenticated request carries the system:authenticated group, as on a real cluster.
      return { code: 201, body: { ...head, status: { userInfo: { username: user, groups: ['system:authenticated'] } } } };
  }
}
