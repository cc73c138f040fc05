// One error type for everything that goes wrong talking to the Kubernetes API, carrying the
// apiserver's own Status message (so "forbidden: User … cannot patch …" reaches the user verbatim)
// and whether trying again could help.

/** Statuses worth retrying: throttling and server-side trouble. 403/404/409/422 are answers, not accidents. */
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

export class KubeApiError extends Error {
  /** HTTP status; 0 when no response arrived (network error). */
  readonly status: number;
  /** The Status `reason` (Forbidden, NotFound, Conflict, Invalid, …) or NetworkError. */
  readonly reason: string;
  readonly retryable: boolean;
  /** Server-suggested wait before retrying, when it gave one. */
  readonly retryAfterSeconds?: number;
  /** Field-level causes of a 422 Invalid or an apply conflict. */
  readonly causes: Array<{ reason?: string; message?: string; field?: string }>;
  /** On a 403: the RBAC rule the bot lacks. */
  readonly missingPermission?: MissingPermission;
  /** On a 404 for a whole kind: the cluster does not serve it (its CRD is not installed). */
  readonly kindNotServed?: boolean;

  constructor(init: {
    status: number;
    reason: string;
    message: string;
    retryAfterSeconds?: number;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
    cause?: unknown;
    missingPermission?: MissingPermission;
    kindNotServed?: boolean;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'KubeApiError';
    this.status = init.status;
    this.reason = init.reason;
    this.retryable = init.status === 0 || RETRYABLE_STATUSES.has(init.status);
    if (init.retryAfterSeconds !== undefined) this.retryAfterSeconds = init.retryAfterSeconds;
    this.causes = init.causes ?? [];
    if (init.missingPermission) this.missingPermission = init.missingPermission;
    if (init.kindNotServed) this.kindNotServed = true;
  }
}

export interface MissingPermission {
  verb: string;
  /** '' for the core group. */
  group: string;
  resource: string;
  /** Where it was refused; undefined for a cluster-wide request. */
  namespace?: string;
}

const FALLBACK_REASONS: Record<number, string> = {
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
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

interface StatusLike {
  kind?: unknown;
  message?: unknown;
  reason?: unknown;
  code?: unknown;
  details?: { retryAfterSeconds?: unknown; causes?: unknown };
}

function parseStatus(body: unknown): StatusLike | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof value === 'object' && value !== null && (value as StatusLike).kind === 'Status') return value as StatusLike;
  return undefined;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const entry = Object.entries(headers as Record<string, unknown>).find(([k]) => k.toLowerCase() === name);
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

/** Translates anything @kubernetes/client-node throws (ApiException, FetchError, …) into KubeApiError. */
export function toKubeApiError(error: unknown, action: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  const e = error as { code?: unknown; body?: unknown; headers?: unknown; type?: unknown; message?: unknown; name?: unknown } | undefined;
  if (e && typeof e.code === 'number' && e.code >= 100) {
    const status = parseStatus(e.body);
    const retryAfterHeader = Number(headerValue(e.headers, 'retry-after'));
    const retryAfter = typeof status?.details?.retryAfterSeconds === 'number' ? status.details.retryAfterSeconds : Number.isFinite(retryAfterHeader) ? retryAfterHeader : undefined;
    const bodyText = typeof e.body === 'string' && e.body.trim() !== '' ? e.body.trim().slice(0, 500) : undefined;
    return new KubeApiError({
      status: e.code,
      reason: typeof status?.reason === 'string' && status.reason !== '' ? status.reason : (FALLBACK_REASONS[e.code] ?? 'Unknown'),
      message: typeof status?.message === 'string' && status.message !== '' ? status.message : `${action}: HTTP ${e.code}${bodyText ? `: ${bodyText}` : ''}`,
      ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
      causes: Array.isArray(status?.details?.causes) ? (status.details.causes as KubeApiError['causes']) : [],
      cause: error,
    });
  }
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const isNetwork = e?.type === 'system' || (code !== undefined && NETWORK_CODES.has(code)) || e?.name === 'FetchError' || e?.name === 'AbortError';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return new KubeApiError({
    status: 0,
    reason: isNetwork ? 'NetworkError' : 'ClientError',
    message: `${action}: ${message}`,
    cause: error,
  });
}

/** What a request was doing, for errors that say what to change. */
export interface RequestAbout {
  verb: string;
  group: string;
  version: string;
  kind: string;
  resource: string;
  namespace?: string;
  /** Set when the kind is served only once its CRD is installed. */
  custom: boolean;
}

/** The apiserver's answer for a path it does not serve (no such group, version or resource). */
const UNSERVED_PATH = 'the server could not find the requested resource';

/**
 * A KubeApiError whose message says what to do: for a 403 the RBAC rule to add, for a 404 on the
 * kind itself (not on one object) that the cluster does not serve it. Other errors pass as they are.
 */
export function explainKubeError(error: KubeApiError, about: RequestAbout): KubeApiError {
  const groupText = about.group === '' ? '"" (core)' : `"${about.group}"`;
  const init = { status: error.status, reason: error.reason, causes: error.causes, cause: error, ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}) };
  if (error.status === 403) {
    const where = about.namespace ? ` (namespace ${about.namespace}, or cluster-wide)` : '';
    return new KubeApiError({
      ...init,
      message: `${error.message}. The bot's RBAC lacks verb "${about.verb}" on resource "${about.resource}" in apiGroup ${groupText}${where}: add it to the bot's ClusterRole (deploy/rbac.yaml) and apply it.`,
      missingPermission: { verb: about.verb, group: about.group, resource: about.resource, ...(about.namespace ? { namespace: about.namespace } : {}) },
    });
  }
  if (error.status === 404 && error.message === UNSERVED_PATH) {
    const gv = about.group ? `${about.group}/${about.version}` : about.version;
    const fix = about.custom
      ? `its CRD ${about.resource}.${about.group} is not installed. Install it, or use a containment strategy that does not need it.`
      : 'check the cluster version and the API server address.';
    return new KubeApiError({ ...init, message: `${gv} ${about.kind} is not served by this cluster: ${fix}`, kindNotServed: true });
  }
  return error;
}
