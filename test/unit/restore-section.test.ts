import { describe, expect, it } from 'vitest';
import { openIncident } from '../../src/incident/transitions.js';
import { renderJson, renderMarkdown } from '../../src/timeline/render.js';
import { RESTORE_LIMITS, renderRestoreMarkdown, restoreSection, trafficText, type RestoreSectionView } from '../../src/timeline/restore-section.js';
import type { StoredTimelineEvent, TimelineEvent, TimelineEventType } from '../../src/timeline/types.js';
import { testPlaybook } from '../helpers/playbook.js';

const people: Record<string, string> = { UALICE: 'alice', UBOB: 'bob', UCAROL: 'carol' };
/** As render.ts names actors: a known person by name, an unknown one as a mention, the bot by name. */
const names = (actor: string): string => {
  if (actor === 'bot') return 'netpol-responder';
  const id = actor.startsWith('slack:') ? actor.slice('slack:'.length) : undefined;
  if (!id) return actor;
  return people[id] ? `@${people[id]}` : `<@${id}>`;
};

let clock = 0;
function ev(type: TimelineEventType | string, data?: unknown, actor = 'bot', summary = `${type} happened`): TimelineEvent {
  clock += 1;
  return { at: new Date(Date.parse('2026-12-01T10:00:00Z') + clock * 1000).toISOString(), type: type as TimelineEventType, actor, step: 'restore', summary, ...(data !== undefined ? { data: data as Record<string, unknown> } : {}) };
}

const KEYS = ['NetworkPolicy db/default-deny', 'NetworkPolicy db/allow-db-from-api', 'NetworkPolicy db/allow-all-egress'];
const ACTIONS = ['create', 'update', 'delete'];
const planStep = (n: number) => ({ n, action: ACTIONS[n - 1] ?? 'update', key: KEYS[n - 1] ?? `NetworkPolicy db/p${n}`, effect: 'restricts', opened: [], closed: [`db/postgres => world : TCP ${n}`], diff: [`~ spec.ingress[0].ports[0].port: ${n} → ${n + 1}`] });
const plan = (planId: string, steps: number, extra: Record<string, unknown> = {}) => ev('restore.plan', { planId, source: 'git shop-policies@1a2b3c4', mode: 'plan', safe: true, ordering: 'by-effect', steps: Array.from({ length: steps }, (_, i) => planStep(i + 1)), notes: ['1 object skipped: not modelled'], ...extra });
const verified = (traffic: string, lines: string[] = []) => ({ object: { ok: true, detail: 'object: as applied' }, engine: { ok: true, detail: 'engine: as predicted' }, traffic: { status: traffic, lines } });
const stepDone = (planId: string, n: number, traffic = 'pass', approvedBy = ['UALICE', 'UBOB']) => ev('restore.step', { ...planStep(n), planId, applied: n === 1 ? 'created' : n === 3 ? 'deleted' : 'updated', approvedBy, verification: verified(traffic, traffic === 'pass' ? ['db/api-0 -> db/postgres-0:5432 TCP FORWARDED'] : []) });
const sources = (chosen: number) => ev('restore.sources', { options: [{ index: 0, kind: 'git-before-cause', label: 'Git shop-policies@1a2b3c4 (before the cause)', available: true, text: '1. Git' }, { index: 1, kind: 'journal-before-cause', label: 'journal 2026-12-01T09:59:59Z', available: true, text: '2. Journal' }], chosen });

function fullRestore(): TimelineEvent[] {
  clock = 0;
  return [
    ev('containment.lifted', {}, 'bot', 'An earlier lift, by the containment step'),
    sources(0),
    plan('p1', 3),
    stepDone('p1', 1),
    stepDone('p1', 2, 'no-traffic'),
    stepDone('p1', 3, 'no-collector'),
    ev('restore.lift', undefined, 'bot', 'Lifting containment: every step is done'),
    ev('containment.lifted', {}, 'bot', 'Containment lifted: deleted NetworkPolicy `q`'),
    ev('containment.lift-verified', {}, 'bot', "Lift verified by the engine: the scope's connectivity is what it was"),
    ev('restore.watch', { until: '2026-12-01T10:30:00.000Z' }),
    ev('restore.completed', { source: 'git shop-policies@1a2b3c4', steps: 3 }),
  ];
}

const section = (timeline: TimelineEvent[]): RestoreSectionView => {
  const view = restoreSection(timeline, names);
  if (!view) throw new Error('expected a restore section');
  return view;
};
const markdown = (timeline: TimelineEvent[]): string => renderRestoreMarkdown(section(timeline)).join('\n');

describe('restore section: a full restore', () => {
  it('has the source, mode, plan, the three steps with their checks and approvers, the lift, the watch and the completion', () => {
    const view = section(fullRestore());
    expect(view.source).toBe('git shop-policies@1a2b3c4');
    expect(view.mode).toBe('plan');
    expect(view.plan).toEqual({ planId: 'p1', steps: 3, safe: true, ordering: 'by-effect', notes: { lines: ['1 object skipped: not modelled'], more: 0 } });
    expect(view.steps.map((s) => [s.n, s.action, s.key, s.status, s.applied])).toEqual([
      [1, 'create', KEYS[0], 'applied', 'created'],
      [2, 'update', KEYS[1], 'applied', 'updated'],
      [3, 'delete', KEYS[2], 'applied', 'deleted'],
    ]);
    expect(view.steps[0]!.approvedBy).toEqual(['@alice', '@bob']);
    expect(view.steps[1]!.verification?.traffic).toEqual({ status: 'no-traffic', text: 'no traffic to judge', lines: { lines: [], more: 0 } });
    expect(view.steps[2]!.verification?.traffic.text).toBe('not checked (no flow collector)');
    // Only the lift events after the restore's own lift belong to it.
    expect(view.lift?.events.map((e) => e.type)).toEqual(['containment.lifted', 'containment.lift-verified']);
    expect(view.watch?.until).toBe('2026-12-01T10:30:00.000Z');
    expect(view.completed).toMatchObject({ source: 'git shop-policies@1a2b3c4', steps: 3 });
    expect(view.outcome).toBe('completed');
    expect(view.decisions).toEqual([]);
  });

  it('renders a "## Restore" section with each step, its diff fenced and its verification spelled out', () => {
    const md = markdown(fullRestore());
    expect(md.startsWith('## Restore\n\n- **Source:** `git shop-policies@1a2b3c4`\n- **Mode:** the whole plan approved once (with Stop)\n')).toBe(true);
    expect(md).toContain('- **Plan:** `p1`, 3 steps (+ lift), ordered by-effect; no intermediate state more open than both ends');
    expect(md).toContain('- **Outcome:** completed');
    expect(md).toContain('### Step 1: create `NetworkPolicy db/default-deny`: applied (created)');
    expect(md).toContain('### Step 3: delete `NetworkPolicy db/allow-all-egress`: applied (deleted)');
    expect(md).toContain('- Approved by: @alice, @bob');
    expect(md).toContain('- Predicted: opens 0, closes 1');
    expect(md).toContain('Diff (1):\n\n```\n~ spec.ingress[0].ports[0].port: 2 → 3\n```');
    expect(md).toContain('Closes (1):\n\n```\ndb/postgres => world : TCP 1\n```');
    expect(md).toContain('  - Object: passed (object: as applied)\n  - Engine: passed (engine: as predicted)\n  - Traffic: passed\n    - `db/api-0 -> db/postgres-0:5432 TCP FORWARDED`');
    expect(md).toContain('### Lift and watch');
    expect(md).toContain('  - 2026-12-01T10:00:08.000Z: Containment lifted: deleted NetworkPolicy \\`q\\`');
    expect(md).not.toContain('An earlier lift');
    expect(md).toContain('watching until 2026-12-01T10:30:00.000Z');
    expect(md).toContain('Restore completed at 2026-12-01T10:00:11.000Z: 3 steps from `git shop-policies@1a2b3c4`.');
  });

  it('a re-fired anomaly during the watch window is shown, and the run is still watching', () => {
    const timeline = fullRestore().filter((e) => e.type !== 'restore.completed');
    const view = section([...timeline, ev('restore.refired', { anomalyId: 'anom-42' })]);
    expect(view.refired).toEqual([{ at: expect.any(String), anomalyId: 'anom-42' }]);
    expect(view.outcome).toBe('watching');
    expect(renderRestoreMarkdown(view).join('\n')).toContain('**the anomaly fired again** during the watch window: `anom-42`');
  });
});

describe('restore section: re-plans, rollbacks, continue anyway, stop', () => {
  it('a failed step rolled back, then re-planned: both attempts, the reasons, and the steps not run yet', () => {
    const failed = { object: { ok: true, detail: 'object: as applied' }, engine: { ok: false, detail: 'engine: opened 1 more than predicted' }, traffic: { status: 'skipped', lines: [] } };
    const timeline = [
      plan('p1', 3, { mode: 'step' }),
      ev('restore.step-approved', { planId: 'p1', n: 1 }, 'slack:UALICE'),
      stepDone('p1', 1, 'pass', ['UALICE']),
      ev('restore.step-approved', { planId: 'p1', n: 2 }, 'slack:UCAROL'),
      ev('restore.step-failed', { planId: 'p1', n: 2, key: KEYS[1], reason: 'verify-failed', message: 'the engine check failed', verification: failed }),
      ev('restore.rollback', { planId: 'p1', n: 2, key: KEYS[1], ok: true, message: 'put back as it was' }, 'slack:UBOB'),
      ev('restore.replanned', { planId: 'p2', previous: 'p1', fromStep: 2, notes: [{ key: KEYS[1], change: 'changed', reason: 'the live object changed (resourceVersion 10 → 12): re-planned' }, { key: { kind: 'NetworkPolicy', namespace: 'db', name: 'extra' }, change: 'added', reason: 'gone from the live state' }] }),
      plan('p2', 3, { mode: 'step', source: 'git shop-policies@9f8e7d6' }),
      stepDone('p2', 2, 'pass', ['UCAROL']),
    ];
    const view = section(timeline);
    expect(view.source).toBe('git shop-policies@9f8e7d6');
    expect(view.mode).toBe('step');
    expect(view.replans).toEqual([
      {
        at: expect.any(String),
        planId: 'p2',
        previous: 'p1',
        fromStep: 2,
        notes: [
          { key: KEYS[1], change: 'changed', reason: 'the live object changed (resourceVersion 10 → 12): re-planned' },
          { key: 'NetworkPolicy db/extra', change: 'added', reason: 'gone from the live state' },
        ],
        more: 0,
      },
    ]);
    expect(view.steps.map((s) => [s.planId, s.n, s.status])).toEqual([
      ['p1', 1, 'applied'],
      ['p1', 2, 'rolled-back'],
      ['p2', 2, 'applied'],
      ['p2', 3, 'not-run'],
    ]);
    const rolled = view.steps[1]!;
    // A failed step takes its action and diff from the plan.
    expect(rolled.action).toBe('update');
    expect(rolled.diff.lines).toEqual(['~ spec.ingress[0].ports[0].port: 2 → 3']);
    expect(rolled.approvedBy).toEqual(['@carol']);
    expect(rolled.failures).toEqual([{ at: expect.any(String), reason: 'verify-failed', message: 'the engine check failed' }]);
    expect(rolled.verification?.engine).toEqual({ ok: false, detail: 'engine: opened 1 more than predicted' });
    expect(rolled.rollback).toMatchObject({ by: '@bob', ok: true, message: 'put back as it was' });
    const md = renderRestoreMarkdown(view).join('\n');
    expect(md).toContain('- **Mode:** every step approved');
    expect(md).toContain('**re-planned** from step 2: plan `p2` replaces `p1`');
    expect(md).toContain('  - `NetworkPolicy db/allow-db-from-api` changed: the live object changed (resourceVersion 10 → 12): re-planned');
    expect(md).toContain('### Step 2: update `NetworkPolicy db/allow-db-from-api`: rolled back');
    expect(md).toContain('- **Failed** at 2026-');
    expect(md).toContain('(verify-failed): the engine check failed');
    expect(md).toContain('  - Engine: FAILED (engine: opened 1 more than predicted)');
    expect(md).toContain(': rolled back, by @bob: put back as it was');
    expect(md).toContain('### Step 3: delete `NetworkPolicy db/allow-all-egress`: not run');
  });

  it('the source is the last chosen: a source chosen after the plan wins over the plan', () => {
    expect(section([plan('p1', 1), sources(1)]).source).toBe('journal 2026-12-01T09:59:59Z');
    expect(section([sources(1), plan('p1', 1)]).source).toBe('git shop-policies@1a2b3c4');
    expect(section([sources(-1)]).source).toBeUndefined();
  });

  it('continue anyway is recorded with who decided, and a failed roll-back says so', () => {
    const trafficFail = { object: { ok: true, detail: 'o' }, engine: { ok: true, detail: 'e' }, traffic: { status: 'fail', lines: ['db/api-0 -> db/postgres-0:5432 TCP DROPPED'] } };
    const view = section([
      plan('p1', 2),
      ev('restore.step-failed', { planId: 'p1', n: 1, key: KEYS[0], reason: 'verify-failed', message: 'traffic was dropped', owners: 'team-db', verification: trafficFail }),
      ev('restore.continued', { planId: 'p1', n: 1, key: KEYS[0], user: 'UCAROL' }, 'slack:UCAROL'),
      ev('restore.step-failed', { planId: 'p1', n: 2, key: KEYS[1], reason: 'verify-failed', message: 'object differs' }),
      ev('restore.rollback', { planId: 'p1', n: 2, key: KEYS[1], ok: false, message: 'the apiserver refused: 409' }, 'slack:UDAVE'),
    ]);
    expect(view.steps.map((s) => s.status)).toEqual(['continued', 'rollback-failed']);
    expect(view.steps[0]!.continued).toMatchObject({ by: '@carol' });
    expect(view.steps[0]!.failures[0]?.owners).toBe('team-db');
    const md = renderRestoreMarkdown(view).join('\n');
    expect(md).toContain('### Step 1: create `NetworkPolicy db/default-deny`: continued anyway');
    expect(md).toContain('**continued anyway** despite the failed verification, by @carol');
    expect(md).toContain('  - Traffic: FAILED\n    - `db/api-0 -> db/postgres-0:5432 TCP DROPPED`');
    expect(md).toContain('(owners: team-db)');
    // An unknown person keeps their id, as render.ts shows them.
    expect(md).toContain('roll-back FAILED, by \\<@UDAVE\\>: the apiserver refused: 409');
  });

  it('continue anyway without a person as actor names the user of the data', () => {
    const view = section([plan('p1', 1), ev('restore.continued', { planId: 'p1', n: 1, user: 'UALICE' })]);
    expect(view.steps[0]!.continued?.by).toBe('@alice');
  });

  it('a stopped run: the decision with who and where, the steps not run, the outcome stopped', () => {
    const timeline = [plan('p1', 3), stepDone('p1', 1), ev('restore.stopped', { n: 2, user: 'UALICE' }, 'slack:UALICE')];
    const view = section(timeline);
    expect(view.outcome).toBe('stopped');
    expect(view.decisions).toEqual([{ at: expect.any(String), decision: 'stopped', n: 2, by: '@alice' }]);
    expect(view.steps.map((s) => s.status)).toEqual(['applied', 'not-run', 'not-run']);
    const md = renderRestoreMarkdown(view).join('\n');
    expect(md).toContain('- **Outcome:** stopped (not resumed)');
    expect(md).toContain('### Stop and Resume\n\n- 2026-');
    expect(md).toContain(': Stopped at step 2 by @alice');
    // A step not run claims no approver.
    const notRun = md.slice(md.indexOf('### Step 2'));
    expect(notRun.slice(0, notRun.indexOf('### Step 3'))).not.toContain('Approved by');
    const resumed = section([...timeline, ev('restore.resumed', { n: 2, user: 'UBOB' }, 'slack:UBOB')]);
    expect(resumed.outcome).toBe('in-progress');
    expect(renderRestoreMarkdown(resumed).join('\n')).toContain(': Resumed at step 2 by @bob');
  });
});

describe('restore section: traffic status', () => {
  it.each([
    ['pass', 'passed'],
    ['fail', 'FAILED'],
    ['no-traffic', 'no traffic to judge'],
    ['no-collector', 'not checked (no flow collector)'],
    ['skipped', 'skipped'],
    ['PASS', 'unknown (not recorded)'],
    [42, 'unknown (not recorded)'],
  ])('traffic %s reads "%s"', (status, text) => {
    const view = section([ev('restore.step', { planId: 'p1', n: 1, key: KEYS[0], verification: { traffic: { status } } })]);
    expect(view.steps[0]!.verification?.traffic.text).toBe(text);
  });

  it('no traffic is never shown as a pass', () => {
    const md = markdown([plan('p1', 1), stepDone('p1', 1, 'no-traffic')]);
    const traffic = md.split('\n').filter((l) => l.includes('Traffic:'));
    expect(traffic).toEqual(['  - Traffic: no traffic to judge']);
    expect(trafficText('no-traffic')).not.toMatch(/pass/i);
  });
});

/** The Markdown without its fenced blocks and code spans, where raw text is inert. */
function outsideCode(md: string): string {
  const kept: string[] = [];
  let fence: string | undefined;
  for (const l of md.split('\n')) {
    const run = /^`{3,}/.exec(l)?.[0];
    if (fence === undefined && run) fence = run;
    else if (fence !== undefined && run && run.length >= fence.length && l.trim() === run) fence = undefined;
    else if (fence === undefined) kept.push(l.replace(/`[^`]*`/g, ''));
  }
  return kept.join('\n');
}

describe('restore section: hostile and oversized text', () => {
  const hostileKey = 'NetworkPolicy db/x`\n# Pwned [link](javascript:alert(1)) <script>alert(1)</script>';

  it('user text cannot open headings, links, images or HTML, nor close a code span or a fence', () => {
    const timeline = [
      plan('p1', 1),
      ev('restore.step', { planId: 'p1', n: 1, action: 'update', key: hostileKey, applied: 'updated', approvedBy: ['U<b>'], diff: ['```', '````', '~ a: ``` → x', '</pre><img src=x onerror=alert(1)>'], verification: verified('pass', ['`x`']) }),
      ev('restore.step-failed', { planId: 'p1', n: 1, reason: 'blocked\n## Injected', message: '![img](http://evil.example/t.png) <@UALICE> *bold* | pipe\n---' }),
      ev('restore.lift', undefined, 'bot', 'Lift <iframe src=x>\n# Heading'),
    ];
    const md = markdown(timeline);
    const lines = md.split('\n');
    // Only the section's own headings.
    expect(lines.filter((l) => l.startsWith('#'))).toEqual(['## Restore', expect.stringMatching(/^### Step 1: update `NetworkPolicy db\/x'\\n# Pwned/), '### Lift and watch']);
    const prose = outsideCode(md);
    expect(prose).not.toMatch(/(^|[^\\])<(script|img|iframe|b|\/pre)/);
    expect(prose).not.toContain('![img](');
    expect(prose).not.toContain('[link](');
    // The newline in the key shows as \n inside its code span, and the backtick became a quote.
    expect(md).toContain("`NetworkPolicy db/x'\\n# Pwned [link](javascript:alert(1)) <script>alert(1)</script>`");
    // The diff keeps its text in a fence longer than any backtick run inside it.
    expect(md).toContain('Diff (4):\n\n`````\n```\n````\n~ a: ``` → x\n</pre><img src=x onerror=alert(1)>\n`````');
    expect(md).toContain('\\!\\[img\\](http://evil.example/t.png) @alice \\*bold\\* \\| pipe\\\\n---');
    expect(md).toContain('(blocked\\\\n\\#\\# Injected)');
    expect(md).toContain('- Approved by: \\<@U\\<b\\>\\>');
  });

  it('10k diff lines, a megabyte line and thousands of steps are capped, and the view says how many were left out', () => {
    const diff = Array.from({ length: 10_000 }, (_, i) => `+ spec.egress[${i}]: {}`);
    const huge = 'x'.repeat(1_000_000);
    const steps = Array.from({ length: 2_000 }, (_, i) => ev('restore.step', { planId: 'p1', n: i + 2, key: `NetworkPolicy db/p${i}`, applied: 'updated', diff: ['~ a: 1 → 2'] }));
    const timeline = [ev('restore.step', { planId: 'p1', n: 1, key: huge, applied: 'updated', diff, opened: [huge], verification: verified('pass', diff) }), ...steps, ev('restore.step-failed', { planId: 'p1', n: 2000, message: huge })];
    const view = section(timeline);
    const first = view.steps[0]!;
    expect(first.diff.lines).toHaveLength(RESTORE_LIMITS.lines);
    expect(first.diff.more).toBe(10_000 - RESTORE_LIMITS.lines);
    expect(first.verification?.traffic.lines.more).toBe(10_000 - RESTORE_LIMITS.lines);
    expect(first.key.length).toBeLessThanOrEqual(RESTORE_LIMITS.line + 1);
    expect(first.opened.lines[0]!.length).toBeLessThanOrEqual(RESTORE_LIMITS.line + 1);
    expect(view.steps).toHaveLength(RESTORE_LIMITS.steps);
    // 2001 steps recorded, each counted once however many events it has.
    expect(view.moreSteps).toBe(2_001 - RESTORE_LIMITS.steps);
    const md = renderRestoreMarkdown(view);
    expect(md).toContain(`… and ${10_000 - RESTORE_LIMITS.lines} more`);
    expect(md).toContain(`… and ${2_001 - RESTORE_LIMITS.steps} more steps (see the JSON export's timeline).`);
    expect(md.join('\n').length).toBeLessThan(300_000);
  });
});

describe('restore section: malformed events', () => {
  it('wrong types and missing fields are ignored or shown as unknown, never thrown on', () => {
    const timeline = [
      null,
      42,
      { type: 7 },
      ev('restore.sources', { options: 'not a list', chosen: 'zero' }),
      ev('restore.sources', { options: [null, 5], chosen: 1 }),
      ev('restore.plan', { planId: 9, mode: 'sometimes', safe: 'yes', steps: [null, { n: 'one' }, 3, { n: 1, key: 5, action: [] }], notes: 'a note' }),
      ev('restore.plan', 'not an object'),
      ev('restore.replanned', { notes: [null, { key: null, change: 3 }], fromStep: -2 }),
      ev('restore.step', undefined),
      ev('restore.step', { n: 'two', approvedBy: 'UALICE', diff: 'one line', verification: 5 }),
      ev('restore.step', { n: 1.5, applied: 'exploded', approvedBy: [1, null, 'UBOB', ''], verification: { object: 'ok', engine: { ok: 'yes' }, traffic: { status: 'pass', lines: [1, 'ok line', {}] } } }),
      { ...ev('restore.step-failed', { n: -1, reason: { code: 1 }, message: ['x'] }), summary: undefined },
      ev('restore.rollback', { n: 10_001, ok: 'true' }),
      ev('restore.continued', []),
      ev('restore.stopped', { n: null }, 'not-a-person'),
      { ...ev('restore.resumed', {}), actor: undefined },
      ev('restore.lift', 5, 'bot', 12 as unknown as string),
      ev('containment.lift-verified', null),
      ev('restore.watch', { until: 3 }),
      ev('restore.refired', { anomalyId: { id: 1 } }),
      ev('restore.completed', { source: null, steps: -3 }),
      { ...ev('restore.step', { n: 4, applied: 'updated' }), at: 12345 },
      ev('restore.unheard-of', { anything: true }),
    ] as unknown as TimelineEvent[];
    const view = section(timeline);
    expect(view.source).toBeUndefined();
    expect(view.mode).toBeUndefined();
    expect(view.plan).toMatchObject({ steps: 0, safe: null, notes: { lines: [], more: 0 } });
    expect(view.replans[0]).toMatchObject({ notes: [{ key: 'unknown object', change: 'unknown', reason: 'no reason recorded' }] });
    expect(view.replans[0]).not.toHaveProperty('fromStep');
    const odd = view.steps.find((s) => s.applied === 'unknown' && s.approvedBy.includes('@bob'));
    expect(odd).toMatchObject({ key: 'unknown object', action: 'unknown', status: 'applied' });
    expect(odd?.approvedBy).toEqual(['@bob']);
    expect(odd?.verification).toEqual({ object: { ok: null, detail: 'not recorded' }, engine: { ok: null, detail: 'no detail' }, traffic: { status: 'pass', text: 'passed', lines: { lines: ['ok line'], more: 0 } } });
    expect(view.steps.find((s) => s.failures.length > 0)?.failures[0]).toMatchObject({ reason: 'unknown', message: 'no message recorded' });
    expect(view.steps.find((s) => s.rollback)?.rollback).toMatchObject({ ok: null, by: 'netpol-responder', message: 'restore.rollback happened' });
    expect(view.steps.find((s) => s.rollback)?.status).toBe('unknown');
    expect(view.steps.find((s) => s.n === 4)?.appliedAt).toBe('unknown time');
    expect(view.decisions.map((d) => [d.decision, d.n, d.by])).toEqual([
      ['stopped', undefined, 'not-a-person'],
      ['resumed', undefined, 'unknown'],
    ]);
    expect(view.lift).toMatchObject({ summary: 'containment lifted', events: [{ type: 'containment.lift-verified' }] });
    expect(view.watch?.until).toBe('unknown');
    expect(view.refired).toEqual([{ at: expect.any(String), anomalyId: 'unknown' }]);
    expect(view.completed).toEqual({ at: expect.any(String) });
    const md = renderRestoreMarkdown(view).join('\n');
    expect(md).toContain('- **Source:** unknown');
    expect(md).toContain('- **Mode:** unknown');
    expect(md).toContain('### Step ?: unknown `unknown object`: applied (unknown)');
    expect(md).toContain('Restore completed at 2026-');
    expect(md).toContain('? steps from unknown.');
  });

  it('not even a list of events throws', () => {
    expect(restoreSection('nope' as unknown as TimelineEvent[], names)).toBeUndefined();
    expect(restoreSection(undefined as unknown as TimelineEvent[], names)).toBeUndefined();
  });
});

describe('restore section in the postmortem', () => {
  const playbook = testPlaybook('one');
  const opened = openIncident({ id: '20261201-rs0001', scope: { namespace: 'db' }, requestedBy: 'UALICE', channel: 'C1' }, playbook, new Date('2026-12-01T09:00:00Z'));
  const stored = (events: TimelineEvent[]): StoredTimelineEvent[] => events.map((e, i) => ({ ...e, id: `${i + 1}-0` }));
  const input = (timeline: StoredTimelineEvent[]) => ({ incident: opened.incident, timeline, stepTitles: { restore: 'Restore' }, userNames: { UALICE: 'alice', UBOB: 'bob' }, generatedAt: new Date('2026-12-01T11:00:00Z') });

  it('no restore events: undefined, and neither export has a restore part', () => {
    const timeline = stored([...opened.events, ev('containment.lifted', {}), ev('containment.lift-verified', {})]);
    expect(restoreSection(timeline, names)).toBeUndefined();
    expect(restoreSection([], names)).toBeUndefined();
    expect(renderMarkdown(input(timeline))).not.toContain('## Restore');
    expect(Object.keys(JSON.parse(renderJson(input(timeline))))).toEqual(['generatedAt', 'incident', 'stepTitles', 'userNames', 'timeline']);
  });

  it('the Markdown export has the section before the timeline, with names from userNames', () => {
    const md = renderMarkdown(input(stored([...opened.events, ...fullRestore()])));
    const start = md.indexOf('## Restore');
    expect(start).toBeGreaterThan(md.indexOf('## Changes applied to the cluster'));
    expect(start).toBeLessThan(md.indexOf('## Timeline'));
    const part = md.slice(start, md.indexOf('## Timeline'));
    expect(part).toContain('- Approved by: @alice, @bob');
    expect(part).toContain('Restore completed at');
  });

  it('the JSON export carries the view under `restore`, names resolved', () => {
    const timeline = stored([...opened.events, plan('p1', 2), stepDone('p1', 1, 'pass', ['UALICE', 'UZED']), ev('restore.stopped', { n: 2, user: 'UBOB' }, 'slack:UBOB')]);
    const json = JSON.parse(renderJson(input(timeline)));
    expect(json.restore).toEqual(JSON.parse(JSON.stringify(restoreSection(timeline, (actor) => names(actor)))));
    expect(json.restore.steps[0].approvedBy).toEqual(['@alice', '<@UZED>']);
    expect(json.restore.decisions[0]).toMatchObject({ decision: 'stopped', n: 2, by: '@bob' });
    expect(json.restore.outcome).toBe('stopped');
    expect(json.timeline).toEqual(timeline);
  });
});

describe('restore section: the lift verification keeps its lines', () => {
  it('renders a multi-line lift summary as nested items, never as an escaped "\\n"', () => {
    const at = '2026-12-01T10:00:00.000Z';
    const view = restoreSection(
      [
        { at, type: 'restore.lift', actor: 'bot', step: 'restore', summary: 'lifting containment' },
        { at, type: 'containment.lift-verified', actor: 'bot', summary: 'Policies changed during containment:\nOpen before, closed now (2):\n• a to b : TCP 80\n• c to d : TCP 443' },
      ],
      (a) => a,
    );
    const md = renderRestoreMarkdown(view!).join('\n');
    expect(md).not.toContain('\\n');
    expect(md).toContain('    - a to b : TCP 80');
    expect(md).toContain('    - c to d : TCP 443');
  });
});

describe('restore section: steps a GitOps controller synced', () => {
  it('names the controller and its commit, bounded and escaped', () => {
    const md = markdown([ev('restore.step', { ...planStep(1), planId: 'p1', applied: 'created', syncedBy: 'Argo CD Application argocd/shop', revision: 'a'.repeat(40), approvedBy: ['UALICE'], verification: verified('skipped', []) })]);
    expect(md).toContain(`synced by Argo CD Application argocd/shop at ${'a'.repeat(40)} (reconcile resumed by the lift)`);
    const hostile = markdown([ev('restore.step', { ...planStep(1), planId: 'p1', applied: 'created', syncedBy: `<img src=x>${'x'.repeat(5000)}`, revision: 7, verification: verified('skipped', []) })]);
    expect(hostile).toContain('synced by \\<img src=x\\>');
    expect(hostile).not.toContain('x'.repeat(300));
    // A revision that is not text is left out.
    expect(hostile).not.toMatch(/ at 7/);
  });
});
