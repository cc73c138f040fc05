// What one observation means for the journal, given what it last knew of the object (pure).
// This is where idempotency lives: a version already journalled, an older one, a delete already
// journalled, or a change that is only noise writes no entry. The type of an entry comes from the
// journal's own state, not from the watch: a replica that takes over lists every object as
// "added", but an object the journal already holds is "modified" (or nothing, if unchanged).
import { movedManagers, type ManagerStamp, type Observed } from './normalize.js';
import type { JournalEntry, ManagerMove } from './types.js';

type Json = Record<string, unknown>;

/** What the journal knows of one object (kind/namespace/name): its last state or its tombstone. */
export interface KnownState {
  /** Id of the last entry for this name ('' when none was written). */
  head: string;
  resourceVersion: string;
  uid: string;
  live: boolean;
  /** Live objects only. */
  object?: Json;
  digest?: string;
  managers?: ManagerStamp[];
}

export type PendingEntry = Pick<JournalEntry, 'type' | 'resourceVersion' | 'before' | 'after' | 'managers' | 'inferred'>;

export type Decision =
  | { action: 'skip'; reason: 'duplicate' | 'stale' | 'already-deleted' | 'other-incarnation' }
  /** entries may be empty: only the state moves (noise such as a status or annotation change). */
  | { action: 'write'; entries: PendingEntry[]; next: Omit<KnownState, 'head'> };

export type Observation = { type: 'added' | 'modified' | 'deleted'; observed: Observed } | { type: 'gone' };

const NUMBER = /^\d+$/;

/** Is `rv` older than `than`? Only decidable when both are numbers (etcd revisions); opaque otherwise. */
export function olderVersion(rv: string, than: string): boolean {
  if (!NUMBER.test(rv) || !NUMBER.test(than)) return false;
  return BigInt(rv) < BigInt(than);
}

function sameIncarnation(a: string, b: string): boolean {
  return a === '' || b === '' || a === b;
}

function allManagers(stamps: readonly ManagerStamp[]): ManagerMove[] {
  return movedManagers([], stamps);
}

function liveState(o: Observed): Omit<KnownState, 'head'> {
  return { resourceVersion: o.resourceVersion, uid: o.uid, live: true, object: o.stored, digest: o.digest, managers: o.managers };
}

function upsert(prev: KnownState | null, o: Observed): Decision {
  if (prev?.live && sameIncarnation(prev.uid, o.uid)) {
    if (prev.resourceVersion === o.resourceVersion) return { action: 'skip', reason: 'duplicate' };
    if (olderVersion(o.resourceVersion, prev.resourceVersion)) return { action: 'skip', reason: 'stale' };
    if (prev.digest === o.digest) return { action: 'write', entries: [], next: liveState(o) };
    const entry: PendingEntry = { type: 'modified', resourceVersion: o.resourceVersion, before: prev.object ?? null, after: o.stored, managers: movedManagers(prev.managers, o.managers) };
    return { action: 'write', entries: [entry], next: liveState(o) };
  }
  if (prev?.live) {
    // Another uid under the same name: it was deleted and created again while nobody watched.
    const gone: PendingEntry = { type: 'deleted', resourceVersion: prev.resourceVersion, before: prev.object ?? null, after: null, managers: [], inferred: true };
    const added: PendingEntry = { type: 'added', resourceVersion: o.resourceVersion, before: null, after: o.stored, managers: allManagers(o.managers), inferred: true };
    return { action: 'write', entries: [gone, added], next: liveState(o) };
  }
  // A deleted uid never comes back: this is a late copy of something already journalled.
  if (prev && prev.uid !== '' && prev.uid === o.uid) return { action: 'skip', reason: 'stale' };
  const added: PendingEntry = { type: 'added', resourceVersion: o.resourceVersion, before: null, after: o.stored, managers: allManagers(o.managers) };
  return { action: 'write', entries: [added], next: liveState(o) };
}

export function decide(prev: KnownState | null, what: Observation): Decision {
  if (what.type === 'added' || what.type === 'modified') return upsert(prev, what.observed);
  if (!prev?.live) return { action: 'skip', reason: 'already-deleted' };
  const tombstone = (rv: string): Omit<KnownState, 'head'> => ({ resourceVersion: rv, uid: prev.uid, live: false });
  if (what.type === 'gone') {
    const entry: PendingEntry = { type: 'deleted', resourceVersion: prev.resourceVersion, before: prev.object ?? null, after: null, managers: [], inferred: true };
    return { action: 'write', entries: [entry], next: tombstone(prev.resourceVersion) };
  }
  const o = what.observed;
  if (!sameIncarnation(prev.uid, o.uid)) return { action: 'skip', reason: 'other-incarnation' };
  const entry: PendingEntry = { type: 'deleted', resourceVersion: o.resourceVersion, before: prev.object ?? null, after: null, managers: [] };
  return { action: 'write', entries: [entry], next: tombstone(o.resourceVersion) };
}
