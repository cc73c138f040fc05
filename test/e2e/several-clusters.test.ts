// One bot serving two simulated clusters (config `clusters`): each command, click and webhook goes
// to its cluster; locks and journals are per cluster; every incident and alert names its cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../src/incident/model.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { WEBHOOK_TOKEN } from '../../src/sim/environment.js';
import { DISMISS_ACTION, OPEN_INCIDENT_ACTION } from '../../src/slack/anomaly-blocks.js';
import { APPROVE_ACTION } from '../../src/slack/blocks.js';
import { click, DEMO_CHANNEL, DEMO_USERS, hasApprovalButtons, openIncident, startTestEnvironment } from '../helpers/environment.js';
import { alertmanager as alertmanagerSample } from '../helpers/webhook-samples.js';

let env: EmbeddedEnvironment;

const runtime = (name: string) => {
  const bot = env.bot!.clusters.get(name);
  if (!bot) throw new Error(`no cluster ${name}`);
  return bot;
};
const cluster = (name: string) => env.clusters.get(name)!;
const quarantine = (id: string) => `netpol-responder-quarantine-${id}`;

async function waitForContainedIn(name: string, id: string): Promise<Incident> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const incident = await runtime(name).store.get(id);
    if (incident?.containment?.status === 'active') return incident;
    if (Date.now() > deadline) throw new Error(`incident ${id} in ${name} is not contained: ${incident?.status ?? 'missing'}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function type(text: string): Promise<string> {
  const result = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text });
  expect(result.status).toBe(200);
  return result.body;
}

describe('one bot, two clusters', () => {
  beforeAll(async () => {
    env = await startTestEnvironment({ clusters: ['eu', 'us'] });
  }, 60_000);
  afterAll(() => env?.stop());

  it('a namespace needs its cluster; an unknown cluster is refused; nothing is opened', async () => {
    expect(await type('incident db')).toContain('Which cluster? This bot serves `eu`, `us`');
    expect(await type('incident mars/db')).toContain('This bot does not serve a cluster `mars` (it serves `eu`, `us`)');
    expect(await type('incident eu/no-such-namespace')).toContain('Namespace `no-such-namespace` does not exist in cluster `eu`');
    expect(await runtime('eu').store.list()).toEqual([]);
    expect(await runtime('us').store.list()).toEqual([]);
  });

  it('the same namespace contained in both clusters at once, each in its own cluster only, each named', async () => {
    const eu = await openIncident(env, 'incident eu/db -- exfil seen in eu');
    // The scope lock is per cluster: db in us is another scope.
    const us = await openIncident(env, 'incident us/db -- exfil seen in us');
    expect(eu.incidentId).toMatch(/^eu-\d{8}-[a-z0-9]{6}$/);
    expect(us.incidentId).toMatch(/^us-\d{8}-[a-z0-9]{6}$/);
    expect(JSON.stringify(eu.message.blocks)).toContain('the whole namespace `db` of cluster `eu`');
    expect(JSON.stringify(us.message.blocks)).toContain('the whole namespace `db` of cluster `us`');
    // The record is in its own cluster's store only.
    expect(await runtime('us').store.get(eu.incidentId)).toBeUndefined();
    expect((await runtime('eu').store.get(eu.incidentId))?.cluster).toBe('eu');

    // An Approve on eu's message whose value names us's incident is refused; us stays unapproved.
    const tampered = await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: eu.message.ts, actionId: APPROVE_ACTION, value: JSON.stringify({ incidentId: us.incidentId, stepId: 'contain' }) });
    expect(tampered.status).toBe(200);
    await env.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.approver.id && m.text.includes(`does not belong to incident \`${us.incidentId}\``), 10_000);
    expect((await runtime('us').store.get(us.incidentId))?.steps.contain?.status).toBe('awaiting-approval');

    await click(env, eu.message, DEMO_USERS.approver.id);
    await waitForContainedIn('eu', eu.incidentId);
    expect(cluster('eu').kube.get('NetworkPolicy', 'db', quarantine(eu.incidentId))).toBeDefined();
    expect(cluster('us').kube.get('NetworkPolicy', 'db', quarantine(eu.incidentId))).toBeUndefined();
    // us is still waiting for its approval: nothing applied there.
    expect(cluster('us').kube.list('NetworkPolicy', 'db').map((p) => p.metadata?.name)).not.toContain(quarantine(us.incidentId));

    await click(env, us.message, DEMO_USERS.approver.id);
    await waitForContainedIn('us', us.incidentId);
    expect(cluster('us').kube.get('NetworkPolicy', 'db', quarantine(us.incidentId))).toBeDefined();
    expect(cluster('eu').kube.get('NetworkPolicy', 'db', quarantine(us.incidentId))).toBeUndefined();

    // A second incident on eu/db is refused by eu's lock, pointing at eu's incident.
    const again = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'incident eu/db' });
    expect(again.status).toBe(200);
    await env.slack.waitForMessage((m) => m.text.includes(`An incident is already open for the whole namespace \`db\` of cluster \`eu\`: \`${eu.incidentId}\``), 10_000);

    // Status lists both clusters' incidents; one incident's detail is found by its id alone.
    await type('status');
    const summary = await env.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.oncall.id && m.text.includes(eu.incidentId) && m.text.includes(us.incidentId), 10_000);
    expect(summary.text).toContain('of cluster `us`');
    await type(`status ${us.incidentId}`);
    await env.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.oncall.id && m.text.startsWith(`*Incident \`${us.incidentId}\`*`) && m.text.includes('of cluster `us`'), 10_000);
    expect(await type('export mars-20200101-zzzzzz')).toContain('No incident with id `mars-20200101-zzzzzz`. Nothing was exported.');

    // Each cluster's journal holds its own cluster's changes: its quarantine, not the other's.
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const journaled = async (name: string): Promise<string> => JSON.stringify(await runtime(name).journal.query({ since }));
    const deadline = Date.now() + 15_000;
    while (!(await journaled('us')).includes(quarantine(us.incidentId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await journaled('eu')).toContain(quarantine(eu.incidentId));
    expect(await journaled('eu')).not.toContain(quarantine(us.incidentId));
    expect(await journaled('us')).toContain(quarantine(us.incidentId));
    expect(await journaled('us')).not.toContain(quarantine(eu.incidentId));

    // Each apiserver's audit webhook posts to its cluster's URL (?cluster=): audit evidence stays apart.
    const audited = async (name: string): Promise<string> => JSON.stringify(await runtime(name).audit.query({ since }));
    while (!(await audited('us')).includes(quarantine(us.incidentId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await audited('us')).toContain(quarantine(us.incidentId));
    expect(await audited('us')).not.toContain(quarantine(eu.incidentId));
    expect(await audited('eu')).toContain(quarantine(eu.incidentId));
    expect(await audited('eu')).not.toContain(quarantine(us.incidentId));
  }, 90_000);

  it('an Alertmanager webhook goes to the cluster its URL names; the alert names it; without one it is refused', async () => {
    const post = (query: string, fingerprint: string) => {
      const alert = { ...alertmanagerSample.alerts[0]!, labels: { ...alertmanagerSample.alerts[0]!.labels, namespace: 'api' }, annotations: { summary: `egress ${fingerprint}` }, fingerprint };
      return fetch(`http://127.0.0.1:${env.bot!.port}/webhooks/alertmanager${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` },
        body: JSON.stringify({ ...alertmanagerSample, alerts: [alert] }),
      });
    };
    const missing = await post('', 'none');
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('add ?cluster=<name>');
    const unknown = await post('?cluster=mars', 'mars');
    expect(unknown.status).toBe(400);
    const hour = new Date(Date.now() - 3_600_000);
    const ok = await post('?cluster=us', 'in-us');
    expect(ok.status).toBe(200);
    const alert = await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('Anomaly') && m.text.includes('egress in-us'), 15_000);
    expect(alert.text).toContain('in cluster us');
    expect(JSON.stringify(alert.blocks)).toContain('*Cluster*\\n`us`');
    expect(JSON.stringify(alert.blocks)).toContain(DISMISS_ACTION);
    // Stored in us only; the refused deliveries stored nothing anywhere.
    expect((await runtime('us').anomalies.recent('api', hour)).map((r) => r.anomaly.title)).toEqual([expect.stringContaining('in-us')]);
    expect(await runtime('eu').anomalies.recent('api', hour)).toEqual([]);
  }, 60_000);
});

describe('two clusters, each with its Hubble Relay', () => {
  beforeAll(async () => {
    env = await startTestEnvironment({ clusters: ['eu', 'us'], flows: true });
    // Each cluster's collector reads its own relay's history of normal traffic.
    for (const name of ['eu', 'us']) {
      const deadline = Date.now() + 30_000;
      while ((runtime(name).collector?.pipeline.counts.read ?? 0) < cluster(name).hubble!.historyFlows) {
        if (Date.now() > deadline) throw new Error(`the collector of ${name} did not read its relay's history`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }, 90_000);
  afterAll(() => env?.stop());

  it("an exfiltration in one cluster is alerted as that cluster's; Open incident opens it there and contains it there", async () => {
    cluster('us').hubble!.triggerIncident();
    const alert = await env.slack.waitForMessage((m) => !m.threadTs && m.text.includes('203.0.113.66') && JSON.stringify(m.blocks ?? []).includes(OPEN_INCIDENT_ACTION), 20_000);
    expect(alert.text).toContain('in cluster us');
    expect(JSON.stringify(alert.blocks)).toContain('*Cluster*\\n`us`');
    await env.driver!.clickButton({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: OPEN_INCIDENT_ACTION });
    const message = await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('NetworkPolicy incident us-') && m.text.includes('app=postgres') && hasApprovalButtons(m), 15_000);
    const id = /NetworkPolicy incident ([a-z0-9-]+)/.exec(message.text)![1]!;
    expect(JSON.stringify(message.blocks)).toContain('203.0.113.66');
    await click(env, message, DEMO_USERS.approver.id);
    await waitForContainedIn('us', id);
    expect(cluster('us').kube.get('NetworkPolicy', 'db', quarantine(id))).toBeDefined();
    expect(cluster('eu').kube.get('NetworkPolicy', 'db', quarantine(id))).toBeUndefined();
    // eu saw nothing of it: no alert of its own, no incident.
    expect(env.slack.messages(DEMO_CHANNEL).filter((m) => !m.threadTs && m.text.includes('in cluster eu'))).toEqual([]);
    expect(await runtime('eu').store.list()).toEqual([]);
  }, 60_000);
});
