// Automatic response end to end: anomalies raised through the Alertmanager webhook (and the desk,
// as the collector raises them) are contained at once by the first matching rule, without
// approval and time-boxed; approvers keep or lift them; the time box lifts and verifies; the rate
// limit refuses the 4th in a namespace and the one past the total, and says so on the alert.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Anomaly } from '../../src/flows/types.js';
import { WEBHOOK_TOKEN, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { OPEN_INCIDENT_ACTION } from '../../src/slack/anomaly-blocks.js';
import { KEEP_ACTION, LIFT_ACTION, LIFT_NOW_ACTION } from '../../src/slack/contain-blocks.js';
import { APPROVE_ACTION } from '../../src/slack/blocks.js';
import { DEMO_CHANNEL, DEMO_USERS, startTestEnvironment, waitForContained, waitForStatus } from '../helpers/environment.js';

let env: EmbeddedEnvironment;
beforeAll(async () => {
  env = await startTestEnvironment({
    anomalies: {
      autoContain: [
        // The frontend's box is short so the test sees it run out.
        { namespaces: ['frontend'], minSeverity: 'high', maxDuration: '2s' },
        { kinds: ['external-alert'], minSeverity: 'high', strategy: 'networkpolicy-exclusive', maxDuration: '10m' },
      ],
      autoContainLimit: { perNamespace: 3, total: 5, window: '1h' },
    },
  });
});
afterAll(() => env?.stop());

let fingerprint = 0;
async function raiseAlert(labels: Record<string, string>, summary: string): Promise<SimMessage> {
  fingerprint += 1;
  const payload = {
    version: '4',
    status: 'firing',
    receiver: 'netpol',
    groupKey: 'g',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.local',
    alerts: [{ status: 'firing', labels: { alertname: 'UnexpectedEgress', ...labels }, annotations: { summary }, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: `auto-${fingerprint}` }],
  };
  const response = await fetch(`http://127.0.0.1:${env.bot!.port}/webhooks/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` },
    body: JSON.stringify(payload),
  });
  expect(response.status).toBe(200);
  return alertFor(summary);
}

const blocksOf = (m: SimMessage) => JSON.stringify(m.blocks ?? []);
const alertFor = (summary: string) => env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('Anomaly') && m.text.includes(summary), 10_000);
const incidentOf = (alert: SimMessage) => /Contained automatically as incident `([a-z0-9-]+)`/.exec(blocksOf(alert))?.[1];
const hasAction = (m: SimMessage, action: string) => blocksOf(m).includes(`"action_id":"${action}"`);
const incidentMessage = (id: string, action: string) => env.slack.waitForMessage((m) => !m.threadTs && blocksOf(m).includes(`NetworkPolicy incident ${id}`) && hasAction(m, action), 10_000);
const ephemeralFor = (user: string, text: string, after: number) => env.slack.waitForMessage((m) => m.visibleTo === user && m.text.includes(text) && Number(m.ts) > after, 5000);
const lastTs = () => Math.max(0, ...env.slack.messages(DEMO_CHANNEL).map((m) => Number(m.ts)));
const quarantine = (namespace: string, id: string) => env.kube.get('NetworkPolicy', namespace, `netpol-responder-quarantine-${id}`);
const policiesIn = (namespace: string) =>
  JSON.stringify(
    env.kube
      .list('NetworkPolicy', namespace)
      .map((p) => p as { metadata: { name: string; labels?: object; annotations?: object }; spec: unknown })
      .map((o) => [o.metadata.name, o.metadata.labels, o.metadata.annotations, o.spec]),
  );

/** Raises a matching alert and waits until its incident holds the scope contained. */
async function autoContained(labels: Record<string, string>, summary: string): Promise<{ alert: SimMessage; id: string; message: SimMessage }> {
  const alert = await raiseAlert(labels, summary);
  const id = incidentOf(alert);
  if (!id) throw new Error(`not contained automatically: ${blocksOf(alert)}`);
  await waitForContained(env, id);
  return { alert, id, message: await incidentMessage(id, KEEP_ACTION) };
}

describe('automatic response', () => {
  it('contains a matching anomaly at once, without approval, time-boxed, opened by the bot', async () => {
    const { alert, id, message } = await autoContained({ namespace: 'api', app: 'payments', severity: 'critical' }, 'payments calls an unknown host');
    expect(blocksOf(alert)).toContain('anomalies.autoContain rule 2');
    expect(blocksOf(alert)).not.toContain(OPEN_INCIDENT_ACTION);
    const incident = await env.bot!.store.require(id);
    expect(incident.auto).toMatchObject({ rule: 1, strategy: 'networkpolicy-exclusive', maxDuration: 600_000 });
    expect(incident.scope).toMatchObject({ namespace: 'api', selector: 'app=payments' });
    expect(incident.containment).toMatchObject({ status: 'active', auto: true, strategy: 'networkpolicy-exclusive' });
    expect(Date.parse(incident.containment!.expiresAt!) - Date.parse(incident.containment!.appliedAt)).toBe(600_000);
    expect(incident.steps.contain?.approvals).toEqual([]);
    const policy = quarantine('api', id) as { metadata: { annotations: Record<string, string> } };
    expect(policy.metadata.annotations['netpol-responder.io/approved-by']).toBe('netpol-responder (automatic response)');

    const text = blocksOf(message);
    expect(text).toContain('netpol-responder (automatic response)');
    expect(hasAction(message, LIFT_NOW_ACTION)).toBe(true);
    expect(hasAction(message, LIFT_ACTION)).toBe(false);
    expect(text).not.toContain(APPROVE_ACTION);
    expect(text).not.toMatch(/<@bot/);
    const timeline = await env.bot!.store.timeline(id);
    expect(timeline.map((e) => e.type)).not.toContain('approval.requested');
    expect(timeline.find((e) => e.type === 'incident.opened')?.actor).toBe('bot:automatic-response');
    expect(timeline.find((e) => e.type === 'step.approved')).toMatchObject({ actor: 'bot:automatic-response', summary: expect.stringContaining('No approval asked: automatic response') });

    const before = lastTs();
    await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `status ${id}` });
    expect((await ephemeralFor(DEMO_USERS.oncall.id, `Incident \`${id}\``, before)).text).toContain('by netpol-responder (automatic response) in');
    const postmortem = await env.bot!.engine.postmortem(incident, 'md');
    expect(postmortem).toContain('by netpol-responder (automatic response)');
    expect(postmortem).toMatch(/\| netpol-responder \(automatic response\) \| +\| Automatic response \(anomalies.autoContain rule 2\) opened/);
    // Clicking the decided alert changes nothing.
    expect(await env.bot!.desk!.openIncident(incident.anomalyIds![0]!, DEMO_USERS.oncall.id)).toEqual({ ok: false, message: expect.stringContaining(`Already contained automatically as incident \`${id}\``) });
  });

  it('Keep contained: refused for a non-approver; an approver turns it into a normal containment without a time box', async () => {
    const id = (await env.bot!.store.list(20)).find((i) => i.scope.selector === 'app=payments')!.id;
    const message = await incidentMessage(id, KEEP_ACTION);
    const expiresAt = (await env.bot!.store.require(id)).containment!.expiresAt!;
    let before = lastTs();
    await env.driver!.clickButton({ userId: DEMO_USERS.outsider.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: KEEP_ACTION });
    await ephemeralFor(DEMO_USERS.outsider.id, 'Only approvers', before);
    expect((await env.bot!.store.require(id)).containment).toMatchObject({ auto: true, expiresAt });

    before = lastTs();
    await env.driver!.clickButton({ userId: DEMO_USERS.secondApprover.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: KEEP_ACTION });
    await ephemeralFor(DEMO_USERS.secondApprover.id, 'Kept contained', before);
    const kept = await env.bot!.store.require(id);
    expect(kept.containment).toMatchObject({ status: 'active', auto: false });
    expect(kept.containment!.expiresAt).toBeUndefined();
    // The old time box firing now changes nothing; the thread offers the normal lift.
    await env.bot!.engine.containment.expire(id, expiresAt);
    expect((await env.bot!.store.require(id)).containment?.status).toBe('active');
    const normal = await incidentMessage(id, LIFT_ACTION);
    expect(hasAction(normal, KEEP_ACTION)).toBe(false);
    expect(hasAction(normal, LIFT_NOW_ACTION)).toBe(false);
    expect((await env.bot!.store.timeline(id)).find((e) => e.type === 'containment.kept')?.actor).toBe(`slack:${DEMO_USERS.secondApprover.id}`);
  });

  it('Lift now: refused for a non-approver; an approver lifts at once and the lift is verified', async () => {
    const before = policiesIn('api');
    const { id, message } = await autoContained({ namespace: 'api', app: 'orders', severity: 'critical' }, 'orders fans out');
    expect(policiesIn('api')).not.toBe(before);
    let seen = lastTs();
    await env.driver!.clickButton({ userId: DEMO_USERS.outsider.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: LIFT_NOW_ACTION });
    await ephemeralFor(DEMO_USERS.outsider.id, 'Only approvers', seen);
    expect((await env.bot!.store.require(id)).containment?.status).toBe('active');
    seen = lastTs();
    await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: LIFT_NOW_ACTION });
    await waitForStatus(env, id, 'completed');
    expect((await env.bot!.store.require(id)).containment).toMatchObject({ status: 'lifted', liftReason: 'lift-now' });
    const timeline = await env.bot!.store.timeline(id);
    expect(timeline.find((e) => e.type === 'containment.lift-verified')?.summary).toMatch(/^Lift verified by the engine/);
    expect(quarantine('api', id)).toBeUndefined();
    expect(policiesIn('api')).toBe(before);
    // The kept payments containment is still in force: only orders' exclusions are gone.
    expect((await env.bot!.store.list(20)).find((i) => i.scope.selector === 'app=payments')?.containment?.status).toBe('active');
  });

  it('a time box that runs out without a decision lifts and verifies', async () => {
    const before = policiesIn('frontend');
    const { id } = await autoContained({ namespace: 'frontend', app: 'web', severity: 'high' }, 'web beacons out');
    const incident = await env.bot!.store.require(id);
    expect(incident.auto).toMatchObject({ rule: 0, maxDuration: 2000 });
    await waitForStatus(env, id, 'completed', 15_000);
    expect((await env.bot!.store.require(id)).containment).toMatchObject({ status: 'lifted', liftReason: 'expired' });
    const types = (await env.bot!.store.timeline(id)).map((e) => e.type);
    expect(types.slice(-4)).toEqual(['containment.lift-approved', 'containment.lifted', 'containment.lift-verified', 'incident.completed']);
    expect(types).toContain('containment.expiring');
    expect((await env.bot!.store.timeline(id)).find((e) => e.type === 'containment.lift-verified')?.summary).toMatch(/^Lift verified by the engine/);
    expect(policiesIn('frontend')).toBe(before);
  });

  it('never contains a protected namespace, nor an anomaly no rule matches (severity or kind)', async () => {
    const usage = () => env.bot!.desk!.autoLimiter!.usage('kube-system');
    const protectedAlert = await raiseAlert({ namespace: 'kube-system', 'k8s-app': 'kube-dns', severity: 'critical' }, 'coredns talks to a stranger');
    expect(blocksOf(protectedAlert)).toContain('is a protected namespace');
    expect(incidentOf(protectedAlert)).toBeUndefined();
    const low = await raiseAlert({ namespace: 'db', app: 'postgres', severity: 'warning' }, 'postgres slow queries');
    expect(incidentOf(low)).toBeUndefined();
    expect(blocksOf(low)).toContain(OPEN_INCIDENT_ACTION);
    const now = Date.now();
    const fanOut: Anomaly = {
      id: `fan-out:db/postgres@${now}`,
      kind: 'fan-out',
      severity: 'critical',
      title: 'db/postgres reaches 40 destinations',
      workload: { namespace: 'db', name: 'postgres', kind: 'StatefulSet' },
      scope: { namespace: 'db', podSelector: { app: 'postgres' }, reason: 'the workload’s pods' },
      baseline: { metric: 'destinations', expected: 2, observed: 40, unit: 'destinations', description: 'at most 2 in 1h' },
      evidence: [],
      dedupeKey: 'fan-out:db/postgres',
      firstSeen: now,
      lastSeen: now,
      origin: 'flows',
      details: {},
    };
    await env.bot!.desk!.raise(fanOut);
    const kind = await alertFor('reaches 40 destinations');
    expect(incidentOf(kind)).toBeUndefined();
    expect(blocksOf(kind)).toContain(OPEN_INCIDENT_ACTION);
    expect((await env.bot!.store.list(50)).filter((i) => i.auto)).toHaveLength(3);
    expect(await usage()).toEqual({ namespace: 0, total: 3 });
  });

  it('a hostile anomaly that breaks automatic response still gets its alert, saying so', async () => {
    const now = Date.now();
    await env.bot!.desk!.raise({
      id: `external-alert:Not_A_Namespace@${now}`,
      kind: 'external-alert',
      severity: 'critical',
      title: 'forged anomaly <!channel>',
      workload: { namespace: 'Not_A_Namespace', name: 'x', kind: '' },
      scope: { namespace: 'Not_A_Namespace', reason: 'forged' },
      baseline: { metric: 'm', expected: 0, observed: 1, unit: 'alert', description: 'forged' },
      evidence: [],
      dedupeKey: 'forged',
      firstSeen: now,
      lastSeen: now,
      origin: 'alertmanager',
      details: {},
    });
    const alert = await alertFor('forged anomaly');
    expect(blocksOf(alert)).toContain('Automatic containment refused*: automatic response failed (not a namespace name');
    expect(incidentOf(alert)).toBeUndefined();
    expect(await env.bot!.desk!.autoLimiter!.usage('db')).toEqual({ namespace: 0, total: 3 });
  });

  it('an anomaly for a scope an incident already holds is not contained again, and uses no allowance', async () => {
    const again = await raiseAlert({ namespace: 'api', app: 'payments', severity: 'critical' }, 'payments again');
    expect(blocksOf(again)).toMatch(/Not contained automatically: incident `[a-z0-9-]+` is already open for this scope/);
    expect(await env.bot!.desk!.autoLimiter!.usage('api')).toEqual({ namespace: 2, total: 3 });
  });

  it('the engine double-checks an automatic request: protected or unknown namespace, a scope already held', async () => {
    const auto = { rule: 1, maxDuration: 600_000, anomalyId: 'x@1' };
    const request = (id: string, namespace: string, selector?: string) => ({
      id,
      scope: { namespace, ...(selector ? { selector, labelSelector: { matchLabels: { app: selector.split('=')[1]! } } } : {}) },
      reason: 'direct',
      requestedBy: 'bot:automatic-response',
      channel: DEMO_CHANNEL,
      auto,
    });
    const calls = env.slack.calls.length;
    await env.bot!.engine.handle({ name: 'open', data: { request: request('20261123-prot01', 'kube-system') } });
    await env.bot!.engine.handle({ name: 'open', data: { request: request('20261123-gone01', 'no-such-namespace') } });
    expect(await env.bot!.store.get('20261123-prot01')).toBeUndefined();
    expect(await env.bot!.store.get('20261123-gone01')).toBeUndefined();
    const held = (await env.bot!.store.list(50)).find((i) => i.scope.selector === 'app=payments')!;
    await env.bot!.engine.handle({ name: 'open', data: { request: request('20261123-dupe01', 'api', 'app=payments') } });
    expect(await env.bot!.store.get('20261123-dupe01')).toBeUndefined();
    const duplicate = (await env.bot!.store.timeline(held.id)).find((e) => e.type === 'incident.duplicate');
    expect(duplicate).toMatchObject({ actor: 'bot:automatic-response', summary: expect.stringMatching(/^Automatic response: another anomaly for the same scope/) });
    // Nobody to answer: no ephemeral message to a user called "bot".
    expect(env.slack.calls.slice(calls).filter((c) => c.method === 'chat.postEphemeral' || c.kind === 'response_url')).toEqual([]);
    expect(await env.bot!.desk!.autoLimiter!.usage('api')).toEqual({ namespace: 2, total: 3 });
  });

  it('refuses the 4th in a namespace within the window, says so on the alert, and still offers Open incident', async () => {
    await autoContained({ namespace: 'api', app: 'third', severity: 'critical' }, 'third in api');
    const refused = await raiseAlert({ namespace: 'api', app: 'fourth', severity: 'critical' }, 'fourth in api');
    const text = blocksOf(refused);
    expect(text).toContain('Automatic containment refused');
    expect(text).toContain('3 per hour in `api` already');
    expect(text).toContain(OPEN_INCIDENT_ACTION);
    expect(incidentOf(refused)).toBeUndefined();
    expect((await env.bot!.store.list(50)).some((i) => i.scope.selector === 'app=fourth')).toBe(false);
    // A person can still open it: a normal incident that waits for approval.
    await env.driver!.clickButton({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, messageTs: refused.ts, actionId: OPEN_INCIDENT_ACTION });
    const opened = await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('NetworkPolicy incident') && m.text.includes('app=fourth') && blocksOf(m).includes(APPROVE_ACTION), 10_000);
    expect(blocksOf(opened)).toContain(`<@${DEMO_USERS.oncall.id}>`);
  });

  it('refuses past the total across namespaces', async () => {
    await autoContained({ namespace: 'db', app: 'postgres', severity: 'critical' }, 'postgres exfiltrates');
    expect(await env.bot!.desk!.autoLimiter!.usage('db')).toEqual({ namespace: 1, total: 5 });
    const refused = await raiseAlert({ namespace: 'db', app: 'redis-cache', severity: 'critical' }, 'redis exfiltrates');
    expect(blocksOf(refused)).toContain('5 per hour across all namespaces already');
    expect(incidentOf(refused)).toBeUndefined();
    const all = env.slack.messages(DEMO_CHANNEL).map((m) => `${m.text} ${blocksOf(m)}`).join('\n');
    expect(all).not.toMatch(/<@bot/);
  });
});
