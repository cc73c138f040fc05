// The trace step driven from the relay stand-in's exfiltration: the anomaly's Open incident, an
// approval, and the step's result and thread (test/e2e/trace.test.ts, injection.test.ts).
import { collectorHasReadHistory, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { actAs, USER_AGENTS } from '../../src/sim/kube/act-as.js';
import type { BadCommit } from '../../src/sim/scenarios/shop-git.js';
import { OPEN_INCIDENT_ACTION } from '../../src/slack/anomaly-blocks.js';
import { click, DEMO_CHANNEL, DEMO_USERS, hasApprovalButtons } from './environment.js';
import { until } from './restore.js';

/** From the exfiltration the relay stand-in plays to the trace step's result. */
export async function traceFromAnomaly(e: EmbeddedEnvironment): Promise<{ incidentId: string; result: Record<string, unknown>; thread: string[] }> {
  e.hubble!.triggerIncident();
  const alert = await e.slack.waitForMessage((m) => !m.threadTs && m.text.includes('203.0.113.66') && JSON.stringify(m.blocks ?? []).includes(OPEN_INCIDENT_ACTION), 15_000);
  await e.driver!.clickButton({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, messageTs: alert.ts, actionId: OPEN_INCIDENT_ACTION });
  const message = await e.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('NetworkPolicy incident') && hasApprovalButtons(m), 15_000);
  const incidentId = /NetworkPolicy incident ([a-z0-9-]+)/.exec(message.text)![1]!;
  await click(e, message, DEMO_USERS.approver.id);
  const result = await until('the trace step', async () => (await e.bot!.store.get(incidentId))?.steps.trace?.result);
  // The record is written before the thread is brought up to date: wait for the step's message.
  await e.slack.waitForMessage((m) => m.threadTs === message.ts && /Most likely cause|No change/.test(m.text), 10_000);
  const thread = e.slack.messages(DEMO_CHANNEL).filter((m) => m.threadTs === message.ts).map((m) => m.text);
  return { incidentId, result, thread };
}

/** Waits until the collector has learned the shop's traffic from the relay's history. */
export async function learned(e: EmbeddedEnvironment): Promise<void> {
  await until('the collector to learn the shop', () => (collectorHasReadHistory(e) ? true : undefined));
}

/** Argo CD's controller applies the bad commit's object (a GitOps apply: the trace names the commit). */
export async function argoCdApplies(e: EmbeddedEnvironment, bad: BadCommit): Promise<void> {
  const out = await actAs(e.kube, {
    user: 'system:serviceaccount:argocd:argocd-application-controller',
    userAgent: USER_AGENTS.argocd,
    method: 'PATCH',
    path: '/apis/networking.k8s.io/v1/namespaces/db/networkpolicies/allow-all-egress?fieldManager=argocd-controller&force=true',
    contentType: 'application/apply-patch+yaml',
    body: bad.object,
  });
  if (out.status >= 300) throw new Error(`Argo CD's apply was refused: ${out.status}`);
}
