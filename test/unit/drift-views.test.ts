// How drift reads (pure): the drift alert's Block Kit in each state, and the validate step's
// thread messages, full report and verdict on the anomalous flows.
import { describe, expect, it } from 'vitest';
import type { DriftEpisode } from '../../src/drift/episode.js';
import { fullValidation, keptResult, MAX_KEPT, restoreVerdict, totalOf, validationReport, type ValidationResult } from '../../src/drift/validation-report.js';
import { DRIFT_ACCEPT_ACTION, DRIFT_OPEN_INCIDENT_ACTION, DRIFT_REVERT_ACTION, driftAlert } from '../../src/slack/drift-blocks.js';

const NOW = new Date('2026-12-01T10:05:00Z');

function episode(over: Partial<DriftEpisode> = {}): DriftEpisode {
  return {
    id: 'drift-1',
    version: 3,
    state: 'open',
    objects: [
      { key: 'NetworkPolicy frontend/allow-web-to-api', kind: 'NetworkPolicy', namespace: 'frontend', name: 'allow-web-to-api', status: 'modified', diff: ['~ spec.egress[0]: {to: api} → {}'], live: 'l1', desired: 'd1', actor: 'dan@shop.example (patch with kubectl, audit log)', source: 'shop-policies:policies/frontend/allow-web-to-api.yaml', since: '2026-12-01T10:00:00.000Z' },
    ],
    delta: { exposure: ['frontend/web[Deployment] → 0.0.0.0/0 All Connections'], breakage: [], severity: 'high', why: 'Exposure to addresses outside the cluster.' },
    openedAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:00:00.000Z',
    reopened: 0,
    ...over,
  };
}

const text = (m: { blocks: unknown[] }): string => JSON.stringify(m.blocks);
const actions = (m: { blocks: unknown[] }): string[] => (m.blocks as Array<{ type: string; elements?: Array<{ action_id?: string }> }>).filter((b) => b.type === 'actions').flatMap((b) => (b.elements ?? []).map((e) => e.action_id ?? ''));

describe('driftAlert', () => {
  it('names its cluster when the bot serves several, and only then', () => {
    const named = driftAlert(episode(), { now: NOW, cluster: 'prod-us' });
    expect(named.text).toBe('Drift from Git: 1 object differs (high) in cluster prod-us');
    expect(text(named)).toContain('*Cluster*\\n`prod-us`');
    expect(text(driftAlert(episode(), { now: NOW }))).not.toContain('*Cluster*');
  });

  it('an open drift shows the object, its diff, the actor, Git source, the delta, severity and all three buttons', () => {
    const m = driftAlert(episode(), { now: NOW });
    expect(m.text).toBe('Drift from Git: 1 object differs (high)');
    const t = text(m);
    for (const part of ['frontend/allow-web-to-api', 'spec.egress[0]', 'dan@shop.example', 'policies/frontend/allow-web-to-api.yaml', '0.0.0.0/0', 'Exposure', 'high']) expect(t).toContain(part);
    expect(actions(m)).toEqual([DRIFT_REVERT_ACTION, DRIFT_ACCEPT_ACTION, DRIFT_OPEN_INCIDENT_ACTION]);
  });

  it('an object a self-healing controller owns is not offered Revert; the alert says who reverts it, then that it did not', () => {
    const healing = episode({ objects: [{ ...episode().objects[0]!, selfHeal: 'Argo CD (Application argocd/shop, self-heal)' }] });
    const waiting = driftAlert(healing, { now: NOW, selfHealGraceMs: 600_000 });
    expect(actions(waiting)).not.toContain(DRIFT_REVERT_ACTION);
    expect(text(waiting)).toContain('Waiting for Argo CD');
    const late = driftAlert(healing, { now: NOW, selfHealGraceMs: 60_000 });
    expect(text(late)).toContain('has not reverted');
  });

  it('accepted: no Accept button, who accepted is shown', () => {
    const m = driftAlert(episode({ state: 'accepted', accepted: { by: 'U0BOB', at: '2026-12-01T10:01:00Z' } }), { now: NOW });
    expect(actions(m)).toEqual([DRIFT_REVERT_ACTION, DRIFT_OPEN_INCIDENT_ACTION]);
    expect(text(m)).toContain('<@U0BOB>');
  });

  it('a running revert hides the Revert button; a finished one lists each result', () => {
    const running = driftAlert(episode({ revert: { by: 'U0BOB', at: 'x', state: 'running', results: [] } }), { now: NOW });
    expect(actions(running)).not.toContain(DRIFT_REVERT_ACTION);
    const failed = driftAlert(episode({ revert: { by: 'U0BOB', at: 'x', state: 'failed', results: [{ key: 'NetworkPolicy frontend/allow-web-to-api', ok: false, message: 'refused (403 Forbidden): cannot patch' }] } }), { now: NOW });
    expect(text(failed)).toContain('did not complete');
    expect(text(failed)).toContain('403 Forbidden');
  });

  it('resolved: no buttons, the objects struck through with who brought them back', () => {
    const resolved = episode({ state: 'resolved', resolvedAt: '2026-12-01T10:04:00Z', objects: [{ ...episode().objects[0]!, resolved: { at: '2026-12-01T10:04:00.000Z', by: 'Revert to Git' } }], reopened: 2 });
    const m = driftAlert(resolved, { now: NOW });
    expect(m.text).toBe('Drift resolved: 1 object matches Git again (high)');
    expect(actions(m)).toEqual([]);
    expect(text(m)).toContain('Revert to Git');
    expect(text(m)).toContain('Came back 2 times');
  });

  it('escapes hostile text and stays within Slack limits with many objects and long diffs', () => {
    const objects = Array.from({ length: 40 }, (_, i) => ({ ...episode().objects[0]!, key: `NetworkPolicy ns/<!channel>${i}`, diff: Array.from({ length: 50 }, () => '~ '.padEnd(500, 'x')), actor: '<@U123> & friends' }));
    const m = driftAlert(episode({ objects }), { now: NOW });
    const t = text(m);
    expect(t).not.toContain('<!channel>');
    expect(t).toContain('&lt;!channel&gt;');
    const more = Number(/and (\d+) more objects/.exec(t)?.[1]);
    expect(more).toBeGreaterThanOrEqual(32);
    expect(t.match(/NetworkPolicy ns\/&lt;!channel&gt;\d+\*/g)).toHaveLength(40 - more);
    // Every code block that opens closes.
    for (const block of m.blocks as Array<{ text?: { text: string } }>) expect(((block.text?.text ?? '').match(/```/g) ?? []).length % 2).toBe(0);
    for (const block of m.blocks as Array<{ text?: { text: string } }>) expect((block.text?.text ?? '').length).toBeLessThanOrEqual(3000);
  });
});

function validation(over: Partial<ValidationResult> = {}): ValidationResult {
  return {
    kind: 'validation',
    commits: ['shop-policies@0123456789ab'],
    drift: { missing: [], extra: ['NetworkPolicy db/allow-all-egress'], modified: [], containment: ['NetworkPolicy db/netpol-responder-quarantine-x (containment-object)'], ignored: 0, compared: 9 },
    diffs: [],
    exposure: ['db/postgres[StatefulSet] → 0.0.0.0/0 All Connections'],
    breakage: [],
    severity: 'high',
    why: 'Exposure to addresses outside the cluster.',
    flows: [{ flow: 'db/postgres-0 → 203.0.113.66 443/TCP', live: true, intended: false }],
    tests: [
      { name: null, from: 'api/orders', to: 'db/postgres', port: '5432', protocol: 'TCP', expect: 'allow', origin: 'learned', live: 'pass', intended: 'pass', reason: '' },
      { name: null, from: 'db/postgres-0', to: '203.0.113.66', port: '443', protocol: 'TCP', expect: 'deny', origin: 'anomaly', live: 'fail', intended: 'pass', reason: 'allowed by db/allow-all-egress' },
    ],
    lint: [],
    limits: [],
    ...over,
  };
}

describe('validationReport', () => {
  it('says restoring Git is enough when Git denies what live lets through', () => {
    expect(restoreVerdict(validation())).toMatch(/^Restoring Git is enough/);
    const view = validationReport(validation(), 8);
    expect(view.summary).toBe('1 object(s) drift from Git (high); 1 exposed, 0 broken; tests 1/2 live, 2/2 Git');
    expect(view.messages[0]).toContain('Containment in place');
    expect(view.messages.join('\n')).toContain('db/allow-all-egress (not in Git)');
    expect(view.messages.join('\n')).toContain('❌ live · ✅ Git');
  });

  it('says it is NOT enough when Git allows the flow too, and cannot tell without Git', () => {
    expect(restoreVerdict(validation({ flows: [{ flow: 'f', live: true, intended: true }] }))).toMatch(/NOT enough/);
    expect(restoreVerdict(validation({ commits: [], flows: [{ flow: 'f', live: true, intended: 'unknown' }] }))).toMatch(/cannot be told/);
    expect(restoreVerdict(validation({ flows: [] }))).toBeUndefined();
    expect(restoreVerdict(validation({ flows: [{ flow: 'f', live: false, intended: false }] }))).toMatch(/did not come through a policy gap/);
  });

  it('no drift reads as such; long lists are cut in the thread and whole in the report', () => {
    const none = validationReport(validation({ drift: { missing: [], extra: [], modified: [], containment: [], ignored: 2, compared: 9 }, exposure: [], severity: 'low', why: 'No effect on connectivity.' }), 8);
    expect(none.messages[0]).toContain('none — the live policies match Git');
    const many = validation({ exposure: Array.from({ length: 30 }, (_, i) => `a/x → b/y${i} TCP 80`), drift: { ...validation().drift, extra: Array.from({ length: 30 }, (_, i) => `NetworkPolicy a/p${i}`) } });
    const view = validationReport(many, 5);
    expect(view.long).toBe(true);
    expect(view.messages.join('\n')).toContain('and 25 more (in the attached report)');
    expect(view.full.match(/b\/y\d+/g)).toHaveLength(30);
  });

  it('a big cluster: 300k exposure lines and 50k extra objects render (no call with too many arguments)', () => {
    const huge = validation({ exposure: Array.from({ length: 300_000 }, (_, i) => `a/x → b/y${i} TCP 80`), drift: { ...validation().drift, extra: Array.from({ length: 50_000 }, (_, i) => `NetworkPolicy a/p${i}`) } });
    const md = fullValidation(huge, '##');
    expect(md).toContain('(300000)');
    expect(md).toContain('b/y299999');
    expect(validationReport(huge, 5).messages.join('\n')).toContain('and 299995 more');
  });

  it('kept for the incident record: long lists cut at MAX_KEPT lines, their totals shown everywhere', () => {
    const huge = validation({ exposure: Array.from({ length: 300_000 }, (_, i) => `a/x → b/y${i} TCP 80`), breakage: ['c/z → d/w TCP 1'], drift: { ...validation().drift, extra: Array.from({ length: 50_000 }, (_, i) => `NetworkPolicy a/p${i}`) } });
    const kept = keptResult(huge);
    expect(kept.exposure).toHaveLength(MAX_KEPT);
    expect(kept.drift.extra).toHaveLength(MAX_KEPT);
    expect(kept.breakage).toEqual(['c/z → d/w TCP 1']);
    expect(kept.totals).toEqual({ exposure: 300_000, extra: 50_000 });
    expect(totalOf(kept, 'exposure')).toBe(300_000);
    expect(totalOf(kept, 'breakage')).toBe(1);
    // Small enough to store (the whole list was tens of megabytes).
    expect(JSON.stringify(kept).length).toBeLessThan(400_000);
    const view = validationReport(kept, 5);
    expect(view.summary).toContain('300000 exposed');
    expect(view.messages.join('\n')).toContain('Exposure* (open now, Git does not allow it): 300000');
    expect(view.messages.join('\n')).toContain('and 299995 more (in the attached report)');
    expect(view.full).toContain('Exposure: open now, not allowed by Git (300000)');
    expect(view.full).toContain(`- … and ${300_000 - MAX_KEPT} more, not kept (the first ${MAX_KEPT} are)`);
    expect(view.full).toContain('Extra in the cluster (not in Git) (50000)');
    // Cutting again changes nothing; a short result is left as it was.
    expect(keptResult(kept)).toEqual(kept);
    const small = validation();
    expect(keptResult(small)).toEqual(small);
  });

  it('the postmortem section lists drift, diffs, flows, every test and the limits', () => {
    const md = fullValidation(validation({ diffs: [{ key: 'NetworkPolicy a/b', lines: ['~ spec.x: 1 → 2'] }], limits: ['netpol-tests.yaml was not run: bad file'] }), '##');
    expect(md.startsWith('## Validation')).toBe(true);
    for (const part of ['### Extra in the cluster (not in Git) (1)', '~ spec.x: 1 → 2', '| db/postgres-0 → 203.0.113.66 443/TCP | allowed | denied |', '### Network tests (2)', 'netpol-tests.yaml was not run']) expect(md).toContain(part);
  });
});
