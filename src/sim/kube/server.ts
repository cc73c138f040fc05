// The HTTP front: authentication, RBAC denials, injected faults, request log, then dispatch to
// discovery or to the object handlers. Every failure leaves as a Kubernetes Status.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AccessControl, RecordedRequest } from './access.js';
import { auditEvent, type AuditLog } from './audit.js';
import { parseObjectBody, readBody } from './body.js';
import {
  handleCreate,
  handleDelete,
  handleDeleteCollection,
  handleGet,
  handleList,
  handlePatch,
  handleUpdate,
  type HandlerResult,
  type RequestContext,
} from './handlers.js';
import { openApiV3Document, openApiV3Index } from './openapi.js';
import { coreVersions, type Catalog } from './catalog.js';
import { SERVER_VERSION, type Verb } from './resources.js';
import { answerReview } from './reviews.js';
import { matchRoute, verbFor, type Route } from './routes.js';
import { StatusError, failure, forbidden, reasonForCode } from './status.js';
import type { ObjectStore } from './store.js';
import { wantsTable, toTable } from './table.js';
import { startWatch, type WatchHub } from './watch.js';

export interface ServerDeps {
  store: ObjectStore;
  /** Which kinds are served (the built-in ones, and the CRDs the scenario installed). */
  catalog: Catalog;
  /** Open watch streams, so the simulation can cut them or send bookmarks. */
  watches: WatchHub;
  access: AccessControl;
  requests: RecordedRequest[];
  /** Resolves the externally visible address for /api's serverAddressByClientCIDRs. */
  address: () => string;
  tls: { certPem: string; keyPem: string };
  audit: AuditLog;
}

/** What the audit event of a request needs, filled in as the request is handled. */
interface AuditContext {
  name?: string;
  body?: Buffer;
  response?: unknown;
}

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendStatus(res: ServerResponse, error: StatusError, headers: Record<string, string> = {}): void {
  sendJson(res, error.code, error.status, headers);
}

function discovery(route: Extract<Route, { kind: 'discovery' }>, deps: ServerDeps): HandlerResult {
  const path = route.path;
  if (path === '/version') return { code: 200, body: SERVER_VERSION };
  if (path === '/healthz' || path === '/livez' || path === '/readyz') return { code: 200, body: 'ok' };
  if (path === '/api') return { code: 200, body: coreVersions(deps.address()) };
  if (path === '/api/v1') return { code: 200, body: deps.catalog.resourceList('', 'v1') };
  if (path === '/apis') return { code: 200, body: deps.catalog.groupList() };
  const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (m) {
    const [, group, version] = m as unknown as [string, string, string | undefined];
    const doc = version ? deps.catalog.resourceList(group, version) : deps.catalog.groupDocument(group);
    if (doc) return { code: 200, body: doc };
  }
  if (path === '/openapi/v3') return { code: 200, body: openApiV3Index(deps.catalog.types()) };
  const openApi = path.startsWith('/openapi/v3/') ? openApiV3Document(path, deps.catalog.types()) : undefined;
  if (openApi) return { code: 200, body: openApi };
  // No OpenAPI v2: kubectl only falls back to it when v3 is missing.
  throw failure(404, 'NotFound', 'the server could not find the requested resource');
}

function bearerUser(req: IncomingMessage, access: AccessControl): string | undefined {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m ? access.userForToken(m[1] as string) : undefined;
}

/**
 * `kubectl --as NAME` sends Impersonate-User. Every simulated user may impersonate, so the request
 * then runs as NAME (its deny rules apply); ignoring the header would answer for the wrong user.
 */
function impersonated(req: IncomingMessage, user: string | undefined): string | undefined {
  const header = req.headers['impersonate-user'];
  if (user === undefined || header === undefined) return user;
  const name = Array.isArray(header) ? header[0] : header;
  if (Array.isArray(header) && header.length > 1) throw failure(400, 'BadRequest', 'only one Impersonate-User header is allowed');
  if (!name || name.length > 253 || !/^[\x21-\x7e]+$/.test(name)) throw failure(400, 'BadRequest', 'Impersonate-User must be a user name of 1 to 253 printable characters');
  return name;
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: ServerDeps, record: RecordedRequest, audit: AuditContext): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sim.invalid');
  const route = matchRoute(url.pathname, deps.catalog);
  const authenticated = bearerUser(req, deps.access);
  if (authenticated === undefined && !(route.kind === 'discovery' && /^\/(healthz|livez|readyz)$/.test(route.path))) {
    throw failure(401, 'Unauthorized', 'Unauthorized');
  }
  const user = impersonated(req, authenticated);
  record.user = user;
  if (route.kind === 'unknown') throw failure(404, 'NotFound', 'the server could not find the requested resource');
  if (route.kind === 'discovery') {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    const result = discovery(route, deps);
    if (typeof result.body === 'string') {
      res.writeHead(result.code, { 'Content-Type': 'text/plain' });
      res.end(result.body);
    } else {
      sendJson(res, result.code, result.body);
    }
    record.status = result.code;
    return;
  }

  if (route.kind === 'review') {
    record.verb = 'create';
    if (req.method !== 'POST') throw failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    const body = await readBody(req);
    const result = answerReview(route.review, user as string, deps.access.denialsFor(user as string), parseObjectBody(req, body), deps.catalog.types());
    record.status = result.code;
    sendJson(res, result.code, result.body);
    return;
  }

  const verb: Verb | undefined = verbFor(req.method ?? '', route, url.searchParams);
  record.verb = verb;
  record.resource = route.rt.resource;
  record.namespace = route.namespace;
  audit.name = route.name;
  if (!verb) throw failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  const target = { user: user as string, verb, resource: route.rt.resource, namespace: route.namespace };
  if (deps.access.isDenied(target)) throw forbidden(route.rt, verb, user as string, route.namespace, route.name);
  const fault = deps.access.takeFault(target);
  if (fault) {
    const retryAfter = fault.retryAfterSeconds ?? (fault.status === 429 || fault.status === 503 ? 1 : undefined);
    const error = failure(fault.status, reasonForCode(fault.status), fault.message ?? `injected fault: ${reasonForCode(fault.status)}`, retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : undefined);
    record.status = fault.status;
    audit.response = error.status;
    req.resume();
    sendStatus(res, error, retryAfter !== undefined ? { 'Retry-After': String(retryAfter) } : {});
    return;
  }

  const delayMs = deps.access.takeDelay(target);
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  const body = await readBody(req);
  audit.body = body;
  const ctx: RequestContext = { store: deps.store, rt: route.rt, namespace: route.namespace, name: route.name, query: url.searchParams, req, body };
  const table = wantsTable(req.headers.accept);
  if (verb === 'watch') {
    record.status = 200;
    startWatch({ store: deps.store, hub: deps.watches, rt: route.rt, namespace: route.namespace, query: url.searchParams, res, ...(table ? { render: (o) => toTable(route.rt, [o]) } : {}) });
    return;
  }
  const handlers: Record<Exclude<Verb, 'watch'>, (c: RequestContext) => HandlerResult> = {
    list: handleList,
    get: handleGet,
    create: handleCreate,
    update: handleUpdate,
    patch: handlePatch,
    delete: handleDelete,
    deletecollection: handleDeleteCollection,
  };
  const result = handlers[verb](ctx);
  audit.response = result.body;
  let out = result.body;
  if (table && (verb === 'list' || verb === 'get') && typeof out === 'object' && out !== null) {
    const o = out as { items?: Record<string, unknown>[]; metadata?: Record<string, unknown> };
    out = verb === 'list' ? toTable(route.rt, o.items ?? [], o.metadata) : toTable(route.rt, [o as Record<string, unknown>]);
  }
  record.status = result.code;
  const warnings = (result.warnings ?? []).map((w) => `299 - ${JSON.stringify(w)}`);
  sendJson(res, result.code, out, warnings.length > 0 ? { Warning: warnings } : {});
}

export function createKubeHttpServer(deps: ServerDeps): Server {
  return createServer({ cert: deps.tls.certPem, key: deps.tls.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
    };
    deps.requests.push(record);
    const received = new Date();
    const audit: AuditContext = {};
    res.on('close', () => {
      deps.audit.add(
        auditEvent({
          record,
          requestURI: req.url ?? '/',
          ...(audit.name ? { name: audit.name } : {}),
          ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
          ...(req.socket.remoteAddress ? { sourceIP: req.socket.remoteAddress } : {}),
          received,
          completed: new Date(),
          ...(audit.body ? { requestBody: audit.body } : {}),
          responseObject: audit.response,
        }),
      );
    });
    handle(req, res, deps, record, audit).catch((error: unknown) => {
      const status = error instanceof StatusError ? error : failure(500, 'InternalError', `Internal error occurred: ${(error as Error)?.message ?? String(error)}`);
      record.status = status.code;
      audit.response = status.status;
      if (res.headersSent) {
        res.end();
        return;
      }
      // Unread request bodies (e.g. after a 413) are drained so the connection stays usable.
      req.resume();
      sendStatus(res, status);
    });
  });
}
