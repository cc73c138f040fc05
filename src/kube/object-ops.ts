// The raw verbs on one kind, through client-node: CustomObjectsApi for every kind in a named group
// (it takes group, version and plural, so NetworkPolicy and the CRDs share one code path) and
// CoreV1Api for Pod and Namespace (the core group has no /apis path). Results are plain JSON:
// CoreV1Api's typed objects carry Date objects, turned back into the API's timestamps here.

import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1DeleteOptions, type V1Namespace, type V1Pod } from '@kubernetes/client-node';
import { DEFAULT_REQUEST_TIMEOUT_MS, makeApiClientWithTimeout } from './api-client.js';
import type { KindInfo } from './kinds.js';
import type { KubeObject } from './resources.js';

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  _continue?: string;
}

export interface WriteQuery {
  dryRun?: string;
  fieldManager?: string;
  fieldValidation?: string;
}

export interface RawList {
  items: KubeObject[];
  /** `continue` as the API writes it; client-node's typed lists (pods, namespaces) name it `_continue`. */
  metadata?: { resourceVersion?: string; continue?: string; _continue?: string };
}

/** The verbs on one kind; `namespace` is ignored for cluster-scoped kinds, undefined lists all. */
export interface RawOps {
  get(namespace: string | undefined, name: string): Promise<KubeObject>;
  list(namespace: string | undefined, query: ListQuery): Promise<RawList>;
  create(namespace: string | undefined, body: KubeObject, query: WriteQuery): Promise<KubeObject>;
  replace(namespace: string | undefined, name: string, body: KubeObject, query: WriteQuery): Promise<KubeObject>;
  patch(namespace: string | undefined, name: string, body: unknown, query: WriteQuery & { force?: boolean }, strategy: PatchStrategy): Promise<KubeObject>;
  delete(namespace: string | undefined, name: string, query: { dryRun?: string }, body: V1DeleteOptions): Promise<unknown>;
}

/**
 * client-node's typed objects as plain JSON data, as JSON.stringify and JSON.parse would give
 * them (absent fields dropped, Dates as RFC 3339 seconds `2025-01-01T00:00:00Z` as the API writes
 * them), copied in one walk: a list of 10k pods through JSON and back held the event loop for
 * several hundred ms.
 */
export function toPlain<T>(value: T): T {
  return plain(value, '') as T;
}

function plain(value: unknown, key: string): unknown {
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value + 0 : null; // -0 is written 0
  if (typeof value !== 'object') return undefined; // undefined, functions and symbols: left out, as JSON does
  const withToJson = value as { toJSON?: (key: string) => unknown };
  if (typeof withToJson.toJSON === 'function') return plain(withToJson.toJSON(key), key);
  if (Array.isArray(value)) return value.map((item, i) => plain(item, String(i)) ?? null);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    const v = plain((value as Record<string, unknown>)[k], k);
    if (v === undefined) continue;
    // A key named __proto__ stays a key (as JSON.parse makes it), never the copy's prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}

/**
 * Plain JSON where client-node wants its typed class: its serializer passes strings through where
 * it expects Dates, and the property names are the JSON names, so nothing is lost.
 */
function typed<T>(body: KubeObject): T {
  return body as unknown as T;
}

function customOps(api: CustomObjectsApi, info: KindInfo): RawOps {
  const base = { group: info.group, version: info.version, plural: info.plural };
  const scoped = (namespace: string | undefined): namespace is string => info.namespaced && namespace !== undefined;
  const header = (strategy: PatchStrategy) => setHeaderOptions('Content-Type', strategy);
  return {
    get: (ns, name) => (scoped(ns) ? api.getNamespacedCustomObject({ ...base, namespace: ns, name }) : api.getClusterCustomObject({ ...base, name })),
    list: (ns, q) => (scoped(ns) ? api.listNamespacedCustomObject({ ...base, namespace: ns, ...q }) : api.listClusterCustomObject({ ...base, ...q })),
    create: (ns, body, q) => (scoped(ns) ? api.createNamespacedCustomObject({ ...base, namespace: ns, body, ...q }) : api.createClusterCustomObject({ ...base, body, ...q })),
    replace: (ns, name, body, q) =>
      scoped(ns) ? api.replaceNamespacedCustomObject({ ...base, namespace: ns, name, body, ...q }) : api.replaceClusterCustomObject({ ...base, name, body, ...q }),
    patch: (ns, name, body, q, strategy) =>
      scoped(ns)
        ? api.patchNamespacedCustomObject({ ...base, namespace: ns, name, body, ...q }, header(strategy))
        : api.patchClusterCustomObject({ ...base, name, body, ...q }, header(strategy)),
    delete: (ns, name, q, body) => (scoped(ns) ? api.deleteNamespacedCustomObject({ ...base, namespace: ns, name, ...q, body }) : api.deleteClusterCustomObject({ ...base, name, ...q, body })),
  };
}

function podOps(core: CoreV1Api): RawOps {
  const need = (ns: string | undefined): string => {
    if (ns === undefined) throw new Error('a namespace is required for pods');
    return ns;
  };
  const header = (strategy: PatchStrategy) => setHeaderOptions('Content-Type', strategy);
  return {
    get: async (ns, name) => toPlain(await core.readNamespacedPod({ namespace: need(ns), name })) as KubeObject,
    list: async (ns, q) => toPlain(ns === undefined ? await core.listPodForAllNamespaces(q) : await core.listNamespacedPod({ namespace: ns, ...q })) as RawList,
    create: async (ns, body, q) => toPlain(await core.createNamespacedPod({ namespace: need(ns), body: typed<V1Pod>(body), ...q })) as KubeObject,
    replace: async (ns, name, body, q) => toPlain(await core.replaceNamespacedPod({ namespace: need(ns), name, body: typed<V1Pod>(body), ...q })) as KubeObject,
    patch: async (ns, name, body, q, strategy) => toPlain(await core.patchNamespacedPod({ namespace: need(ns), name, body, ...q }, header(strategy))) as KubeObject,
    delete: async (ns, name, q, body) => toPlain(await core.deleteNamespacedPod({ namespace: need(ns), name, ...q, body })),
  };
}

function namespaceOps(core: CoreV1Api): RawOps {
  const header = (strategy: PatchStrategy) => setHeaderOptions('Content-Type', strategy);
  return {
    get: async (_ns, name) => toPlain(await core.readNamespace({ name })) as KubeObject,
    list: async (_ns, q) => toPlain(await core.listNamespace(q)) as RawList,
    create: async (_ns, body, q) => toPlain(await core.createNamespace({ body: typed<V1Namespace>(body), ...q })) as KubeObject,
    replace: async (_ns, name, body, q) => toPlain(await core.replaceNamespace({ name, body: typed<V1Namespace>(body), ...q })) as KubeObject,
    patch: async (_ns, name, body, q, strategy) => toPlain(await core.patchNamespace({ name, body, ...q }, header(strategy))) as KubeObject,
    delete: async (_ns, name, q, body) => toPlain(await core.deleteNamespace({ name, ...q, body })),
  };
}

export function rawOpsFor(kc: KubeConfig, info: KindInfo, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): RawOps {
  if (info.group !== '') return customOps(makeApiClientWithTimeout(kc, CustomObjectsApi, timeoutMs), info);
  if (info.kind === 'Pod') return podOps(makeApiClientWithTimeout(kc, CoreV1Api, timeoutMs));
  if (info.kind === 'Namespace') return namespaceOps(makeApiClientWithTimeout(kc, CoreV1Api, timeoutMs));
  throw new Error(`no API client for core kind ${info.kind}`);
}
