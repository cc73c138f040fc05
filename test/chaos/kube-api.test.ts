// Chaos: the Kubernetes API misbehaving during an incident (contain, trace, validate) while the
// drift monitor watches: 5xx bursts, 429 with Retry-After (honoured), responses slower than
// the client's request timeout, watch streams cut and answered 410 Gone (the watcher re-lists). The
// incident completes with nothing applied twice; an out-of-band edit made while the watches were
// down is alerted exactly once.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { kubectlPatchNetworkPolicy } from '../../src/sim/kube/act-as.js';
import type { KubeApiSim, RecordedRequest } from '../../src/sim/kube/index.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { sleep, stepsDoneTwice, until } from '../helpers/chaos-accounting.js';
import { click, DEMO_CHANNEL, DEMO_USERS, openIncident, startTestEnvironment, waitForContained, waitForPlaybookFinished } from '../helpers/environment.js';
import { chaosScale, recordOutcome } from './report.js';

const BURST = chaosScale(2, 3);
const RETRY_AFTER_S = 2;
const WATCH_ROUNDS = chaosScale(2, 8);
const DAN = 'dan@shop.example';

let env: EmbeddedEnvironment | undefined;
let stopStamping: (() => void) | undefined;
afterEach(async () => {
  stopStamping?.();
  await env?.stop();
  env = stopStamping = undefined;
});

/** When each request was seen (the simulated API server's log has no times): polled every 5 ms. */
function stampRequests(kube: KubeApiSim): { at: Map<RecordedRequest, number>; stop: () => void } {
  const at = new Map<RecordedRequest, number>();
  const timer = setInterval(() => {
    for (const r of kube.requests) if (!at.has(r)) at.set(r, Date.now());
  }, 5);
  return { at, stop: () => clearInterval(timer) };
}

const driftAlerts = (e: EmbeddedEnvironment): SimMessage[] => e.slack.messages(DEMO_CHANNEL).filter((m) => !m.threadTs && /^Drift (from Git|resolved)/.test(m.text));
const naming = (text: string) => (m: SimMessage) => JSON.stringify(m.blocks ?? []).includes(text);
const quarantineWrites = (e: EmbeddedEnvironment, id: string) =>
  e.kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`netpol-responder-quarantine-${id}`) && !r.query.dryRun);

describe('chaos: the Kubernetes API fails during an incident and under the drift monitor', () => {
  it('5xx bursts, 429 with Retry-After, slow answers, cut and expired watches: contained once, drift alerted once', async () => {
    env = await startTestEnvironment({ git: true });
    const e = env;
    const stamps = stampRequests(e.kube);
    stopStamping = stamps.stop;
    // The drift monitor's first evaluation: the shop equals Git.
    await until('the drift watches', () => e.kube.openWatches() > 0, 20_000);
    await sleep(1500);
    expect(driftAlerts(e)).toEqual([]);

    const { incidentId, message } = await openIncident(e, 'incident db -- api under stress');
    // Containment's writes meet a 5xx burst, then a 429 asking for RETRY_AFTER_S seconds.
    e.kube.injectFault({ verb: 'patch', resource: 'networkpolicies', status: 503, times: BURST, message: 'etcdserver: leader changed' });
    e.kube.injectFault({ verb: 'patch', resource: 'networkpolicies', status: 429, times: 1, retryAfterSeconds: RETRY_AFTER_S, message: 'too many requests' });
    // Trace and validate read through 500s and slow answers.
    e.kube.injectFault({ verb: 'list', status: 500, times: BURST });
    e.kube.injectDelay({ verb: 'list', resource: 'networkpolicies', ms: 1500, times: 2 });
    const clickedAt = Date.now();
    await click(e, message, DEMO_USERS.approver.id);
    await waitForContained(e, incidentId, 60_000).catch(async (error: unknown) => {
      const failed = await e.bot!.store.require(incidentId);
      throw new Error(`${(error as Error).message}: ${JSON.stringify(Object.values(failed.steps).map((s) => s?.error))}`);
    });
    const containedAt = Date.now();

    const writes = quarantineWrites(e, incidentId);
    expect(writes.map((r) => r.status)).toEqual([...Array(BURST).fill(503), 429, writes.at(-1)!.status]);
    expect([200, 201]).toContain(writes.at(-1)!.status);
    // Retry-After honoured: the write after the 429 waited at least what the server asked.
    const limited = writes.at(-2)!;
    const next = writes.at(-1)!;
    expect(stamps.at.get(next)! - stamps.at.get(limited)!).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 50);

    // The watches: cut, then cut while their history has expired (410 Gone on reconnect), while an
    // out-of-band edit happens.
    const faultsEndAt: number[] = [];
    for (let round = 1; round <= WATCH_ROUNDS; round++) {
      e.kube.injectFault({ verb: 'watch', status: 410, times: 1, message: 'too old resource version' });
      e.kube.cutWatches();
      await sleep(300);
      e.kube.cutWatches();
      faultsEndAt.push(Date.now());
      await sleep(200);
    }
    await kubectlPatchNetworkPolicy(e.kube, DAN, { namespace: 'frontend', name: 'allow-web-to-api' }, { spec: { egress: [{}] } });
    const editedAt = Date.now();
    e.kube.cutWatches();
    const alert = await until('the drift alert for the edit', () => driftAlerts(e).find(naming('frontend/allow-web-to-api')), 30_000);
    const alertedAt = Date.now();
    await waitForPlaybookFinished(e, incidentId, 60_000);
    // More cuts and an expiry after the alert: the re-list must not alert the same drift again.
    for (let round = 1; round <= WATCH_ROUNDS; round++) {
      e.kube.injectFault({ verb: 'watch', status: 410, times: 1 });
      e.kube.cutWatches();
      await sleep(400);
    }
    await sleep(2000);

    const watchesExpired = e.kube.requests.filter((r) => r.verb === 'watch' && r.status === 410).length;
    expect(watchesExpired).toBeGreaterThanOrEqual(WATCH_ROUNDS);
    const alerts = driftAlerts(e).filter(naming('frontend/allow-web-to-api'));
    expect(alerts.map((m) => m.ts)).toEqual([alert.ts]);
    const twice = await stepsDoneTwice(e, incidentId);
    expect(twice).toEqual([]);
    const incident = await e.bot!.store.require(incidentId);
    expect(Object.values(incident.steps).map((s) => s?.status)).toEqual(['done', 'done', 'done']);
    const quarantine = e.kube.get('NetworkPolicy', 'db', `netpol-responder-quarantine-${incidentId}`);
    expect(quarantine?.metadata?.generation).toBe(1);

    recordOutcome({
      scenario: 'Kubernetes API faults during an incident and drift watch',
      fault: `${BURST}×503 + 429 (Retry-After ${RETRY_AFTER_S} s) on writes, ${BURST}×500 and 1.5 s answers on lists, ${2 * WATCH_ROUNDS} watch cuts with 410 Gone on reconnect, an out-of-band edit in between`,
      outcome: `contained and finished (${writes.length} write attempts, one change), drift alerted once after ${watchesExpired} expired watches`,
      approvalsLost: incident.containment?.status === 'active' ? 0 : 1,
      stepsAppliedTwice: twice.length,
      alertsLost: alerts.length === 0 ? 1 : 0,
      alertsDoubled: Math.max(0, alerts.length - 1),
      recoveryMs: Math.max(containedAt - clickedAt, alertedAt - Math.max(editedAt, faultsEndAt.at(-1)!)),
    });
  }, chaosScale(90_000, 300_000));
});
