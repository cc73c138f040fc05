// Chaos: the Git host unreachable (every connection reset) while an incident traces, plans its
// restore and opens the hardening pull request. Each step says so clearly in the thread and goes
// on as designed (degraded, or with what it had), nothing is applied twice, and once the host is
// back the bot uses it again: a second incident's restore plans from Git and its pull request opens.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { collectorHasReadHistory } from '../../src/sim/environment.js';
import { kubectlCreateNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { stepsDoneTwice, until } from '../helpers/chaos-accounting.js';
import { startHttpFaultProxy, type HttpFaultProxy } from '../helpers/chaos-http-proxy.js';
import { click, DEMO_CHANNEL, DEMO_USERS, openIncident, startTestEnvironment } from '../helpers/environment.js';
import { hardenApprovalMessage, hardenPlaybook } from '../helpers/harden-e2e.js';
import { CAROL } from '../helpers/restore.js';
import { chaosScale, recordOutcome } from './report.js';

let env: EmbeddedEnvironment | undefined;
let proxy: HttpFaultProxy | undefined;
afterEach(async () => {
  await env?.stop();
  await proxy?.close();
  env = proxy = undefined;
});

/** The shop with its repository on the GitHub stand-in, reached by the bot through a proxy the test can cut. */
async function started(): Promise<{ env: EmbeddedEnvironment; proxy: HttpFaultProxy }> {
  env = await startTestEnvironment({ git: true, gitHost: 'github', flows: true, playbookPath: hardenPlaybook(), startBot: false });
  const e = env;
  const repository = e.config.git!.repositories[0]!;
  const hostOrigin = new URL(repository.url).origin;
  proxy = await startHttpFaultProxy(hostOrigin);
  repository.url = repository.url.replace(hostOrigin, proxy.origin);
  if (repository.pullRequests) repository.pullRequests.apiUrl = repository.pullRequests.apiUrl!.replace(hostOrigin, proxy.origin);
  await e.startBot({ drift: { ...e.config.drift, enabled: false } });
  await until('the collector to read the shop’s history', () => collectorHasReadHistory(e), 30_000);
  e.hubble!.triggerIncident();
  await until('the exfiltration anomaly', async () => (await e.bot!.anomalies.recent('db', new Date(0))).some((r) => r.anomaly.title.includes('203.0.113.66')), 30_000);
  await e.bot!.collector!.snapshot();
  return { env: e, proxy };
}

const thread = (e: EmbeddedEnvironment, ts: string): SimMessage[] => e.slack.messages(DEMO_CHANNEL).filter((m) => m.threadTs === ts);

const texts = (e: EmbeddedEnvironment, ts: string): string[] => thread(e, ts).map((m) => m.text);
const FETCH_FAILED = /fetch failed[^\n]*the remote closed the connection/i;
/** Incidents opened after the outage, each must use Git again. */
const AFTER = chaosScale(['frontend'], ['frontend', 'api']);

async function stepStatus(e: EmbeddedEnvironment, incidentId: string, step: string, statuses: string[]) {
  return until(`${step} to be ${statuses.join('/')}`, async () => {
    const now = await e.bot!.store.get(incidentId);
    return now && (statuses.includes(now.steps[step]?.status ?? '') || now.status !== 'open') ? now : undefined;
  }, 60_000);
}

describe('chaos: the Git remote is down', () => {
  it('during trace, restore planning and the hardening pull request: clear messages, degraded steps, recovery when it is back', async () => {
    const { env: e, proxy: p } = await started();
    await kubectlCreateNetworkPolicy(e.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    p.down(true);
    const downAt = Date.now();
    const beforeOutage = p.requests.length;
    const { incidentId, message } = await openIncident(e, 'incident db app=postgres -- exfiltration to 203.0.113.66');
    await click(e, message, DEMO_USERS.approver.id);
    const waiting = await stepStatus(e, incidentId, 'restore', ['awaiting-approval', 'failed']);
    expect(waiting.steps.restore?.status).toBe('awaiting-approval');
    // Trace, validate and the restore plan each say the fetch failed and that the last good clone is used.
    const said = (what: string, check: (t: string) => boolean) => until(what, () => texts(e, message.ts).some(check), 10_000);
    await said('the trace on the last good clone', (t) => t.includes('Most likely cause') && FETCH_FAILED.test(t) && t.includes('judged against the last good clone'));
    await said('the validation on the last good clone', (t) => t.includes('Drift from Git') && FETCH_FAILED.test(t) && t.includes('compared with the last good clone'));
    await said('the restore plan from the last good clone', (t) => t.includes('Restore plan') && FETCH_FAILED.test(t) && t.includes('the last good clone is used'));

    const proposal = await until('the restore proposal under the message', () => {
      const m = e.slack.findMessage(DEMO_CHANNEL, message.ts);
      return m && JSON.stringify(m.blocks ?? []).includes('Restore to a known-good state') ? m : undefined;
    }, 10_000);
    await click(e, proposal, DEMO_USERS.approver.id);
    await stepStatus(e, incidentId, 'harden', ['awaiting-approval']);
    await click(e, await hardenApprovalMessage(e, incidentId), DEMO_USERS.approver.id);
    const closed = await until('the incident to close', async () => {
      const now = await e.bot!.store.get(incidentId);
      return now && now.status !== 'open' ? now : undefined;
    }, 60_000);
    // The pull request could not be opened: the files are in the thread, with the reason.
    expect(closed.status).toBe('completed');
    expect((closed.steps.harden?.result as { delivery?: unknown }).delivery).toMatchObject({ kind: 'attached', error: { reason: 'unreachable' } });
    await until('the reason in the thread', () => texts(e, message.ts).some((t) => t.includes('Could not deliver the files (') && t.includes('they are attached to this thread instead')), 10_000);
    expect(e.gitHost!.pulls).toHaveLength(0);
    const twice = await stepsDoneTwice(e, incidentId);
    expect(twice).toEqual([]);
    // Nothing got through while the host was down, and the bot did try it.
    const duringOutage = p.requests.slice(beforeOutage);
    expect(duringOutage.filter((r) => !r.injected)).toEqual([]);
    expect(duringOutage.length).toBeGreaterThan(0);

    // The host is back: the next incidents fetch from Git again (no "last good clone") and say so.
    p.down(false);
    const upAt = Date.now();
    let recoveryMs = 0;
    for (const namespace of AFTER) {
      const next = await openIncident(e, `incident ${namespace} -- after the Git outage`);
      await click(e, next.message, DEMO_USERS.approver.id);
      await stepStatus(e, next.incidentId, 'trace', ['done', 'failed']);
      recoveryMs = recoveryMs || Date.now() - upAt;
      const traced = await until('the trace message', () => texts(e, next.message.ts).find((t) => t.includes('Most likely cause') || t.includes('Traced') || t.includes('No change')), 10_000);
      expect(traced).not.toMatch(/fetch failed|last good clone/);
      expect(await stepsDoneTwice(e, next.incidentId)).toEqual([]);
    }
    expect(p.requests.filter((r) => !r.injected && r.status === 200).length).toBeGreaterThan(0);

    recordOutcome({
      scenario: 'Git remote unreachable during an incident',
      fault: `Git host down (connections reset) for ${((upAt - downAt) / 1000).toFixed(0)} s: trace, validate, restore planning, restore and the hardening pull request`,
      outcome: `steps judged against the last good clone and said so; restore done; PR not opened, files attached with the reason; ${AFTER.length} later incident(s) fetch from Git again`,
      approvalsLost: 0,
      stepsAppliedTwice: twice.length,
      alertsLost: 0,
      alertsDoubled: 0,
      recoveryMs,
    });
  }, chaosScale(120_000, 300_000));
});
