// An incident opened by automatic response, as its transitions record it and as people read it:
// the incident message, the thread, the alert, the postmortem and the names the CLI looks up.
// Never a broken mention of a user called "bot".
import { describe, expect, it } from 'vitest';
import type { AnomalyRecord } from '../../src/anomaly/store.js';
import { postmortemUserIds } from '../../src/commands/user-names.js';
import type { Anomaly } from '../../src/flows/types.js';
import { keepContained, recordLiftApproval, startLift } from '../../src/incident/containment-transitions.js';
import { openedByText, requesterUserId, type Incident } from '../../src/incident/model.js';
import { completeStep, openIncident, requestApproval, startStep, type OpenRequest } from '../../src/incident/transitions.js';
import { anomalyAlert, OPEN_INCIDENT_ACTION } from '../../src/slack/anomaly-blocks.js';
import { incidentMessage, timelineReply } from '../../src/slack/blocks.js';
import { KEEP_ACTION, LIFT_NOW_ACTION } from '../../src/slack/contain-blocks.js';
import { renderMarkdown } from '../../src/timeline/render.js';
import { automaticActor, type StoredTimelineEvent, type TimelineEvent } from '../../src/timeline/types.js';
import { testPlaybook } from '../helpers/playbook.js';

const playbook = testPlaybook('two');
const at = (s: number) => new Date(Date.parse('2026-11-23T10:00:00Z') + s * 1000);
const request: OpenRequest = {
  id: '20261123-auto01',
  scope: { namespace: 'db', selector: 'app=postgres', labelSelector: { matchLabels: { app: 'postgres' } } },
  reason: 'postgres sends to 203.0.113.66',
  requestedBy: 'U0ATTACKER',
  channel: 'C1',
  anomalyIds: ['a@1'],
  auto: { rule: 1, strategy: 'cilium', maxDuration: 900_000, anomalyId: 'a@1' },
};

function autoContained(): { incident: Incident; timeline: StoredTimelineEvent[] } {
  const events: TimelineEvent[] = [];
  const step = <T extends { incident: Incident; events: TimelineEvent[] }>(t: T): Incident => {
    events.push(...t.events);
    return t.incident;
  };
  let incident = step(openIncident(request, playbook, at(0)));
  const rule = { ...playbook.steps[0]!.approval, rule: 'none' as const };
  incident = step(requestApproval(incident, 'contain', rule, { summary: 'evidence' }, at(1), { actor: automaticActor, summary: 'No approval asked: automatic response' }));
  incident = step(startStep(incident, 'contain', at(2)));
  const containment = { status: 'active' as const, strategy: 'cilium', appliedAt: at(3).toISOString(), expiresAt: at(903).toISOString(), auto: true, liftApprovals: [] };
  incident = step(completeStep(incident, 'contain', { summary: 'Contained with cilium' }, [], at(3), containment));
  return { incident, timeline: events.map((e, i) => ({ ...e, id: `${i + 1}-0` })) };
}

describe('an incident opened by automatic response', () => {
  it('is opened by the bot, not by whoever the request names, and records its automatic settings', () => {
    const { incident, events } = openIncident(request, playbook, at(0));
    expect(incident.requestedBy).toBe(automaticActor);
    expect(incident.auto).toEqual(request.auto);
    expect(requesterUserId(incident)).toBeUndefined();
    expect(openedByText(incident)).toBe('netpol-responder (automatic response)');
    expect(events[0]).toMatchObject({ type: 'incident.opened', actor: automaticActor, summary: expect.stringMatching(/^Automatic response \(anomalies\.autoContain rule 2\) opened the incident for pods matching `app=postgres` in `db`: postgres sends.*for at most 15m unless an approver keeps it$/) });
    // A person's incident is unchanged.
    const manual = openIncident({ ...request, auto: undefined }, playbook, at(0)).incident;
    expect(manual.requestedBy).toBe('U0ATTACKER');
    expect(manual.auto).toBeUndefined();
    expect(openedByText(manual)).toBe('<@U0ATTACKER>');
    expect(openedByText(manual, { U0ATTACKER: 'alice' })).toBe('@alice');
  });

  it('skips the approval request: the step is approved by automatic response', () => {
    const { incident, timeline } = autoContained();
    expect(timeline.map((e) => e.type)).not.toContain('approval.requested');
    expect(timeline.find((e) => e.type === 'step.approved')).toMatchObject({ actor: automaticActor, summary: 'No approval asked: automatic response' });
    expect(incident.steps.contain?.approvals).toEqual([]);
  });

  it('renders in Slack with the bot as opener, and Keep contained / Lift now', () => {
    const { incident, timeline } = autoContained();
    const blocks = JSON.stringify(incidentMessage(incident, playbook).blocks);
    expect(blocks).toContain('*Opened by*\\nnetpol-responder (automatic response)');
    expect(blocks).toContain(`"action_id":"${KEEP_ACTION}"`);
    expect(blocks).toContain(`"action_id":"${LIFT_NOW_ACTION}"`);
    expect(blocks).toContain('applied automatically, without an approval');
    for (const event of timeline) expect(timelineReply(event)).not.toMatch(/<@bot/);
    expect(blocks).not.toMatch(/<@bot/);
  });

  it('reads in the postmortem as opened by automatic response, and asks Slack for no such user', () => {
    const { incident, timeline } = autoContained();
    const md = renderMarkdown({ incident, timeline, stepTitles: { contain: 'Confirm & Contain' }, userNames: {}, generatedAt: at(1000) });
    expect(md).toContain('- **Opened:** 2026-11-23T10:00:00.000Z by netpol-responder (automatic response)');
    expect(md).toMatch(/\| 2026-11-23T10:00:00\.000Z \| netpol-responder \(automatic response\) \| +\| Automatic response/);
    expect(md).not.toMatch(/<@bot|@bot:/);
    expect(postmortemUserIds(incident, timeline)).toEqual([]);
    const kept = keepContained(incident, 'U0BOB', at(10));
    expect(postmortemUserIds(kept.incident, [...timeline, ...kept.events.map((e, i) => ({ ...e, id: `k${i}` }))])).toEqual(['U0BOB']);
  });

  it('an approver may lift it (there is no requester to exclude); Keep contained ends the time box', () => {
    const { incident } = autoContained();
    // The contain step's rule is two: the first approval is recorded, the second lifts.
    const first = recordLiftApproval(incident, 'two', 'U0BOB', at(10));
    expect(first.approved).toBe(false);
    expect(recordLiftApproval(first.incident, 'two', 'U0CAROL', at(11)).approved).toBe(true);
    expect(startLift(incident, 'lift-now', 'slack:U0BOB', at(10)).incident.containment).toMatchObject({ status: 'lifting', liftReason: 'lift-now' });
    const kept = keepContained(incident, 'U0BOB', at(10)).incident;
    expect(kept.containment).toMatchObject({ status: 'active', auto: false });
    expect(kept.containment?.expiresAt).toBeUndefined();
    expect(JSON.stringify(incidentMessage(kept, playbook).blocks)).not.toContain(`"action_id":"${KEEP_ACTION}"`);
  });
});

const anomaly: Anomaly = {
  id: 'alertmanager:f1@1',
  kind: 'external-alert',
  severity: 'critical',
  title: 'payments calls an unknown host',
  workload: { namespace: 'api', name: 'payments', kind: '' },
  scope: { namespace: 'api', podSelector: { app: 'payments' }, reason: 'r' },
  baseline: { metric: 'm', expected: 0, observed: 1, unit: 'alert', description: 'raised by Alertmanager' },
  evidence: [],
  dedupeKey: 'k',
  firstSeen: 1,
  lastSeen: 1,
  origin: 'alertmanager',
  details: {},
};
const json = (record: AnomalyRecord) => JSON.stringify(anomalyAlert(record).blocks);

describe('the anomaly alert under automatic response', () => {
  it('says it was contained automatically, by which rule, as which incident, and offers no buttons', () => {
    const text = json({ anomaly, raisedAt: 't', decision: { kind: 'auto-contained', user: automaticActor, at: '2026-11-23T10:00:00.000Z', incidentId: '20261123-auto01', rule: 0, maxDuration: 120_000 } });
    expect(text).toContain('Contained automatically as incident `20261123-auto01`');
    expect(text).toContain('anomalies.autoContain rule 1');
    expect(text).toContain('time-boxed to 2m');
    expect(text).not.toContain(OPEN_INCIDENT_ACTION);
    expect(text).not.toMatch(/<@bot/);
  });

  it('says why it was not contained, and still offers Open incident', () => {
    const refused = json({ anomaly, raisedAt: 't', autoResponse: { outcome: 'refused', reason: '3 per hour in `api` already; the next is allowed after 2026-11-23T11:00:00.000Z', at: 't' } });
    expect(refused).toContain('*Automatic containment refused*: 3 per hour in `api` already');
    expect(refused).toContain(OPEN_INCIDENT_ACTION);
    const skipped = json({ anomaly, raisedAt: 't', autoResponse: { outcome: 'skipped', reason: 'incident `x` is already open for this scope', at: 't' } });
    expect(skipped).toContain('Not contained automatically: incident `x` is already open for this scope');
    expect(skipped).toContain(OPEN_INCIDENT_ACTION);
    // After a person opened it, the alert still says why automatic response did not.
    const opened = json({ anomaly, raisedAt: 't', autoResponse: { outcome: 'refused', reason: '3 per hour in `api` already', at: 't' }, decision: { kind: 'opened', user: 'U0ALICE', at: 't', incidentId: '20261123-man001' } });
    expect(opened).toContain('Automatic containment refused');
    expect(opened).toContain('Incident `20261123-man001` opened by <@U0ALICE>');
    expect(opened).not.toContain(OPEN_INCIDENT_ACTION);
  });

  it('escapes a hostile reason and keeps the context within Slack limits', () => {
    const hostile = json({ anomaly, raisedAt: 't', autoResponse: { outcome: 'refused', reason: `<!channel> <@U0BOB> ${'x'.repeat(5000)}`, at: 't' } });
    expect(hostile).not.toContain('<!channel>');
    expect(hostile).toContain('&lt;!channel&gt;');
    const context = anomalyAlert({ anomaly, raisedAt: 't', autoResponse: { outcome: 'refused', reason: 'y'.repeat(5000), at: 't' } }).blocks.find((b) => b.type === 'context') as unknown as { elements: { text: string }[] };
    expect(context.elements[0]!.text.length).toBeLessThanOrEqual(3000);
  });
});
