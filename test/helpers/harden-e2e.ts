// The hardening step's end-to-end setup, shared by harden.test.ts and harden-decline.test.ts: the
// shipped playbook with short windows, an environment whose collector has learned the shop and seen
// the exfiltration (drift off in config, so only the step can turn it on), and the walk from
// carol's out-of-band policy to the hardening proposal waiting for approval.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { DEFAULT_PLAYBOOK_PATH } from '../../src/config/package-files.js';
import type { Incident } from '../../src/incident/model.js';
import { collectorHasReadHistory, type EmbeddedEnvironment } from '../../src/sim/environment.js';
import { kubectlCreateNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { click, DEMO_USERS, startTestEnvironment } from './environment.js';
import { CAROL, until, untilRestoreProposed } from './restore.js';

type Obj = Record<string, unknown>;

/** The shipped playbook, short windows, and the shop's 1.5 h of traffic (before the snapshot) counted as enough history. */
export function hardenPlaybook(options: { params?: Obj; restoreOnReject?: 'skip' } = {}): string {
  const playbook = parseYaml(readFileSync(DEFAULT_PLAYBOOK_PATH, 'utf8')) as { steps: Array<{ action: string; onReject?: string; params?: Obj }> };
  for (const step of playbook.steps) {
    if (step.action === 'contain') step.params = { ...step.params, trafficWindow: '1s' };
    if (step.action === 'restore') Object.assign(step, { params: { ...step.params, trafficWindow: '0s', watchWindow: '1s' }, ...(options.restoreOnReject ? { onReject: options.restoreOnReject } : {}) });
    if (step.action === 'harden') step.params = { ...step.params, minHistory: '1h', ...options.params };
  }
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-harden-playbook-')), 'netpol-incident.yaml');
  writeFileSync(file, toYaml(playbook));
  return file;
}

/** Drift off in config, the collector's history read, the exfiltration seen and the baseline snapshot saved. */
export async function startHardenEnvironment(options: { git: boolean; gitHost?: 'github' | 'gitlab'; playbookPath: string }): Promise<EmbeddedEnvironment> {
  const e = await startTestEnvironment({ git: options.git, flows: true, playbookPath: options.playbookPath, startBot: false, ...(options.gitHost ? { gitHost: options.gitHost } : {}) });
  await e.startBot({ drift: { ...e.config.drift, enabled: false } });
  await until('the collector to read the shop’s history', () => (collectorHasReadHistory(e) ? true : undefined), 30_000);
  e.hubble!.triggerIncident();
  await until('the exfiltration anomaly', async () => ((await e.bot!.anomalies.recent('db', new Date(0))).some((r) => r.anomaly.title.includes('203.0.113.66')) ? true : undefined), 30_000);
  await e.bot!.collector!.snapshot();
  return e;
}

/** The incident once its hardening step waits for approval (or, failing that, whatever it came to). */
export function untilHardenWaits(e: EmbeddedEnvironment, incidentId: string, what = 'the hardening proposal'): Promise<Incident> {
  return until(what, async () => {
    const now = await e.bot!.store.get(incidentId);
    return now?.steps.harden?.status === 'awaiting-approval' || (now && now.status !== 'open') ? now : undefined;
  }, 60_000);
}

/** From carol's out-of-band allow-all-egress, contained and restored away, to the hardening proposal. */
export async function untilHardenProposed(e: EmbeddedEnvironment): Promise<{ incidentId: string; incident: Incident }> {
  await kubectlCreateNetworkPolicy(e.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
  const { incidentId, message } = await untilRestoreProposed(e);
  await click(e, message, DEMO_USERS.approver.id);
  const incident = await untilHardenWaits(e, incidentId);
  if (incident.steps.harden?.status !== 'awaiting-approval') throw new Error(`hardening was not proposed: ${JSON.stringify(incident.steps.harden ?? incident.status)}`);
  return { incidentId, incident };
}

export function hardenApprovalMessage(e: EmbeddedEnvironment, incidentId: string): Promise<SimMessage> {
  return e.slack.waitForMessage((m) => !m.threadTs && JSON.stringify(m.blocks ?? []).includes(`approval.${incidentId}.harden`), 10_000);
}

/** Clicks on the approval message as `user` and waits for the incident to close. */
export async function decideUntilClosed(e: EmbeddedEnvironment, message: SimMessage, incidentId: string, decision: 'approve' | 'reject' = 'approve'): Promise<Incident> {
  await click(e, message, DEMO_USERS.approver.id, decision);
  return until('the incident to close', async () => {
    const now = await e.bot!.store.get(incidentId);
    return now && now.status !== 'open' ? now : undefined;
  }, 60_000);
}
