import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actAs, kubectlCreateNetworkPolicy, USER_AGENTS } from '../../src/sim/kube/act-as.js';
import { ALLOW_ALL_EGRESS } from '../../src/sim/scenarios/shop.js';
import { APPROVE_ACTION } from '../../src/slack/blocks.js';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_CHANNEL, DEMO_USERS, openIncident, playbookUntilValidate, startTestEnvironment, waitForContained, waitForPlaybookFinished, waitForStatus } from '../helpers/environment.js';
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
    await waitForPlaybookFinished(env, incidentId);
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
      // Step 2 runs at once (it changes nothing): no approval.
      'evidence.gathered',
      'step.approved',
      'step.started',
      'trace.cause',
      'step.completed',
      // Step 3 as well: the live policies against Git (none configured here), tests and lint.
      'evidence.gathered',
      'step.approved',
      'step.started',
      'validate.summary',
      'validate.detail',
      'step.completed',
      'playbook.finished',
      // The closing summary, written with the last step's completion.
      'incident.summary',
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
    await waitForPlaybookFinished(env, incidentId);
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

describe('a containment that is not proven offers a stronger strategy', () => {
  let anp: EmbeddedEnvironment;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netpol-pb-'));
    const playbook = join(dir, 'playbook.yaml');
    writeFileSync(playbook, readFileSync(playbookUntilValidate(), 'utf8').replace('keepDnsEgress: true', 'keepDnsEgress: true\n      strategy: networkpolicy-additive'));
    anp = await startTestEnvironment({ cluster: { adminNetworkPolicy: true }, playbookPath: playbook });
    anp.kube.seed([ALLOW_ALL_EGRESS]);
  });
  afterAll(() => anp?.stop());

  it('additive next to allow-all-egress: NOT contained, then "Contain with admin-network-policy" is proposed, approved and proven; one lift undoes both', async () => {
    const policies = () => JSON.stringify(anp.kube.list('NetworkPolicy', 'db').map((p) => { const o = p as { metadata: { name: string; labels?: object; annotations?: object }; spec: unknown }; return [o.metadata.name, o.metadata.labels, o.metadata.annotations, o.spec]; }));
    const before = policies();
    const { incidentId, message } = await openIncident(anp, 'incident db app=postgres -- weak first');
    await click(anp, message, DEMO_USERS.approver.id);
    await waitForContained(anp, incidentId);
    await waitForPlaybookFinished(anp, incidentId);
    const weak = await anp.bot!.store.require(incidentId);
    expect(weak.containment).toMatchObject({ strategy: 'networkpolicy-additive', notProven: true, stronger: ['admin-network-policy', 'networkpolicy-exclusive'] });
    const action = 'netpol_stronger.admin-network-policy';
    const offer = await anp.slack.waitForMessage((m) => m.ts === message.ts && JSON.stringify(m.blocks ?? []).includes(action), 5000);

    await anp.driver!.clickButton({ userId: DEMO_USERS.outsider.id, channelId: DEMO_CHANNEL, messageTs: offer.ts, actionId: action });
    await anp.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.outsider.id && m.text.includes('Only approvers'), 5000);

    await anp.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: offer.ts, actionId: action });
    const proposal = await anp.slack.waitForMessage((m) => m.ts === message.ts && JSON.stringify(m.blocks ?? []).includes('AdminNetworkPolicy') && JSON.stringify(m.blocks ?? []).includes(APPROVE_ACTION), 10_000);
    await click(anp, proposal, DEMO_USERS.approver.id);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const current = await anp.bot!.store.require(incidentId);
      if (current.containment?.strategy === 'admin-network-policy' && !current.containment.notProven) break;
      if (Date.now() > deadline) throw new Error(`not re-contained: ${JSON.stringify(current.containment)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(anp.kube.get('AdminNetworkPolicy', undefined, `netpol-responder-quarantine-${incidentId}`)).toBeDefined();
    const timeline = await anp.bot!.store.timeline(incidentId);
    expect(timeline.filter((e) => e.type === 'containment.proven')).toHaveLength(1);
    expect(timeline.map((e) => e.type)).toContain('containment.retry');

    const withLift = await anp.slack.waitForMessage((m) => m.ts === message.ts && JSON.stringify(m.blocks ?? []).includes(LIFT_ACTION) && !JSON.stringify(m.blocks ?? []).includes('netpol_stronger'), 5000);
    await anp.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: withLift.ts, actionId: LIFT_ACTION });
    await waitForStatus(anp, incidentId, 'completed');
    expect(anp.kube.get('AdminNetworkPolicy', undefined, `netpol-responder-quarantine-${incidentId}`)).toBeUndefined();
    expect(policies()).toBe(before);
  });
});

describe('a lift after the policies changed during containment', () => {
  let changed: EmbeddedEnvironment;
  beforeAll(async () => {
    // Contain and trace only: the lift is what is under test.
    const path = join(mkdtempSync(join(tmpdir(), 'netpol-pb-')), 'playbook.yaml');
    writeFileSync(
      path,
      `apiVersion: netpol-responder/v1
kind: Playbook
name: contain-then-trace
steps:
  - id: contain
    title: Confirm & Contain
    action: contain
    approval: { rule: one, timeout: 10m }
    params: { keepDnsEgress: true, dnsNamespace: kube-system, dnsPodLabels: { k8s-app: kube-dns } }
  - id: trace
    title: Trace & Audit
    action: trace
    approval: { rule: none }
`,
    );
    changed = await startTestEnvironment({ playbookPath: path });
  });
  afterAll(() => changed?.stop());

  it('shows what the owners changed meanwhile: connections narrowed, closed and opened since containment', async () => {
    const { incidentId, message } = await openIncident(changed, 'incident db app=postgres -- owners edit meanwhile');
    await click(changed, message, DEMO_USERS.approver.id);
    await waitForContained(changed, incidentId);
    await waitForPlaybookFinished(changed, incidentId);
    const kubectl = (method: 'PATCH' | 'DELETE', name: string, body?: unknown) =>
      actAs(changed.kube, { user: 'carol@shop.example', userAgent: USER_AGENTS.kubectl, method, path: `/apis/networking.k8s.io/v1/namespaces/db/networkpolicies/${name}`, ...(body ? { body, contentType: 'application/merge-patch+json' } : {}) });
    // While contained, the owners narrow postgres's ingress to 5432, drop its DNS egress and open an egress of their own.
    const narrowed = await kubectl('PATCH', 'allow-db-from-api', { spec: { ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'api' } }, podSelector: { matchLabels: { tier: 'api' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }] } });
    expect(narrowed.status).toBe(200);
    expect((await kubectl('DELETE', 'allow-dns-egress')).status).toBe(200);
    await kubectlCreateNetworkPolicy(changed.kube, 'carol@shop.example', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-backup-egress', namespace: 'db' },
      spec: { podSelector: { matchLabels: { app: 'postgres' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] }] },
    } as never);

    const withLift = await changed.slack.waitForMessage((m) => m.ts === message.ts && JSON.stringify(m.blocks ?? []).includes(LIFT_ACTION), 5000);
    await changed.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: withLift.ts, actionId: LIFT_ACTION });
    await waitForStatus(changed, incidentId, 'completed');
    const difference = [
      'Policies changed during containment, so connectivity differs from before it:',
      'Open before, closed now (1):',
      '• -> kube-system/kube-dns-5d78c9869d[ReplicaSet] : TCP 53,UDP 53',
      'Open both times, other connections (before → now) (2):',
      '• <- api/orders-7c5d9b8f4c[ReplicaSet] : TCP 5432,6379 → TCP 5432',
      '• <- api/payments-5b7f8c6d94[ReplicaSet] : TCP 5432,6379 → TCP 5432',
      'Closed before, open now (1):',
      '• -> 198.51.100.0-198.51.100.255[External] : TCP 443',
    ].join('\n');
    const verified = (await changed.bot!.store.timeline(incidentId)).find((e) => e.type === 'containment.lift-verified')!;
    expect(verified.summary).toBe(difference);
    expect(verified.data).toMatchObject({ verified: false, policiesChanged: true });
    // The thread says it too.
    const posted = await changed.slack.waitForMessage((m) => m.threadTs === message.ts && m.text.includes('Policies changed during containment'), 5000);
    expect(posted.text).toContain(difference);
    // The owners' edit stays; only our exclusion is gone.
    const ingress = changed.kube.get('NetworkPolicy', 'db', 'allow-db-from-api') as unknown as { spec: { podSelector: Record<string, unknown>; ingress: { ports: unknown[] }[] } };
    expect(ingress.spec.ingress[0]!.ports).toEqual([{ protocol: 'TCP', port: 5432 }]);
    expect(JSON.stringify(ingress.spec.podSelector)).not.toContain('quarantine');
  });
});
