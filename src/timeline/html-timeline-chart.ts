// The incident's timeline as an SVG chart: a time axis, one lane per playbook step (and one for
// events of the incident itself), a marker per event with its summary as a hover title, a bar per
// step from its first event to its last, and brackets for the durations that matter (time to
// contain, how long containment lasted, time to restore and to close). Pure: events in, geometry
// out (chartModel), geometry to SVG (chartSvg).
import { formatDuration } from './duration.js';
import { esc, num, txt } from './html-text.js';

export interface ChartEvent {
  at: string;
  type: string;
  step?: string;
  /** Already a display name. */
  actor: string;
  summary: string;
}

export interface ChartInput {
  events: readonly ChartEvent[];
  /** The playbook's steps in order, with titles: one lane each. */
  steps: ReadonlyArray<{ id: string; title: string }>;
  /** When the incident was opened (the axis starts there when earlier than the first event). */
  openedAt?: string;
}

export type MarkerKind = 'approval' | 'failure' | 'containment' | 'restore' | 'other';

export interface ChartMarker { x: number; y: number; lane: number; kind: MarkerKind; title: string }
export interface ChartSpan { lane: number; x1: number; x2: number; y: number; title: string }
export interface ChartMilestone { label: string; x1: number; x2: number; y: number; ms: number }
export interface ChartTick { x: number; label: string }

export interface ChartModel {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  start: number;
  end: number;
  lanes: Array<{ title: string; y: number }>;
  ticks: ChartTick[];
  markers: ChartMarker[];
  spans: ChartSpan[];
  milestones: ChartMilestone[];
  /** Events with no usable time (not drawn). */
  undated: number;
  /** Events past the marker cap (not drawn). */
  more: number;
}

export const CHART = { width: 960, left: 170, right: 20, top: 34, lane: 34, milestone: 22, maxMarkers: 2000, maxLanes: 24 } as const;

const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000].map((s) => s * 1000);

export function markerKind(type: string): MarkerKind {
  if (/(^step\.failed$|^error$|not-contained|failed|rollback|refired|rejected)/.test(type)) return 'failure';
  if (/approv|approval|skipped/.test(type)) return 'approval';
  if (type.startsWith('restore.')) return 'restore';
  if (type.startsWith('containment.') || type.startsWith('policy.')) return 'containment';
  return 'other';
}

/** Tick interval giving at most `max` ticks over the span. */
export function tickInterval(spanMs: number, max = 8): number {
  return TICK_STEPS.find((s) => spanMs / s <= max) ?? Math.ceil(spanMs / max / 86_400_000) * 86_400_000;
}

function tickLabel(t: number, spanMs: number): string {
  const iso = new Date(t).toISOString();
  return spanMs >= 86_400_000 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 19);
}

function time(at: unknown): number | undefined {
  if (typeof at !== 'string') return undefined;
  const t = Date.parse(at);
  return Number.isFinite(t) ? t : undefined;
}

export function chartModel(input: ChartInput): ChartModel {
  const steps = input.steps.slice(0, CHART.maxLanes - 1);
  const laneOf = new Map(steps.map((s, i) => [s.id, i]));
  const lanes = [...steps.map((s) => s.title), 'Incident'];
  const incidentLane = lanes.length - 1;
  const dated = input.events.flatMap((e) => {
    const t = time(e.at);
    return t === undefined ? [] : [{ e, t }];
  });
  const opened = time(input.openedAt);
  const times = dated.map((d) => d.t);
  // Loops, not Math.min(...): a spread of a huge timeline would overflow the stack.
  let start = opened ?? Number.POSITIVE_INFINITY;
  let end = opened ?? Number.NEGATIVE_INFINITY;
  for (const t of times) {
    start = Math.min(start, t);
    end = Math.max(end, t);
  }
  if (!Number.isFinite(start)) start = end = 0;
  // A single instant still needs an axis: one second wide.
  if (end - start < 1000) end = start + 1000;
  const width = CHART.width;
  const plot = width - CHART.left - CHART.right;
  const x = (t: number): number => CHART.left + ((t - start) / (end - start)) * plot;
  const laneY = (i: number): number => CHART.top + i * CHART.lane + CHART.lane / 2;

  const interval = tickInterval(end - start);
  const ticks: ChartTick[] = [];
  for (let t = Math.ceil(start / interval) * interval; t <= end; t += interval) ticks.push({ x: x(t), label: tickLabel(t, end - start) });

  const laneFor = (step: string | undefined): number => (step !== undefined ? (laneOf.get(step) ?? incidentLane) : incidentLane);
  const drawn = dated.slice(0, CHART.maxMarkers);
  const markers: ChartMarker[] = drawn.map(({ e, t }) => {
    const lane = laneFor(e.step);
    return { x: x(t), y: laneY(lane), lane, kind: markerKind(e.type), title: `${new Date(t).toISOString().slice(11, 19)} ${e.actor}: ${e.summary}` };
  });

  const spans: ChartSpan[] = [];
  steps.forEach((s, lane) => {
    const own = dated.filter((d) => d.e.step === s.id).map((d) => d.t);
    if (own.length === 0) return;
    const a = own.reduce((m, t) => Math.min(m, t));
    const b = own.reduce((m, t) => Math.max(m, t));
    spans.push({ lane, x1: x(a), x2: x(b), y: laneY(lane), title: `${s.title}: ${formatDuration(b - a)}` });
  });

  const first = (pred: (e: ChartEvent) => boolean): number | undefined => dated.find((d) => pred(d.e))?.t;
  const origin = opened ?? (times.length ? start : undefined);
  const contained = first((e) => e.type === 'containment.proven') ?? first((e) => e.type === 'policy.confirmed');
  const lifted = first((e) => e.type === 'containment.lifted');
  const restored = first((e) => e.type === 'restore.completed');
  const closed = first((e) => e.type === 'incident.completed');
  const pairs: Array<[string, number | undefined, number | undefined]> = [
    ['time to contain', origin, contained],
    ['contained for', contained, lifted],
    ['time to restore', origin, restored],
    ['time to close', origin, closed],
  ];
  const milestoneTop = CHART.top + lanes.length * CHART.lane + 12;
  const milestones: ChartMilestone[] = pairs
    .filter((p): p is [string, number, number] => p[1] !== undefined && p[2] !== undefined && p[2] >= p[1])
    .map(([label, a, b], i) => ({ label, x1: x(a), x2: x(b), y: milestoneTop + i * CHART.milestone, ms: b - a }));
  const height = milestoneTop + milestones.length * CHART.milestone + 28;
  return {
    width, height, left: CHART.left, right: width - CHART.right, top: CHART.top, start, end,
    lanes: lanes.map((title, i) => ({ title, y: laneY(i) })),
    ticks, markers, spans, milestones,
    undated: input.events.length - dated.length,
    more: dated.length - drawn.length,
  };
}

const COLOURS: Record<MarkerKind, string> = { approval: '#2563eb', failure: '#dc2626', containment: '#ea580c', restore: '#16a34a', other: '#6b7280' };

export function chartSvg(model: ChartModel): string {
  const out: string[] = [];
  out.push(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${model.width} ${num(model.height)}" width="${model.width}" height="${num(model.height)}" role="img" aria-label="Incident timeline chart">`);
  out.push('<title>Incident timeline: one lane per step, a marker per event</title>');
  const bottom = model.top + model.lanes.length * CHART.lane;
  model.lanes.forEach((lane, i) => {
    if (i % 2 === 0) out.push(`<rect x="0" y="${num(lane.y - CHART.lane / 2)}" width="${model.width}" height="${CHART.lane}" fill="#f6f8fa"/>`);
    out.push(`<text x="${model.left - 10}" y="${num(lane.y + 4)}" text-anchor="end" class="lane">${txt(lane.title, 28)}<title>${txt(lane.title, 300)}</title></text>`);
  });
  for (const tick of model.ticks) {
    out.push(`<line x1="${num(tick.x)}" y1="${model.top - 6}" x2="${num(tick.x)}" y2="${num(bottom)}" stroke="#d0d7de"/>`);
    out.push(`<text x="${num(tick.x)}" y="${model.top - 12}" text-anchor="middle" class="tick">${esc(tick.label)}</text>`);
  }
  out.push(`<line x1="${model.left}" y1="${model.top - 6}" x2="${model.right}" y2="${model.top - 6}" stroke="#57606a"/>`);
  for (const span of model.spans) {
    out.push(`<rect class="span" x="${num(span.x1 - 4)}" y="${num(span.y - 9)}" width="${num(Math.max(8, span.x2 - span.x1 + 8))}" height="18" rx="9" fill="#ddf4ff" stroke="#54aeff"><title>${txt(span.title, 300)}</title></rect>`);
  }
  for (const m of model.markers) {
    out.push(`<circle class="marker m-${m.kind}" cx="${num(m.x)}" cy="${num(m.y)}" r="5" fill="${COLOURS[m.kind]}" stroke="#fff" stroke-width="1.5"><title>${txt(m.title, 500)}</title></circle>`);
  }
  for (const ms of model.milestones) {
    const text = `${ms.label}: ${formatDuration(ms.ms)}`;
    out.push(`<g class="milestone"><title>${esc(text)}</title><line x1="${num(ms.x1)}" y1="${num(ms.y)}" x2="${num(ms.x2)}" y2="${num(ms.y)}" stroke="#8250df" stroke-width="2"/>`);
    out.push(`<line x1="${num(ms.x1)}" y1="${num(ms.y - 5)}" x2="${num(ms.x1)}" y2="${num(ms.y + 5)}" stroke="#8250df" stroke-width="2"/><line x1="${num(ms.x2)}" y1="${num(ms.y - 5)}" x2="${num(ms.x2)}" y2="${num(ms.y + 5)}" stroke="#8250df" stroke-width="2"/>`);
    out.push(`<text x="${model.left - 10}" y="${num(ms.y + 4)}" text-anchor="end" class="ms">${esc(text)}</text></g>`);
  }
  const notes = [model.undated ? `${model.undated} event(s) without a usable time not drawn` : '', model.more ? `${model.more} more event(s) not drawn` : ''].filter(Boolean);
  if (notes.length) out.push(`<text x="${model.left}" y="${num(model.height - 8)}" class="tick">${esc(notes.join('; '))}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

export const CHART_CSS = `
.chart{max-width:100%;height:auto;font:12px system-ui,sans-serif}
.chart .lane{font-weight:600;fill:#24292f}.chart .tick{fill:#57606a;font-size:11px}.chart .ms{fill:#8250df;font-weight:600}
.legend span{display:inline-block;margin-right:1rem;font-size:.85rem}.legend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:.3rem;vertical-align:middle}`;

export function chartLegend(): string {
  const labels: Record<MarkerKind, string> = { approval: 'approval', containment: 'containment', restore: 'restore', failure: 'failure', other: 'other' };
  return `<p class="legend">${(Object.keys(labels) as MarkerKind[]).map((k) => `<span><i style="background:${COLOURS[k]}"></i>${labels[k]}</span>`).join('')}</p>`;
}
