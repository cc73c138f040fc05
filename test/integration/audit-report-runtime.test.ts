// The scheduled audit wired into the bot: a worker replica started with an `auditReport` schedule
// posts the summary to the incident channel (the default), with the report in its thread.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startBot, type RunningBot } from '../../src/runtime.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { DEMO_CHANNEL, startTestEnvironment } from '../helpers/environment.js';

let env: EmbeddedEnvironment | undefined;
let worker: RunningBot | undefined;
afterEach(async () => {
  await worker?.stop();
  await env?.stop();
  worker = env = undefined;
});

describe('scheduled audit in the worker role', () => {
  it('posts the audit of the live cluster on its schedule, the full report in the thread', async () => {
    env = await startTestEnvironment({ cluster: { cni: 'cilium', adminNetworkPolicy: true } });
    worker = await startBot({ config: { ...env.config, roles: ['worker'], auditReport: { enabled: true, schedule: '* * * * * *', timeZone: 'UTC', unusedDays: 30 } }, logger: silentLogger });
    const summary = await env.slack.waitForMessage((m) => !m.threadTs && m.text.startsWith('NetworkPolicy audit:'), 15_000);
    expect(summary.channel).toBe(DEMO_CHANNEL);
    expect(JSON.stringify(summary.blocks)).toContain('Scheduled NetworkPolicy audit');
    const file = await env.slack.waitForMessage((m) => m.threadTs === summary.ts && (m.files?.length ?? 0) > 0, 10_000);
    expect(file.files?.[0]?.content?.toString('utf8')).toMatch(/^# NetworkPolicy audit\n/);
  });
});
