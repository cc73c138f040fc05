import { describe, expect, it } from 'vitest';
import type { StepResult } from '../../src/restore/execute.js';
import type { RestorePlan, RestoreStep } from '../../src/restore/plan.js';
import { appliedEvent, failedEvent, replannedEvent, rollbackEvent, type TrafficEvidence, type TrafficStatus } from '../../src/restore/step-events.js';

const AT = '2026-12-01T10:00:00.000Z';
const PLAN = 'p1a2b3c4d5e6';

function step(over: Partial<RestoreStep> = {}): RestoreStep {
  return {
    n: 2,
    action: 'update',
    key: { kind: 'NetworkPolicy', namespace: 'db', name: 'allow-db-from-api' },
    kind: 'NetworkPolicy',
    namespace: 'db',
    name: 'allow-db-from-api',
    before: { metadata: { name: 'allow-db-from-api', namespace: 'db', resourceVersion: '41' } },
    after: { metadata: { name: 'allow-db-from-api', namespace: 'db' } },
    effect: 'restricts',
    opened: [],
    closed: ['ns:frontend => db/postgres : TCP 5432', 'ns:api => db/postgres : TCP 5432'],
    diff: ['~ spec.ingress[0].from[0].namespaceSelector: {} → {matchLabels: {name: api}}'],
    resourceVersion: '41',
    ...over,
  };
}

type Ok = Extract<StepResult, { ok: true }>;
const ok = (over: Partial<Ok> = {}): Ok => ({ ok: true, applied: 'updated', readBack: {}, verification: { object: { ok: true, detail: 'object: as applied' }, engine: { ok: true, detail: 'engine: closes 2 as predicted' } }, ...over });
const traffic = (status: TrafficStatus, lines: string[] = []): TrafficEvidence => ({ status, lines });

describe('appliedEvent', () => {
  it('a step a GitOps controller synced says so, in the summary and the data', () => {
    const s = { ...step(), syncedBy: { tool: 'argocd' as const, owner: 'Argo CD Application argocd/shop', application: { namespace: 'argocd', name: 'shop' }, revision: 'c'.repeat(40) } };
    const event = appliedEvent(AT, 'restore', PLAN, s, ok(), traffic('skipped'), ['UAPP']);
    expect(event.summary.split('\n')[0]).toBe("*Step 2* updated by Argo CD Application argocd/shop's sync at cccccccccccc: `NetworkPolicy db/allow-db-from-api` (restricts, closes 2)");
    expect(event.data).toMatchObject({ syncedBy: 'Argo CD Application argocd/shop', revision: 'c'.repeat(40) });
    // Found already done: nothing was synced by this step.
    expect(appliedEvent(AT, 'restore', PLAN, s, ok({ applied: 'unchanged' }), traffic('skipped'), []).summary).toMatch(/^\*Step 2\* found already done: /);
  });

  it('says what the step did, its effect, each check and the diff, and carries the whole record as data', () => {
    const s = step();
    const event = appliedEvent(AT, 'restore', PLAN, s, ok(), traffic('pass', ['api/orders → db/postgres:5432 forwarded (learned, allowed)']), ['UAPP']);
    expect(event).toMatchObject({ at: AT, type: 'restore.step', actor: 'bot', step: 'restore' });
    expect(event.summary.split('\n')).toEqual([
      '*Step 2* updated: `NetworkPolicy db/allow-db-from-api` (restricts, closes 2)',
      'Verified: object ✓ · engine ✓ · traffic ✓',
      '```',
      '~ spec.ingress[0].from[0].namespaceSelector: {} → {matchLabels: {name: api}}',
      '```',
      '• api/orders → db/postgres:5432 forwarded (learned, allowed)',
    ]);
    expect(event.data).toEqual({
      planId: PLAN,
      n: 2,
      action: 'update',
      key: 'NetworkPolicy db/allow-db-from-api',
      diff: s.diff,
      opened: [],
      closed: s.closed,
      applied: 'updated',
      approvedBy: ['UAPP'],
      verification: { object: { ok: true, detail: 'object: as applied' }, engine: { ok: true, detail: 'engine: closes 2 as predicted' }, traffic: traffic('pass', ['api/orders → db/postgres:5432 forwarded (learned, allowed)']) },
    });
  });

  it('an object already as wanted is "found already done"; a step with no delta says so; no diff, no code block', () => {
    const event = appliedEvent(AT, 'restore', PLAN, step({ diff: [], closed: [], effect: 'neutral' }), ok({ applied: 'unchanged' }), traffic('skipped'), []);
    expect(event.summary.split('\n')[0]).toBe('*Step 2* found already done: `NetworkPolicy db/allow-db-from-api` (neutral, no connectivity change)');
    expect(event.summary).not.toContain('```');
    const both = appliedEvent(AT, 'restore', PLAN, step({ opened: ['a'], closed: ['b', 'c'], effect: 'mixed' }), ok(), traffic('skipped'), []);
    expect(both.summary.split('\n')[0]).toContain('(mixed, opens 1, closes 2)');
  });

  it('a failed check shows ✗ next to it', () => {
    const event = appliedEvent(AT, 'restore', PLAN, step(), ok({ verification: { object: { ok: false, detail: 'o' }, engine: { ok: true, detail: 'e' } } }), traffic('fail'), []);
    expect(event.summary.split('\n')[1]).toBe('Verified: object ✗ · engine ✓ · traffic ✗');
  });

  it('only a judged window reads as a traffic pass: no traffic, no collector and a skipped window never show ✓ for traffic', () => {
    const texts: Record<TrafficStatus, string> = {
      pass: 'traffic ✓',
      fail: 'traffic ✗',
      'no-traffic': 'traffic: no traffic to judge',
      'no-collector': 'traffic: not verified (no flow collector)',
      skipped: 'traffic: not watched (window 0)',
    };
    for (const [status, text] of Object.entries(texts) as Array<[TrafficStatus, string]>) {
      const line = appliedEvent(AT, 'restore', PLAN, step(), ok(), traffic(status), []).summary.split('\n')[1] as string;
      expect(line).toBe(`Verified: object ✓ · engine ✓ · ${text}`);
      if (status !== 'pass') expect(line.split(' · ')[2]).not.toMatch(/✓|pass|ok/i);
    }
  });

  it('caps a long diff at 12 lines and the traffic lines at 6 in the thread; the data keeps all of them', () => {
    const diff = Array.from({ length: 200 }, (_, i) => `+ spec.egress[${i}].ports[0].port: ${1000 + i}`);
    const lines = Array.from({ length: 50 }, (_, i) => `flow ${i}`);
    const event = appliedEvent(AT, 'restore', PLAN, step({ diff }), ok(), traffic('no-traffic', lines), []);
    const summary = event.summary.split('\n');
    expect(summary.slice(3, 16)).toEqual([...diff.slice(0, 12), '… 188 more lines']);
    expect(summary.filter((l) => l.startsWith('• '))).toEqual(lines.slice(0, 6).map((l) => `• ${l}`));
    expect(summary).toHaveLength(2 + 1 + 13 + 1 + 6);
    expect((event.data as { diff: string[] }).diff).toHaveLength(200);
    const exactly12 = appliedEvent(AT, 'restore', PLAN, step({ diff: diff.slice(0, 12) }), ok(), traffic('skipped'), []);
    expect(exactly12.summary).not.toContain('more lines');
  });
});

describe('failedEvent', () => {
  it('a field-manager conflict names the owners and offers Force', () => {
    const owners = [{ manager: 'kubectl-patch', fields: ['.spec.ingress'] }, { manager: 'argocd-controller', fields: ['.metadata.labels.team', '.spec.podSelector'] }];
    const event = failedEvent(AT, 'restore', PLAN, step(), { ok: false, reason: 'field-conflict', message: 'the apply would take 3 fields', owners });
    expect(event).toMatchObject({ at: AT, type: 'restore.step-failed', actor: 'bot', step: 'restore' });
    expect(event.summary.split('\n')).toEqual([
      '*Step 2 stopped the plan* (`NetworkPolicy db/allow-db-from-api`): other field managers own fields of this object: the apply would take 3 fields',
      'Field owners: kubectl-patch (.spec.ingress); argocd-controller (.metadata.labels.team, .spec.podSelector)',
      '*Force* (approved) takes those fields; or Stop.',
    ]);
    expect(event.data).toEqual({ planId: PLAN, n: 2, key: 'NetworkPolicy db/allow-db-from-api', reason: 'field-conflict', message: 'the apply would take 3 fields', owners: 'kubectl-patch (.spec.ingress); argocd-controller (.metadata.labels.team, .spec.podSelector)' });
  });

  it('a failed verification shows both checks and the traffic, and offers Roll back or Continue anyway', () => {
    const verification = { object: { ok: true, detail: 'object: as applied' }, engine: { ok: false, detail: 'engine: 1 more connection open than predicted' } };
    const t = traffic('fail', Array.from({ length: 9 }, (_, i) => `dropped ${i}`));
    const event = failedEvent(AT, 'restore', PLAN, step(), { reason: 'verify-failed', message: 'the flows in the window contradict the step', verification, traffic: t });
    const lines = event.summary.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '*Step 2 stopped the plan* (`NetworkPolicy db/allow-db-from-api`): verification failed: the flows in the window contradict the step',
      'object ✓ object: as applied',
      'engine ✗ engine: 1 more connection open than predicted',
      'traffic ✗',
    ]);
    expect(lines.filter((l) => l.startsWith('• '))).toHaveLength(6);
    expect(lines.at(-1)).toBe('*Roll back this step* puts the object back as it was before it; *Continue anyway* (approvers) keeps it.');
    expect(event.data).toMatchObject({ reason: 'verify-failed', verification: { ...verification, traffic: t } });
  });

  it('other failures offer Resume; no owners or verification means none in the text or the data', () => {
    for (const [reason, text] of [
      ['forbidden', 'the bot is not allowed to'],
      ['invalid', 'the API server refused the object'],
      ['error', 'the API call failed'],
      ['conflict-changed', 'the live object changed since the plan'],
    ] as const) {
      const event = failedEvent(AT, 'restore', PLAN, step(), { ok: false, reason, message: 'nope' });
      expect(event.summary).toBe(`*Step 2 stopped the plan* (\`NetworkPolicy db/allow-db-from-api\`): ${text}: nope\n*Resume* tries the step again; or Stop.`);
      expect(Object.keys(event.data ?? {}).sort()).toEqual(['key', 'message', 'n', 'planId', 'reason']);
    }
  });

  it('a no-traffic window on a failed step reads as no traffic, not as a pass', () => {
    const event = failedEvent(AT, 'restore', PLAN, step(), { reason: 'verify-failed', message: 'engine check failed', traffic: traffic('no-traffic') });
    expect(event.summary).toContain('traffic: no traffic to judge');
    expect(event.summary).not.toContain('traffic ✓');
  });
});

describe('rollbackEvent', () => {
  it('a rollback that went through says the run is stopped and Resume retries; its actor is who clicked', () => {
    const event = rollbackEvent(AT, 'slack:UAPP', 'restore', PLAN, step(), ok({ applied: 'updated' }));
    expect(event).toMatchObject({ at: AT, type: 'restore.rollback', actor: 'slack:UAPP', step: 'restore' });
    expect(event.summary).toBe('*Step 2 rolled back*: `NetworkPolicy db/allow-db-from-api` is as it was before the step (object ✓ · engine ✓). The restore is stopped: *Resume* re-plans from the live state (the rollback wrote the object again) and asks for approval.');
    expect(event.data).toEqual({ planId: PLAN, n: 2, key: 'NetworkPolicy db/allow-db-from-api', ok: true, message: 'rolled back', verification: ok().verification });
  });

  it('a failed rollback says the object stays as the step left it, with the reason', () => {
    const event = rollbackEvent(AT, 'slack:UAPP', 'restore', PLAN, step(), { ok: false, reason: 'conflict-changed', message: 'the object changed since the step' });
    expect(event.summary).toBe('*Rolling back step 2 failed*: the object changed since the step. The object stays as the step left it; inspect it before going on.');
    expect(event.data).toEqual({ planId: PLAN, n: 2, key: 'NetworkPolicy db/allow-db-from-api', ok: false, message: 'the object changed since the step' });
  });
});

describe('replannedEvent', () => {
  function plan(steps: RestoreStep[], notes: RestorePlan['replanned']): RestorePlan {
    return { label: 'Git shop@1a2b3c4d', namespaces: ['db'], steps, containment: [], unchanged: 4, safe: true, violations: [], ordering: 'by-effect', skipped: [], knownGood: { label: 'Git shop@1a2b3c4d', objects: [] }, ...(notes ? { replanned: notes } : {}) };
  }

  it('lists what changed and the new steps from the step it re-planned from, and asks for approval', () => {
    const steps = [step({ n: 1 }), step({ n: 2, action: 'delete', key: { kind: 'NetworkPolicy', namespace: 'db', name: 'allow-all-egress' }, name: 'allow-all-egress' }), step({ n: 3 })];
    const notes = [{ key: { kind: 'NetworkPolicy', namespace: 'db', name: 'allow-db-from-api' }, change: 'changed' as const, reason: 'edited by carol@shop.example' }];
    const event = replannedEvent(AT, 'restore', 'pold', 'pnew', 2, plan(steps, notes));
    expect(event).toMatchObject({ at: AT, type: 'restore.replanned', actor: 'bot', step: 'restore' });
    expect(event.summary.split('\n')).toEqual([
      '*The live state changed under the plan*: steps from 2 re-planned.',
      '• `NetworkPolicy db/allow-db-from-api` changed: edited by carol@shop.example',
      'New steps:',
      '2. delete `NetworkPolicy db/allow-all-egress` — restricts (closes 2)',
      '3. update `NetworkPolicy db/allow-db-from-api` — restricts (closes 2)',
      'Approve to go on with the new steps.',
    ]);
    expect(event.data).toEqual({ planId: 'pnew', previous: 'pold', fromStep: 2, notes: [{ key: 'NetworkPolicy db/allow-db-from-api', change: 'changed', reason: 'edited by carol@shop.example' }] });
  });

  it('nothing left: the lift follows; no notes recorded: an empty list', () => {
    const event = replannedEvent(AT, 'restore', 'pold', 'pnew', 3, plan([step({ n: 1 }), step({ n: 2 })], undefined));
    expect(event.summary.split('\n')).toEqual(['*The live state changed under the plan*: steps from 3 re-planned.', 'No step is left: the lift follows.']);
    expect((event.data as { notes: unknown[] }).notes).toEqual([]);
  });

  it('caps the thread at 10 notes and 20 steps; the data keeps every note', () => {
    const notes = Array.from({ length: 40 }, (_, i) => ({ key: { kind: 'NetworkPolicy', namespace: 'db', name: `p-${i}` }, change: 'dropped' as const, reason: 'gone' }));
    const steps = Array.from({ length: 300 }, (_, i) => step({ n: i + 1 }));
    const event = replannedEvent(AT, 'restore', 'pold', 'pnew', 1, plan(steps, notes));
    const lines = event.summary.split('\n');
    expect(lines.filter((l) => l.startsWith('• '))).toHaveLength(10);
    expect(lines.filter((l) => /^\d+\. /.test(l))).toHaveLength(20);
    expect((event.data as { notes: unknown[] }).notes).toHaveLength(40);
  });
});

describe('hostile API messages', () => {
  it("a huge message from the API server is capped in the thread and in the record", () => {
    const message = 'x'.repeat(100_000);
    const event = failedEvent(AT, 'restore', PLAN, step(), { ok: false, reason: 'invalid', message });
    expect(event.summary.length).toBeLessThan(2_000);
    expect(String(event.data?.message)).toMatch(/^x{1000}… \(99000 more characters\)$/);
    const rolled = rollbackEvent(AT, 'slack:UAPP', 'restore', PLAN, step(), { ok: false, reason: 'error', message });
    expect(rolled.summary.length).toBeLessThan(2_000);
    expect(String(rolled.data?.message)).toHaveLength(1000);
  });
});
