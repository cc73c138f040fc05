// How the known-good sources read in Slack, and the checks and reshaping they share (pure): the
// restore scope, times beside a cause, a journalled object as a manifest that can be applied, and
// the one line per option of the choice message.
import type { GitRevision, KnownGoodSource } from './source-types.js';
import { plural } from '../words.js';

export class RestoreSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreSourceError';
  }
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const MAX_SCOPE_NAMESPACES = 1000;

/** The restore scope's namespaces, checked: at least one, each a namespace name, no more than the journal can query. */
export function checkScope(namespaces: unknown): Set<string> {
  if (!Array.isArray(namespaces) || namespaces.length === 0) throw new RestoreSourceError('the restore scope needs at least one namespace');
  if (namespaces.length > MAX_SCOPE_NAMESPACES) throw new RestoreSourceError(`the restore scope has ${namespaces.length} namespaces: at most ${MAX_SCOPE_NAMESPACES}`);
  const bad = namespaces.find((n) => typeof n !== 'string' || !NAMESPACE.test(n));
  if (bad !== undefined) throw new RestoreSourceError(`the restore scope names ${JSON.stringify(bad)?.slice(0, 80) ?? String(bad)}, which is not a namespace name`);
  return new Set(namespaces as string[]);
}

/** Namespaced objects of the scope, and every cluster-scoped policy (they can select any namespace). */
export function inScope(namespace: string | undefined, scope: ReadonlySet<string>): boolean {
  return namespace === undefined || scope.has(namespace);
}

/** Epoch ms of an ISO time, or undefined when it is not one. */
export function msOf(at: unknown): number | undefined {
  if (typeof at !== 'string' || at.length > 64) return undefined;
  const ms = Date.parse(at);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** `09:12:03` (UTC) beside a reference time of the same day; `2026-02-27 08:55` otherwise or without one. */
export function clockTime(at: string, reference?: string): string {
  const ms = msOf(at);
  if (ms === undefined) return at.slice(0, 40);
  const iso = new Date(ms).toISOString();
  const refMs = reference === undefined ? undefined : msOf(reference);
  const sameDay = refMs !== undefined && new Date(refMs).toISOString().slice(0, 10) === iso.slice(0, 10);
  return sameDay ? iso.slice(11, 19) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

const short = (commit: string): string => commit.slice(0, 8);

/** `shop-policies@1a2b3c4d (committed 08:55:10)`: commit times told beside `reference`. */
function revisionText(revision: GitRevision, reference: string | undefined, withTime: boolean): string {
  const at = withTime && revision.committedAt ? ` (committed ${clockTime(revision.committedAt, reference)})` : '';
  return `${revision.repository}@${short(revision.commit)}${at}`;
}

export function beforeCauseGitLabel(revisions: GitRevision[], causeAt: string): string {
  const when = clockTime(causeAt, causeAt);
  if (revisions.length === 1) return `Git ${revisionText(revisions[0] as GitRevision, causeAt, true)}, the last commit before the cause (${when})`;
  return `Git ${revisions.map((r) => revisionText(r, causeAt, true)).join(', ')}: the last commits before the cause (${when})`;
}

export function journalLabel(causeAt: string): string {
  return `The journal's snapshot just before the cause (${clockTime(causeAt, causeAt)})`;
}

export function headLabel(revisions: GitRevision[], branches: ReadonlyMap<string, string>): string {
  const parts = revisions.map((r) => `${revisionText(r, undefined, false)}, the head of ${branches.get(r.repository) ?? 'its branch'}`);
  return `Git ${parts.join('; ')}`;
}

export const TYPED_LABEL = 'A commit SHA or tag you type';

export function typedLabel(typed: GitRevision, via: 'commit' | 'tag' | 'branch', name: string, others: GitRevision[]): string {
  const what = via === 'tag' ? `tag ${name}` : via === 'branch' ? `the head of ${name}` : 'the commit you typed';
  const rest = others.length > 0 ? `; ${others.map((r) => revisionText(r, undefined, false)).join(', ')} at their head` : '';
  return `Git ${revisionText(typed, undefined, true)}, ${what}${rest}`;
}


function count(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new RestoreSourceError(`${what} must be a whole number of at least 0 (got ${JSON.stringify(value) ?? String(value)})`);
  return value;
}

/**
 * One line of the choice message: what the option would change, in objects and connections, or
 * why it cannot be chosen. The planner supplies the numbers.
 */
export function describeOption(option: KnownGoodSource, objectsChanged: number, delta: { opened: number; closed: number }): string {
  if (!option.available) return `${option.label}: not available (${option.reason ?? 'no reason given'})`;
  if (option.needsInput) return `${option.label}`;
  const changed = count('objectsChanged', objectsChanged);
  const opened = count('delta.opened', delta?.opened);
  const closed = count('delta.closed', delta?.closed);
  const objects = changed === 0 ? 'no object to change' : `${plural(changed, 'object')} to change`;
  const flows =
    opened === 0 && closed === 0
      ? 'no connectivity change'
      : [opened > 0 ? `opens ${plural(opened, 'connection')}` : '', closed > 0 ? `closes ${opened > 0 ? closed : plural(closed, 'connection')}` : ''].filter(Boolean).join(' and ');
  const caveat = option.caveat ? ` (${option.caveat})` : '';
  return `${option.label}: ${objects}, ${flows}${caveat}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A journalled object as a manifest to apply: what its owner declared (apiVersion, kind, name,
 * namespace, labels, annotations, spec and any other top-level field) without what the API server
 * sets (uid, resourceVersion, managedFields, creation time, status), which would make an apply fail
 * or claim fields for the wrong manager.
 */
export function restorableManifest(stored: Record<string, unknown>): Record<string, unknown> {
  const { metadata, status: _status, apiVersion, kind, ...rest } = stored;
  const meta = isRecord(metadata) ? metadata : {};
  const kept: Record<string, unknown> = { name: meta.name };
  if (meta.namespace !== undefined) kept.namespace = meta.namespace;
  if (isRecord(meta.labels) && Object.keys(meta.labels).length > 0) kept.labels = meta.labels;
  if (isRecord(meta.annotations) && Object.keys(meta.annotations).length > 0) kept.annotations = meta.annotations;
  return { apiVersion, kind, metadata: kept, ...rest };
}
