import { describe, expect, it } from 'vitest';
import { escapeMrkdwn, incidentMessage, parseButtonValue, statusSummary, timelineReply, APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks.js';
import { openIncident, recordApproval, recordRejection, requestApproval, startStep, completeStep, failStep } from '../../src/incident/transitions.js';
import { testPlaybook } from '../helpers/playbook.js';

const playbook = testPlaybook('two');
const approval = playbook.steps[0]!.approval;
const t = new Date('2026-11-23T10:00:00Z');
const evidence = {
  summary: 's',
  pods: Array.from({ length: 14 }, (_, i) => ({ name: `pod-${i}` })),
  podCount: 140,
  policies: [{ name: 'allow-web' }],
  stillAllowing: ['allow-web'],
  proposedPolicy: { kind: 'NetworkPolicy', metadata: { name: 'netpol-responder-quarantine-x' } },
  dryRun: { ok: true },
};

function waiting(reason = 'exfil <!channel> & <@U999>') {
  const opened = openIncident({ id: '20261123-aaaaaa', scope: { namespace: 'db', selector: 'app=pg' }, requestedBy: 'UREQ', channel: 'C1', reason }, playbook, t).incident;
  return requestApproval(opened, 'contain', approval, evidence, t).incident;
}

const text = (m: { blocks: unknown[] }) => JSON.stringify(m.blocks);

describe('incident message', () => {
  it('shows scope, evidence, the proposed policy and both buttons while waiting', () => {
    const message = incidentMessage(waiting(), playbook, { approversText: '<@UAPP>' });
    const json = text(message);
    expect(message.text).toContain('20261123-aaaaaa');
    expect(json).toContain('pods matching `app=pg`');
    expect(json).toContain('waiting for approval (0 of 2)');
    expect(json).toContain('Pods in scope (140)');
    expect(json).toContain('and 130 more');
    expect(json).toContain('NetworkPolicies are additive');
    expect(json).toContain('netpol-responder-quarantine-x');
    expect(json).toContain(APPROVE_ACTION);
    expect(json).toContain(REJECT_ACTION);
    expect(json).toContain('Approvers: <@UAPP>');
    expect(message.blocks.length).toBeLessThanOrEqual(50);
  });

  it('lists DNS kept by the deny-all\'s own exception apart from what other policies still allow', () => {
    const radiusText = (blastRadius: Record<string, unknown>): string => {
      const opened = openIncident({ id: '20261123-cccccc', scope: { namespace: 'db' }, requestedBy: 'UREQ', channel: 'C1' }, playbook, t).incident;
      const incident = requestApproval(opened, 'contain', approval, { ...evidence, blastRadius }, t).incident;
      const section = incidentMessage(incident, playbook).blocks.map((b) => (b as { text?: { text?: string } }).text?.text ?? '').find((x) => x.includes('Containment cuts'));
      if (!section) throw new Error('no blast radius section');
      return section;
    };
    const shown = radiusText({
      cut: ['db/postgres[StatefulSet] => 0.0.0.0-255.255.255.255[External] : All Connections'],
      cutCount: 1,
      stillAllowed: ['api/orders[Deployment] => db/postgres[StatefulSet] : TCP 5432'],
      stillAllowedCount: 1,
      keptByDenyAll: ['db/postgres[StatefulSet] => kube-system/kube-dns[Deployment] : TCP 53,UDP 53'],
      keptByDenyAllCount: 1,
    });
    const [others, kept] = shown.split("*Kept by the quarantine's DNS exception (1):*");
    expect(others).toContain('*Still allowed by other policies (1):*');
    expect(others).toContain('api/orders[Deployment] =&gt; db/postgres[StatefulSet] : TCP 5432');
    expect(others).not.toContain('kube-dns');
    expect(kept).toContain('db/postgres[StatefulSet] =&gt; kube-system/kube-dns[Deployment] : TCP 53,UDP 53');
    // nothing kept by the exception (deny-all without DNS, or an older record): no such heading
    const none = radiusText({ cut: [], cutCount: 0, stillAllowed: [], stillAllowedCount: 0 });
    expect(none).not.toContain('DNS exception');
    expect(none).toContain('*Still allowed by other policies (0):*\n_none_');
    // capped lists say how many more there were
    const many = radiusText({ cut: [], cutCount: 0, stillAllowed: [], stillAllowedCount: 0, keptByDenyAll: ['a => b : UDP 53'], keptByDenyAllCount: 4 });
    expect(many).toContain("*Kept by the quarantine's DNS exception (4):*");
    expect(many).toContain('… and 3 more');
  });

  it('escapes user text so a reason cannot mention @channel or inject links', () => {
    const json = text(incidentMessage(waiting(), playbook));
    expect(json).not.toContain('<!channel>');
    expect(json).toContain('&lt;!channel&gt; &amp; &lt;@U999&gt;');
    expect(escapeMrkdwn('<a|b> & c')).toBe('&lt;a|b&gt; &amp; c');
  });

  it('keeps every section within Slack’s 3000-character limit', () => {
    const long = waiting('x'.repeat(10_000));
    const big = requestApproval(
      openIncident({ id: '20261123-bbbbbb', scope: { namespace: 'db' }, requestedBy: 'UREQ', channel: 'C1' }, playbook, t).incident,
      'contain',
      approval,
      { ...evidence, proposedPolicy: { data: 'y'.repeat(20_000) } },
      t,
    ).incident;
    for (const incident of [long, big]) {
      for (const block of incidentMessage(incident, playbook).blocks) {
        const sectionText = (block as { text?: { text?: string } }).text?.text ?? '';
        expect(sectionText.length).toBeLessThanOrEqual(3000);
      }
    }
  });

  it('shows partial approvals, then removes the buttons once decided', () => {
    const one = recordApproval(waiting(), 'contain', approval, 'UA', t).incident;
    expect(text(incidentMessage(one, playbook))).toContain('(1 of 2)');
    const both = recordApproval(one, 'contain', approval, 'UB', t).incident;
    const done = completeStep(startStep(both, 'contain', t).incident, 'contain', { summary: 'Contained: deny-all in place' }, [], t).incident;
    const json = text(incidentMessage(done, playbook));
    expect(json).not.toContain(APPROVE_ACTION);
    expect(json).toContain('Completed');
    expect(json).toContain('Contained: deny-all in place');
    expect(json).toContain('approved by <@UA>, <@UB>');
  });

  it('shows rejection and failure', () => {
    expect(text(incidentMessage(recordRejection(waiting(), 'contain', 'UA', t).incident, playbook))).toContain('rejected by <@UA>');
    const running = startStep(recordApproval(recordApproval(waiting(), 'contain', approval, 'UA', t).incident, 'contain', approval, 'UB', t).incident, 'contain', t).incident;
    const failed = failStep(running, 'contain', 'forbidden: <script>', t).incident;
    const json = text(incidentMessage(failed, playbook));
    expect(json).toContain('failed: forbidden: &lt;script&gt;');
    expect(json).toContain('Failed');
  });
});

describe('button values', () => {
  it.each([
    ['{"incidentId":"20261123-aaaaaa","stepId":"contain"}', { incidentId: '20261123-aaaaaa', stepId: 'contain' }],
    ['not json', undefined],
    ['{"incidentId":"../../etc","stepId":"contain"}', undefined],
    ['{"incidentId":"a","stepId":"x","__proto__":{"polluted":1}}', { incidentId: 'a', stepId: 'x' }],
    ['{"incidentId":1,"stepId":"contain"}', undefined],
    ['[]', undefined],
    ['null', undefined],
    [undefined, undefined],
    ['{"incidentId":"' + 'a'.repeat(600) + '","stepId":"x"}', undefined],
  ])('parses %j', (value, expected) => {
    expect(parseButtonValue(value)).toEqual(expected);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('thread replies and status', () => {
  it('names the actor once', () => {
    expect(timelineReply({ at: '2026-11-23T10:00:05Z', type: 'step.approved', actor: 'slack:UA', summary: 'Approved by <@UA>' })).toBe('`10:00:05` Approved by <@UA>');
    expect(timelineReply({ at: '2026-11-23T10:00:05Z', type: 'incident.opened', actor: 'slack:UA', summary: 'Incident opened' })).toBe('`10:00:05` <@UA> Incident opened');
    expect(timelineReply({ at: '2026-11-23T10:00:05Z', type: 'policy.applied', actor: 'bot', summary: 'Applied' })).toBe('`10:00:05` :robot_face: Applied');
  });

  it('summarises incidents', () => {
    expect(statusSummary([], playbook)).toBe('No incidents yet.');
    expect(statusSummary([waiting()], playbook)).toContain('`20261123-aaaaaa`');
  });
});
