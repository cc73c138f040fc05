// The drift monitor end to end: the simulated cluster, the shop's policy repository (real git),
// the watcher role, BullMQ, the Slack stand-in and signed button clicks. An out-of-band edit is
// alerted with its diff, actor and connectivity delta; Revert to Git puts Git's object back
// (verified), refused for non-approvers and reported on 409/403; a burst is one alert; a flapping
// drift is one episode; Accept mutes until the drift moves; Open incident opens one; an object
// Argo CD self-heals is not offered Revert, and its revert is credited to Argo CD.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { actAs, kubectlPatchNetworkPolicy, USER_AGENTS } from '../../src/sim/kube/act-as.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { SHOP_ARGOCD, SHOP_PORTS } from '../../src/sim/scenarios/shop.js';
import { DRIFT_ACCEPT_ACTION, DRIFT_OPEN_INCIDENT_ACTION, DRIFT_REVERT_ACTION } from '../../src/slack/drift-blocks.js';
import { DriftStore } from '../../src/drift/store.js';
import { DEMO_CHANNEL, DEMO_USERS, startTestEnvironment } from '../helpers/environment.js';

const DAN = 'dan@shop.example';
const WEB_TO_API = { namespace: 'frontend', name: 'allow-web-to-api' };
const GIT_EGRESS = [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'api' } } }], ports: [{ protocol: 'TCP', port: SHOP_PORTS.orders }, { protocol: 'TCP', port: SHOP_PORTS.payments }] }];

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

const blocksText = (m: SimMessage): string => JSON.stringify(m.blocks ?? []);
const driftAlerts = (e: EmbeddedEnvironment): SimMessage[] => e.slack.messages(DEMO_CHANNEL).filter((m) => !m.threadTs && /^Drift (from Git|resolved)/.test(m.text));

async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function started(options: Parameters<typeof startTestEnvironment>[0] = {}): Promise<EmbeddedEnvironment> {
  env = await startTestEnvironment({ git: true, ...options });
  // The first clone and evaluation: the shop matches Git, so nothing is alerted.
  await new Promise((r) => setTimeout(r, 1500));
  expect(driftAlerts(env)).toEqual([]);
  return env;
}

function alertFor(e: EmbeddedEnvironment, text: string): Promise<SimMessage> {
  return eventually(() => driftAlerts(e).find((m) => m.text.startsWith('Drift from Git') && blocksText(m).includes(text)), `a drift alert naming ${text}`);
}

function liveEgress(e: EmbeddedEnvironment): unknown {
  return (e.kube.get('NetworkPolicy', 'frontend', 'allow-web-to-api') as { spec?: { egress?: unknown } } | undefined)?.spec?.egress;
}

describe('drift monitor', () => {
  it('alerts an out-of-band edit with diff, actor and exposure; a non-approver cannot revert; an approver reverts to Git, verified', async () => {
    const e = await started();
    await kubectlPatchNetworkPolicy(e.kube, DAN, WEB_TO_API, { spec: { egress: [{}] } });
    const first = await alertFor(e, 'frontend/allow-web-to-api');
    // The audit webhook may deliver after the watch: the alert names the person once it has.
    const alert = await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => m.ts === first.ts && blocksText(m).includes('dan@shop.example')), 'the actor from the audit log');
    const text = blocksText(alert);
    expect(alert.text).toBe('Drift from Git: 1 object differs (high)');
    for (const part of ['spec.egress[0]', 'dan@shop.example', 'kubectl', '0.0.0.0-255.255.255.255', 'Exposure', 'shop-policies:']) expect(text).toContain(part);

    await e.driver!.clickButton({ userId: DEMO_USERS.outsider.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: DRIFT_REVERT_ACTION });
    await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => m.visibleTo === DEMO_USERS.outsider.id && m.text.includes('Only approvers')), 'the refusal');
    expect(liveEgress(e)).toEqual([{}]);

    await e.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: DRIFT_REVERT_ACTION });
    // The monitor may see live equal Git and redraw the alert "resolved, reverting…" before the
    // revert has recorded its read-back: the revert's outcome is what this waits for.
    const resolved = await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => m.ts === alert.ts && m.text.startsWith('Drift resolved') && blocksText(m).includes('read back')), 'the drift to resolve, with the revert read back');
    expect(liveEgress(e)).toEqual(GIT_EGRESS);
    const after = blocksText(resolved);
    expect(after).toContain('read back: equal to Git');
    expect(after).toContain("equals Git's");
    expect(after).toContain('Revert to Git');
    expect(driftAlerts(e)).toHaveLength(1);
  });

  it('a kubectl apply of 40 policies is one alert; a flapping drift (edit, revert by hand, edit) stays one episode', async () => {
    const e = await started();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        actAs(e.kube, {
          user: DAN,
          userAgent: USER_AGENTS.kubectl,
          method: 'POST',
          path: '/apis/networking.k8s.io/v1/namespaces/api/networkpolicies?fieldManager=kubectl-client-side-apply',
          body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `debug-${i}`, namespace: 'api' }, spec: { podSelector: {}, ingress: [{}] } },
        }),
      ),
    );
    const burst = await eventually(() => driftAlerts(e).find((m) => m.text === 'Drift from Git: 40 objects differ (medium)' || m.text.startsWith('Drift from Git: 40 objects')), 'one alert for the burst');
    await new Promise((r) => setTimeout(r, 1500));
    expect(driftAlerts(e)).toHaveLength(1);
    expect(burst.text).toMatch(/40 objects differ/);

    await kubectlPatchNetworkPolicy(e.kube, DAN, WEB_TO_API, { spec: { egress: [{ ports: [{ protocol: 'TCP', port: 9999 }] }] } });
    const flap = await alertFor(e, 'frontend/allow-web-to-api');
    await kubectlPatchNetworkPolicy(e.kube, DAN, WEB_TO_API, { spec: { egress: GIT_EGRESS } });
    await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => m.ts === flap.ts && m.text.startsWith('Drift resolved')), 'the flap to resolve');
    await kubectlPatchNetworkPolicy(e.kube, DAN, WEB_TO_API, { spec: { egress: [{ ports: [{ protocol: 'TCP', port: 9998 }] }] } });
    const back = await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => m.ts === flap.ts && m.text.startsWith('Drift from Git') && blocksText(m).includes('9998')), 'the same alert, reopened');
    expect(blocksText(back)).toContain('Came back 1 time');
    expect(driftAlerts(e)).toHaveLength(2);
  });

  it('a revert that meets a 403 or a changed object reports it per object and changes nothing else', async () => {
    const e = await started();
    await kubectlPatchNetworkPolicy(e.kube, DAN, WEB_TO_API, { spec: { egress: [{}] } });
    const alert = await alertFor(e, 'frontend/allow-web-to-api');
    const lift = e.kube.deny({ verb: 'patch', resource: 'networkpolicies', namespace: 'frontend' });
    const liftUpdate = e.kube.deny({ verb: 'update', resource: 'networkpolicies', namespace: 'frontend' });
    await e.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: DRIFT_REVERT_ACTION });
    const refused = await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => m.ts === alert.ts && blocksText(m).includes('did not complete')), 'the failed revert');
    expect(blocksText(refused)).toContain('403 Forbidden');
    expect(liveEgress(e)).toEqual([{}]);
    lift();
    liftUpdate();

    // The object moves between the alert and the click: the revert refuses to apply what nobody approved.
    const stale = await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => m.ts === alert.ts && blocksText(m).includes(DRIFT_REVERT_ACTION)), 'the Revert button back');
    await e.bot!.stop();
    await kubectlPatchNetworkPolicy(e.kube, DAN, WEB_TO_API, { spec: { egress: [{ ports: [{ protocol: 'UDP', port: 53 }] }] } });
    await e.startBot();
    await e.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: stale.ts, actionId: DRIFT_REVERT_ACTION }).catch(() => undefined);
    await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => m.ts === alert.ts && blocksText(m).includes('UDP')), 'the alert redrawn with the new state');
    expect((liveEgress(e) as unknown[])[0]).toEqual({ ports: [{ protocol: 'UDP', port: 53 }] });
  });

  it('Accept mutes until the drift moves (recorded with the person); Open incident opens one with the drift as reason', async () => {
    const e = await started();
    await kubectlPatchNetworkPolicy(e.kube, DAN, WEB_TO_API, { spec: { egress: [{ ports: [{ protocol: 'TCP', port: 7000 }] }] } });
    const alert = await alertFor(e, 'frontend/allow-web-to-api');
    await e.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: DRIFT_ACCEPT_ACTION });
    const accepted = await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => m.ts === alert.ts && blocksText(m).includes('Accepted by')), 'the accepted alert');
    expect(blocksText(accepted)).toContain(`<@${DEMO_USERS.approver.id}>`);
    expect(blocksText(accepted)).not.toContain(DRIFT_ACCEPT_ACTION);

    await kubectlPatchNetworkPolicy(e.kube, DAN, WEB_TO_API, { spec: { egress: [{ ports: [{ protocol: 'TCP', port: 7001 }] }] } });
    const reopened = await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => m.ts === alert.ts && blocksText(m).includes('7001') && blocksText(m).includes(DRIFT_ACCEPT_ACTION)), 'the acceptance ended by a new change');
    expect(reopened.text).toMatch(/^Drift from Git/);

    await e.driver!.clickButton({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: DRIFT_OPEN_INCIDENT_ACTION });
    const incident = await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => !m.threadTs && m.text.startsWith('NetworkPolicy incident')), 'the incident message');
    expect(blocksText(incident)).toContain('frontend');
    const ids = await e.bot!.store.list(5);
    expect(ids[0]?.driftEpisodeId).toMatch(/^drift-/);
    expect(ids[0]?.reason).toContain('frontend/allow-web-to-api');
  });

  it('an object Argo CD self-heals is not offered Revert; when Argo CD puts it back, the alert credits it', async () => {
    const e = await started({ cluster: { argocd: true } });
    // Argo CD tracks the policy (annotation tracking); its Application self-heals.
    await actAs(e.kube, {
      user: 'system:serviceaccount:argocd:argocd-application-controller',
      userAgent: USER_AGENTS.argocd,
      method: 'PATCH',
      path: '/apis/networking.k8s.io/v1/namespaces/frontend/networkpolicies/allow-web-to-api?fieldManager=argocd-controller',
      body: { metadata: { annotations: { 'argocd.argoproj.io/tracking-id': `${SHOP_ARGOCD.application}:networking.k8s.io/NetworkPolicy:frontend/allow-web-to-api` } } },
      contentType: 'application/merge-patch+json',
    });
    await new Promise((r) => setTimeout(r, 1200));
    await kubectlPatchNetworkPolicy(e.kube, DAN, WEB_TO_API, { spec: { egress: [{}] } });
    const alert = await alertFor(e, 'frontend/allow-web-to-api');
    expect(blocksText(alert)).toContain('Argo CD');
    expect(blocksText(alert)).toContain('reverts it by itself');
    expect(blocksText(alert)).not.toContain(DRIFT_REVERT_ACTION);

    await actAs(e.kube, {
      user: 'system:serviceaccount:argocd:argocd-application-controller',
      userAgent: USER_AGENTS.argocd,
      method: 'PATCH',
      path: '/apis/networking.k8s.io/v1/namespaces/frontend/networkpolicies/allow-web-to-api?fieldManager=argocd-controller',
      body: { spec: { egress: GIT_EGRESS } },
      contentType: 'application/merge-patch+json',
    });
    const healed = await eventually(() => e.slack.messages(DEMO_CHANNEL).find((m) => m.ts === alert.ts && m.text.startsWith('Drift resolved')), 'the self-healed drift');
    expect(blocksText(healed)).toContain('(Argo CD)');
  });
});

describe('drift monitor settings', () => {
  it('below drift.minSeverity nothing is alerted; in quiet hours only what is above alertAbove is', async () => {
    const now = new Date();
    const hhmm = (d: Date): string => d.toISOString().slice(11, 16);
    // Quiet hours around now (UTC), whatever the time the test runs.
    const quietHours = { from: hhmm(new Date(now.getTime() - 3_600_000)), to: hhmm(new Date(now.getTime() + 3_600_000)), timeZone: 'UTC', alertAbove: 'high' as const };
    env = await startTestEnvironment({ git: true, startBot: false });
    await env.startBot({ drift: { ...env.config.drift, minSeverity: 'medium', quietHours } });
    await new Promise((r) => setTimeout(r, 1500));
    const e = env;
    // A label only: no effect on connectivity (low): never alerted.
    await kubectlPatchNetworkPolicy(e.kube, DAN, { namespace: 'api', name: 'allow-api-from-frontend' }, { metadata: { labels: { owner: 'dan' } } });
    await new Promise((r) => setTimeout(r, 1000));
    // Breakage only (web no longer reachable: medium): held for the quiet hours.
    await kubectlPatchNetworkPolicy(e.kube, DAN, { namespace: 'frontend', name: 'allow-web-ingress' }, { spec: { ingress: null } });
    await new Promise((r) => setTimeout(r, 2500));
    expect(driftAlerts(e)).toEqual([]);
    // Both are recorded, each with why it is not alerted.
    const episodes = await new DriftStore(e.bot!.redis, e.config.redis.keyPrefix).list();
    const reasons = Object.fromEntries(episodes.map((ep) => [ep.objects[0]!.name, ep.held?.reason ?? '']));
    expect(reasons['allow-api-from-frontend']).toMatch(/below the alerting threshold \(drift.minSeverity: medium\)/);
    expect(reasons['allow-web-ingress']).toMatch(/^quiet hours until/);
    // Exposure to the outside world (high): alerted even now.
    await kubectlPatchNetworkPolicy(e.kube, DAN, WEB_TO_API, { spec: { egress: [{}] } });
    const alert = await alertFor(e, 'frontend/allow-web-to-api');
    expect(alert.text).toMatch(/\(high\)$/);
    expect(blocksText(alert)).not.toContain('allow-api-from-frontend');
  });
});
