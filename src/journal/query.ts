// Checks what callers ask the journal for (pure): a clear error for every bad field, before any
// Redis call.
import { refOf, type ObjectRef } from './normalize.js';
import { isJournalKind, NAMESPACED_KINDS, type JournalKind, type JournalQuery } from './types.js';

export class JournalQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalQueryError';
  }
}

export interface ParsedQuery {
  sinceMs: number;
  untilMs?: number;
  kinds?: JournalKind[];
  namespaces?: string[];
  clusterScoped: boolean;
  limit: number;
  withoutSightings?: { createdBeforeMs: number; afterMs: number };
}

export const DEFAULT_QUERY_LIMIT = 1000;
export const MAX_QUERY_LIMIT = 10_000;
const MAX_NAMESPACES = 1000;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** An ISO time (or a Date) as epoch ms. */
export function timeOf(what: string, value: unknown): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' && value.length <= 64 ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) throw new JournalQueryError(`${what}: ${show(value instanceof Date ? 'Invalid Date' : value)} is not an ISO time`);
  return ms;
}

export function parseQuery(q: unknown): ParsedQuery {
  if (typeof q !== 'object' || q === null || Array.isArray(q)) throw new JournalQueryError('the query must be an object with at least `since`');
  const query = q as Partial<Record<keyof JournalQuery, unknown>>;
  const sinceMs = timeOf('since', query.since);
  const untilMs = query.until === undefined ? undefined : timeOf('until', query.until);
  if (untilMs !== undefined && untilMs < sinceMs) throw new JournalQueryError(`until (${show(query.until)}) is before since (${show(query.since)})`);
  let kinds: JournalKind[] | undefined;
  if (query.kinds !== undefined) {
    if (!Array.isArray(query.kinds) || query.kinds.length === 0) throw new JournalQueryError('kinds must be a non-empty list (leave it out for every kind)');
    const bad = query.kinds.find((k) => !isJournalKind(k));
    if (bad !== undefined) throw new JournalQueryError(`kinds: ${show(bad)} is not one of NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy, CiliumNetworkPolicy, Namespace`);
    kinds = [...new Set(query.kinds as JournalKind[])];
  }
  let namespaces: string[] | undefined;
  if (query.namespaces !== undefined) {
    if (!Array.isArray(query.namespaces) || query.namespaces.length === 0) throw new JournalQueryError('namespaces must be a non-empty list (leave it out for every namespace)');
    if (query.namespaces.length > MAX_NAMESPACES) throw new JournalQueryError(`namespaces: at most ${MAX_NAMESPACES} (got ${query.namespaces.length})`);
    const bad = query.namespaces.find((n) => typeof n !== 'string' || !NAMESPACE.test(n));
    if (bad !== undefined) throw new JournalQueryError(`namespaces: ${show(bad)} is not a valid namespace name`);
    namespaces = [...new Set(query.namespaces as string[])];
  }
  if (query.clusterScoped !== undefined && typeof query.clusterScoped !== 'boolean') throw new JournalQueryError('clusterScoped must be true or false');
  const limit = query.limit ?? DEFAULT_QUERY_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) throw new JournalQueryError(`limit must be a whole number from 1 to ${MAX_QUERY_LIMIT} (got ${show(limit)})`);
  let withoutSightings: ParsedQuery['withoutSightings'];
  if (query.withoutSightings !== undefined) {
    const w = query.withoutSightings as { createdBefore?: unknown; afterMs?: unknown } | null;
    if (typeof w !== 'object' || w === null || Array.isArray(w)) throw new JournalQueryError('withoutSightings must be an object with createdBefore and afterMs');
    const createdBeforeMs = timeOf('withoutSightings.createdBefore', w.createdBefore);
    if (typeof w.afterMs !== 'number' || !Number.isFinite(w.afterMs) || w.afterMs < 0) throw new JournalQueryError(`withoutSightings.afterMs must be a number of ms, 0 or more (got ${show(w.afterMs)})`);
    withoutSightings = { createdBeforeMs, afterMs: w.afterMs };
  }
  return {
    sinceMs,
    ...(untilMs !== undefined ? { untilMs } : {}),
    ...(kinds ? { kinds } : {}),
    ...(namespaces ? { namespaces } : {}),
    clusterScoped: query.clusterScoped !== false,
    limit,
    ...(withoutSightings ? { withoutSightings } : {}),
  };
}

/** kind, namespace and name of one object, checked as the journal stores them. */
export function parseRef(kind: unknown, namespace: unknown, name: unknown): { kind: JournalKind; ref: ObjectRef } {
  if (!isJournalKind(kind)) throw new JournalQueryError(`kind: ${show(kind)} is not one of NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy, CiliumNetworkPolicy, Namespace`);
  const ns = namespace === undefined || namespace === null || namespace === '' ? undefined : namespace;
  if (NAMESPACED_KINDS.has(kind) && ns === undefined) throw new JournalQueryError(`${kind} is namespaced: give its namespace`);
  const ref = refOf(kind, { metadata: { name, ...(ns !== undefined ? { namespace: ns } : {}) } });
  if ('error' in ref) throw new JournalQueryError(ref.error);
  return { kind, ref };
}
