// The GitOps controllers that deploy the policy repositories: Argo CD Applications whose source is
// one of the configured repositories, with the commit their target revision names in the bot's
// clone and whether their reconcile is paused (and by whom). Reads only; ./handover.ts decides.
import { ARGOCD_SKIP_RECONCILE_ANNOTATION } from '../containment/gitops.js';
import type { ApplicationBefore } from '../containment/ledger.js';
import type { PolicyRepositories } from '../git/index.js';
import { checkRevisionText, resolveIn } from '../git/revision.js';
import type { KubeGateway } from '../kube/index.js';
import type { GitOpsController } from './handover.js';
import { isRecord } from './scope.js';

export interface ControllerContext {
  gateway: Pick<KubeGateway, 'objects' | 'discoverKinds'>;
  git?: PolicyRepositories;
  /** The Applications the incident's containment paused (its ledger). */
  pausedByContainment?: readonly Pick<ApplicationBefore, 'namespace' | 'name'>[];
}

/** Enough Applications for any real install; past it the rest are not considered. */
const MAX_APPLICATIONS = 2000;

/** A repository URL as compared: scheme and host case-insensitive, no trailing `/` or `.git`. */
export function sameRepositoryUrl(a: string, b: string): boolean {
  const norm = (u: string): string => {
    const trimmed = u.trim().replace(/\/+$/, '').replace(/\.git$/, '');
    const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/]*)(.*)$/i.exec(trimmed);
    return m ? `${(m[1] as string).toLowerCase()}${(m[2] as string).toLowerCase()}${m[3] as string}` : trimmed;
  };
  return a !== '' && norm(a) === norm(b);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Every Argo CD Application deploying a configured repository (none when Argo CD is not installed). */
export async function findControllers(ctx: ControllerContext): Promise<GitOpsController[]> {
  const git = ctx.git;
  if (!git || git.list.length === 0) return [];
  const kinds = await ctx.gateway.discoverKinds();
  if (!kinds.Application?.served) return [];
  const { items } = await ctx.gateway.objects('Application').list();
  const out: GitOpsController[] = [];
  for (const app of items.slice(0, MAX_APPLICATIONS)) {
    const meta = isRecord(app.metadata) ? app.metadata : {};
    const namespace = str(meta.namespace) ?? '';
    const name = str(meta.name) ?? '';
    const spec = isRecord((app as Record<string, unknown>).spec) ? ((app as Record<string, unknown>).spec as Record<string, unknown>) : {};
    // Multi-source Applications render several sources together: not one repository's directory.
    const source = isRecord(spec.source) ? spec.source : undefined;
    const url = str(source?.repoURL);
    if (!name || !namespace || !source || !url) continue;
    const repository = git.list.find((r) => sameRepositoryUrl(r.config.url, url));
    if (!repository) continue;
    const annotations = isRecord(meta.annotations) ? meta.annotations : {};
    const paused = annotations[ARGOCD_SKIP_RECONCILE_ANNOTATION] === 'true';
    const byContainment = paused && (ctx.pausedByContainment ?? []).some((a) => a.namespace === namespace && a.name === name);
    const target = str(source.targetRevision) || 'HEAD';
    const checked = checkRevisionText(target);
    const resolved = checked.ok ? await resolveIn(repository, checked.revision) : { ok: false as const, error: checked.error };
    out.push({
      tool: 'argocd',
      owner: `Argo CD Application ${namespace}/${name}`,
      application: { namespace, name },
      repository: repository.config.name,
      path: str(source.path) ?? '',
      ...(resolved.ok ? { commit: resolved.commit } : { unresolved: resolved.error }),
      ...(byContainment ? { pausedByContainment: true } : {}),
      ...(paused && !byContainment ? { pausedOtherwise: true } : {}),
    });
  }
  return out;
}
