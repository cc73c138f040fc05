import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { DEFAULT_PLAYBOOK_PATH } from '../../src/config/package-files.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { DEMO_CHANNEL, DEMO_USERS, startEmbeddedEnvironment, type EmbeddedEnvironment, type EnvironmentOptions } from '../../src/sim/environment.js';
import { APPROVE_ACTION, REJECT_ACTION } from '../../src/slack/blocks.js';
import { testRedisUrl, uniquePrefix } from './redis.js';

export { DEMO_CHANNEL, DEMO_USERS };

/**
 * The shipped playbook without its restore step (and what follows it): tests of steps 1–3 end
 * where those steps end (the playbook finishes, containment held until lifted). Restore tests pass
 * their own playbook file.
 */
let untilValidate: string | undefined;
export function playbookUntilValidate(): string {
  if (untilValidate) return untilValidate;
  const playbook = parseYaml(readFileSync(DEFAULT_PLAYBOOK_PATH, 'utf8')) as { steps: Array<{ action: string }> };
  const cut = playbook.steps.findIndex((s) => s.action === 'restore');
  if (cut >= 0) playbook.steps = playbook.steps.slice(0, cut);
  untilValidate = join(mkdtempSync(join(tmpdir(), 'netpol-test-playbook-')), 'netpol-incident.yaml');
  writeFileSync(untilValidate, toYaml(playbook));
  return untilValidate;
}

export function startTestEnvironment(options: Partial<EnvironmentOptions> = {}): Promise<EmbeddedEnvironment> {
  return startEmbeddedEnvironment({ redisUrl: testRedisUrl(), keyPrefix: uniquePrefix('e2e'), playbookPath: playbookUntilValidate(), ...options });
}

export function hasApprovalButtons(message: SimMessage): boolean {
  return JSON.stringify(message.blocks ?? []).includes(APPROVE_ACTION);
}

/** The incident message (top-level bot message with a header) for an incident id. */
export function incidentMessageFor(env: EmbeddedEnvironment, incidentId: string): SimMessage | undefined {
  return env.slack.messages(DEMO_CHANNEL).find((m) => !m.threadTs && JSON.stringify(m.blocks ?? []).includes(`NetworkPolicy incident ${incidentId}`));
}

export async function openIncident(env: EmbeddedEnvironment, text: string, userId: string = DEMO_USERS.oncall.id): Promise<{ incidentId: string; message: SimMessage }> {
  const result = await env.driver!.slashCommand({ userId, channelId: DEMO_CHANNEL, text });
  const match = /Opening incident `([a-z0-9-]+)`/.exec(result.body);
  if (!match?.[1]) throw new Error(`no incident opened: ${result.status} ${result.body}`);
  const incidentId = match[1];
  const message = await env.slack.waitForMessage((m) => !m.threadTs && JSON.stringify(m.blocks ?? []).includes(`NetworkPolicy incident ${incidentId}`) && hasApprovalButtons(m), 10_000);
  return { incidentId, message };
}

export function click(env: EmbeddedEnvironment, message: SimMessage, userId: string, decision: 'approve' | 'reject' = 'approve') {
  return env.driver!.clickButton({ userId, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: decision === 'approve' ? APPROVE_ACTION : REJECT_ACTION });
}

export async function waitForStatus(env: EmbeddedEnvironment, incidentId: string, status: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const incident = await env.bot!.store.get(incidentId);
    if (incident?.status === status) return;
    if (Date.now() > deadline) throw new Error(`incident ${incidentId} is ${incident?.status ?? 'missing'}, expected ${status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the incident's containment is in force (the contain step finished and proved it). */
export async function waitForContained(env: EmbeddedEnvironment, incidentId: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const incident = await env.bot!.store.get(incidentId);
    if (incident?.containment?.status === 'active' && incident.status === 'open') return;
    if (Date.now() > deadline) {
      throw new Error(`incident ${incidentId} is ${incident?.status ?? 'missing'} with containment ${incident?.containment?.status ?? 'none'}, expected contained`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until every step of the playbook has run (the incident may stay open, holding containment). */
export async function waitForPlaybookFinished(env: EmbeddedEnvironment, incidentId: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const incident = await env.bot!.store.get(incidentId);
    if (incident && incident.currentStep === null) return;
    if (Date.now() > deadline) throw new Error(`incident ${incidentId} is still at step ${incident?.currentStep ?? '?'}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
