// The metrics endpoint over real HTTP on loopback: Prometheus text format, counters by label,
// values read at scrape time, and the answers to paths and methods it does not serve.
import { afterEach, describe, expect, it } from 'vitest';
import type { FlowCollector } from '../../src/flows/collector.js';
import { FlowPipeline } from '../../src/flows/pipeline.js';
import type { Anomaly } from '../../src/flows/types.js';
import { BotMetrics, startMetricsServer, type MetricsServer } from '../../src/metrics.js';

const servers: MetricsServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(metrics: BotMetrics, ready?: () => Promise<void>): Promise<string> {
  const server = await startMetricsServer(metrics, 0, '127.0.0.1', ready);
  servers.push(server);
  return `http://127.0.0.1:${server.port}`;
}

const anomaly = (kind: Anomaly['kind'], severity: Anomaly['severity']): Anomaly => ({ kind, severity, origin: 'flows' }) as Anomaly;

describe('metrics endpoint', () => {
  it('serves process, timeline and anomaly metrics in the Prometheus text format', async () => {
    const metrics = new BotMetrics();
    metrics.recordTimelineEvents([
      { at: '2026-11-30T00:00:00Z', type: 'incident.opened', actor: 'slack:U1', summary: 'opened' },
      { at: '2026-11-30T00:00:01Z', type: 'approval.recorded', actor: 'slack:U2', summary: 'approved' },
    ]);
    metrics.recordTimelineEvents([{ at: '2026-11-30T00:00:02Z', type: 'incident.opened', actor: 'slack:U1', summary: 'opened' }]);
    metrics.recordAnomaly(anomaly('new-external-egress', 'high'));
    metrics.recordAnomaly(anomaly('new-external-egress', 'high'));
    metrics.recordAnomaly(anomaly('fan-out', 'medium'));
    metrics.observeQueue(async () => ({ waiting: 3, active: 1, failed: 0 }));

    const response = await fetch(`${await serve(metrics)}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('# TYPE netpol_responder_timeline_events_total counter');
    expect(text).toContain('netpol_responder_timeline_events_total{type="incident.opened"} 2');
    expect(text).toContain('netpol_responder_timeline_events_total{type="approval.recorded"} 1');
    expect(text).toContain('netpol_responder_anomalies_raised_total{kind="new-external-egress",severity="high",origin="flows"} 2');
    expect(text).toContain('netpol_responder_anomalies_raised_total{kind="fan-out",severity="medium",origin="flows"} 1');
    expect(text).toContain('netpol_responder_jobs{state="waiting"} 3');
    expect(text).toMatch(/^netpol_responder_process_cpu_user_seconds_total \d/m);
  });

  it('mirrors the collector figures at scrape time, skipped records by reason', async () => {
    const pipeline = new FlowPipeline();
    const collector = { pipeline, isActive: true, relayClient: { stats: { connects: 2, lostEvents: 7 } } } as unknown as FlowCollector;
    const metrics = new BotMetrics();
    metrics.observeCollector(collector);
    const url = await serve(metrics);

    pipeline.processLine('{"flow": truncated');
    pipeline.processLine('not json at all');
    const first = await (await fetch(`${url}/metrics`)).text();
    expect(first).toContain('netpol_responder_flows_read_total 2');
    expect(first).toMatch(/netpol_responder_flows_skipped_total\{reason="[a-z_]+"\} 2/);
    expect(first).toContain('netpol_responder_collector_active 1');
    expect(first).toContain('netpol_responder_relay_connects_total 2');
    expect(first).toContain('netpol_responder_relay_lost_events_total 7');

    pipeline.processLine('{}');
    const second = await (await fetch(`${url}/metrics`)).text();
    expect(second).toContain('netpol_responder_flows_read_total 3');
    expect(second).toContain('netpol_responder_flows_accepted_total 0');
  });

  it('answers 404 elsewhere, 405 to other methods, and HEAD without a body', async () => {
    const url = await serve(new BotMetrics());
    const elsewhere = await fetch(`${url}/slack/events`);
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.text()).toContain('/metrics, /healthz, /readyz');
    const post = await fetch(`${url}/metrics`, { method: 'POST', body: 'x'.repeat(1_000_000) });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${url}/metrics?x=${'a'.repeat(4000)}`)).status).toBe(200);
  });

  it('answers liveness always and readiness from its probe, with the reason when not ready', async () => {
    let redisUp = true;
    const url = await serve(new BotMetrics(), async () => {
      if (!redisUp) throw new Error('Redis did not answer PING within 2 s');
    });
    expect(await (await fetch(`${url}/healthz`)).text()).toBe('ok\n');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    redisUp = false;
    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toContain('Redis did not answer PING');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/healthz`, { method: 'DELETE' })).status).toBe(405);
  });

  it('reports a scrape that fails as 500 with the reason', async () => {
    const metrics = new BotMetrics();
    metrics.observeQueue(async () => {
      throw new Error('Redis is unreachable');
    });
    const response = await fetch(`${await serve(metrics)}/metrics`);
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('Redis is unreachable');
  });
});
