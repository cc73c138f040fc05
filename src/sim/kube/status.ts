// Kubernetes `Status` errors. Every failure the simulated server returns is one of these, built
// with the same reasons, codes and message shapes as the real apiserver so clients parse them alike.

import { qualifiedResource, type ResourceType } from './resources.js';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** A failure on its way to the client: thrown inside handlers, rendered once by the router. */
export class StatusError extends Error {
  constructor(readonly status: KubeStatus) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'StatusError';
  }
  get code(): number {
    return this.status.code;
  }
}

export function failure(code: number, reason: string, message: string, details?: StatusDetails): StatusError {
  return new StatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  });
}

export function success(details: StatusDetails): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 };
}

function kindOf(rt: ResourceType): string {
  return rt.resource;
}

export function notFound(rt: ResourceType, name: string): StatusError {
  return failure(404, 'NotFound', `${qualifiedResource(rt)} "${name}" not found`, {
    name,
    ...(rt.group ? { group: rt.group } : {}),
    kind: kindOf(rt),
  });
}

export function alreadyExists(rt: ResourceType, name: string): StatusError {
  return failure(409, 'AlreadyExists', `${qualifiedResource(rt)} "${name}" already exists`, {
    name,
    ...(rt.group ? { group: rt.group } : {}),
    kind: kindOf(rt),
  });
}

export function conflict(rt: ResourceType, name: string, why: string): StatusError {
  return failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(rt)} "${name}": ${why}`, {
    name,
    ...(rt.group ? { group: rt.group } : {}),
    kind: kindOf(rt),
  });
}

export interface FieldError {
  /** `spec.ingress[0].ports[0].port` */
  field: string;
  type:
    | 'FieldValueInvalid'
    | 'FieldValueRequired'
    | 'FieldValueNotSupported'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany'
    | 'FieldValueTypeInvalid'
    | 'FieldValueDuplicate';
  value?: unknown;
  detail: string;
}

const TYPE_TEXT: Record<FieldError['type'], string> = {
  FieldValueInvalid: 'Invalid value',
  FieldValueRequired: 'Required value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueDuplicate: 'Duplicate value',
};

function renderValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? 'null';
}

/** `spec.x: Invalid value: 7: must be …`, the way field.Error renders itself. */
export function renderFieldError(e: FieldError): string {
  const head = `${e.field}: ${TYPE_TEXT[e.type]}`;
  // Like field.Error since Kubernetes 1.30: a required, forbidden or too-long field shows no value.
  if (e.type === 'FieldValueRequired' || e.type === 'FieldValueForbidden' || e.type === 'FieldValueTooLong') return e.detail ? `${head}: ${e.detail}` : head;
  if (e.type === 'FieldValueDuplicate') return `${head}: ${renderValue(e.value)}`;
  return `${head}: ${renderValue(e.value)}: ${e.detail}`;
}

/** 422 Invalid, e.g. `NetworkPolicy.networking.k8s.io "x" is invalid: spec.…: Invalid value: …`. */
export function invalid(groupKind: { group: string; kind: string }, name: string, errors: FieldError[]): StatusError {
  const qualifiedKind = groupKind.group ? `${groupKind.kind}.${groupKind.group}` : groupKind.kind;
  const rendered = errors.map(renderFieldError);
  const list = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
  return failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, {
    name,
    ...(groupKind.group ? { group: groupKind.group } : {}),
    kind: groupKind.kind,
    causes: errors.map((e) => ({ reason: e.type, message: renderFieldError(e).slice(e.field.length + 2), field: e.field })),
  });
}

export function badRequest(message: string): StatusError {
  return failure(400, 'BadRequest', message);
}

/** The real apiserver's RBAC denial text, which operators recognise and search for. */
export function forbidden(rt: ResourceType, verb: string, user: string, namespace: string | undefined, name?: string): StatusError {
  const subject = name ? `${qualifiedResource(rt)} "${name}"` : qualifiedResource(rt);
  const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
  return failure(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${rt.resource}" in API group "${rt.group}" ${scope}`,
    { ...(name ? { name } : {}), ...(rt.group ? { group: rt.group } : {}), kind: rt.resource },
  );
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function reasonForCode(code: number): string {
  return REASONS[code] ?? (code >= 500 ? 'InternalError' : 'Unknown');
}
