import { describe, expect, it } from 'vitest';
import { alertmanager, falco } from '../../helpers/webhook-samples.js';
import { checkWebhookToken, handleAlertmanagerWebhook, handleFalcosidekickWebhook, MAX_WEBHOOK_BODY_BYTES } from '../../../src/flows/sources/webhooks.js';

const TOKEN = 's3cret-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);

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
