// The contract between the hardening step and whatever delivers its files to the team: a branch
// pushed to a policy repository and a pull request (GitHub) or merge request (GitLab) opened on
// it. With no Git host API configured the branch is still pushed and a compare URL is given; with
// no repository at all the caller attaches the files to the incident thread itself.

/** One file of the proposal, by its path inside the repository (forward slashes, relative). */
export interface ProposedFile {
  path: string;
  content: string;
}

export interface ChangeProposalRequest {
  /** The repository's name in git.repositories (the first one when absent). */
  repository?: string;
  /** The branch to create, e.g. `netpol-responder/harden-shop-20261202-abc123`. */
  branch: string;
  /** Commit message's first line, and the pull request's title. */
  title: string;
  /** The pull request's body (Markdown). Also the commit message's body. */
  body: string;
  /** Files written on top of the repository's branch (created or overwritten). */
  files: ProposedFile[];
  /**
   * Paths removed from the base branch's tree (files only; a path the base does not hold is
   * ignored, so a re-run after the deletion landed proposes the same tree). Never also in files.
   */
  deletions?: string[];
  /** Commit author (default: the bot). */
  author?: { name: string; email: string };
}

export type ChangeProposalOutcome =
  /** A pull request (GitHub) or merge request (GitLab) is open. `existing`: one for the branch was already open (a re-run). */
  | { kind: 'pull-request'; provider: 'github' | 'gitlab'; url: string; number: number; branch: string; commit: string; base: string; existing?: boolean; /** Something that went wrong after it was opened (its labels). */ note?: string }
  /** Pushed, but no Git host API is configured: `compareUrl` when the host's web front end is known. */
  | { kind: 'branch'; branch: string; commit: string; base: string; compareUrl?: string; note: string };

/** A refusal the person can act on: `message` names what failed and the fix (never a token). */
export class ChangeProposalError extends Error {
  constructor(
    message: string,
    readonly reason: 'auth' | 'protected-branch' | 'not-found' | 'conflict' | 'unreachable' | 'invalid' | 'other',
  ) {
    super(message);
    this.name = 'ChangeProposalError';
  }
}

/** Pushes the branch and opens the request. Safe to call again with the same branch (re-runs). */
export type ProposeChanges = (request: ChangeProposalRequest) => Promise<ChangeProposalOutcome>;
