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

/** A two-step incident whose trace step (step 2) finished with `result`. */
function traced(result: Record<string, unknown>) {
  const twoSteps = testPlaybook('one', '  - id: trace\n    title: Trace & Audit\n    action: trace\n    approval: { rule: none }\n');
  let incident = openIncident({ id: '20261123-pm0004', scope: { namespace: 'db' }, requestedBy: 'UREQ', channel: 'C1' }, twoSteps, at(0)).incident;
  incident = requestApproval(incident, 'contain', twoSteps.steps[0]!.approval, { summary: 's' }, at(1)).incident;
  incident = recordApproval(incident, 'contain', twoSteps.steps[0]!.approval, 'UAPP', at(2)).incident;
  incident = completeStep(startStep(incident, 'contain', at(3)).incident, 'contain', { summary: 'Contained' }, [], at(4)).incident;
  incident = requestApproval(incident, 'trace', twoSteps.steps[1]!.approval, { summary: 'Tracing' }, at(5)).incident;
  incident = completeStep(startStep(incident, 'trace', at(5)).incident, 'trace', { summary: 'Traced', ...result }, [], at(6)).incident;
  return renderMarkdown({ incident, timeline: [], stepTitles: {}, userNames: { UCAROL: 'carol' }, generatedAt: at(9) });
}

const traceWindow = { since: '2026-11-22T10:00:00.000Z', until: '2026-11-23T10:00:06.000Z' };

describe('postmortem: what changed, who, and how we know (the trace step)', () => {
  const section = (md: string): string => md.slice(md.indexOf('## What changed, who, and how we know'), md.indexOf('## Timeline'));

  it('names the cause, states the limits, and gives each change its evidence, Git verdict and effect', () => {
    const md = traced({
      window: traceWindow,
      cause: { key: 'NetworkPolicy/db/allow-all-egress', at: '2026-11-23T09:59:58.000Z', confidence: 'high', why: 'its after-state allows the anomalous flow db/postgres-0 → 203.0.113.66:443/TCP' },
      limits: ['no policy repository answered', 'the change journal lags behind the cluster'],
      changes: [
        {
          key: 'NetworkPolicy/db/allow-all-egress',
          at: '2026-11-23T09:59:58.000Z',
          verb: 'create',
          actor: 'carol@shop.example',
          via: 'kubectl',
          evidence: 'audit',
          auditIDs: ['a-1', 'a-2'],
          git: { kind: 'out-of-band', reason: 'no commit holds it' },
          opened: ['-> 0.0.0.0/0 : All', '-> frontend/web : TCP 8080'],
          closed: [],
          opensAnomaly: true,
        },
        {
          key: 'NetworkPolicy/db/allow-db-from-api',
          at: '2026-11-23T08:00:00.000Z',
          verb: 'patch',
          actor: 'system:serviceaccount:argocd:argocd-application-controller',
          via: 'argocd',
          evidence: 'managedFields',
          auditIDs: [],
          git: { kind: 'gitops-apply', reason: 'applied', commit: { sha: '0123456789abcdef0123456789abcdef01234567', author: 'dave', subject: 'db: tighten | ports' } },
          opened: [],
          closed: ['<- api/orders : TCP 6379'],
          opensAnomaly: false,
        },
        { key: 'Namespace/db', at: '2026-11-23T07:00:00.000Z', verb: 'update', actor: '<@UCAROL> via\nbot', via: null, evidence: 'none', auditIDs: [], git: null, opened: [], closed: [], opensAnomaly: false },
      ],
    });
    const part = section(md);
    expect(part).toContain('Window: 2026-11-22T10:00:00.000Z to 2026-11-23T10:00:06.000Z. 3 changes touched the scope.');
    expect(part).toContain('**Most likely cause** (high confidence): NetworkPolicy/db/allow-all-egress at 2026-11-23T09:59:58.000Z: its after-state allows the anomalous flow db/postgres-0 → 203.0.113.66:443/TCP.');
    expect(part).toContain('- _no policy repository answered_\n- _the change journal lags behind the cluster_\n\n');
    const rows = part.split('\n').filter((l) => l.startsWith('| 2026'));
    expect(rows).toEqual([
      '| 2026-11-23T09:59:58.000Z | create NetworkPolicy/db/allow-all-egress | carol@shop.example | kubectl | audit a-1, a-2 | out-of-band | opened 2; lets the anomalous flow through |',
      // The commit is named by its short SHA, author and subject; a pipe in the subject cannot break the table.
      '| 2026-11-23T08:00:00.000Z | patch NetworkPolicy/db/allow-db-from-api | system:serviceaccount:argocd:argocd-application-controller | argocd | managedFields (weaker) | gitops-apply 0123456789ab (dave: db: tighten \\| ports) | closed 1 |',
      // Nothing known: said so in every column, Slack mentions become names, a newline stays in its cell.
      '| 2026-11-23T07:00:00.000Z | update Namespace/db | @carol via bot | ? | none | not checked | none |',
    ]);
    expect(part).toContain('| Time (UTC) | Change | Who | Via | Evidence | Git | Effect on the scope |');
  });

  it('with no cause, no limits and no change: the window and the count only, no table', () => {
    const md = traced({ window: traceWindow, cause: null, limits: [], changes: [] });
    const part = section(md);
    expect(part).toBe('## What changed, who, and how we know\n\nWindow: 2026-11-22T10:00:00.000Z to 2026-11-23T10:00:06.000Z. 0 changes touched the scope.\n\n');
    expect(md).not.toContain('Most likely cause');
  });

  it('one change without a cause: singular count, no cause line, the row still there', () => {
    const md = traced({
      window: traceWindow,
      cause: null,
      changes: [{ key: 'NetworkPolicy/db/x', at: '2026-11-23T09:00:00.000Z', verb: 'delete', actor: 'erin', via: 'helm', evidence: 'audit', auditIDs: ['z'], git: { kind: 'unknown', reason: 'r' }, opened: [], closed: ['a', 'b'], opensAnomaly: false }],
    });
    const part = section(md);
    expect(part).toContain('1 change touched the scope.');
    expect(part).not.toContain('Most likely cause');
    expect(part).not.toContain('- _');
    expect(part).toContain('| 2026-11-23T09:00:00.000Z | delete NetworkPolicy/db/x | erin | helm | audit z | unknown | closed 2 |');
  });

  it('an incident without a trace step has no such section', () => {
    const { incident, timeline } = contained();
    expect(renderMarkdown({ incident, timeline, stepTitles: {}, generatedAt: at(9) })).not.toContain('What changed, who');
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
