// Which restore steps are left to a GitOps controller ("let the controller sync"), pure.
//
// An object is handed to its Argo CD Application when the Application would re-apply exactly the
// known-good object itself: it tracks the repository and directory the source read the object
// from, its target revision is the very commit the restore goes back to, and nobody but the
// containment paused it (the lift resumes what containment paused). Syncing re-applies Git as it
// is, so an object carrying containment's exclusion is written by the bot (the controller would
// strip the exclusion while contained), and so is a delete (the controller prunes only what it
// tracks).
//
// Where: the controller's sync happens after the lift, which resumes the reconcile containment
// paused. So only a tail of the plan can be handed over, and only steps that close nothing: until
// the controller has synced them the cluster is narrower than the known-good end, never more open.
// Each handed step is synced and verified on its own (one resource per sync operation), in order,
// so the predictions hold exactly as for the bot's own steps.
import { keyString } from '../drift/compare.js';
import type { RestorePlan, RestoreStep } from './plan.js';
import { isRecord, withoutOurExclusion } from './scope.js';

export interface GitOpsController {
  tool: 'argocd';
  /** e.g. `Argo CD Application argocd/shop-network-policies`. */
  owner: string;
  application: { namespace: string; name: string };
  /** The configured policy repository it tracks (matched by URL). */
  repository: string;
  /** The directory it renders ('' or '.' for the root). */
  path: string;
  /** The commit its target revision names in the bot's clone; absent when it cannot be told (`unresolved` says why). */
  commit?: string;
  unresolved?: string;
  /** Its reconcile is paused (argocd.argoproj.io/skip-reconcile) and the containment did it: the lift resumes it. */
  pausedByContainment?: boolean;
  /** Paused by someone else: it would not sync. */
  pausedOtherwise?: boolean;
}

/** Who syncs a handed step (kept on the step). */
export interface SyncedBy {
  tool: 'argocd';
  owner: string;
  application: { namespace: string; name: string };
  /** The commit the controller syncs (the source's). */
  revision: string;
}

export interface Handover {
  plan: RestorePlan;
  /** Why objects a controller owns are written by the bot instead (one line each, capped). */
  notes: string[];
}

const MAX_NOTES = 10;

function gitSourceOf(step: RestoreStep): { repository: string; path: string } | undefined {
  const s = step.source;
  return isRecord(s) && typeof s.repository === 'string' && typeof s.path === 'string' ? { repository: s.repository, path: s.path } : undefined;
}

function normalDir(path: string): string {
  const trimmed = path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  return trimmed === '.' ? '' : trimmed;
}

/** Whether `file` lies in directory `dir` of the repository ('' is the root). */
export function underDir(file: string, dir: string): boolean {
  const d = normalDir(dir);
  const f = normalDir(file);
  return d === '' || f.startsWith(`${d}/`);
}

function carriesContainment(step: RestoreStep): boolean {
  return step.before !== null && withoutOurExclusion(step.kind, step.before) !== step.before;
}

/** The controller that would sync `step` to its known-good object, or why none would. */
export function controllerFor(step: RestoreStep, controllers: readonly GitOpsController[], sourceCommits: ReadonlyMap<string, string>): { controller: GitOpsController; revision: string } | { reason: string } | undefined {
  const where = gitSourceOf(step);
  if (!where) return undefined;
  const candidates = controllers.filter((c) => c.repository === where.repository && underDir(where.path, c.path));
  if (candidates.length === 0) return undefined;
  const what = `\`${keyString(step.key)}\``;
  if (candidates.length > 1) return { reason: `${what}: ${candidates.length} controllers deploy ${where.path} (${candidates.map((c) => c.owner).join(', ')}): the bot writes it` };
  const c = candidates[0] as GitOpsController;
  const revision = sourceCommits.get(where.repository);
  if (step.action === 'delete') return { reason: `${what}: ${c.owner} would not delete it (not in Git, not tracked): the bot deletes it` };
  if (c.pausedOtherwise) return { reason: `${what}: ${c.owner} is paused (skip-reconcile), not by the containment: the bot writes it` };
  if (!c.commit) return { reason: `${what}: ${c.owner}'s target revision cannot be resolved (${c.unresolved ?? 'unknown'}): the bot writes it` };
  if (!revision || revision !== c.commit) return { reason: `${what}: ${c.owner} tracks ${c.commit.slice(0, 12)}, the restore goes back to ${revision?.slice(0, 12) ?? 'another source'}: the bot writes it` };
  if (carriesContainment(step)) return { reason: `${what}: it carries the containment's exclusion, which a sync would strip while contained: the bot writes it` };
  if (step.closed.length > 0) return { reason: `${what}: the step closes connections, so it cannot wait for the lift: the bot writes it` };
  return { controller: c, revision };
}

/**
 * The plan with its longest tail of steps a controller would sync marked `syncedBy` (the lift
 * goes before the first of them), and why other controller-owned steps stay the bot's.
 */
export function handOver(plan: RestorePlan, controllers: readonly GitOpsController[], sourceCommits: ReadonlyMap<string, string>): Handover {
  if (controllers.length === 0 || plan.steps.length === 0) return { plan, notes: [] };
  const verdicts = plan.steps.map((s) => controllerFor(s, controllers, sourceCommits));
  let from = plan.steps.length;
  while (from > 0) {
    const v = verdicts[from - 1];
    if (!v || !('controller' in v)) break;
    from -= 1;
  }
  const notes: string[] = [];
  const steps = plan.steps.map((step, i): RestoreStep => {
    const v = verdicts[i];
    if (!v) return step;
    if ('reason' in v) {
      notes.push(v.reason);
      return step;
    }
    if (i < from) {
      notes.push(`\`${keyString(step.key)}\`: ${v.controller.owner} would sync it, but a later step is the bot's (a sync waits for the lift, so only the plan's tail can): the bot writes it`);
      return step;
    }
    const syncedBy: SyncedBy = { tool: v.controller.tool, owner: v.controller.owner, application: v.controller.application, revision: v.revision };
    return { ...step, syncedBy };
  });
  const shown = notes.length > MAX_NOTES ? [...notes.slice(0, MAX_NOTES - 1), `… ${notes.length - (MAX_NOTES - 1)} more objects the bot writes itself`] : notes;
  return { plan: { ...plan, steps }, notes: shown };
}

/** The step before which containment is lifted: the first one a controller syncs, or the one after the last. */
export function liftAtOf(plan: Pick<RestorePlan, 'steps'>): number {
  const first = plan.steps.find((s) => s.syncedBy !== undefined);
  return first ? first.n : plan.steps.length + 1;
}
