import { describe, expect, it } from 'vitest';
import type { Incident } from '../../src/incident/model.js';
import { completeStep, openIncident, requestApproval, startStep } from '../../src/incident/transitions.js';
import type { RestoreProposal, RestoreRun, RestoreRunStatus, SourceOption } from '../../src/restore/run-model.js';
import { APPROVE_ACTION, incidentMessage, REJECT_ACTION, type Block } from '../../src/slack/blocks.js';
import {
  parseRestoreButton,
  parseSourceButton,
  restoreControlBlocks,
  restoreProposalBlocks,
  RESTORE_APPROVE_STEP_ACTION,
  RESTORE_CONTINUE_ACTION,
  RESTORE_FORCE_ACTION,
  RESTORE_RECONTAIN_ACTION,
  RESTORE_RESUME_ACTION,
  RESTORE_ROLLBACK_ACTION,
  RESTORE_SOURCE_ACTION,
  RESTORE_STOP_ACTION,
} from '../../src/slack/restore-blocks.js';
import { testPlaybook } from '../helpers/playbook.js';

const ID = '20261201-abc123';
const t = new Date('2026-12-01T10:00:00Z');

function option(index: number, over: Partial<SourceOption> = {}): SourceOption {
  return { index, kind: 'git-before-cause', label: `source ${index}`, available: true, objects: 2, opened: 1, closed: 0, text: `source ${index}: 2 objects to change, opens 1 connection`, ...over };
}

function proposal(over: Partial<RestoreProposal> = {}): RestoreProposal {
  return {
    kind: 'restore-proposal',
    summary: 'Restore from Git shop@1a2b3c4d: 2 steps (opens 1, closes 0 connections) then the lift',
    options: [
      option(0, { label: 'Git shop@1a2b3c4d', text: 'Git shop@1a2b3c4d, the last commit before the cause (09:12:03): 2 objects to change, opens 1 connection' }),
      option(1, { kind: 'journal-before-cause', text: "The journal's snapshot just before the cause (09:12:03): 1 object to change, no connectivity change" }),
      option(2, { kind: 'git-head', available: false, reason: 'no Git repository is configured', text: 'Git head: not available (no Git repository is configured)' }),
      option(3, { kind: 'git-revision', needsInput: true, text: 'A commit SHA or tag you type' }),
    ],
    chosen: 0,
    planId: 'p1a2b3',
    mode: 'plan',
    steps: ['1. update `db/NetworkPolicy/allow-web` — restrict (closes 1)', '2. create `db/NetworkPolicy/allow-dns` — neutral (no connectivity change)', '3. lift containment, verified, then the watch window'],
    safe: true,
    notes: ['steps reordered so that no intermediate state is more open than both ends'],
    ...over,
  };
}

function run(status: RestoreRunStatus, over: Partial<RestoreRun> = {}): RestoreRun {
  return { planId: 'p1a2b3', source: 'Git shop@1a2b3c4d', mode: 'plan', total: 5, next: 3, status, stepApprovals: [], planApprovedBy: ['UA', 'UB'], done: [], round: 1, ...over };
}

const json = (blocks: Block[]) => JSON.stringify(blocks);
const texts = (blocks: Block[]): string[] =>
  blocks.flatMap((b) => {
    const own = (b as { text?: { text?: string } }).text?.text;
    const context = b.type === 'context' ? (b.elements as Array<{ text: string }>).map((e) => e.text) : [];
    return [...(own === undefined ? [] : [own]), ...context];
  });
const buttons = (blocks: Block[]): Array<Record<string, unknown>> =>
  blocks.flatMap((b) => [...(b.accessory ? [b.accessory as Record<string, unknown>] : []), ...(b.type === 'actions' ? (b.elements as Array<Record<string, unknown>>) : [])]);

function withinSlackLimits(blocks: Block[]): void {
  expect(blocks.length).toBeLessThanOrEqual(50);
  for (const text of texts(blocks)) expect(text.length).toBeLessThanOrEqual(3000);
  const ids = buttons(blocks).map((b) => b.action_id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const b of buttons(blocks)) {
    expect(((b.text as { text: string }).text).length).toBeLessThanOrEqual(75);
    expect(String(b.value).length).toBeLessThanOrEqual(2000);
    const confirm = b.confirm as { title: { text: string }; text: { text: string } } | undefined;
    if (confirm) {
      expect(confirm.title.text.length).toBeLessThanOrEqual(100);
      expect(confirm.text.text.length).toBeLessThanOrEqual(300);
    }
  }
}

describe('restore proposal', () => {
  it('marks the planned source, offers the other available ones, and explains the rest', () => {
    const blocks = restoreProposalBlocks(ID, proposal());
    const all = texts(blocks).join('\n');
    expect(all).toContain(':white_check_mark: *1.* Git shop@1a2b3c4d');
    expect(all).toContain('*planned below*');
    expect(all).toContain(':no_entry_sign: 3. Git head: not available (no Git repository is configured)');
    expect(all.match(/no Git repository is configured/g)).toHaveLength(1); // the reason once, not twice
    expect(all).toContain(`type \`/netpol restore ${ID} <sha-or-tag>\``);
    const offered = buttons(blocks);
    expect(offered).toEqual([{ type: 'button', action_id: `${RESTORE_SOURCE_ACTION}.1`, text: { type: 'plain_text', text: 'Use this source' }, value: `${ID}:1` }]);
    expect(parseSourceButton(offered[0]?.value)).toEqual({ incidentId: ID, index: 1 });
    withinSlackLimits(blocks);
  });

  it('shows the numbered plan once-numbered, the safety, the notes and the mode', () => {
    const all = texts(restoreProposalBlocks(ID, proposal())).join('\n');
    expect(all).toContain('*Plan: 3 steps, the lift of containment last* (plan `p1a2b3`)');
    expect(all).toContain('\n1. update `db/NetworkPolicy/allow-web`');
    expect(all).not.toContain('1. 1.');
    expect(all).toContain('3. lift containment');
    expect(all).toContain('Safe order');
    expect(all).toContain('• steps reordered');
    expect(all).toContain('approve once for the whole plan, Stop halts before the next step');
    const stepMode = texts(restoreProposalBlocks(ID, proposal({ mode: 'step' }))).join('\n');
    expect(stepMode).toContain('each step is approved on its own');
    expect(stepMode).not.toContain('approve once');
  });

  it('numbers plain lines itself', () => {
    const all = texts(restoreProposalBlocks(ID, proposal({ steps: ['create a', 'delete b'] }))).join('\n');
    expect(all).toContain('1. create a\n2. delete b');
  });

  it('warns when the plan is not proven safe', () => {
    const all = texts(restoreProposalBlocks(ID, proposal({ safe: false }))).join('\n');
    expect(all).toContain(':warning: *Not proven safe*');
    expect(all).not.toContain('Safe order');
  });

  it('appends an unavailable option\'s reason when its text does not say it', () => {
    const options = [option(0), option(1, { available: false, reason: 'the journal is off', text: 'The journal' })];
    const blocks = restoreProposalBlocks(ID, proposal({ options }));
    expect(texts(blocks).join('\n')).toContain(':no_entry_sign: 2. The journal — not available (the journal is off)');
    expect(buttons(blocks)).toHaveLength(0);
  });

  it('shows a typed revision as planned on the option that asks for one, without a button', () => {
    const blocks = restoreProposalBlocks(ID, proposal({ chosen: 3, typed: 'shop:v1.2.0' }));
    const all = texts(blocks).join('\n');
    expect(all).toContain(':white_check_mark: *4.* A commit SHA or tag you type — *planned below*');
    expect(all).toContain('planned: `shop:v1.2.0`');
    expect(buttons(blocks).map((b) => b.action_id)).toEqual([`${RESTORE_SOURCE_ACTION}.0`, `${RESTORE_SOURCE_ACTION}.1`]);
  });

  it('says so when no source could be planned, and shows no plan', () => {
    const blocks = restoreProposalBlocks(ID, proposal({ chosen: -1, steps: [], notes: [], summary: 'No known-good source can be used' }));
    const all = texts(blocks).join('\n');
    expect(all).toContain('No source could be planned');
    expect(all).not.toContain('*Plan');
    expect(all).not.toContain('Safe order');
  });

  it('caps a long plan within Slack limits and says how many steps the thread holds', () => {
    for (const count of [60, 400, 5000]) {
      const steps = Array.from({ length: count }, (_, i) => `${i + 1}. update \`ns/NetworkPolicy/p-${i}\` ${'x'.repeat(300)}`);
      const blocks = restoreProposalBlocks(ID, proposal({ steps }));
      withinSlackLimits(blocks);
      const all = texts(blocks).join('\n');
      const shown = all.split('\n').filter((l) => /^\d+\. update/.test(l)).length;
      const more = /… (\d+) more steps? in the thread/.exec(all);
      expect(shown).toBeGreaterThan(10);
      expect(shown + Number(more?.[1] ?? 0)).toBe(count);
      expect(more !== null).toBe(shown < count);
    }
  });

  it('escapes hostile text everywhere and truncates 10k-character labels', () => {
    const evil = '<!channel> *bold* `code` <https://evil.example|click> & ~x~';
    const huge = `${evil}${'y'.repeat(10_000)}`;
    const blocks = restoreProposalBlocks(ID, {
      ...proposal({ summary: huge, typed: huge, chosen: 3, notes: Array.from({ length: 20 }, () => huge), steps: Array.from({ length: 30 }, () => huge) }),
      options: [option(0, { text: huge }), option(1, { available: false, reason: huge, text: evil }), option(2, { text: huge }), option(3, { needsInput: true, text: huge })],
    });
    withinSlackLimits(blocks);
    const out = json(blocks);
    expect(out).not.toContain('<!channel>');
    expect(out).not.toContain('<https://evil');
    expect(out).toContain('&lt;!channel&gt; *bold* `code`');
    expect(texts(blocks).join('\n')).toContain('… and 12 more notes in the thread');
  });

  it('bounds the options, and names each by its position (the runner\'s index), whatever its index field says', () => {
    const many = Array.from({ length: 20 }, (_, i) => option(i));
    const blocks = restoreProposalBlocks(ID, proposal({ options: many }));
    withinSlackLimits(blocks);
    expect(texts(blocks).join('\n')).toContain('… and 14 more options');
    const odd = [option(0), option(1), option(1), option(5000), option(-1), option(1.5), option(Number.NaN)];
    const oddButtons = buttons(restoreProposalBlocks(ID, proposal({ options: odd, chosen: -1, steps: [] })));
    expect(oddButtons.map((b) => b.value)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${ID}:${i}`));
    for (const [i, b] of oddButtons.entries()) {
      expect(b.action_id).toBe(`${RESTORE_SOURCE_ACTION}.${i}`);
      expect(parseSourceButton(b.value)).toEqual({ incidentId: ID, index: i });
    }
  });

  it('survives a stored proposal missing or garbling its fields', () => {
    const broken = { kind: 'restore-proposal', options: 'nope', steps: null, notes: 7, chosen: 'x' } as unknown as RestoreProposal;
    const blocks = restoreProposalBlocks(ID, broken);
    withinSlackLimits(blocks);
    expect(texts(blocks).join('\n')).toContain('approve once for the whole plan');
    const holes = { ...proposal(), options: [null, option(1, { text: undefined as unknown as string })] } as unknown as RestoreProposal;
    expect(() => restoreProposalBlocks(ID, holes)).not.toThrow();
  });
});

describe('restore controls', () => {
  const cases: Array<[RestoreRunStatus, Partial<RestoreRun>, string[], string]> = [
    ['running', {}, [RESTORE_STOP_ACTION], 'applying step 3'],
    ['running', { mode: 'step' }, [RESTORE_STOP_ACTION], 'applying step 3'],
    ['running', { next: 6 }, [RESTORE_STOP_ACTION], 'lifting containment'],
    ['traffic-wait', { trafficUntil: '2026-12-01T10:05:00Z' }, [RESTORE_STOP_ACTION], 'watching its traffic until 2026-12-01T10:05:00Z'],
    ['awaiting-step', { mode: 'step' }, [RESTORE_APPROVE_STEP_ACTION, RESTORE_STOP_ACTION], 'step 3 waits for its approval'],
    ['stopped', { stoppedBy: 'UA' }, [RESTORE_RESUME_ACTION], 'stopped by <@UA> before step 3'],
    ['verify-failed', { failure: { n: 3, reason: 'traffic', message: 'db/pg => api/orders : TCP 5432 refused' } }, [RESTORE_ROLLBACK_ACTION, RESTORE_CONTINUE_ACTION], 'failed its verification'],
    ['field-conflict', {}, [RESTORE_FORCE_ACTION, RESTORE_STOP_ACTION], 'fields other managers own'],
    ['blocked', { failure: { n: 3, reason: 'forbidden', message: 'networkpolicies is forbidden' } }, [RESTORE_RESUME_ACTION, RESTORE_STOP_ACTION], 'could not be applied'],
    ['lifting', { next: 6 }, [], 'lifting containment'],
    ['watching', { next: 6, watchUntil: '2026-12-01T11:00:00Z' }, [], 'Watching until 2026-12-01T11:00:00Z'],
    ['watching', { next: 6, watchUntil: '2026-12-01T11:00:00Z', refired: { anomalyId: 'an-1', at: '2026-12-01T10:30:00Z' } }, [RESTORE_RECONTAIN_ACTION], 'Watching until'],
    ['done', { next: 6 }, [], 'restored'],
    ['lifting', { next: 4, liftAt: 4 }, [], 'lifting containment before step 4: the steps left are synced by their GitOps controller'],
    ['running', { next: 4, liftAt: 4 }, [RESTORE_STOP_ACTION], 'lifting containment'],
    ['running', { next: 4, liftAt: 4, lifted: true }, [RESTORE_STOP_ACTION], 'applying step 4'],
    ['awaiting-step', { mode: 'step', next: 5, liftAt: 4, lifted: true }, [RESTORE_APPROVE_STEP_ACTION, RESTORE_STOP_ACTION], 'step 5 waits for its approval'],
  ];

  it.each(cases)('%s %j offers %j', (status, over, actions, words) => {
    const blocks = restoreControlBlocks(ID, run(status, over));
    withinSlackLimits(blocks);
    const shown = buttons(blocks);
    expect(shown.map((b) => b.action_id)).toEqual(actions);
    expect(texts(blocks)[0]).toMatch(/^Restore from Git shop@1a2b3c4d: /);
    expect(texts(blocks).join('\n')).toContain(words);
    for (const b of shown) {
      if (b.style === 'danger') expect(b.confirm).toBeDefined();
      if (b.action_id === RESTORE_RECONTAIN_ACTION) expect(b.value).toBe(ID);
      else expect(parseRestoreButton(b.value)).toEqual({ incidentId: ID, planId: 'p1a2b3', n: run(status, over).next });
    }
  });

  it('labels and styles the buttons as the contract says', () => {
    const byAction = (status: RestoreRunStatus, over: Partial<RestoreRun> = {}) => Object.fromEntries(buttons(restoreControlBlocks(ID, run(status, over))).map((b) => [b.action_id, b]));
    const approve = byAction('awaiting-step')[RESTORE_APPROVE_STEP_ACTION];
    expect(approve).toMatchObject({ style: 'primary', text: { text: 'Approve step 3' } });
    const rollback = byAction('verify-failed')[RESTORE_ROLLBACK_ACTION];
    expect(rollback).toMatchObject({ style: 'danger', text: { text: 'Roll back this step' } });
    expect(byAction('verify-failed')[RESTORE_CONTINUE_ACTION]?.confirm).toBeDefined();
    const force = byAction('field-conflict')[RESTORE_FORCE_ACTION];
    expect(force).toMatchObject({ style: 'danger', text: { text: 'Force step 3 (take the fields)' } });
    expect(force?.confirm).toBeDefined();
    const again = byAction('watching', { next: 6, refired: { anomalyId: 'a', at: 'now' } })[RESTORE_RECONTAIN_ACTION];
    expect(again).toMatchObject({ style: 'primary', text: { text: 'Contain again' } });
    expect(again?.confirm).toBeDefined();
  });

  it('says where the run is: step N of the total, the lift, or all done', () => {
    expect(texts(restoreControlBlocks(ID, run('running')))[0]).toContain('step 3 of 5 (+ lift)');
    expect(texts(restoreControlBlocks(ID, run('lifting', { next: 6 })))[0]).toContain('the lift, after 5 steps');
    expect(texts(restoreControlBlocks(ID, run('done', { next: 6 })))[0]).toContain('all 5 steps and the lift done');
    expect(texts(restoreControlBlocks(ID, run('running', { liftAt: 4 })))[0]).toContain('step 3 of 5 (the lift before step 4)');
    expect(texts(restoreControlBlocks(ID, run('running', { next: 4, liftAt: 4, lifted: true })))[0]).toContain('step 4 of 5 (containment lifted; steps from 4 synced by their GitOps controller)');
    expect(texts(restoreControlBlocks(ID, run('watching', { next: 6, liftAt: 4, lifted: true })))[0]).toContain('all 5 steps done, containment lifted');
  });

  it('shows the failure, and who approved a step so far', () => {
    const failed = texts(restoreControlBlocks(ID, run('blocked', { failure: { n: 3, reason: 'forbidden', message: 'networkpolicies "x" is forbidden' } }))).join('\n');
    expect(failed).toContain(':x: *Step 3*: forbidden — networkpolicies "x" is forbidden');
    const lift = texts(restoreControlBlocks(ID, run('blocked', { next: 6, failure: { n: 6, reason: 'api', message: 'timeout' } }))).join('\n');
    expect(lift).toContain('*The lift*: api — timeout');
    const partial = texts(restoreControlBlocks(ID, run('awaiting-step', { stepApprovals: [{ user: 'UA', at: 'x' }] }))).join('\n');
    expect(partial).toContain('approved by <@UA>, waiting for another approver');
    const forcing = texts(restoreControlBlocks(ID, run('field-conflict', { stepApprovals: [{ user: 'UB', at: 'x' }] }))).join('\n');
    expect(forcing).toContain('forcing it (approved by <@UB>');
  });

  it('escapes hostile record text and caps its length', () => {
    const evil = `<!channel> <@U1|x> ${'z'.repeat(10_000)}`;
    const blocks = restoreControlBlocks(ID, run('stopped', { source: evil, stoppedBy: '<!here>', failure: { n: 3, reason: evil, message: evil } }));
    withinSlackLimits(blocks);
    const out = json(blocks);
    expect(out).not.toContain('<!channel>');
    expect(out).not.toContain('<!here>');
    expect(out).not.toContain('<@U1|x>');
    const watching = json(restoreControlBlocks(ID, run('watching', { next: 6, watchUntil: evil, refired: { anomalyId: evil, at: evil } })));
    expect(watching).not.toContain('<!channel>');
  });

  it('offers no button whose value it would refuse (a malformed run record)', () => {
    for (const over of [{ planId: 'BAD PLAN' }, { planId: 'x'.repeat(30) }, { next: 0 }, { next: 20_000 }]) {
      const blocks = restoreControlBlocks(ID, run('running', over));
      expect(buttons(blocks)).toEqual([]);
      expect(texts(blocks).join('\n')).toContain('run record is malformed');
    }
    expect(buttons(restoreControlBlocks('../../etc', run('watching', { refired: { anomalyId: 'a', at: 'b' } })))).toEqual([]);
  });

  it('falls back to the status word for an unknown status, with no button', () => {
    const blocks = restoreControlBlocks(ID, run('paused-by-a-future-version' as RestoreRunStatus));
    expect(buttons(blocks)).toEqual([]);
    expect(texts(blocks)[0]).toContain('paused-by-a-future-version');
  });
});

describe('restore button values', () => {
  it.each([
    [`${ID}:p1a2b3:1`, { incidentId: ID, planId: 'p1a2b3', n: 1 }],
    [`${ID}:p1a2b3:10000`, { incidentId: ID, planId: 'p1a2b3', n: 10000 }],
    [`${ID}:${'a'.repeat(24)}:7`, { incidentId: ID, planId: 'a'.repeat(24), n: 7 }],
    [`${ID}:p1:10001`, undefined],
    [`${ID}:p1:0`, undefined],
    [`${ID}:p1:01`, undefined],
    [`${ID}:p1:-1`, undefined],
    [`${ID}:p1:1e3`, undefined],
    [`${ID}:p1:1.5`, undefined],
    [`${ID}:p1:１`, undefined],
    [`${ID}:P1:1`, undefined],
    [`${ID}:${'a'.repeat(25)}:1`, undefined],
    [`${ID}:p-1:1`, undefined],
    [`${ID}::1`, undefined],
    [`${ID}:p1`, undefined],
    [`${ID}:p1:1:extra`, undefined],
    [`${ID}:p1:1\n`, undefined],
    [` ${ID}:p1:1`, undefined],
    [`ab:p1:1`, undefined],
    [`../etc:p1:1`, undefined],
    [`__proto__:p1:1`, undefined],
    [`${'a'.repeat(190)}:p1:1`, undefined],
    [`${ID}:p1:1${' '.repeat(300)}`, undefined],
    ['{"incidentId":"x"}', undefined],
    ['', undefined],
    [17, undefined],
    [null, undefined],
    [undefined, undefined],
    [{ incidentId: ID, planId: 'p1', n: 1 }, undefined],
    [[`${ID}:p1:1`], undefined],
  ])('parseRestoreButton(%j)', (value, expected) => {
    expect(parseRestoreButton(value)).toEqual(expected);
  });

  it.each([
    [`${ID}:0`, { incidentId: ID, index: 0 }],
    [`${ID}:3`, { incidentId: ID, index: 3 }],
    [`${ID}:999`, { incidentId: ID, index: 999 }],
    [`${ID}:1000`, undefined],
    [`${ID}:00`, undefined],
    [`${ID}:-1`, undefined],
    [`${ID}:1.0`, undefined],
    [`${ID}:`, undefined],
    [`${ID}:1:2`, undefined],
    [`${ID}:x`, undefined],
    [`${ID.toUpperCase()}:1`, undefined],
    [`<!channel>:1`, undefined],
    [`${ID}:1\u0000`, undefined],
    ['x'.repeat(10_000), undefined],
    [1, undefined],
    [null, undefined],
    [{ incidentId: ID, index: 1 }, undefined],
  ])('parseSourceButton(%j)', (value, expected) => {
    expect(parseSourceButton(value)).toEqual(expected);
  });
});

describe('the incident message with the restore step', () => {
  const playbook = testPlaybook('none', `  - id: restore
    title: Restore known-good
    action: restore
    approval: { rule: one, timeout: 1s, remindEvery: 1s, maxReminders: 2 }
`);
  const containApproval = playbook.steps[0]!.approval;
  const restoreApproval = playbook.steps[1]!.approval;
  const podEvidence = { summary: 's', pods: [{ name: 'pg-0' }], podCount: 1, policies: [{ name: 'allow-web' }], strategy: 'networkpolicy-additive', dryRun: { ok: true } };

  function atRestore(evidence: Record<string, unknown>): Incident {
    let incident = openIncident({ id: ID, scope: { namespace: 'db' }, requestedBy: 'UREQ', channel: 'C1' }, playbook, t).incident;
    incident = requestApproval(incident, 'contain', containApproval, podEvidence, t).incident;
    incident = startStep(incident, 'contain', t).incident;
    incident = completeStep(incident, 'contain', { summary: 'Contained' }, [], t).incident;
    return requestApproval(incident, 'restore', restoreApproval, evidence, t).incident;
  }

  it('shows the proposal before the Approve / Reject buttons, and not the contain proposal', () => {
    const message = incidentMessage(atRestore(proposal() as unknown as Record<string, unknown>), playbook);
    const out = json(message.blocks);
    expect(out).toContain(`${RESTORE_SOURCE_ACTION}.1`);
    expect(out.indexOf('*Restore to a known-good state*')).toBeLessThan(out.indexOf(APPROVE_ACTION));
    expect(out).toContain(REJECT_ACTION);
    expect(out).toContain('Pods in scope (1)'); // the first step's evidence stays
    expect(out).not.toContain('*Strategy:');
    expect(out).not.toContain('Objects to create');
    withinSlackLimits(message.blocks);
  });

  it('stays within 50 blocks with a huge plan, containment in force and the controls', () => {
    const steps = Array.from({ length: 10_000 }, (_, i) => `${i + 1}. update \`p-${i}\` <!channel>`);
    const incident: Incident = {
      ...atRestore(proposal({ steps, options: Array.from({ length: 40 }, (_, i) => option(i)), notes: Array.from({ length: 100 }, () => 'n') }) as unknown as Record<string, unknown>),
      containment: { status: 'active', strategy: 'networkpolicy-additive', appliedAt: t.toISOString(), liftApprovals: [] },
      restore: run('awaiting-step'),
    };
    const message = incidentMessage(incident, playbook, { approversText: '<@UAPP>' });
    withinSlackLimits(message.blocks);
    expect(json(message.blocks)).not.toContain('<!channel>');
  });

  it('shows the controls while the incident is open, and none once it is not', () => {
    const open: Incident = { ...atRestore(proposal() as unknown as Record<string, unknown>), restore: run('running') };
    expect(json(incidentMessage(open, playbook).blocks)).toContain(RESTORE_STOP_ACTION);
    const closed: Incident = { ...open, status: 'completed', currentStep: null, restore: run('done', { next: 6 }) };
    const out = json(incidentMessage(closed, playbook).blocks);
    expect(out).not.toContain('netpol_restore_');
    expect(out).not.toContain('Restore from Git');
  });

  it('shows no proposal once the restore step is approved and running', () => {
    const incident = atRestore(proposal() as unknown as Record<string, unknown>);
    const running: Incident = { ...incident, steps: { ...incident.steps, restore: { ...incident.steps.restore!, status: 'running' } }, restore: run('traffic-wait') };
    const out = json(incidentMessage(running, playbook).blocks);
    expect(out).not.toContain(RESTORE_SOURCE_ACTION);
    expect(out).not.toContain(APPROVE_ACTION);
    expect(out).toContain(RESTORE_STOP_ACTION);
  });
});
