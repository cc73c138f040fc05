// Declining a step the playbook lets be skipped (onReject: skip): the step is skipped and the
// playbook goes on, or ends as completed (with its closing summary) when it was the last step.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAYBOOK_PATH } from '../../../src/config/package-files.js';
import type { Incident } from '../../../src/incident/model.js';
import { completeStep, openIncident, recordApproval, recordRejection, requestApproval, startStep, TransitionRefused, type Transition } from '../../../src/incident/transitions.js';
import { parsePlaybook, PlaybookError } from '../../../src/playbook/load.js';
import type { Playbook } from '../../../src/playbook/schema.js';
import { incidentMessage } from '../../../src/slack/blocks.js';
import { renderMarkdown } from '../../../src/timeline/render.js';

const t0 = new Date('2026-11-23T10:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);

function playbook(lastRule: 'one' | 'two' = 'one', midOnReject = 'skip'): Playbook {
  return parsePlaybook(
    `apiVersion: netpol-responder/v1
kind: Playbook
name: test
steps:
  - id: contain
    title: Confirm & Contain
    action: contain
    approval: { rule: one }
  - id: restore
    title: Restore Safe State
    action: restore
    approval: { rule: one }
    onReject: ${midOnReject}
  - id: harden
    title: Post-Incident Hardening
    action: harden
    approval: { rule: ${lastRule} }
    onReject: skip
`,
    'test.yaml',
  );
}

function policyOf(book: Playbook, id: string) {
  return book.steps.find((s) => s.id === id)!;
}

/** Runs a step from pending to done (approved by UAPP). */
function run(incident: Incident, book: Playbook, id: string, s: number, result: Record<string, unknown> = { summary: `${id} done` }): Transition {
  const step = policyOf(book, id);
  let i = requestApproval(incident, id, step.approval, { summary: 'evidence' }, later(s)).incident;
  i = recordApproval(i, id, step.approval, 'UAPP', later(s + 1)).incident;
  i = startStep(i, id, later(s + 2)).incident;
  return completeStep(i, id, result, [], later(s + 3));
}

function opened(book: Playbook): Incident {
  return openIncident({ id: '20261123-skip', scope: { namespace: 'db' }, requestedBy: 'UREQ', channel: 'CINC', reason: 'exfil' }, book, t0).incident;
}

/** Contain done (no containment state, so nothing holds the incident open), restore proposed. */
function atRestore(book = playbook()): Incident {
  const contained = run(opened(book), book, 'contain', 10).incident;
  return requestApproval(contained, 'restore', policyOf(book, 'restore').approval, { kind: 'restore-proposal', summary: 'plan' }, later(20)).incident;
}

/** Contain and restore done, hardening proposed. */
function atHarden(book = playbook()): Incident {
  const contained = run(opened(book), book, 'contain', 10).incident;
  const restored = run(contained, book, 'restore', 20, { summary: 'restored', planId: 'p1', source: 'git main@abc', steps: [{}] }).incident;
  return requestApproval(restored, 'harden', policyOf(book, 'harden').approval, { kind: 'harden-proposal', summary: 'baseline' }, later(30)).incident;
}

function refusal(fn: () => unknown): TransitionRefused {
  try {
    fn();
  } catch (error) {
    if (error instanceof TransitionRefused) return error;
    throw error;
  }
  throw new Error('expected TransitionRefused');
}

describe('declining a step under onReject: skip', () => {
  it('mid-playbook: the step is skipped and the next one becomes current; the incident stays open', () => {
    const book = playbook();
    const out = recordRejection(atRestore(book), 'restore', 'UB', later(21), policyOf(book, 'restore'));
    expect(out.incident.status).toBe('open');
    expect(out.incident.currentStep).toBe('harden');
    expect(out.incident.steps.restore).toMatchObject({ status: 'skipped', rejectedBy: { user: 'UB', at: later(21).toISOString() } });
    expect(out.incident.steps.harden?.status).toBe('pending');
    expect(out.releaseScope).toBe(false);
    expect(out.events).toEqual([expect.objectContaining({ type: 'step.skipped', actor: 'slack:UB', step: 'restore' })]);
    expect(out.events[0]?.summary).toContain('Restore Safe State declined by <@UB>');
  });

  it('the last step: the incident completes, releases its scope, and the closing summary says who declined', () => {
    const book = playbook();
    const out = recordRejection(atHarden(book), 'harden', 'UB', later(31), policyOf(book, 'harden'));
    expect(out.incident.status).toBe('completed');
    expect(out.incident.currentStep).toBeNull();
    expect(out.incident.steps.harden?.status).toBe('skipped');
    expect(out.releaseScope).toBe(true);
    expect(out.events.map((e) => e.type)).toEqual(['step.skipped', 'incident.completed', 'incident.summary']);
    expect(out.events[0]?.summary).toContain('Hardening declined by <@UB>');
    const summary = out.events[2]!;
    expect(summary.summary).toContain('*Hardening:* declined by <@UB>');
    expect(summary.summary).toContain('*Restore:* 1 object(s) put back from git main@abc');
    expect(summary.data).toMatchObject({ hardening: 'declined by <@UB>' });
  });

  it('the last step with containment still in force: the playbook finishes, the incident holds its scope until the lift', () => {
    const book = playbook();
    const harden = atHarden(book);
    const held: Incident = { ...harden, containment: { status: 'active', strategy: 'cilium', appliedAt: later(12).toISOString(), liftApprovals: [] } };
    const out = recordRejection(held, 'harden', 'UB', later(31), policyOf(book, 'harden'));
    expect(out.incident.status).toBe('open');
    expect(out.incident.currentStep).toBeNull();
    expect(out.releaseScope).toBe(false);
    expect(out.events.map((e) => e.type)).toEqual(['step.skipped', 'playbook.finished', 'incident.summary']);
  });

  it('a restore declined mid-playbook shows in the closing summary too', () => {
    const book = playbook();
    const skipped = recordRejection(atRestore(book), 'restore', 'UB', later(21), policyOf(book, 'restore')).incident;
    const proposed = requestApproval(skipped, 'harden', policyOf(book, 'harden').approval, { kind: 'harden-proposal', summary: 'baseline' }, later(30)).incident;
    const out = recordRejection(proposed, 'harden', 'UC', later(31), policyOf(book, 'harden'));
    const summary = out.events.find((e) => e.type === 'incident.summary')!.summary;
    expect(summary).toContain('*Restore:* declined by <@UB>');
    expect(summary).toContain('*Hardening:* declined by <@UC>');
  });

  it('onReject: stop (and no policy at all, as before) still rejects the whole incident', () => {
    const book = playbook('one', 'stop');
    for (const policy of [policyOf(book, 'restore'), undefined]) {
      const out = recordRejection(atRestore(book), 'restore', 'UB', later(21), policy);
      expect(out.incident.status).toBe('rejected');
      expect(out.incident.currentStep).toBeNull();
      expect(out.incident.steps.restore?.status).toBe('rejected');
      expect(out.releaseScope).toBe(true);
      expect(out.events.map((e) => e.type)).toEqual(['step.rejected']);
    }
  });

  it('a second click after the skip is refused, saying who declined it', () => {
    const book = playbook();
    const mid = recordRejection(atRestore(book), 'restore', 'UB', later(21), policyOf(book, 'restore')).incident;
    for (const click of [() => recordApproval(mid, 'restore', policyOf(book, 'restore').approval, 'UC', later(22)), () => recordRejection(mid, 'restore', 'UC', later(22), policyOf(book, 'restore'))]) {
      const refused = refusal(click);
      expect(refused.code).toBe('already-decided');
      expect(refused.message).toContain('declined by <@UB>');
    }
    // The last step: the incident is completed by then; the click is still told what happened.
    const done = recordRejection(atHarden(book), 'harden', 'UB', later(31), policyOf(book, 'harden')).incident;
    const refused = refusal(() => recordApproval(done, 'harden', policyOf(book, 'harden').approval, 'UC', later(32)));
    expect(refused.code).toBe('already-decided');
    expect(refused.message).toContain('declined by <@UB>');
    expect(refusal(() => recordRejection(done, 'harden', 'UC', later(32), policyOf(book, 'harden'))).code).toBe('already-decided');
  });

  it('two approvers: one decline skips the step even after a first approval, and no further approval counts', () => {
    const book = playbook('two');
    const rule = policyOf(book, 'harden').approval;
    const half = recordApproval(atHarden(book), 'harden', rule, 'UA', later(31));
    expect(half.approved).toBe(false);
    const out = recordRejection(half.incident, 'harden', 'UB', later(32), policyOf(book, 'harden'));
    expect(out.incident.status).toBe('completed');
    expect(out.incident.steps.harden).toMatchObject({ status: 'skipped', approvals: [{ user: 'UA' }], rejectedBy: { user: 'UB' } });
    expect(refusal(() => recordApproval(out.incident, 'harden', rule, 'UC', later(33))).code).toBe('already-decided');
  });

  it('a step run again (a stronger containment) does not bring a skipped step back', () => {
    const book = playbook();
    const mid = recordRejection(atRestore(book), 'restore', 'UB', later(21), policyOf(book, 'restore')).incident;
    const again: Incident = { ...mid, steps: { ...mid.steps, contain: { ...mid.steps.contain!, status: 'running' } } };
    expect(completeStep(again, 'contain', { summary: 'contained again' }, [], later(40)).incident.currentStep).toBe('harden');
  });

  it('the Slack message and the postmortem show the step as declined and skipped', () => {
    const book = playbook();
    const out = recordRejection(atHarden(book), 'harden', 'UB', later(31), policyOf(book, 'harden'));
    expect(JSON.stringify(incidentMessage(out.incident, book).blocks)).toContain(':fast_forward: *3. Post-Incident Hardening*: declined by <@UB>, skipped');
    const timeline = out.events.map((e, i) => ({ ...e, id: `${i}-0` }));
    const md = renderMarkdown({ incident: out.incident, timeline, stepTitles: { harden: 'Post-Incident Hardening' }, userNames: { UB: 'bob' }, generatedAt: later(40) });
    expect(md).toContain('| Post-Incident Hardening | declined (skipped) | @bob |');
    expect(md).toContain('Post-Incident Hardening declined by @bob');
    expect(md).toContain('*Hardening:* declined by @bob');
  });
});

describe('playbook onReject', () => {
  it('defaults to stop; the shipped playbook skips a declined hardening only', () => {
    expect(playbook().steps.map((s) => s.onReject)).toEqual(['stop', 'skip', 'skip']);
    const shipped = parsePlaybook(readFileSync(DEFAULT_PLAYBOOK_PATH, 'utf8'), DEFAULT_PLAYBOOK_PATH);
    expect(Object.fromEntries(shipped.steps.map((s) => [s.id, s.onReject]))).toEqual({ contain: 'stop', trace: 'stop', validate: 'stop', restore: 'stop', harden: 'skip' });
  });

  it('refuses an unknown value, and skip on a step without approval, with the line', () => {
    const bad = (onReject: string, rule = 'one') => {
      try {
        parsePlaybook(`apiVersion: netpol-responder/v1\nkind: Playbook\nname: t\nsteps:\n  - id: a\n    title: A\n    action: harden\n    approval: { rule: ${rule} }\n    onReject: ${onReject}\n`, 'p.yaml');
      } catch (error) {
        if (error instanceof PlaybookError) return error.problems.join('\n');
        throw error;
      }
      return '';
    };
    expect(bad('continue')).toMatch(/^p\.yaml:9:15: steps\.0\.onReject: /);
    expect(bad('skip', 'none')).toContain('p.yaml:9:15: steps.0.onReject: onReject: skip needs an approval rule');
    expect(bad('skip')).toBe('');
  });
});
