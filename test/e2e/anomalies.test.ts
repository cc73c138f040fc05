// From traffic to containment: the collector learns the shop's normal traffic from the Hubble Relay
// stand-in, raises the exfiltration, the alert's "Open incident" starts the playbook with it as evidence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectorHasReadHistory, WEBHOOK_TOKEN, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { DISMISS_ACTION, OPEN_INCIDENT_ACTION } from '../../src/slack/anomaly-blocks.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { click, DEMO_CHANNEL, DEMO_USERS, hasApprovalButtons, startTestEnvironment, waitForContained } from '../helpers/environment.js';

let env: EmbeddedEnvironment;
beforeAll(async () => {
  env = await startTestEnvironment({ flows: true, metrics: true });
  // The relay's history is the shop's normal traffic: wait until the collector has read all of it.
  const collector = env.bot!.collector!;
  const deadline = Date.now() + 20_000;
  while (!collectorHasReadHistory(env)) {
    if (Date.now() > deadline) throw new Error(`the collector read ${collector.pipeline.counts.read} flows of the shop's history`);
    await new Promise((r) => setTimeout(r, 50));
  }
});
afterAll(() => env?.stop());

const alerts = () => env.slack.messages(DEMO_CHANNEL).filter((m) => !m.threadTs && m.text.startsWith('Anomaly'));
const hasButton = (m: SimMessage, action: string) => JSON.stringify(m.blocks ?? []).includes(action);

describe('anomalies into incidents', () => {
  it('learns normal traffic silently, then alerts on the exfiltration and opens an incident from it', async () => {
    expect(alerts()).toEqual([]);
    env.hubble!.triggerIncident();
    const alert = await env.slack.waitForMessage((m) => !m.threadTs && m.text.includes('203.0.113.66') && hasButton(m, OPEN_INCIDENT_ACTION), 15_000);
    const text = JSON.stringify(alert.blocks);
    expect(text).toContain('new-external-egress');
    expect(text).toContain('db/postgres-0');
    expect(text).toContain('pods matching `app=postgres` in `db`');

    await env.driver!.clickButton({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: OPEN_INCIDENT_ACTION });
    const incidentMessage = await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('NetworkPolicy incident') && hasApprovalButtons(m) && m.text.includes('app=postgres'), 15_000);
    const incidentText = JSON.stringify(incidentMessage.blocks);
    expect(incidentText).toContain('Anomalies seen by the flow collector');
    expect(incidentText).toContain('203.0.113.66');
    const decided = await env.slack.waitForMessage((m) => m.ts === alert.ts && !hasButton(m, OPEN_INCIDENT_ACTION), 5000);
    expect(JSON.stringify(decided.blocks)).toMatch(/Incident `[a-z0-9-]+` opened by <@U0ALICE>/);

    const incidentId = /NetworkPolicy incident ([a-z0-9-]+)/.exec(incidentMessage.text)![1]!;
    const incident = await env.bot!.store.require(incidentId);
    expect(incident.anomalyIds).toHaveLength(1);
    expect(incident.scope).toMatchObject({ namespace: 'db', selector: 'app=postgres' });
    await click(env, incidentMessage, DEMO_USERS.approver.id);
    await waitForContained(env, incidentId);
    const policy = env.kube.get('NetworkPolicy', 'db', `netpol-responder-quarantine-${incidentId}`) as { spec: { podSelector: unknown } };
    expect(policy.spec.podSelector).toEqual({ matchLabels: { app: 'postgres' } });

    // A late click (a stale view of the alert) on the decided anomaly changes nothing.
    const late = await env.bot!.desk!.dismiss(incident.anomalyIds![0]!, DEMO_USERS.approver.id);
    expect(late).toEqual({ ok: false, message: expect.stringContaining(`Already opened as incident \`${incidentId}\``) });
    const again = await env.bot!.desk!.openIncident(incident.anomalyIds![0]!, DEMO_USERS.secondApprover.id);
    expect(again.ok).toBe(false);
    expect((await env.bot!.store.list(100)).filter((i) => i.anomalyIds?.length)).toHaveLength(1);
  });

  it('a webhook alert from Alertmanager becomes an anomaly; dismissing it needs an approver', async () => {
    const url = `http://127.0.0.1:${env.bot!.port}/webhooks/alertmanager`;
    const payload = {
      version: '4',
      status: 'firing',
      receiver: 'netpol',
      groupKey: 'g',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager.local',
      alerts: [{ status: 'firing', labels: { alertname: 'UnexpectedEgress', namespace: 'api', app: 'payments', severity: 'critical' }, annotations: { summary: 'payments calls an unknown host' }, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'f1' }],
    };
    const refused = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token-wrong-token' }, body: JSON.stringify(payload) });
    expect(refused.status).toBe(401);
    const malformed = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` }, body: '{"alerts": 3' });
    expect(malformed.status).toBe(400);
    const huge = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` }, body: 'x'.repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect(alerts().filter((m) => m.text.includes('payments'))).toEqual([]);

    const accepted = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` }, body: JSON.stringify(payload) });
    expect(accepted.status).toBe(200);
    const alert = await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('Anomaly') && m.text.includes('payments calls an unknown host'), 10_000);

    const seen = env.slack.calls.length;
    await env.driver!.clickButton({ userId: DEMO_USERS.outsider.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: DISMISS_ACTION });
    const refusal = await env.slack.waitFor((c) => c.seq > seen && c.kind === 'response_url', 5000);
    expect(String(refusal.args.text)).toContain('Only approvers');
    await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: DISMISS_ACTION });
    const dismissed = await env.slack.waitForMessage((m) => m.ts === alert.ts && JSON.stringify(m.blocks).includes('Dismissed as expected by <@U0BOB>'), 5000);
    expect(hasButton(dismissed, OPEN_INCIDENT_ACTION)).toBe(false);
  });

  it('dismissing a flow anomaly mutes its dedupe key in the running collector', async () => {
    const spike = await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('Anomaly') && JSON.stringify(m.blocks).includes('policy-deny-spike') && hasButton(m, DISMISS_ACTION), 10_000);
    const actions = (spike.blocks as { type: string; elements?: { value: string }[] }[]).find((b) => b.type === 'actions')!;
    const anomalyId = actions.elements![0]!.value;
    await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: spike.ts, actionId: DISMISS_ACTION });
    await env.slack.waitForMessage((m) => m.ts === spike.ts && JSON.stringify(m.blocks).includes('Dismissed as expected'), 5000);
    const record = (await env.bot!.anomalies.get(anomalyId))!;
    expect(record.decision).toMatchObject({ kind: 'dismissed', user: DEMO_USERS.approver.id });
    const gate = env.bot!.collector!.pipeline.gate;
    await expect.poll(() => gate.admit(record.anomaly.dedupeKey, record.anomaly.lastSeen + 60_000), { timeout: 5000 }).toBe(false);
    expect(gate.admit(record.anomaly.dedupeKey, record.anomaly.lastSeen + env.config.collector!.dismissFor + 1)).toBe(true);
  });

  it('`/netpol incident` on a namespace with recent anomalies shows them', async () => {
    const result = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'incident db app=redis-cache -- look around' });
    const id = /Opening incident `([a-z0-9-]+)`/.exec(result.body)![1]!;
    const message = await env.slack.waitForMessage((m) => !m.threadTs && m.text.includes(id) && hasApprovalButtons(m), 10_000);
    expect(JSON.stringify(message.blocks)).toContain('Anomalies seen by the flow collector');
  });

  it('exposes the collector, the anomalies and the incidents as Prometheus metrics', async () => {
    expect((await fetch(`http://127.0.0.1:${env.bot!.metricsPort}/readyz`)).status).toBe(200);
    const text = await (await fetch(`http://127.0.0.1:${env.bot!.metricsPort}/metrics`)).text();
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}"|.]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    // Read at scrape time: the incident's flows may still be arriving.
    expect(value('netpol_responder_flows_read_total')).toBeGreaterThan(1000);
    expect(value('netpol_responder_flows_read_total')).toBeLessThanOrEqual(env.bot!.collector!.pipeline.counts.read);
    expect(value('netpol_responder_collector_active')).toBe(1);
    expect(value('netpol_responder_baseline_edges')).toBeGreaterThan(10);
    expect(value('netpol_responder_anomalies_raised_total{kind="new-external-egress",severity="high",origin="flows"}')).toBe(1);
    expect(value('netpol_responder_anomalies_raised_total{kind="external-alert",severity="critical",origin="alertmanager"}')).toBeGreaterThanOrEqual(1);
    expect(value('netpol_responder_timeline_events_total{type="policy.confirmed"}')).toBe(1);
    expect(value('netpol_responder_timeline_events_total{type="incident.opened"}')).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^netpol_responder_jobs\{state="completed"\} \d+$/m);
  });
});
