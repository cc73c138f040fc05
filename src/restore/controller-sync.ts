// "Let the controller sync": a restore step whose object its Argo CD Application re-applies from
// Git (./handover.ts) is not written by the bot. The bot asks the Application for a sync of that
// one resource at the source's commit (a sync operation, as `argocd app sync --resource` does)
// and waits until the live object is the known-good one; the caller then reads it back and
// verifies it like any step. I/O.
import { ARGOCD_SKIP_RECONCILE_ANNOTATION } from '../containment/gitops.js';
import { keyString } from '../drift/compare.js';
import { KINDS, type KubeGateway, type ObjectClient } from '../kube/index.js';
import type { KubeObject } from '../kube/resources.js';
import type { EngineKind } from './engine.js';
import type { RestoreStep } from './plan.js';
import { isRecord } from './scope.js';
import { objectCheck } from './verify.js';

type Obj = Record<string, unknown>;

export interface ControllerSyncContext {
  gateway: Pick<KubeGateway, 'objects'>;
  fieldManager: string;
  /** How long the controller gets to sync (default 2 minutes). */
  timeoutMs?: number;
  /** How often the object and the Application are read while waiting (default 500 ms). */
  pollMs?: number;
}

/** The controller did not sync the object: the message says why (nothing was written by the bot). */
export class ControllerSyncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControllerSyncError';
  }
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_POLL_MS = 500;
const FAILED_PHASES = new Set(['Failed', 'Error']);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function operationOf(app: Obj | undefined): Obj | undefined {
  return app && isRecord(app.operation) ? app.operation : undefined;
}

function operationState(app: Obj | undefined): { phase?: string; message?: string; operation?: Obj } {
  const status = app && isRecord(app.status) ? app.status : {};
  const state = isRecord(status.operationState) ? status.operationState : {};
  const s = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return { phase: s(state.phase), message: s(state.message), ...(isRecord(state.operation) ? { operation: state.operation } : {}) };
}

/** Whether the operation Argo CD reports having run is the one we asked for (same initiator, same resources). */
function isOurs(ran: Obj | undefined, sent: Obj): boolean {
  if (!ran || !isRecord(ran.sync) || !isRecord(sent.sync)) return false;
  const by = (o: Obj): unknown => (isRecord(o.initiatedBy) ? o.initiatedBy.username : undefined);
  return by(ran) === by(sent) && JSON.stringify(ran.sync.resources) === JSON.stringify(sent.sync.resources);
}

/** The sync operation for exactly the step's object at the source's commit. */
function syncOperation(step: RestoreStep, fieldManager: string): Obj {
  const info = KINDS[step.kind as EngineKind];
  const resource = { group: info.group, kind: step.kind, name: step.name, ...(step.namespace ? { namespace: step.namespace } : {}) };
  return {
    initiatedBy: { username: fieldManager },
    info: [{ name: 'Reason', value: `netpol-responder restore step ${step.n}` }],
    sync: { revision: step.syncedBy?.revision, resources: [resource], syncOptions: ['ServerSideApply=true'] },
  };
}

/**
 * Asks the step's Application to sync its object and waits until the live object equals the
 * step's known-good one. Returns what the sync did ('created' or 'updated'); throws
 * ControllerSyncError when the Application is gone or paused, its sync fails, or time runs out.
 */
export async function syncByController(step: RestoreStep, ctx: ControllerSyncContext): Promise<'created' | 'updated'> {
  const by = step.syncedBy;
  if (!by) throw new ControllerSyncError(`step ${step.n} is not left to a controller`);
  const apps = ctx.gateway.objects('Application') as unknown as ObjectClient<KubeObject>;
  const target = ctx.gateway.objects(step.kind as EngineKind) as unknown as ObjectClient<KubeObject>;
  const ref = { namespace: by.application.namespace, name: by.application.name };
  const objectRef = { name: step.name, ...(step.namespace ? { namespace: step.namespace } : {}) };
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pollMs = ctx.pollMs ?? DEFAULT_POLL_MS;
  const deadline = Date.now() + timeoutMs;
  const what = `${by.owner} (sync of \`${keyString(step.key)}\` at ${by.revision.slice(0, 12)})`;
  const done = async (): Promise<boolean> => objectCheck(step.after, ((await target.get(objectRef)) as Obj | undefined) ?? null, step.namespace).ok;

  const sent = syncOperation(step, ctx.fieldManager);
  let requested = false;
  for (;;) {
    if (await done()) return step.action === 'create' ? 'created' : 'updated';
    const app = (await apps.get(ref)) as Obj | undefined;
    if (!app) throw new ControllerSyncError(`${by.owner} is gone: nothing synced the object (the bot wrote nothing)`);
    const annotations = isRecord(app.metadata) && isRecord(app.metadata.annotations) ? app.metadata.annotations : {};
    if (annotations[ARGOCD_SKIP_RECONCILE_ANNOTATION] === 'true') throw new ControllerSyncError(`${by.owner} is paused (${ARGOCD_SKIP_RECONCILE_ANNOTATION}: "true"), so it does not sync: resume it, then Resume the restore`);
    const state = operationState(app);
    // Our operation ran and failed (an earlier operation's failure is not ours).
    if (requested && !operationOf(app) && isOurs(state.operation, sent) && state.phase && FAILED_PHASES.has(state.phase)) {
      throw new ControllerSyncError(`${what} failed: ${state.message ?? state.phase}`);
    }
    // Argo CD runs one operation at a time: ours goes in once the Application has none.
    if (!requested && !operationOf(app)) {
      await apps.mergePatch(ref, { operation: sent }, { fieldManager: ctx.fieldManager });
      requested = true;
    }
    if (Date.now() >= deadline) {
      const last = state.phase ? ` (last operation: ${state.phase}${state.message ? `: ${state.message}` : ''})` : '';
      throw new ControllerSyncError(`${what}: the object is not as Git has it after ${Math.round(timeoutMs / 1000)} s${requested ? '' : ' (another operation was still running)'}${last}`);
    }
    await sleep(pollMs);
  }
}
