import { describe, expect, it } from 'vitest';
import { openIncident, recordApproval, requestApproval, startStep, completeStep, recordRejection } from '../../src/incident/transitions.js';
import { formatDuration, postmortemFileName, renderJson, renderMarkdown } from '../../src/timeline/render.js';
import type { StoredTimelineEvent, TimelineEvent } from '../../src/timeline/types.js';
import { testPlaybook } from '../helpers/playbook.js';

const playbook = testPlaybook('one');
const approval = playbook.steps[0]!.approval;
const at = (s: number) => new Date(Date.parse('2026-11-23T10:00:00Z') + s * 1000);

function contained() {
  const events: TimelineEvent[] = [];
  const step = <T extends { events: TimelineEvent[] }>(t: T): T => {
    events.push(...t.events);
    return t;
  };
  let incident = step(openIncident({ id: '20261123-pm0001', scope: { namespace: 'db' }, requestedBy: 'UREQ', channel: 'C1', reason: 'a | pipe\nand newline' }, playbook, at(0))).incident;
  incident = step(requestApproval(incident, 'contain', approval, { summary: '2 pods', pods: [{ name: 'postgres-0' }], policies: [{ name: 'default-deny' }] }, at(5))).incident;
  incident = step(recordApproval(incident, 'contain', approval, 'UAPP', at(65))).incident;
  incident = step(startStep(incident, 'contain', at(66))).incident;
  const applied: TimelineEvent[] = [
    { at: at(66).toISOString(), type: 'policy.applied', actor: 'bot', step: 'contain', summary: 'Applied', data: { policy: { metadata: { name: 'q', namespace: 'db' }, spec: { podSelector: {} } } } },
    { at: at(67).toISOString(), type: 'policy.confirmed', actor: 'bot', step: 'contain', summary: 'Confirmed' },
  ];
  incident = step(completeStep(incident, 'contain', { summary: 'Contained' }, applied, at(67))).incident;
  const timeline: StoredTimelineEvent[] = events.map((e, i) => ({ ...e, id: `${i + 1}-0` }));
  return { incident, timeline };
}

describe('postmortem markdown', () => {
  it('reads as a postmortem: summary, scope, decisions, changes, timeline', () => {
    const { incident, timeline } = contained();
    const md = renderMarkdown({ incident, timeline, stepTitles: { contain: 'Confirm & Contain' }, userNames: { UREQ: 'alice', UAPP: 'bob' }, generatedAt: at(100) });
    expect(md).toMatch(/^# Postmortem timeline: incident 20261123-pm0001\n/);
    for (const heading of ['## Summary', '## Scope', '## Decisions', '## Changes applied to the cluster', '## Timeline']) expect(md).toContain(heading);
    expect(md).toContain('**Contained:** 2026-11-23T10:01:07.000Z (1m 7s after opening)');
    expect(md).toContain('| Confirm & Contain | approved | @bob | 2026-11-23T10:01:05.000Z |');
    expect(md).toContain('### 2026-11-23T10:01:06.000Z: Applied');
    expect(md).toContain('```yaml\nmetadata:\n  name: q');
    expect(md).toContain('| 2026-11-23T10:01:05.000Z | @bob | Confirm & Contain | Approved by @bob |');
    expect(md).toContain('Pods in scope (1): `postgres-0`');
    // A pipe or newline in user text cannot break the table.
    expect(md).toContain('a \\| pipe and newline');
    expect(md.split('\n').filter((l) => l.startsWith('| 2026')).length).toBe(timeline.length);
  });

  it('carries the evidence of step 1: anomalies with their sample flows, and the blast radius with its overflow', () => {
    const opened = openIncident({ id: '20261123-pm0003', scope: { namespace: 'db' }, requestedBy: 'UREQ', channel: 'C1' }, playbook, at(0));
    const evidence = {
      summary: 's',
      anomalies: [{ severity: 'high', title: 'db/postgres reached `203.0.113.66` <@UREQ>', baseline: 'never seen in 1.5 h', sampleFlows: ['db/postgres-0 -> world 203.0.113.66:443 TCP `FORWARDED`'] }],
      blastRadius: {
        cut: ['db/postgres[StatefulSet] => 0.0.0.0-255.255.255.255[External] : All Connections'],
        cutCount: 3,
        stillAllowed: [],
        stillAllowedCount: 0,
        keptByDenyAll: ['db/postgres[StatefulSet] => kube-system/kube-dns[Deployment] : TCP 53,UDP 53'],
        keptByDenyAllCount: 1,
      },
    };
    const waiting = requestApproval(opened.incident, 'contain', approval, evidence, at(1));
    const md = renderMarkdown({ incident: waiting.incident, timeline: [], stepTitles: {}, userNames: { UREQ: 'alice' }, generatedAt: at(3) });
    expect(md).toContain('Anomalies seen by the flow collector (1):');
    expect(md).toContain('- **high** db/postgres reached `203.0.113.66` @alice: never seen in 1.5 h');
    // A backtick in a flow line cannot close the code span early.
    expect(md).toContain("  - `db/postgres-0 -> world 203.0.113.66:443 TCP 'FORWARDED'`");
    expect(md).toContain('Connections containment cut (3):\n\n```\ndb/postgres[StatefulSet] => 0.0.0.0-255.255.255.255[External] : All Connections\n… and 2 more\n```');
    expect(md).not.toContain('kept allowed');
    expect(md).toContain("Connections the quarantine's own DNS exception kept open (1):\n\n```\ndb/postgres[StatefulSet] => kube-system/kube-dns[Deployment] : TCP 53,UDP 53\n```");
  });

  it('shows the containment proof, the traffic check and the verified lift', () => {
    const { incident, timeline } = contained();
    const extra: StoredTimelineEvent[] = [
      { id: '90-0', at: at(68).toISOString(), type: 'containment.proven', actor: 'bot', summary: 'Proven by the engine on the live objects: contained', data: { proof: { dns: ['egress -> kube-system/kube-dns[Deployment] : TCP 53,UDP 53'] } } },
      { id: '91-0', at: at(99).toISOString(), type: 'containment.traffic', actor: 'bot', summary: 'Traffic check (30 s): 0 flows forwarded, 14 dropped\n• window detail' },
      { id: '92-0', at: at(120).toISOString(), type: 'containment.lifted', actor: 'bot', summary: 'Containment lifted: deleted NetworkPolicy `q`' },
      { id: '93-0', at: at(120).toISOString(), type: 'containment.lift-verified', actor: 'bot', summary: "Lift verified by the engine: the scope's connectivity is what it was before containment (3 connections)" },
    ];
    const lifted = { ...incident, containment: { status: 'lifted' as const, strategy: 'networkpolicy-exclusive', appliedAt: at(67).toISOString(), liftApprovals: [], liftReason: 'approved' as const, liftedAt: at(120).toISOString() } };
    const md = renderMarkdown({ incident: lifted, timeline: [...timeline, ...extra], stepTitles: {}, userNames: {}, generatedAt: at(130) });
    expect(md).toContain('- **Contained:** 2026-11-23T10:01:08.000Z (1m 8s after opening), with `networkpolicy-exclusive`, proven by the policy engine');
    expect(md).toContain('- **Containment lifted:** 2026-11-23T10:02:00.000Z (approved)');
    const section = md.slice(md.indexOf('## Containment proof and lift'), md.indexOf('## Timeline'));
    expect(section).toContain('  - kept: `egress -> kube-system/kube-dns[Deployment] : TCP 53,UDP 53`');
    expect(section).toContain('Traffic check (30 s): 0 flows forwarded, 14 dropped\n  • window detail');
    expect(section).toContain("Lift verified by the engine: the scope's connectivity is what it was before containment");
  });

  it('says when nothing was applied and falls back to ids without names', () => {
    const opened = openIncident({ id: '20261123-pm0002', scope: { namespace: 'api', selector: 'app=x' }, requestedBy: 'UREQ', channel: 'C1' }, playbook, at(0));
    const waiting = requestApproval(opened.incident, 'contain', approval, { summary: 's' }, at(1));
    const rejected = recordRejection(waiting.incident, 'contain', 'UAPP', at(2));
    const timeline = [...opened.events, ...waiting.events, ...rejected.events].map((e, i) => ({ ...e, id: `${i}-1` }));
    const md = renderMarkdown({ incident: rejected.incident, timeline, stepTitles: {}, generatedAt: at(3) });
    expect(md).toContain('Nothing was applied.');
    expect(md).toContain('| contain | rejected | <@UAPP> |');
    expect(md).toContain('**Status:** rejected');
  });
});

describe('postmortem json and helpers', () => {
  it('round-trips the incident and timeline', () => {
    const { incident, timeline } = contained();
    const parsed = JSON.parse(renderJson({ incident, timeline, stepTitles: { contain: 'C' }, generatedAt: at(9) }));
    expect(parsed.incident).toEqual(incident);
    expect(parsed.timeline).toEqual(timeline);
    expect(parsed.generatedAt).toBe(at(9).toISOString());
  });

  it.each([
    [250, '250 ms'],
    [1000, '1s'],
    [61_000, '1m 1s'],
    [3_600_000, '1h'],
    [3_723_000, '1h 2m 3s'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('names files by incident and format', () => {
    expect(postmortemFileName('20261123-pm0001', 'md')).toBe('postmortem-20261123-pm0001.md');
  });
});
