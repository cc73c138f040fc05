// The traffic verdict in words for the incident thread and the postmortem (pure). Values that come
// from flows (pod names, IPs, DNS names) are shown with anything outside a conservative character
// set replaced, so a hostile name cannot inject Slack or Markdown markup nor drive a terminal.
import type { CountedSample, TrafficVerdict } from './traffic.js';
import { plural } from '../words.js';

export interface TrafficDescription {
  summary: string;
  detail: string[];
}

const SAFE_VALUE_MAX = 100;
const POD_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A flow-derived value made inert: characters outside [A-Za-z0-9._:/-] become '?', long values are cut. */
export function safeValue(text: string): string {
  const chars = Array.from(text.slice(0, SAFE_VALUE_MAX * 2 + 2));
  const kept = chars.slice(0, SAFE_VALUE_MAX).map((ch) => (/^[A-Za-z0-9._:/-]$/.test(ch) ? ch : '?'));
  return `${kept.join('')}${chars.length > SAFE_VALUE_MAX ? '…' : ''}` || '?';
}

export function durationText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

function timeText(ms: number | null): string {
  return ms !== null && Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : 'unknown time';
}

function connectionText(s: CountedSample): string {
  const to = safeValue(s.to);
  const host = to.includes(':') ? `[${to}]` : to;
  const name = s.peerName ? ` (${safeValue(s.peerName)})` : '';
  const port = s.port > 0 ? `:${s.port}` : '';
  return `${safeValue(s.from)} → ${host}${port} ${safeValue(s.protocol)}${name}`;
}

function sampleLine(s: CountedSample): string {
  const why = s.verdict === 'DROPPED' ? ` ${safeValue(s.dropReason || 'DROPPED')}` : s.verdict !== 'FORWARDED' ? ` ${safeValue(s.verdict)}` : '';
  const reply = s.reply ? ', reply packets' : '';
  const times = s.count > 1 ? ` (${plural(s.count, 'flow')}${reply})` : reply ? ` (${reply.slice(2)})` : '';
  return `${connectionText(s)}${why} at ${timeText(s.time)}${times}`;
}

function scopeText(v: TrafficVerdict): string {
  const selector = v.scope.labelSelector;
  const terms = [
    ...Object.entries(selector?.matchLabels ?? {}).map(([k, val]) => `${k}=${val}`),
    ...(selector?.matchExpressions ?? []).map((e) => `${e.key} ${e.operator}${e.values ? ` (${e.values.join(',')})` : ''}`),
  ];
  return selector ? `the pods of ${v.scope.namespace} matching ${terms.join(',') || 'everything'}` : `namespace ${v.scope.namespace}`;
}

function byDirection(what: string, c: { egress: number; ingress: number }): string {
  return `${what}: ${c.egress} egress (from the scope), ${c.ingress} ingress (to the scope)`;
}

/** The restart command for the scope's pods on the forwarded connections (valid pod names only). */
function restartCommand(v: TrafficVerdict): string | null {
  const pods = [...new Set(v.samples.forwarded.map((s) => s.scopePod))].filter((p) => p.length <= 253 && POD_NAME.test(p));
  return pods.length > 0 ? `kubectl -n ${v.scope.namespace} delete pod ${pods.join(' ')}` : null;
}

function windowLines(v: TrafficVerdict): string[] {
  const w = v.window;
  const lines: string[] = [];
  if (w.flowFromMs !== null && w.flowUntilMs !== null) lines.push(`Window on the collector's flow clock: ${timeText(w.flowFromMs)} to ${timeText(w.flowUntilMs)}.`);
  if (!w.complete) lines.push(`The collector did not see the window through${w.heartbeatMs !== null ? ` (last heard from at ${timeText(w.heartbeatMs)})` : ''}: the counts may be incomplete.`);
  return lines;
}

export function describeTrafficVerdict(v: TrafficVerdict): TrafficDescription {
  const head = `Traffic check (${durationText(v.window.durationMs)})`;
  const partial = v.window.complete ? '' : ' (window not fully observed)';
  const droppedTotal = v.dropped.egress + v.dropped.ingress;
  const forwardedTotal = v.forwarded.egress + v.forwarded.ingress;
  const dns = v.dnsForwarded > 0 ? `, DNS to kube-dns ${v.dnsForwarded} forwarded` : '';
  const droppedLines = v.samples.dropped.map((s) => `dropped: ${sampleLine(s)}`);
  const other = v.other > 0 ? [`${plural(v.other, 'flow')} with other verdicts (ERROR, TRACED, TRANSLATED) not counted.`] : [];

  switch (v.status) {
    case 'no-collector':
      return {
        summary: `Traffic check: not verified by traffic: ${v.reason ?? 'no flow collector is running'}`,
        detail:
          v.reason === 'the flow collector did not pick up the watch'
            ? ['A collector holds the lock but never claimed the watch: it may be stalled or run a version without traffic checks. Only the policies were checked.']
            : ['Only the policies were checked: start the collector role to see the scope\'s flows after containment.'],
      };
    case 'no-traffic':
      return {
        summary: `${head}: no traffic to judge in the window — no flow to or from ${scopeText(v)} was seen${partial}`,
        detail: windowLines(v),
      };
    case 'clean':
      return {
        summary: `${head}: 0 flows forwarded, ${droppedTotal} dropped${dns} — containment holds on the wire${partial}`,
        detail: [byDirection('dropped', v.dropped), ...droppedLines, ...other, ...windowLines(v)],
      };
    case 'forwarded': {
      const first = v.samples.forwarded[0];
      const audit = v.samples.forwarded.length > 0 && v.samples.forwarded.every((s) => s.verdict === 'AUDIT');
      const command = restartCommand(v);
      const remedy = audit
        ? 'the CNI runs the policies in audit mode (denied flows are logged and let through); turn audit mode off for these endpoints'
        : `likely an established connection the CNI keeps (conntrack); ${command ? `restart the pod (${command}) to cut it` : `restart the scope's pods (${scopeText(v)}) to cut it`}`;
      const lead = first ? `: ${sampleLine(first)}` : '';
      return {
        summary: `${head}: ${plural(forwardedTotal, 'flow')} still forwarded, not DNS${lead} — ${remedy}${partial}`,
        detail: [
          byDirection('forwarded (not DNS)', v.forwarded),
          ...v.samples.forwarded.map((s) => `forwarded: ${sampleLine(s)}`),
          `${plural(droppedTotal, 'flow')} dropped${dns}.`,
          ...droppedLines,
          ...(v.samples.forwarded.some((s) => s.verdict === 'AUDIT') && !audit ? ['Some flows have the AUDIT verdict: policy audit mode lets denied flows through.'] : []),
          ...other,
          ...windowLines(v),
        ],
      };
    }
  }
}
