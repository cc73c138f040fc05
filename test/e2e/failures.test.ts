// Containment when the cluster or Slack misbehave, and the playbook's approval rules.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { RedisUnreachableError } from '../../src/redis/connect.js';
import { freePort } from '../../src/redis/throwaway.js';
import { startBot } from '../../src/runtime.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_USERS, openIncident, startTestEnvironment, waitForStatus, waitForContained } from '../helpers/environment.js';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

const quarantine = (id: string) => `netpol-responder-quarantine-${id}`;
const realApplies = (e: EmbeddedEnvironment, id: string) =>
  e.kube.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(quarantine(id)) && !r.query.dryRun);

function playbookWith(approval: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'netpol-pb-'));
  const file = join(dir, 'playbook.yaml');
  const shipped = readFileSync('playbooks/netpol-incident.yaml', 'utf8');
  writeFileSync(file, shipped.replace(/approval:\n(\s+rule: one.*\n)(\s+timeout: .*\n)(\s+remindEvery: .*\n)(\s+maxReminders: .*\n)/, `approval: ${approval}\n`));
  return file;
}

describe('Kubernetes API errors while applying', () => {
  it('retries a 500 and contains', async () => {
    env = await startTestEnvironment();
    const { incidentId, message } = await openIncident(env, 'incident db -- flaky api');
    env.kube.injectFault({ verb: 'patch', resource: 'networkpolicies', status: 500, times: 2, message: 'etcd leader changed' });
    await click(env, message, DEMO_USERS.approver.id);
    await waitForContained(env, incidentId);
    expect(realApplies(env, incidentId).map((r) => r.status)).toEqual([500, 500, 201]);
    const applied = (await env.bot!.store.timeline(incidentId)).find((e) => e.type === 'policy.applied');
    expect(applied?.summary).toContain('3 attempts');
  });

  it('reports a 403 with the API’s own message and does not retry', async () => {
    env = await startTestEnvironment();
    const { incidentId, message } = await openIncident(env, 'incident db -- rbac');
    env.kube.deny({ verb: 'patch', resource: 'networkpolicies', namespace: 'db' });
    await click(env, message, DEMO_USERS.approver.id);
    await waitForStatus(env, incidentId, 'failed');
    expect(realApplies(env, incidentId).map((r) => r.status)).toEqual([403]);
    const incident = await env.bot!.store.require(incidentId);
    expect(incident.steps.contain?.error).toMatch(/forbidden/i);
    expect(incident.steps.contain?.error).toContain('cannot patch resource "networkpolicies"');
    expect(env.kube.get('NetworkPolicy', 'db', quarantine(incidentId))).toBeUndefined();
    const failure = await env.slack.waitForMessage((m) => m.text.includes('Step failed') && m.text.includes('forbidden'), 5000);
    expect(failure.threadTs).toBe(message.ts);
    expect(await env.bot!.store.openIncidentFor('db/*')).toBeUndefined();
  });

  it('reports a 409 conflict without retrying', async () => {
    env = await startTestEnvironment();
    const { incidentId, message } = await openIncident(env, 'incident api -- conflict');
    env.kube.injectFault({ verb: 'patch', resource: 'networkpolicies', status: 409, times: 1, message: 'Apply failed with 1 conflict' });
    await click(env, message, DEMO_USERS.approver.id);
    await waitForStatus(env, incidentId, 'failed');
    expect(realApplies(env, incidentId).map((r) => r.status)).toEqual([409]);
    expect((await env.bot!.store.require(incidentId)).steps.contain?.error).toContain('conflict');
  });

  it('shows a failed server-side dry run in the proposal', async () => {
    env = await startTestEnvironment();
    env.kube.deny({ verb: 'patch', resource: 'networkpolicies', namespace: 'frontend' });
    const { message } = await openIncident(env, 'incident frontend -- no rights');
    expect(JSON.stringify(message.blocks)).toMatch(/dry run of every write: :x: .*forbidden/);
  });

  it('gives up on a 500 that does not clear, after the configured retries', async () => {
    env = await startTestEnvironment();
    const { incidentId, message } = await openIncident(env, 'incident db -- broken api');
    env.kube.injectFault({ verb: 'patch', resource: 'networkpolicies', status: 503, times: 100 });
    await click(env, message, DEMO_USERS.approver.id);
    await waitForStatus(env, incidentId, 'failed');
    expect(realApplies(env, incidentId)).toHaveLength(4);
    expect((await env.bot!.store.require(incidentId)).steps.contain?.error).toContain('after 4 attempts');
    env.kube.clearFaults();
  });
});

describe('Slack answering 429', () => {
  it('posts the incident message once after the rate limit clears', async () => {
    env = await startTestEnvironment();
    env.slack.rateLimit('chat.postMessage', { retryAfterSeconds: 1, times: 1 });
    const { incidentId } = await openIncident(env, 'incident db -- rate limited');
    const posts = env.slack.calls.filter((c) => c.method === 'chat.postMessage' && !c.args.thread_ts);
    expect(posts.map((c) => c.status)).toEqual([429, 200]);
    expect(env.slack.messages().filter((m) => !m.threadTs && m.text.includes(incidentId))).toHaveLength(1);
  });
});

describe('approval rules from the playbook', () => {
  it('two approvers: one approval waits, a second distinct approver applies', async () => {
    env = await startTestEnvironment({ playbookPath: playbookWith('{ rule: two, timeout: 10m }') });
    const { incidentId, message } = await openIncident(env, 'incident db -- two person rule');
    await click(env, message, DEMO_USERS.approver.id);
    await env.slack.waitForMessage((m) => m.threadTs === message.ts && m.text.includes('Approval 1 of 2'), 5000);
    expect((await env.bot!.store.require(incidentId)).steps.contain?.status).toBe('awaiting-approval');
    expect(env.kube.get('NetworkPolicy', 'db', quarantine(incidentId))).toBeUndefined();
    const seen = env.slack.calls.length;
    await click(env, message, DEMO_USERS.approver.id);
    await env.slack.waitFor((c) => c.seq > seen && c.kind === 'response_url' && String(c.args.text).includes('second, different approver'), 5000);
    await click(env, message, DEMO_USERS.secondApprover.id); // approver through the user group
    await waitForContained(env, incidentId);
    const policy = env.kube.get('NetworkPolicy', 'db', quarantine(incidentId)) as { metadata: { annotations: Record<string, string> } };
    expect(policy.metadata.annotations['netpol-responder.io/approved-by']).toBe(`${DEMO_USERS.approver.id},${DEMO_USERS.secondApprover.id}`);
  });

  it('reminds the approvers in the thread when no decision comes in time', async () => {
    env = await startTestEnvironment({ playbookPath: playbookWith('{ rule: one, timeout: 300ms, remindEvery: 300ms, maxReminders: 2 }') });
    const { incidentId, message } = await openIncident(env, 'incident api -- nobody around');
    const reminder = await env.slack.waitForMessage((m) => m.threadTs === message.ts && m.text.includes('reminder 1 of 2'), 5000);
    expect(reminder.text).toContain(`<@${DEMO_USERS.approver.id}>`);
    await env.slack.waitForMessage((m) => m.threadTs === message.ts && m.text.includes('reminder 2 of 2'), 5000);
    await new Promise((r) => setTimeout(r, 700));
    const reminders = (await env.bot!.store.timeline(incidentId)).filter((e) => e.type === 'approval.reminder');
    expect(reminders).toHaveLength(2);
  });

  it('no approval needed: contains at once', async () => {
    env = await startTestEnvironment({ playbookPath: playbookWith('{ rule: none }') });
    const result = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: 'C0INCIDENTS', text: 'incident db -- auto' });
    const incidentId = /Opening incident `([a-z0-9-]+)`/.exec(result.body)![1]!;
    await waitForContained(env, incidentId);
    expect(env.kube.get('NetworkPolicy', 'db', quarantine(incidentId))).toBeDefined();
  });
});

describe('start-up', () => {
  it('fails fast with a clear message when Redis is unreachable', async () => {
    const port = await freePort();
    const config = buildConfig(
      { slack: { approvers: { users: ['U0BOB'] } }, roles: ['worker'] },
      { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'secret-123', REDIS_URL: `redis://127.0.0.1:${port}` },
    );
    const started = Date.now();
    const error = await startBot({ config, cluster: {} as never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as Error).message).toContain(`cannot reach Redis at redis://127.0.0.1:${port}`);
    expect((error as Error).message).toContain('REDIS_URL');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
