// `npm run bench -- load`: the bot under load, laid out as LOAD_LAYOUT says (./load-bot.ts):
// `shipped` (default) as deploy/kubernetes.yaml runs it, a web process, a worker/watcher process
// (with the drift monitor) and a collector process, apart from the simulated environment; `one-process`
// every role in the benchmark's own process beside the stand-ins, the event loop's worst case.
// The shipped layout runs the compiled dist/ as the image does (LOAD_BOT_RUN=sources: through tsx).
//  - a synthetic cluster of LOAD_POLICIES (10k) NetworkPolicies over ≥ LOAD_INCIDENTS namespaces
//    in the simulated API server, the same policies in the Git repository (drift monitor on), both
//    two days old, one deliberate drift in a namespace no incident touches;
//  - idle figures: no traffic, LOAD_IDLE_INCIDENTS (as many as the loaded phase) incidents one at
//    a time: click → contained (containment.proven) and the ack of `/netpol help` probes every
//    100 ms; then LOAD_ACK_PROBES (100) `/netpol incident` one at a time every 500 ms for a
//    scope an open incident holds, and LOAD_INCIDENTS `/netpol incident` at once (the idle figure
//    for the loaded phase's burst), then rejected;
//  - drift evaluations over the whole cluster (a policy annotated out of band: journalled,
//    evaluated, its episode redrawn): the event loop's delay meanwhile in the process that answers Slack;
//  - loaded figures: LOAD_FLOWS_PER_SECOND (5k) of background flows from a Hubble Relay stand-in
//    in another thread, LOAD_INCIDENTS (50) incidents opened at once in as many namespaces and all
//    approved at once, and the one-at-a-time series again meanwhile (all of it: it goes on while
//    their traces and validations run in the background); the same figures, their ratio to the
//    idle ones against the 2× target, and the event loop's delay. Acknowledgements are timed in a
//    thread of their own (./ack-thread.ts), and clicks are sent from there, timed from when they
//    leave. Each phase says how busy the machine's cores were while its clicks were timed, and
//    whose work it was (./cpu-meter.ts);
//  - the bounded soak, LOAD_SOAK_MINUTES (10; 0 skips it): traffic on, an incident opened,
//    contained and lifted every LOAD_SOAK_INCIDENT_S (20 s), Redis INFO memory and keys per family
//    sampled every 10 s; min/max/last, and the check against the bounds the configuration implies
//    (see soakBounds()). Printed, not asserted on time.
// LOAD_CPU_PROFILE=<file> writes the main thread's CPU profile of the loaded phase there.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { parse, stringify } from 'yaml';
import type { Redis } from 'ioredis';
import { runGit } from '../../src/git/exec.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { createKubeGateway } from '../../src/kube/gateway.js';
import { createLogger } from '../../src/log.js';
import { resolveRedis } from '../../src/redis/throwaway.js';
import { DEMO_CHANNEL, DEMO_USERS, startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { writeHistory } from '../../src/sim/git-remote.js';
import { kubectlPatchNetworkPolicy } from '../../src/sim/kube/act-as.js';
import type { RecordedRequest } from '../../src/sim/kube/access.js';
import { SHOP_GIT_BRANCH, SHOP_GIT_POLICY_DIR } from '../../src/sim/scenarios/shop-git.js';
import { formEncode } from '../../src/sim/slack/driver.js';
import { APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks.js';
import { LIFT_ACTION } from '../../src/slack/contain-blocks.js';
import { syntheticCluster } from '../helpers/synthetic-cluster.js';
import { startAckThread, type Ack, type AckThread } from './ack-thread.js';
import { computeTaskLines } from './compute-tasks.js';
import { cpuMeter, cpuShareLine, type CpuShare } from './cpu-meter.js';
import { layoutFromEnv, startBotUnderTest, type BotUnderTest } from './load-bot.js';
import { mb, percentile, summarize } from './stats.js';

type Obj = Record<string, unknown>;

const POLICIES = Number(process.env.LOAD_POLICIES ?? 10_000);
const INCIDENTS = Number(process.env.LOAD_INCIDENTS ?? 50);
const FLOWS_PER_SECOND = Number(process.env.LOAD_FLOWS_PER_SECOND ?? 5000);
/**
 * As many as the loaded phase contains: a p99 (nearest rank) of fewer samples is the maximum of
 * fewer draws, which would set the idle figure low against the loaded one by sample size alone.
 */
const IDLE_INCIDENTS = Number(process.env.LOAD_IDLE_INCIDENTS ?? INCIDENTS);
const SOAK_MINUTES = Number(process.env.LOAD_SOAK_MINUTES ?? 10);
const SOAK_INCIDENT_S = Number(process.env.LOAD_SOAK_INCIDENT_S ?? 20);
/** `/netpol incident` sent one at a time in each phase (idle and loaded alike). */
const ACK_PROBES = Number(process.env.LOAD_ACK_PROBES ?? 100);
const ACK_PROBE_EVERY_MS = 500;
const SAMPLE_EVERY_MS = 10_000;
const PROBE_EVERY_MS = 100;
const TARGET_RATIO = 2;
const SPACING_MS = 25;
const FLOW_WORKLOADS = 2000;
const LAYOUT = layoutFromEnv();
/** The bot measured: started in main() once the cluster and Git are seeded. */
let bot: BotUnderTest;
/** Where every acknowledgement is timed (./ack-thread.ts), started with the bot. */
let acks: AckThread;

// ---- the cluster ----

const NAMESPACES = Math.max(INCIDENTS + 2, Math.ceil(POLICIES / 100));
/** The scope of an incident left open (awaiting approval) for the one-at-a-time acknowledgements. */
const HELD_SCOPE = `ns-${INCIDENTS} app=app-5`;
/** The deliberate drift lives in the last namespace: no incident is opened there. */
const DRIFT_NAMESPACE = `ns-${NAMESPACES - 1}`;

function cluster(): { objects: Obj[]; policies: Obj[] } {
  // kube-system is the shop's already.
  const objects = (syntheticCluster({ pods: NAMESPACES * 100, policiesPerPod: POLICIES / (NAMESPACES * 100), openNamespaces: 0, seed: 13 }) as Obj[]).filter(
    (o) => (o.metadata as Obj).namespace !== 'kube-system' && (o.metadata as Obj).name !== 'kube-system',
  );
  return { objects, policies: objects.filter((o) => o.kind === 'NetworkPolicy') };
}

/** The policies as Git files, one per namespace (a multi-document YAML file). */
function gitFiles(policies: Obj[]): Record<string, string> {
  const byNamespace = new Map<string, Obj[]>();
  for (const p of policies) {
    const ns = String((p.metadata as Obj).namespace);
    byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), p]);
  }
  return Object.fromEntries([...byNamespace].map(([ns, list]) => [`${SHOP_GIT_POLICY_DIR}/${ns}/policies.yaml`, list.map((p) => stringify(p)).join('---\n')]));
}

/** The shop's policies/ is a kustomization listing its files: the new files join its resources. */
async function withKustomization(env: EmbeddedEnvironment, files: Record<string, string>): Promise<Record<string, string>> {
  const path = `${SHOP_GIT_POLICY_DIR}/kustomization.yaml`;
  const current = parse((await runGit(['show', `${SHOP_GIT_BRANCH}:${path}`], { cwd: env.git!.remoteDir })).stdout.toString('utf8')) as { resources: string[] };
  const resources = [...current.resources, ...Object.keys(files).map((f) => f.slice(SHOP_GIT_POLICY_DIR.length + 1))].sort();
  return { ...files, [path]: stringify({ ...current, resources }) };
}

// ---- the relay thread ----

const RELAY_THREAD = `
  const { register } = await import('tsx/esm/api');
  register();
  const { FakeHubbleRelay } = await import(${JSON.stringify(new URL('../../src/sim/hubble/relay-server.ts', import.meta.url).href)});
  const { syntheticRecord } = await import(${JSON.stringify(new URL('./synthetic-flows.ts', import.meta.url).href)});
  const { parentPort, workerData } = await import('node:worker_threads');
  const { workloads, perTick, spacingMs } = workerData;
  const relay = new FakeHubbleRelay({ capacity: 100000 });
  await relay.start();
  parentPort.postMessage({ port: relay.port });
  let k = 0;
  let running = false;
  const tick = () => {
    if (!running) return;
    const out = [];
    for (let j = 0; j < perTick; j++, k++) out.push(syntheticRecord(k % workloads, (k * 7) % 10 % 4, Date.now(), workloads));
    relay.publish(out);
    setTimeout(tick, spacingMs);
  };
  parentPort.on('message', (m) => {
    if (m.start && !running) { running = true; tick(); }
    if (m.pause) running = false;
    if (m.count) parentPort.postMessage({ flows: k });
    if (m.stop) { running = false; relay.stop().then(() => process.exit(0)); }
  });
`;

interface Relay {
  port: number;
  start(): void;
  pause(): void;
  flows(): Promise<number>;
  stop(): Promise<void>;
}

async function startRelay(): Promise<Relay> {
  const perTick = Math.max(1, Math.round((FLOWS_PER_SECOND * SPACING_MS) / 1000));
  const worker = new Worker(RELAY_THREAD, { eval: true, workerData: { workloads: FLOW_WORKLOADS, perTick, spacingMs: SPACING_MS } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (m: { port: number }) => resolve(m.port));
    worker.once('error', reject);
  });
  return {
    port,
    start: () => worker.postMessage({ start: true }),
    pause: () => worker.postMessage({ pause: true }),
    flows: () =>
      new Promise((resolve) => {
        const on = (m: { flows?: number }): void => {
          if (m.flows === undefined) return;
          worker.off('message', on);
          resolve(m.flows);
        };
        worker.on('message', on);
        worker.postMessage({ count: true });
      }),
    stop: async () => {
      worker.postMessage({ stop: true });
      await new Promise((r) => worker.once('exit', r));
    },
  };
}

// ---- driving the bot ----

/** The cores' use from now on (./cpu-meter.ts): the bot's processes apart where they are processes of their own. */
function botCpuMeter(): ReturnType<typeof cpuMeter> {
  return cpuMeter(bot.layout === 'shipped' ? () => bot.cpuMs() : undefined);
}

async function until<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 180_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`load benchmark: timed out waiting for ${what}`);
    // Not faster: fifty waits polling every 10 ms took a fifth of the bot's event loop. Nothing
    // measured comes from when a wait notices (containment's time is its event's).
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface Opened {
  id: string;
  ackMs: number;
}

/** `/netpol <text>` from the on-call user, sent and timed by the ack thread. */
async function slash(env: EmbeddedEnvironment, text: string): Promise<Ack> {
  const opts = { userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text };
  return acks.send(formEncode(env.driver!.slashCommandFields(opts, env.slack.createResponseUrl({ channel: opts.channelId, user: opts.userId }))));
}

/** Each phase contains its own workload (warm-up app-3, idle app-1, loaded app-0, soak app-2): scopes never overlap. */
async function openIncident(env: EmbeddedEnvironment, namespace: string, app: string, tag: string): Promise<Opened> {
  const result = await slash(env, `incident ${namespace} app=${app} -- load ${tag}`);
  const id = /Opening incident `([a-z0-9-]+)`/.exec(result.body)?.[1];
  if (result.status !== 200 || !id) throw new Error(`load benchmark: no incident opened in ${namespace}: ${result.status} ${result.body}`);
  return { id, ackMs: result.ackMs };
}

/** Fifty incidents at once on a big cluster take minutes: the figures are printed however far beyond the target they are. */
const LOADED_TIMEOUT_MS = 900_000;

async function approvalMessage(env: EmbeddedEnvironment, id: string): Promise<string> {
  // Told by the stand-in as each message comes: fifty waits scanning the whole channel every
  // 250 ms were a third of the event loop the bot shares with this benchmark.
  const message = await env.slack.waitForMessage((m) => m.channel === DEMO_CHANNEL && !m.threadTs && m.text.includes(id) && JSON.stringify(m.blocks ?? []).includes(APPROVE_ACTION), LOADED_TIMEOUT_MS);
  return message.ts;
}

/** The milestones of a containment after the click, in the order they happen (timeline event types). */
const PHASES = ['step.approved', 'step.started', 'policy.applied', 'policy.confirmed', 'containment.proven'] as const;
/** Per containment: ms from the click to each milestone (NaN when the timeline lacks it). */
const phaseLog: number[][] = [];

/** Click Approve; ms from the click to the engine's proof of the containment. */
async function clickToContained(env: EmbeddedEnvironment, id: string, ts: string): Promise<number> {
  // Sent from the ack thread like every Slack request here, and timed from when it left: the main
  // thread's own delay in sending it is the benchmark's, not the bot's.
  const { rawBody } = env.driver!.clickFormBody({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: ts, actionId: APPROVE_ACTION });
  const click = await acks.send(rawBody);
  if (click.status !== 200) throw new Error(`load benchmark: the click on ${id} got ${click.status} ${click.body}`);
  const clicked = click.sentAt;
  const timeline = await until(async () => {
    const incident = await bot.store.get(id);
    if (incident?.status === 'failed') throw new Error(`incident ${id} failed: ${JSON.stringify(incident.steps).slice(0, 500)}`);
    const events = await bot.store.timeline(id);
    return events.some((e) => e.type === 'containment.proven') && events;
  }, `the containment of ${id}`, LOADED_TIMEOUT_MS, 1000);
  // The first of each after the click: later steps have their own (the trace step's step.approved).
  const at = (type: string): number => Date.parse(timeline.find((e) => e.type === type && Date.parse(e.at) >= clicked)?.at ?? '') - clicked;
  phaseLog.push(PHASES.map(at));
  return at('containment.proven');
}

/** Where the click → contained time went: the median and p99 ms from the click to each milestone, over the containments since `from`. */
function phaseLine(from: number): string {
  const rows = phaseLog.slice(from);
  return PHASES.map((phase, i) => {
    const xs = rows.map((r) => r[i] as number).filter(Number.isFinite);
    return `${phase} ${xs.length > 0 ? `${p(xs, 50).toFixed(0)}/${p(xs, 99).toFixed(0)}` : '-'}`;
  }).join(' → ');
}

/** The playbook has run what it runs without a click: finished, or waiting for an approval. */
async function settled(env: EmbeddedEnvironment, id: string, timeoutMs = 900_000): Promise<void> {
  await until(async () => {
    const incident = await bot.store.get(id);
    return incident !== undefined && (incident.currentStep === null || incident.steps[incident.currentStep]?.status === 'awaiting-approval');
  }, `incident ${id} to settle`, timeoutMs, 1000);
}

async function lift(env: EmbeddedEnvironment, id: string, ts: string): Promise<void> {
  await env.slack.waitForMessage((m) => m.channel === DEMO_CHANNEL && m.ts === ts && JSON.stringify(m.blocks ?? []).includes(LIFT_ACTION), 180_000);
  await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: ts, actionId: LIFT_ACTION });
  await until(async () => (await bot.store.timeline(id)).some((e) => e.type === 'containment.lift-verified'), `the lift of ${id} to be verified`);
}

/**
 * `/netpol help` every PROBE_EVERY_MS, one at a time: the acknowledgement as a user feels it. A
 * request that fails (a keep-alive connection the server closed as it was reused) is counted and
 * said, not a sample.
 */
function ackProbe(env: EmbeddedEnvironment): { stop(): Promise<number[]> } {
  const samples: number[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const result = await slash(env, 'help');
        if (result.status === 200) samples.push(result.ackMs);
        else failures.push(`HTTP ${result.status}`);
      } catch (error) {
        failures.push(String((error as { cause?: unknown }).cause ?? error));
      }
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      if (failures.length > 0) console.log(`  (${failures.length} /netpol help request${failures.length === 1 ? '' : 's'} failed, not counted: ${[...new Set(failures)].slice(0, 3).join('; ')})`);
      return samples;
    },
  };
}

const p = (xs: number[], q: number): number => percentile([...xs].sort((a, b) => a - b), q);
/** Redis's slow log from here on: every command that took the server ≥ 5 ms (it blocks every client meanwhile). */
async function startSlowlog(redis: Redis): Promise<void> {
  await redis.config('SET', 'slowlog-log-slower-than', '5000');
  await redis.config('SET', 'slowlog-max-len', '10000');
  await redis.slowlog('RESET');
}

async function slowlogLine(redis: Redis): Promise<string> {
  const entries = (await redis.slowlog('GET', 10000)) as Array<[number, number, number, string[]]>;
  const byCommand = new Map<string, { count: number; maxMs: number; totalMs: number }>();
  for (const [, , micros, args] of entries) {
    // A script is named by its first key's pattern, numbers and ids folded.
    const name = `${String(args[0]).toUpperCase()}${/^(EVALSHA|EVAL|FCALL)$/i.test(String(args[0])) && args[3] ? ` ${String(args[3]).replace(/[0-9a-f-]{6,}|\d+/g, '#')}` : ''}`;
    const agg = byCommand.get(name) ?? { count: 0, maxMs: 0, totalMs: 0 };
    agg.count++;
    agg.maxMs = Math.max(agg.maxMs, micros / 1000);
    agg.totalMs += micros / 1000;
    byCommand.set(name, agg);
  }
  const top = [...byCommand.entries()].sort((a, b) => b[1].totalMs - a[1].totalMs).slice(0, 6);
  return `Redis commands over 5 ms meanwhile: ${entries.length}${top.length > 0 ? `, most: ${top.map(([n, a]) => `${n} ×${a.count} (max ${a.maxMs.toFixed(0)} ms)`).join(', ')}` : ''}`;
}

const fmtDelay = (d: { max: number; p99: number; mean: number; heapMb?: number }): string =>
  `event-loop delay max ${d.max.toFixed(0)} ms, p99 ${d.p99.toFixed(0)} ms, mean ${d.mean.toFixed(1)} ms${d.heapMb !== undefined ? `, heap in use ${d.heapMb.toFixed(0)} MB` : ''}`;

interface Figures {
  /** `/netpol incident` one at a time. */
  incidentAck: number[];
  /** `/netpol incident` sent INCIDENTS at once: each waits for the ones before it. */
  incidentBurstAck: number[];
  helpAck: number[];
  contained: number[];
  delay: { max: number; p99: number; mean: number };
  /** The event loop of the process that runs the jobs (in one-process, the same process). */
  workerDelay: { max: number; p99: number; mean: number };
  /** The cores' use while the clicks were timed. */
  cpu: CpuShare;
}

async function idleFigures(env: EmbeddedEnvironment): Promise<Figures> {
  const incidentAck: number[] = [];
  const contained: number[] = [];
  // The process's first containment starts the compute threads and has them read the whole
  // cluster: it is run first and not counted, so the idle figures are those of a bot already running.
  const warm = await openIncident(env, 'ns-0', 'app-3', 'warm-up');
  console.log(`  warm-up (not counted): ack ${warm.ackMs.toFixed(0)} ms, click → contained ${await clickToContained(env, warm.id, await approvalMessage(env, warm.id))} ms`);
  await settled(env, warm.id);
  const probe = ackProbe(env);
  const delay = bot.loopDelay();
  const workerDelay = bot.loopDelay('worker');
  const cpu = botCpuMeter();
  for (let i = 0; i < IDLE_INCIDENTS; i++) {
    const opened = await openIncident(env, `ns-${i % INCIDENTS}`, 'app-1', `idle-${i}`);
    incidentAck.push(opened.ackMs);
    contained.push(await clickToContained(env, opened.id, await approvalMessage(env, opened.id)));
    // Said as it comes: on a big cluster and a busy machine the idle phase alone takes minutes.
    console.log(`  incident ${i + 1}: ack ${opened.ackMs.toFixed(0)} ms, click → contained ${contained.at(-1)} ms`);
    await settled(env, opened.id);
  }
  const cpuShare = cpu.stop();
  const helpAck = await probe.stop();
  const loopDelay = await delay.stop();
  const jobsDelay = await workerDelay.stop();
  console.log(`  ${summarize('ack /netpol incident (the incidents above)', incidentAck)}`);
  // The held scope's incident, then the one-at-a-time series against it.
  const held = await openIncident(env, `ns-${INCIDENTS}`, 'app-5', 'held');
  await settled(env, held.id);
  const series = incidentAckSeries(env);
  await new Promise((r) => setTimeout(r, (ACK_PROBES + 1) * ACK_PROBE_EVERY_MS));
  return { incidentAck: await series.stop(), incidentBurstAck: await idleBurst(env), contained, helpAck, delay: loopDelay, workerDelay: jobsDelay, cpu: cpuShare };
}

/**
 * The idle figure for the loaded phase's burst: INCIDENTS `/netpol incident` at once with nothing
 * else going on (app-4 in the loaded phase's namespaces). Once their proposals are drawn they are
 * rejected, so the loaded phase starts from the state it would have without them.
 */
async function idleBurst(env: EmbeddedEnvironment): Promise<number[]> {
  const opened = await Promise.all(Array.from({ length: INCIDENTS }, (_, i) => openIncident(env, `ns-${i}`, 'app-4', `idle-burst-${i}`)));
  const started = Date.now();
  for (const o of opened) await settled(env, o.id);
  console.log(`  ${INCIDENTS} incidents opened at once: their proposals settled ${((Date.now() - started) / 1000).toFixed(1)} s after the last acknowledgement; rejected`);
  for (const o of opened) {
    await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: await approvalMessage(env, o.id), actionId: REJECT_ACTION });
    await until(async () => (await bot.store.get(o.id))?.status === 'rejected', `${o.id} to be rejected`);
  }
  return opened.map((o) => o.ackMs);
}

/**
 * `/netpol incident` one at a time, every ACK_PROBE_EVERY_MS, at most LOAD_ACK_PROBES of them: the
 * acknowledgement a responder gets (the fifty sent in one instant each wait for the ones before
 * them instead). They name a scope an open incident already holds (HELD_SCOPE): acknowledged like
 * any other, then answered "already open" by the job, so a hundred of them add no proposals.
 */
function incidentAckSeries(env: EmbeddedEnvironment): { stop(): Promise<number[]>; finish(): Promise<number[]> } {
  const samples: number[] = [];
  let stopped = false;
  const running = (async () => {
    for (let k = 0; k < ACK_PROBES && !stopped; k++) {
      await new Promise((r) => setTimeout(r, ACK_PROBE_EVERY_MS));
      if (stopped) break;
      const result = await slash(env, `incident ${HELD_SCOPE} -- load ack-probe-${k}`);
      if (result.status === 200) samples.push(result.ackMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      return samples;
    },
    /** All LOAD_ACK_PROBES sent: as many samples as the idle series, so their p99s compare. */
    async finish() {
      await running;
      return samples;
    },
  };
}

async function loadedFigures(env: EmbeddedEnvironment): Promise<Figures & { totalMs: number; ids: string[] }> {
  const probe = ackProbe(env);
  const delay = bot.loopDelay();
  const workerDelay = bot.loopDelay('worker');
  const cpu = botCpuMeter();
  const started = Date.now();
  const opened = await Promise.all(Array.from({ length: INCIDENTS }, (_, i) => openIncident(env, `ns-${i}`, 'app-0', `loaded-${i}`)));
  const oneByOne = incidentAckSeries(env);
  const contained = await Promise.all(opened.map(async (o) => clickToContained(env, o.id, await approvalMessage(env, o.id))));
  const totalMs = Date.now() - started;
  const cpuShare = cpu.stop();
  // The series goes on while the fifty incidents' traces and validations run in the background.
  const jobsDelay = await workerDelay.stop();
  return { incidentAck: await oneByOne.finish(), incidentBurstAck: opened.map((o) => o.ackMs), contained, helpAck: await probe.stop(), delay: await delay.stop(), workerDelay: jobsDelay, cpu: cpuShare, totalMs, ids: opened.map((o) => o.id) };
}

/**
 * The soak starts from a settled bot: the fifty incidents' traces and validations done. They run
 * in the background, one incident's next step behind the others' (tens of minutes of CPU on this
 * cluster and machine), so the wait is long and its length is printed.
 */
async function settleAll(env: EmbeddedEnvironment, ids: readonly string[]): Promise<void> {
  const started = Date.now();
  for (const id of ids) await settled(env, id, 3_600_000);
  console.log(`  the ${ids.length} incidents' background steps (traces, validations) settled ${((Date.now() - started) / 1000).toFixed(0)} s after the last containment`);
}

/**
 * A whole-cluster drift evaluation with nothing else going on: a policy annotated out of band
 * (journalled, evaluated: a drift in the annotation, so its episode is redrawn and its
 * connectivity delta computed, the most an evaluation does).
 */
async function evaluationDelay(env: EmbeddedEnvironment, round: number): Promise<{ max: number; p99: number; mean: number }> {
  const delay = bot.loopDelay();
  const probe = ackProbe(env);
  const cpu = bot.cpuMs();
  await kubectlPatchNetworkPolicy(env.kube, 'dan@shop.example', { namespace: 'ns-0', name: 'default-deny' }, { metadata: { annotations: { 'example.com/reviewed': String(round) } } });
  // debounce 500 ms, maxDelay 2 s, then list, compare (and nothing to alert).
  await new Promise((r) => setTimeout(r, 8000));
  const acks = await probe.stop();
  const d = await delay.stop();
  const used = bot.cpuMs() - cpu;
  // The CPU time says the evaluation ran (listing and comparing 10k policies is seconds of it).
  console.log(`  round ${round}: ${fmtDelay(d)}; bot CPU ${used.toFixed(0)} ms in 8 s; ${summarize('/netpol help ack meanwhile', acks)}`);
  return d;
}

function ratioLine(label: string, idle: number[], loaded: number[], q: number): string {
  const a = p(idle, q);
  const b = p(loaded, q);
  const ratio = b / a;
  return `  ${label} p${q}: idle ${a.toFixed(0)} ms, loaded ${b.toFixed(0)} ms, ratio ${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'})`;
}

// ---- the soak ----

interface Sample {
  at: number;
  usedMemory: number;
  families: Map<string, number>;
}

/** Keys per family: the segment after the key prefix (`incident`, `bull`, `journal` ...). */
async function sample(redis: Redis, prefix: string): Promise<Sample> {
  const info = await redis.info('memory');
  const usedMemory = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
  const families = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const rest = key.startsWith(`${prefix}:`) ? key.slice(prefix.length + 1) : `(other) ${key}`;
      const family = rest.split(':')[0] ?? rest;
      families.set(family, (families.get(family) ?? 0) + 1);
    }
  } while (cursor !== '0');
  return { at: Date.now(), usedMemory, families };
}

async function soak(env: EmbeddedEnvironment, prefix: string): Promise<void> {
  // The benchmark runs on one Redis (single mode): SCAN there sees every key.
  const redis = bot.redis;
  const endAt = Date.now() + SOAK_MINUTES * 60_000;
  const samples: Sample[] = [await sample(redis, prefix)];
  let incidents = 0;
  let failed = 0;
  let stop = false;
  const cycles = (async () => {
    while (!stop && Date.now() < endAt) {
      const opened = await openIncident(env, `ns-${(incidents + failed) % INCIDENTS}`, 'app-2', `soak-${incidents + failed}`);
      try {
        const ts = await approvalMessage(env, opened.id);
        await clickToContained(env, opened.id, ts);
        await settled(env, opened.id);
        await lift(env, opened.id, ts);
        incidents++;
      } catch (error) {
        // Said with where the incident stood, and the soak goes on (its memory samples are the point).
        failed++;
        const incident = await bot.store.get(opened.id);
        console.log(`  soak: incident ${opened.id} did not go round (${String(error)}); status ${incident?.status}, step ${incident?.currentStep}, steps ${JSON.stringify(Object.fromEntries(Object.entries(incident?.steps ?? {}).map(([k, v]) => [k, v.status])))}`);
      }
      await new Promise((r) => setTimeout(r, SOAK_INCIDENT_S * 1000));
    }
  })();
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, Math.min(SAMPLE_EVERY_MS, Math.max(0, endAt - Date.now()))));
    samples.push(await sample(redis, prefix));
  }
  stop = true;
  await cycles;
  samples.push(await sample(redis, prefix));
  const used = samples.map((s) => s.usedMemory);
  console.log(`\nsoak: ${SOAK_MINUTES} min, ${samples.length} samples, ${incidents} incidents opened, contained and lifted (${failed} did not go round), ${FLOWS_PER_SECOND} flows/s`);
  console.log(`  used_memory: min ${mb(Math.min(...used))}, max ${mb(Math.max(...used))}, last ${mb(used.at(-1) as number)} (first ${mb(used[0] as number)})`);
  const names = [...new Set(samples.flatMap((s) => [...s.families.keys()]))].sort();
  for (const name of names) {
    const counts = samples.map((s) => s.families.get(name) ?? 0);
    console.log(`  keys ${name}: min ${Math.min(...counts)}, max ${Math.max(...counts)}, last ${counts.at(-1)} (first ${counts[0]})`);
  }
  soakBounds(samples, incidents);
}

/**
 * What the configuration lets grow, and the check. Families the configuration caps (by count or
 * by a time far beyond the soak) may grow during the soak but by no more than their per-incident
 * cost: an incident's record, timeline, thread and containment ledger are kept (by design, the
 * audit trail); anomalies expire after anomalies.keepFor (7 d) and the collector is in its
 * learning period here (none are raised); each BullMQ queue (one per lane) keeps at most 10,000 completed jobs
 * (removeOnComplete { count: 10000, age: 24 h }) and failed ones for 7 d; the change journal is
 * trimmed to journal.maxEntries (200,000) entries and journal.maxAge (30 d); drift episodes are
 * only those the drift makes. The bound checked: after the first incident of the soak, memory
 * grows by at most the per-incident cost measured over the soak itself times the incidents, plus
 * 10% slack: i.e. no family grows with time or traffic instead of with incidents.
 */
function soakBounds(samples: Sample[], incidents: number): void {
  const first = samples[0] as Sample;
  const last = samples.at(-1) as Sample;
  const grown = [...last.families].filter(([name, n]) => n > (first.families.get(name) ?? 0)).map(([name, n]) => `${name} +${n - (first.families.get(name) ?? 0)}`);
  console.log(`  families that grew: ${grown.length > 0 ? grown.join(', ') : 'none'} over ${incidents} incidents`);
  if (incidents < 2) {
    console.log('  bound: not checked (fewer than 2 incidents in the soak)');
    return;
  }
  // Growth between samples of the second half against the first half: with memory bounded by incidents, the rate per incident is steady.
  const mid = samples[Math.floor(samples.length / 2)] as Sample;
  const perMinute = (a: Sample, b: Sample): number => ((b.usedMemory - a.usedMemory) / (b.at - a.at)) * 60_000;
  const perIncident = (last.usedMemory - first.usedMemory) / incidents;
  const trafficOnly = Math.max(0, perMinute(first, mid)) + Math.max(0, perMinute(mid, last));
  console.log(`  memory per incident: ${(perIncident / 1024).toFixed(1)} KiB; growth ${mb(perMinute(first, mid))}/min in the first half, ${mb(perMinute(mid, last))}/min in the second`);
  const incidentRate = incidents / ((last.at - first.at) / 60_000);
  const bound = perIncident * incidentRate * 1.1 + 64 * 1024;
  const secondHalf = perMinute(mid, last);
  console.log(
    `  bound: growth ≤ ${mb(bound)}/min (${incidentRate.toFixed(1)} incidents/min × per-incident cost + 10%, + 64 KiB/min of allocator noise); second half ${mb(secondHalf)}/min: ${secondHalf <= bound ? 'within' : 'BEYOND'} (sum of halves ${mb(trafficOnly)}/min)`,
  );
}

/** What the bot asked the API server during the loaded phase: whole-cluster lists cost it (and the bot) the most. */
function apiRequestsLine(requests: readonly RecordedRequest[]): string {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const what = r.verb ? `${r.verb} ${r.resource ?? ''}${r.verb === 'list' && r.namespace === undefined ? ' (all namespaces)' : ''}` : `${r.method} ${r.path.split('/').slice(0, 3).join('/')}`;
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 10);
  return `API requests meanwhile: ${requests.length}, most: ${top.map(([k, n]) => `${k} ${n}`).join(', ')} (a list counts its pages)`;
}

/**
 * LOAD_CPU_PROFILE=<file>: the main thread's CPU profile of the loaded phase, written there (open it
 * in Chrome DevTools or any .cpuprofile viewer) to see what the event loop spends the time on.
 */
async function startProfile(): Promise<{ stop(): Promise<void> }> {
  const file = process.env.LOAD_CPU_PROFILE;
  if (!file) return { stop: async () => undefined };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`  CPU profile of the loaded phase: ${file}`);
    },
  };
}

// ---- main ----

async function main(): Promise<void> {
  const { objects, policies } = cluster();
  console.log(`load benchmark: ${LAYOUT === 'shipped' ? `the shipped layout (a web process, a worker/watcher process, a collector process, running ${process.env.LOAD_BOT_RUN === 'sources' ? 'the TypeScript sources' : 'the compiled dist/'})` : 'every role in one process'}; ${policies.length} NetworkPolicies and ${objects.filter((o) => o.kind === 'Pod').length} pods in ${NAMESPACES} namespaces, in the cluster and in Git; ${INCIDENTS} incidents, ${FLOWS_PER_SECOND} flows/s; node ${process.version}`);
  const redis = await resolveRedis();
  const relay = await startRelay();
  const prefix = `bench-load-${randomBytes(3).toString('hex')}`;
  const env = await startEmbeddedEnvironment({ redisUrl: redis.url, keyPrefix: prefix, git: true, relayAddress: `127.0.0.1:${relay.port}`, startBot: false, logger: createLogger({ level: process.env.LOAD_LOG_LEVEL ?? 'warn' }, process.stderr) });
  try {
    const t0 = performance.now();
    // The synthetic namespaces were committed and deployed two days ago, like the shop (a trace
    // looks back 24 h: ten thousand creations a minute before the incidents would all be suspects).
    const deployedAt = new Date(Date.now() - 2 * 86_400_000);
    env.kube.seed(objects, { createdAt: deployedAt });
    env.kube.seed([{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'hotfix-open', namespace: DRIFT_NAMESPACE }, spec: { podSelector: { matchLabels: { app: 'app-1' } }, ingress: [{}] } }]);
    await writeHistory(env.git!.remoteDir, [{ author: { name: 'Erin Platform', email: 'erin@shop.example' }, time: new Date(deployedAt.getTime() - 3_600_000), message: 'the synthetic namespaces', files: await withKustomization(env, gitFiles(policies)) }]);
    bot = await startBotUnderTest(env, LAYOUT);
    acks = await startAckThread(bot.slackUrl, env.env.SLACK_SIGNING_SECRET!);
    // The first evaluation finds the deliberate drift: its episode says the monitor has gone round once.
    await until(async () => (await bot.redis.keys(`${prefix}:drift:episode:*`)).length > 0, 'the first drift evaluation', 600_000);
    // The journal records every policy as the watcher first lists it (seconds of Redis writes for
    // 10k), and each one it stores pokes the drift monitor: measured only once it is done.
    const clusterPolicies = (await createKubeGateway(loadKubeConfig({ kubeconfigPath: env.kubeconfigPath })).objects('NetworkPolicy').list()).items.length;
    await until(async () => (await bot.journal.liveObjects('NetworkPolicy')).length >= clusterPolicies, 'the change journal to record every policy', 600_000, 1000);
    console.log(`set-up: ${((performance.now() - t0) / 1000).toFixed(1)} s (seeded, committed, bot started, first drift evaluation done, ${clusterPolicies} policies journalled)`);
    await new Promise((r) => setTimeout(r, 3000));

    console.log('\nwhole-cluster drift evaluation, nothing else going on (a policy annotated out of band → journalled → evaluated, its episode redrawn):');
    for (let round = 1; round <= 3; round++) await evaluationDelay(env, round);

    console.log(`\nidle (no traffic, one incident at a time, ${IDLE_INCIDENTS} incidents):`);
    const idleCompute = await bot.workerMetrics();
    const idle = await idleFigures(env);
    const idleComputeLines = computeTaskLines(idleCompute, await bot.workerMetrics());
    console.log(`  ${summarize(`ack /netpol incident (one at a time, every ${ACK_PROBE_EVERY_MS} ms)`, idle.incidentAck)}`);
    console.log(`  ${summarize(`ack /netpol incident (${INCIDENTS} at once)`, idle.incidentBurstAck)}`);
    console.log(`  ${summarize('ack /netpol help (probe every 100 ms)', idle.helpAck)}`);
    console.log(`  ${summarize('click → contained', idle.contained)}`);
    console.log(`  ms after the click, p50/p99: ${phaseLine(1)}`);
    const loadedFrom = phaseLog.length;
    console.log(`  the web process's ${fmtDelay(idle.delay)}; the worker's ${fmtDelay(idle.workerDelay)}`);
    console.log(`  while the clicks were timed, ${cpuShareLine(idle.cpu)}`);
    for (const line of idleComputeLines) console.log(`  compute ${line}`);

    relay.start();
    await until(async () => (await bot.flowsRead()) > FLOWS_PER_SECOND, 'the collector to read the background traffic', 60_000);
    const flowsBefore = await bot.flowsRead();
    const loadStarted = Date.now();
    console.log(`\nloaded (${FLOWS_PER_SECOND} flows/s, ${INCIDENTS} incidents opened at once in ${INCIDENTS} namespaces, all approved at once):`);
    const profile = await startProfile();
    const requestsFrom = env.kube.requests.length;
    const harness = monitorEventLoopDelay({ resolution: 10 });
    harness.enable();
    // A Redis that refuses CONFIG (a managed one behind REDIS_URL) has no slow-log figure.
    const slowlog = await startSlowlog(bot.redis).then(() => true, () => false);
    const loadedCompute = await bot.workerMetrics();
    const loaded = await loadedFigures(env);
    const loadedComputeLines = computeTaskLines(loadedCompute, await bot.workerMetrics());
    harness.disable();
    await profile.stop();
    const requests = env.kube.requests.slice(requestsFrom);
    const readRate = (((await bot.flowsRead()) - flowsBefore) / (Date.now() - loadStarted)) * 1000;
    console.log(`  ${summarize(`ack /netpol incident (${INCIDENTS} at once)`, loaded.incidentBurstAck)}`);
    console.log(`  ${summarize(`ack /netpol incident (one at a time meanwhile, every ${ACK_PROBE_EVERY_MS} ms)`, loaded.incidentAck)}`);
    console.log(`  ${summarize('ack /netpol help (probe every 100 ms)', loaded.helpAck)}`);
    console.log(`  ${summarize(`click → contained (${INCIDENTS} clicks at once)`, loaded.contained)} all contained in ${loaded.totalMs} ms from the first command`);
    console.log(`  ms after the click, p50/p99: ${phaseLine(loadedFrom)}`);
    console.log(`  the web process's ${fmtDelay(loaded.delay)}; the worker's ${fmtDelay(loaded.workerDelay)}; collector read ${Math.round(readRate)} flows/s meanwhile (relay sent ${await relay.flows()} in all)`);
    console.log(`  while the clicks were timed, ${cpuShareLine(loaded.cpu)}`);
    for (const line of loadedComputeLines) console.log(`  compute ${line}`);
    console.log(`  ${apiRequestsLine(requests)}`);
    if (slowlog) console.log(`  ${await slowlogLine(bot.redis)}`);
    console.log(`  the benchmark's own process (API server and Slack stand-ins; acknowledgements are timed in a thread of their own): ${fmtDelay({ max: harness.max / 1e6, p99: harness.percentile(99) / 1e6, mean: harness.mean / 1e6, heapMb: process.memoryUsage().heapUsed / 1e6 })}`);
    console.log('\nloaded against idle:');
    console.log(ratioLine(`ack /netpol incident, ${INCIDENTS} at once`, idle.incidentBurstAck, loaded.incidentBurstAck, 99));
    console.log(ratioLine('ack /netpol incident, one at a time', idle.incidentAck, loaded.incidentAck, 99));
    console.log(ratioLine('ack /netpol help', idle.helpAck, loaded.helpAck, 99));
    console.log(ratioLine('click → contained', idle.contained, loaded.contained, 99));
    console.log(ratioLine('click → contained', idle.contained, loaded.contained, 50));

    if (SOAK_MINUTES > 0) {
      await settleAll(env, loaded.ids);
      await soak(env, prefix);
    }
  } finally {
    await acks?.stop();
    await bot?.stop();
    await relay.stop().catch(() => undefined);
    await env.stop();
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
