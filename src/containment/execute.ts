// Applies and lifts a containment plan against the cluster. Every change is recorded in the
// ledger first and written so that running it again is harmless: server-side apply of our named
// objects, label merge patches, and exclusion patches that check whether they are already there.
// Patches to other people's policies replace the object at the resourceVersion just read
// (optimistic concurrency): a concurrent edit makes us read again, never overwrite it.
import { isStaleWrite, type KubeGateway, type KubeNetworkPolicy } from '../kube/index.js';
import { retryAfterMs } from '../kube/read-retry.js';
import type { LiveObjects } from '../policy/index.js';
import type { Logger } from '../log.js';
import type { ContainmentPlan, CreatedObject } from './design.js';
import { hasExclusion, QUARANTINE_LABEL, withExclusion, withoutExclusion } from './exclusion.js';
import { ARGOCD_SKIP_RECONCILE_ANNOTATION, FLUX_RECONCILE_ANNOTATION, FLUX_RECONCILE_DISABLED, gitOpsOwners } from './gitops.js';
import type { ContainmentLedger, LedgerBaseline, LedgerMeta, LedgerRecord, ObjectKey } from './ledger.js';

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

/** The longest Retry-After honoured between write attempts. */
const MAX_RETRY_AFTER_MS = 30_000;

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
      // A 429 or 503 says how long to wait: retrying sooner only meets the same answer.
      const waitMs = Math.max(deps.retryDelayMs * attempt, retryAfterMs(error, MAX_RETRY_AFTER_MS));
      deps.log.warn({ err: error, attempt, waitMs }, `transient error: ${what}; retrying`);
      await deps.sleep(waitMs);
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
export async function excludePolicy(deps: ContainmentDeps, incidentId: string, namespace: string, name: string, known?: KubeNetworkPolicy): Promise<PolicyExclusion> {
  const policies = deps.objects('NetworkPolicy');
  let cached = known;
  for (let conflicts = 0; ; conflicts++) {
    const current = cached ?? (await transient(deps, `read networkpolicy ${namespace}/${name}`, () => policies.get({ namespace, name })));
    cached = undefined;
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
      // A stale read (409) or an object deleted since (404): read again.
      const stale = isStaleWrite(error) || (error as { status?: number }).status === 404;
      if (stale && conflicts < CONFLICT_RETRIES) continue;
      if (stale) throw new ContainmentError(`networkpolicy ${namespace}/${name} kept changing under us (${conflicts + 1} conflicts); nothing was overwritten`);
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
 * The ledger's meta is written first; a re-run keeps it. The baseline taken before containment is
 * in the meta, or `baseline` gives it: computed while the writes go out, it is recorded once they
 * are done, before the containment is active (its rejection fails the apply).
 */
export async function applyPlan(deps: ContainmentDeps, meta: LedgerMeta, plan: ContainmentPlan, live?: LiveObjects, baseline?: Promise<LedgerBaseline>): Promise<ApplyReport> {
  // Awaited once the writes are done: a rejection before then is not unhandled meanwhile.
  baseline?.catch(() => undefined);
  // Under the incident's lock, so a guard never repairs a containment half-way applied.
  return deps.ledger.withLock(meta.incidentId, async () => {
    await deps.ledger.begin(meta);
    const report = await applyAll(deps, meta, plan, live);
    if (baseline) await deps.ledger.recordBaseline(meta.incidentId, await baseline);
    await deps.ledger.activate(meta.incidentId);
    return report;
  }, 20_000);
}

async function applyAll(deps: ContainmentDeps, meta: LedgerMeta, plan: ContainmentPlan, live: LiveObjects | undefined): Promise<ApplyReport> {
  const { incidentId, namespace } = meta;
  const report: ApplyReport = { created: [], labelled: [], podsGone: [], exclusions: [], applications: [] };
  for (const obj of plan.create) {
    const attempts = await applyCreated(deps, incidentId, obj);
    report.created.push({ ...objectKeyOf(obj), attempts });
  }
  await eachLimited(plan.footprint.podsToLabel, PARALLEL_WRITES, async (pod) => {
    if (await labelPod(deps, incidentId, namespace, pod)) report.labelled.push(pod);
    else report.podsGone.push(pod);
  });
  // The policies as just read: the first attempt needs no extra read (a stale one is a 409, read
  // again). Only the scope's namespace: the list holds the whole cluster's.
  const patched = new Set(plan.footprint.patches.map((p) => p.name));
  const known = new Map<string, KubeNetworkPolicy>();
  for (const p of (live?.networkPolicies ?? []) as KubeNetworkPolicy[]) if (p.metadata?.namespace === namespace && patched.has(p.metadata.name ?? '')) known.set(p.metadata.name ?? '', p);
  await eachLimited(plan.footprint.patches, PARALLEL_WRITES, async (patch) => {
    report.exclusions.push(await excludePolicy(deps, incidentId, namespace, patch.name, known.get(patch.name)));
  });
  if (deps.argocdSkipReconcile) {
    const apps = new Map<string, { namespace: string; name: string }>();
    for (const owner of plan.footprint.patches.flatMap((p) => p.gitops)) {
      if (owner.tool !== 'argocd' || !owner.application) continue;
      const app = { namespace: owner.application.namespace ?? deps.argocdNamespace, name: owner.application.name };
      apps.set(`${app.namespace}/${app.name}`, app);
    }
    for (const app of apps.values()) if (await suspendApplication(deps, incidentId, app)) report.applications.push(`${app.namespace}/${app.name}`);
  }
  report.labelled.sort();
  report.exclusions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return report;
}

/** Writes to independent objects run this many at a time (the API server takes them in parallel). */
const PARALLEL_WRITES = 32;

/**
 * Runs `fn` over the items, `limit` at a time. After a failure no new item starts, and the
 * in-flight ones finish before the first error is thrown: a rollback never races a write.
 */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!failure && next < items.length) {
      try {
        await fn(items[next++] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(lanes);
  if (failure) throw failure.error;
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
  const { namespace } = record.meta;
  const policies = deps.objects('NetworkPolicy');
  // One list for the first attempts; a policy changed since is a 409 and is read again.
  const listed = record.patches.length > 0 ? (await transient(deps, `list networkpolicies in ${namespace}`, () => policies.list({ namespace }))).items : [];
  const known = new Map(listed.map((p) => [p.metadata?.name ?? '', p]));
  await eachLimited(record.patches, PARALLEL_WRITES, async (patch) => {
    const outcome = await removeExclusion(deps, patch, known.get(patch.name));
    if (outcome === 'gone') report.policiesGone.push(patch.name);
    else if (outcome) report.restored.push(outcome);
  });
  const pods = deps.objects('Pod');
  await eachLimited(record.pods, PARALLEL_WRITES, async (pod) => {
    const current = await transient(deps, `read pod ${namespace}/${pod}`, () => pods.get({ namespace, name: pod }));
    if (current?.metadata?.labels?.[QUARANTINE_LABEL] !== incidentId) return;
    await transient(deps, `unlabel pod ${namespace}/${pod}`, () =>
      pods.mergePatch({ namespace, name: pod }, { metadata: { labels: { [QUARANTINE_LABEL]: null } } }, { fieldManager: deps.fieldManager }),
    );
    report.unlabelled.push(pod);
  });
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
  report.restored.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  report.policiesGone.sort();
  report.unlabelled.sort();
  return report;
}

/** Takes our requirement (and the Flux suspension we set) out of one policy as it is now. */
async function removeExclusion(deps: ContainmentDeps, patch: LedgerRecord['patches'][number], known: KubeNetworkPolicy | undefined): Promise<{ name: string; edited: boolean } | 'gone' | undefined> {
  const { namespace, name } = patch;
  const policies = deps.objects('NetworkPolicy');
  let cached = known;
  for (let conflicts = 0; ; conflicts++) {
    const current = cached ?? (await transient(deps, `read networkpolicy ${namespace}/${name}`, () => policies.get({ namespace, name })));
    cached = undefined;
    if (!current) return 'gone';
    const annotations = { ...(current.metadata?.annotations ?? {}) };
    const dropFlux = patch.suspendsFlux && annotations[FLUX_RECONCILE_ANNOTATION] === FLUX_RECONCILE_DISABLED;
    if (!hasExclusion(current.spec?.podSelector) && !dropFlux) return undefined;
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
      return { name, edited: patch.patchedResourceVersion !== undefined && current.metadata?.resourceVersion !== patch.patchedResourceVersion };
    } catch (error) {
      if ((isStaleWrite(error) || (error as { status?: number }).status === 404) && conflicts < CONFLICT_RETRIES) continue;
      throw error;
    }
  }
}
