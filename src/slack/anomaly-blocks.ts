// Block Kit for an anomaly alert: what deviates, from which learned figure, the sample flows, the
// suggested containment scope, and "Open incident" / "Dismiss as expected"; with automatic
// response, the incident that contained it or why it was not contained. Pure.
import type { AnomalyRecord } from '../anomaly/store.js';
import type { Anomaly } from '../flows/types.js';
import { flowText } from '../flows/replay.js';
import { escapeMrkdwn, type Block, type SlackMessage } from './blocks.js';
import { escapeControl } from './block-text.js';
import { formatDuration } from '../timeline/render.js';

export const OPEN_INCIDENT_ACTION = 'netpol_open_incident';
export const DISMISS_ACTION = 'netpol_dismiss_anomaly';

const severityIcon: Record<Anomaly['severity'], string> = {
  low: ':large_blue_circle:',
  medium: ':large_yellow_circle:',
  high: ':large_orange_circle:',
  critical: ':red_circle:',
};

/** `app=postgres,tier=db` from the anomaly's suggested pod selector. */
export function selectorText(podSelector: Record<string, string> | undefined): string | undefined {
  const entries = Object.entries(podSelector ?? {});
  return entries.length > 0 ? entries.map(([k, v]) => `${k}=${v}`).join(',') : undefined;
}

export function scopeText(anomaly: Anomaly): string {
  const selector = selectorText(anomaly.scope.podSelector);
  return selector ? `pods matching \`${escapeMrkdwn(selector)}\` in \`${anomaly.scope.namespace}\`` : `namespace \`${anomaly.scope.namespace}\``;
}

/** One line for lists of anomalies (in the incident message and the postmortem). */
export function anomalyLine(anomaly: Anomaly): string {
  return `${severityIcon[anomaly.severity]} *${anomaly.severity}* ${escapeMrkdwn(anomaly.title)} (${escapeMrkdwn(anomaly.baseline.description)})`;
}

function decisionText(record: AnomalyRecord): string | undefined {
  const d = record.decision;
  if (!d) return undefined;
  if (d.kind === 'auto-contained') {
    const box = typeof d.maxDuration === 'number' ? `, time-boxed to ${formatDuration(d.maxDuration)}` : '';
    const rule = typeof d.rule === 'number' ? ` (anomalies.autoContain rule ${d.rule + 1})` : '';
    return `:lock: Contained automatically as incident \`${d.incidentId ?? '?'}\` at ${d.at}${rule}, without approval${box}. In the incident's thread an approver can *Keep contained* or *Lift now*.`;
  }
  return d.kind === 'opened'
    ? `:rotating_light: Incident \`${d.incidentId ?? '?'}\` opened by <@${d.user}> at ${d.at}`
    : `:white_check_mark: Dismissed as expected by <@${d.user}> at ${d.at}: the collector stays quiet about it`;
}

export function anomalyAlert(record: AnomalyRecord, options: { protectedScope?: boolean; cluster?: string } = {}): SlackMessage {
  const { anomaly } = record;
  const workload = `${anomaly.workload.namespace}/${anomaly.workload.name}${anomaly.workload.kind ? `[${anomaly.workload.kind}]` : ''}`;
  const evidence = anomaly.evidence.slice(0, 5).map((f) => flowText(f));
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: `Anomaly: ${anomaly.title}`.slice(0, 150) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Severity*\n${severityIcon[anomaly.severity]} ${anomaly.severity}` },
        { type: 'mrkdwn', text: `*Kind*\n${anomaly.kind}` },
        { type: 'mrkdwn', text: `*Workload*\n\`${escapeMrkdwn(workload)}\`` },
        { type: 'mrkdwn', text: `*Seen*\n${new Date(anomaly.firstSeen).toISOString()} – ${new Date(anomaly.lastSeen).toISOString()}` },
        ...(options.cluster ? [{ type: 'mrkdwn', text: `*Cluster*\n\`${options.cluster}\`` }] : []),
      ],
    },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Against the learned baseline*: ${escapeMrkdwn(anomaly.baseline.description)} (expected ${anomaly.baseline.expected} ${escapeMrkdwn(anomaly.baseline.unit)}, observed ${anomaly.baseline.observed})`.slice(0, 3000),
      },
    },
  ];
  if (evidence.length > 0) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Sample flows*\n\`\`\`${escapeMrkdwn(evidence.join('\n')).slice(0, 2900)}\`\`\`` } });
  }
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Suggested containment*: ${scopeText(anomaly)}. ${escapeMrkdwn(anomaly.scope.reason)}`.slice(0, 3000) } });
  // Why automatic response did not contain it stays on the alert, also after a person decided.
  const note = record.autoResponse;
  if (note) {
    const text = note.outcome === 'refused' ? `:no_entry: *Automatic containment refused*: ${escapeControl(note.reason)}.${record.decision ? '' : ' A person decides: *Open incident* still works.'}` : `:information_source: Not contained automatically: ${escapeControl(note.reason)}.`;
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: text.slice(0, 3000) }] });
  }
  const decided = decisionText(record);
  if (decided) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: decided }] });
  } else {
    const elements: Block[] = [];
    if (!options.protectedScope) {
      elements.push({ type: 'button', action_id: OPEN_INCIDENT_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Open incident' }, value: anomaly.id });
    }
    elements.push({ type: 'button', action_id: DISMISS_ACTION, text: { type: 'plain_text', text: 'Dismiss as expected' }, value: anomaly.id });
    blocks.push({ type: 'actions', block_id: `anomaly.${anomaly.id}`.slice(0, 255), elements });
    if (options.protectedScope) {
      blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `\`${anomaly.scope.namespace}\` is a protected namespace: the bot does not contain it.` }] });
    }
  }
  return { text: `Anomaly (${anomaly.severity})${options.cluster ? ` in cluster ${options.cluster}` : ''}: ${escapeMrkdwn(anomaly.title)}`, blocks };
}
