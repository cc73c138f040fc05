import { describe, expect, it } from 'vitest';
import type { AnomalyRecord } from '../../src/anomaly/store.js';
import { AlertGate } from '../../src/flows/pipeline.js';
import type { Anomaly } from '../../src/flows/types.js';
import { anomalyAlert, DISMISS_ACTION, OPEN_INCIDENT_ACTION, selectorText } from '../../src/slack/anomaly-blocks.js';

const anomaly: Anomaly = {
  id: 'new-external-egress:db/postgres:ip:203.0.113.66@1',
  kind: 'new-external-egress',
  severity: 'high',
  title: 'db/postgres sends to 203.0.113.66:443 <!channel>',
  workload: { namespace: 'db', name: 'postgres', kind: 'StatefulSet' },
  scope: { namespace: 'db', podSelector: { app: 'postgres' }, reason: 'the workload’s pods' },
  baseline: { metric: 'known external peers', expected: 0, observed: 1, unit: 'peers', description: 'never seen for this workload in 90 min of traffic' },
  evidence: [],
  dedupeKey: 'k',
  firstSeen: Date.UTC(2026, 0, 15, 10, 30),
  lastSeen: Date.UTC(2026, 0, 15, 10, 31),
  origin: 'flows',
  details: {},
};
const record: AnomalyRecord = { anomaly, raisedAt: '2026-11-23T10:00:00Z' };
const json = (r: AnomalyRecord, protectedScope = false) => JSON.stringify(anomalyAlert(r, { protectedScope }).blocks);

describe('anomaly alert', () => {
  it('names its cluster when the bot serves several, and only then', () => {
    const named = anomalyAlert(record, { cluster: 'prod-eu' });
    expect(named.text).toMatch(/^Anomaly \(\w+\) in cluster prod-eu: /);
    expect(JSON.stringify(named.blocks)).toContain('*Cluster*\\n`prod-eu`');
    const plain = anomalyAlert(record);
    expect(plain.text).not.toContain('cluster');
    expect(JSON.stringify(plain.blocks)).not.toContain('*Cluster*');
  });

  it('shows what deviates, from which baseline, the scope and both buttons', () => {
    const text = json(record);
    expect(text).toContain('never seen for this workload');
    expect(text).toContain('pods matching `app=postgres` in `db`');
    expect(text).toContain(OPEN_INCIDENT_ACTION);
    expect(text).toContain(DISMISS_ACTION);
    // Slack parses mentions in mrkdwn and in the fallback text, not in plain_text headers.
    const message = anomalyAlert(record);
    expect(message.text).not.toContain('<!channel>');
    const mrkdwn = message.blocks.filter((b) => b.type !== 'header');
    expect(JSON.stringify(mrkdwn)).not.toContain('<!channel>');
  });

  it('drops the buttons once decided and says who decided', () => {
    const opened = json({ ...record, decision: { kind: 'opened', user: 'U1', at: 't', incidentId: '20261123-abc' } });
    expect(opened).toContain('Incident `20261123-abc` opened by <@U1>');
    expect(opened).not.toContain(OPEN_INCIDENT_ACTION);
    expect(json({ ...record, decision: { kind: 'dismissed', user: 'U2', at: 't' } })).toContain('Dismissed as expected by <@U2>');
  });

  it('offers no "Open incident" for a protected namespace', () => {
    const text = json(record, true);
    expect(text).not.toContain(OPEN_INCIDENT_ACTION);
    expect(text).toContain(DISMISS_ACTION);
    expect(text).toContain('protected namespace');
  });

  it('formats selectors', () => {
    expect(selectorText({ app: 'pg', tier: 'db' })).toBe('app=pg,tier=db');
    expect(selectorText({})).toBeUndefined();
    expect(selectorText(undefined)).toBeUndefined();
  });
});

describe('alert gate mute (dismiss as expected)', () => {
  it('raises nothing for a muted key until the mute ends, then raises again', () => {
    const gate = new AlertGate(1000);
    gate.mute('k', 5000);
    expect(gate.admit('k', 100)).toBe(false);
    expect(gate.admit('k', 4999)).toBe(false);
    expect(gate.admit('other', 100)).toBe(true);
    expect(gate.admit('k', 5000)).toBe(true);
  });

  it('keeps the later of two mutes', () => {
    const gate = new AlertGate(1000);
    gate.mute('k', 9000);
    gate.mute('k', 3000);
    expect(gate.admit('k', 8000)).toBe(false);
  });
});
