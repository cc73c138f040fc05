// A simulated Argo CD application controller for the embedded environment, so a restore that
// "lets the controller sync" can be carried out and verified for real. Every pollMs it lists the
// Applications of its namespace and runs each pending sync operation (the top-level `operation`
// field) as Argo CD does: resolve the revision in the Git repository, read and validate every
// manifest at that commit (argocd-manifests.ts), dry-run them all, server-side apply each with
// Argo CD's tracking-id annotation, then clear `operation` and report in status.operationState.
//
// Only explicit sync operations are simulated. Deliberately absent: automated sync and self-heal
// (spec.syncPolicy.automated is ignored, so drift stays until someone asks for a sync), pruning,
// hooks and waves, health, AppProjects, Helm, kustomize beyond a plain `resources` list,
// multi-source Applications and clusters other than the one it runs in. Without a kustomization
// every YAML file below the path is read, as if spec.source.directory.recurse were true.
import { isDeepStrictEqual } from 'node:util';
import { loadKubeConfig } from '../kube/config.js';
import { isStaleWrite } from '../kube/objects.js';
import { createKubeGateway, type KubeGateway } from '../kube/gateway.js';
import type { KindName, KindObjects } from '../kube/kinds.js';
import type { Application } from '../kube/resources.js';
import { silentLogger, type Logger } from '../log.js';
import { manifestKey, readManifests, SyncFailure, type Manifest } from './argocd-manifests.js';

export { MAX_MANIFEST_BYTES, MAX_SYNC_OBJECTS } from './argocd-manifests.js';

/** Argo CD leaves an Application with this annotation set to "true" alone, operations included. */
export const SKIP_RECONCILE_ANNOTATION = 'argocd.argoproj.io/skip-reconcile';
/** Argo CD's annotation resource tracking: which Application an object belongs to. */
export const TRACKING_ID_ANNOTATION = 'argocd.argoproj.io/tracking-id';
/** Destinations that mean "the cluster the controller runs in". */
const IN_CLUSTER = { server: 'https://kubernetes.default.svc', name: 'in-cluster' };

export interface SimArgoCdOptions {
  /** A kubeconfig for the simulated API server. */
  kubeconfigPath: string;
  /** Application spec.source.repoURL → the local bare repository it stands for. */
  repositories: Record<string, string>;
  /** Where the Applications live (default 'argocd'). */
  namespace?: string;
  /** Between the end of one poll and the start of the next (default 100). */
  pollMs?: number;
  /** The field manager of its applies (default 'argocd-controller'). */
  fieldManager?: string;
  logger?: Logger;
}

/** What one sync operation did. */
export interface SyncRecord {
  /** The Application's namespace and name. */
  namespace: string;
  application: string;
  /** The commit synced to; absent when the revision could not be resolved. */
  revision?: string;
  phase: 'Succeeded' | 'Failed';
  message: string;
  /** `Kind/namespace/name` (`Kind/name` for cluster-scoped kinds) of every object applied. */
  resources: string[];
  startedAt: string;
  finishedAt: string;
}

export interface SimArgoCd {
  /** Every sync operation carried out, oldest first. */
  readonly syncs: SyncRecord[];
  /** Stops polling; resolves once the poll under way (if any) has finished. */
  close(): Promise<void>;
}

/** A resource named by operation.sync.resources (Argo CD's SyncOperationResource). */
export interface SyncResourceRef {
  group?: string;
  kind: string;
  namespace?: string;
  name: string;
}

interface SyncOperation {
  revision?: string;
  resources?: SyncResourceRef[];
  dryRun?: boolean;
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** `<app>:<group>/<kind>:<namespace>/<name>`, Argo CD's tracking id (empty group and namespace stay empty). */
export function trackingId(application: string, m: { group: string; kind: string; namespace: string; name: string }): string {
  return `${application}:${m.group}/${m.kind}:${m.namespace}/${m.name}`;
}

/** operation.sync as the controller understands it; a SyncFailure when it is malformed. */
function syncOperationOf(operation: unknown): SyncOperation {
  const sync = isObject(operation) ? operation.sync : undefined;
  if (!isObject(sync)) throw new SyncFailure('the operation is not a sync (only sync operations are simulated)');
  const { revision, resources, dryRun } = sync;
  if (revision !== undefined && typeof revision !== 'string') throw new SyncFailure('operation.sync.revision must be a string');
  if (resources !== undefined && resources !== null) {
    const valid = Array.isArray(resources) && resources.every((r) => isObject(r) && typeof r.kind === 'string' && typeof r.name === 'string');
    if (!valid) throw new SyncFailure('operation.sync.resources must list objects with a kind and a name');
  }
  return {
    ...(revision ? { revision } : {}),
    ...(Array.isArray(resources) ? { resources: resources as SyncResourceRef[] } : {}),
    ...(dryRun === true ? { dryRun: true } : {}),
  };
}

/** The object as applied: Git's, with the tracking id that ties it to the Application. */
function tracked(application: string, m: Manifest): Obj {
  const metadata = m.object.metadata as Obj;
  const id = trackingId(application, { group: m.info.group, kind: m.info.kind, namespace: m.namespace, name: m.name });
  return { ...m.object, metadata: { ...metadata, annotations: { ...(metadata.annotations as Obj | undefined), [TRACKING_ID_ANNOTATION]: id } } };
}

function matches(ref: SyncResourceRef, m: Manifest): boolean {
  return (ref.group ?? '') === m.info.group && ref.kind === m.info.kind && (ref.namespace ?? '') === m.namespace && ref.name === m.name;
}

/** Namespaces first, as Argo CD orders a sync, so the objects that go in them have somewhere to go. */
function syncOrder(manifests: Manifest[]): Manifest[] {
  return [...manifests.filter((m) => m.info.kind === 'Namespace'), ...manifests.filter((m) => m.info.kind !== 'Namespace')];
}

/** A merge patch that turns `before` into exactly `after` (keys `after` lacks become null). */
function replacing(before: unknown, after: Obj): Obj {
  if (!isObject(before)) return after;
  const patch: Obj = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) patch[key] = isObject(value) && isObject(before[key]) ? replacing(before[key], value) : value;
  return patch;
}

export async function startSimArgoCd(opts: SimArgoCdOptions): Promise<SimArgoCd> {
  const gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: opts.kubeconfigPath }));
  const namespace = opts.namespace ?? 'argocd';
  const pollMs = opts.pollMs ?? 100;
  const fieldManager = opts.fieldManager ?? 'argocd-controller';
  const log = (opts.logger ?? silentLogger).child({ component: 'sim-argocd' });
  const syncs: SyncRecord[] = [];
  const apps = gateway.objects('Application');
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;

  const poll = async (): Promise<void> => {
    let items: Application[];
    try {
      items = (await apps.list({ namespace })).items;
    } catch (error) {
      log.debug({ err: firstLine(error) }, 'cannot list Applications; trying again next poll');
      return;
    }
    for (const app of items) {
      if (closed) return;
      if (app.metadata?.annotations?.[SKIP_RECONCILE_ANNOTATION] === 'true') continue;
      if ((app as Obj).operation === undefined || (app as Obj).operation === null) continue;
      try {
        await runOperation(app);
      } catch (error) {
        log.debug({ err: firstLine(error), application: app.metadata?.name }, 'sync operation not finished; trying again next poll');
      }
    }
  };

  /** Runs the operation and reports it on the Application; throws only when the report cannot be written. */
  const runOperation = async (app: Application): Promise<void> => {
    const name = app.metadata?.name as string;
    const operation = (app as Obj).operation;
    const startedAt = new Date().toISOString();
    let outcome: { phase: SyncRecord['phase']; message: string; revision?: string; applied: Manifest[]; dryRun?: boolean };
    try {
      outcome = { phase: 'Succeeded', ...(await sync(app, syncOperationOf(operation))) };
    } catch (error) {
      if (!(error instanceof SyncFailure)) log.warn({ err: firstLine(error), application: name }, 'sync operation failed');
      const partial = error instanceof SyncFailure ? error.partial : {};
      outcome = { phase: 'Failed', message: firstLine(error), applied: partial.applied ?? [], ...(partial.revision ? { revision: partial.revision } : {}) };
    }
    const finishedAt = new Date().toISOString();
    const state: Obj = {
      operation,
      phase: outcome.phase,
      message: outcome.message,
      startedAt,
      finishedAt,
      ...(outcome.revision !== undefined
        ? {
            syncResult: {
              revision: outcome.revision,
              source: app.spec?.source ?? {},
              resources: outcome.applied.map((m) => ({ group: m.info.group, version: m.info.version, kind: m.info.kind, namespace: m.namespace, name: m.name, status: 'Synced' })),
            },
          }
        : {}),
    };
    const synced = outcome.phase === 'Succeeded' && !outcome.dryRun && outcome.revision !== undefined;
    await report(app, operation, state, synced ? { status: 'Synced', revision: outcome.revision } : undefined);
    const record: SyncRecord = {
      namespace,
      application: name,
      ...(outcome.revision !== undefined ? { revision: outcome.revision } : {}),
      phase: outcome.phase,
      message: outcome.message,
      resources: outcome.applied.map(manifestKey),
      startedAt,
      finishedAt,
    };
    syncs.push(record);
    log.info({ application: name, revision: record.revision, phase: record.phase, resources: record.resources.length }, `sync ${record.phase}: ${record.message}`);
  };

  /** Reads Git and applies everything or, on a SyncFailure, what its `partial` says. */
  const sync = async (app: Application, op: SyncOperation): Promise<{ message: string; revision: string; applied: Manifest[]; dryRun?: boolean }> => {
    const name = app.metadata?.name as string;
    const spec = app.spec;
    const source = spec?.source;
    if (!isObject(source) || spec?.sources !== undefined) throw new SyncFailure('only Applications with a single spec.source are simulated');
    const destination = spec?.destination ?? {};
    if ((destination.server ?? IN_CLUSTER.server) !== IN_CLUSTER.server || (destination.name ?? IN_CLUSTER.name) !== IN_CLUSTER.name) {
      throw new SyncFailure(`destination ${destination.server ?? destination.name} is not this cluster (only in-cluster is simulated)`);
    }
    const repoURL = typeof source.repoURL === 'string' ? source.repoURL : '';
    const repoDir = Object.hasOwn(opts.repositories, repoURL) ? opts.repositories[repoURL] : undefined;
    if (repoDir === undefined) throw new SyncFailure(`repository ${repoURL || '(none)'} is not known to this Argo CD`);
    const target = typeof source.targetRevision === 'string' && source.targetRevision !== '' ? source.targetRevision : 'HEAD';
    const { commit, manifests } = await readManifests({
      repoDir,
      revision: op.revision ?? target,
      path: typeof source.path === 'string' ? source.path : '',
      destinationNamespace: destination.namespace,
    });
    const wanted = op.resources;
    const selected = syncOrder(wanted ? manifests.filter((m) => wanted.some((ref) => matches(ref, m))) : manifests);
    const missing = (wanted ?? []).filter((ref) => !manifests.some((m) => matches(ref, m)));
    const objects = selected.map((m) => ({ manifest: m, object: tracked(name, m) }));
    // Argo CD dry-runs the whole sync first: an object the API server refuses stops it before any write.
    const created = new Set(selected.filter((m) => m.info.kind === 'Namespace').map((m) => m.name));
    for (const { manifest, object } of objects) {
      if (manifest.namespace && created.has(manifest.namespace)) continue;
      try {
        await applyObject(gateway, manifest.info.kind, object, { fieldManager, force: true, dryRun: true });
      } catch (error) {
        throw new SyncFailure(`${manifestKey(manifest)} (${manifest.file}): ${firstLine(error)}`, { revision: commit });
      }
    }
    const notInGit = missing.length > 0 ? `; not in Git at this revision: ${missing.map((r) => `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`).join(', ')}` : '';
    if (op.dryRun) return { message: `successfully synced (dry run, ${selected.length} objects)${notInGit}`, revision: commit, applied: selected, dryRun: true };
    const applied: Manifest[] = [];
    for (const { manifest, object } of objects) {
      try {
        await applyObject(gateway, manifest.info.kind, object, { fieldManager, force: true });
      } catch (error) {
        throw new SyncFailure(`${manifestKey(manifest)} (${manifest.file}): ${firstLine(error)}`, { revision: commit, applied });
      }
      applied.push(manifest);
    }
    return { message: `successfully synced (all tasks run)${notInGit}`, revision: commit, applied };
  };

  /**
   * Clears `operation` and writes the result, conditional on the Application not having changed
   * since it was listed: if someone asked for another sync meanwhile, that one stays for next poll.
   */
  const report = async (app: Application, operation: unknown, state: Obj, sync: Obj | undefined): Promise<void> => {
    let current: Application | undefined = app;
    for (let attempt = 0; current && attempt < 5; attempt++) {
      const status = (current.status ?? {}) as Obj;
      const sameOperation = isDeepStrictEqual((current as Obj).operation, operation);
      const patch: Obj = {
        ...(sameOperation ? { operation: null } : {}),
        status: { operationState: replacing(status.operationState, state), ...(sync ? { sync } : {}) },
      };
      try {
        await apps.mergePatch({ namespace, name: current.metadata?.name as string }, patch, { fieldManager, resourceVersion: current.metadata?.resourceVersion as string });
        return;
      } catch (error) {
        if (!isStaleWrite(error)) throw error;
        current = await apps.get({ namespace, name: current.metadata?.name as string });
      }
    }
    if (current) throw new Error(`Application ${namespace}/${app.metadata?.name} kept changing; its sync result was not written`);
  };

  const schedule = (delay: number): void => {
    if (closed) return;
    timer = setTimeout(() => {
      polling = poll()
        .catch((error: unknown) => log.debug({ err: firstLine(error) }, 'poll failed'))
        .finally(() => {
          polling = undefined;
          schedule(pollMs);
        });
    }, delay);
  };
  schedule(0);

  return {
    syncs,
    async close() {
      closed = true;
      clearTimeout(timer);
      await polling;
    },
  };
}

function applyObject(gateway: KubeGateway, kind: KindName, object: Obj, options: { fieldManager: string; force: boolean; dryRun?: boolean }): Promise<unknown> {
  return gateway.objects(kind).apply(object as unknown as KindObjects[typeof kind], options);
}
