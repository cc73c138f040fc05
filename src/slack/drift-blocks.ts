// Block Kit for a drift alert: which objects differ from Git and how (field diff), who made the
// live state, what the drift does to connectivity (exposure, breakage) and its severity, and the
// buttons Revert to Git / Accept until Git changes / Open incident. One message per episode,
// redrawn in place as it moves (resolved, accepted, reverted). Pure.
import type { DriftEpisode, EpisodeObject } from '../drift/episode.js';
import { revertable, unresolved } from '../drift/episode.js';
import { escapeMrkdwn, truncate } from './block-text.js';
import type { Block, SlackMessage } from './blocks.js';

export const DRIFT_REVERT_ACTION = 'netpol_drift_revert';
export const DRIFT_ACCEPT_ACTION = 'netpol_drift_accept';
export const DRIFT_OPEN_INCIDENT_ACTION = 'netpol_drift_open_incident';

const SEVERITY_ICON = { low: ':large_blue_circle:', medium: ':large_yellow_circle:', high: ':red_circle:' } as const;
const STATUS_TEXT = { missing: 'missing in the cluster', extra: 'extra in the cluster (not in Git)', modified: 'modified' } as const;
const MAX_OBJECTS = 8;
const MAX_LINES = 6;
/** Characters of one diff line shown. */
const LINE_CHARS = 160;
/** What the objects section may take of a section's 3000 characters (the rest: the "more" line). */
const OBJECTS_BUDGET = 2800;

function objectText(o: EpisodeObject): string {
  const head = `${o.resolved ? ':white_check_mark: ~' : '• '}*${escapeMrkdwn(o.key)}*${o.resolved ? '~' : ''} — ${STATUS_TEXT[o.status]}`;
  const lines: string[] = [head];
  if (o.resolved) lines.push(`   matches Git again${o.resolved.by ? ` (${escapeMrkdwn(o.resolved.by)})` : ''} at ${o.resolved.at.slice(11, 19)}`);
  else {
    if (o.diff.length > 0 && o.status === 'modified') lines.push('```' + escapeMrkdwn(o.diff.slice(0, MAX_LINES).map((l) => (l.length > LINE_CHARS ? `${l.slice(0, LINE_CHARS)}…` : l)).join('\n')) + (o.diff.length > MAX_LINES ? `\n… ${o.diff.length - MAX_LINES} more` : '') + '```');
    if (o.actor) lines.push(`   by ${escapeMrkdwn(o.actor)}`);
    if (o.source) lines.push(`   Git: \`${escapeMrkdwn(o.source)}\``);
    if (o.selfHeal) lines.push(`   :recycle: ${escapeMrkdwn(o.selfHeal)} reverts it by itself: no Revert offered`);
  }
  return lines.join('\n');
}

function listText(title: string, lines: string[]): string {
  if (lines.length === 0) return `*${title}*: none`;
  const shown = lines.slice(0, MAX_LINES).map((l) => `\`${escapeMrkdwn(l)}\``);
  return `*${title}* (${lines.length})\n${shown.join('\n')}${lines.length > MAX_LINES ? `\n… and ${lines.length - MAX_LINES} more` : ''}`;
}

function statusLine(e: DriftEpisode, now: Date, selfHealGraceMs: number): string | undefined {
  const parts: string[] = [];
  if (e.state === 'resolved') parts.push(`:white_check_mark: Resolved at ${e.resolvedAt ?? '?'}: live matches Git again.`);
  if (e.accepted) parts.push(`:mute: Accepted by <@${e.accepted.by}> at ${e.accepted.at}${e.state === 'accepted' ? ': muted until Git or the live object changes.' : '.'}`);
  if (e.revert) {
    const head = e.revert.state === 'running' ? `:hourglass: Reverting to Git (approved by <@${e.revert.by}>)…` : `${e.revert.state === 'done' ? ':leftwards_arrow_with_hook:' : ':warning:'} Revert to Git by <@${e.revert.by}> ${e.revert.state === 'done' ? 'done and verified' : 'did not complete'}:`;
    parts.push([head, ...e.revert.results.map((r) => `${r.ok ? '✓' : '✗'} ${escapeMrkdwn(r.key)}: ${escapeMrkdwn(r.message)}`)].join('\n'));
  }
  if (e.incidentId) parts.push(`:rotating_light: Incident \`${e.incidentId}\` opened from this drift.`);
  if (e.reopened > 0) parts.push(`:repeat: Came back ${e.reopened} time${e.reopened === 1 ? '' : 's'} after matching Git (one episode, not a new alert).`);
  if (e.held?.until && Date.parse(e.held.until) > now.getTime()) parts.push(`:zzz: Held during ${escapeMrkdwn(e.held.reason)}.`);
  for (const o of unresolved(e)) {
    if (!o.selfHeal) continue;
    const waited = now.getTime() - Date.parse(o.since);
    parts.push(
      waited > selfHealGraceMs
        ? `:warning: ${escapeMrkdwn(o.selfHeal)} has not reverted \`${escapeMrkdwn(o.key)}\` after ${Math.round(waited / 1000)} s: check the controller (sync errors, self-heal off, a paused sync).`
        : `:hourglass_flowing_sand: Waiting for ${escapeMrkdwn(o.selfHeal)} to revert \`${escapeMrkdwn(o.key)}\` (drifted since ${o.since.slice(11, 19)}).`,
    );
  }
  return parts.length > 0 ? parts.join('\n') : undefined;
}

export function driftAlert(episode: DriftEpisode, options: { now?: Date; selfHealGraceMs?: number; cluster?: string } = {}): SlackMessage {
  const now = options.now ?? new Date();
  const open = unresolved(episode);
  const objects = open.length > 0 ? open : episode.objects;
  const severity = episode.delta.severity;
  const n = episode.objects.length;
  const title = episode.state === 'resolved' ? `Drift resolved: ${n === 1 ? '1 object matches' : `${n} objects match`} Git again` : `Drift from Git: ${open.length === 1 ? '1 object differs' : `${open.length} objects differ`}`;
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Severity*\n${SEVERITY_ICON[severity]} ${severity}` },
        { type: 'mrkdwn', text: `*Since*\n${episode.openedAt}` },
        ...(options.cluster ? [{ type: 'mrkdwn', text: `*Cluster*\n\`${options.cluster}\`` }] : []),
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: truncate(`${episode.state === 'resolved' ? 'While it lasted: ' : ''}${escapeMrkdwn(episode.delta.why) || 'No effect on connectivity.'}`) } },
  ];
  const ordered = [...objects, ...(open.length > 0 ? episode.objects.filter((o) => o.resolved) : [])];
  // Whole objects only (a cut would leave a code block open), as many as fit.
  const texts: string[] = [];
  let used = 0;
  for (const o of ordered.slice(0, MAX_OBJECTS)) {
    const t = objectText(o);
    if (texts.length > 0 && used + t.length + 1 > OBJECTS_BUDGET) break;
    texts.push(t.length > OBJECTS_BUDGET ? `${t.slice(0, OBJECTS_BUDGET - 4)}\`\`\`` : t);
    used += t.length + 1;
  }
  const more = episode.objects.length - texts.length;
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(texts.join('\n') + (more > 0 ? `\n… and ${more} more objects` : '')) } });
  if (episode.state !== 'resolved') {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(`${listText('Exposure: open now, not allowed by Git', episode.delta.exposure)}\n${listText('Breakage: allowed by Git, closed now', episode.delta.breakage)}`) } });
  }
  const status = statusLine(episode, now, options.selfHealGraceMs ?? 180_000);
  if (status) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(status) }] });
  if (episode.state !== 'resolved') {
    const elements: Block[] = [];
    const canRevert = revertable(episode).length > 0 && episode.revert?.state !== 'running';
    if (canRevert) elements.push({ type: 'button', action_id: DRIFT_REVERT_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Revert to Git' }, value: episode.id, confirm: { title: { type: 'plain_text', text: 'Revert to Git?' }, text: { type: 'plain_text', text: `Apply Git's state to ${revertable(episode).length} object(s).` }, confirm: { type: 'plain_text', text: 'Revert' }, deny: { type: 'plain_text', text: 'Cancel' } } });
    if (episode.state !== 'accepted') elements.push({ type: 'button', action_id: DRIFT_ACCEPT_ACTION, text: { type: 'plain_text', text: 'Accept until Git changes' }, value: episode.id });
    if (!episode.incidentId) elements.push({ type: 'button', action_id: DRIFT_OPEN_INCIDENT_ACTION, text: { type: 'plain_text', text: 'Open incident' }, value: episode.id });
    if (elements.length > 0) blocks.push({ type: 'actions', block_id: `drift.${episode.id}`.slice(0, 255), elements });
  }
  return { text: `${title} (${severity})${options.cluster ? ` in cluster ${options.cluster}` : ''}`, blocks };
}
