import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_USERS, openIncident, startTestEnvironment, waitForContained } from '../helpers/environment.js';

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
      'step.completed',
      'incident.completed',
    ]);
  });
});
