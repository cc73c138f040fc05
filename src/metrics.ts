// Prometheus metrics of one bot process (prom-client): process defaults, incident timeline events,
// anomalies raised, the job queue, the compute threads' tasks (waiting and running) and, in a
// collector process, the flow pipeline and the relay stream. Figures that already live elsewhere
// (pipeline counts, relay stats) are read at scrape time instead of being counted twice on the
// hot path.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { observeComputeTasks } from './compute/thread.js';
import type { FlowCollector } from './flows/collector.js';
import type { Anomaly } from './flows/types.js';
import type { TimelineEvent } from './timeline/types.js';

const PREFIX = 'netpol_responder_';

export class BotMetrics {
  readonly registry = new Registry();
  private readonly timelineEvents: Counter<'type'>;
  private readonly anomalies: Counter<'kind' | 'severity' | 'origin'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    this.timelineEvents = new Counter({
      name: `${PREFIX}timeline_events_total`,
      help: 'Incident timeline events written by this process, by type (incident.opened, approval.recorded, policy.applied, step.failed, ...).',
      labelNames: ['type'],
      registers: [this.registry],
    });
    this.anomalies = new Counter({
      name: `${PREFIX}anomalies_raised_total`,
      help: 'Anomalies raised (new ones, not repeats within the cooldown), by kind, severity and origin.',
      labelNames: ['kind', 'severity', 'origin'],
      registers: [this.registry],
    });
  }

  recordTimelineEvents(events: readonly TimelineEvent[]): void {
    for (const event of events) this.timelineEvents.inc({ type: event.type });
  }

  recordAnomaly(anomaly: Anomaly): void {
    this.anomalies.inc({ kind: anomaly.kind, severity: anomaly.severity, origin: anomaly.origin });
  }

  /**
   * How long compute-thread tasks wait for a thread and then run, by task and priority: where a
   * containment's time goes when many run at once (a queue behind the urgent thread, or the CPU).
   * Returns the call that stops observing.
   */
  observeCompute(): () => void {
    const labelNames = ['task', 'priority'] as const;
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    const waiting = new Histogram({ name: `${PREFIX}compute_task_wait_seconds`, help: 'Time a compute task waited for a thread, by task and priority (urgent, interactive, background).', labelNames, buckets, registers: [this.registry] });
    const running = new Histogram({ name: `${PREFIX}compute_task_run_seconds`, help: 'Time from a task given to a thread to its answer in, by task and priority (its input and result copied, the main thread taking the answer).', labelNames, buckets, registers: [this.registry] });
    const onThread = new Histogram({ name: `${PREFIX}compute_task_thread_seconds`, help: 'Time a task took on its compute thread itself, by task and priority.', labelNames, buckets, registers: [this.registry] });
    return observeComputeTasks(({ task, priority, waitMs, runMs, threadMs }) => {
      waiting.observe({ task, priority }, waitMs / 1000);
      running.observe({ task, priority }, runMs / 1000);
      onThread.observe({ task, priority }, threadMs / 1000);
    });
  }

  /** Job counts per state, read from the queue at scrape time. */
  observeQueue(jobCounts: () => Promise<Record<string, number>>): void {
    new Gauge({
      name: `${PREFIX}jobs`,
      help: 'Jobs in the incident queue, by state.',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const counts = await jobCounts();
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
      },
    });
  }

  /** The collector's pipeline and relay stream, read at scrape time. */
  observeCollector(collector: FlowCollector): void {
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({
        name: `${PREFIX}${name}`,
        help,
        registers: [this.registry],
        collect() {
          // The source figure only grows; mirror it (a counter cannot be set).
          this.reset();
          this.inc(read());
        },
      });
    };
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name: `${PREFIX}${name}`, help, registers: [this.registry], collect() { this.set(read()); } });
    };
    counter('flows_read_total', 'Flow records read by the collector.', () => collector.pipeline.counts.read);
    counter('flows_accepted_total', 'Flow records that passed validation and updated the baseline.', () => collector.pipeline.counts.accepted);
    new Counter({
      name: `${PREFIX}flows_skipped_total`,
      help: 'Flow records skipped, by reason (malformed, missing endpoint, clock skew, ...).',
      labelNames: ['reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(collector.pipeline.counts.skipped)) this.inc({ reason }, count);
      },
    });
    gauge('collector_active', '1 while this process holds the collector lock and streams flows.', () => (collector.isActive ? 1 : 0));
    gauge('baseline_workloads', 'Workloads in the learned baseline.', () => collector.pipeline.baseline.workloadCount);
    gauge('baseline_edges', 'Edges (workload → peer:port) in the learned baseline.', () => collector.pipeline.baseline.edgeCount);
    counter('relay_connects_total', 'GetFlows calls made to Hubble Relay (the first and every reconnect) by the current stream client.', () => collector.relayClient?.stats.connects ?? 0);
    counter('relay_lost_events_total', 'Flows Hubble reported as lost (ring buffers overrun) to the current stream client.', () => collector.relayClient?.stats.lostEvents ?? 0);
  }
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

const PATHS = ['/metrics', '/healthz', '/readyz'];

/**
 * Serves GET /metrics, /healthz (the process answers) and /readyz (200 when `ready` resolves, with
 * its text if any, e.g. the components checked; 503 with the reason when it rejects) on their own
 * port, apart from the Slack endpoint, which faces the internet. Worker and collector replicas
 * have no other HTTP port, so their probes live here too.
 */
export async function startMetricsServer(
  metrics: BotMetrics,
  port: number,
  host: string,
  ready: () => Promise<void | string> = async () => undefined,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (!PATHS.includes(path)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: this port serves ${PATHS.join(', ')}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      ready().then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${text || 'ready'}\n`),
        (error: unknown) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${error instanceof Error ? error.message : String(error)}\n`),
      );
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
