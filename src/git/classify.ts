// Where a change to a live object came from, judged against its history in Git (pure):
// - gitops-apply: a GitOps controller applied the state of commit X;
// - manual-apply: a person (kubectl, …) applied exactly what commit X holds;
// - out-of-band: no commit produced this state (or Git only caught up later);
// - revert-pending: live holds an older commit's state while Git already holds a newer one
//   (e.g. a revert in Git the GitOps tool has not applied yet);
// - unknown: what cannot be told (no history, a controller applying a state Git never held).
import type { GitCommit } from './log.js';
import { sameState } from './normalize.js';

type Obj = Record<string, unknown>;

export interface ChangeActor {
  /** The tool of the audit record (src/audit AuditTool), e.g. argocd, kustomize-controller, kubectl. */
  tool?: string;
  username?: string;
  /** A managedFields manager of the change (the journal's), e.g. argocd-controller. */
  manager?: string;
  /** Who impersonated the user, if anyone: a person acting as the controller is not the controller. */
  impersonatedBy?: string;
}

export interface CommitState {
  commit: GitCommit;
  /** The object as the commit declares it; undefined when the commit does not declare it. */
  object: Obj | undefined;
}

export interface ClassifyInput {
  /** The live object after the change; null when the change deleted it. */
  after: Obj | null;
  actor: ChangeActor;
  /** When the change happened (ISO). A commit made later cannot have produced it. */
  at?: string;
  /** Commits that touched the object's file, newest first (PolicyRepository.trail). */
  commits: CommitState[];
  /** The last commit before those, and its state. */
  before?: CommitState;
}

export type ChangeClass =
  | { kind: 'gitops-apply'; commit: GitCommit; reason: string }
  | { kind: 'manual-apply'; commit: GitCommit; reason: string }
  | { kind: 'out-of-band'; reason: string; laterCommit?: GitCommit }
  | { kind: 'revert-pending'; commit: GitCommit; applied: GitCommit; appliedByGitOps: boolean; reason: string }
  | { kind: 'unknown'; reason: string };

const GITOPS_TOOLS = new Set(['argocd', 'kustomize-controller', 'helm-controller', 'flux']);
const GITOPS_MANAGERS = new Set(['argocd-controller', 'argocd-application-controller', 'kustomize-controller', 'helm-controller']);
const GITOPS_ACCOUNTS = /^system:serviceaccount:[^:]+:(argocd-application-controller|argocd-server|kustomize-controller|helm-controller)$/;

/** A GitOps controller made the change: by tool, field manager or service account, never through impersonation. */
export function isGitOpsActor(actor: ChangeActor): boolean {
  if (actor.impersonatedBy) return false;
  return (
    (actor.tool !== undefined && GITOPS_TOOLS.has(actor.tool)) ||
    (actor.manager !== undefined && GITOPS_MANAGERS.has(actor.manager)) ||
    (actor.username !== undefined && GITOPS_ACCOUNTS.test(actor.username))
  );
}

/** Git times have whole seconds; the change time may have milliseconds. */
const SKEW_MS = 1000;

function short(commit: GitCommit): string {
  return `${commit.sha.slice(0, 8)} (${commit.author.name}, "${commit.subject.slice(0, 80)}")`;
}

function who(actor: ChangeActor): string {
  const name = actor.username ?? actor.manager ?? actor.tool ?? 'someone';
  return actor.impersonatedBy ? `${actor.impersonatedBy} as ${name}` : name;
}

export function classifyChange(input: ClassifyInput): ChangeClass {
  const states = [...input.commits, ...(input.before ? [input.before] : [])];
  const gitops = isGitOpsActor(input.actor);
  if (states.length === 0) {
    if (gitops) return { kind: 'unknown', reason: `applied by ${who(input.actor)}, but the object has no history in the policy repository (another repository, or a generated object)` };
    return { kind: 'out-of-band', reason: `made by ${who(input.actor)}; the policy repository does not declare this object` };
  }
  const atMs = input.at !== undefined ? Date.parse(input.at) : Number.NaN;
  const existedThen = (s: CommitState): boolean => Number.isNaN(atMs) || Date.parse(s.commit.time) <= atMs + SKEW_MS;
  const latest = states[0] as CommitState;
  const producer = states.find((s) => existedThen(s) && sameState(s.object, input.after));
  const deleted = input.after === null;
  const what = deleted ? 'deletion' : 'state';

  if (producer) {
    const gitMovedOn = !sameState(latest.object, input.after);
    if (gitMovedOn && !gitops && existedThen(latest) && !Number.isNaN(atMs)) {
      // Git already held the newer state when the person applied the older one: a manual rollback.
      return {
        kind: 'manual-apply',
        commit: producer.commit,
        reason: `${who(input.actor)} applied by hand the older ${what} of ${short(producer.commit)}, while Git held ${short(latest.commit)}`,
      };
    }
    if (gitMovedOn) {
      return {
        kind: 'revert-pending',
        commit: latest.commit,
        applied: producer.commit,
        appliedByGitOps: gitops,
        reason: `live holds the ${what} of ${short(producer.commit)}, applied by ${who(input.actor)}; Git already holds a newer state, ${short(latest.commit)}, not applied yet`,
      };
    }
    if (gitops) return { kind: 'gitops-apply', commit: producer.commit, reason: `${who(input.actor)} applied the ${what} of ${short(producer.commit)}` };
    return { kind: 'manual-apply', commit: producer.commit, reason: `${who(input.actor)} applied by hand exactly the ${what} of ${short(producer.commit)} (not a GitOps controller)` };
  }
  const later = states.find((s) => !existedThen(s) && sameState(s.object, input.after));
  if (later) {
    return { kind: 'out-of-band', laterCommit: later.commit, reason: `${who(input.actor)} made the change before Git held it; ${short(later.commit)} recorded it afterwards` };
  }
  if (gitops) {
    return {
      kind: 'unknown',
      reason: `${who(input.actor)} applied a ${what} no commit of the window holds: the clone may be behind the controller's revision, or the tool transforms the manifests (Helm values, kustomize patches)`,
    };
  }
  return { kind: 'out-of-band', reason: `${who(input.actor)} made a ${what} that no commit holds` };
}

/** A classification as reports carry it: the kind, the reason, and the commit it names. */
export interface GitVerdict {
  kind: ChangeClass['kind'];
  reason: string;
  commit?: { sha: string; author: string; subject: string; url?: string };
}

export function verdictOf(result: ChangeClass): GitVerdict {
  const commit: GitCommit | undefined = 'commit' in result ? result.commit : 'laterCommit' in result ? result.laterCommit : undefined;
  return {
    kind: result.kind,
    reason: result.reason,
    ...(commit ? { commit: { sha: commit.sha, author: commit.author.name, subject: commit.subject, ...(commit.url ? { url: commit.url } : {}) } } : {}),
  };
}
