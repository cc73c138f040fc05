// The change journal's shapes: what a journalled change looks like, how it is asked for, and the
// limits a stored object is held to. Types and constants only.

export const JOURNAL_KINDS = ['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'CiliumNetworkPolicy', 'Namespace'] as const;
export type JournalKind = (typeof JOURNAL_KINDS)[number];

/** Kinds that live in a namespace (the others are cluster-scoped). */
export const NAMESPACED_KINDS: ReadonlySet<JournalKind> = new Set<JournalKind>(['NetworkPolicy', 'CiliumNetworkPolicy']);

export function isJournalKind(value: unknown): value is JournalKind {
  return typeof value === 'string' && (JOURNAL_KINDS as readonly string[]).includes(value);
}

export interface ManagerMove {
  manager: string;
  operation: string;
  time?: string;
  subresource?: string;
}

export interface JournalEntry {
  /** The Redis stream id: unique, and ordered as the changes were stored. */
  id: string;
  kind: JournalKind;
  /** Absent for cluster-scoped kinds. */
  namespace?: string;
  name: string;
  type: 'added' | 'modified' | 'deleted';
  /** ISO time the watcher stored it (the stream id's time). */
  observedAt: string;
  resourceVersion: string;
  /** The object as last journalled (null when added). */
  before: Record<string, unknown> | null;
  /** The object now (null when deleted). */
  after: Record<string, unknown> | null;
  /** managedFields entries that are new or whose time (or owned fields) moved in this change. */
  managers: ManagerMove[];
  /**
   * True when the watcher did not see this change as it happened but worked it out from a list:
   * an object missing after a gap (deleted meanwhile), or one found under a new uid (recreated).
   * Its observedAt is when the gap was noticed, not when the change happened.
   */
  inferred?: true;
}

export interface JournalQuery {
  /** ISO time: entries observed at or after it. */
  since: string;
  /** ISO time: entries observed at or before it (default: now). */
  until?: string;
  /**
   * Only these namespaces: namespaced objects in them, and the Namespace objects of those names.
   * Cluster-scoped policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy) can select any
   * namespace, so they are included unless `clusterScoped` is false.
   */
  namespaces?: string[];
  clusterScoped?: boolean;
  kinds?: JournalKind[];
  /** At most this many entries, oldest first (default 1000, at most 10000). */
  limit?: number;
  /**
   * Leaves out first sightings of objects older than the window: `added` entries of objects
   * created before `createdBefore` and observed more than `afterMs` after their creation (the
   * watcher's first list, not a change). Entries journalled without their creation time are kept.
   */
  withoutSightings?: { createdBefore: string; afterMs: number };
}

export interface JournalRetention {
  maxAgeMs: number;
  maxEntries: number;
}

export interface JournalLimits {
  /** A stored object (stripped of noise) larger than this is replaced by a truncation marker. */
  maxObjectBytes: number;
}

export const DEFAULT_LIMITS: JournalLimits = { maxObjectBytes: 256 * 1024 };

/** Where a stored object too large to keep says so, with its size and digest. */
export const TRUNCATED_KEY = 'netpol-responder.io/truncated';

export interface TruncationMarker {
  reason: string;
  bytes: number;
  limit: number;
  sha256: string;
}

export function truncationOf(obj: Record<string, unknown> | null | undefined): TruncationMarker | undefined {
  const marker = obj?.[TRUNCATED_KEY];
  return typeof marker === 'object' && marker !== null ? (marker as TruncationMarker) : undefined;
}

/** How the object was as of a time, and whether the journal can vouch for it. */
export interface StateAt {
  /** The object (null: it did not exist then, or the journal cannot tell). */
  object: Record<string, unknown> | null;
  /** The entry it comes from, when that entry is still retained. */
  entryId?: string;
  /** False when the time is before what the journal retains or before it started watching. */
  known: boolean;
}
