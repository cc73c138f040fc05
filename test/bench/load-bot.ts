// The bot the load benchmark measures, in one of two layouts (LOAD_LAYOUT):
//  - `shipped` (default): as deploy/kubernetes.yaml runs it, a `serve --roles web` process, a
//    `serve --roles worker,watcher` process and a `serve --roles collector` process, running the
//    compiled dist/, apart from the simulated environment (API server, Slack and Hubble stand-ins,
//    Git remote), which stays in the benchmark's process the way a real API server is never in
//    the bot's;
//  - `one-process`: every role in the benchmark's own process, beside the simulated environment,
//    the worst case for the event loop (the stand-ins' work shares it).
// Either way the benchmark reads the bot's state from Redis and drives it through Slack.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { ChangeJournal } from '../../src/journal/store.js';
import { IncidentStore } from '../../src/incident/store.js';
import { AUDIT_WEBHOOK_TOKEN, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { SlackDriver } from '../../src/sim/slack/driver.js';
import { freePort } from '../../src/redis/throwaway.js';
import { ownCpuMs } from './cpu-meter.js';
import { httpGet, spawnCli, writeServeConfig, type CliProcess } from '../helpers/serve-process.js';

export type Layout = 'shipped' | 'one-process';

export interface LoopDelay {
  max: number;
  p99: number;
  mean: number;
  /** The heap in use at the end of the window (MB), where the process reports it. */
  heapMb?: number;
}

export interface BotUnderTest {
  layout: Layout;
  /** The bot's Slack request URL. */
  slackUrl: string;
  store: IncidentStore;
  journal: ChangeJournal;
  redis: Redis;
  /** Flow records the collector has read so far. */
  flowsRead(): Promise<number>;
  /** The event loop's delay over a window (ms): in the process that acknowledges Slack, or in the one that runs the jobs. */
  loopDelay(role?: 'web' | 'worker'): { stop(): Promise<LoopDelay> };
  /** The worker process's Prometheus metrics as text (one-process: the bot's registry). */
  workerMetrics(): Promise<string>;
  /** CPU time (ms) used so far by the bot's processes (in one-process: the whole process). */
  cpuMs(): number;
  stop(): Promise<void>;
}

export function layoutFromEnv(): Layout {
  const layout = process.env.LOAD_LAYOUT ?? 'shipped';
  if (layout !== 'shipped' && layout !== 'one-process') throw new Error(`LOAD_LAYOUT must be shipped or one-process (got ${layout})`);
  return layout;
}

function readers(env: EmbeddedEnvironment, redis: Redis): Pick<BotUnderTest, 'store' | 'journal' | 'redis'> {
  const prefix = env.config.redis.keyPrefix;
  const retention = { maxAgeMs: env.config.journal.maxAge, maxEntries: env.config.journal.maxEntries };
  return { redis, store: new IncidentStore(redis, prefix), journal: new ChangeJournal(redis, prefix, retention) };
}

function inProcessDelay(): { stop(): Promise<LoopDelay> } {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return {
    async stop() {
      h.disable();
      return { max: h.max / 1e6, p99: h.percentile(99) / 1e6, mean: h.mean / 1e6 };
    },
  };
}

async function startInProcess(env: EmbeddedEnvironment): Promise<BotUnderTest> {
  const bot = await env.startBot();
  return {
    layout: 'one-process',
    slackUrl: `http://127.0.0.1:${bot.port}/slack/events`,
    ...readers(env, bot.redis as Redis),
    flowsRead: async () => bot.collector?.pipeline.counts.read ?? 0,
    workerMetrics: async () => (bot.metricsPort === undefined ? '' : scrape(bot.metricsPort)),
    loopDelay: inProcessDelay,
    cpuMs: ownCpuMs,
    stop: async () => undefined,
  };
}

/** utime + stime of a process, in ms (Linux /proc; 0 elsewhere). */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // The fields after the command name, which is in parentheses and may hold spaces.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** A metric's value from a Prometheus text exposition. */
function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

async function scrape(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** Resolves once the process says it is ready on its metrics port (/readyz 200). */
async function ready(p: CliProcess, metricsPort: number, what: string): Promise<void> {
  const deadline = Date.now() + 300_000;
  while ((await httpGet(`http://127.0.0.1:${metricsPort}/readyz`)).status !== 200) {
    if (Date.now() > deadline || p.child.exitCode !== null) throw new Error(`${what}: not ready (exit ${p.child.exitCode})\n${p.stderr.slice(-2000)}\n${p.stdout.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The image runs the compiled dist/ (deploy/Dockerfile), so the shipped layout does too: built
 * here first. LOAD_BOT_RUN=sources runs the TypeScript sources through tsx instead (its loader
 * thread and source-mapped stack traces are not what production pays).
 */
function buildUnlessSources(): boolean {
  const run = process.env.LOAD_BOT_RUN ?? 'compiled';
  if (run !== 'compiled' && run !== 'sources') throw new Error(`LOAD_BOT_RUN must be compiled or sources (got ${run})`);
  if (run === 'sources') return false;
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return true;
}

async function startShipped(env: EmbeddedEnvironment): Promise<BotUnderTest> {
  const c = env.config;
  // Ports chosen here, so the processes can log at warn: logging every job at info to a pipe this
  // busy process reads cost the bot ~10% of its event loop (writes to a pipe are synchronous).
  const [slackPort, webMetrics, workerMetrics, collectorMetrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const common = {
    slack: { incidentChannel: c.slack.incidentChannel, approvers: c.slack.approvers, apiUrl: c.slack.apiUrl, port: slackPort, host: '127.0.0.1' },
    redis: { keyPrefix: c.redis.keyPrefix },
    kube: c.kube,
    playbook: c.playbook,
    worker: c.worker,
    ...(c.git ? { git: { dir: c.git.dir, repositories: c.git.repositories.map((r) => ({ name: r.name, url: r.url, branch: r.branch, paths: r.paths })) } } : {}),
    log: { level: process.env.LOAD_LOG_LEVEL ?? 'warn' },
  };
  const source = c.collector?.source;
  if (!source || source.kind !== 'hubble-relay') throw new Error('the shipped layout needs the relay in the environment');
  // LOAD_BOT_CPU_PROF=<dir>: the web and worker processes write their CPU profiles (every thread's) there when they stop.
  const nodeArgs = process.env.LOAD_BOT_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LOAD_BOT_CPU_PROF}`] : [];
  // LOAD_BOT_NODE_ARGS: more options for node in both (e.g. `--import <file>` of a heap sampler, `--trace-gc`), space-separated.
  if (process.env.LOAD_BOT_NODE_ARGS) nodeArgs.push(...process.env.LOAD_BOT_NODE_ARGS.split(' ').filter(Boolean));
  const compiled = buildUnlessSources();
  const spawnOptions = { nodeArgs, compiled };
  const web = spawnCli(['serve', '--config', writeServeConfig({ ...common, roles: ['web'], metrics: { port: webMetrics, host: '127.0.0.1' } })], env.env, spawnOptions);
  const worker = spawnCli(['serve', '--config', writeServeConfig({ ...common, slack: { ...common.slack, port: undefined }, roles: ['worker', 'watcher'], metrics: { port: workerMetrics, host: '127.0.0.1' } })], env.env, spawnOptions);
  const collector = spawnCli(
    ['serve', '--config', writeServeConfig({ ...common, slack: { ...common.slack, port: undefined }, roles: ['collector'], metrics: { port: collectorMetrics, host: '127.0.0.1' }, collector: { source: { kind: 'hubble-relay', address: source.address }, learningPeriod: '1h', cooldown: '15m' } })],
    env.env,
    { compiled },
  );
  await Promise.all([ready(web, webMetrics, 'the web process'), ready(worker, workerMetrics, 'the worker process'), ready(collector, collectorMetrics, 'the collector process')]);
  const slackUrl = `http://127.0.0.1:${slackPort}/slack/events`;
  env.driver = new SlackDriver({ appUrl: slackUrl, signingSecret: env.env.SLACK_SIGNING_SECRET!, sim: env.slack });
  env.kube.setAuditWebhook({ url: `http://127.0.0.1:${slackPort}/webhooks/k8s-audit`, token: AUDIT_WEBHOOK_TOKEN });
  const redis = new Redis(env.env.REDIS_URL ?? '', { lazyConnect: false });
  const children = [web, worker, collector];
  return {
    layout: 'shipped',
    slackUrl,
    ...readers(env, redis),
    flowsRead: async () => metric(await scrape(collectorMetrics), 'netpol_responder_flows_read_total'),
    workerMetrics: () => scrape(workerMetrics),
    // prom-client resets its event-loop histogram at each scrape: one scrape opens the window, the next reads it.
    loopDelay: (role = 'web') => {
      const port = role === 'web' ? webMetrics : workerMetrics;
      const opened = scrape(port);
      return {
        async stop() {
          await opened;
          const text = await scrape(port);
          const seconds = (name: string): number => metric(text, `netpol_responder_nodejs_eventloop_lag_${name}_seconds`) * 1000;
          const heap = metric(text, 'netpol_responder_nodejs_heap_size_used_bytes');
          return { max: seconds('max'), p99: seconds('p99'), mean: seconds('mean'), ...(Number.isFinite(heap) ? { heapMb: heap / 1e6 } : {}) };
        },
      };
    },
    cpuMs: () => children.reduce((sum, p) => sum + processCpuMs(p.child.pid), 0),
    async stop() {
      for (const p of children) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      await Promise.all(children.map((p) => p.exited));
      redis.disconnect();
    },
  };
}

export function startBotUnderTest(env: EmbeddedEnvironment, layout: Layout): Promise<BotUnderTest> {
  return layout === 'shipped' ? startShipped(env) : startInProcess(env);
}
