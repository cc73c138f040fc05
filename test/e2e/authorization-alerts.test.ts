// The alert controls, end to end through signed Slack requests: Dismiss on an anomaly, Revert to
// Git and Accept on a drift. A non-approver is refused; an approver's click whose value names
// another anomaly, or an episode that is not this alert's, is refused. Nothing changes: the
// anomalies and drift episodes in Redis, the live policy, the alerts as drawn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnomalyStore } from '../../src/anomaly/store.js';
import { DriftStore } from '../../src/drift/store.js';
import { WEBHOOK_TOKEN, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { kubectlPatchNetworkPolicy } from '../../src/sim/kube/act-as.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { DISMISS_ACTION } from '../../src/slack/anomaly-blocks.js';
import { DRIFT_ACCEPT_ACTION, DRIFT_REVERT_ACTION } from '../../src/slack/drift-blocks.js';
import { clickRaw } from '../helpers/authorization.js';
import { DEMO_CHANNEL, DEMO_USERS, startTestEnvironment } from '../helpers/environment.js';

const { approver: bob, outsider: mallory } = DEMO_USERS;
const ONLY_APPROVERS = /^Only approvers \(.*\) can .*Nothing changed\.$/;
const WEB_TO_API = { namespace: 'frontend', name: 'allow-web-to-api' };

let env: EmbeddedEnvironment;
let anomalies: { ts: string; id: string }[];
let drift: SimMessage;

function buttonValue(message: SimMessage, actionId: string): string {
  let found: string | undefined;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.action_id === actionId && typeof o.value === 'string') found ??= o.value;
      Object.values(o).forEach(walk);
    }
  };
  walk(message.blocks ?? []);
  if (!found) throw new Error(`no ${actionId} button`);
  return found;
}

async function alertmanager(fingerprint: string, namespace: string): Promise<SimMessage> {
  const summary = `unexpected egress ${fingerprint}`;
  const body = {
    version: '4',
    status: 'firing',
    receiver: 'netpol',
    groupKey: fingerprint,
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.local',
    alerts: [{ status: 'firing', labels: { alertname: 'UnexpectedEgress', namespace, severity: 'critical' }, annotations: { summary }, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint }],
  };
  const res = await fetch(`http://127.0.0.1:${env.bot!.port}/webhooks/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}` }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('Anomaly') && m.text.includes(summary) && JSON.stringify(m.blocks ?? []).includes(DISMISS_ACTION), 15_000);
}

/** Everything these clicks could change. */
async function state(): Promise<unknown> {
  const prefix = env.config.redis.keyPrefix;
  const anomalyStore = new AnomalyStore(env.bot!.redis, prefix, env.config.anomalies.keepFor);
  return {
    anomalies: await Promise.all(anomalies.map((a) => anomalyStore.get(a.id))),
    episodes: await new DriftStore(env.bot!.redis, prefix).list(),
    live: env.kube.get('NetworkPolicy', WEB_TO_API.namespace, WEB_TO_API.name),
    alerts: [...anomalies.map((a) => a.ts), drift.ts].map((ts) => JSON.stringify(env.slack.findMessage(DEMO_CHANNEL, ts)?.blocks ?? [])),
  };
}

beforeAll(async () => {
  env = await startTestEnvironment({ git: true });
  const first = await alertmanager('auth-a', 'api');
  const second = await alertmanager('auth-b', 'frontend');
  anomalies = [first, second].map((m) => ({ ts: m.ts, id: buttonValue(m, DISMISS_ACTION) }));
  await kubectlPatchNetworkPolicy(env.kube, 'dan@shop.example', WEB_TO_API, { spec: { egress: [{}] } });
  drift = await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('Drift from Git') && JSON.stringify(m.blocks ?? []).includes(DRIFT_REVERT_ACTION), 30_000);
  // The alert records its message once posted: let that land before comparing states.
  await new Promise((r) => setTimeout(r, 1000));
}, 120_000);
afterAll(() => env?.stop());

describe('alert controls refuse non-approvers and tampered clicks, changing nothing', () => {
  it('Dismiss, Revert to Git and Accept by a non-approver', async () => {
    const before = await state();
    expect(await clickRaw(env, { userId: mallory.id, messageTs: anomalies[0]!.ts, button: DISMISS_ACTION })).toMatch(ONLY_APPROVERS);
    expect(await clickRaw(env, { userId: mallory.id, messageTs: drift.ts, button: DRIFT_REVERT_ACTION })).toMatch(ONLY_APPROVERS);
    expect(await clickRaw(env, { userId: mallory.id, messageTs: drift.ts, button: DRIFT_ACCEPT_ACTION })).toMatch(ONLY_APPROVERS);
    await new Promise((r) => setTimeout(r, 500));
    expect(await state()).toEqual(before);
  }, 60_000);

  it("an approver's click whose value names another anomaly or another episode", async () => {
    const before = await state();
    const [a, b] = anomalies as [{ ts: string; id: string }, { ts: string; id: string }];
    expect(await clickRaw(env, { userId: bob.id, messageTs: a.ts, button: DISMISS_ACTION, value: b.id })).toMatch(/does not belong to that anomaly.*Nothing changed/);
    const episode = buttonValue(drift, DRIFT_REVERT_ACTION);
    // The drift alert's own episode, clicked on an anomaly's message with the action id changed.
    expect(await clickRaw(env, { userId: bob.id, messageTs: a.ts, button: DISMISS_ACTION, actionId: DRIFT_REVERT_ACTION, value: episode })).toMatch(/does not belong to that drift.*Nothing changed/);
    expect(await clickRaw(env, { userId: bob.id, messageTs: a.ts, button: DISMISS_ACTION, actionId: DRIFT_ACCEPT_ACTION, value: episode })).toMatch(/does not belong to that drift.*Nothing changed/);
    // An anomaly's id on the drift alert's Accept, and an episode that does not exist.
    expect(await clickRaw(env, { userId: bob.id, messageTs: drift.ts, button: DRIFT_ACCEPT_ACTION, actionId: DISMISS_ACTION, value: b.id })).toMatch(/does not belong to that anomaly.*Nothing changed/);
    expect(await clickRaw(env, { userId: bob.id, messageTs: drift.ts, button: DRIFT_REVERT_ACTION, value: 'drift-does-not-exist' })).toMatch(/Nothing changed|unknown|no longer/i);
    await new Promise((r) => setTimeout(r, 500));
    expect(await state()).toEqual(before);
  }, 60_000);
});
