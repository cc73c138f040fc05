// Chaos: Slack's Web API answering a 429 storm (several methods, many calls, Retry-After honoured)
// and 5xx bursts from its edge (answered before Slack acted) through a whole incident: open, the
// approval click, containment, trace and validation. Every message and update the run without
// faults posts is posted exactly once, the approval is acted on once, nothing is doubled.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { botMessages, compareMessages, messageKey, stepsDoneTwice, until } from '../helpers/chaos-accounting.js';
import { startHttpFaultProxy, type HttpFaultProxy } from '../helpers/chaos-http-proxy.js';
import { click, DEMO_CHANNEL, DEMO_USERS, hasApprovalButtons, startTestEnvironment, waitForContained, waitForPlaybookFinished } from '../helpers/environment.js';
import { chaosScale, recordOutcome } from './report.js';

const STORM_METHODS = ['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'users.info', 'usergroups.users.list', 'chat.getPermalink'];
/** 429s per method, each waiting Retry-After (they pause all of the client's calls). */
const STORM_TIMES = chaosScale(3, 8);
const BURST_TIMES = chaosScale(2, 2);
const ROUNDS = chaosScale(1, 3);

let env: EmbeddedEnvironment | undefined;
let proxy: HttpFaultProxy | undefined;
afterEach(async () => {
  await env?.stop();
  await proxy?.close();
  env = proxy = undefined;
});

/** An environment whose bot reaches Slack's Web API through a proxy the test can break. */
async function started(): Promise<{ env: EmbeddedEnvironment; proxy: HttpFaultProxy }> {
  await env?.stop();
  await proxy?.close();
  env = await startTestEnvironment({ startBot: false });
  const api = new URL(env.slack.apiUrl);
  proxy = await startHttpFaultProxy(api.origin);
  env.config.slack.apiUrl = `${proxy.origin}${api.pathname}`;
  await env.startBot();
  return { env, proxy };
}

interface Run {
  keys: string[];
  incidentKey: string;
  contained: boolean;
  twice: string[];
  openedToDoneMs: number;
}

async function incident(e: EmbeddedEnvironment, reason: string, duringFault?: () => void): Promise<Run> {
  const started = Date.now();
  duringFault?.();
  const result = await e.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `incident db -- ${reason}` });
  const incidentId = /Opening incident `([a-z0-9-]+)`/.exec(result.body)?.[1];
  expect(incidentId, result.body).toBeDefined();
  const id = incidentId!;
  const message = await until('the incident message with its buttons', () => botMessages(e).find((m) => !m.threadTs && m.text.includes(id) && hasApprovalButtons(m)), 60_000);
  // A click by someone who may not approve is refused (and answered); the approval comes from
  // the approvers' user group, which the bot looks up through Slack.
  await click(e, message, DEMO_USERS.outsider.id);
  await click(e, message, DEMO_USERS.secondApprover.id);
  await waitForContained(e, id, 60_000).catch(async (error: unknown) => {
    const now = await e.bot!.store.require(id);
    const refusals = e.slack.calls.filter((c) => c.kind === 'response_url').map((c) => String(c.args.text));
    throw new Error(`${(error as Error).message}; contain: ${JSON.stringify(now.steps.contain)}; answers to clicks: ${JSON.stringify(refusals)}`);
  });
  await waitForPlaybookFinished(e, id, 60_000);
  // Updates and thread replies still in the WebClient's retry queue land within its retry budget.
  await until('Slack calls to settle', async () => {
    const before = e.slack.calls.length;
    await new Promise((r) => setTimeout(r, 2500));
    return e.slack.calls.length === before;
  }, 60_000, 0);
  const mine = botMessages(e).filter((m) => m.ts === message.ts || m.threadTs === message.ts);
  const final = e.slack.findMessage(DEMO_CHANNEL, message.ts)!;
  return {
    keys: mine.map((m) => messageKey(m, [id])),
    // Block ids are random per render: the content is what must match.
    incidentKey: messageKey({ ...final, text: `${final.text} ${JSON.stringify(final.blocks ?? []).replace(/"block_id":"[^"]*"/g, '')}` }, [id]),
    contained: (await e.bot!.store.require(id)).containment?.status === 'active',
    twice: await stepsDoneTwice(e, id),
    openedToDoneMs: Date.now() - started,
  };
}

describe('chaos: the Slack API rate limits and fails', () => {
  it('a 429 storm over many methods and 5xx bursts: every message and update posted exactly once, the approval acted on', async () => {
    const baseline = await incident((await started()).env, 'the same story');
    const baselineMethods = env!.slack.calls.map((c) => c.method);
    expect(baseline.twice).toEqual([]);

    let lost = 0;
    let doubled = 0;
    let approvalsLost = 0;
    let stepsAppliedTwice = 0;
    let recoveryMs = 0;
    let limitedMethods = new Set<string>();
    let injected = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const { env: e, proxy: p } = await started();
      const storm = (): void => {
        for (const method of STORM_METHODS) e.slack.rateLimit(method, { retryAfterSeconds: 1, times: STORM_TIMES });
        // The edge answers 502/503 before Slack acts: a retry is the only copy.
        p.fail({ match: /^POST \/api\/chat\.(postMessage|update)\b/, status: 503, times: BURST_TIMES });
        p.fail({ match: /^POST \/api\/usergroups\.users\.list\b/, status: 502, times: BURST_TIMES });
      };
      const run = await incident(e, 'the same story', storm);
      const diff = compareMessages(baseline.keys, run.keys);
      lost += diff.lost.length;
      doubled += diff.doubled.length;
      stepsAppliedTwice += run.twice.length;
      if (!run.contained) approvalsLost++;
      expect(diff, `round ${round}`).toEqual({ lost: [], doubled: [] });
      expect(run.twice).toEqual([]);
      expect(run.incidentKey, 'the incident message ends as in the calm run').toBe(baseline.incidentKey);
      recoveryMs = Math.max(recoveryMs, run.openedToDoneMs - baseline.openedToDoneMs);
      limitedMethods = new Set([...limitedMethods, ...e.slack.calls.filter((c) => c.status === 429).map((c) => c.method)]);
      injected += p.requests.filter((r) => r.injected && r.status >= 500).length;
    }
    // The faults did happen: 429s were answered and retried, 5xx bursts were answered by the edge.
    // Every storm method this story calls did meet the storm.
    expect([...limitedMethods].sort()).toEqual(STORM_METHODS.filter((m) => baselineMethods.includes(m)).sort());
    expect(limitedMethods.size).toBeGreaterThanOrEqual(3);
    expect(injected).toBeGreaterThanOrEqual(2 * BURST_TIMES * ROUNDS);
    // Approvals: exactly one approval recorded per incident, none lost.
    expect(approvalsLost).toBe(0);

    recordOutcome({
      scenario: 'Slack API 429 storm and 5xx bursts',
      fault: `${ROUNDS} incident(s), each: ${STORM_TIMES}×429 (Retry-After 1 s) on ${STORM_METHODS.length} methods, ${BURST_TIMES}×503 on chat.postMessage/update, ${BURST_TIMES}×502 on usergroups.users.list`,
      outcome: 'every message and update posted once, the approval acted on, containment in force',
      approvalsLost,
      stepsAppliedTwice,
      alertsLost: lost,
      alertsDoubled: doubled,
      // The storm's whole cost: how much longer the incident took than without it.
      recoveryMs: Math.max(0, recoveryMs),
    });
  }, chaosScale(90_000, 400_000));
});
