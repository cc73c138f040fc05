// The postmortem's "Restore" section (step 4): what was put back, from which source, step by step
// with its verification and the people who decided, then the lift, the watch window and the end.
// Pure: timeline in, view out, and the view to Markdown lines. Event data is JSON from whichever
// version recorded it: every field may be missing or of another type, so each is read defensively,
// unusable values become "unknown" and nothing throws. Lists and texts are capped so a hostile or
// huge event cannot blow up the document.
import { printable } from '../printable.js';
import type { TimelineEvent } from './types.js';

type Obj = Record<string, unknown>;

export type TrafficStatus = 'pass' | 'fail' | 'no-traffic' | 'no-collector' | 'skipped' | 'unknown';
export type RestoreStepStatus = 'applied' | 'failed' | 'rolled-back' | 'rollback-failed' | 'continued' | 'not-run' | 'unknown';

/** A list cut to its limit: `more` lines were left out. */
export interface CappedLines {
  lines: string[];
  more: number;
}

export interface CheckView {
  /** null: not recorded, or not a boolean. */
  ok: boolean | null;
  detail: string;
}

export interface VerificationView {
  object: CheckView;
  engine: CheckView;
  traffic: { status: TrafficStatus; text: string; lines: CappedLines };
}

export interface RestoreStepView {
  planId?: string;
  /** undefined: the event's step number was missing or not a number. */
  n?: number;
  action: string;
  key: string;
  status: RestoreStepStatus;
  /** The write's outcome: created, updated, deleted, unchanged. */
  applied?: string;
  appliedAt?: string;
  /** The GitOps controller that synced it (the bot did not write it), and at which commit. */
  syncedBy?: string;
  diff: CappedLines;
  /** Engine connections the step was predicted to open / close. */
  opened: CappedLines;
  closed: CappedLines;
  approvedBy: string[];
  verification?: VerificationView;
  failures: Array<{ at: string; reason: string; message: string; owners?: string }>;
  rollback?: { at: string; by: string; ok: boolean | null; message: string; verification?: VerificationView };
  continued?: { at: string; by: string };
}

export interface RestoreSectionView {
  source?: string;
  mode?: 'plan' | 'step';
  plan?: { planId?: string; steps: number; safe: boolean | null; ordering?: string; notes: CappedLines };
  replans: Array<{ at: string; planId?: string; previous?: string; fromStep?: number; notes: Array<{ key: string; change: string; reason: string }>; more: number }>;
  steps: RestoreStepView[];
  /** Steps left out past the cap. */
  moreSteps: number;
  decisions: Array<{ at: string; decision: 'stopped' | 'resumed'; n?: number; by: string }>;
  lift?: { at: string; summary: string; events: Array<{ at: string; type: string; summary: string; detail?: string[] }> };
  watch?: { at: string; until: string };
  refired: Array<{ at: string; anomalyId: string }>;
  completed?: { at: string; source?: string; steps?: number };
  outcome: 'completed' | 'stopped' | 'watching' | 'lifting' | 'in-progress';
}

/** Caps: per list of lines, per line, per free text, and on the lists of the section. */
export const RESTORE_LIMITS = { lines: 100, line: 300, text: 1000, steps: 300, notes: 100, decisions: 200 } as const;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const data = (e: TimelineEvent): Obj => (isObj(e.data) ? e.data : {});
const stepNumber = (x: unknown): number | undefined => (typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= 10_000 ? x : undefined);
const bool = (x: unknown): boolean | null => (typeof x === 'boolean' ? x : null);

/** One line of text, control characters made visible (a newline cannot start a new Markdown block). */
function line(x: unknown, max: number = RESTORE_LIMITS.line): string | undefined {
  return typeof x === 'string' ? printable(x, max) : undefined;
}

function lines(x: unknown, max: number = RESTORE_LIMITS.lines): CappedLines {
  const all = Array.isArray(x) ? x.filter((l): l is string => typeof l === 'string') : [];
  return { lines: all.slice(0, max).map((l) => printable(l, RESTORE_LIMITS.line)), more: Math.max(0, all.length - max) };
}

/** Object keys come as `Kind ns/name` text, or as { kind, namespace, name } from older records. */
const UNKNOWN_OBJECT = 'unknown object';
const known = (key: string): string | undefined => (key === UNKNOWN_OBJECT ? undefined : key);

function objectKey(x: unknown): string {
  if (typeof x === 'string' && x.length > 0) return printable(x, RESTORE_LIMITS.line);
  if (isObj(x) && typeof x.kind === 'string' && typeof x.name === 'string') {
    return printable(typeof x.namespace === 'string' && x.namespace ? `${x.kind} ${x.namespace}/${x.name}` : `${x.kind} ${x.name}`, RESTORE_LIMITS.line);
  }
  return UNKNOWN_OBJECT;
}

export function trafficText(status: TrafficStatus): string {
  // 'no-traffic' is not a pass: nothing crossed the window, so nothing could contradict the step.
  const text: Record<TrafficStatus, string> = { pass: 'passed', fail: 'FAILED', 'no-traffic': 'no traffic to judge', 'no-collector': 'not checked (no flow collector)', skipped: 'skipped', unknown: 'unknown (not recorded)' };
  return text[status];
}

function check(x: unknown): CheckView {
  if (!isObj(x)) return { ok: null, detail: 'not recorded' };
  return { ok: bool(x.ok), detail: line(x.detail, RESTORE_LIMITS.text) || 'no detail' };
}

function verification(x: unknown): VerificationView | undefined {
  if (!isObj(x)) return undefined;
  const traffic = isObj(x.traffic) ? x.traffic : {};
  const known: TrafficStatus[] = ['pass', 'fail', 'no-traffic', 'no-collector', 'skipped'];
  const status = known.find((s) => s === traffic.status) ?? 'unknown';
  return { object: check(x.object), engine: check(x.engine), traffic: { status, text: trafficText(status), lines: lines(traffic.lines) } };
}

export function restoreSection(timeline: TimelineEvent[], names: (actor: string) => string): RestoreSectionView | undefined {
  const events = (Array.isArray(timeline) ? timeline : []).filter((e): e is TimelineEvent => isObj(e) && typeof e.type === 'string');
  if (!events.some((e) => e.type.startsWith('restore.'))) return undefined;

  const at = (e: TimelineEvent): string => line(e.at, 40) ?? 'unknown time';
  const mention = (id: string): string => {
    const name = names(`slack:${id}`);
    return name.startsWith('<@') ? `@${id}` : name;
  };
  /** Free text: Slack mentions become names (as render.ts does), then one printable line. */
  const prose = (x: unknown): string => printable((typeof x === 'string' ? x : '').replace(/<@([A-Z0-9]{1,32})>/g, (_, id: string) => mention(id)), RESTORE_LIMITS.text);
  /** A person in data: a Slack user id, or already an actor (`slack:U1`, `bot`). */
  const person = (x: unknown): string | undefined => {
    if (typeof x !== 'string' || x.length === 0 || x.length > 200) return undefined;
    return printable(names(x.startsWith('slack:') || x === 'bot' || x.startsWith('bot:') ? x : `slack:${x}`), 100);
  };
  /** A decision's author: the event's person, else the one the data names. */
  const decidedBy = (e: TimelineEvent, user: unknown): string => {
    const actor = typeof e.actor === 'string' && e.actor.length > 0 ? printable(names(e.actor), 100) : undefined;
    return (typeof e.actor === 'string' && e.actor.startsWith('slack:') ? actor : undefined) ?? person(user) ?? actor ?? 'unknown';
  };

  const view: RestoreSectionView = { replans: [], steps: [], moreSteps: 0, decisions: [], refired: [], outcome: 'in-progress' };
  const planSteps = new Map<string, Map<number, Obj>>();
  let currentPlan: string | undefined;
  let lastPlanSteps: Obj[] = [];
  const byStep = new Map<string, RestoreStepView>();
  const overflow = new Set<string>();
  let liftSeen = false;

  const entry = (d: Obj): RestoreStepView => {
    const planId = line(d.planId, 40) ?? currentPlan;
    const n = stepNumber(d.n);
    const id = `${planId ?? ''}:${n ?? ''}`;
    const found = n !== undefined ? byStep.get(id) : undefined;
    if (found) return found;
    const planned = n !== undefined && planId !== undefined ? planSteps.get(planId)?.get(n) : undefined;
    const created: RestoreStepView = {
      ...(planId !== undefined ? { planId } : {}),
      ...(n !== undefined ? { n } : {}),
      action: line(d.action, 20) ?? line(planned?.action, 20) ?? 'unknown',
      key: known(objectKey(d.key)) ?? objectKey(planned?.key),
      status: 'unknown',
      diff: lines(planned?.diff),
      opened: lines(planned?.opened),
      closed: lines(planned?.closed),
      approvedBy: [],
      failures: [],
    };
    if (view.steps.length >= RESTORE_LIMITS.steps) {
      // Counted once, not kept: later events of the step land on a throwaway entry.
      if (n === undefined || !overflow.has(id)) view.moreSteps += 1;
      overflow.add(id);
      return created;
    }
    view.steps.push(created);
    if (n !== undefined) byStep.set(id, created);
    return created;
  };
  const approve = (step: RestoreStepView, who: string | undefined): void => {
    if (who && !step.approvedBy.includes(who) && step.approvedBy.length < 50) step.approvedBy.push(who);
  };

  for (const e of events) {
    const d = data(e);
    switch (e.type) {
      case 'restore.sources': {
        const options = Array.isArray(d.options) ? d.options : [];
        const chosen = typeof d.chosen === 'number' && Number.isInteger(d.chosen) ? options[d.chosen] : undefined;
        const label = isObj(chosen) ? (line(chosen.label) ?? line(chosen.text)) : undefined;
        if (label) view.source = label;
        break;
      }
      case 'restore.plan': {
        const steps = Array.isArray(d.steps) ? d.steps.filter(isObj) : [];
        currentPlan = line(d.planId, 40) ?? currentPlan;
        if (currentPlan !== undefined) planSteps.set(currentPlan, new Map(steps.flatMap((s) => (stepNumber(s.n) !== undefined ? [[stepNumber(s.n) as number, s] as const] : []))));
        lastPlanSteps = steps;
        view.source = line(d.source) ?? view.source;
        if (d.mode === 'plan' || d.mode === 'step') view.mode = d.mode;
        view.plan = { ...(currentPlan !== undefined ? { planId: currentPlan } : {}), steps: steps.length, safe: bool(d.safe), ...(line(d.ordering, 40) ? { ordering: line(d.ordering, 40) } : {}), notes: lines(d.notes) };
        break;
      }
      case 'restore.replanned': {
        const notes = Array.isArray(d.notes) ? d.notes.filter(isObj) : [];
        const planId = line(d.planId, 40);
        if (planId !== undefined) currentPlan = planId;
        const fromStep = stepNumber(d.fromStep);
        if (view.replans.length < RESTORE_LIMITS.decisions) {
          view.replans.push({
            at: at(e),
            ...(planId !== undefined ? { planId } : {}),
            ...(line(d.previous, 40) !== undefined ? { previous: line(d.previous, 40) } : {}),
            ...(fromStep !== undefined ? { fromStep } : {}),
            notes: notes.slice(0, RESTORE_LIMITS.notes).map((note) => ({ key: objectKey(note.key), change: line(note.change, 20) ?? 'unknown', reason: prose(note.reason) || 'no reason recorded' })),
            more: Math.max(0, notes.length - RESTORE_LIMITS.notes),
          });
        }
        break;
      }
      case 'restore.step-approved': {
        if (stepNumber(d.n) !== undefined) approve(entry(d), decidedBy(e, d.user));
        break;
      }
      case 'restore.step': {
        const step = entry(d);
        step.action = line(d.action, 20) ?? step.action;
        step.key = known(objectKey(d.key)) ?? step.key;
        if (Array.isArray(d.diff)) step.diff = lines(d.diff);
        if (Array.isArray(d.opened)) step.opened = lines(d.opened);
        if (Array.isArray(d.closed)) step.closed = lines(d.closed);
        const applied = ['created', 'updated', 'deleted', 'unchanged'].find((a) => a === d.applied);
        step.applied = applied ?? 'unknown';
        step.appliedAt = at(e);
        const by = line(d.syncedBy, 200);
        if (by) step.syncedBy = `${by}${typeof d.revision === 'string' ? ` at ${line(d.revision, 64)}` : ''}`;
        step.status = 'applied';
        for (const user of Array.isArray(d.approvedBy) ? d.approvedBy : []) approve(step, person(user));
        step.verification = verification(d.verification) ?? step.verification;
        break;
      }
      case 'restore.step-failed': {
        const step = entry(d);
        step.key = known(step.key) ?? objectKey(d.key);
        if (step.failures.length < RESTORE_LIMITS.notes) {
          const owners = line(d.owners);
          step.failures.push({ at: at(e), reason: line(d.reason, 60) ?? 'unknown', message: prose(d.message) || prose(e.summary) || 'no message recorded', ...(owners ? { owners } : {}) });
        }
        step.verification = verification(d.verification) ?? step.verification;
        step.status = 'failed';
        break;
      }
      case 'restore.rollback': {
        const step = entry(d);
        const ok = bool(d.ok);
        const checks = verification(d.verification);
        step.rollback = { at: at(e), by: decidedBy(e, d.user), ok, message: prose(d.message) || prose(e.summary) || 'no message recorded', ...(checks ? { verification: checks } : {}) };
        step.status = ok === true ? 'rolled-back' : ok === false ? 'rollback-failed' : 'unknown';
        break;
      }
      case 'restore.continued': {
        const step = entry(d);
        step.continued = { at: at(e), by: decidedBy(e, d.user) };
        step.status = 'continued';
        break;
      }
      case 'restore.stopped':
      case 'restore.resumed': {
        const n = stepNumber(d.n);
        if (view.decisions.length < RESTORE_LIMITS.decisions) view.decisions.push({ at: at(e), decision: e.type === 'restore.stopped' ? 'stopped' : 'resumed', ...(n !== undefined ? { n } : {}), by: decidedBy(e, d.user) });
        break;
      }
      case 'restore.lift':
        liftSeen = true;
        view.lift ??= { at: at(e), summary: prose(e.summary) || 'containment lifted', events: [] };
        break;
      case 'containment.lifted':
      case 'containment.lift-verified':
      case 'containment.lift-failed':
        // Only the lift the restore asked for: an earlier one belongs to the containment step.
        if (liftSeen && view.lift && view.lift.events.length < RESTORE_LIMITS.decisions) {
          // A multi-line summary (the lift's verification lists connections) keeps its lines.
          const [first = '', ...rest] = (typeof e.summary === 'string' ? e.summary : '').split('\n');
          const detail = rest.slice(0, RESTORE_LIMITS.lines).map(prose).filter(Boolean);
          view.lift.events.push({ at: at(e), type: e.type, summary: prose(first) || e.type, ...(detail.length > 0 ? { detail } : {}) });
        }
        break;
      case 'restore.watch':
        view.watch = { at: at(e), until: line(d.until, 40) ?? 'unknown' };
        break;
      case 'restore.refired':
        if (view.refired.length < RESTORE_LIMITS.decisions) view.refired.push({ at: at(e), anomalyId: line(d.anomalyId, 100) ?? 'unknown' });
        break;
      case 'restore.completed': {
        const steps = typeof d.steps === 'number' && Number.isInteger(d.steps) && d.steps >= 0 ? d.steps : undefined;
        const source = line(d.source);
        view.completed = { at: at(e), ...(source ? { source } : {}), ...(steps !== undefined ? { steps } : {}) };
        break;
      }
      default:
        break;
    }
  }

  // The last plan's steps that no event reached: not run (a stopped or unfinished restore).
  const reached = Math.max(0, ...view.steps.map((s) => s.n ?? 0));
  for (const s of lastPlanSteps) {
    const n = stepNumber(s.n);
    if (n !== undefined && n > reached) entry({ ...s, planId: currentPlan }).status = 'not-run';
  }
  view.steps.sort((a, b) => (a.n ?? Number.MAX_SAFE_INTEGER) - (b.n ?? Number.MAX_SAFE_INTEGER));

  const lastDecision = view.decisions[view.decisions.length - 1];
  view.outcome = view.completed ? 'completed' : lastDecision?.decision === 'stopped' ? 'stopped' : view.watch ? 'watching' : view.lift ? 'lifting' : 'in-progress';
  return view;
}

// --- Markdown ---------------------------------------------------------------------------------

/** Text outside code: Markdown and HTML punctuation escaped, so user text cannot link, embed or format. */
function md(text: string): string {
  return text.replace(/[\\`*_[\]<>&|~#!]/g, (ch) => `\\${ch}`);
}

/** Inline code: a backtick cannot close the span early (as render.ts does for flow lines). */
function code(text: string): string {
  return `\`${text.replace(/`/g, "'") || '?'}\``;
}

/** A fenced block whose fence is longer than any backtick run inside it: no line can close it. */
function fenced(out: string[], heading: string, list: CappedLines): void {
  if (list.lines.length === 0) return;
  const longest = Math.max(0, ...list.lines.map((l) => Math.max(0, ...(l.match(/`+/g) ?? []).map((run) => run.length))));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  out.push(`${heading} (${list.lines.length + list.more}):`, '', fence, ...list.lines, ...(list.more ? [`… and ${list.more} more`] : []), fence, '');
}

function checkText(c: CheckView): string {
  const verdict = c.ok === true ? 'passed' : c.ok === false ? 'FAILED' : 'unknown';
  return `${verdict} (${md(c.detail)})`;
}

function verificationLines(v: VerificationView, indent: string): string[] {
  return [`${indent}- Object: ${checkText(v.object)}`, `${indent}- Engine: ${checkText(v.engine)}`, `${indent}- Traffic: ${md(v.traffic.text)}`, ...v.traffic.lines.lines.map((l) => `${indent}  - ${code(l)}`), ...(v.traffic.lines.more ? [`${indent}  - … and ${v.traffic.lines.more} more`] : [])];
}

const STATUS_TEXT: Record<RestoreStepStatus, string> = { applied: 'applied', failed: 'FAILED', 'rolled-back': 'rolled back', 'rollback-failed': 'roll-back FAILED', continued: 'continued anyway', 'not-run': 'not run', unknown: 'outcome unknown' };

function stepLines(out: string[], s: RestoreStepView): void {
  const status = s.status === 'applied' ? `applied (${s.applied ?? 'unknown'})` : STATUS_TEXT[s.status];
  out.push(`### Step ${s.n ?? '?'}: ${md(s.action)} ${code(s.key)}: ${status}`, '');
  if (s.planId) out.push(`- Plan: ${code(s.planId)}`);
  out.push(`- Predicted: opens ${s.opened.lines.length + s.opened.more}, closes ${s.closed.lines.length + s.closed.more}`);
  if (s.appliedAt) out.push(`- Applied at ${md(s.appliedAt)}${s.syncedBy ? `, synced by ${md(s.syncedBy)} (reconcile resumed by the lift)` : ''}`);
  if (s.status !== 'not-run') out.push(`- Approved by: ${s.approvedBy.length ? s.approvedBy.map(md).join(', ') : 'not recorded'}`);
  if (s.verification) out.push('- Verification:', ...verificationLines(s.verification, '  '));
  for (const f of s.failures) out.push(`- **Failed** at ${md(f.at)} (${md(f.reason)}): ${md(f.message)}${f.owners ? ` (owners: ${md(f.owners)})` : ''}`);
  if (s.rollback) {
    const result = s.rollback.ok === true ? 'rolled back' : s.rollback.ok === false ? 'roll-back FAILED' : 'roll-back, outcome unknown';
    out.push(`- ${md(s.rollback.at)}: ${result}, by ${md(s.rollback.by)}: ${md(s.rollback.message)}`);
    if (s.rollback.verification) out.push(...verificationLines(s.rollback.verification, '  '));
  }
  if (s.continued) out.push(`- ${md(s.continued.at)}: **continued anyway** despite the failed verification, by ${md(s.continued.by)}`);
  out.push('');
  fenced(out, 'Opens', s.opened);
  fenced(out, 'Closes', s.closed);
  fenced(out, 'Diff', s.diff);
}

const OUTCOME_TEXT: Record<RestoreSectionView['outcome'], string> = { completed: 'completed', stopped: 'stopped (not resumed)', watching: 'containment lifted, watching', lifting: 'lifting containment', 'in-progress': 'not finished' };

export function renderRestoreMarkdown(view: RestoreSectionView): string[] {
  const out: string[] = ['## Restore', ''];
  out.push(`- **Source:** ${view.source ? code(view.source) : 'unknown'}`);
  out.push(`- **Mode:** ${view.mode === 'plan' ? 'the whole plan approved once (with Stop)' : view.mode === 'step' ? 'every step approved' : 'unknown'}`);
  if (view.plan) {
    const safety = view.plan.safe === true ? 'no intermediate state more open than both ends' : view.plan.safe === false ? '**NOT safe**: an intermediate state is more open than both ends' : 'safety unknown';
    out.push(`- **Plan:** ${view.plan.planId ? code(view.plan.planId) : 'unknown'}, ${view.plan.steps} step${view.plan.steps === 1 ? '' : 's'} (+ lift)${view.plan.ordering ? `, ordered ${md(view.plan.ordering)}` : ''}; ${safety}`);
  }
  out.push(`- **Outcome:** ${OUTCOME_TEXT[view.outcome]}`, '');
  if (view.plan?.notes.lines.length) out.push('Plan notes:', '', ...view.plan.notes.lines.map((n) => `- ${md(n)}`), ...(view.plan.notes.more ? [`- … and ${view.plan.notes.more} more`] : []), '');

  for (const r of view.replans) {
    out.push(`- ${md(r.at)}: **re-planned** from step ${r.fromStep ?? '?'}: plan ${r.planId ? code(r.planId) : '?'} replaces ${r.previous ? code(r.previous) : '?'}`);
    out.push(...r.notes.map((n) => `  - ${code(n.key)} ${md(n.change)}: ${md(n.reason)}`), ...(r.more ? [`  - … and ${r.more} more`] : []));
  }
  if (view.replans.length) out.push('');

  for (const s of view.steps) stepLines(out, s);
  if (view.moreSteps) out.push(`… and ${view.moreSteps} more steps (see the JSON export's timeline).`, '');

  if (view.decisions.length) {
    out.push('### Stop and Resume', '');
    for (const d of view.decisions) out.push(`- ${md(d.at)}: ${d.decision === 'stopped' ? 'Stopped' : 'Resumed'} at step ${d.n ?? '?'} by ${md(d.by)}`);
    out.push('');
  }
  if (view.lift || view.watch || view.refired.length) {
    out.push('### Lift and watch', '');
    if (view.lift) out.push(`- ${md(view.lift.at)}: ${md(view.lift.summary)}`, ...view.lift.events.flatMap((e) => [`  - ${md(e.at)}: ${md(e.summary)}`, ...(e.detail ?? []).map((l) => `    - ${md(l.replace(/^[•-]\s*/, ''))}`)]));
    if (view.watch) out.push(`- ${md(view.watch.at)}: watching until ${md(view.watch.until)}`);
    for (const r of view.refired) out.push(`- ${md(r.at)}: **the anomaly fired again** during the watch window: ${code(r.anomalyId)}`);
    out.push('');
  }
  if (view.completed) {
    const c = view.completed;
    out.push(`Restore completed at ${md(c.at)}: ${c.steps ?? '?'} step${c.steps === 1 ? '' : 's'} from ${c.source ? code(c.source) : (view.source ? code(view.source) : 'unknown')}.`, '');
  }
  return out;
}
