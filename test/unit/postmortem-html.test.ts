// The HTML postmortem's pure builders: the timeline chart's geometry, the connectivity graphs per
// phase (with and without data), the highlighted diffs, escaping of hostile input, and the
// document as a whole (self-contained, CSP, capped).
import { describe, expect, it } from 'vitest';
import { parseNetpolCommand } from '../../src/slack/commands.js';
import { connectivityModel, graphSvg, sameWorkload, type PhaseView } from '../../src/timeline/html-connectivity.js';
import { classifyDiffLine, diffHtml, DIFF_LIMITS } from '../../src/timeline/html-diff.js';
import { esc, multiline, num, richText, txt } from '../../src/timeline/html-text.js';
import { CHART, chartModel, chartSvg, markerKind, tickInterval, type ChartEvent } from '../../src/timeline/html-timeline-chart.js';
import { HTML_CSP, renderHtml } from '../../src/timeline/html.js';
import { exportFormats, postmortemFileName, renderPostmortem } from '../../src/timeline/render.js';
import type { Incident } from '../../src/incident/model.js';
import { atS, HOSTILE, recordedIncident } from '../helpers/postmortem-fixture.js';
import { parseXml, type XmlElement } from '../helpers/xml-wellformed.js';

const steps = [{ id: 'contain', title: 'Confirm & Contain' }, { id: 'restore', title: 'Restore' }];
const ev = (s: number, type: string, step?: string, summary = type): ChartEvent => ({ at: atS(s).toISOString(), type, ...(step ? { step } : {}), actor: 'bot', summary });

function all(el: XmlElement, name: string): XmlElement[] {
  return [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => all(c, name))];
}
const phase = (views: PhaseView[], p: PhaseView['phase']): PhaseView => views.find((v) => v.phase === p)!;
const state = (view: PhaseView, src: string, dst: string): string | undefined => view.edges?.find((e) => e.src === src && e.dst === dst)?.state;

describe('timeline chart geometry', () => {
  it('0 events: the lanes and a one-second axis, no marker, no bar, no duration; valid SVG', () => {
    const model = chartModel({ events: [], steps });
    expect(model.lanes.map((l) => l.title)).toEqual(['Confirm & Contain', 'Restore', 'Incident']);
    expect(model.end - model.start).toBe(1000);
    expect(model.markers).toEqual([]);
    expect(model.spans).toEqual([]);
    expect(model.milestones).toEqual([]);
    const svg = parseXml(chartSvg(model));
    expect(svg.name).toBe('svg');
    expect(all(svg, 'circle')).toHaveLength(0);
  });

  it('1 event: one marker at the start of the axis, in its step’s lane', () => {
    const model = chartModel({ events: [ev(0, 'step.started', 'restore')], steps });
    expect(model.markers).toHaveLength(1);
    expect(model.markers[0]).toMatchObject({ x: CHART.left, lane: 1, kind: 'other' });
    expect(model.markers[0]!.y).toBe(model.lanes[1]!.y);
    expect(model.spans).toEqual([expect.objectContaining({ lane: 1, x1: CHART.left, x2: CHART.left })]);
  });

  it('many events: x grows with time inside the plot; the step bars span first to last; lanes per step, the rest on "Incident"', () => {
    const events = [ev(0, 'incident.opened'), ev(10, 'approval.requested', 'contain'), ev(60, 'step.approved', 'contain'), ev(65, 'policy.applied', 'contain'), ev(70, 'containment.proven', 'contain'), ev(300, 'restore.step', 'restore'), ev(400, 'restore.step-failed', 'restore'), ev(600, 'containment.lifted'), ev(900, 'restore.completed', 'restore'), ev(1000, 'incident.completed'), ev(500, 'x', 'unknown-step')];
    const model = chartModel({ events, steps, openedAt: atS(0).toISOString() });
    const xs = model.markers.slice(0, 10).map((m) => m.x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    for (const m of model.markers) {
      expect(m.x).toBeGreaterThanOrEqual(model.left);
      expect(m.x).toBeLessThanOrEqual(model.right);
    }
    expect(model.markers[0]!.x).toBe(model.left);
    expect(model.markers[9]!.x).toBeCloseTo(model.right, 6);
    expect(model.markers.map((m) => m.lane)).toEqual([2, 0, 0, 0, 0, 1, 1, 2, 1, 2, 2]);
    expect(model.markers.map((m) => m.kind)).toEqual(['other', 'approval', 'approval', 'containment', 'containment', 'restore', 'failure', 'containment', 'restore', 'other', 'other']);
    const contain = model.spans.find((s) => s.lane === 0)!;
    expect(contain.x1).toBeCloseTo(model.left + (10 / 1000) * (model.right - model.left), 6);
    expect(contain.title).toBe('Confirm & Contain: 1m 0s'.replace(' 0s', ''));
    expect(model.milestones.map((m) => [m.label, m.ms])).toEqual([
      ['time to contain', 70_000],
      ['contained for', 530_000],
      ['time to restore', 900_000],
      ['time to close', 1_000_000],
    ]);
    expect(model.milestones[0]!.x1).toBe(model.left);
    const svg = chartSvg(model);
    expect(svg).toContain('time to contain: 1m 10s');
    expect(all(parseXml(svg), 'circle')).toHaveLength(events.length);
  });

  it('a long incident (3 days): at most 8 ticks at a day-scale interval, labelled with the date', () => {
    const model = chartModel({ events: [ev(0, 'incident.opened'), ev(3 * 86_400, 'incident.completed')], steps });
    expect(model.ticks.length).toBeGreaterThan(0);
    expect(model.ticks.length).toBeLessThanOrEqual(8);
    expect(model.ticks[0]!.label).toMatch(/^\d\d-\d\d \d\d:\d\d$/);
    expect(tickInterval(3 * 86_400_000)).toBe(43_200_000);
    expect(tickInterval(20_000)).toBe(5000);
    expect(tickInterval(1000)).toBe(1000);
    expect(tickInterval(400 * 86_400_000)).toBeGreaterThanOrEqual(50 * 86_400_000);
  });

  it('events without a usable time are counted, not drawn; past the cap they are counted too', () => {
    const model = chartModel({ events: [ev(0, 'a'), { at: 'yesterday', type: 'b', actor: 'bot', summary: '' }, { at: 42 as unknown as string, type: 'c', actor: 'bot', summary: '' }], steps });
    expect(model.undated).toBe(2);
    expect(chartSvg(model)).toContain('2 event(s) without a usable time not drawn');
    const many = chartModel({ events: Array.from({ length: CHART.maxMarkers + 7 }, (_, i) => ev(i, 'x', 'contain')), steps });
    expect(many.markers).toHaveLength(CHART.maxMarkers);
    expect(many.more).toBe(7);
  });

  it('classifies events for colour', () => {
    expect(['step.failed', 'error', 'containment.not-contained', 'restore.rollback', 'step.rejected', 'restore.refired'].map(markerKind)).toEqual(Array(6).fill('failure'));
    expect(['approval.requested', 'step.approved', 'restore.step-approved', 'containment.lift-approved'].map(markerKind)).toEqual(Array(4).fill('approval'));
    expect(markerKind('restore.plan')).toBe('restore');
    expect(markerKind('policy.confirmed')).toBe('containment');
    expect(markerKind('trace.cause')).toBe('other');
  });

  it('hostile titles and summaries stay text in the SVG', () => {
    const model = chartModel({ events: [{ ...ev(0, 'x', 'contain'), summary: HOSTILE.reason, actor: HOSTILE.user }], steps: [{ id: 'contain', title: HOSTILE.subject }] });
    const svg = chartSvg(model);
    const doc = parseXml(svg);
    expect(all(doc, 'script')).toHaveLength(0);
    expect(all(doc, 'svg')).toHaveLength(1);
    expect(svg).not.toMatch(/<script|<svg onload|<\/title><svg/);
    expect(all(doc, 'circle')[0]!.children[0]!.text).toContain('<script>alert(1)</script>');
  });
});

describe('connectivity graphs: before, during, after', () => {
  it('folds pods into workloads and lays out sources, scope and destinations in columns, deterministically', () => {
    const input = recordedIncident();
    const model = connectivityModel(input.incident, input.timeline);
    const column = Object.fromEntries(model.nodes.map((n) => [n.id, n.column]));
    expect(column).toEqual({ 'api/orders': 0, 'frontend/web': 0, 'db/postgres': 1, '203.0.113.66': 2, 'kube-system/kube-dns': 2 });
    expect(connectivityModel(input.incident, input.timeline)).toEqual(model);
    expect(sameWorkload('db/postgres', 'db/postgres-0')).toBe(true);
    expect(sameWorkload('kube-system/kube-dns-5d78c9869d[ReplicaSet]', 'kube-system/kube-dns')).toBe(true);
    expect(sameWorkload('db/post', 'db/postgres')).toBe(false);
    expect(sameWorkload('frontend/web-6d4cf56db6-2xk9p', 'frontend/web')).toBe(true);
    expect(sameWorkload('api/orders-7c5d9b8f4c[ReplicaSet]', 'api/orders')).toBe(true);
  });

  it('before: validate’s live verdicts; during: all closed but the DNS the quarantine keeps; after the restore: Git’s verdicts', () => {
    const input = recordedIncident();
    const { phases } = connectivityModel(input.incident, input.timeline);
    const [before, during, after] = [phase(phases, 'before'), phase(phases, 'during'), phase(phases, 'after')];
    expect(state(before, 'db/postgres', '203.0.113.66')).toBe('open');
    expect(state(before, 'api/orders', 'db/postgres')).toBe('open');
    expect(state(before, 'frontend/web', 'db/postgres')).toBe('closed');
    expect(during.source).toMatch(/contained/);
    expect(state(during, 'db/postgres', '203.0.113.66')).toBe('closed');
    expect(state(during, 'api/orders', 'db/postgres')).toBe('closed');
    expect(state(during, 'db/postgres', 'kube-system/kube-dns')).toBe('open');
    expect(after.heading).toBe('After restore');
    expect(state(after, 'db/postgres', '203.0.113.66')).toBe('closed');
    expect(state(after, 'frontend/web', 'db/postgres')).toBe('open');
  });

  it('after hardening: the harden step’s baseline verdicts win', () => {
    const input = recordedIncident({ harden: true });
    const after = phase(connectivityModel(input.incident, input.timeline).phases, 'after');
    expect(after.heading).toBe('After hardening');
    expect(state(after, 'db/postgres', '203.0.113.66')).toBe('closed');
    expect(state(after, 'frontend/web', 'db/postgres')).toBe('open');
    expect(after.edges?.find((e) => e.src === 'frontend/web')?.why).toContain('live after restore: denied');
    expect(state(after, 'db/postgres', 'kube-system/kube-dns')).toBe('unknown');
  });

  it('a connection recorded by pod (validate) and by workload (harden) is one edge, with both verdicts', () => {
    const input = recordedIncident({ harden: true });
    for (const view of connectivityModel(input.incident, input.timeline).phases) {
      const keys = (view.edges ?? []).map((e) => `${e.src}|${e.dst}|${e.port}|${e.protocol}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
    const after = phase(connectivityModel(input.incident, input.timeline).phases, 'after');
    expect(after.edges?.filter((e) => e.src === 'db/postgres' && e.dst === '203.0.113.66').map((e) => e.state)).toEqual(['closed']);
  });

  it('not contained: the connection the proof lists stays open, the rest closed; no restore yet: "after" says there is no data', () => {
    const input = recordedIncident({ contained: false, containOnly: true });
    const model = connectivityModel(input.incident, input.timeline);
    const during = phase(model.phases, 'during');
    expect(during.source).toMatch(/NOT contained, 1 connection/);
    // No workload name known: the pod stays a pod; the ReplicaSet's hash is dropped.
    expect(state(during, 'db/postgres-0', 'api/orders')).toBe('open');
    expect(state(during, 'db/postgres-0', '203.0.113.66')).toBe('closed');
    const after = phase(model.phases, 'after');
    expect(after.edges).toBeUndefined();
    expect(graphSvg(model, after)).toContain('No data: no restore or hardening completed');
  });

  it('an incident with nothing recorded: every phase says so, none invents an edge', () => {
    const input = recordedIncident();
    const bare = { ...input.incident, steps: {}, stepOrder: [] } as unknown as Incident;
    const model = connectivityModel(bare, []);
    expect(model.phases.map((p) => p.edges)).toEqual([undefined, undefined, undefined]);
    expect(model.phases.map((p) => p.source)).toEqual(['no connections were recorded before containment', 'no containment proof recorded', 'no restore or hardening completed: nothing recorded after']);
    for (const view of model.phases) {
      const svg = graphSvg(model, view);
      expect(all(parseXml(svg), 'path').filter((p) => p.attributes.class?.startsWith('edge'))).toHaveLength(0);
      expect(svg).toContain('No data');
    }
  });

  it('malformed step results are skipped, not thrown on', () => {
    const input = recordedIncident();
    const broken = structuredClone(input.incident) as unknown as { steps: Record<string, { result?: unknown; evidence?: unknown }> };
    broken.steps.contain!.result = { proof: { contained: 'yes', pods: 'x', open: [1, null], dns: {} } };
    broken.steps.validate!.result = { kind: 'validation', tests: [null, 1, { origin: 'learned', from: 7 }], flows: 'no' };
    broken.steps.contain!.evidence = { anomalies: [{ probes: [{ src: {}, dst: null }] }], pods: [null] };
    const model = connectivityModel(broken as unknown as Incident, input.timeline);
    expect(phase(model.phases, 'during').source).toBe('no containment proof recorded');
  });

  it('the graphs are valid SVG with unique marker ids per phase, hostile names as text', () => {
    const input = recordedIncident({ hostile: true });
    const tests = (input.incident.steps.validate!.result as { tests: unknown[] }).tests;
    tests.push({ origin: 'anomaly', from: 'x/"><img src=x onerror=alert(1)>', to: 'db/postgres', port: '1', protocol: 'TCP', expect: 'deny', live: 'fail', intended: 'pass' });
    const model = connectivityModel(input.incident, input.timeline);
    const ids = new Set<string>();
    for (const view of model.phases) {
      const svg = graphSvg(model, view);
      const doc = parseXml(svg);
      for (const m of all(doc, 'marker')) {
        expect(ids.has(m.attributes.id!)).toBe(false);
        ids.add(m.attributes.id!);
      }
      expect(all(doc, 'img')).toHaveLength(0);
      expect(svg).not.toContain('<img');
      expect(all(doc, 'title').some((t) => t.text.includes('onerror=alert(1)'))).toBe(true);
    }
  });

  it('caps the nodes of a huge scope and says how many were left out', () => {
    const input = recordedIncident();
    const incident = structuredClone(input.incident);
    const validate = incident.steps.validate!.result as { tests: unknown[] };
    validate.tests = Array.from({ length: 400 }, (_, i) => ({ origin: 'learned', from: `ns${i}/w`, to: 'db/postgres', port: '1', protocol: 'TCP', expect: 'allow', live: 'pass', intended: 'pass' }));
    const model = connectivityModel(incident, input.timeline);
    expect(model.nodes.filter((n) => n.column === 0).length).toBeLessThanOrEqual(20);
    expect(model.moreNodes + model.moreEdges).toBeGreaterThan(0);
  });
});

describe('diff highlighting', () => {
  it('classifies added, removed, changed and context lines', () => {
    expect(['+ a', '- b', '~ c: x → y', '… 3 more', ''].map(classifyDiffLine)).toEqual(['add', 'del', 'chg', 'ctx', 'ctx']);
  });

  it('renders added green, removed red, and a change as old struck and new inserted', () => {
    const html = diffHtml('NetworkPolicy db/x', ['+ spec.a: 1', '- spec.b: 2', '~ spec.c: {app: db} → {app: web}']);
    expect(html).toContain('<span class="d-add">+ spec.a: 1</span>');
    expect(html).toContain('<span class="d-del">- spec.b: 2</span>');
    expect(html).toContain('<span class="d-chg">~ spec.c: <del>{app: db}</del> → <ins>{app: web}</ins></span>');
    expect(html).not.toContain('\n');
  });

  it('escapes hostile lines and captions, caps the lines and says how many more', () => {
    const html = diffHtml('<b>caption</b>', ['+ <script>alert(1)</script>', `- ${'x'.repeat(10_000)}`, ...Array.from({ length: DIFF_LIMITS.lines + 5 }, () => '+ y')], 3);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>caption');
    expect(html).toContain('&lt;script&gt;');
    expect(html.length).toBeLessThan(20_000);
    expect(html).toContain(`… and ${7 + 3} more`);
    expect(diffHtml('empty', [])).toContain('No field differences recorded.');
    expect(diffHtml('junk', 'not a list')).toContain('No field differences recorded.');
  });
});

describe('escaping helpers', () => {
  it('escapes markup and quotes, makes control characters visible and caps', () => {
    expect(esc(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(txt('a\nb\u202e')).toBe('a\\nb\\u202e');
    expect(txt('x'.repeat(5000), 10)).toBe(`${'x'.repeat(10)}…`);
    expect(txt({ toString: () => '<b>' })).toBe('');
    expect(txt(3)).toBe('3');
    expect(multiline('a\n<b>\nc', 100, 2)).toBe('a\n&lt;b&gt;\n… 1 more lines');
    expect(num(Number.NaN)).toBe('0');
    expect(num(1 / 3)).toBe('0.33');
  });

  it('richText shows `code` spans as <code> and drops *bold* markers, on escaped text only', () => {
    expect(richText('created `db/allow-all-egress` with *kubectl*')).toBe('created <code>db/allow-all-egress</code> with kubectl');
    expect(richText('`<script>alert(1)</script>`')).toBe('<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>');
    expect(richText('`"><img src=x onerror=alert(1)>`')).toBe('<code>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</code>');
    expect(richText('an unclosed ` stays')).toBe('an unclosed ` stays');
    // A line break is made visible first (printable), so the span stays on one line.
    expect(richText('`a\nb`')).toBe('<code>a\\nb</code>');
  });
});

describe('the HTML document', () => {
  it('is self-contained: a strict CSP, no script, no external URL, no event handler attribute', () => {
    const html = renderHtml(recordedIncident());
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${HTML_CSP}">`);
    expect(HTML_CSP).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\((?!#)/i);
    expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<[^>]*\son[a-z]+=/i);
    expect(html.match(/<svg class="chart"/g)).toHaveLength(1);
    expect(html.match(/<svg class="graph"/g)).toHaveLength(3);
    for (const heading of ['Timeline chart', 'Connectivity of the scope', 'Steps and decisions', 'Changes applied to the cluster', 'What changed, who, and how we know', 'Validation against Git', 'Restore', 'Timeline']) expect(html).toContain(`${heading}`);
    expect(html).toContain('time to contain');
    expect(html).toContain('<span class="d-add">+ nothing</span>');
    expect(html).toContain('@alice');
  });

  it('hostile input: markup escaped everywhere, one </style> (its own), huge strings capped', () => {
    const input = recordedIncident({ hostile: true });
    const html = renderPostmortem('html', input);
    expect(html).not.toMatch(/<script|<img|<svg onload|<i>/i);
    expect(html.match(/<\/style>/g)).toHaveLength(1);
    expect(html.match(/<\/title>/g)?.length).toBe((html.match(/<title>/g) ?? []).length);
    expect(html).not.toMatch(/<[^>]*\son[a-z]+=/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('postgres-0&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('A'.repeat(HOSTILE_CAP + 1));
    expect(html.length).toBeLessThan(200_000);
  });

  it('the hardening outcome: where the baseline went, its proof; the link is text, never fetched', () => {
    const html = renderHtml(recordedIncident({ harden: true }));
    expect(html).toContain('<h2 id="hardening">Hardening</h2>');
    expect(html).toContain('pull request https://github.example/shop/policies/pull/7');
    expect(html).toContain('<span class="badge good">proven</span>');
    expect(html).not.toMatch(/<a\s/);
    const hostile = renderHtml(recordedIncident({ harden: true, hostile: true }));
    expect(hostile).not.toMatch(/<script/);
    expect(hostile).toContain('https://x.example/&quot;&gt;&lt;script&gt;');
  });

  it('a short incident (containment only) renders; the JSON and Markdown exports are unchanged by it', () => {
    const input = recordedIncident({ containOnly: true, contained: false });
    const html = renderHtml(input);
    expect(html).toContain('NOT contained');
    expect(html).toContain('No data: no restore or hardening completed');
    expect(JSON.parse(renderPostmortem('json', input)).incident.id).toBe(input.incident.id);
  });

  it('html is an export format: file name, Slack command and its refusal', () => {
    expect(exportFormats).toEqual(['md', 'json', 'html']);
    expect(postmortemFileName('20261123-pm0html', 'html')).toBe('postmortem-20261123-pm0html.html');
    expect(parseNetpolCommand('export 20261123-ab12cd html')).toEqual({ kind: 'export', incidentId: '20261123-ab12cd', format: 'html' });
    expect(parseNetpolCommand('export 20261123-ab12cd HTML')).toEqual({ kind: 'export', incidentId: '20261123-ab12cd', format: 'html' });
    const refused = parseNetpolCommand('export 20261123-ab12cd `pdf`');
    expect(refused).toMatchObject({ kind: 'invalid' });
    expect((refused as { message: string }).message).toContain('use md, json or html');
    expect((refused as { message: string }).message).toContain('[md|json|html]');
  });
});

const HOSTILE_CAP = 2000;
