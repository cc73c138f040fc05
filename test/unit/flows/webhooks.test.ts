import { describe, expect, it } from 'vitest';
import { checkWebhookToken, handleAlertmanagerWebhook, handleFalcosidekickWebhook, MAX_WEBHOOK_BODY_BYTES } from '../../../src/flows/sources/webhooks.js';

const TOKEN = 's3cret-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);

// Shape of Alertmanager's webhook_config payload (version 4), as documented by Prometheus.
const alertmanager = {
  version: '4',
  groupKey: '{}:{alertname="DbEgressBytes"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'netpol-responder',
  groupLabels: { alertname: 'DbEgressBytes' },
  commonLabels: { alertname: 'DbEgressBytes', severity: 'critical' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager.example:9093',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'DbEgressBytes', namespace: 'db', pod: 'postgres-0', app: 'postgres', severity: 'critical' },
      annotations: { summary: 'postgres-0 egress bytes 40x normal' },
      startsAt: '2026-01-15T09:58:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example/graph',
      fingerprint: 'c0ffee',
    },
    { status: 'resolved', labels: { alertname: 'Old', namespace: 'db' }, annotations: {}, startsAt: '2026-01-15T08:00:00Z' },
    { status: 'firing', labels: { alertname: 'NodeDown' }, annotations: {}, startsAt: '2026-01-15T09:00:00Z' },
  ],
};

// Shape of Falcosidekick's webhook output.
const falco = {
  uuid: '5a7d2f44-1111-4c1d-9a33-0d2d9c0b7f10',
  output: '10:00:00.000: Warning Outbound connection to C2 server (command=curl 203.0.113.66 pod=postgres-0 ns=db)',
  priority: 'Warning',
  rule: 'Outbound Connection to C2 Servers',
  time: '2026-01-15T10:00:00.000000000Z',
  source: 'syscall',
  hostname: 'falco-abcde',
  tags: ['network'],
  output_fields: { 'k8s.ns.name': 'db', 'k8s.pod.name': 'postgres-0', 'fd.sip': '203.0.113.66', 'proc.cmdline': 'curl 203.0.113.66', 'evt.time': 1768471200000000000 },
};

describe('webhook token', () => {
  it('accepts Bearer and X-Netpol-Token, rejects anything else', () => {
    expect(checkWebhookToken({ Authorization: `Bearer ${TOKEN}` }, TOKEN)).toBe(true);
    expect(checkWebhookToken({ 'x-netpol-token': TOKEN }, TOKEN)).toBe(true);
    expect(checkWebhookToken({ authorization: 'Bearer wrong' }, TOKEN)).toBe(false);
    expect(checkWebhookToken({ authorization: TOKEN }, TOKEN)).toBe(false);
    expect(checkWebhookToken({}, TOKEN)).toBe(false);
    expect(checkWebhookToken({ authorization: 'Bearer ' }, '')).toBe(false);
  });
});

describe('Alertmanager webhook', () => {
  it('maps firing alerts with a namespace to scoped anomalies and says why others were skipped', () => {
    const result = handleAlertmanagerWebhook({ headers: auth, body: JSON.stringify(alertmanager) }, TOKEN, NOW);
    expect(result.status).toBe(200);
    expect(result.anomalies).toHaveLength(1);
    expect(result.anomalies[0]).toMatchObject({
      kind: 'external-alert',
      origin: 'alertmanager',
      severity: 'critical',
      title: 'postgres-0 egress bytes 40x normal',
      workload: { namespace: 'db', name: 'postgres', kind: 'StatefulSet' },
      scope: { namespace: 'db', podSelector: { app: 'postgres' } },
      dedupeKey: 'alertmanager:c0ffee',
      firstSeen: Date.parse('2026-01-15T09:58:00Z'),
    });
    expect(result.skipped).toEqual([
      { index: 1, reason: 'resolved' },
      { index: 2, reason: 'no valid namespace label: cannot scope containment' },
    ]);
  });

  it('rejects a wrong token before reading the body', () => {
    const result = handleAlertmanagerWebhook({ headers: { authorization: 'Bearer nope' }, body: '{not json' }, TOKEN, NOW);
    expect(result).toEqual({ status: 401, anomalies: [], skipped: [], error: 'missing or wrong webhook token' });
  });

  it('rejects bodies of the wrong shape, invalid JSON and oversized bodies with 400/413', () => {
    const wrong = handleAlertmanagerWebhook({ headers: auth, body: JSON.stringify({ ...alertmanager, alerts: 'many' }) }, TOKEN, NOW);
    expect(wrong.status).toBe(400);
    expect(wrong.error).toContain('alerts');
    expect(wrong.anomalies).toEqual([]);
    expect(handleAlertmanagerWebhook({ headers: auth, body: '[1,2' }, TOKEN, NOW).status).toBe(400);
    expect(handleAlertmanagerWebhook({ headers: auth, body: JSON.stringify(falco) }, TOKEN, NOW).status).toBe(400);
    expect(handleAlertmanagerWebhook({ headers: auth, body: 'x'.repeat(MAX_WEBHOOK_BODY_BYTES + 1) }, TOKEN, NOW).status).toBe(413);
  });

  it('does not trust hostile label values as namespaces', () => {
    const body = JSON.stringify({ ...alertmanager, alerts: [{ ...alertmanager.alerts[0], labels: { alertname: 'x', namespace: '../../etc' } }] });
    const result = handleAlertmanagerWebhook({ headers: auth, body }, TOKEN, NOW);
    expect(result.anomalies).toEqual([]);
    expect(result.skipped[0]?.reason).toContain('namespace');
  });
});

describe('Falcosidekick webhook', () => {
  it('maps an event with k8s fields to an anomaly', () => {
    const result = handleFalcosidekickWebhook({ headers: auth, body: JSON.stringify(falco) }, TOKEN, NOW);
    expect(result.status).toBe(200);
    expect(result.anomalies[0]).toMatchObject({
      origin: 'falcosidekick',
      severity: 'medium',
      workload: { namespace: 'db', name: 'postgres' },
      scope: { namespace: 'db' },
      details: { rule: 'Outbound Connection to C2 Servers', 'fd.sip': '203.0.113.66' },
      firstSeen: Date.parse('2026-01-15T10:00:00Z'),
    });
  });

  it('skips events outside Kubernetes and rejects wrong shapes and tokens', () => {
    const host = handleFalcosidekickWebhook({ headers: auth, body: JSON.stringify({ ...falco, output_fields: {} }) }, TOKEN, NOW);
    expect(host.anomalies).toEqual([]);
    expect(host.skipped).toHaveLength(1);
    expect(handleFalcosidekickWebhook({ headers: auth, body: JSON.stringify({ rule: 1 }) }, TOKEN, NOW).status).toBe(400);
    expect(handleFalcosidekickWebhook({ headers: {}, body: JSON.stringify(falco) }, TOKEN, NOW).status).toBe(401);
  });
});
