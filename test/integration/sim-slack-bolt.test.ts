// A real Bolt app (HTTP receiver on loopback) wired to the Slack stand-in and driven by signed requests.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel, type BlockAction, type ButtonAction } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SlackDriver, startSlackApiServer, type SlackApiSim } from '../../src/sim/slack/index.js';
import { slackRequestHeaders } from '../../src/sim/slack/driver.js';

const SIGNING_SECRET = 'sim-signing-secret-for-tests';
const CHANNEL = 'C0INCIDENTS';

let sim: SlackApiSim;
let app: App;
let server: Server;
let driver: SlackDriver;
const handled: { kind: string; body: unknown }[] = [];

const approvalBlocks = [
  { type: 'header', text: { type: 'plain_text', text: 'Step 1: Confirm & Contain' } },
  { type: 'section', text: { type: 'mrkdwn', text: 'Apply deny-all to namespace `db`?' } },
  {
    type: 'actions',
    block_id: 'approval',
    elements: [
      { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'INC-1:contain', style: 'primary' },
      { type: 'button', action_id: 'reject', text: { type: 'plain_text', text: 'Reject' }, value: 'INC-1:contain', style: 'danger' },
    ],
  },
];

beforeAll(async () => {
  sim = await startSlackApiServer({
    users: [
      { id: 'U0ALICE', name: 'alice', real_name: 'Alice Ops' },
      { id: 'U0BOB', name: 'bob' },
    ],
    usergroups: { S0ONCALL: ['U0ALICE', 'U0BOB'] },
  });
  app = new App({
    token: sim.botToken,
    signingSecret: SIGNING_SECRET,
    clientOptions: { slackApiUrl: sim.apiUrl },
    logLevel: LogLevel.ERROR,
  });

  app.command('/netpol', async ({ command, ack, say, respond, client }) => {
    await ack();
    handled.push({ kind: 'command', body: command });
    const [verb, arg] = command.text.split(' ');
    if (verb === 'incident') {
      const posted = await say({ text: `Incident opened for ${arg}`, blocks: approvalBlocks });
      await client.chat.postMessage({ channel: command.channel_id, thread_ts: posted.ts, text: `Evidence for <@${command.user_id}>` });
      await respond({ text: `Incident opened for ${arg} (only you see this)` });
    } else if (verb === 'export') {
      const parent = await say(`Exporting ${arg}`);
      if (!parent.ts) throw new Error('say returned no ts');
      await client.files.uploadV2({
        channel_id: command.channel_id,
        thread_ts: parent.ts,
        initial_comment: 'Postmortem timeline',
        filename: 'INC-1.md',
        content: '# INC-1\n\n- 10:00 contained\n',
      });
    } else if (verb === 'ask') {
      await respond({ text: `Confirm ${arg}?`, blocks: approvalBlocks });
    } else if (verb === 'whois') {
      const info = await client.users.info({ user: command.user_id });
      const group = await client.usergroups.users.list({ usergroup: 'S0ONCALL' });
      await respond({ text: `${info.user?.real_name} in ${group.users?.join(',')}`, response_type: 'in_channel' });
    }
  });

  app.action<BlockAction<ButtonAction>>('approve', async ({ ack, body, action, respond }) => {
    await ack();
    handled.push({ kind: 'approve', body });
    await respond({ replace_original: true, text: `Approved by <@${body.user.id}> (${action.value})` });
  });

  app.action<BlockAction<ButtonAction>>('reject', async ({ ack, body, respond }) => {
    await ack();
    handled.push({ kind: 'reject', body });
    await respond({ delete_original: true });
  });

  server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  const { port } = server.address() as AddressInfo;
  driver = new SlackDriver({ appUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, sim });
});

afterAll(async () => {
  await app.stop();
  await sim.close();
});

beforeEach(() => {
  handled.length = 0;
});

/** Runs `/netpol incident <namespace>` and waits until the handler's last step (the ephemeral reply) landed. */
async function openIncident(namespace: string, timeoutMs = 5000): Promise<string> {
  const result = await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: `incident ${namespace}` });
  expect(result.status).toBe(200);
  const ephemeral = await sim.waitForMessage((m) => m.text === `Incident opened for ${namespace} (only you see this)`, timeoutMs);
  expect(ephemeral.visibleTo).toBe('U0ALICE');
  const parent = sim.messages(CHANNEL).find((m) => m.text === `Incident opened for ${namespace}`);
  if (!parent) throw new Error('incident message missing');
  return parent.ts;
}

describe('Bolt app against the Slack stand-in', () => {
  it('acks a signed slash command; say, client.chat.postMessage and respond land in the sim', async () => {
    const result = await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'incident db' });
    expect(result.status).toBe(200);
    expect(result.ackMs).toBeLessThan(3000);
    expect(result.responseUrl).toMatch(new RegExp(`^${sim.baseUrl}/response/[0-9a-f]+$`));

    await sim.waitForMessage((m) => m.text === 'Incident opened for db (only you see this)');
    const reply = await sim.waitForMessage((m) => m.text.startsWith('Evidence for'));
    await sim.waitFor((c) => c.kind === 'response_url' && c.status === 200);
    const command = handled.find((h) => h.kind === 'command')?.body as Record<string, string>;
    expect(command).toMatchObject({ command: '/netpol', text: 'incident db', user_id: 'U0ALICE', user_name: 'alice', channel_id: CHANNEL, channel_name: 'incidents', team_id: 'T0SIM', api_app_id: 'A0NETPOL' });
    expect(command.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]{32}$/);

    const parent = sim.findMessage(CHANNEL, reply.threadTs ?? '');
    expect(parent).toMatchObject({ text: 'Incident opened for db', user: 'U0BOT', botId: 'B0BOT' });
    expect(reply.text).toBe('Evidence for <@U0ALICE>');
    const ephemeral = sim.messages(CHANNEL).find((m) => m.visibleTo === 'U0ALICE');
    expect(ephemeral?.text).toBe('Incident opened for db (only you see this)');

    const transcript = sim.transcript(CHANNEL);
    expect(transcript).toContain('» @alice ran /netpol incident db');
    expect(transcript).toMatch(/@netpol \(bot\):\n {4}# Step 1: Confirm & Contain\n {4}Apply deny-all to namespace `db`\?\n {4}\[ Approve \] \[ Reject \]\n {4}↳ \[\d\d:\d\d:\d\d\] @netpol \(bot\): Evidence for @alice/);
    expect(transcript).toMatch(/@netpol \(bot\) \(only visible to @alice\): Incident opened for db \(only you see this\)/);
  });

  it('delivers a button click with the payload Slack sends, and respond(replace_original) edits the message', async () => {
    const ts = await openIncident('api');
    const click = await driver.clickButton({ userId: 'U0BOB', channelId: CHANNEL, messageTs: ts, actionId: 'approve' });
    expect(click.status).toBe(200);
    const edited = await sim.waitForMessage((m) => m.ts === ts && m.text.startsWith('Approved by'));
    expect(edited).toMatchObject({ text: 'Approved by <@U0BOB> (INC-1:contain)', blocks: undefined });
    expect(edited.edited).toBeDefined();

    const body = handled.find((h) => h.kind === 'approve')?.body as Record<string, unknown>;
    expect(body).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0BOB', username: 'bob', team_id: 'T0SIM' },
      api_app_id: 'A0NETPOL',
      container: { type: 'message', message_ts: ts, channel_id: CHANNEL, is_ephemeral: false },
      team: { id: 'T0SIM', domain: 'sim' },
      channel: { id: CHANNEL, name: 'incidents' },
      message: { type: 'message', ts, user: 'U0BOT', bot_id: 'B0BOT', text: 'Incident opened for api' },
      response_url: click.responseUrl,
      actions: [{ action_id: 'approve', block_id: 'approval', value: 'INC-1:contain', type: 'button', text: { type: 'plain_text', text: 'Approve' } }],
    });
    expect((body.message as { blocks: unknown[] }).blocks).toHaveLength(3);
    expect((body.actions as { action_ts: string }[])[0]?.action_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(body.trigger_id).toEqual(expect.any(String));
    const transcript = sim.transcript(CHANNEL);
    expect(transcript).toContain('» @bob clicked [ Approve ]');
    expect(transcript).toMatch(/\[\d\d:\d\d:\d\d\] @netpol \(bot\) \(edited\): Approved by @bob \(INC-1:contain\)\n/);
  });

  it('builds a click for another sender: signed and posted as Slack would, it is the same click', async () => {
    const ts = await openIncident('checkout');
    const { rawBody, responseUrl } = driver.clickFormBody({ userId: 'U0BOB', channelId: CHANNEL, messageTs: ts, actionId: 'approve' });
    // Recorded as the user's click when built, like a click sent at once.
    expect(sim.transcript(CHANNEL)).toContain('» @bob clicked [ Approve ]');
    const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    const response = await fetch(appUrl, { method: 'POST', headers: slackRequestHeaders(SIGNING_SECRET, Math.floor(Date.now() / 1000), rawBody), body: rawBody });
    expect(response.status).toBe(200);
    await sim.waitForMessage((m) => m.ts === ts && m.text.startsWith('Approved by'));
    const body = handled.filter((h) => h.kind === 'approve').at(-1)?.body as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'block_actions', user: { id: 'U0BOB' }, response_url: responseUrl, actions: [{ action_id: 'approve', value: 'INC-1:contain' }] });
    // Unsigned, it is refused like any request Slack did not sign.
    const unsigned = await fetch(appUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: rawBody });
    expect(unsigned.status).toBe(401);
  });

  it('clicks a button on an ephemeral message: no message in the payload, replace_original edits the ephemeral', async () => {
    await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'ask restore' });
    const ephemeral = await sim.waitForMessage((m) => m.text === 'Confirm restore?');
    expect(ephemeral.visibleTo).toBe('U0ALICE');
    await expect(driver.clickButton({ userId: 'U0BOB', channelId: CHANNEL, messageTs: ephemeral.ts, actionId: 'approve' })).rejects.toThrow(/only visible to U0ALICE/);

    const click = await driver.clickButton({ userId: 'U0ALICE', channelId: CHANNEL, messageTs: ephemeral.ts, actionId: 'approve' });
    expect(click.status).toBe(200);
    await sim.waitFor((c) => c.kind === 'response_url' && c.effect === 'replace_original' && c.args.text === 'Approved by <@U0ALICE> (INC-1:contain)');
    const body = handled.find((h) => h.kind === 'approve')?.body as Record<string, unknown>;
    expect(body.container).toMatchObject({ message_ts: ephemeral.ts, is_ephemeral: true });
    expect(body.message).toBeUndefined();
    expect(sim.findMessage(CHANNEL, ephemeral.ts)).toMatchObject({ text: 'Approved by <@U0ALICE> (INC-1:contain)', visibleTo: 'U0ALICE' });
  });

  it('respond(delete_original) removes the message; its thread stays under "(message deleted)"', async () => {
    const ts = await openIncident('cache');
    const click = await driver.clickButton({ userId: 'U0BOB', channelId: CHANNEL, messageTs: ts, actionId: 'reject' });
    const call = await sim.waitFor((c) => c.kind === 'response_url' && c.effect === 'delete_original');
    expect(call.status).toBe(200);
    expect(sim.findMessage(CHANNEL, ts)).toBeUndefined();
    expect(sim.transcript(CHANNEL)).toMatch(/\(message deleted\)\n {4}↳ \[\d\d:\d\d:\d\d\] @netpol \(bot\): Evidence for @alice/);
    // The response_url of the click is bound to the deleted message: a second delete finds nothing.
    expect(click.responseUrl).toBe(`${sim.baseUrl}/response/${call.method}`);
    const again = await fetch(click.responseUrl ?? '', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"delete_original":true}' });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ ok: false, error: 'message_not_found' });
  });

  it('refuses to click a button the message does not have', async () => {
    const ts = await openIncident('web');
    await expect(driver.clickButton({ userId: 'U0BOB', channelId: CHANNEL, messageTs: ts, actionId: 'escalate' })).rejects.toThrow(/no button with action_id escalate/);
    await expect(driver.clickButton({ userId: 'U0BOB', channelId: CHANNEL, messageTs: '1.000000', actionId: 'approve' })).rejects.toThrow(/no message/);
  });

  it('a forged signature, a stale timestamp, a tampered body and a missing signature get 401 and run no handler', async () => {
    const ts = await openIncident('shop');
    handled.length = 0;
    const messagesBefore = sim.messages().length;
    const callsBefore = sim.calls.length;
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;

    const forged = [
      await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'incident db', forge: { signingSecret: 'not-the-secret' } }),
      await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'incident db', forge: { timestampSeconds: stale } }),
      await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'incident db', forge: { tamperBody: (b) => b.replace('U0ALICE', 'U0BOB') } }),
      await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'incident db', forge: { omitSignature: true } }),
      await driver.clickButton({ userId: 'U0BOB', channelId: CHANNEL, messageTs: ts, actionId: 'approve', forge: { signingSecret: 'not-the-secret' } }),
      await driver.clickButton({ userId: 'U0BOB', channelId: CHANNEL, messageTs: ts, actionId: 'approve', forge: { timestampSeconds: stale } }),
    ];
    for (const result of forged) expect(result.status).toBe(401);
    expect(handled).toEqual([]);
    expect(sim.messages()).toHaveLength(messagesBefore);
    expect(sim.calls.slice(callsBefore)).toEqual([]);
    // A genuine request afterwards is handled, and is the only thing that ran.
    await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'whois' });
    await sim.waitFor((c) => c.seq > callsBefore && c.kind === 'response_url');
    expect(handled.map((h) => (h.body as { text: string }).text)).toEqual(['whois']);
  });

  it("retries a 429 with WebClient's built-in policy and posts the message exactly once", async () => {
    sim.rateLimit('chat.postMessage', { retryAfterSeconds: 1, times: 1 });
    const callsBefore = sim.calls.length;
    await openIncident('rate-limited', 20_000);
    const posts = sim.calls.slice(callsBefore).filter((c) => c.method === 'chat.postMessage');
    expect(posts.map((c) => c.status)).toEqual([429, 200, 200]);
    expect(posts[0]?.response).toEqual({ ok: false, error: 'ratelimited' });
    expect(sim.messages(CHANNEL).filter((m) => m.text === 'Incident opened for rate-limited')).toHaveLength(1);
  }, 30_000);

  it('files.uploadV2 goes through getUploadURLExternal, the upload URL and completeUploadExternal', async () => {
    const callsBefore = sim.calls.length;
    await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'export INC-1' });
    const complete = await sim.waitFor((c) => c.method === 'files.completeUploadExternal' && c.seq > callsBefore);
    expect(complete.response).toMatchObject({ ok: true, files: [{ name: 'INC-1.md', size: 27 }] });
    expect(sim.calls.slice(callsBefore).map((c) => `${c.kind}:${c.kind === 'upload' ? 'bytes' : c.method}`)).toEqual([
      'api:chat.postMessage',
      'api:files.getUploadURLExternal',
      'upload:bytes',
      'api:files.completeUploadExternal',
    ]);
    const message = await sim.waitForMessage((m) => m.files !== undefined && m.text === 'Postmortem timeline');
    expect(message.files?.[0]?.content?.toString()).toBe('# INC-1\n\n- 10:00 contained\n');
    const parent = sim.findMessage(CHANNEL, message.threadTs ?? '');
    expect(parent?.text).toBe('Exporting INC-1');
    expect(sim.transcript(CHANNEL, { showFileContent: true })).toContain(
      '    ↳ [' + new Date(Number(message.ts.split('.')[0]) * 1000).toISOString().slice(11, 19) + '] @netpol (bot):\n          Postmortem timeline\n          📎 INC-1.md (27 bytes)\n              │ # INC-1',
    );
  });

  it('users.info and usergroups.users.list answer from the seeded directory; in_channel respond is public', async () => {
    const callsBefore = sim.calls.length;
    await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'whois' });
    const posted = await sim.waitFor((c) => c.seq > callsBefore && c.kind === 'response_url');
    expect(posted).toMatchObject({ status: 200, effect: 'in_channel', args: { text: 'Alice Ops in U0ALICE,U0BOB', response_type: 'in_channel' } });
    expect(sim.calls.slice(callsBefore).map((c) => c.method).slice(0, 2)).toEqual(['users.info', 'usergroups.users.list']);
    const message = sim.messages(CHANNEL).at(-1);
    expect(message).toMatchObject({ text: 'Alice Ops in U0ALICE,U0BOB', user: 'U0BOT' });
    expect(message?.visibleTo).toBeUndefined();
  });
});
