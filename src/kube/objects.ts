// One client per kind with the verbs containment needs: get, list (all pages), server-side apply,
// create, replace with optimistic concurrency, merge patch with an optional resourceVersion
// precondition, delete with preconditions (tolerating 404). Writes ask for strict field
// validation, so a misspelt field is an error rather than silently dropped. Every failure is a
// KubeApiError that says what to do (RBAC rule to add, CRD not installed).

import { PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, explainKubeError, toKubeApiError } from './errors.js';
import { apiVersionOf, KINDS, type KindInfo, type KindName, type KindObjects } from './kinds.js';
import { parseLabelSelector } from './label-selector.js';
import { rawOpsFor, type RawOps } from './object-ops.js';
import { DEFAULT_READ_RETRY, retryRead, type ReadRetryPolicy } from './read-retry.js';
import type { KubeObject } from './resources.js';

export interface ObjectRef {
  name: string;
  /** Required for namespaced kinds, refused for cluster-scoped ones. */
  namespace?: string;
}

export interface ListOptions {
  /** One namespace; absent lists every namespace (namespaced kinds). */
  namespace?: string;
  /** kubectl syntax (`app=x,tier in (a,b)`), checked before any request. */
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size while following `continue` (default 500). */
  pageSize?: number;
}

export interface ListResult<T> {
  items: T[];
  /** The list's resourceVersion: where a watch starts without missing anything. */
  resourceVersion: string;
}

export interface ObjectApplyOptions {
  fieldManager: string;
  dryRun?: boolean;
  /** Take fields another manager owns (apply conflicts). */
  force?: boolean;
  /** Only if the object is still at this resourceVersion (else 409 Conflict): the apiserver checks it when the apply carries it. */
  resourceVersion?: string;
}

export interface WriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
}

export interface MergePatchOptions extends WriteOptions {
  /** Only if the object is still at this resourceVersion (else 409 Conflict). */
  resourceVersion?: string;
}

export interface DeleteOptions {
  /** Only if the object still has this uid (not a new object of the same name). */
  uid?: string;
  /** Only if the object is still at this resourceVersion. */
  resourceVersion?: string;
  dryRun?: boolean;
}

export interface ObjectClient<T extends KubeObject> {
  readonly info: KindInfo;
  /** The object, or undefined when it does not exist. A kind the cluster does not serve throws. */
  get(ref: ObjectRef): Promise<T | undefined>;
  list(opts?: ListOptions): Promise<ListResult<T>>;
  /** Server-side apply of `obj` as the manager's whole intent; server-owned metadata is not sent. */
  apply(obj: T, opts: ObjectApplyOptions): Promise<T>;
  /** Fails with 409 AlreadyExists when the name is taken. */
  create(obj: T, opts?: WriteOptions): Promise<T>;
  /**
   * PUT of the whole object. metadata.resourceVersion is required: a stale one fails with a
   * KubeApiError status 409 reason Conflict, the signal to read again and retry.
   */
  replace(obj: T, opts?: WriteOptions): Promise<T>;
  /** JSON merge patch (RFC 7386: null deletes a key), e.g. labels or annotations. */
  mergePatch(ref: ObjectRef, patch: Record<string, unknown>, opts?: MergePatchOptions): Promise<T>;
  /** True when deleted, false when it was already gone. A failed precondition is a 409. */
  delete(ref: ObjectRef, opts?: DeleteOptions): Promise<boolean>;
}

function fail(message: string): KubeApiError {
  return new KubeApiError({ status: 400, reason: 'BadRequest', message });
}

function requireText(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw fail(`${what} is required`);
  return value;
}

function checkRef(info: KindInfo, ref: ObjectRef): { namespace: string | undefined; name: string } {
  const name = requireText(`${info.kind} name`, ref?.name);
  if (info.namespaced) return { namespace: requireText(`${info.kind} namespace`, ref.namespace), name };
  if (ref.namespace !== undefined) throw fail(`${info.kind} is cluster-scoped: it takes no namespace (got "${ref.namespace}")`);
  return { namespace: undefined, name };
}

function refOf(info: KindInfo, obj: KubeObject): { namespace: string | undefined; name: string } {
  if (typeof obj !== 'object' || obj === null) throw fail(`${info.kind}: the object must be a JSON object`);
  return checkRef(info, { name: obj.metadata?.name as string, ...(obj.metadata?.namespace !== undefined ? { namespace: obj.metadata.namespace } : {}) });
}

/** Server-owned metadata must not travel in an apply: resourceVersion would become a precondition. */
function applyIntent(info: KindInfo, obj: KubeObject, resourceVersion?: string): KubeObject {
  const { metadata = {}, apiVersion: _a, kind: _k, status: _s, ...rest } = obj;
  const { name, namespace, labels, annotations } = metadata;
  return {
    apiVersion: apiVersionOf(info),
    kind: info.kind,
    metadata: { name, ...(info.namespaced ? { namespace } : {}), ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}), ...(resourceVersion ? { resourceVersion } : {}) },
    ...rest,
  };
}

function dryRunOf(flag: boolean | undefined): { dryRun?: string } {
  return flag ? { dryRun: 'All' } : {};
}

export function createObjectClient<K extends KindName>(kc: KubeConfig, kind: K, ops: RawOps = rawOpsFor(kc, KINDS[kind]), readRetry: ReadRetryPolicy = DEFAULT_READ_RETRY): ObjectClient<KindObjects[K]> {
  type T = KindObjects[K];
  const info = KINDS[kind];
  const about = (verb: string, namespace: string | undefined) => ({
    verb,
    group: info.group,
    version: info.version,
    kind: info.kind,
    resource: info.plural,
    custom: info.custom,
    ...(namespace !== undefined ? { namespace } : {}),
  });
  const call = async <R>(verb: string, namespace: string | undefined, what: string, run: () => Promise<R>): Promise<R> => {
    try {
      return await run();
    } catch (error) {
      throw explainKubeError(toKubeApiError(error, `${verb} ${what}`), about(verb, namespace));
    }
  };
  const label = (ref: { namespace: string | undefined; name: string }): string => `${info.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
  const strict = { fieldValidation: 'Strict' };

  return {
    info,
    async get(ref) {
      const r = checkRef(info, ref);
      try {
        return (await retryRead(() => call('get', r.namespace, label(r), () => ops.get(r.namespace, r.name)), readRetry)) as T;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 404 && !error.kindNotServed) return undefined;
        throw error;
      }
    },
    async list(opts = {}) {
      if (opts.namespace !== undefined && !info.namespaced) throw fail(`${info.kind} is cluster-scoped: list it without a namespace`);
      if (opts.namespace !== undefined) requireText('namespace', opts.namespace);
      if (opts.labelSelector !== undefined && opts.labelSelector.trim() !== '') parseLabelSelector(opts.labelSelector);
      const query = {
        ...(opts.labelSelector?.trim() ? { labelSelector: opts.labelSelector } : {}),
        ...(opts.fieldSelector?.trim() ? { fieldSelector: opts.fieldSelector } : {}),
        limit: opts.pageSize ?? 500,
      };
      const items: T[] = [];
      let token: string | undefined;
      let resourceVersion = '';
      const where = opts.namespace ? `in ${opts.namespace}` : info.namespaced ? 'in all namespaces' : '';
      do {
        const page = await retryRead(() => call('list', opts.namespace, `${info.plural} ${where}`.trim(), () => ops.list(opts.namespace, { ...query, ...(token ? { _continue: token } : {}) })), readRetry);
        items.push(...((page.items ?? []) as T[]));
        // The first page's version is the snapshot the pages belong to.
        if (resourceVersion === '') resourceVersion = page.metadata?.resourceVersion ?? '';
        token = page.metadata?.continue || page.metadata?._continue || undefined;
      } while (token);
      return { items, resourceVersion };
    },
    async apply(obj, opts) {
      const r = refOf(info, obj);
      const fieldManager = requireText('fieldManager', opts?.fieldManager);
      const query = { fieldManager, ...strict, ...dryRunOf(opts.dryRun), ...(opts.force ? { force: true } : {}) };
      return (await call('patch', r.namespace, `apply ${label(r)}`, () => ops.patch(r.namespace, r.name, applyIntent(info, obj, opts.resourceVersion), query, PatchStrategy.ServerSideApply))) as T;
    },
    async create(obj, opts = {}) {
      const r = refOf(info, obj);
      const body = { ...obj, apiVersion: apiVersionOf(info), kind: info.kind };
      const query = { ...strict, ...dryRunOf(opts.dryRun), ...(opts.fieldManager ? { fieldManager: opts.fieldManager } : {}) };
      return (await call('create', r.namespace, label(r), () => ops.create(r.namespace, body, query))) as T;
    },
    async replace(obj, opts = {}) {
      const r = refOf(info, obj);
      requireText(`${label(r)} metadata.resourceVersion (replace is conditional; read the object first)`, obj.metadata?.resourceVersion);
      const body = { ...obj, apiVersion: apiVersionOf(info), kind: info.kind };
      const query = { ...strict, ...dryRunOf(opts.dryRun), ...(opts.fieldManager ? { fieldManager: opts.fieldManager } : {}) };
      return (await call('update', r.namespace, `replace ${label(r)}`, () => ops.replace(r.namespace, r.name, body, query))) as T;
    },
    async mergePatch(ref, patch, opts = {}) {
      const r = checkRef(info, ref);
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw fail('a merge patch must be a JSON object');
      let body: Record<string, unknown> = patch;
      if (opts.resourceVersion !== undefined) {
        requireText('resourceVersion', opts.resourceVersion);
        // A resourceVersion inside a merge patch makes the apiserver check it (409 when stale).
        const meta = typeof patch.metadata === 'object' && patch.metadata !== null ? (patch.metadata as Record<string, unknown>) : {};
        body = { ...patch, metadata: { ...meta, resourceVersion: opts.resourceVersion } };
      }
      const query = { ...strict, ...dryRunOf(opts.dryRun), ...(opts.fieldManager ? { fieldManager: opts.fieldManager } : {}) };
      return (await call('patch', r.namespace, `patch ${label(r)}`, () => ops.patch(r.namespace, r.name, body, query, PatchStrategy.MergePatch))) as T;
    },
    async delete(ref, opts = {}) {
      const r = checkRef(info, ref);
      const preconditions = { ...(opts.uid ? { uid: opts.uid } : {}), ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}) };
      const body = Object.keys(preconditions).length > 0 ? { preconditions } : {};
      try {
        await call('delete', r.namespace, label(r), () => ops.delete(r.namespace, r.name, dryRunOf(opts.dryRun), body));
        return true;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 404 && !error.kindNotServed) return false;
        throw error;
      }
    },
  };
}

/**
 * True for a write refused because the object changed since it was read (stale resourceVersion or
 * failed precondition): read it again and retry. AlreadyExists (also a 409) is not one.
 */
export function isStaleWrite(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409 && error.reason === 'Conflict';
}
