// How one evaluation's drifts move the episodes (pure): a drift already in an open episode updates
// it; one that returns soon after its episode resolved reopens that episode (edit, revert, edit is
// one episode, not an alert storm); the rest of the burst becomes one new episode. An accepted
// episode stays muted until its live or Git state moves; an episode whose objects all match Git
// again resolves.
import type { DriftEpisode, EpisodeObject } from './episode.js';

/** One drifted object as an evaluation found it: what an episode records of it, before any lookup. */
export type FoundDrift = Pick<EpisodeObject, 'key' | 'kind' | 'namespace' | 'name' | 'status' | 'diff' | 'live' | 'desired' | 'source'>;

export interface ReconcileInput {
  /** Episodes open, accepted, or resolved within the reopen window. */
  episodes: DriftEpisode[];
  found: FoundDrift[];
  now: Date;
  reopenWithinMs: number;
  /** Id for a new episode. */
  newId: () => string;
}

export interface ReconcileResult {
  /** Existing episodes whose content changed (to store with a version bump). */
  changed: DriftEpisode[];
  /** A new episode for the drifts no episode holds (at most one per evaluation: one burst). */
  created?: Omit<DriftEpisode, 'version'>;
  /** Keys that stopped drifting in this evaluation (for "resolved by" lookups). */
  resolvedKeys: string[];
  /** Keys that started drifting (new or back), for actor lookups. */
  startedKeys: string[];
}

function sameDrift(o: EpisodeObject, f: FoundDrift): boolean {
  return o.status === f.status && o.live === f.live && o.desired === f.desired && o.diff.join('\n') === f.diff.join('\n') && !o.resolved;
}

function refreshed(o: EpisodeObject, f: FoundDrift, now: string): EpisodeObject {
  const { resolved: _was, ...rest } = o;
  return { ...rest, status: f.status, diff: f.diff, live: f.live, desired: f.desired, ...(f.source ? { source: f.source } : {}), ...(o.resolved ? { since: now } : {}) };
}

function objectOf(f: FoundDrift, now: string): EpisodeObject {
  return { key: f.key, kind: f.kind, ...(f.namespace ? { namespace: f.namespace } : {}), name: f.name, status: f.status, diff: f.diff, live: f.live, desired: f.desired, ...(f.source ? { source: f.source } : {}), since: now };
}

export function reconcileEpisodes(input: ReconcileInput): ReconcileResult {
  const now = input.now.toISOString();
  const pending = new Map(input.found.map((f) => [f.key, f]));
  const changed: DriftEpisode[] = [];
  const resolvedKeys: string[] = [];
  const startedKeys: string[] = [];
  const ordered = [...input.episodes].sort((a, b) => (a.state === 'resolved' ? 1 : 0) - (b.state === 'resolved' ? 1 : 0) || b.updatedAt.localeCompare(a.updatedAt));

  for (const episode of ordered) {
    if (episode.state === 'resolved') {
      const within = episode.resolvedAt !== undefined && input.now.getTime() - Date.parse(episode.resolvedAt) <= input.reopenWithinMs;
      const back = within ? episode.objects.filter((o) => pending.has(o.key)) : [];
      if (back.length === 0) continue;
      const objects = episode.objects.map((o) => {
        const f = pending.get(o.key);
        if (!f) return o;
        pending.delete(o.key);
        startedKeys.push(o.key);
        return refreshed(o, f, now);
      });
      const { resolvedAt: _r, accepted: _a, ...rest } = episode;
      changed.push({ ...rest, state: 'open', objects, reopened: episode.reopened + 1, updatedAt: now });
      continue;
    }
    let moved = false;
    let acceptanceBroken = false;
    const objects = episode.objects.map((o) => {
      const f = pending.get(o.key);
      if (f) {
        pending.delete(o.key);
        if (sameDrift(o, f)) return o;
        moved = true;
        if (o.resolved) startedKeys.push(o.key);
        if (episode.state === 'accepted' && (o.live !== f.live || o.desired !== f.desired || o.resolved)) acceptanceBroken = true;
        return refreshed(o, f, now);
      }
      if (o.resolved) return o;
      moved = true;
      resolvedKeys.push(o.key);
      return { ...o, resolved: { at: now } };
    });
    if (!moved) continue;
    const allResolved = objects.every((o) => o.resolved);
    const state: DriftEpisode['state'] = allResolved ? 'resolved' : acceptanceBroken ? 'open' : episode.state;
    changed.push({ ...episode, state, objects, updatedAt: now, ...(allResolved ? { resolvedAt: now } : {}) });
  }

  let created: ReconcileResult['created'];
  if (pending.size > 0) {
    const objects = [...pending.values()].sort((a, b) => a.key.localeCompare(b.key)).map((f) => objectOf(f, now));
    startedKeys.push(...objects.map((o) => o.key));
    created = { id: input.newId(), state: 'open', objects, delta: { exposure: [], breakage: [], severity: 'low', why: '' }, openedAt: now, updatedAt: now, reopened: 0 };
  }
  return { changed, ...(created ? { created } : {}), resolvedKeys, startedKeys };
}
