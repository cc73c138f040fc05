// "Revert to Git" (worker role, after an approver clicked): each drifted object of the episode is
// put back as Git declares it — server-side apply of the intended object, or delete of the extra
// one — but only if it is still in the state the alert showed (else the approver approved
// something else). Each is verified by read-back against Git, then the engine checks that the
// namespaces' connectivity now matches Git's. Conflicts and refusals are reported per object.
import { readLiveObjects, servedKinds } from '../containment/snapshot.js';
import type { PolicyRepositories } from '../git/index.js';
import type { DesiredObject } from '../git/render.js';
import { KubeApiError, type KindName, type KubeGateway } from '../kube/index.js';
import type { Logger } from '../log.js';
import type { JobQueue } from '../queue/bullmq.js';
import { compareState, keyString } from './compare.js';
import { connectivityDelta, intendedObjects } from './delta.js';
import { comparedKinds } from './coverage.js';
import { revertable, type EpisodeObject, type RevertOutcome } from './episode.js';
import { fingerprint, livePolicies } from './live.js';
import type { DriftStore } from './store.js';

export interface RevertOptions {
  gateway: KubeGateway;
  git: PolicyRepositories;
  store: DriftStore;
  fieldManager: string;
  logger: Logger;
  now?: () => Date;
}

type Obj = Record<string, unknown>;

function describe(error: unknown): string {
  if (error instanceof KubeApiError) {
    if (error.status === 409) return `changed meanwhile (409 ${error.reason}): not reverted; the alert shows the new state once it is evaluated`;
    if (error.status === 403) return `refused (403 Forbidden): ${error.message}`;
    return `${error.status} ${error.reason}: ${error.message}`;
  }
  return (error as Error).message;
}

/** The object as Git declares it, ready to apply: Git's own metadata only. */
function applicable(desired: DesiredObject): Obj {
  const meta = (desired.object.metadata ?? {}) as Obj;
  const { resourceVersion: _rv, uid: _uid, managedFields: _mf, creationTimestamp: _ct, ...rest } = meta;
  return { ...desired.object, metadata: { ...rest, name: desired.name, ...(desired.namespace ? { namespace: desired.namespace } : {}) } };
}

async function revertOne(o: EpisodeObject, desired: DesiredObject | undefined, opts: RevertOptions): Promise<RevertOutcome> {
  const api = opts.gateway.objects(o.kind as KindName);
  const ref = { name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) };
  try {
    const current = (await api.get(ref)) as Obj | undefined;
    if (fingerprint(current) !== o.live) return { key: o.key, ok: false, message: 'its live state changed since the alert: not reverted (the alert is updated with what it is now)' };
    if (o.status === 'extra') {
      const meta = (current?.metadata ?? {}) as { resourceVersion?: string; uid?: string };
      await api.delete(ref, { ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}), ...(meta.uid ? { uid: meta.uid } : {}) });
      const after = await api.get(ref);
      return after ? { key: o.key, ok: false, message: 'deleted, but it is still there on read-back' } : { key: o.key, ok: true, message: 'deleted (not in Git); read back: gone' };
    }
    if (!desired) return { key: o.key, ok: false, message: 'Git no longer declares it: not reverted' };
    if (fingerprint(desired.object) !== o.desired) return { key: o.key, ok: false, message: 'Git changed since the alert: not reverted (the alert is updated once it is evaluated)' };
    const intended = applicable(desired);
    await api.apply(intended as never, { fieldManager: opts.fieldManager, force: true });
    let back = (await api.get(ref)) as Obj | undefined;
    if (fingerprint(back) !== o.desired && back) {
      // Fields another manager set (and Git does not have) survive an apply: replace the whole object.
      const meta = back.metadata as Obj;
      await api.replace({ ...intended, metadata: { ...(intended.metadata as Obj), resourceVersion: meta.resourceVersion } } as never, { fieldManager: opts.fieldManager });
      back = (await api.get(ref)) as Obj | undefined;
    }
    const verb = o.status === 'missing' ? 'created' : 'applied';
    return fingerprint(back) === o.desired ? { key: o.key, ok: true, message: `${verb} as Git declares it; read back: equal to Git` } : { key: o.key, ok: false, message: `${verb}, but the read-back still differs from Git` };
  } catch (error) {
    return { key: o.key, ok: false, message: describe(error) };
  }
}

/** Reverts the episode's objects (one at a time, in key order) and records the outcome on it. */
export async function revertEpisode(episodeId: string, userId: string, opts: RevertOptions): Promise<RevertOutcome[]> {
  const now = opts.now ?? (() => new Date());
  const episode = await opts.store.get(episodeId);
  if (!episode) return [];
  const targets = revertable(episode);
  const desired = await opts.git.desiredState();
  const byKey = new Map(desired.objects.map((d) => [keyString(d), d]));
  const results: RevertOutcome[] = [];
  for (const o of targets) results.push(await revertOne(o, byKey.get(o.key), opts));
  const check = await engineCheck(targets, desired.objects, opts).catch((error: unknown) => ({ ok: false, message: `engine check failed: ${(error as Error).message}` }));
  results.push({ key: 'connectivity', ok: check.ok, message: check.message });
  const ok = results.every((r) => r.ok);
  await opts.store.update(episodeId, (e) => ({ ...e, updatedAt: now().toISOString(), revert: { by: userId, at: now().toISOString(), state: ok ? 'done' : 'failed', results } }));
  opts.logger.info({ episode: episodeId, user: userId, ok, results: results.length }, 'drift revert finished');
  return results;
}

/** The engine's view after the revert: the namespaces' connectivity equals Git's. */
async function engineCheck(targets: EpisodeObject[], desired: readonly DesiredObject[], opts: RevertOptions): Promise<{ ok: boolean; message: string }> {
  const served = servedKinds(await opts.gateway.discoverKinds());
  const live = await readLiveObjects(opts.gateway, served);
  const namespaces = [...new Set(targets.map((t) => t.namespace).filter((n): n is string => n !== undefined))];
  const { kinds } = comparedKinds(desired, served);
  const report = compareState(livePolicies(live), desired, { kinds, ...(namespaces.length > 0 ? { namespaces } : {}) });
  const keys = new Set(targets.map((t) => t.key));
  const still = report.items.filter((i) => keys.has(keyString(i.key)));
  if (still.length > 0) return { ok: false, message: `still differs from Git: ${still.map((i) => keyString(i.key)).join(', ')}` };
  const { live: current, intended } = intendedObjects(live, desired, report);
  const delta = connectivityDelta(current, intended, namespaces.length > 0 ? { namespaces } : {});
  const others = report.items.length;
  if (delta.exposure.length + delta.breakage.length === 0) return { ok: true, message: `engine: the connectivity of ${namespaces.join(', ') || 'the cluster'} equals Git's` };
  return { ok: others > 0, message: `engine: ${delta.exposure.length} exposure and ${delta.breakage.length} breakage remain from ${others} other drift${others === 1 ? '' : 's'} in ${namespaces.join(', ')}` };
}

/** Worker job "drift-revert": reverts, then queues the alert's redraw with the outcome. */
export async function runRevertJob(data: { episodeId: string; userId: string }, opts: RevertOptions & { queue: JobQueue }): Promise<void> {
  await revertEpisode(data.episodeId, data.userId, opts);
  const after = await opts.store.get(data.episodeId);
  if (after) await opts.queue.enqueue({ name: 'drift-alert', data: { episodeId: after.id, version: after.version } });
}
