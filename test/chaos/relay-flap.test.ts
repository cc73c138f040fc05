// Chaos: the Hubble Relay flapping (down and up again and again, streams cut in the middle of the
// flows) while the shop's exfiltration happens. The collector reconnects with backoff and resumes
// where it stopped: it reads exactly the flows a calm run reads, raises the same anomalies (the
// exfiltration once), and the gaps raise nothing of their own.
import { afterEach, describe, expect, it } from 'vitest';
import { collectorHasReadHistory, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { compareMessages, messageKey, sleep, until } from '../helpers/chaos-accounting.js';
import { DEMO_CHANNEL, startTestEnvironment } from '../helpers/environment.js';
import { chaosScale, recordOutcome } from './report.js';

const FLAPS = chaosScale(4, 20);
const EXFIL_IP = '203.0.113.66';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

const anomalyAlerts = (e: EmbeddedEnvironment): SimMessage[] => e.slack.messages(DEMO_CHANNEL).filter((m) => !m.threadTs && m.text.startsWith('Anomaly'));
const alertKey = (m: SimMessage): string => messageKey({ ...m, text: `${m.text} ${JSON.stringify(m.blocks ?? []).replace(/"block_id":"[^"]*"/g, '').replace(/"value":"[^"]*"/g, '')}` });

async function started(): Promise<EmbeddedEnvironment> {
  await env?.stop();
  env = await startTestEnvironment({ flows: true });
  const e = env;
  await until('the collector to read the relay history', () => collectorHasReadHistory(e), 30_000);
  return e;
}

interface Observed {
  alerts: string[];
  /** Alerts naming the exfiltration's address. */
  exfiltration: number;
  accepted: number;
  read: number;
}

/** Waits for the exfiltration alert, then for the collector to have read every published flow, then a quiet while. */
async function observe(e: EmbeddedEnvironment, published: number): Promise<Observed & { alertedAt: number }> {
  await until('the exfiltration alert', () => anomalyAlerts(e).find((m) => JSON.stringify(m.blocks ?? []).includes(EXFIL_IP)), 60_000);
  const alertedAt = Date.now();
  const pipeline = e.bot!.collector!.pipeline;
  await until('every published flow to be read', () => pipeline.counts.read >= published, 60_000);
  await sleep(1500);
  const exfiltration = anomalyAlerts(e).filter((m) => JSON.stringify(m.blocks ?? []).includes(EXFIL_IP)).length;
  return { alerts: anomalyAlerts(e).map(alertKey), exfiltration, accepted: pipeline.counts.accepted, read: pipeline.counts.read, alertedAt };
}

describe('chaos: the Hubble Relay flaps', () => {
  it('down/up repeatedly with streams cut mid-flow: reconnects, resumes, the exfiltration alerted once, no anomaly from the gaps', async () => {
    // The calm run: what the collector reads and alerts when nothing breaks.
    const calm = await started();
    const calmPublished = calm.hubble!.historyFlows + calm.hubble!.triggerIncident();
    const baseline = await observe(calm, calmPublished);
    expect(baseline.exfiltration).toBe(1);

    const e = await started();
    const relay = e.hubble!.relay;
    const client = e.bot!.collector!.relayClient!;
    const connectsBefore = client.stats.connects;
    let published = e.hubble!.historyFlows;
    let downs = 0;
    for (let flap = 1; flap <= FLAPS; flap++) {
      // Streams break after a few flows of what follows (a relay restarting under load).
      relay.faults.dropAfter = 25;
      if (flap === Math.ceil(FLAPS / 2)) published += e.hubble!.triggerIncident();
      await sleep(150 + ((flap * 137) % 300));
      await relay.stop();
      downs++;
      await sleep(200 + ((flap * 211) % 600));
      await relay.start();
      await sleep(100 + ((flap * 97) % 300));
    }
    relay.faults.dropAfter = null;
    const faultEnd = Date.now();
    const flapped = await observe(e, published);

    // Reconnected after every outage, with no flow read twice or lost, and the same alerts as the calm run.
    expect(client.stats.connects - connectsBefore).toBeGreaterThanOrEqual(downs);
    expect(flapped.read).toBe(baseline.read);
    expect(flapped.accepted).toBe(baseline.accepted);
    const diff = compareMessages(baseline.alerts, flapped.alerts);
    expect(diff).toEqual({ lost: [], doubled: [] });
    expect(flapped.exfiltration).toBe(1);

    recordOutcome({
      scenario: 'Hubble Relay flapping',
      fault: `${downs} relay outages (0.2–0.8 s each), streams cut after 25 flows, the exfiltration published mid-flap`,
      outcome: `${client.stats.connects - connectsBefore} reconnects, ${flapped.read} flows read as in the calm run (${client.stats.duplicatesDropped} replayed duplicates dropped), same ${flapped.alerts.length} alert(s)`,
      approvalsLost: 0,
      stepsAppliedTwice: 0,
      alertsLost: diff.lost.length,
      alertsDoubled: diff.doubled.length,
      recoveryMs: Math.max(0, flapped.alertedAt - faultEnd),
    });
  }, chaosScale(120_000, 400_000));
});
