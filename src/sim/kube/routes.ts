// URL → what is being asked for. Pure: no state, no I/O.

import { Catalog } from './catalog.js';
import { reviewByName, type ResourceType, type ReviewType, type Verb } from './resources.js';

export type Route =
  | { kind: 'discovery'; path: string }
  | { kind: 'review'; review: ReviewType }
  | { kind: 'resource'; rt: ResourceType; namespace?: string; name?: string }
  | { kind: 'unknown' };

const DISCOVERY = new Set(['/version', '/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/openapi/v2', '/openapi/v3']);

const BUILT_IN = new Catalog();

/** `catalog` says which kinds are served; the default serves the built-in kinds only. */
export function matchRoute(pathname: string, catalog: Catalog = BUILT_IN): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (DISCOVERY.has(path) || /^\/apis\/[^/]+(\/[^/]+)?$/.test(path) || path.startsWith('/openapi/')) {
    return { kind: 'discovery', path };
  }
  let segments: string[];
  try {
    segments = path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return { kind: 'unknown' };
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments[1] === 'v1') {
    group = '';
    version = 'v1';
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 3) {
    group = segments[1] as string;
    version = segments[2] as string;
    rest = segments.slice(3);
  } else {
    return { kind: 'unknown' };
  }
  if (rest.some((s) => s === '')) return { kind: 'unknown' };
  const review = rest.length === 1 && version === 'v1' ? reviewByName(rest[0] as string, group) : undefined;
  if (review) return { kind: 'review', review };
  // namespaces/{ns}/{resource}[/{name}]
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const rt = catalog.byName(rest[2] as string, group, version);
    if (!rt || !rt.namespaced || rest.length > 4) return { kind: 'unknown' };
    return { kind: 'resource', rt, namespace: rest[1], name: rest[3] };
  }
  // {resource}[/{name}]: cluster-scoped objects, or a namespaced type across all namespaces
  if (rest.length === 1 || rest.length === 2) {
    const rt = catalog.byName(rest[0] as string, group, version);
    if (!rt) return { kind: 'unknown' };
    if (rt.namespaced && rest.length === 2) return { kind: 'unknown' };
    return { kind: 'resource', rt, name: rest[1] };
  }
  return { kind: 'unknown' };
}

function isTrue(v: string | null): boolean {
  return v === '1' || v === 'true';
}

/** The RBAC verb of a request, or undefined for a method the resource does not support. */
export function verbFor(method: string, route: { name?: string }, query: URLSearchParams): Verb | undefined {
  switch (method) {
    case 'GET':
      if (isTrue(query.get('watch'))) return 'watch';
      return route.name ? 'get' : 'list';
    case 'POST':
      return route.name ? undefined : 'create';
    case 'PUT':
      return route.name ? 'update' : undefined;
    case 'PATCH':
      return route.name ? 'patch' : undefined;
    case 'DELETE':
      return route.name ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}
