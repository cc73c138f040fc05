// Issue #2 benchmarks on the embedded environment (Slack and Kubernetes on loopback):
//  - slash command acknowledgement time, p50/p99 over 1,000 `/netpol incident` commands;
//  - approval click → containment applied, read back and proven by the engine, p50/p99 over 200 incidents,
//    with 1 and with 2 worker processes, clicked one at a time and all at once.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolveRedis } from '../../src/redis/throwaway.js';
import { DEMO_CHANNEL, DEMO_USERS, startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { APPROVE_ACTION } from '../../src/slack/blocks.js';
import { startWorkerProcess, stopProcess, writeWorkerConfig } from '../helpers/worker-process.js';
import { summarize } from './stats.js';

const ACK_COMMANDS = Number(process.env.BENCH_ACK_COMMANDS ?? 1000);
const INCIDENTS = Number(process.env.BENCH_INCIDENTS ?? 200);

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('benchmark: timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function benchAck(redisUrl: string): Promise<void> {
  const env = await startEmbeddedEnvironment({ redisUrl, keyPrefix: `bench-ack-${randomBytes(3).toString('hex')}` });
  try {
    for (let i = 0; i < 20; i += 1) await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'help' }); // warm-up
    const samples: number[] = [];
    for (let i = 0; i < ACK_COMMANDS; i += 1) {
      const result = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `incident db app=ack-${i} -- bench` });
      if (result.status !== 200) throw new Error(`ack failed: ${result.status}`);
      samples.push(result.ackMs);
    }
    console.log(summarize(`slash command ack (/netpol incident, ${ACK_COMMANDS} commands, worker opening incidents meanwhile)`, samples));
  } finally {
    await env.stop();
  }
}

interface Opened {
  id: string;
  ts: string;
}

async function openIncidents(env: EmbeddedEnvironment, count: number, tag: string): Promise<Opened[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const result = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: `incident db app=${tag}-${i} -- bench` });
    ids.push(/Opening incident `([a-z0-9-]+)`/.exec(result.body)![1]!);
  }
  const opened: Opened[] = [];
  for (const id of ids) {
    const message = await until(() =>
      env.slack.messages(DEMO_CHANNEL).find((m) => !m.threadTs && m.text.includes(id) && JSON.stringify(m.blocks ?? []).includes(APPROVE_ACTION)),
    );
    opened.push({ id, ts: message.ts });
  }
  return opened;
}

async function clickToContained(env: EmbeddedEnvironment, incident: Opened): Promise<number> {
  const started = Date.now();
  await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: incident.ts, actionId: APPROVE_ACTION });
  const confirmed = await until(async () => {
    const current = await env.bot!.store.get(incident.id);
    if (current?.status === 'failed') throw new Error(`incident ${incident.id} failed: ${current.steps.contain?.error}`);
    if (current?.containment?.status !== 'active') return undefined;
    return (await env.bot!.store.timeline(incident.id)).find((e) => e.type === 'containment.proven');
  });
  return Date.parse(confirmed.at) - started;
}

async function benchContain(redisUrl: string, workers: number): Promise<void> {
  const env = await startEmbeddedEnvironment({ redisUrl, keyPrefix: `bench-contain-${randomBytes(3).toString('hex')}`, roles: ['web'] });
  const config = writeWorkerConfig(env, { worker: { concurrency: 8 } });
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < workers; i += 1) children.push(startWorkerProcess(env, config));
    await openIncidents(env, 5, 'warm').then((warm) => Promise.all(warm.map((w) => clickToContained(env, w))));

    const sequential = await openIncidents(env, INCIDENTS, 'seq');
    const one: number[] = [];
    for (const incident of sequential) one.push(await clickToContained(env, incident));
    console.log(summarize(`click → contained, ${workers} worker process${workers > 1 ? 'es' : ''}, one click at a time (${INCIDENTS} incidents)`, one));

    const burst = await openIncidents(env, INCIDENTS, 'burst');
    const started = Date.now();
    const all = await Promise.all(burst.map((incident) => clickToContained(env, incident)));
    console.log(summarize(`click → contained, ${workers} worker process${workers > 1 ? 'es' : ''}, ${INCIDENTS} clicks at once`, all) + ` total=${Date.now() - started} ms`);
  } finally {
    for (const child of children) await stopProcess(child);
    await env.stop();
  }
}

const redis = await resolveRedis();
try {
  await benchAck(redis.url);
  await benchContain(redis.url, 1);
  await benchContain(redis.url, 2);
} finally {
  await redis.stop();
}
