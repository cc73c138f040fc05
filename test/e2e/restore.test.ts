// Step 4, Restore Safe State, end to end on the embedded environment (real Redis, real git, the
// simulated cluster, Slack requests signed by the driver): carol's out-of-band kubectl edits to
// namespace db are put back from Git before the cause — a deleted policy re-created, a patched
// one reverted (Force, since kubectl-patch owns the field), an extra one deleted — and without
// any repository from the journal's snapshot. Each run ends with the lift, the watch window and
// the incident completed; the postmortem's Restore section lists the steps.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { kubectlCreateNetworkPolicy, kubectlPatchNetworkPolicy } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import { RESTORE_FORCE_ACTION } from '../../src/slack/restore-blocks.js';
import type { Incident } from '../../src/incident/model.js';
import { click, DEMO_CHANNEL, DEMO_USERS, incidentMessageFor, startTestEnvironment } from '../helpers/environment.js';
import {
  CAROL,
  clickRestore,
  gitPolicies,
  gitPolicy,
  journalHolds,
  kubectlDeleteNetworkPolicy,
  livePolicy,
  normalised,
  restorePlaybook,
  restoreSection,
  timeline,
  untilRestoreProposed,
  until,
  waitForEnd,
  waitForRun,
} from '../helpers/restore.js';

let env: EmbeddedEnvironment | undefined;
afterEach(async () => {
  await env?.stop();
  env = undefined;
});

interface StepData {
  n: number;
  action: string;
  key: string;
  effect?: string;
  applied?: string;
  closed: string[];
  verification?: { object: { ok: boolean }; engine: { ok: boolean }; traffic: { status: string } };
}

async function stepEvent(e: EmbeddedEnvironment, incidentId: string, key: string): Promise<StepData | undefined> {
  return (await timeline(e, incidentId, 'restore.step')).map((ev) => ev.data as unknown as StepData).find((d) => d.key === key);
}

const names = (objects: unknown[]): string[] => objects.map((o) => (o as { metadata: { name: string } }).metadata.name).sort();

/** db as the cluster holds it is db as Git declares it, object for object; the bot's containment is gone. */
function expectDbEqualsGit(e: EmbeddedEnvironment, incidentId: string): void {
  const git = gitPolicies(e, 'db');
  expect(names(e.kube.list('NetworkPolicy', 'db'))).toEqual(names(git));
  for (const policy of git) {
    const { name } = (policy as { metadata: { name: string } }).metadata;
    expect(livePolicy(e, 'db', name), name).toEqual(normalised(policy));
  }
  expect(e.kube.get('NetworkPolicy', 'db', `netpol-responder-quarantine-${incidentId}`)).toBeUndefined();
}

/** The watch window passed: the incident completed with its restore step done and containment lifted. */
async function expectCompleted(e: EmbeddedEnvironment, incidentId: string, steps: number): Promise<Incident> {
  const incident = await waitForEnd(e, incidentId);
  expect(incident.status).toBe('completed');
  expect(incident.steps.restore?.status).toBe('done');
  expect(incident.restore).toMatchObject({ status: 'done', total: steps, next: steps + 1 });
  expect(incident.containment?.status).toBe('lifted');
  const completed = await timeline(e, incidentId, 'restore.completed');
  expect(completed).toHaveLength(1);
  expect(completed[0]?.data).toMatchObject({ steps });
  // The window's end and the step's summary are two replies that say different things (they were once the same line twice).
  const replies = e.slack.messages(DEMO_CHANNEL).filter((m) => m.threadTs === incident.messageTs && /watch window/.test(m.text ?? '')).map((m) => m.text);
  expect(replies.filter((text, i) => replies.indexOf(text) !== i)).toEqual([]);
  return incident;
}

describe('restore safe state, end to end', () => {
  it('re-creates a policy carol deleted, equal to Git, verified by object and engine', async () => {
    env = await startTestEnvironment({ git: true, playbookPath: restorePlaybook('plan') });
    // The trace needs the deleted object's before-state from the journal.
    await journalHolds(env, 'db', ['default-deny-all']);
    await kubectlDeleteNetworkPolicy(env, CAROL, 'db', 'default-deny-all');
    await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, message, proposal } = await untilRestoreProposed(env);
    expect(proposal.options[proposal.chosen]?.kind).toBe('git-before-cause');
    expect(proposal.steps.some((s) => /create `NetworkPolicy db\/default-deny-all`/.test(s))).toBe(true);
    expect(env.kube.get('NetworkPolicy', 'db', 'default-deny-all')).toBeUndefined();

    await click(env, message, DEMO_USERS.approver.id);
    await expectCompleted(env, incidentId, 2);
    expect(livePolicy(env, 'db', 'default-deny-all')).toEqual(normalised(gitPolicy(env, 'db', 'default-deny-all')));
    expectDbEqualsGit(env, incidentId);
    const step = await stepEvent(env, incidentId, 'NetworkPolicy db/default-deny-all');
    expect(step).toMatchObject({ action: 'create', applied: 'created', verification: { object: { ok: true }, engine: { ok: true }, traffic: { status: 'skipped' } } });
    const section = await restoreSection(env, incidentId);
    expect(section).toMatch(/### Step \d+: create `NetworkPolicy db\/default-deny-all`: applied \(created\)/);
    expect(section).toMatch(/### Step \d+: delete `NetworkPolicy db\/allow-all-egress`: applied \(deleted\)/);
    expect(section).toContain('Outcome:** completed');
  }, 90_000);

  it('reverts a policy carol patched: the apply stops at the field-manager conflict, Force takes the field, equal to Git', async () => {
    env = await startTestEnvironment({ git: true, playbookPath: restorePlaybook('plan') });
    const widened = { ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 5432 }] }] };
    await kubectlPatchNetworkPolicy(env.kube, CAROL, { namespace: 'db', name: 'allow-db-from-api' }, { spec: widened });
    await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, message, proposal } = await untilRestoreProposed(env);
    expect(proposal.steps.some((s) => /update `NetworkPolicy db\/allow-db-from-api`/.test(s))).toBe(true);

    await click(env, message, DEMO_USERS.approver.id);
    const conflict = await waitForRun(env, incidentId, ['field-conflict', 'watching', 'verify-failed', 'blocked']);
    expect(conflict.restore?.status).toBe('field-conflict');
    const n = conflict.restore!.next;
    expect(conflict.restore?.failure).toMatchObject({ n, reason: 'field-conflict' });
    // Nothing was written over carol's field without the Force decision.
    expect((livePolicy(env, 'db', 'allow-db-from-api')?.spec as { ingress: unknown }).ingress).toEqual(widened.ingress);
    const failed = (await timeline(env, incidentId, 'restore.step-failed')).map((e) => e.data as { key: string; reason: string });
    expect(failed).toEqual([expect.objectContaining({ key: 'NetworkPolicy db/allow-db-from-api', reason: 'field-conflict' })]);

    expect(await clickRestore(env, incidentId, RESTORE_FORCE_ACTION)).toContain(`step ${n} runs now`);
    await expectCompleted(env, incidentId, 2);
    expect(livePolicy(env, 'db', 'allow-db-from-api')).toEqual(normalised(gitPolicy(env, 'db', 'allow-db-from-api')));
    expectDbEqualsGit(env, incidentId);
    const step = await stepEvent(env, incidentId, 'NetworkPolicy db/allow-db-from-api');
    expect(step).toMatchObject({ n, action: 'update', applied: 'updated', verification: { object: { ok: true }, engine: { ok: true } } });
    const approved = (await timeline(env, incidentId, 'restore.step-approved')).map((e) => e.data);
    expect(approved).toEqual([expect.objectContaining({ n, user: DEMO_USERS.approver.id, forcing: true })]);
    const section = await restoreSection(env, incidentId);
    expect(section).toMatch(new RegExp(`### Step ${n}: update \`NetworkPolicy db/allow-db-from-api\`: applied \\(updated\\)`));
  }, 90_000);

  it("deletes carol's out-of-band allow-all-egress: one step, a delete that restricts", async () => {
    env = await startTestEnvironment({ git: true, playbookPath: restorePlaybook('plan') });
    await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, message, proposal } = await untilRestoreProposed(env);
    expect(proposal.safe).toBe(true);
    expect(proposal.steps).toHaveLength(2); // the delete, then the lift
    expect(proposal.steps[0]).toMatch(/^1\. delete `NetworkPolicy db\/allow-all-egress` — restricts/);
    const [plan] = await timeline(env, incidentId, 'restore.plan');
    expect((plan?.data as { steps: unknown[] }).steps).toEqual([expect.objectContaining({ n: 1, action: 'delete', key: 'NetworkPolicy db/allow-all-egress', effect: 'restricts' })]);

    await click(env, message, DEMO_USERS.approver.id);
    await expectCompleted(env, incidentId, 1);
    expect(env.kube.get('NetworkPolicy', 'db', 'allow-all-egress')).toBeUndefined();
    expectDbEqualsGit(env, incidentId);
    const step = await stepEvent(env, incidentId, 'NetworkPolicy db/allow-all-egress');
    expect(step).toMatchObject({ n: 1, action: 'delete', applied: 'deleted', verification: { object: { ok: true }, engine: { ok: true } } });
    expect(step?.closed.some((l) => l.startsWith('db/postgres[StatefulSet] => 0.0.0.0-255.255.255.255[External]'))).toBe(true);
    const section = await restoreSection(env, incidentId);
    expect(section).toContain('### Step 1: delete `NetworkPolicy db/allow-all-egress`: applied (deleted)');
    // Completed incidents show no restore controls any more.
    await until('the final message', () => (JSON.stringify(incidentMessageFor(env!, incidentId)?.blocks ?? []).includes('netpol_restore_') ? undefined : true), 10_000);
  }, 90_000);

  it('without a Git repository restores from the journal snapshot before the cause', async () => {
    env = await startTestEnvironment({ playbookPath: restorePlaybook('plan') });
    const before = env.kube.list('NetworkPolicy', 'db').map(normalised);
    await journalHolds(env, 'db', names(env.kube.list('NetworkPolicy', 'db')));
    await kubectlCreateNetworkPolicy(env.kube, CAROL, structuredClone(ALLOW_ALL_EGRESS) as never);
    const { incidentId, message, proposal } = await untilRestoreProposed(env);
    const git = proposal.options.filter((o) => o.kind.startsWith('git'));
    expect(git.length).toBeGreaterThan(0);
    for (const option of git) expect(option, option.label).toMatchObject({ available: false, reason: expect.stringMatching(/repositor/i) });
    expect(proposal.options[proposal.chosen]).toMatchObject({ kind: 'journal-before-cause', available: true });
    expect(JSON.stringify(message.blocks)).toContain(':no_entry_sign:');
    const [sources] = await timeline(env, incidentId, 'restore.sources');
    expect((sources?.data as { chosen: number }).chosen).toBe(proposal.chosen);
    expect(proposal.steps[0]).toMatch(/^1\. delete `NetworkPolicy db\/allow-all-egress`/);
    expect(proposal.steps).toHaveLength(2);

    await click(env, message, DEMO_USERS.approver.id);
    const incident = await expectCompleted(env, incidentId, 1);
    expect(incident.restore?.source).toMatch(/journal/i);
    expect(env.kube.get('NetworkPolicy', 'db', 'allow-all-egress')).toBeUndefined();
    expect(env.kube.list('NetworkPolicy', 'db').map(normalised)).toEqual(before);
    const step = await stepEvent(env, incidentId, 'NetworkPolicy db/allow-all-egress');
    expect(step).toMatchObject({ action: 'delete', applied: 'deleted', verification: { object: { ok: true }, engine: { ok: true } } });
    const section = await restoreSection(env, incidentId);
    expect(section).toMatch(/Source:\*\* `The journal's snapshot/);
    expect(section).toContain('### Step 1: delete `NetworkPolicy db/allow-all-egress`: applied (deleted)');
  }, 90_000);
});
