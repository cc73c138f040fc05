// The known-good sources a restore can go back to, and what loading one gives. Types only.

/** In the order the choice message lists them: 1 Git before the cause, 2 the journal, 3 Git head, 4 a typed revision. */
export type SourceKind = 'git-before-cause' | 'journal-before-cause' | 'git-head' | 'git-revision';

/** One repository's commit in a Git source. */
export interface GitRevision {
  repository: string;
  commit: string;
  /** Committer time (ISO, UTC). */
  committedAt?: string;
}

export interface KnownGoodSource {
  kind: SourceKind;
  /** e.g. "Git shop-policies@1a2b3c4d (committed 08:55:10), the last commit before the cause (09:12:03)". */
  label: string;
  available: boolean;
  /** Why it is not available. */
  reason?: string;
  /** What to know when choosing an available source (a fetch failed and the last good clone is used; part of the journal's snapshot is unknown). */
  caveat?: string;
  /** The option "type a SHA or tag": resolveRevision turns the text into a source. */
  needsInput?: true;
  /** Git kinds with one repository: that repository and commit (several: see `revisions`). */
  repository?: string;
  commit?: string;
  /** Git kinds: every configured repository's commit; the state is all of them rendered together. */
  revisions?: GitRevision[];
  /** The instant the state is taken at (the cause's time less 1 ms) for the kinds before the cause. */
  at?: string;
  /** git-revision: the text as checked (`[repository:]sha-or-tag`). */
  typed?: string;
}

/** A policy object as the source holds it. */
export interface KnownGoodObject {
  kind: string;
  /** Absent for cluster-scoped kinds. */
  namespace?: string;
  name: string;
  /** A manifest to apply (no server-set fields). */
  object: Record<string, unknown>;
  /** Git: the file that declares it ({repository, path, line, via}); journal: {journal: entry id, resourceVersion then}. */
  source?: unknown;
}

export interface ObjectIdentity {
  kind: string;
  namespace?: string;
  name: string;
}

export interface KnownGoodState {
  /** The source as loaded (a partial journal snapshot carries a caveat). */
  source: KnownGoodSource;
  /** The policies of the scope's namespaces, and every cluster-scoped policy. */
  objects: KnownGoodObject[];
  problems: string[];
  /**
   * False when part of the source could not be read (a Git file that did not render, objects the
   * journal cannot tell): an object missing from `objects` may still be known-good there, so a plan
   * must not delete a live object only because it is missing.
   */
  complete: boolean;
  /** Objects whose state at the source's time cannot be told (journal): leave them out of the plan. */
  unknown: ObjectIdentity[];
}
