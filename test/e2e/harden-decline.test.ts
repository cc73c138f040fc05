// Declining a step under `onReject: skip`, end to end on the embedded environment as in
// harden.test.ts (real Redis, real git, the simulated cluster and Hubble Relay, signed Slack
// requests). Step 5 (the shipped playbook sets skip on it): the incident closes as completed, with
// "Hardening declined by @bob" in the thread, the closing summary and the postmortem; nothing is
// pushed, and a late click is refused. Step 4 set to skip: the engine proposes step 5 next.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PLAYBOOK_PATH } from '../../src/config/package-files.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { kubectlCreateNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import { click, DEMO_CHANNEL, DEMO_USERS } from '../helpers/environment.js';
import { decideUntilClosed, hardenApprovalMessage, hardenPlaybook, startHardenEnvironment, untilHardenWaits } from '../helpers/harden-e2e.js';
import { CAROL, timeline, until, untilRestoreProposed } from '../helpers/restore.js';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

/** The shipped playbook (its harden step has onReject: skip) with short windows and the shop's history counted as enough. */
function shippedPlaybookShortWindows(options: { restoreOnReject?: 'skip' } = {}): string {
  expect((parseYaml(readFileSync(DEFAULT_PLAYBOOK_PATH, 'utf8')) as { steps: Array<{ action: string; onReject?: string }> }).steps.find((s) => s.action === 'harden')?.onReject).toBe('skip');
  return hardenPlaybook(options);
}

const start = (playbookPath: string): Promise<EmbeddedEnvironment> => startHardenEnvironment({ git: true, playbookPath });

describe('declining a step the playbook lets be skipped', () => {
  it('step 5: skipped, the incident closes as completed with who declined it; nothing is pushed', async () => {
    env = await start(shippedPlaybookShortWindows());

    // carol's out-of-band allow-all-egress, contained, restored away, then the hardening proposal.
    await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, message } = await untilRestoreProposed(env);
    await click(env, message, DEMO_USERS.approver.id);
    const proposed = await untilHardenWaits(env, incidentId);
    expect(proposed.steps.harden?.status).toBe('awaiting-approval');
    const approval = await hardenApprovalMessage(env, incidentId);

    const done = await decideUntilClosed(env, approval, incidentId, 'reject');
    expect(done.status).toBe('completed');
    expect(done.currentStep).toBeNull();
    expect(done.steps.harden).toMatchObject({ status: 'skipped', rejectedBy: { user: DEMO_USERS.approver.id } });
    expect(done.steps.harden?.result).toBeUndefined();
    expect(done.steps.restore?.status).toBe('done');

    // Nothing built or pushed for the declined hardening.
    expect(execFileSync('git', ['-C', env.git!.remoteDir, 'branch', '--list', 'netpol-responder/*'], { encoding: 'utf8' })).toBe('');
    expect(await timeline(env, incidentId, 'harden.delivered')).toHaveLength(0);

    // The thread: who declined, then the closing summary once, saying the hardening was declined.
    const thread = () => env!.slack.messages(DEMO_CHANNEL).filter((m) => m.threadTs === approval.ts).map((m) => m.text);
    await until('the closing summary in the thread', () => (thread().some((t) => t.includes('closed* after')) ? true : undefined), 10_000);
    expect(thread().some((t) => t.includes(`Post-Incident Hardening declined by <@${DEMO_USERS.approver.id}>`))).toBe(true);
    const summaries = thread().filter((t) => t.includes('closed* after'));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toContain(`*Hardening:* declined by <@${DEMO_USERS.approver.id}>`);
    expect(summaries[0]).toContain('*Restore:* 1 object(s) put back from');
    expect((await timeline(env, incidentId)).map((e) => e.type).slice(-3)).toEqual(['step.skipped', 'incident.completed', 'incident.summary']);

    // The incident message shows the step as declined, its buttons gone; a click that was already
    // on its way (a stale client) changes nothing and says why.
    const redrawn = await env.slack.waitForMessage((m) => m.ts === approval.ts && JSON.stringify(m.blocks ?? []).includes('declined by'), 10_000);
    expect(JSON.stringify(redrawn.blocks)).toContain(`Post-Incident Hardening*: declined by <@${DEMO_USERS.approver.id}>, skipped`);
    expect(JSON.stringify(redrawn.blocks)).not.toContain(`approval.${incidentId}.harden`);
    for (const decision of ['approve', 'reject'] as const) {
      const late = await env.bot!.engine.decide({ incidentId, stepId: 'harden', userId: DEMO_USERS.secondApprover.id, decision });
      expect(late).toEqual({ ok: false, message: expect.stringContaining(`This step was already decided: declined by <@${DEMO_USERS.approver.id}>`) as unknown });
    }
    expect(await env.bot!.store.require(incidentId)).toMatchObject({ status: 'completed', version: done.version });

    // The postmortem, with Slack ids resolved to names.
    const md = await env.bot!.engine.postmortem(done, 'md');
    expect(md).toContain('| Post-Incident Hardening | declined (skipped) | @bob |');
    expect(md).toContain('Post-Incident Hardening declined by @bob');
    expect(md).toContain('*Hardening:* declined by @bob');
  }, 180_000);

  it('mid-playbook (a restore under onReject: skip): the next step is proposed, containment stays in force', async () => {
    env = await start(shippedPlaybookShortWindows({ restoreOnReject: 'skip' }));
    await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, message } = await untilRestoreProposed(env);
    await click(env, message, DEMO_USERS.approver.id, 'reject');
    const proposed = await untilHardenWaits(env, incidentId, 'the hardening proposal after the skipped restore');
    expect(proposed.status).toBe('open');
    expect(proposed.currentStep).toBe('harden');
    expect(proposed.steps.restore).toMatchObject({ status: 'skipped', rejectedBy: { user: DEMO_USERS.approver.id } });
    expect(proposed.steps.harden?.evidence?.kind).toBe('harden-proposal');
    // Nothing was restored: carol's policy is still there, and so is the containment.
    expect(env.kube.get('NetworkPolicy', 'db', 'allow-all-egress')).toBeDefined();
    expect(proposed.containment?.status).toBe('active');
    expect((await timeline(env, incidentId, 'step.skipped')).map((e) => e.summary)).toEqual([expect.stringContaining(`Restore Safe State declined by <@${DEMO_USERS.approver.id}>`)]);
  }, 180_000);
});
