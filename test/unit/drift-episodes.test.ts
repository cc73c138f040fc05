// Drift episodes (pure): how evaluations move them (bursts, flapping, acceptance, resolution),
// quiet hours, and what is revertable.
import { describe, expect, it } from 'vitest';
import { quietUntil, revertable, unresolved, type DriftEpisode } from '../../src/drift/episode.js';
import { reconcileEpisodes, type FoundDrift } from '../../src/drift/reconcile.js';

const T0 = new Date('2026-12-01T10:00:00Z');
const at = (s: number): Date => new Date(T0.getTime() + s * 1000);

function drift(name: string, over: Partial<FoundDrift> = {}): FoundDrift {
  return { key: `NetworkPolicy frontend/${name}`, kind: 'NetworkPolicy', namespace: 'frontend', name, status: 'modified', diff: [`~ spec.egress: a → b`], live: `live-${name}`, desired: `git-${name}`, ...over };
}

let ids = 0;
const newId = (): string => `ep-${++ids}`;

function stored(created: Omit<DriftEpisode, 'version'> | undefined): DriftEpisode {
  if (!created) throw new Error('expected a new episode');
  return { ...created, version: 1 };
}

function step(episodes: DriftEpisode[], found: FoundDrift[], now: Date, reopenWithinMs = 600_000) {
  return reconcileEpisodes({ episodes, found, now, reopenWithinMs, newId });
}

describe('reconcileEpisodes', () => {
  it('groups the drifts of one evaluation (a kubectl apply -f dir/ of 40 policies) into one episode', () => {
    const found = Array.from({ length: 40 }, (_, i) => drift(`p${String(i).padStart(2, '0')}`));
    const result = step([], found, T0);
    expect(result.changed).toEqual([]);
    expect(result.created?.objects).toHaveLength(40);
    expect(result.created?.state).toBe('open');
    expect(result.startedKeys).toHaveLength(40);
  });

  it('does nothing when nothing drifts and nothing was open', () => {
    const result = step([], [], T0);
    expect(result).toEqual({ changed: [], resolvedKeys: [], startedKeys: [] });
  });

  it('leaves an episode alone when the same drift is seen again (no alert update)', () => {
    const episode = stored(step([], [drift('a')], T0).created);
    const again = step([episode], [drift('a')], at(5));
    expect(again.changed).toEqual([]);
    expect(again.created).toBeUndefined();
  });

  it('updates the episode in place when the drift moves, and adds nothing new', () => {
    const episode = stored(step([], [drift('a')], T0).created);
    const moved = step([episode], [drift('a', { live: 'live-a2', diff: ['~ spec.egress: a → c'] })], at(5));
    expect(moved.created).toBeUndefined();
    expect(moved.changed).toHaveLength(1);
    expect(moved.changed[0]?.objects[0]?.diff).toEqual(['~ spec.egress: a → c']);
  });

  it('resolves an object that matches Git again, and the episode once all do', () => {
    const episode = stored(step([], [drift('a'), drift('b')], T0).created);
    const half = step([episode], [drift('b')], at(10));
    expect(half.resolvedKeys).toEqual(['NetworkPolicy frontend/a']);
    const partly = half.changed[0] as DriftEpisode;
    expect(partly.state).toBe('open');
    expect(unresolved(partly).map((o) => o.name)).toEqual(['b']);
    const all = step([partly], [], at(20));
    expect(all.changed[0]?.state).toBe('resolved');
    expect(all.changed[0]?.resolvedAt).toBe(at(20).toISOString());
  });

  it('a flapping drift (edit, revert, edit) stays one episode: reopened, no new one', () => {
    const first = stored(step([], [drift('a')], T0).created);
    const resolved = step([first], [], at(10)).changed[0] as DriftEpisode;
    expect(resolved.state).toBe('resolved');
    const back = step([resolved], [drift('a', { live: 'live-a3' })], at(20));
    expect(back.created).toBeUndefined();
    expect(back.changed).toHaveLength(1);
    expect(back.changed[0]).toMatchObject({ id: first.id, state: 'open', reopened: 1 });
    expect(back.changed[0]?.objects[0]?.resolved).toBeUndefined();
    expect(back.startedKeys).toEqual(['NetworkPolicy frontend/a']);
  });

  it('a drift coming back after the reopen window is a new episode', () => {
    const first = stored(step([], [drift('a')], T0).created);
    const resolved = step([first], [], at(10), 60_000).changed[0] as DriftEpisode;
    const later = step([resolved], [drift('a')], at(100), 60_000);
    expect(later.changed).toEqual([]);
    expect(later.created?.id).not.toBe(first.id);
  });

  it('an accepted episode stays muted while nothing moves, and reopens when live or Git changes', () => {
    const episode = { ...stored(step([], [drift('a')], T0).created), state: 'accepted' as const, accepted: { by: 'U1', at: at(1).toISOString() } };
    expect(step([episode], [drift('a')], at(5)).changed).toEqual([]);
    const gitMoved = step([episode], [drift('a', { desired: 'git-a2' })], at(6));
    expect(gitMoved.changed[0]?.state).toBe('open');
    const liveMoved = step([episode], [drift('a', { live: 'live-a9' })], at(6));
    expect(liveMoved.changed[0]?.state).toBe('open');
    // An accepted episode whose objects all match Git again resolves.
    expect(step([episode], [], at(7)).changed[0]?.state).toBe('resolved');
  });

  it('new drifts next to an open episode start their own episode; the open one keeps its objects', () => {
    const episode = stored(step([], [drift('a')], T0).created);
    const result = step([episode], [drift('a'), drift('b')], at(5));
    expect(result.changed).toEqual([]);
    expect(result.created?.objects.map((o) => o.name)).toEqual(['b']);
  });
});

describe('revertable', () => {
  it('leaves out resolved objects and those a self-healing controller reverts', () => {
    const episode = stored(step([], [drift('a'), drift('b'), drift('c')], T0).created);
    episode.objects[0] = { ...episode.objects[0]!, resolved: { at: T0.toISOString() } };
    episode.objects[1] = { ...episode.objects[1]!, selfHeal: 'Argo CD (Application argocd/shop, self-heal)' };
    expect(revertable(episode).map((o) => o.name)).toEqual(['c']);
  });
});

describe('quietUntil', () => {
  const quiet = { from: '22:00', to: '07:00', timeZone: 'UTC' };
  it('is undefined outside quiet hours', () => {
    expect(quietUntil(new Date('2026-12-01T12:00:00Z'), quiet)).toBeUndefined();
    expect(quietUntil(new Date('2026-12-01T07:00:00Z'), quiet)).toBeUndefined();
  });
  it('ends at the next "to" across midnight', () => {
    expect(quietUntil(new Date('2026-12-01T23:30:00Z'), quiet)?.toISOString()).toBe('2026-12-02T07:00:00.000Z');
    expect(quietUntil(new Date('2026-12-02T06:59:00Z'), quiet)?.toISOString()).toBe('2026-12-02T07:00:00.000Z');
  });
  it('works within a day and in another time zone', () => {
    expect(quietUntil(new Date('2026-12-01T12:30:00Z'), { from: '12:00', to: '13:00', timeZone: 'UTC' })?.toISOString()).toBe('2026-12-01T13:00:00.000Z');
    // 22:30 in Berlin (UTC+1 in December) is 21:30 UTC: quiet until 07:00 Berlin = 06:00 UTC.
    expect(quietUntil(new Date('2026-12-01T21:30:00Z'), { ...quiet, timeZone: 'Europe/Berlin' })?.toISOString()).toBe('2026-12-02T06:00:00.000Z');
  });
});
