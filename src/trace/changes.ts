// One list of changes from the two records of what happened: the bot's change journal (before and
// after of every change it watched) and the Kubernetes audit log (who did it, with which tool).
// An audit event and a journal entry describe the same change when they name the same object and
// the same resulting resourceVersion, or, failing that, fall within the clock-skew tolerance. Pure.
import type { AuditChange } from '../audit/types.js';
import { creationMsOf } from '../journal/normalize.js';
import type { JournalEntry } from '../journal/types.js';

export type Evidence = 'audit' | 'managedFields' | 'none';

export interface TracedChange {
  /** `Kind/namespace/name`. */
  key: string;
  kind: string;
  namespace?: string;
  name: string;
  /** Best-known time: the audit event's, else when the watcher saw it. */
  at: string;
  verb: string;
  /** The person or service account, with impersonation: `admin@corp as dave@corp`. */
  actor?: string;
  /** Tool from the user agent (audit), or the managedFields managers that moved (fallback). */
  via?: string;
  /** How the actor is known: the audit log (strong), managedFields (weaker), or not at all. */
  evidence: Evidence;
  auditIDs: string[];
  sourceIPs: string[];
  resourceVersion?: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** The journal did not see it (e.g. before the watcher ran): states come from the audit bodies. */
  fromAuditOnly: boolean;
  /** Field managers of the change: the audit request's, or the managedFields entries that moved. */
  managers: string[];
  /**
   * The watcher first saw the object well after it was created (it was not running then): `at` is
   * the object's creationTimestamp, and the creation itself was not observed.
   */
  firstSighting?: boolean;
}

/** Audit resources → the kinds the journal uses. */
const RESOURCE_KIND: Record<string, string> = {
  networkpolicies: 'NetworkPolicy',
  adminnetworkpolicies: 'AdminNetworkPolicy',
  baselineadminnetworkpolicies: 'BaselineAdminNetworkPolicy',
  ciliumnetworkpolicies: 'CiliumNetworkPolicy',
  namespaces: 'Namespace',
};

const VERB_OF: Record<JournalEntry['type'], string> = { added: 'create', modified: 'update', deleted: 'delete' };

export function keyOf(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

function actorOf(change: AuditChange): string {
  return change.impersonatedUser ? `${change.user.username} as ${change.impersonatedUser.username}` : change.user.username;
}

function resourceVersionOf(obj: unknown): string | undefined {
  const rv = (obj as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  return typeof rv === 'string' ? rv : undefined;
}

/** Whether an audit event can be the change a journal entry saw: a creation, an update or a deletion. */
function sameKindOfChange(type: JournalEntry['type'], a: AuditChange): boolean {
  if (type === 'deleted') return a.verb === 'delete' || a.verb === 'deletecollection';
  if (a.verb === 'delete' || a.verb === 'deletecollection') return false;
  // A server-side apply (patch) creates when the object did not exist: 201 says so.
  const creates = a.verb === 'create' || a.responseStatus.code === 201;
  return type === 'added' ? creates : !creates;
}

function createdAt(obj: Record<string, unknown> | null): string | undefined {
  const ms = creationMsOf(obj);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function asObject(value: unknown): Record<string, unknown> | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/**
 * Whether the bot made the change itself (containment and its lift): its field manager, its tool,
 * or one of its own objects. Those are not suspects.
 */
export function isOwnChange(change: TracedChange, fieldManager: string): boolean {
  if (change.evidence === 'audit' && change.via === 'netpol-responder') return true;
  if (change.managers.length > 0 && change.managers.every((m) => m === fieldManager)) return true;
  const labels = ((change.after ?? change.before)?.metadata as { labels?: Record<string, string> } | undefined)?.labels;
  return labels?.['app.kubernetes.io/managed-by'] === 'netpol-responder' && labels['netpol-responder.io/incident'] !== undefined;
}

export interface MergeOptions {
  /** How far apart the audit log's and the watcher's clocks may be for a match by time (default 2 min). */
  skewToleranceMs?: number;
}

export interface MergeResult {
  changes: TracedChange[];
  /** Refused attempts (401/403): shown apart, never a change. */
  refused: AuditChange[];
}

/** Merges journal entries and audit changes into one time-ordered list of changes. */
export function mergeChanges(journal: readonly JournalEntry[], audit: readonly AuditChange[], options: MergeOptions = {}): MergeResult {
  const tolerance = options.skewToleranceMs ?? 120_000;
  const refused = audit.filter((a) => a.refused);
  const pending = audit.filter((a) => !a.refused && RESOURCE_KIND[a.objectRef.resource] && a.objectRef.name);
  const used = new Set<AuditChange>();
  const changes: TracedChange[] = [];
  const byObject = new Map<string, AuditChange[]>();
  for (const a of pending) {
    const key = keyOf(RESOURCE_KIND[a.objectRef.resource] as string, a.objectRef.namespace, a.objectRef.name as string);
    const list = byObject.get(key);
    if (list) list.push(a);
    else byObject.set(key, [a]);
  }

  for (const entry of journal) {
    const key = keyOf(entry.kind, entry.namespace, entry.name);
    const sameObject = (byObject.get(key) ?? []).filter((a) => !used.has(a));
    const created = entry.type === 'added' ? createdAt(entry.after) : undefined;
    // Seen by the watcher well after its creation: the creation itself was not observed.
    const sighted = created !== undefined && Date.parse(entry.observedAt) - Date.parse(created) > tolerance;
    // Exact: the audit event's response carries the version the watcher saw. Else, unless the
    // entry is a first sighting, the nearest event of the same kind of change in time.
    const exact = sameObject.find((a) => resourceVersionOf(a.responseObject) === entry.resourceVersion);
    const near =
      exact ??
      (sighted
        ? undefined
        : sameObject
            .filter((a) => Math.abs(Date.parse(a.at) - Date.parse(entry.observedAt)) <= tolerance && sameKindOfChange(entry.type, a))
            .sort((a, b) => Math.abs(Date.parse(a.at) - Date.parse(entry.observedAt)) - Math.abs(Date.parse(b.at) - Date.parse(entry.observedAt)))[0]);
    if (near) used.add(near);
    const managers = entry.managers.map((m) => m.manager);
    const firstSighting = !near && sighted;
    changes.push({
      key,
      kind: entry.kind,
      ...(entry.namespace ? { namespace: entry.namespace } : {}),
      name: entry.name,
      at: near?.at ?? (firstSighting ? (created as string) : entry.observedAt),
      verb: near?.verb ?? VERB_OF[entry.type],
      ...(firstSighting ? { firstSighting } : {}),
      ...(near ? { actor: actorOf(near), via: near.tool } : managers.length > 0 ? { via: managers.join(', ') } : {}),
      evidence: near ? 'audit' : managers.length > 0 ? 'managedFields' : 'none',
      auditIDs: near ? [near.auditID] : [],
      sourceIPs: near?.sourceIPs ?? [],
      resourceVersion: entry.resourceVersion,
      before: entry.before,
      after: entry.after,
      fromAuditOnly: false,
      managers: near?.fieldManager ? [near.fieldManager] : managers,
    });
  }
  // Audit events the journal has no entry for (before the watcher ran, or while it was down).
  for (const a of pending) {
    if (used.has(a)) continue;
    const kind = RESOURCE_KIND[a.objectRef.resource] as string;
    const deleted = a.verb === 'delete' || a.verb === 'deletecollection';
    changes.push({
      key: keyOf(kind, a.objectRef.namespace, a.objectRef.name as string),
      kind,
      ...(a.objectRef.namespace ? { namespace: a.objectRef.namespace } : {}),
      name: a.objectRef.name as string,
      at: a.at,
      verb: a.verb,
      actor: actorOf(a),
      via: a.tool,
      evidence: 'audit',
      auditIDs: [a.auditID],
      sourceIPs: a.sourceIPs,
      ...(resourceVersionOf(a.responseObject) ? { resourceVersion: resourceVersionOf(a.responseObject) } : {}),
      before: null,
      after: deleted ? null : asObject(a.responseObject) ?? asObject(a.requestObject),
      fromAuditOnly: true,
      managers: a.fieldManager ? [a.fieldManager] : [],
    });
  }
  changes.sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
  return { changes, refused };
}
