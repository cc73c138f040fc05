// The real bot in Socket Mode (SLACK_APP_TOKEN set): it opens its own WebSocket to the Slack stand-in, and the
// incident runs end to end over it against the simulated cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_USERS, openIncident, startTestEnvironment, waitForContained } from '../helpers/environment.js';

let env: EmbeddedEnvironment;
beforeAll(async () => {
  env = await startTestEnvironment({ socketMode: true });
});
afterAll(() => env?.stop());

describe('the bot over Socket Mode', () => {
  it('connects with the app-level token and listens on no HTTP port', () => {
    expect(env.config.secrets.slackAppToken).toBe(env.slack.appToken);
    expect(env.bot!.port).toBeUndefined();
    expect(env.driver!.mode).toBe('socket');
    const opens = env.slack.calls.filter((c) => c.method === 'apps.connections.open');
    expect(opens).toHaveLength(1);
    expect(opens[0]).toMatchObject({ token: env.slack.appToken, response: { ok: true } });
    expect(env.slack.socketMode.openConnections()).toHaveLength(1);
  });

  it('acks /netpol incident, posts the incident with buttons, and applies the deny-all once approved', async () => {
    const { incidentId, message } = await openIncident(env, 'incident db -- x');
    const command = env.slack.socketMode.frames.find((f) => f.kind === 'ack');
    expect(command).toBeDefined();
    expect(JSON.stringify(message.blocks)).toContain(`netpol-responder-quarantine-${incidentId}`);
    expect(env.kube.get('NetworkPolicy', 'db', `netpol-responder-quarantine-${incidentId}`)).toBeUndefined();

    const result = await click(env, message, DEMO_USERS.approver.id);
    expect(result.status).toBe(200);
    expect(result.ackMs).toBeLessThan(3000);
    expect(JSON.parse(result.rawBody)).toMatchObject({ type: 'interactive', payload: { type: 'block_actions', user: { id: DEMO_USERS.approver.id } } });
    await waitForContained(env, incidentId);

    const policy = env.kube.get('NetworkPolicy', 'db', `netpol-responder-quarantine-${incidentId}`) as unknown as {
      spec: Record<string, unknown>;
      metadata: { annotations: Record<string, string> };
    };
    expect(policy.spec.podSelector).toEqual({});
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.metadata.annotations['netpol-responder.io/approved-by']).toBe(DEMO_USERS.approver.id);
    // Every envelope was acked over the one connection; the app sent nothing the stand-in could not read.
    expect(env.slack.socketMode.frames.filter((f) => f.kind !== 'ack')).toEqual([]);
    expect(new Set(env.slack.socketMode.frames.map((f) => f.connectionId))).toEqual(new Set([1]));
  });

  it('answers a command ack in the same words as over HTTP', async () => {
    const result = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: 'C0INCIDENTS', text: 'incident kube-system' });
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('protected namespace') });
  });

  it('reconnects when Slack recycles the connection, and keeps serving', async () => {
    const [before] = env.slack.socketMode.openConnections();
    env.slack.socketMode.requestDisconnect('refresh_requested');
    // @slack/socket-mode waits its clientPingTimeout (5 s) before opening a new connection.
    const after = await env.slack.socketMode.waitForConnection(before!.id, 15_000);
    expect(before!.closedAt).toBeDefined();
    const { incidentId } = await openIncident(env, 'incident api -- after reconnect');
    expect(env.slack.socketMode.frames.at(-1)?.connectionId).toBe(after.id);
    expect(await env.bot!.store.get(incidentId)).toMatchObject({ status: 'open' });
  }, 25_000);
});
