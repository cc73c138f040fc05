import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_CHANNEL, DEMO_USERS, openIncident, startTestEnvironment, waitForContained, waitForStatus } from '../helpers/environment.js';
import { LIFT_ACTION } from '../../src/slack/contain-blocks.js';

let env: EmbeddedEnvironment;
beforeAll(async () => {
  env = await startTestEnvironment();
});
afterAll(() => env?.stop());

describe('confirm & contain, end to end', () => {
  it('opens an incident, waits for approval, applies and confirms the deny-all', async () => {
    const { incidentId, message } = await openIncident(env, 'incident db -- exfiltration suspected');
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('postgres-0');
    expect(text).toContain(`netpol-responder-quarantine-${incidentId}`);
    expect(text).toContain('valid');
    expect(env.kube.get('NetworkPolicy', 'db', `netpol-responder-quarantine-${incidentId}`)).toBeUndefined();

    const result = await click(env, message, DEMO_USERS.approver.id);
    expect(result.status).toBe(200);
    await waitForContained(env, incidentId);
    const policy = env.kube.get('NetworkPolicy', 'db', `netpol-responder-quarantine-${incidentId}`) as unknown as { spec: Record<string, unknown>; metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
    expect(policy.spec.podSelector).toEqual({});
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.metadata.labels['app.kubernetes.io/managed-by']).toBe('netpol-responder');
    expect(policy.metadata.annotations['netpol-responder.io/approved-by']).toBe(DEMO_USERS.approver.id);
    const timeline = await env.bot!.store.timeline(incidentId);
    expect(timeline.map((e) => e.type)).toEqual([
      'incident.opened',
      'evidence.gathered',
      'approval.requested',
      'step.approved',
      'step.started',
      'policy.applied',
      'policy.confirmed',
      'containment.proven',
      'containment.traffic',
      'step.completed',
      'playbook.finished',
    ]);
    expect((await env.bot!.store.require(incidentId)).status).toBe('open');
  });

  it('lifts on an approved click, puts everything back and verifies it; a non-approver cannot', async () => {
    // What an owner sees of their policies: specs, labels and annotations (server bookkeeping aside).
    const policies = () => JSON.stringify(env.kube.list('NetworkPolicy', 'api').map((p) => { const o = p as { metadata: { name: string; labels?: object; annotations?: object }; spec: unknown }; return [o.metadata.name, o.metadata.labels, o.metadata.annotations, o.spec]; }));
    const before = policies();
    const { incidentId, message } = await openIncident(env, 'incident api -- lift me');
    await click(env, message, DEMO_USERS.approver.id);
    await waitForContained(env, incidentId);
    const withLift = await env.slack.waitForMessage((m) => m.ts === message.ts && JSON.stringify(m.blocks ?? []).includes(LIFT_ACTION), 5000);

    await env.driver!.clickButton({ userId: DEMO_USERS.outsider.id, channelId: DEMO_CHANNEL, messageTs: withLift.ts, actionId: LIFT_ACTION });
    await env.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.outsider.id && m.text.includes('Only approvers'), 5000);
    expect((await env.bot!.store.require(incidentId)).containment?.status).toBe('active');

    await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: withLift.ts, actionId: LIFT_ACTION });
    await waitForStatus(env, incidentId, 'completed');
    const incident = await env.bot!.store.require(incidentId);
    expect(incident.containment).toMatchObject({ status: 'lifted', liftReason: 'approved' });
    expect(policies()).toBe(before);
    const timeline = await env.bot!.store.timeline(incidentId);
    const verified = timeline.find((e) => e.type === 'containment.lift-verified');
    expect(verified?.summary).toMatch(/^Lift verified by the engine: the scope's connectivity is what it was before containment/);
    expect(timeline.map((e) => e.type).slice(-4)).toEqual(['containment.lift-approved', 'containment.lifted', 'containment.lift-verified', 'incident.completed']);
    expect(await env.bot!.store.openIncidentFor('api/*')).toBeUndefined();
  });
});
