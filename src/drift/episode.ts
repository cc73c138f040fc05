// A drift episode: the drifts that appeared together (one burst), from the first sighting until
// live matches Git again, a person accepts them, or the bot reverts them. Its shape and the pure
// rules that move it; the store (store.ts) keeps it, the monitor (monitor.ts) drives it.
import type { DriftSeverity } from './config-schema.js';

export type DriftStatus = 'missing' | 'extra' | 'modified';

export interface EpisodeObject {
  /** "Kind ns/name" (keyString). */
  key: string;
  kind: string;
  namespace?: string;
  name: string;
  status: DriftStatus;
  /** Compact field diff lines (formatFieldDiff). */
  diff: string[];
  /** Fingerprints of the normalised live and desired objects ("" when absent). */
  live: string;
  desired: string;
  /** Who made the live state, from the audit log or the journal's managedFields. */
  actor?: string;
  /** Where Git declares it: "repository:path". */
  source?: string;
  /** The GitOps controller that reverts this object by itself (Argo CD self-heal, Flux). */
  selfHeal?: string;
  since: string;
  /** Set when live matched Git again; `by` says how, when known. */
  resolved?: { at: string; by?: string };
}

export interface DeltaSummary {
  exposure: string[];
  breakage: string[];
  severity: DriftSeverity;
  why: string;
}

export interface RevertOutcome {
  key: string;
  ok: boolean;
  message: string;
}

export interface DriftEpisode {
  id: string;
  /** Bumped on every stored change (compare-and-set). */
  version: number;
  state: 'open' | 'accepted' | 'resolved';
  objects: EpisodeObject[];
  delta: DeltaSummary;
  openedAt: string;
  updatedAt: string;
  resolvedAt?: string;
  /** How many times it came back after it had resolved (flapping). */
  reopened: number;
  accepted?: { by: string; at: string };
  revert?: { by: string; at: string; state: 'running' | 'done' | 'failed'; results: RevertOutcome[] };
  /** The Slack message, once posted. */
  alert?: { channel: string; ts: string };
  /** Why it is not alerted (yet): below minSeverity, or waiting for quiet hours to end. */
  held?: { reason: string; until?: string };
  /** Open incident started from it. */
  incidentId?: string;
}

export const SEVERITY_RANK: Record<DriftSeverity, number> = { low: 0, medium: 1, high: 2 };

export function unresolved(episode: DriftEpisode): EpisodeObject[] {
  return episode.objects.filter((o) => !o.resolved);
}

/** The objects a Revert applies: unresolved, not left to a self-healing controller. */
export function revertable(episode: DriftEpisode): EpisodeObject[] {
  return unresolved(episode).filter((o) => !o.selfHeal);
}

/** "22:00"–"07:00" in a time zone: is `now` inside, and when does it end? */
export function quietUntil(now: Date, quiet: { from: string; to: string; timeZone: string }): Date | undefined {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: quiet.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  const nowMin = hour * 60 + minute;
  const toMin = (t: string): number => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
  const from = toMin(quiet.from);
  const to = toMin(quiet.to);
  const inside = from < to ? nowMin >= from && nowMin < to : nowMin >= from || nowMin < to;
  if (!inside) return undefined;
  const minutesLeft = (to - nowMin + 1440) % 1440 || 1440;
  return new Date(Math.floor(now.getTime() / 60_000) * 60_000 + minutesLeft * 60_000);
}
