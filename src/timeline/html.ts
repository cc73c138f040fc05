// The postmortem as one self-contained HTML file: inline CSS and SVG only, no script, no font, no
// image, no request of any kind (a CSP meta tag forbids them). The timeline as a chart, the scope's
// connectivity before, during and after, the diffs highlighted, then the text the Markdown export
// has. Every value from the incident is escaped and capped (./html-text.ts). Pure.
import { stringify as toYaml } from 'yaml';
import { openedByText } from '../incident/model.js';
import { formatDuration } from './duration.js';
import { DIFF_CSS, diffHtml } from './html-diff.js';
import { connectivityModel, GRAPH_CSS, graphSvg, type PhaseView } from './html-connectivity.js';
import { esc, multiline, richText, txt } from './html-text.js';
import { chartLegend, chartModel, CHART_CSS, chartSvg } from './html-timeline-chart.js';
import type { PostmortemInput } from './render.js';
import { actorName, plainText } from './render.js';
import { restoreSection, type RestoreStepView, type VerificationView } from './restore-section.js';
import type { StoredTimelineEvent } from './types.js';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The Content-Security-Policy of the document: nothing but its own inline styles and data: images. */
export const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
/** Rows of the timeline table and the other long lists. */
export const HTML_LIMITS = { timeline: 2000, rows: 300, yaml: 20_000 } as const;

const CSS = `
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#24292f;background:#fff}
main{max-width:1440px;margin:0 auto;padding:1.5rem}h1{font-size:1.6rem;margin:.2rem 0 1rem}h2{font-size:1.25rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem;margin-top:2rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}.muted{color:#57606a}code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}
pre.block{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.6rem;overflow-x:auto;white-space:pre}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.88rem}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f6f8fa}
dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}dl.summary dt{font-weight:600}dl.summary dd{margin:0}
.badge{display:inline-block;padding:0 .5rem;border-radius:1rem;font-size:.8rem;font-weight:600;background:#ddf4ff;color:#0969da}.bad{background:#ffebe9;color:#cf222e}.good{background:#dafbe1;color:#1a7f37}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}.card{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .9rem;min-width:9rem}.card b{display:block;font-size:1.2rem}
.key span{display:inline-block;margin-right:1rem;font-size:.85rem}.key i{display:inline-block;width:22px;height:0;border-top:3px solid;margin-right:.3rem;vertical-align:middle}
${CHART_CSS}${GRAPH_CSS}${DIFF_CSS}`;

function time(x: unknown): number | undefined {
  const t = typeof x === 'string' ? Date.parse(x) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

function table(head: string[], rows: string[][], more = 0): string {
  if (rows.length === 0) return '<p class="muted">None recorded.</p>';
  const shown = rows.slice(0, HTML_LIMITS.rows);
  const extra = more + rows.length - shown.length;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${shown.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</tbody></table>${extra > 0 ? `<p class="muted">… and ${extra} more rows (see the JSON export).</p>` : ''}`;
}

function list(lines: unknown, max = 100): string {
  const all = Array.isArray(lines) ? lines.filter((l): l is string => typeof l === 'string') : [];
  if (all.length === 0) return '';
  return `<ul>${all.slice(0, max).map((l) => `<li><code>${txt(l, 400)}</code></li>`).join('')}${all.length > max ? `<li>… and ${all.length - max} more</li>` : ''}</ul>`;
}

function summary(input: PostmortemInput, names: Record<string, string>): string {
  const { incident, timeline } = input;
  const first = (type: string): StoredTimelineEvent | undefined => timeline.find((e) => e.type === type);
  const opened = time(incident.createdAt);
  const contained = first('containment.proven') ?? (incident.containment ? undefined : first('policy.confirmed'));
  const since = (e: StoredTimelineEvent | undefined): string => {
    const t = time(e?.at);
    return t !== undefined && opened !== undefined ? formatDuration(Math.max(0, t - opened)) : '?';
  };
  const scope = incident.scope?.selector ? `pods matching ${incident.scope.selector} in namespace ${incident.scope.namespace}` : `the whole namespace ${incident.scope?.namespace ?? '?'}`;
  const rows: Array<[string, string]> = [
    ['Status', `<span class="badge ${incident.status === 'completed' ? 'good' : incident.status === 'open' ? '' : 'bad'}">${txt(incident.status)}</span>${contained ? ' (contained)' : ''}`],
    ['Scope', txt(scope)],
    ...(incident.reason ? [['Reason given', txt(incident.reason)] as [string, string]] : []),
    ['Opened', `${txt(incident.createdAt)} by ${txt(openedByText(incident, names))}`],
  ];
  if (contained) rows.push(['Contained', `${txt(contained.at)} (${since(contained)} after opening)${incident.containment ? `, with ${txt(incident.containment.strategy)}, proven by the policy engine` : ''}`]);
  const notContained = first('containment.not-contained');
  if (notContained) rows.push(['NOT contained', `${txt(notContained.at)}: ${txt(plainText(notContained.summary.split('\n')[0] ?? '', names).replace(/\*/g, ''))}`]);
  const lifted = first('containment.lifted');
  if (lifted) rows.push(['Containment lifted', `${txt(lifted.at)}${incident.containment?.liftReason ? ` (${txt(incident.containment.liftReason)})` : ''}`]);
  const failed = first('step.failed');
  if (failed) rows.push(['Failed', `${txt(failed.at)}: ${txt(plainText(failed.summary, names))}`]);
  rows.push(['Events recorded', String(timeline.length)]);
  const restored = first('restore.completed');
  const closed = first('incident.completed');
  const cards = [
    contained ? ['time to contain', since(contained)] : undefined,
    restored ? ['time to restore', since(restored)] : undefined,
    closed ? ['time to close', since(closed)] : undefined,
    ['events', String(timeline.length)],
  ].filter((c): c is string[] => c !== undefined);
  return `<dl class="summary">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl><div class="cards">${cards.map(([k, v]) => `<div class="card"><b>${esc(v ?? '')}</b>${esc(k ?? '')}</div>`).join('')}</div>`;
}

function connectivity(input: PostmortemInput): string {
  const model = connectivityModel(input.incident, input.timeline);
  const edgeList = (view: PhaseView): string =>
    view.edges?.length
      ? `<details><summary>${view.edges.length} connection(s)</summary><ul>${view.edges.map((e) => `<li><code>${txt(`${e.src} → ${e.dst} ${e.port}/${e.protocol}`, 400)}</code> ${esc(e.kind)}: <b>${esc(e.state)}</b> (${txt(e.why, 300)})</li>`).join('')}</ul></details>`
      : '';
  const figures = model.phases.map((view) => `<figure>${graphSvg(model, view)}<figcaption><b>${txt(view.heading)}</b>: ${txt(view.source)}${edgeList(view)}</figcaption></figure>`);
  const key = '<p class="key"><span><i style="border-color:#1a7f37"></i>learned, open</span><span><i style="border-color:#cf222e"></i>anomaly, open</span><span><i style="border-color:#0969da"></i>DNS kept</span><span><i style="border-color:#bf8700"></i>other open</span><span><i style="border-color:#8c959f;border-top-style:dashed"></i>closed (dashed, faint)</span><span><i style="border-color:#a855f7;border-top-style:dotted"></i>unknown</span></p>';
  const more = model.moreNodes || model.moreEdges ? `<p class="muted">Not drawn: ${model.moreNodes} node(s), ${model.moreEdges} connection(s).</p>` : '';
  return `<h2 id="connectivity">Connectivity of the scope: before, during, after</h2>${key}<div class="graphs">${figures.join('\n')}</div>${more}`;
}

function decisions(input: PostmortemInput, names: Record<string, string>): string {
  const rows: string[][] = [];
  for (const stepId of input.incident.stepOrder ?? []) {
    const step = input.incident.steps?.[stepId];
    if (!step) continue;
    const title = txt(input.stepTitles[stepId] ?? stepId);
    for (const a of step.approvals ?? []) rows.push([title, '<span class="badge good">approved</span>', txt(actorName(`slack:${a.user}`, names)), txt(a.at)]);
    if (step.rejectedBy) rows.push([title, step.status === 'skipped' ? '<span class="badge">declined (skipped)</span>' : '<span class="badge bad">rejected</span>', txt(actorName(`slack:${step.rejectedBy.user}`, names)), txt(step.rejectedBy.at)]);
    if ((step.approvals ?? []).length === 0 && !step.rejectedBy) rows.push([title, txt(step.status), '', '']);
  }
  return `<h2 id="decisions">Steps and decisions</h2>${table(['Step', 'Decision', 'By', 'At'], rows)}${stepResults(input)}`;
}

function stepResults(input: PostmortemInput): string {
  const items = (input.incident.stepOrder ?? []).flatMap((id) => {
    const step = input.incident.steps?.[id];
    const text = isObj(step?.result) && typeof step.result.summary === 'string' ? step.result.summary : undefined;
    return step ? [`<li><b>${txt(input.stepTitles[id] ?? id)}</b> <span class="badge">${txt(step.status)}</span>${text ? `: ${richText(text)}` : ''}</li>`] : [];
  });
  return items.length ? `<ul>${items.join('')}</ul>` : '';
}

function applied(input: PostmortemInput, names: Record<string, string>): string {
  const events = input.timeline.filter((e) => e.type === 'policy.applied');
  const body = events.map((e) => {
    const objects = (e.data?.objects as unknown[] | undefined) ?? (e.data?.policy ? [e.data.policy] : []);
    const yaml = (Array.isArray(objects) ? objects : []).map((o) => {
      const text = toYaml(o).trimEnd();
      return `<pre class="block">${multiline(text.length > HTML_LIMITS.yaml ? `${text.slice(0, HTML_LIMITS.yaml)}\n…` : text, 400, 500)}</pre>`;
    });
    return `<h3>${txt(e.at)}: ${richText(plainText(e.summary, names))}</h3>${yaml.join('')}`;
  });
  return `<h2 id="applied">Changes applied to the cluster</h2>${body.length ? body.join('') : '<p class="muted">Nothing was applied.</p>'}`;
}

function proof(input: PostmortemInput, names: Record<string, string>): string {
  const kinds = new Set(['containment.proven', 'containment.not-contained', 'containment.traffic', 'containment.enforced', 'containment.lifted', 'containment.lift-verified', 'containment.lift-failed']);
  const events = input.timeline.filter((e) => kinds.has(e.type));
  if (events.length === 0) return '';
  return `<h2 id="proof">Containment proof and lift</h2><ul>${events.map((e) => `<li>${txt(e.at)}: <span class="pre">${multiline(plainText(e.summary, names).replace(/\*/g, ''), 400, 40).replace(/\n/g, '<br>')}</span></li>`).join('')}</ul>`;
}

function trace(input: PostmortemInput): string {
  const result = (input.incident.stepOrder ?? []).map((id) => input.incident.steps?.[id]?.result as unknown).find((r): r is Obj => isObj(r) && Array.isArray(r.changes) && 'window' in r);
  if (!result) return '';
  const cause = isObj(result.cause) ? result.cause : undefined;
  const rows = (result.changes as unknown[]).filter(isObj).map((c) => {
    const git = isObj(c.git) ? `${txt(c.git.kind)}${isObj(c.git.commit) ? ` <code>${txt(String(c.git.commit.sha ?? '').slice(0, 12))}</code> ${txt(c.git.commit.author)}: ${txt(c.git.commit.subject, 300)}` : ''}` : 'not checked';
    const count = (x: unknown): number => (Array.isArray(x) ? x.length : 0);
    const effect = [count(c.opened) ? `opened ${count(c.opened)}` : '', count(c.closed) ? `closed ${count(c.closed)}` : '', c.opensAnomaly === true ? '<b>lets the anomalous flow through</b>' : ''].filter(Boolean).join('; ') || 'none';
    return [txt(c.at), `${txt(c.verb)} <code>${txt(c.key)}</code>`, txt(c.actor ?? '?'), txt(c.via ?? '?'), txt(c.evidence), git, effect];
  });
  return `<h2 id="trace">What changed, who, and how we know</h2>${cause ? `<p><b>Most likely cause</b> (${txt(cause.confidence)} confidence): <code>${txt(cause.key)}</code> at ${txt(cause.at)}: ${txt(cause.why)}.</p>` : ''}${table(['Time (UTC)', 'Change', 'Who', 'Via', 'Evidence', 'Git', 'Effect on the scope'], rows)}`;
}

function validation(input: PostmortemInput): string {
  const r = (input.incident.stepOrder ?? []).map((id) => input.incident.steps?.[id]?.result as unknown).find((x): x is Obj => isObj(x) && x.kind === 'validation');
  if (!r) return '';
  const diffs = (Array.isArray(r.diffs) ? r.diffs : []).filter(isObj).slice(0, 100).map((d) => diffHtml(`${String(d.key ?? 'object')} (- Git, + live, ~ Git → live)`, d.lines));
  const drift = isObj(r.drift) ? r.drift : {};
  const verdict = (x: unknown): string => (x === true || x === 'pass' ? '<span class="badge good">' : x === false || x === 'fail' ? '<span class="badge bad">' : '<span class="badge">') + `${txt(String(x))}</span>`;
  const flowVerdict = (x: unknown): string => (x === true ? '<span class="badge bad">allowed</span>' : x === false ? '<span class="badge good">denied</span>' : `<span class="badge">${txt(String(x))}</span>`);
  const flows = (Array.isArray(r.flows) ? r.flows : []).filter(isObj).map((f) => [`<code>${txt(f.flow)}</code>`, flowVerdict(f.live), flowVerdict(f.intended)]);
  const tests = (Array.isArray(r.tests) ? r.tests : []).filter(isObj).map((t) => [`<code>${txt(`${t.from} → ${t.to} ${t.port}/${t.protocol}`)}</code>`, txt(t.expect), txt(t.origin), verdict(t.live), verdict(t.intended)]);
  return `<h2 id="validation">Validation against Git</h2>${r.why ? `<p>${txt(r.why)}</p>` : ''}<dl class="summary"><dt>Missing from the cluster</dt><dd>${list(drift.missing) || 'none'}</dd><dt>Not in Git</dt><dd>${list(drift.extra) || 'none'}</dd></dl>
<h3>Field differences</h3>${diffs.join('') || '<p class="muted">No field differences.</p>'}<h3>The anomaly's flows</h3>${table(['Flow', 'Allowed live (without containment)', "Allowed by Git's policies"], flows)}<h3>Network tests</h3>${table(['Connection', 'Expect', 'From', 'Live', 'Git'], tests)}`;
}

function checks(v: VerificationView | undefined): string {
  if (!v) return '';
  const ok = (x: boolean | null): string => (x === true ? '<span class="badge good">ok</span>' : x === false ? '<span class="badge bad">FAILED</span>' : '<span class="badge">unknown</span>');
  return `<ul><li>object: ${ok(v.object.ok)} ${txt(v.object.detail)}</li><li>engine: ${ok(v.engine.ok)} ${txt(v.engine.detail)}</li><li>traffic: ${txt(v.traffic.text)}</li></ul>`;
}

function restoreStep(s: RestoreStepView): string {
  const failures = s.failures.map((f) => `<li><span class="badge bad">failed</span> ${txt(f.at)} (${txt(f.reason)}): ${txt(f.message)}</li>`).join('');
  const rollback = s.rollback ? `<li>${txt(s.rollback.at)}: roll-back ${s.rollback.ok === true ? 'done' : s.rollback.ok === false ? 'FAILED' : 'outcome unknown'}, by ${txt(s.rollback.by)}: ${txt(s.rollback.message)}</li>` : '';
  const continued = s.continued ? `<li>${txt(s.continued.at)}: <b>continued anyway</b>, by ${txt(s.continued.by)}</li>` : '';
  return `<h3>Step ${s.n ?? '?'}: ${txt(s.action)} <code>${txt(s.key)}</code> <span class="badge ${s.status === 'applied' ? 'good' : s.status === 'not-run' || s.status === 'unknown' ? '' : 'bad'}">${txt(s.status)}</span></h3>
<ul><li>Predicted: opens ${s.opened.lines.length + s.opened.more}, closes ${s.closed.lines.length + s.closed.more}</li>${s.appliedAt ? `<li>Applied at ${txt(s.appliedAt)}${s.syncedBy ? `, synced by ${txt(s.syncedBy)}` : ''}</li>` : ''}<li>Approved by: ${s.approvedBy.length ? s.approvedBy.map((a) => txt(a)).join(', ') : 'not recorded'}</li>${failures}${rollback}${continued}</ul>${checks(s.verification)}${diffHtml(`${s.action} ${s.key}`, s.diff.lines, s.diff.more)}`;
}

function restore(input: PostmortemInput, names: Record<string, string>): string {
  const view = restoreSection(input.timeline, (actor) => actorName(actor, names));
  if (!view) return '';
  const lift = view.lift ? `<h3>Lift and watch</h3><ul><li>${txt(view.lift.at)}: ${txt(view.lift.summary)}</li>${view.lift.events.map((e) => `<li>${txt(e.at)}: ${txt(e.summary)}</li>`).join('')}${view.watch ? `<li>${txt(view.watch.at)}: watching until ${txt(view.watch.until)}</li>` : ''}${view.refired.map((r) => `<li>${txt(r.at)}: <b>the anomaly fired again</b>: <code>${txt(r.anomalyId)}</code></li>`).join('')}</ul>` : '';
  const decisions = view.decisions.length ? `<h3>Stop and Resume</h3><ul>${view.decisions.map((d) => `<li>${txt(d.at)}: ${d.decision} at step ${d.n ?? '?'} by ${txt(d.by)}</li>`).join('')}</ul>` : '';
  return `<h2 id="restore">Restore</h2><dl class="summary"><dt>Source</dt><dd>${txt(view.source ?? 'unknown')}</dd><dt>Mode</dt><dd>${txt(view.mode ?? 'unknown')}</dd>${view.plan ? `<dt>Plan</dt><dd><code>${txt(view.plan.planId ?? '?')}</code>, ${view.plan.steps} step(s) (+ lift), ${view.plan.safe === true ? 'safe' : view.plan.safe === false ? '<b>NOT safe</b>' : 'safety unknown'}</dd>` : ''}<dt>Outcome</dt><dd>${txt(view.outcome)}</dd></dl>
${view.steps.map(restoreStep).join('\n')}${view.moreSteps ? `<p class="muted">… and ${view.moreSteps} more steps.</p>` : ''}${decisions}${lift}${view.completed ? `<p>Restore completed at ${txt(view.completed.at)}.</p>` : ''}`;
}

/** Step 5's outcome: where the baseline went and its proof per namespace (links stay text: nothing is fetched). */
function hardening(input: PostmortemInput): string {
  const r = (input.incident.stepOrder ?? []).map((id) => input.incident.steps?.[id]?.result as unknown).find((x): x is Obj => isObj(x) && x.kind === 'hardening');
  if (!r) return '';
  const d = isObj(r.delivery) ? r.delivery : {};
  const where = d.kind === 'pull-request' ? `pull request ${txt(d.url, 500)}` : d.kind === 'branch' ? `branch <code>${txt(d.branch)}</code>${d.compareUrl ? ` (${txt(d.compareUrl, 500)})` : ''}` : d.kind === 'attached' ? `files attached to the thread: ${txt(d.why)}` : 'not recorded';
  const rows = (Array.isArray(r.namespaces) ? r.namespaces : []).filter(isObj).map((n) => {
    const proof = isObj(n.proof) ? n.proof : {};
    return [`<code>${txt(n.namespace)}</code>`, proof.ok === true ? '<span class="badge good">proven</span>' : proof.ok === false ? '<span class="badge bad">NOT proven</span>' : '<span class="badge">unknown</span>', txt(proof.summary)];
  });
  return `<h2 id="hardening">Hardening</h2><p>${txt(r.summary)}</p><dl class="summary"><dt>Delivered as</dt><dd>${where}</dd></dl>${table(['Namespace', 'Proof', 'Summary'], rows)}`;
}

function timelineTable(input: PostmortemInput, names: Record<string, string>): string {
  const rows = input.timeline.slice(0, HTML_LIMITS.timeline).map((e) => [
    `<code>${txt(e.at, 40)}</code>`,
    txt(actorName(e.actor, names), 200),
    txt(e.step ? (input.stepTitles[e.step] ?? e.step) : '', 200),
    multiline(plainText(e.summary, names), 1000, 30).replace(/\n/g, '<br>'),
  ]);
  return `<h2 id="timeline">Timeline</h2>${table(['Time (UTC)', 'Actor', 'Step', 'Event'], rows, Math.max(0, input.timeline.length - HTML_LIMITS.timeline))}`;
}

export function renderHtml(input: PostmortemInput): string {
  const names = input.userNames ?? {};
  const { incident } = input;
  const chart = chartModel({
    events: input.timeline.map((e) => ({ at: e.at, type: e.type, ...(e.step !== undefined ? { step: e.step } : {}), actor: actorName(e.actor, names), summary: plainText(e.summary, names).split('\n')[0] ?? '' })),
    steps: (incident.stepOrder ?? []).map((id) => ({ id, title: input.stepTitles[id] ?? id })),
    openedAt: incident.createdAt,
  });
  const body = [
    `<h1>Postmortem: incident <code>${txt(incident.id, 80)}</code></h1>`,
    summary(input, names),
    `<h2 id="chart">Timeline chart</h2>${chartLegend()}${chartSvg(chart)}`,
    connectivity(input),
    decisions(input, names),
    applied(input, names),
    proof(input, names),
    trace(input),
    validation(input),
    restore(input, names),
    hardening(input),
    timelineTable(input, names),
    `<p class="muted">Generated by netpol-responder at ${txt(input.generatedAt.toISOString())}.</p>`,
  ];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${HTML_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Postmortem: incident ${txt(incident.id, 80)}</title>
<style>${CSS}</style></head>
<body><main>
${body.filter(Boolean).join('\n')}
</main></body></html>
`;
}
