// The scheduled audit end to end: the simulated Kubernetes API (the shop), a real Redis, the Slack
// stand-in. Runs compare with the previous one (baseline, no change, a new finding), a retried run
// does not post twice, a damaged stored run counts as none, the collector's snapshot feeds the
// unused-policy check, and two worker replicas on one Redis post each scheduled period once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditHistory } from '../../src/audit-report/history.js';
import { Queue } from 'bullmq';
import { removeAuditSchedule, startAuditSchedule } from '../../src/audit-report/schedule.js';
import { runScheduledAudit, type ScheduledAuditDeps } from '../../src/audit-report/scheduled.js';
import { Baseline, type BaselineSnapshot, type WorkloadSnapshot } from '../../src/flows/baseline.js';
import { BaselineStore } from '../../src/flows/baseline-store.js';
import { flowsKeyPrefix } from '../../src/flows/watch-registry.js';
import { createKubeGateway, loadKubeConfig, type KubeGateway } from '../../src/kube/index.js';
import { silentLogger } from '../../src/log.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { ALLOW_ALL_EGRESS, shopObjects } from '../../src/sim/scenarios/shop.js';
import { startSlackApiServer, type SlackApiSim } from '../../src/sim/slack/index.js';
import { WebApiChat } from '../../src/slack/chat.js';
import { redisConnections, uniquePrefix } from '../helpers/redis.js';

const TOKEN = 'xoxb-audit-schedule';
const connect = redisConnections();
let kube: KubeApiSim;
let slack: SlackApiSim;
let gateway: KubeGateway;
let chat: WebApiChat;
let dir: string;
let channelNo = 0;

beforeAll(async () => {
  kube = await startKubeApiServer({ cluster: { cni: 'cilium' } });
  kube.seed(shopObjects());
  dir = mkdtempSync(join(tmpdir(), 'netpol-audit-schedule-'));
  gateway = createKubeGateway(loadKubeConfig({ kubeconfigPath: kube.writeKubeconfig(dir) }));
  slack = await startSlackApiServer({ botToken: TOKEN });
  chat = new WebApiChat(new WebClient(TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }), slack.apiUrl);
});

afterAll(async () => {
  await slack.close();
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
});

function newChannel(): string {
  const id = `C0AUDIT${++channelNo}`;
  slack.addChannel({ id, name: `audit-${channelNo}` });
  return id;
}

function deps(prefix: string, channel: string, logger = silentLogger): ScheduledAuditDeps {
  return { cluster: gateway, redis: connect(), prefix, chat, channel, unusedDays: 30, logger };
}

const topLevel = (channel: string) => slack.messages(channel).filter((m) => m.kind === 'message' && m.threadTs === undefined);
const blockText = (m: { blocks?: unknown[] }): string => JSON.stringify(m.blocks ?? []);
const T0 = Date.parse('2026-11-30T09:00:00Z');
const WEEK = 7 * 86_400_000;

describe('runScheduledAudit', () => {
  it('baseline, no change, a new finding after a policy change; a retry does not post again; a damaged previous run counts as none', async () => {
    const prefix = uniquePrefix('audit-sched');
    const channel = newChannel();
    const logs: Array<{ msg: string; previousRun?: number }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) });
    const d = deps(prefix, channel, logger);

    const first = await runScheduledAudit(d, T0);
    expect(first).toMatchObject({ posted: true, newFindings: 0, resolved: 0 });
    const [summary] = topLevel(channel);
    expect(blockText(summary!)).toContain('No previous run to compare with');
    // Without a collector snapshot the unused-policy check is not run, and the message says why.
    expect(blockText(summary!)).toMatch(/Unused policies not judged: the flow collector has no usable baseline snapshot \(no snapshot\)/);
    const thread = slack.messages(channel).filter((m) => m.threadTs === summary!.ts);
    const file = thread.flatMap((m) => m.files ?? [])[0];
    expect(file?.name).toBe('netpol-audit-2026-11-30.md');
    expect(file?.content?.toString('utf8')).toMatch(/^# NetworkPolicy audit/);
    expect(file?.content?.toString('utf8')).toContain('Not run: the flow collector has no usable baseline snapshot (no snapshot).');

    const second = await runScheduledAudit(d, T0 + WEEK);
    expect(second).toMatchObject({ posted: true, newFindings: 0, resolved: 0 });
    expect(blockText(topLevel(channel)[1]!)).toContain('No change since the previous run (2026-11-30 09:00 UTC)');

    await gateway.objects('NetworkPolicy').create(structuredClone(ALLOW_ALL_EGRESS) as never, { fieldManager: 'test' });
    try {
      const third = await runScheduledAudit(d, T0 + 2 * WEEK);
      expect(third.posted).toBe(true);
      const text = blockText(topLevel(channel)[2]!);
      expect(text).toMatch(/New since the previous run: [1-9]/);
      expect(text).toContain('`NetworkPolicy db/allow-all-egress` allows-any-address');
      expect(text).toMatch(/Score changes.*`db` \d+ → \d+/);

      // The same scheduled time again (a retried job): stored again, not posted again.
      const before = slack.messages(channel).length;
      expect(await runScheduledAudit(d, T0 + 2 * WEEK)).toEqual({ posted: false, reason: 'already posted' });
      expect(slack.messages(channel)).toHaveLength(before);

      // A damaged stored run: compared with none, and logged.
      await connect().set(`${prefix}:audit-report:run:${T0 + 2 * WEEK}`, '{"version":1,"runAt":"x"');
      await runScheduledAudit(d, T0 + 3 * WEEK);
      expect(blockText(topLevel(channel)[3]!)).toContain('No previous run to compare with');
      expect(logs.find((l) => l.msg.includes('stored previous audit report is damaged'))?.previousRun).toBe(T0 + 2 * WEEK);
    } finally {
      await gateway.objects('NetworkPolicy').delete({ namespace: 'db', name: 'allow-all-egress' });
    }
  });

  it('a Slack failure releases the run, so the retry posts it', async () => {
    const prefix = uniquePrefix('audit-sched');
    const failing = { ...chat, postMessage: async () => Promise.reject(new Error('slack down')), uploadFile: chat.uploadFile.bind(chat) };
    const channel = newChannel();
    await expect(runScheduledAudit({ ...deps(prefix, channel), chat: failing }, T0)).rejects.toThrow('slack down');
    expect(await runScheduledAudit(deps(prefix, channel), T0)).toMatchObject({ posted: true });
    expect(topLevel(channel)).toHaveLength(1);
  });

  it('with several clusters, the message and the report file name the cluster audited', async () => {
    const channel = newChannel();
    const outcome = await runScheduledAudit({ ...deps(uniquePrefix('audit-sched-eu'), channel), clusterName: 'eu' }, T0);
    expect(outcome).toMatchObject({ posted: true });
    const [summary] = topLevel(channel);
    expect(summary!.text).toMatch(/^NetworkPolicy audit of cluster eu: /);
    expect(blockText(summary!)).toContain('Scheduled NetworkPolicy audit* of cluster `eu` (2026-11-30 09:00 UTC)');
    const file = slack.messages(channel).filter((m) => m.threadTs === summary!.ts).flatMap((m) => m.files ?? [])[0];
    expect(file?.name).toBe('netpol-audit-eu-2026-11-30.md');
  });

  it('judges unused policies on the collector snapshot: matched allows are not reported, nor is the default deny', async () => {
    const prefix = uniquePrefix('audit-sched');
    const now = Date.now();
    const workload = (namespace: string, name: string, kind: string): WorkloadSnapshot => ({ key: `${namespace}/${name}`, namespace, name, kind, selector: {}, firstSeen: now - 40 * 86_400_000, lastSeen: now, bucket: 0, flows: 10, drops: 0, flowHistory: [], dropHistory: [], historyLen: 0, historyPos: 0, fanoutPeak: 0 });
    const snapshot: BaselineSnapshot = {
      version: 1,
      startedAt: now - 40 * 86_400_000,
      workloads: [workload('frontend', 'web', 'Deployment'), workload('api', 'orders', 'Deployment')],
      edges: [
        [0, 'e|TCP|8080|w:api/orders', now - 86_400_000, now - 3_600_000, 50, 100, 0, 0, 0, 0],
        [1, 'i|TCP|8080|w:frontend/web', now - 86_400_000, now - 3_600_000, 50, 100, 0, 0, 0, 0],
      ],
    };
    await new BaselineStore(connect(), { prefix: flowsKeyPrefix(prefix) }).save(Baseline.fromSnapshot(snapshot), now);
    const channel = newChannel();
    await runScheduledAudit({ ...deps(prefix, channel), now: () => now }, T0);
    const [summary] = topLevel(channel);
    expect(blockText(summary!)).toMatch(/Unused policies judged on 2 learned flows/);
    const report = slack.messages(channel).flatMap((m) => m.files ?? [])[0]?.content?.toString('utf8') ?? '';
    const unused = report.split('## `audit/unused-policy`')[1]?.split('\n## ')[0] ?? '';
    expect(unused).toContain('no flow has matched api/allow-api-to-db');
    expect(unused).not.toContain('frontend/allow-web-to-api');
    expect(unused).not.toContain('api/allow-api-from-frontend');
    expect(unused).not.toContain('default-deny-all');
  });
});

describe('startAuditSchedule', () => {
  it('two worker replicas on one Redis: each scheduled second is run and posted exactly once', async () => {
    const prefix = uniquePrefix('audit-sched');
    const channel = newChannel();
    const runs: Array<{ replica: number; runAt: number; posted: boolean }> = [];
    const start = (replica: number) =>
      startAuditSchedule({
        connection: connect(),
        prefix,
        repeat: { pattern: '* * * * * *', tz: 'UTC' },
        logger: silentLogger,
        run: async (runAt) => {
          const outcome = await runScheduledAudit(deps(prefix, channel), runAt);
          runs.push({ replica, runAt, posted: outcome.posted });
        },
      });
    const schedules = await Promise.all([start(1), start(2)]);
    const deadline = Date.now() + 30_000;
    while (runs.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await Promise.all(schedules.map((s) => s.close()));

    expect(runs.length).toBeGreaterThanOrEqual(4);
    const times = runs.map((r) => r.runAt);
    expect(new Set(times).size).toBe(times.length);
    for (const t of times) expect(t % 1000).toBe(0);
    expect(runs.every((r) => r.posted)).toBe(true);
    expect(topLevel(channel)).toHaveLength(runs.length);
    // Consecutive periods compare with each other: after the first, no change.
    expect(topLevel(channel).slice(1).every((m) => blockText(m).includes('No change since the previous run'))).toBe(true);
    const history = new AuditHistory(connect(), prefix);
    expect((await history.previous(Math.max(...times) + 1)).run?.runAt).toBe(Math.max(...times));
  });

  it('both replicas register one scheduler; switching the audit off removes it for every replica', async () => {
    const prefix = uniquePrefix('audit-sched');
    const start = () => startAuditSchedule({ connection: connect(), prefix, repeat: { pattern: '0 9 * * 1', tz: 'Europe/Berlin' }, logger: silentLogger, run: async () => undefined });
    const schedules = await Promise.all([start(), start()]);
    const queue = new Queue('audit-report', { connection: connect(), prefix: `${prefix}:bull` });
    try {
      const [scheduler] = await queue.getJobSchedulers();
      expect(await queue.getJobSchedulersCount()).toBe(1);
      expect(scheduler).toMatchObject({ key: 'audit-report', pattern: '0 9 * * 1', tz: 'Europe/Berlin' });
      // The next Monday 09:00 in Berlin is 08:00 UTC in winter, 07:00 in summer.
      expect(new Date(scheduler!.next!).toISOString()).toMatch(/T0[78]:00:00\.000Z$/);
      await removeAuditSchedule(connect(), prefix);
      expect(await queue.getJobSchedulersCount()).toBe(0);
    } finally {
      await Promise.all(schedules.map((s) => s.close()));
      await queue.close();
    }
  });
});
