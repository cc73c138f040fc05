// The verbs on objects: list, get, create, update, patch (merge, JSON, apply), delete.
// Each handler validates fully before it writes, so a failed request changes nothing.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { mediaType, parseJson, parseObjectBody, parseYaml } from './body.js';
import { applyDefaults } from './defaults.js';
import { applyConfiguration, recordUpdate } from './managed-fields.js';
import { deepClone, jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { filterMatches, parseFilter } from './selectors.js';
import { pruneUnknownFields, unknownFields } from './schema.js';
import { badRequest, conflict, failure, invalid, notFound, success } from './status.js';
import { kubeTimestamp, metaOf, type KubeObject, type ObjectStore } from './store.js';
import { isObject, validateObject, validateUpdate } from './validation.js';

export interface RequestContext {
  store: ObjectStore;
  rt: ResourceType;
  namespace?: string;
  name?: string;
  query: URLSearchParams;
  req: IncomingMessage;
  body: Buffer;
}

export interface HandlerResult {
  code: number;
  body: unknown;
  /** Sent as `Warning: 299 - "…"` headers, which kubectl prints. */
  warnings?: string[];
}

const GROUP_KIND = (rt: ResourceType): { group: string; kind: string } => ({ group: rt.group, kind: rt.kind });

function isDryRun(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  for (const v of values) if (v !== 'All') throw badRequest(`Invalid dryRun value: ${v}; supported values: All`);
  return values.length > 0;
}

/** Who gets ownership of a non-apply write: ?fieldManager, else the user agent's program name. */
function managerFor(ctx: RequestContext): string {
  const explicit = ctx.query.get('fieldManager');
  if (explicit) return validateManager(explicit);
  const agent = ctx.req.headers['user-agent'] ?? '';
  const program = agent.split('/')[0]?.trim();
  return program ? program.slice(0, 128) : 'unknown';
}

function validateManager(manager: string): string {
  if (manager.length > 128 || !/^[\x20-\x7e]+$/.test(manager)) {
    throw failure(422, 'Invalid', `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: ${JSON.stringify(manager.slice(0, 140))}: must be 128 or fewer printable characters`);
  }
  return manager;
}

function withTypeMeta(rt: ResourceType, obj: KubeObject): KubeObject {
  return { apiVersion: apiVersionOf(rt), kind: rt.kind, ...obj };
}

/** Checks the body's apiVersion/kind (when given) and its namespace against the URL. */
function checkIdentity(ctx: RequestContext, obj: KubeObject, requireTypeMeta: boolean): void {
  const { rt } = ctx;
  if (requireTypeMeta && (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string')) {
    throw badRequest(`invalid object: apiVersion and kind are required (expected apiVersion "${apiVersionOf(rt)}", kind "${rt.kind}")`);
  }
  if (obj.kind !== undefined && obj.kind !== rt.kind) {
    throw badRequest(`the kind of the provided object (${String(obj.kind)}) does not match the kind expected by the request (${rt.kind})`);
  }
  if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(rt)) {
    throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(rt)})`);
  }
  const meta = metaOf(obj);
  if (rt.namespaced) {
    if (meta.namespace === undefined || meta.namespace === '') meta.namespace = ctx.namespace;
    else if (meta.namespace !== ctx.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
  }
  if (ctx.name !== undefined && meta.name !== undefined && meta.name !== ctx.name) {
    throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${ctx.name})`);
  }
  if (ctx.name !== undefined && (meta.name === undefined || meta.name === '')) meta.name = ctx.name;
}

type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

function fieldValidation(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation') ?? 'Warn';
  if (value !== 'Strict' && value !== 'Warn' && value !== 'Ignore') {
    throw badRequest(`fieldValidation: Unsupported value: "${value}": supported values: "Ignore", "Strict", "Warn"`);
  }
  return value;
}

/**
 * Unknown fields: a 400 under Strict, otherwise dropped (with warnings under Warn). Runs on what
 * the client sent, before anything is merged, so the error names the client's own field.
 */
function checkUnknownFields(ctx: RequestContext, sent: unknown): string[] {
  const mode = fieldValidation(ctx.query);
  if (mode === 'Strict') {
    const unknown = unknownFields(ctx.rt, sent);
    if (unknown.length > 0) throw badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
    pruneUnknownFields(ctx.rt, sent); // nothing unknown left; drops a custom resource's nulls
    return [];
  }
  const dropped = pruneUnknownFields(ctx.rt, sent);
  return mode === 'Warn' ? dropped.map((f) => `unknown field "${f}"`) : [];
}

function validated(ctx: RequestContext, obj: KubeObject, current?: KubeObject): KubeObject {
  applyDefaults(ctx.rt, obj);
  const errors = [...validateObject(ctx.rt, obj), ...(current ? validateUpdate(ctx.rt, current, obj) : [])];
  if (errors.length > 0) throw invalid(GROUP_KIND(ctx.rt), String(metaOf(obj).name ?? ''), errors);
  return obj;
}

function requireObject(value: unknown): KubeObject {
  if (!isObject(value)) throw badRequest('the request body must be a JSON or YAML object');
  return value as KubeObject;
}

function now(ctx: RequestContext): string {
  return kubeTimestamp(ctx.store.now());
}

function requireNamespaceOnWrite(ctx: RequestContext): void {
  if (ctx.rt.namespaced && !ctx.namespace) throw failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function handleList(ctx: RequestContext): HandlerResult {
  const filter = parseFilter(ctx.rt, ctx.query);
  const all = ctx.store.listShared(ctx.rt, ctx.namespace).filter((o) => filterMatches(ctx.rt, filter, o));
  const limit = Number(ctx.query.get('limit') ?? 0);
  const start = decodeContinue(ctx.query.get('continue'));
  // Stored objects are never changed in place (a write stores a new object), and the page is
  // written out as JSON, so it is not copied: a list of 10k pods spent most of its time cloning.
  const page = limit > 0 ? all.slice(start, start + limit) : all.slice(start);
  const more = limit > 0 && start + limit < all.length;
  return {
    code: 200,
    body: {
      kind: ctx.rt.listKind,
      apiVersion: apiVersionOf(ctx.rt),
      metadata: { resourceVersion: ctx.store.resourceVersion(), ...(more ? { continue: encodeContinue(start + limit), remainingItemCount: all.length - start - limit } : {}) },
      items: page.map((o) => withTypeMeta(ctx.rt, o)),
    },
  };
}

function encodeContinue(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

function decodeContinue(token: string | null): number {
  if (!token) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // fall through to the error below
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

export function handleGet(ctx: RequestContext): HandlerResult {
  const obj = ctx.store.get(ctx.rt, ctx.namespace, ctx.name as string);
  if (!obj) throw notFound(ctx.rt, ctx.name as string);
  return { code: 200, body: withTypeMeta(ctx.rt, obj) };
}

export function handleCreate(ctx: RequestContext): HandlerResult {
  requireNamespaceOnWrite(ctx);
  const dryRun = isDryRun(ctx.query);
  const obj = requireObject(parseObjectBody(ctx.req, ctx.body));
  const warnings = checkUnknownFields(ctx, obj);
  checkIdentity(ctx, obj, false);
  const meta = metaOf(obj);
  if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '') {
    meta.name = `${meta.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
  }
  delete meta.managedFields;
  delete meta.resourceVersion;
  validated(ctx, obj);
  recordUpdate(undefined, obj, managerFor(ctx), apiVersionOf(ctx.rt), now(ctx));
  return { code: 201, body: withTypeMeta(ctx.rt, ctx.store.create(ctx.rt, obj, { dryRun })), warnings };
}

export function handleUpdate(ctx: RequestContext): HandlerResult {
  const dryRun = isDryRun(ctx.query);
  const obj = requireObject(parseObjectBody(ctx.req, ctx.body));
  const warnings = checkUnknownFields(ctx, obj);
  checkIdentity(ctx, obj, false);
  const current = ctx.store.get(ctx.rt, ctx.namespace, ctx.name as string);
  if (!current) throw notFound(ctx.rt, ctx.name as string);
  validated(ctx, obj, current);
  // managedFields are the server's to compute; a client's copy is ignored.
  metaOf(obj).managedFields = metaOf(current).managedFields;
  recordUpdate(current, obj, managerFor(ctx), apiVersionOf(ctx.rt), now(ctx));
  return { code: 200, body: withTypeMeta(ctx.rt, ctx.store.update(ctx.rt, obj, { dryRun })), warnings };
}

const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
] as const;

export function handlePatch(ctx: RequestContext): HandlerResult {
  const dryRun = isDryRun(ctx.query);
  const type = mediaType(ctx.req);
  if (!(PATCH_TYPES as readonly string[]).includes(type)) {
    throw failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`);
  }
  const force = ctx.query.get('force');
  if (type === 'application/apply-patch+yaml') return applyPatch(ctx, dryRun, force === 'true' || force === '1');
  if (force !== null) {
    throw failure(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
  }
  const current = ctx.store.get(ctx.rt, ctx.namespace, ctx.name as string);
  if (!current) throw notFound(ctx.rt, ctx.name as string);
  const patch = parseJson(ctx.body);
  const patched =
    type === 'application/json-patch+json'
      ? jsonPatch(current, patch)
      : type === 'application/strategic-merge-patch+json'
        ? strategicMergePatch(current, requireObject(patch))
        : mergePatch(current, requireObject(patch));
  const obj = requireObject(patched);
  const warnings = checkUnknownFields(ctx, obj);
  checkIdentity(ctx, obj, false);
  const meta = metaOf(obj);
  const currentMeta = metaOf(current);
  if (meta.name !== currentMeta.name) throw badRequest('metadata.name cannot be changed by a patch');
  meta.uid = currentMeta.uid;
  validated(ctx, obj, current);
  meta.managedFields = currentMeta.managedFields;
  recordUpdate(current, obj, managerFor(ctx), apiVersionOf(ctx.rt), now(ctx));
  return { code: 200, body: withTypeMeta(ctx.rt, ctx.store.update(ctx.rt, obj, { dryRun })), warnings };
}

function applyPatch(ctx: RequestContext, dryRun: boolean, force: boolean): HandlerResult {
  const manager = ctx.query.get('fieldManager');
  if (!manager) {
    throw failure(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
      group: 'meta.k8s.io',
      kind: 'PatchOptions',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
    });
  }
  validateManager(manager);
  const applied = requireObject(parseYaml(ctx.body));
  const warnings = checkUnknownFields(ctx, applied);
  checkIdentity(ctx, applied, true);
  const appliedMeta = metaOf(applied);
  const live = ctx.store.get(ctx.rt, ctx.namespace, ctx.name as string);
  if (live && appliedMeta.resourceVersion !== undefined && appliedMeta.resourceVersion !== metaOf(live).resourceVersion) {
    throw conflict(ctx.rt, ctx.name as string, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  // Defaults are part of the applier's intent as the server sees it (e.g. protocol: TCP).
  const intent = deepClone(applied);
  applyDefaults(ctx.rt, intent, 'intent');
  const validationErrors = validateObject(ctx.rt, intent);
  if (validationErrors.length > 0) throw invalid(GROUP_KIND(ctx.rt), String(appliedMeta.name ?? ''), validationErrors);
  const merged = applyConfiguration(live, intent, { manager, force, apiVersion: apiVersionOf(ctx.rt), time: now(ctx) });
  const mergedMeta = metaOf(merged);
  mergedMeta.name = ctx.name;
  if (ctx.rt.namespaced) mergedMeta.namespace = ctx.namespace;
  validated(ctx, merged, live);
  if (!live) {
    const managedFields = mergedMeta.managedFields;
    const created = ctx.store.create(ctx.rt, merged, { dryRun });
    metaOf(created).managedFields = managedFields;
    return { code: 201, body: withTypeMeta(ctx.rt, created), warnings };
  }
  return { code: 200, body: withTypeMeta(ctx.rt, ctx.store.update(ctx.rt, merged, { dryRun })), warnings };
}

function deleteOptions(ctx: RequestContext): { uid?: string; resourceVersion?: string; dryRun: boolean } {
  let dryRun = isDryRun(ctx.query);
  if (ctx.body.length === 0) return { dryRun };
  const opts = requireObject(parseJson(ctx.body));
  const pre = isObject(opts.preconditions) ? opts.preconditions : {};
  if (Array.isArray(opts.dryRun)) {
    for (const v of opts.dryRun) if (v !== 'All') throw badRequest(`Invalid dryRun value: ${String(v)}; supported values: All`);
    dryRun = dryRun || opts.dryRun.length > 0;
  }
  return {
    dryRun,
    ...(typeof pre.uid === 'string' ? { uid: pre.uid } : {}),
    ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}),
  };
}

export function handleDelete(ctx: RequestContext): HandlerResult {
  const opts = deleteOptions(ctx);
  const gone = ctx.store.delete(ctx.rt, ctx.namespace, ctx.name as string, opts);
  // Pods and namespaces answer with the object (graceful deletion); other types, custom
  // resources included, with a Status.
  if (ctx.rt.resource !== 'pods' && ctx.rt.resource !== 'namespaces') {
    return {
      code: 200,
      body: success({ name: ctx.name as string, group: ctx.rt.group, kind: ctx.rt.resource, uid: String(metaOf(gone).uid) }),
    };
  }
  return { code: 200, body: withTypeMeta(ctx.rt, gone) };
}

export function handleDeleteCollection(ctx: RequestContext): HandlerResult {
  requireNamespaceOnWrite(ctx);
  const { dryRun } = deleteOptions(ctx);
  const filter = parseFilter(ctx.rt, ctx.query);
  const doomed = ctx.store.list(ctx.rt, ctx.namespace).filter((o) => filterMatches(ctx.rt, filter, o));
  const items = doomed.map((o) => ctx.store.delete(ctx.rt, ctx.namespace, String(metaOf(o).name), { dryRun }));
  return {
    code: 200,
    body: { kind: ctx.rt.listKind, apiVersion: apiVersionOf(ctx.rt), metadata: { resourceVersion: ctx.store.resourceVersion() }, items: items.map((o) => withTypeMeta(ctx.rt, o)) },
  };
}
