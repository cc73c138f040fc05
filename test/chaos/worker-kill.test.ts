// Chaos: the worker process SIGKILLed at the step boundaries of the shipped five-step playbook
// (contain, trace, validate, restore, harden) and once in the middle of the restore. One incident
// goes through every kill: after each, a new worker process takes the dead one's job over, and the
// incident must still complete with every approval acted on once and nothing written twice
// (bot writes on the simulated apiserver, pull requests on the Git host stand-in, thread replies).
//
// Holding the worker at a boundary: the worker's Slack calls go through a relay
// (test/helpers/chaos-worker.ts) that holds, never answers, any call made once the store says step
// N is done. The first Slack call a worker makes after recording a step done is the redraw that
// comes before it prepares the next step, so the worker is parked exactly between "N recorded done"
// and "N+1 runs", however fast or slow the machine is; polling the store and killing as soon as N is
// done would race the worker. The middle of a step: the restore's delete of carol's policy is held
// by the simulated apiserver (applied after 8 s, as a request already sent to a real apiserver
// is), and the worker is killed while it waits for the answer.
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../src/incident/model.js';
import { collectorHasReadHistory, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { kubectlCreateNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { DEFAULT_SIM_USER } from '../../src/sim/kube/index.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import { timelineReply } from '../../src/slack/blocks.js';
import { click, DEMO_CHANNEL, DEMO_USERS, incidentMessageFor, openIncident, startTestEnvironment } from '../helpers/environment.js';
import { startLoggedWorker, startSlackRelay, writeFullPlaybookWorkerConfig, type SlackRelay } from '../helpers/chaos-worker.js';
import { hardenApprovalMessage, hardenPlaybook } from '../helpers/harden-e2e.js';
import { CAROL } from '../helpers/restore.js';
import { liveViews, gitViews, waitUntil } from '../helpers/restore-robust.js';
import { stopProcess } from '../helpers/worker-process.js';
import { chaosScale, recordOutcome } from './report.js';

const STEPS = ['contain', 'trace', 'validate', 'restore', 'harden'] as const;
type StepId = (typeof STEPS)[number];
type KillPoint = { after: StepId } | { middleOf: 'restore' };

// Short (npm test): after contain and in the middle of the restore. Full: every boundary too.
const KILLS: KillPoint[] = chaosScale<KillPoint[]>(
  [{ after: 'contain' }, { middleOf: 'restore' }],
  [{ after: 'contain' }, { after: 'trace' }, { after: 'validate' }, { middleOf: 'restore' }, { after: 'restore' }, { after: 'harden' }],
);
const killsAfter = (step: StepId): boolean => KILLS.some((k) => 'after' in k && k.after === step);
const killsInRestore = KILLS.some((k) => 'middleOf' in k);

let env: EmbeddedEnvironment;
let relay: SlackRelay;
let configFile: string;
let firstWorker: Promise<ChildProcess>;
const workers: ChildProcess[] = [];
const logs: string[] = [];

async function startWorker(): Promise<ChildProcess> {
  const { child, logFile } = await startLoggedWorker(env, configFile);
  workers.push(child);
  logs.push(logFile);
  return child;
}

beforeAll(async () => {
  env = await startTestEnvironment({ git: true, gitHost: 'github', flows: true, playbookPath: hardenPlaybook(), startBot: false });
  // This process is web, watcher and collector; only the child processes run steps.
  await env.startBot({ roles: ['web', 'watcher', 'collector'], drift: { ...env.config.drift, enabled: false } });
  relay = await startSlackRelay(env.config.slack.apiUrl ?? '');
  // A 3 s lock: the next worker takes a dead worker's job over within seconds (shorter starved on a busy machine).
  configFile = writeFullPlaybookWorkerConfig(env, relay.url, { concurrency: 2, lockDurationMs: 3000, stalledIntervalMs: 500 });
  // The first worker starts while the collector learns (it has nothing to do before the incident).
  firstWorker = startWorker();
  await waitUntil('the collector to read the shop’s history', () => collectorHasReadHistory(env), 90_000);
  env.hubble!.triggerIncident();
  await waitUntil('the exfiltration anomaly', async () => (await env.bot!.anomalies.recent('db', new Date(0))).some((r) => r.anomaly.title.includes('203.0.113.66')), 60_000);
  await env.bot!.collector!.snapshot();
  await firstWorker;
}, 240_000);
afterAll(async () => {
  for (const child of workers) await stopProcess(child, 'SIGKILL');
  await relay?.close();
  await env?.stop();
});
afterEach((context) => {
  if (context.task.result?.state === 'fail') process.stderr.write(`worker logs: ${logs.join(' ')}\n`);
});

describe('worker SIGKILL at the step boundaries of the full playbook', () => {
  it(`resumes after each kill (${KILLS.map((k) => ('after' in k ? `after ${k.after}` : `in ${k.middleOf}`)).join(', ')}) and completes with nothing lost or doubled`, async () => {
    const current = (id: string): Promise<Incident> => env.bot!.store.require(id);
    const recoveries: number[] = [];
    let worker = await firstWorker;
    let incidentId = '';

    /** Holds the worker's Slack calls from the moment `step` is recorded done. */
    const armAfter = (step: StepId): void => relay.hold(async (method) => method.startsWith('chat.') && (await env.bot!.store.get(incidentId))?.steps[step]?.status === 'done');

    /** Waits until the worker is parked after `step`, checks it is between the steps, kills it and starts another. */
    async function killAfter(step: StepId): Promise<void> {
      // The replacement starts while the worker is parked (as a second replica would be running): it
      // finds no job to take until the dead worker's lock runs out.
      const replacement = startWorker();
      await waitUntil(`the worker parked after ${step}`, () => relay.held.length > 0, 90_000);
      const parked = await current(incidentId);
      expect(parked.steps[step]?.status).toBe('done');
      const next = STEPS[STEPS.indexOf(step) + 1];
      if (next) expect(parked.steps[next]?.status).toBe('pending');
      await stopProcess(worker, 'SIGKILL');
      relay.hold(undefined);
      const killedAt = Date.now();
      worker = await replacement;
      // Recovered: the next step is prepared (or the incident closed and Slack says so).
      await waitUntil(`the playbook to go on after ${step}`, async () => {
        const now = await current(incidentId);
        return next ? now.steps[next]?.status !== 'pending' : now.status !== 'open' && /Completed/.test(JSON.stringify(incidentMessageFor(env, incidentId)?.blocks ?? []));
      }, 90_000);
      recoveries.push(Date.now() - killedAt);
    }

    await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    const opened = await openIncident(env, 'incident db app=postgres -- exfiltration to 203.0.113.66');
    incidentId = opened.incidentId;

    // Contain (approved), then trace and validate run on their own.
    if (killsAfter('contain')) armAfter('contain');
    await click(env, opened.message, DEMO_USERS.approver.id);
    if (killsAfter('contain')) await killAfter('contain');
    for (const step of ['trace', 'validate'] as const) {
      if (!killsAfter(step)) continue;
      armAfter(step);
      await killAfter(step);
    }

    // Restore: approved, killed with its delete in flight, then perhaps after it is done.
    const proposed = await waitUntil('the restore proposal', async () => ((await current(incidentId)).steps.restore?.status === 'awaiting-approval' ? true : undefined), 90_000);
    expect(proposed).toBe(true);
    const message = await waitUntil('Approve under the restore proposal', () => {
      const now = incidentMessageFor(env, incidentId);
      return now && JSON.stringify(now.blocks ?? []).includes('Restore to a known-good state') ? now : undefined;
    });
    if (killsInRestore) env.kube.injectDelay({ verb: 'delete', resource: 'networkpolicies', ms: 8000, times: 1 });
    if (killsAfter('restore')) armAfter('restore');
    await click(env, message, DEMO_USERS.approver.id);
    if (killsInRestore) {
      const replacement = startWorker();
      await waitUntil('the restore deleting carol’s policy', () => env.kube.requests.some((r) => r.method === 'DELETE' && !r.query.dryRun && r.path.endsWith('/db/networkpolicies/allow-all-egress')), 60_000);
      const midway = await current(incidentId);
      expect([midway.steps.restore?.status, midway.restore?.status, midway.restore?.done]).toEqual(['running', 'running', []]);
      await stopProcess(worker, 'SIGKILL');
      const killedAt = Date.now();
      worker = await replacement;
      await waitUntil('the restore to go on', async () => ((await current(incidentId)).restore?.done.length ?? 0) > 0, 90_000);
      recoveries.push(Date.now() - killedAt);
    }
    if (killsAfter('restore')) await killAfter('restore');

    // Harden: approved; its pull request opened once.
    const hardening = await waitUntil('the hardening proposal', async () => ((await current(incidentId)).steps.harden?.status === 'awaiting-approval' ? true : undefined), 90_000);
    expect(hardening).toBe(true);
    const hardenMessage = await hardenApprovalMessage(env, incidentId);
    if (killsAfter('harden')) armAfter('harden');
    await click(env, hardenMessage, DEMO_USERS.approver.id);
    if (killsAfter('harden')) await killAfter('harden');
    const done = await waitUntil('the incident to close', async () => {
      const now = await current(incidentId);
      return now.status !== 'open' ? now : undefined;
    }, 90_000);

    // Completed, every step done, the cluster as Git has it.
    expect(done.status).toBe('completed');
    expect(STEPS.map((s) => done.steps[s]?.status)).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect(done.containment?.status).toBe('lifted');
    expect(liveViews(env, 'db')).toEqual(gitViews('db'));

    // Every approval acted on once: each gated step approved once and started once (resumptions are not starts).
    const timeline = await env.bot!.store.timeline(incidentId);
    const count = (type: string, step: string) => timeline.filter((e) => e.type === type && e.step === step).length;
    const gated = ['contain', 'restore', 'harden'];
    const approvalsLost = gated.filter((s) => count('step.approved', s) !== 1 || count('step.started', s) !== 1).length;
    expect(gated.map((s) => [s, count('step.approved', s), count('step.started', s)])).toEqual(gated.map((s) => [s, 1, 1]));
    expect(STEPS.map((s) => count('step.completed', s))).toEqual([1, 1, 1, 1, 1]);

    // No write twice. Containment writes the scope's objects (the quarantine, the isolated policies,
    // the pod's label) and the lift in the restore writes them back: within each phase (before and
    // after the restore's approval) the same write (verb, object, and content where the audit log
    // has it) succeeds at most once.
    const restoreApprovedAt = timeline.find((e) => e.type === 'step.approved' && e.step === 'restore')?.at ?? '';
    const writes = env.kube.auditEvents.filter((e) => e.user.username === DEFAULT_SIM_USER && /^(create|update|patch|delete)$/.test(e.verb) && !e.requestURI.includes('dryRun=') && e.responseStatus.code >= 200 && e.responseStatus.code < 300);
    const byObject = new Map<string, number>();
    for (const w of writes) {
      const body = w.requestObject as { metadata?: { name?: string; labels?: unknown; annotations?: unknown }; spec?: unknown } | undefined;
      const content = w.verb === 'delete' || !body ? '' : JSON.stringify([body.spec, body.metadata?.labels, body.metadata?.annotations]);
      const phase = w.requestReceivedTimestamp < restoreApprovedAt ? 'contain' : 'restore';
      const key = `${phase}: ${w.verb} ${w.objectRef?.resource}/${w.objectRef?.namespace ?? ''}/${w.objectRef?.name ?? body?.metadata?.name ?? '?'} ${content}`.trim();
      byObject.set(key, (byObject.get(key) ?? 0) + 1);
    }
    const twice = [...byObject].filter(([, n]) => n > 1);
    expect(twice, writes.map((w) => `${w.verb} ${w.requestURI} ${w.responseStatus.code}`).join('\n')).toEqual([]);
    expect([...byObject.keys()]).toEqual(expect.arrayContaining([expect.stringMatching(/^contain: patch networkpolicies\/db\/netpol-responder-quarantine-/), 'restore: delete networkpolicies/db/allow-all-egress', expect.stringMatching(/^restore: delete networkpolicies\/db\/netpol-responder-quarantine-/)]));
    expect(env.gitHost!.pulls).toHaveLength(1);

    // Each timeline event in the thread once: none lost, none doubled (two events may say the same thing).
    const threadNow = () => env.slack.messages(DEMO_CHANNEL).filter((m) => m.threadTs === opened.message.ts && m.visibleTo === undefined).map((m) => m.text);
    const reply = (e: (typeof timeline)[number]) => timelineReply(e);
    await waitUntil('the closing summary in the thread', () => threadNow().some((t) => t.includes('closed* after')), 30_000);
    const thread = threadNow();
    const expected = new Map<string, number>();
    for (const e of timeline) expected.set(reply(e), (expected.get(reply(e)) ?? 0) + 1);
    const seen = new Map<string, number>();
    // A reminder carries the approvers' mentions after its text.
    for (const t of thread) {
      const key = [...expected.keys()].find((r) => t === r || t.startsWith(`${r} <`)) ?? t;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const repliesLost = [...expected].reduce((n, [text, want]) => n + Math.max(0, want - (seen.get(text) ?? 0)), 0);
    const repliesDoubled = [...seen].reduce((n, [text, got]) => n + Math.max(0, got - (expected.get(text) ?? 0)), 0);
    expect({ repliesLost, repliesDoubled }, `thread: ${JSON.stringify(thread.map((t) => t.slice(0, 100)))}`).toEqual({ repliesLost: 0, repliesDoubled: 0 });

    recordOutcome({
      scenario: `worker SIGKILL ×${KILLS.length}`,
      fault: `SIGKILL of the worker ${KILLS.map((k) => ('after' in k ? `after ${k.after}` : `in the middle of ${k.middleOf}`)).join(', ')}`,
      outcome: `resumed each time; completed equal to Git, ${writes.length} bot writes, ${env.gitHost!.pulls.length} PR, ${thread.length} thread replies`,
      approvalsLost,
      stepsAppliedTwice: twice.length,
      alertsLost: repliesLost,
      alertsDoubled: repliesDoubled,
      recoveryMs: Math.max(...recoveries),
    });
  }, chaosScale(240_000, 600_000));
});
