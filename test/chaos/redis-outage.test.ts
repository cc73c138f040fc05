// Chaos: Redis unreachable (a network partition between the bot and Redis, test/helpers/tcp-proxy.ts)
// for 30 s (5 s in `npm test`) while people click: Approve, Reject, /netpol status, incident and export. Every
// click must get a clear ephemeral answer (the bot answers within 2.5 s of the click that Redis did
// not answer and nothing changed); once the partition heals, the bytes it held reach Redis and the
// late writes must be refused by Redis itself (src/redis/write-deadline.ts), so nothing is
// half-done; then the same buttons work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_CHANNEL, DEMO_USERS, openIncident, startTestEnvironment, waitForContained } from '../helpers/environment.js';
import { testRedisUrl } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { chaosScale, recordOutcome } from './report.js';

const OUTAGE_MS = chaosScale(5_000, 30_000);
const { approver: bob, secondApprover: carol, oncall: alice } = DEMO_USERS;

let env: EmbeddedEnvironment;
let proxy: TcpProxy;

beforeAll(async () => {
  const target = new URL(testRedisUrl());
  proxy = await startTcpProxy(Number(target.port), target.hostname);
  env = await startTestEnvironment({ redisUrl: `redis://127.0.0.1:${proxy.port}` });
}, 60_000);
afterAll(async () => {
  proxy?.partition(false);
  await env?.stop();
  await proxy?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The next ephemeral message for `userId` after `since` (message count), and how long it took from `startedAt`. */
async function ephemeralAfter(userId: string, seen: Set<string>, startedAt: number): Promise<{ text: string; ms: number }> {
  const message = await env.slack.waitForMessage((m) => m.visibleTo === userId && !seen.has(m.ts), 15_000);
  return { text: message.text, ms: Date.now() - startedAt };
}

function ackText(result: unknown): string | undefined {
  const body = (result as { body?: string } | undefined)?.body;
  if (!body) return undefined;
  try {
    const text = (JSON.parse(body) as { text?: unknown }).text;
    return typeof text === 'string' ? text : undefined;
  } catch {
    return undefined;
  }
}

function seenBy(userId: string): Set<string> {
  return new Set(env.slack.messages(DEMO_CHANNEL).filter((m) => m.visibleTo === userId).map((m) => m.ts));
}

describe(`Redis unreachable for ${OUTAGE_MS / 1000} s while people click`, () => {
  it('answers every click that Redis could not record, applies none of them late, and works again after', async () => {
    const { incidentId, message } = await openIncident(env, 'incident db -- redis outage');
    const quarantine = `netpol-responder-quarantine-${incidentId}`;
    const before = await env.bot!.store.require(incidentId);
    const timelineBefore = (await env.bot!.store.timeline(incidentId)).length;

    proxy.partition(true);
    const outageStart = Date.now();
    const answers: Array<{ what: string; text: string; ms: number }> = [];
    const clicks: Array<{ what: string; userId: string; act: () => Promise<unknown> }> = [
      { what: 'approve', userId: bob.id, act: () => click(env, message, bob.id, 'approve') },
      { what: 'reject', userId: carol.id, act: () => click(env, message, carol.id, 'reject') },
      { what: '/netpol status <id>', userId: alice.id, act: () => env.driver!.slashCommand({ userId: alice.id, channelId: DEMO_CHANNEL, text: `status ${incidentId}` }) },
      { what: '/netpol status', userId: alice.id, act: () => env.driver!.slashCommand({ userId: alice.id, channelId: DEMO_CHANNEL, text: 'status' }) },
      // Commands that queue work: queued during the outage, they would run after it, unasked.
      { what: '/netpol incident', userId: alice.id, act: () => env.driver!.slashCommand({ userId: alice.id, channelId: DEMO_CHANNEL, text: 'incident frontend -- during the outage' }) },
      { what: '/netpol export', userId: alice.id, act: () => env.driver!.slashCommand({ userId: alice.id, channelId: DEMO_CHANNEL, text: `export ${incidentId} md` }) },
    ];
    // Clicks keep coming for the whole outage (one round at least).
    for (let round = 0; round === 0 || Date.now() - outageStart < OUTAGE_MS - 3000; round += 1) {
      for (const c of clicks) {
        const seen = seenBy(c.userId);
        const at = Date.now();
        const result = await c.act();
        // An answer in the acknowledgement itself (Slack shows it to the user) or posted after it.
        const acked = ackText(result);
        const answer = acked !== undefined ? { text: acked, ms: Date.now() - at } : await ephemeralAfter(c.userId, seen, at);
        answers.push({ what: c.what, ...answer });
      }
    }
    const remaining = OUTAGE_MS - (Date.now() - outageStart);
    if (remaining > 0) await sleep(remaining);
    proxy.partition(false);
    const healedAt = Date.now();

    // Every answer says why and that nothing changed (status: that it cannot read).
    for (const a of answers) {
      if (a.what.startsWith('/netpol status')) expect(a.text, a.what).toContain('cannot reach Redis');
      else if (a.what === '/netpol incident') expect(a.text, a.what).toMatch(/^The bot cannot reach Redis, where it keeps incidents \(no answer within 2\.5 s\)\. No incident was opened; try again in a moment\.$/);
      else if (a.what === '/netpol export') expect(a.text, a.what).toMatch(/cannot reach Redis.*Nothing was exported; try again in a moment\.$/);
      else expect(a.text, a.what).toMatch(/^Could not record your (approval|rejection|decision): the bot cannot reach Redis \(no answer within 2\.5 s\)\. Nothing was changed; try again in a moment\.$/);
    }

    // The held commands reach Redis now, and each answer lets a click's work send its next command
    // (a read, then the write): give them a few round trips and a moment, then nothing must be applied.
    for (let i = 0; i < 20; i += 1) await env.bot!.redis.ping();
    await sleep(1500);
    const after = await env.bot!.store.require(incidentId);
    expect(after.version).toBe(before.version);
    expect(after.steps.contain?.status).toBe('awaiting-approval');
    expect(after.steps.contain?.approvals ?? []).toEqual([]);
    expect((await env.bot!.store.timeline(incidentId)).length).toBe(timelineBefore);
    expect(env.kube.get('NetworkPolicy', 'db', quarantine)).toBeUndefined();
    expect(env.kube.requests.filter((r) => r.method !== 'GET' && !r.query.dryRun && r.path.includes(quarantine))).toEqual([]);
    // Neither the incident typed during the outage nor the export was queued.
    expect((await env.bot!.store.list(50)).filter((i) => i.scope.namespace === 'frontend')).toEqual([]);
    expect(env.slack.messages(DEMO_CHANNEL).filter((m) => (m.files?.length ?? 0) > 0 || m.text.startsWith('Exporting'))).toEqual([]);

    // The buttons work again: bob approves once, containment is applied once.
    const seen = seenBy(bob.id);
    await click(env, message, bob.id, 'approve');
    await waitForContained(env, incidentId, 30_000);
    const recoveryMs = Date.now() - healedAt;
    const lateAnswers = env.slack.messages(DEMO_CHANNEL).filter((m) => m.visibleTo === bob.id && !seen.has(m.ts) && m.text.includes('cannot reach Redis'));
    expect(lateAnswers).toEqual([]);
    const applied = (await env.bot!.store.timeline(incidentId)).filter((e) => e.type === 'policy.applied');
    expect(applied).toHaveLength(1);
    const approvals = (await env.bot!.store.require(incidentId)).steps.contain?.approvals ?? [];
    expect(approvals.map((a) => a.user)).toEqual([bob.id]);

    const slowest = Math.max(...answers.map((a) => a.ms));
    recordOutcome({
      scenario: `Redis unreachable ${OUTAGE_MS / 1000} s`,
      fault: 'network partition between the bot and Redis (TCP held, then delivered) during clicks',
      outcome: `${answers.length} clicks/commands answered (slowest ${slowest} ms) that nothing changed; 0 applied late; the next Approve contained once`,
      approvalsLost: approvals.length === 1 ? 0 : 1,
      stepsAppliedTwice: applied.length - 1,
      alertsLost: 0,
      alertsDoubled: 0,
      recoveryMs,
    });
    process.stderr.write(`redis-outage: ${answers.length} answers, latency ms ${answers.map((a) => a.ms).join(',')}; recovery ${recoveryMs} ms\n`);
  }, 120_000);

  it('a command acknowledged on the heartbeat as Redis goes away is not queued, and its user is told so', async () => {
    const { incidentId } = await openIncident(env, 'incident api -- heartbeat race');
    const seen = seenBy(alice.id);
    // Redis answered the heartbeat within the last second: the commands are acknowledged without a
    // round trip, then Redis is asked before their jobs are queued, and it does not answer.
    proxy.partition(true);
    const incident = ackText(await env.driver!.slashCommand({ userId: alice.id, channelId: DEMO_CHANNEL, text: 'incident frontend -- just as Redis went away' }));
    const exportAck = ackText(await env.driver!.slashCommand({ userId: alice.id, channelId: DEMO_CHANNEL, text: `export ${incidentId} md` }));
    expect(incident).toMatch(/^Opening incident `([^`]+)` for namespace `frontend`/);
    expect(exportAck).toMatch(/^Exporting the postmortem timeline/);
    const openingId = /`([^`]+)`/.exec(incident!)![1]!;
    const followUps = await Promise.all([
      env.slack.waitForMessage((m) => m.visibleTo === alice.id && !seen.has(m.ts) && m.text.includes(openingId), 15_000),
      env.slack.waitForMessage((m) => m.visibleTo === alice.id && !seen.has(m.ts) && m.text.includes('Nothing was exported'), 15_000),
    ]);
    expect(followUps.map((m) => m.text)).toEqual([
      `The bot cannot reach Redis, where it keeps incidents (no answer within 2.5 s). Incident \`${openingId}\` was not opened; try again in a moment.`,
      'The bot cannot reach Redis, where it keeps incidents (no answer within 2.5 s). Nothing was exported; try again in a moment.',
    ]);

    // Healed: nothing was queued, so nothing opens or is exported late.
    proxy.partition(false);
    for (let i = 0; i < 20; i += 1) await env.bot!.redis.ping();
    await sleep(1500);
    expect(await env.bot!.store.get(openingId)).toBeUndefined();
    expect((await env.bot!.store.list(50)).filter((i) => i.scope.namespace === 'frontend')).toEqual([]);
    expect(env.slack.messages(DEMO_CHANNEL).filter((m) => (m.files?.length ?? 0) > 0 || m.text.startsWith('Exporting'))).toEqual([]);

    // And once the heartbeat is fresh again, the same command opens the incident.
    await sleep(1000);
    const again = ackText(await env.driver!.slashCommand({ userId: alice.id, channelId: DEMO_CHANNEL, text: 'incident frontend -- after the outage' }));
    const againId = /^Opening incident `([^`]+)`/.exec(again ?? '')?.[1];
    expect(againId, again).toBeDefined();
    await expect.poll(async () => (await env.bot!.store.get(againId!))?.scope.namespace, { timeout: 15_000 }).toBe('frontend');
  }, 60_000);
});
