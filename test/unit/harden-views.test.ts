// The hardening step's views and checks, pure: the proposal's Block Kit (proof figures, flagged
// workloads, files, target), the closing summary of an incident, the params schema's refusals, and
// the closing summary written exactly with the transition that finishes the playbook.
import { describe, expect, it } from 'vitest';
import type { HardenProposal } from '../../src/harden/step-model.js';
import { closingFacts, closingSummary } from '../../src/incident/closing-summary.js';
import type { Incident } from '../../src/incident/model.js';
import { completeStep, openIncident, requestApproval, startStep } from '../../src/incident/transitions.js';
import { hardenNamespaces, hardenStep } from '../../src/playbook/steps/harden.js';
import { stepActionCheck } from '../../src/playbook/steps/index.js';
import { parsePlaybook, PlaybookError } from '../../src/playbook/load.js';
import { incidentMessage, type Block } from '../../src/slack/blocks.js';
import { hardenProposalBlocks, targetText } from '../../src/slack/harden-blocks.js';
import { testPlaybook } from '../helpers/playbook.js';

const ID = '20261202-abc123';
const texts = (blocks: Block[]): string[] => blocks.map((b) => (b.text as { text?: string } | undefined)?.text ?? '');

function proposal(over: Partial<HardenProposal> = {}): HardenProposal {
  return {
    kind: 'harden-proposal',
    summary: 'Baseline for db: 3 files',
    namespaces: [
      {
        namespace: 'db',
        proof: {
          coverage: { learned: 6, allowed: 6, percent: 100, misses: [] },
          unobserved: { pairs: 1, combinations: 1, examples: [{ src: 'api/orders', dst: 'db/redis-cache', conns: 'TCP 5432' }] },
          anomalies: { total: 1, denied: 1, allowed: [], unresolved: 0 },
          lint: { errors: 0, warnings: 2, findings: ['NP011 db/default-deny: <@U1> blocks DNS'] },
          ok: false,
        },
        flagged: [{ workload: 'db/backup', reason: 'too little history (0.5 h of 24.0 h)', omitted: true }],
        files: [{ path: 'db/default-deny.yaml', yaml: '' }, { path: 'db/postgres.yaml', yaml: '' }],
        notes: [],
      },
    ],
    target: { kind: 'repository', repository: 'shop-policies', path: 'policies', branch: `netpol-responder/harden-db-${ID}`, base: 'main', delivery: 'pull-request' },
    learned: [],
    anomalies: [],
    dismissed: 1,
    limits: [],
    ...over,
  };
}

describe('hardening proposal blocks', () => {
  it('shows the proof figures, the flagged workloads, the files and the target', () => {
    const all = texts(hardenProposalBlocks(proposal())).join('\n');
    expect(all).toContain(':white_check_mark: Learned edges allowed: *6/6* (100.0%)');
    expect(all).toContain(':warning: Workload pairs allowed without an observed edge: *1*, e.g. `api/orders → db/redis-cache TCP 5432`');
    expect(all).toContain(':white_check_mark: Anomalous flows denied: *1/1*');
    expect(all).toContain(':warning: Lint: *0* error(s), *2* warning(s)');
    // Text from the findings is escaped: no mention slips through.
    expect(all).toContain('&lt;@U1&gt;');
    expect(all).toContain('*Not hardened: too little traffic history — kept under their current policies (1):*\n• `db/backup`: too little history (0.5 h of 24.0 h)');
    expect(all).toContain('*Files:* `db/default-deny.yaml`, `db/postgres.yaml`');
    expect(all).toContain('a pull request on `shop-policies`, branch `netpol-responder/harden-db-20261202-abc123` off `main`, files under `policies`');
    expect(all).toContain('1 anomaly(ies) dismissed as expected');
    for (const t of texts(hardenProposalBlocks(proposal()))) expect(t.length).toBeLessThanOrEqual(3000);
  });

  it('lists the replaced policies kept for the workloads not hardened (narrowed copies)', () => {
    const base = proposal();
    const ns = { ...base.namespaces[0]!, narrowed: [{ key: 'db/default-deny-not-hardened', from: 'db/default-deny', workloads: ['db/backup'] }] };
    const all = texts(hardenProposalBlocks({ ...base, namespaces: [ns] })).join('\n');
    expect(all).toContain('*Kept for workloads not hardened — replaced policies narrowed to them, counted in the proof (1):*\n• `db/default-deny-not-hardened` from `db/default-deny`');
    expect(texts(hardenProposalBlocks(base)).join('\n')).not.toContain('Kept for workloads not hardened');
  });

  it('says when the files will be attached instead, and why', () => {
    expect(targetText({ kind: 'attach', why: 'no policy repository is configured (git.repositories)' })).toBe('*Where it goes:* the files will be attached to this thread (no policy repository is configured (git.repositories))');
    expect(targetText({ kind: 'repository', repository: 'r', path: '', branch: 'b', base: 'main', delivery: 'branch', why: 'no Git host API' })).toContain('a branch pushed to `r`');
  });

  it('tolerates evidence with fields missing (another version wrote it)', () => {
    const broken = { kind: 'harden-proposal', summary: 'x', namespaces: [{ namespace: 'db' }] } as unknown as HardenProposal;
    expect(texts(hardenProposalBlocks(broken)).join('\n')).toContain('Learned edges allowed: *0/0*');
  });

  it('is what the incident message shows while the step waits for approval, with a confirm that says the cluster is not changed', () => {
    const playbook = testPlaybook('one', `  - id: harden\n    title: Post-Incident Hardening\n    action: harden\n    approval: { rule: one }\n`);
    const now = new Date('2026-12-02T10:00:00Z');
    let incident = openIncident({ id: ID, scope: { namespace: 'db' }, requestedBy: 'U0ALICE', channel: 'C1' }, playbook, now).incident;
    incident = { ...incident, currentStep: 'harden', steps: { ...incident.steps, contain: { ...incident.steps.contain!, status: 'done' } } };
    incident = requestApproval(incident, 'harden', playbook.steps[1]!.approval, proposal() as unknown as Record<string, unknown>, now).incident;
    const message = JSON.stringify(incidentMessage(incident, playbook).blocks);
    expect(message).toContain('Anomalous flows denied: *1/1*');
    expect(message).toContain('the cluster is not changed');
    expect(message).not.toContain('Strategy:');
  });
});

describe('hardening params', () => {
  it('accepts the defaults and the shipped values', () => {
    expect(hardenStep.validateParams(undefined)).toEqual([]);
    expect(hardenStep.validateParams({ minHistory: '24h', v4Prefix: 24, v6Prefix: 64 })).toEqual([]);
  });

  it('refuses bad values, each with its path and reason', () => {
    const problems = hardenStep.validateParams({ minHistory: 'soon', v4Prefix: 4, v6Prefix: 129, testsFile: '../x.yaml', namespaces: ['Bad_NS'], extra: 1 });
    const paths = problems.map((p) => p.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['minHistory', 'v4Prefix', 'v6Prefix', 'testsFile', 'namespaces.0']));
    expect(problems.find((p) => p.path[0] === 'testsFile')?.message).toBe('must be a path inside the repository');
    expect(problems.some((p) => /extra/.test(p.message))).toBe(true);
  });

  it('a playbook with bad harden params is refused at load with the line and reason', () => {
    const text = `apiVersion: netpol-responder/v1\nkind: Playbook\nname: t\nsteps:\n  - id: harden\n    title: Post-Incident Hardening\n    action: harden\n    approval: { rule: one }\n    params:\n      v4Prefix: 40\n`;
    expect(() => parsePlaybook(text, 'p.yaml', stepActionCheck)).toThrow(PlaybookError);
    expect(() => parsePlaybook(text, 'p.yaml', stepActionCheck)).toThrow(/p\.yaml:10:\d+: steps\.0\.params\.v4Prefix: /);
  });
});

function finishedIncident(): Incident {
  const playbook = testPlaybook('none', `  - id: harden\n    title: Post-Incident Hardening\n    action: harden\n    approval: { rule: none }\n`);
  const t0 = new Date('2026-12-02T10:00:00Z');
  let i = openIncident({ id: ID, scope: { namespace: 'db' }, requestedBy: 'U0ALICE', channel: 'C1' }, playbook, t0).incident;
  i = {
    ...i,
    containment: { status: 'lifted', strategy: 'networkpolicy-exclusive', appliedAt: '2026-12-02T10:00:04.200Z', liftApprovals: [] },
    steps: {
      ...i.steps,
      contain: { ...i.steps.contain!, status: 'done', result: { summary: 'contained' } },
    },
    stepOrder: ['contain', 'trace', 'restore', 'harden'],
  };
  i.steps.trace = { status: 'done', approvals: [], attempts: 1, reminders: 0, result: { summary: 't', window: {}, cause: { key: 'NetworkPolicy/db/allow-db-from-api', at: '2026-12-02T09:58:00Z', confidence: 'high' }, changes: [{ key: 'NetworkPolicy/db/allow-db-from-api', at: '2026-12-02T09:58:00Z', actor: 'carol@shop.example', verb: 'patch' }] } };
  i.steps.restore = { status: 'done', approvals: [], attempts: 1, reminders: 0, result: { summary: 'r', planId: 'p1', source: 'Git shop-policies@1a2b3c4d', steps: [{}, {}] } };
  return i;
}

describe('closing summary', () => {
  it('sums up containment time, cause, restore and the hardening pull request', () => {
    const i = finishedIncident();
    i.steps.harden = { status: 'done', approvals: [], attempts: 1, reminders: 0, result: { summary: 'h', kind: 'hardening', delivery: { kind: 'pull-request', provider: 'github', url: 'http://127.0.0.1/pr/1', number: 1 } } };
    const text = closingSummary(i, '2026-12-02T10:05:00Z');
    expect(text).toContain(`*Incident ${ID} closed* after 5m`);
    expect(text).toContain('• *Time to contain:* 4.2 s (opened 10:00:00, containment applied 10:00:04 with `networkpolicy-exclusive`)');
    expect(text).toContain('• *Cause:* patch of `NetworkPolicy/db/allow-db-from-api` by `carol@shop.example` at 2026-12-02T09:58:00Z (high confidence)');
    expect(text).toContain('• *Restore:* 2 object(s) put back from Git shop-policies@1a2b3c4d, then containment lifted');
    expect(text).toContain('• *Hardening:* pull request http://127.0.0.1/pr/1');
    expect(text).toContain(`/netpol export ${ID} md`);
  });

  it('names a branch, attached files with the failure, and steps that did not run', () => {
    const i = finishedIncident();
    i.steps.harden = { status: 'done', approvals: [], attempts: 1, reminders: 0, result: { summary: 'h', kind: 'hardening', delivery: { kind: 'branch', branch: 'netpol-responder/harden-db-x', compareUrl: 'https://h/compare' } } };
    expect(closingFacts(i).hardening).toBe('branch `netpol-responder/harden-db-x` (https://h/compare)');
    i.steps.harden.result = { summary: 'h', kind: 'hardening', delivery: { kind: 'attached', why: 'x', error: { reason: 'protected-branch', message: 'the branch is protected' } } };
    expect(closingFacts(i).hardening).toBe('files attached to this thread (delivery failed: the branch is protected)');
    const bare = { ...i, containment: undefined, steps: { contain: i.steps.contain! }, stepOrder: ['contain'] } as Incident;
    expect(closingFacts(bare)).toEqual({ contain: 'no containment was applied', cause: 'not traced', restore: 'no restore ran', hardening: 'no hardening step ran' });
  });

  it('is written once, by the transition that completes the last step', () => {
    const playbook = testPlaybook('none', `  - id: harden\n    title: Post-Incident Hardening\n    action: harden\n    approval: { rule: none }\n`);
    const t0 = new Date('2026-12-02T10:00:00Z');
    let i = openIncident({ id: ID, scope: { namespace: 'db' }, requestedBy: 'U0ALICE', channel: 'C1' }, playbook, t0).incident;
    i = requestApproval(i, 'contain', playbook.steps[0]!.approval, { summary: 'e' }, t0).incident;
    i = startStep(i, 'contain', t0).incident;
    const first = completeStep(i, 'contain', { summary: 'c' }, [], t0);
    expect(first.events.map((e) => e.type)).not.toContain('incident.summary');
    let j = requestApproval(first.incident, 'harden', playbook.steps[1]!.approval, { summary: 'e' }, t0).incident;
    j = startStep(j, 'harden', t0).incident;
    const last = completeStep(j, 'harden', { summary: 'h', kind: 'hardening', delivery: { kind: 'attached', why: 'no repo' } }, [], t0);
    const summaries = last.events.filter((e) => e.type === 'incident.summary');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.summary).toContain('• *Hardening:* files attached to this thread (no repo)');
    expect(last.events.map((e) => e.type)).toEqual(['step.completed', 'incident.completed', 'incident.summary']);
  });
});

describe('namespaces the step hardens', () => {
  it('never the bot\'s own namespace (kube.botNamespace, given with the protected ones), nor the playbook\'s protected ones', () => {
    const playbook = testPlaybook('one', `  - id: harden\n    title: Post-Incident Hardening\n    action: harden\n    approval: { rule: one }\n`);
    const incident = openIncident({ id: ID, scope: { namespace: 'db' }, requestedBy: 'U0ALICE', channel: 'C1' }, playbook, new Date('2026-12-02T10:00:00Z')).incident;
    const guarded = new Set([...playbook.parameters.protectedNamespaces, 'netpol-responder']);
    expect(hardenNamespaces({ incident, playbook, protectedNamespaces: guarded }, ['netpol-responder', 'api'])).toEqual({ namespaces: ['db', 'api'], skipped: ['netpol-responder'] });
    // Without the engine's set, the playbook's list alone applies.
    expect(hardenNamespaces({ incident, playbook }, ['netpol-responder']).namespaces).toContain('netpol-responder');
  });
});
