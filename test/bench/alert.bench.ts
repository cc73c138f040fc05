// Benchmark: anomalous flow → Slack alert posted, p50/p99, end to end through the bot as it is
// deployed: Hubble Relay (the stand-in, in a worker thread that also streams background traffic,
// as a relay on another machine would) → gRPC → collector role (pipeline, detectors, anomaly store
// in Redis) → BullMQ job → worker → chat.postMessage to the Slack stand-in. Bot, Redis and Slack
// stand-in are real processes/servers on loopback; the time runs from the relay publishing the
// flow to the Slack stand-in receiving the alert.
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { resolveRedis } from '../../src/redis/throwaway.js';
import { DEMO_CHANNEL, startEmbeddedEnvironment } from '../../src/sim/environment.js';
import { summarize } from './stats.js';

const SAMPLES = Number(process.env.BENCH_ALERTS ?? 200);
const BACKGROUND_PER_S = Number(process.env.BENCH_ALERT_BACKGROUND ?? 5000);
const SPACING_MS = 25;
const WARMUP_MS = Number(process.env.BENCH_ALERT_WARMUP_MS ?? 30_000);
const WORKLOADS = 200;
const EXTERNAL_PEER = 4; // syntheticRecord's peers d ≡ 4 (mod 5) are external addresses

const epochNow = (): number => performance.timeOrigin + performance.now();

/**
 * The relay thread: once started, publishes background traffic every SPACING_MS; on request, each
 * tick also carries one flow to a never-seen external address (the anomaly whose alert is timed).
 */
const RELAY_THREAD = `
  const { register } = await import('tsx/esm/api');
  register();
  const { FakeHubbleRelay } = await import(${JSON.stringify(new URL('../../src/sim/hubble/relay-server.ts', import.meta.url).href)});
  const { syntheticRecord } = await import(${JSON.stringify(new URL('./synthetic-flows.ts', import.meta.url).href)});
  const { parentPort, workerData } = await import('node:worker_threads');
  const { performance } = await import('node:perf_hooks');
  const { workloads, perTick, spacingMs, externalPeer } = workerData;
  const relay = new FakeHubbleRelay({ capacity: 100000 });
  await relay.start();
  parentPort.postMessage({ port: relay.port });
  let k = 0;
  let injected = 0;
  let toInject = 0;
  let running = false;
  const background = (n) => {
    const out = [];
    for (let j = 0; j < n; j++, k++) out.push(syntheticRecord(k % workloads, (k * 7) % 10 % 4, Date.now(), workloads));
    return out;
  };
  const tick = () => {
    if (!running) return;
    const before = background(perTick / 2);
    const after = background(perTick / 2);
    relay.publish(before);
    if (toInject > 0) {
      toInject -= 1;
      const i = injected++;
      const bad = syntheticRecord(i % workloads, externalPeer, Date.now(), workloads);
      const dst = '198.18.' + (i >> 8) + '.' + (i & 255);
      bad.flow.IP.destination = dst;
      const t = performance.timeOrigin + performance.now();
      relay.publish([bad, ...after]);
      parentPort.postMessage({ sent: { dst, t }, left: toInject });
    } else relay.publish(after);
    setTimeout(tick, spacingMs);
  };
  parentPort.on('message', (m) => {
    if (m.start) {
      running = true;
      tick();
    }
    if (m.inject) toInject += m.inject;
    if (m.stop) {
      running = false;
      parentPort.postMessage({ flows: k + injected });
      relay.stop().then(() => process.exit(0));
    }
  });
`;

async function main(): Promise<void> {
  const perTick = Math.max(2, Math.round((BACKGROUND_PER_S * SPACING_MS) / 1000 / 2) * 2);
  const relayThread = new Worker(RELAY_THREAD, { eval: true, workerData: { workloads: WORKLOADS, perTick, spacingMs: SPACING_MS, externalPeer: EXTERNAL_PEER } });
  const sent = new Map<string, number>();
  const posted = new Map<string, number>();
  let relayPort = 0;
  let left = -1;
  let flowsSent = -1;
  relayThread.on('message', (m: { port?: number; sent?: { dst: string; t: number }; left?: number; flows?: number }) => {
    if (m.port) relayPort = m.port;
    if (m.sent) sent.set(m.sent.dst, m.sent.t);
    if (m.left !== undefined) left = m.left;
    if (m.flows !== undefined) flowsSent = m.flows;
  });
  const until = async (what: string, ready: () => boolean, timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`alert bench: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await until('the relay thread', () => relayPort > 0);

  const redis = await resolveRedis();
  // No learning period: the warm-up's first flows of every edge raise their own alerts, which are
  // let through before the measurement, so it sees the steady state of a bot already watching.
  const env = await startEmbeddedEnvironment({ redisUrl: redis.url, keyPrefix: `netpol-bench-${process.pid}`, relayAddress: `127.0.0.1:${relayPort}`, learningPeriod: '0s' });
  try {
    const collector = env.bot!.collector!;
    await until('the collector to connect', () => (collector.relayClient?.stats.connects ?? 0) > 0);
    await new Promise((r) => setTimeout(r, 300)); // the relay follows new flows from when the call arrives
    let lastPost = performance.now();
    let otherAlerts = 0;
    let measuring = false;
    env.slack.onMessage((event) => {
      if (event.type !== 'posted' || event.message.channel !== DEMO_CHANNEL || event.message.threadTs) return;
      lastPost = performance.now();
      const dst = /198\.18\.\d+\.\d+/.exec(event.message.text)?.[0];
      if (dst && !posted.has(dst)) posted.set(dst, epochNow());
      else if (measuring) otherAlerts += 1;
    });
    // Warm-up: long enough for every edge to pass the spike threshold in its first bucket.
    relayThread.postMessage({ start: true });
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    await until('the warm-up alerts to drain', () => performance.now() - lastPost > 1000, 120_000);
    const warmupAlerts = env.slack.messages(DEMO_CHANNEL).length;

    measuring = true;
    const readBefore = collector.pipeline.counts.read;
    const started = performance.now();
    relayThread.postMessage({ inject: SAMPLES });
    await until('the anomalous flows to be sent', () => left === 0, 60_000);
    await until('the last alert', () => posted.size >= SAMPLES, 15_000).catch(() => undefined);
    const seconds = (performance.now() - started) / 1000;
    const read = collector.pipeline.counts.read - readBefore;

    const samples: number[] = [];
    for (const [dst, t] of sent) {
      const at = posted.get(dst);
      if (at !== undefined) samples.push(at - t);
    }
    console.log(`warm-up (${WARMUP_MS / 1000} s): ${warmupAlerts} alerts (first flows and first spikes of each edge), drained before measuring`);
    console.log(`while measuring: the collector read ${Math.round(read / seconds).toLocaleString('en-US')} flows/s (target background ${BACKGROUND_PER_S.toLocaleString('en-US')}/s); ${otherAlerts} other alerts posted`);
    console.log(summarize(`anomalous flow published by the relay → Slack alert posted (${samples.length}/${SAMPLES} alerts, one every ${SPACING_MS} ms)`, samples));
  } finally {
    relayThread.postMessage({ stop: true });
    await new Promise((r) => relayThread.once('exit', r));
    await env.stop();
    await redis.stop();
  }
  if (flowsSent < 0) throw new Error('alert bench: the relay thread did not report');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
