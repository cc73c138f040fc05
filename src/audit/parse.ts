// audit.k8s.io Events → AuditChange, pure. An audit log holds every request the policy records,
// and nearly all of them are about other resources: a line is parsed only when it passes a
// substring pre-filter (the quoted resource names), so the rest cost two `includes` each.
//
// Why the pre-filter cannot drop a watched event: such an event's objectRef.resource is one of the
// watched names, and a JSON encoder writes that string as `"<name>"` — kube-apiserver's (Go's
// encoding/json) and JSON.stringify never escape ASCII letters. All four policy resources end in
// `networkpolicies"`; the Namespace one is `"namespaces"`. (Only a hand-made line spelling the name
// with \u escapes would slip by, and whoever writes the audit log can drop events anyway.)
import { printable } from '../printable.js';
import { classifyTool } from './tool.js';
import { isWatchedResource, WATCHED_RESOURCES, type AuditChange, type AuditObjectRef, type AuditUser } from './types.js';

export const AUDIT_API_VERSIONS: readonly string[] = ['audit.k8s.io/v1', 'audit.k8s.io/v1beta1'];

export type AuditSkipReason =
  | 'blank'
  | 'invalid_json'
  | 'oversized_line'
  | 'not_an_event'
  | 'unknown_api_version'
  | 'invalid_event'
  | 'not_watched'
  | 'read'
  | 'not_a_change'
  | 'not_response_complete'
  | 'failed_request'
  | 'dry_run'
  | 'no_label_change';

/** Reasons that mean the input was damaged or not an audit log, rather than merely not wanted. */
export const MALFORMED_REASONS: ReadonlySet<AuditSkipReason> = new Set(['invalid_json', 'oversized_line', 'not_an_event', 'unknown_api_version', 'invalid_event']);

export type AuditParse = { change: AuditChange; skip?: undefined } | { skip: AuditSkipReason; detail?: string; change?: undefined };

export interface AuditParseOptions {
  /** kube.fieldManager: writes naming it are classified as the bot's. */
  botFieldManager?: string;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const READ_VERBS = new Set(['get', 'list', 'watch']);
const MAX_TEXT = 1024;
const MAX_LIST = 64;

/** True unless the text cannot concern a watched resource (see the note at the top). */
export function mayConcernWatched(text: string): boolean {
  return text.includes('networkpolicies"') || text.includes('"namespaces"');
}

/** One line of an audit log (kube-apiserver --audit-log-path, JSON format). */
export function parseAuditLine(line: string, options: AuditParseOptions = {}): AuditParse {
  const text = line.trim();
  if (text.length === 0) return { skip: 'blank' };
  // A cut or garbled line rarely still looks like an object: say so rather than "not watched".
  if (text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) return { skip: 'invalid_json' };
  // Every Event has an auditID near its start: without one the line is not an event at all.
  if (!mayConcernWatched(text)) return { skip: text.includes('"auditID"') ? 'not_watched' : 'not_an_event' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { skip: 'invalid_json' };
  }
  return parseAuditEvent(value, undefined, options);
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** String(value) for a parsed JSON value; an object whose own `toString` is not a function (`{"toString":1}`) makes String() throw. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function bounded(value: string): string {
  return value.length > MAX_TEXT ? value.slice(0, MAX_TEXT) : value;
}

function strings(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is string => typeof v === 'string').slice(0, MAX_LIST).map(bounded);
}

function userOf(value: unknown): AuditUser | undefined {
  if (!isObject(value) || typeof value.username !== 'string') return undefined;
  return { username: bounded(value.username), groups: strings(value.groups) };
}

function timeOf(event: Obj): string | undefined {
  for (const field of ['stageTimestamp', 'requestReceivedTimestamp', 'timestamp']) {
    const text = str(event[field]);
    if (text === undefined) continue;
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return new Date(ms).toISOString();
  }
  return undefined;
}

function metadataOf(body: unknown): Obj | undefined {
  return isObject(body) && isObject(body.metadata) ? body.metadata : undefined;
}

function objectRefOf(ref: Obj, event: Obj): AuditObjectRef {
  const out: AuditObjectRef = { resource: ref.resource as string };
  for (const field of ['apiGroup', 'apiVersion', 'namespace', 'name', 'subresource'] as const) {
    const value = str(ref[field]);
    if (value !== undefined && value !== '') out[field] = bounded(value);
  }
  // A create names its object in the body only (objectRef.name is empty on older apiservers).
  if (out.name === undefined) {
    const name = str(metadataOf(event.responseObject)?.name) ?? str(metadataOf(event.requestObject)?.name);
    if (name) out.name = bounded(name);
  }
  return out;
}

function queryOf(requestURI: string): URLSearchParams | undefined {
  const q = requestURI.indexOf('?');
  return q < 0 ? undefined : new URLSearchParams(requestURI.slice(q + 1));
}

/** A patch to a Namespace that demonstrably leaves its labels alone (the rest of a Namespace does not select peers). */
function leavesLabelsAlone(verb: string, body: unknown): boolean {
  if (verb !== 'patch' || body === undefined) return false;
  if (Array.isArray(body)) {
    // JSON patch: an operation on /metadata, /metadata/labels or below, or a whole-document one, may touch them.
    return body.every((op) => isObject(op) && typeof op.path === 'string' && op.path !== '' && op.path !== '/' && !/^\/metadata(?:\/labels(?:\/|$)|$)/.test(op.path));
  }
  if (!isObject(body)) return false;
  return !('metadata' in body) || (isObject(body.metadata) && !('labels' in body.metadata));
}

function groupAllowed(resource: string, apiGroup: unknown): boolean {
  if (!isWatchedResource(resource)) return false;
  // The core group is written as no group; trimmed events (Falco's fixtures) omit it too: trust the resource.
  if (apiGroup === undefined || apiGroup === '') return true;
  return (WATCHED_RESOURCES[resource].groups as readonly string[]).includes(textOf(apiGroup));
}

/**
 * One Event (a parsed log line or an EventList item). `listApiVersion` is the EventList's, which
 * its items inherit when they carry none.
 */
export function parseAuditEvent(value: unknown, listApiVersion?: string, options: AuditParseOptions = {}): AuditParse {
  if (!isObject(value)) return { skip: 'not_an_event' };
  if (value.kind !== undefined && value.kind !== 'Event') return { skip: 'not_an_event' };
  const apiVersion = value.apiVersion ?? listApiVersion;
  if (apiVersion !== undefined && !AUDIT_API_VERSIONS.includes(textOf(apiVersion))) return { skip: 'unknown_api_version', detail: textOf(apiVersion).slice(0, 80) };
  const ref = value.objectRef;
  if (!isObject(ref) || typeof ref.resource !== 'string' || !groupAllowed(ref.resource, ref.apiGroup)) return { skip: 'not_watched' };
  const verb = str(value.verb);
  if (verb === undefined) return { skip: 'invalid_event', detail: 'no verb' };
  if (READ_VERBS.has(verb)) return { skip: 'read' };
  if (!WRITE_VERBS.has(verb)) return { skip: 'not_a_change' };
  const stage = str(value.stage);
  if (stage === undefined) return { skip: 'invalid_event', detail: 'no stage' };
  if (stage !== 'ResponseComplete') return { skip: 'not_response_complete' };
  const auditID = str(value.auditID);
  if (!auditID || auditID.length > 128) return { skip: 'invalid_event', detail: 'no auditID' };
  const user = userOf(value.user);
  if (!user) return { skip: 'invalid_event', detail: 'no user' };
  const at = timeOf(value);
  if (!at) return { skip: 'invalid_event', detail: 'no valid timestamp' };
  const status = value.responseStatus;
  if (!isObject(status) || typeof status.code !== 'number' || !Number.isInteger(status.code)) return { skip: 'invalid_event', detail: 'no responseStatus.code' };
  const refused = status.code === 401 || status.code === 403;
  if (status.code >= 400 && !refused) return { skip: 'failed_request' };
  const requestURI = str(value.requestURI) ?? '';
  const query = queryOf(requestURI);
  if (query?.has('dryRun')) return { skip: 'dry_run' };
  if (ref.resource === 'namespaces' && leavesLabelsAlone(verb, value.requestObject)) return { skip: 'no_label_change' };

  const userAgent = bounded(str(value.userAgent) ?? '');
  const fieldManager = query?.get('fieldManager') ?? undefined;
  const impersonatedUser = userOf(value.impersonatedUser);
  const annotations = isObject(value.annotations) ? value.annotations : {};
  const change: AuditChange = {
    auditID,
    at,
    stage,
    verb,
    user,
    ...(impersonatedUser ? { impersonatedUser } : {}),
    userAgent,
    tool: classifyTool(userAgent, fieldManager, options.botFieldManager),
    ...(fieldManager ? { fieldManager: bounded(fieldManager) } : {}),
    sourceIPs: strings(value.sourceIPs),
    objectRef: objectRefOf(ref, value),
    responseStatus: {
      code: status.code,
      ...(typeof status.reason === 'string' && status.reason ? { reason: bounded(status.reason) } : {}),
      ...(typeof status.message === 'string' && status.message ? { message: bounded(status.message) } : {}),
    },
    refused,
    ...(value.requestObject !== undefined ? { requestObject: value.requestObject } : {}),
    ...(value.responseObject !== undefined ? { responseObject: value.responseObject } : {}),
    ...(annotations['audit.k8s.io/truncated'] === 'true' ? { truncated: true } : {}),
  };
  return { change };
}

export interface AuditBatch {
  changes: AuditChange[];
  skipped: Partial<Record<AuditSkipReason, number>>;
}

/** Many log lines at once (a file read whole): the changes in order, the rest counted per reason. */
export function parseAuditLines(lines: Iterable<string>, options: AuditParseOptions = {}): AuditBatch {
  const batch: AuditBatch = { changes: [], skipped: {} };
  for (const line of lines) {
    const parsed = parseAuditLine(line, options);
    if (parsed.change) batch.changes.push(parsed.change);
    else if (parsed.skip !== 'blank') batch.skipped[parsed.skip] = (batch.skipped[parsed.skip] ?? 0) + 1;
  }
  return batch;
}

export type EventListResult =
  | { ok: true; items: number; changes: AuditChange[]; skipped: Partial<Record<AuditSkipReason, number>>; unknownVersions: string[] }
  | { ok: false; error: string };

/**
 * A webhook body as kube-apiserver's webhook backend (and Falco's k8saudit endpoint) receive it:
 * `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[Event…]}`. A body
 * that is not such a list is refused whole; an item that is not a wanted change is counted.
 */
export function parseEventList(body: string, options: AuditParseOptions = {}): EventListResult {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, error: 'body is not valid JSON' };
  }
  if (!isObject(value) || value.kind !== 'EventList') return { ok: false, error: 'body is not an audit EventList (kind must be "EventList")' };
  const apiVersion = str(value.apiVersion);
  if (apiVersion === undefined || !AUDIT_API_VERSIONS.includes(apiVersion)) {
    return { ok: false, error: `unsupported apiVersion ${printable(JSON.stringify(textOf(value.apiVersion ?? '')).slice(0, 80))} (expected ${AUDIT_API_VERSIONS.join(' or ')})` };
  }
  if (value.items !== null && value.items !== undefined && !Array.isArray(value.items)) return { ok: false, error: 'items must be a list' };
  const items = (value.items ?? []) as unknown[];
  const changes: AuditChange[] = [];
  const skipped: Partial<Record<AuditSkipReason, number>> = {};
  const unknownVersions = new Set<string>();
  for (const item of items) {
    const parsed = parseAuditEvent(item, apiVersion, options);
    if (parsed.change) changes.push(parsed.change);
    else {
      skipped[parsed.skip] = (skipped[parsed.skip] ?? 0) + 1;
      if (parsed.skip === 'unknown_api_version' && parsed.detail && unknownVersions.size < 5) unknownVersions.add(parsed.detail);
    }
  }
  return { ok: true, items: items.length, changes, skipped, unknownVersions: [...unknownVersions] };
}
