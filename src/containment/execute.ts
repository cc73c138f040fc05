// Applies and lifts a containment plan against the cluster. Every change is recorded in the
// ledger first and written so that running it again is harmless: server-side apply of our named
// objects, label merge patches, and exclusion patches that check whether they are already there.
// Patches to other people's policies replace the object at the resourceVersion just read
// (optimistic concurrency): a concurrent edit makes us read again, never overwrite it.
import { isStaleWrite, type KubeGateway, type KubeNetworkPolicy } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { ContainmentPlan, CreatedObject } from './design.js';
import { hasExclusion, QUARANTINE_LABEL, withExclusion, withoutExclusion } from './exclusion.js';
import { ARGOCD_SKIP_RECONCILE_ANNOTATION, FLUX_RECONCILE_ANNOTATION, FLUX_RECONCILE_DISABLED, gitOpsOwners } from './gitops.js';
import type { ContainmentLedger, LedgerMeta, ObjectKey } from './ledger.js';

export interface ContainmentDeps {
  objects: KubeGateway['objects'];
  ledger: ContainmentLedger;
  fieldManager: string;
  /** Transient API errors (5xx, 429, network) are retried this often, with linear backoff. */
  retries: number;
  retryDelayMs: number;
  sleep(ms: number): Promise<void>;
  /** Set argocd.argoproj.io/skip-reconcile on Argo CD Applications that own patched policies. */
  argocdSkipReconcile: boolean;
  /** Where Argo CD Applications live when their tracking id does not say (default argocd). */
  argocdNamespace: string;
  log: Logger;
}

export interface ContainmentSettings {
  fieldManager: string;
  applyRetries: number;
  applyRetryDelayMs: number;
  containment: { anpPriority: number; argocdSkipReconcile: boolean; argocdNamespace: string };
}

export function containmentDeps(cluster: Pick<KubeGateway, 'objects'>, ledger: ContainmentLedger, settings: ContainmentSettings, log: Logger, sleep: (ms: number) => Promise<void>): ContainmentDeps {
  return {
    objects: cluster.objects.bind(cluster),
    ledger,
    fieldManager: settings.fieldManager,
    retries: settings.applyRetries,
    retryDelayMs: settings.applyRetryDelayMs,
    sleep,
    argocdSkipReconcile: settings.containment.argocdSkipReconcile,
    argocdNamespace: settings.containment.argocdNamespace,
    log,
  };
}

/** Concurrent edits are re-read and retried this many times before giving up. */
const CONFLICT_RETRIES = 8;

export class ContainmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainmentError';
  }
}

async function transient<T>(deps: ContainmentDeps, what: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      // An answer (403, 404, 409, 422) is the caller's to handle; only accidents are retried.
      if ((error as { retryable?: unknown })?.retryable !== true) throw error;
      if (attempt > deps.retries) throw new ContainmentError(`${what} failed after ${attempt} attempts: ${(error as Error).message}`);
      deps.log.warn({ err: error, attempt }, `transient error: ${what}; retrying`);
      await deps.sleep(deps.retryDelayMs * attempt);
    }
  }
}

export function objectKeyOf(obj: CreatedObject): ObjectKey {
  const namespace = (obj.metadata as { namespace?: string }).namespace;
  return { kind: obj.kind, ...(namespace ? { namespace } : {}), name: obj.metadata.name };
}

export interface PolicyExclusion {
  name: string;
  outcome: 'patched' | 'already-excluded' | 'gone';
  resourceVersion?: string;
  suspendedFlux?: boolean;
  /** Concurrent edits met (each re-read and retried). */
  conflicts: number;
}

/** Adds our requirement to one NetworkPolicy (and suspends Flux on it), recording it first. */
export async function excludePolicy(deps: ContainmentDeps, incidentId: string, namespace: string, name: string): Promise<PolicyExclusion> {
  const policies = deps.objects('NetworkPolicy');
  for (let conflicts = 0; ; conflicts++) {
    const current = await transient(deps, `read networkpolicy ${namespace}/${name}`, () => policies.get({ namespace, name }));
    if (!current) {
      await deps.ledger.markPolicyGone(incidentId, namespace, name);
      return { name, outcome: 'gone', conflicts };
    }
    const resourceVersion = current.metadata?.resourceVersion ?? '';
    if (hasExclusion(current.spec?.podSelector)) {
      await deps.ledger.markPatched(incidentId, namespace, name, resourceVersion);
      return { name, outcome: 'already-excluded', resourceVersion, conflicts };
    }
    const annotations = current.metadata?.annotations ?? {};
    const suspendsFlux = gitOpsOwners(current).some((o) => o.tool === 'flux') && annotations[FLUX_RECONCILE_ANNOTATION] !== FLUX_RECONCILE_DISABLED;
    const before = await deps.ledger.recordPatchBefore(incidentId, {
      namespace,
      name,
      resourceVersion,
      podSelector: (current.spec?.podSelector ?? {}) as never,
      fluxReconcile: annotations[FLUX_RECONCILE_ANNOTATION] ?? null,
      suspendsFlux,
    });
    const next: KubeNetworkPolicy = {
      ...current,
      metadata: { ...current.metadata, ...(suspendsFlux || before.suspendsFlux ? { annotations: { ...annotations, [FLUX_RECONCILE_ANNOTATION]: FLUX_RECONCILE_DISABLED } } : {}) },
      spec: { ...current.spec, podSelector: withExclusion(current.spec?.podSelector) as never },
    };
    try {
      const written = await transient(deps, `exclude the scope from networkpolicy ${namespace}/${name}`, () => policies.replace(next, { fieldManager: deps.fieldManager }));
      const rv = written.metadata?.resourceVersion ?? '';
      await deps.ledger.markPatched(incidentId, namespace, name, rv);
      return { name, outcome: 'patched', resourceVersion: rv, suspendedFlux: suspendsFlux || before.suspendsFlux, conflicts };
    } catch (error) {
      if (isStaleWrite(error) && conflicts < CONFLICT_RETRIES) continue;
      if (isStaleWrite(error)) throw new ContainmentError(`networkpolicy ${namespace}/${name} kept changing under us (${conflicts + 1} conflicts); nothing was overwritten`);
      throw error;
    }
  }
}

/** Labels one pod as quarantined by this incident, recording it first. False when the pod is gone. */
export async function labelPod(deps: ContainmentDeps, incidentId: string, namespace: string, pod: string): Promise<boolean> {
  await deps.ledger.recordPod(incidentId, pod);
  const pods = deps.objects('Pod');
  try {
    await transient(deps, `label pod ${namespace}/${pod}`, () => pods.mergePatch({ namespace, name: pod }, { metadata: { labels: { [QUARANTINE_LABEL]: incidentId } } }, { fieldManager: deps.fieldManager }));
    return true;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return false;
    throw error;
  }
}

/** Server-side applies one of our objects; returns how many attempts it took. */
async function applyCreated(deps: ContainmentDeps, incidentId: string, obj: CreatedObject): Promise<number> {
  await deps.ledger.recordCreated(incidentId, objectKeyOf(obj), obj);
  const client = deps.objects(obj.kind as 'NetworkPolicy');
  let attempts = 0;
  await transient(deps, `apply ${obj.kind} ${obj.metadata.name}`, () => {
    attempts += 1;
    return client.apply(obj as never, { fieldManager: deps.fieldManager, force: true });
  });
  return attempts;
}

export interface ApplyReport {
  created: Array<ObjectKey & { attempts: number }>;
  labelled: string[];
  podsGone: string[];
  exclusions: PolicyExclusion[];
  applications: string[];
}

/**
 * Applies the plan in the order that closes doors first: our isolating objects, then the pods'
 * labels, then the exclusions (each takes effect once both label and requirement are in place).
 * The ledger's meta (with the baseline taken before containment) is written first; a re-run keeps it.
 */
export async function applyPlan(deps: ContainmentDeps, meta: LedgerMeta, plan: ContainmentPlan): Promise<ApplyReport> {
  const { incidentId, namespace } = meta;
  await deps.ledger.begin(meta);
  const report: ApplyReport = { created: [], labelled: [], podsGone: [], exclusions: [], applications: [] };
  for (const obj of plan.create) {
    const attempts = await applyCreated(deps, incidentId, obj);
    report.created.push({ ...objectKeyOf(obj), attempts });
  }
  for (const pod of plan.footprint.podsToLabel) {
    if (await labelPod(deps, incidentId, namespace, pod)) report.labelled.push(pod);
    else report.podsGone.push(pod);
  }
  for (const patch of plan.footprint.patches) {
    report.exclusions.push(await excludePolicy(deps, incidentId, namespace, patch.name));
    if (deps.argocdSkipReconcile) {
      for (const owner of patch.gitops) {
        if (owner.tool !== 'argocd' || !owner.application) continue;
        const app = { namespace: owner.application.namespace ?? deps.argocdNamespace, name: owner.application.name };
        if (await suspendApplication(deps, incidentId, app)) report.applications.push(`${app.namespace}/${app.name}`);
      }
    }
  }
  return report;
}

async function suspendApplication(deps: ContainmentDeps, incidentId: string, app: { namespace: string; name: string }): Promise<boolean> {
  const apps = deps.objects('Application');
  const current = await transient(deps, `read application ${app.namespace}/${app.name}`, () => apps.get(app));
  if (!current) return false;
  await deps.ledger.recordApplicationBefore(incidentId, { ...app, skipReconcile: current.metadata?.annotations?.[ARGOCD_SKIP_RECONCILE_ANNOTATION] ?? null });
  await transient(deps, `suspend application ${app.namespace}/${app.name}`, () =>
    apps.mergePatch(app, { metadata: { annotations: { [ARGOCD_SKIP_RECONCILE_ANNOTATION]: 'true' } } }, { fieldManager: deps.fieldManager }),
  );
  return true;
}

export interface LiftReport {
  /** Policies whose exclusion was removed; `edited` when their owner changed them meanwhile. */
  restored: Array<{ name: string; edited: boolean }>;
  /** Policies deleted by someone during containment. */
  policiesGone: string[];
  unlabelled: string[];
  deleted: ObjectKey[];
  applications: string[];
}

/**
 * Reverses exactly what the ledger says was done. Our requirement is taken out of each policy as
 * it is now, so an owner's edit made during containment stays; the Flux annotation goes only if
 * we set it; labels go only where they still name this incident; our objects are deleted last.
 */
export async function liftContainment(deps: ContainmentDeps, incidentId: string): Promise<LiftReport> {
  // The guard stops first, then the lift waits for any repair in progress: they never interleave.
  await deps.ledger.beginLift(incidentId);
  try {
    return await deps.ledger.withLock(incidentId, () => reverse(deps, incidentId), 20_000);
  } catch (error) {
    await deps.ledger.reactivate(incidentId);
    throw error;
  }
}

async function reverse(deps: ContainmentDeps, incidentId: string): Promise<LiftReport> {
  const record = await deps.ledger.load(incidentId);
  if (!record) throw new ContainmentError(`no containment record for incident ${incidentId}`);
  const report: LiftReport = { restored: [], policiesGone: [], unlabelled: [], deleted: [], applications: [] };
  const policies = deps.objects('NetworkPolicy');
  for (const patch of record.patches) {
    const { namespace, name } = patch;
    for (let conflicts = 0; ; conflicts++) {
      const current = await transient(deps, `read networkpolicy ${namespace}/${name}`, () => policies.get({ namespace, name }));
      if (!current) {
        report.policiesGone.push(name);
        break;
      }
      const annotations = { ...(current.metadata?.annotations ?? {}) };
      const dropFlux = patch.suspendsFlux && annotations[FLUX_RECONCILE_ANNOTATION] === FLUX_RECONCILE_DISABLED;
      if (!hasExclusion(current.spec?.podSelector) && !dropFlux) break;
      if (dropFlux) {
        if (patch.fluxReconcile === null) delete annotations[FLUX_RECONCILE_ANNOTATION];
        else annotations[FLUX_RECONCILE_ANNOTATION] = patch.fluxReconcile;
      }
      // An object that had no annotations gets none back (not an empty map).
      const { annotations: _had, ...rest } = current.metadata ?? {};
      const metadata = Object.keys(annotations).length === 0 && !current.metadata?.annotations ? rest : { ...rest, annotations };
      const next: KubeNetworkPolicy = { ...current, metadata, spec: { ...current.spec, podSelector: withoutExclusion(current.spec?.podSelector) as never } };
      try {
        await transient(deps, `remove the exclusion from networkpolicy ${namespace}/${name}`, () => policies.replace(next, { fieldManager: deps.fieldManager }));
        report.restored.push({ name, edited: patch.patchedResourceVersion !== undefined && current.metadata?.resourceVersion !== patch.patchedResourceVersion });
        break;
      } catch (error) {
        if (isStaleWrite(error) && conflicts < CONFLICT_RETRIES) continue;
        throw error;
      }
    }
  }
  const pods = deps.objects('Pod');
  for (const pod of record.pods) {
    const current = await transient(deps, `read pod ${record.meta.namespace}/${pod}`, () => pods.get({ namespace: record.meta.namespace, name: pod }));
    if (current?.metadata?.labels?.[QUARANTINE_LABEL] !== incidentId) continue;
    await transient(deps, `unlabel pod ${record.meta.namespace}/${pod}`, () =>
      pods.mergePatch({ namespace: record.meta.namespace, name: pod }, { metadata: { labels: { [QUARANTINE_LABEL]: null } } }, { fieldManager: deps.fieldManager }),
    );
    report.unlabelled.push(pod);
  }
  for (const app of record.applications) {
    const patch = { metadata: { annotations: { [ARGOCD_SKIP_RECONCILE_ANNOTATION]: app.skipReconcile } } };
    await transient(deps, `resume application ${app.namespace}/${app.name}`, () => deps.objects('Application').mergePatch({ namespace: app.namespace, name: app.name }, patch, { fieldManager: deps.fieldManager })).catch((error: unknown) => {
      deps.log.warn({ err: error, application: app }, 'could not resume the Argo CD application');
    });
    report.applications.push(`${app.namespace}/${app.name}`);
  }
  for (const key of record.created) {
    const client = deps.objects(key.kind as 'NetworkPolicy');
    await transient(deps, `delete ${key.kind} ${key.name}`, () => client.delete({ name: key.name, ...(key.namespace ? { namespace: key.namespace } : {}) }));
    report.deleted.push(key);
  }
  return report;
}
