// Just enough OpenAPI v3 for kubectl: `kubectl apply` asks /openapi/v3 whether the server
// supports the `fieldValidation` query parameter on PATCH for the object's kind. When it does,
// kubectl leaves validation to the server and never needs the full schemas we do not serve.

import { createHash } from 'node:crypto';
import type { ResourceType } from './resources.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function groupVersions(types: readonly ResourceType[]): Array<{ group: string; version: string }> {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of types) seen.set(gvPath(r.group, r.version), { group: r.group, version: r.version });
  return [...seen.values()];
}

/** Changes when the served kinds change, so kubectl's OpenAPI cache does not outlive a CRD. */
function hashOf(types: readonly ResourceType[]): string {
  return createHash('sha256').update(types.map((r) => `${r.group}/${r.version}/${r.resource}`).join(',')).digest('hex').slice(0, 16);
}

/** `types`: the kinds the server serves now (a CRD's group appears only while it is installed). */
export function openApiV3Index(types: readonly ResourceType[]): object {
  return {
    paths: Object.fromEntries(groupVersions(types).map(({ group, version }) => [gvPath(group, version), { serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${hashOf(types)}` }])),
  };
}

const queryParam = (name: string): object => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string' }, uniqueItems: true });

function operation(rt: ResourceType, verb: string, params: string[]): object {
  return {
    operationId: `${verb}${rt.kind}`,
    parameters: params.map(queryParam),
    responses: { '200': { description: 'OK' } },
    'x-kubernetes-action': verb,
    'x-kubernetes-group-version-kind': { group: rt.group, version: rt.version, kind: rt.kind },
  };
}

export function openApiV3Document(path: string, types: readonly ResourceType[]): object | undefined {
  const gv = groupVersions(types).find(({ group, version }) => `/openapi/v3/${gvPath(group, version)}` === path);
  if (!gv) return undefined;
  const paths: Record<string, object> = {};
  for (const rt of types.filter((r) => r.group === gv.group && r.version === gv.version)) {
    const base = `/${gvPath(rt.group, rt.version)}${rt.namespaced ? '/namespaces/{namespace}' : ''}/${rt.resource}`;
    const write = ['dryRun', 'fieldManager', 'fieldValidation'];
    paths[base] = { get: operation(rt, 'list', ['labelSelector', 'fieldSelector', 'limit', 'continue', 'watch', 'resourceVersion']), post: operation(rt, 'post', write) };
    paths[`${base}/{name}`] = {
      get: operation(rt, 'get', []),
      put: operation(rt, 'put', write),
      patch: operation(rt, 'patch', [...write, 'force']),
      delete: operation(rt, 'delete', ['dryRun']),
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes (netpol-responder simulator)', version: 'v1.32.0' }, paths, components: { schemas: {} } };
}
