// The checks on a request before the bot acts on it, against the real bot over loopback and requests
// signed as Slack signs them: the timestamp within ±5 minutes, the body capped before it is read, and
// every click acknowledged, a stale or unknown button answered to the clicker alone.
import { connect, type Socket } from 'node:net';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { formEncode, signSlackRequest, type SimMessage } from '../../src/sim/slack/index.js';
import { APPROVE_ACTION } from '../../src/slack/blocks.js';
import { LIFT_ACTION } from '../../src/slack/contain-blocks.js';
import { SLACK_MAX_BODY_BYTES } from '../../src/slack/request-limits.js';
import { DEMO_CHANNEL, DEMO_USERS, openIncident, startTestEnvironment } from '../helpers/environment.js';

const OLD_ACTION = 'netpol_approve_v0_legacy';
const stale = /^This button belongs to an older version of the bot or to a message that no longer applies; nothing was done\./;
const now = () => Math.floor(Date.now() / 1000);

let env: EmbeddedEnvironment;
beforeAll(async () => {
  env = await startTestEnvironment();
});
afterAll(() => env?.stop());

const secret = () => env.config.secrets.slackSigningSecret;
const incidentCount = async () => (await env.bot!.store.list(1000)).length;
const slackCalls = (from: number) => env.slack.calls.slice(from).filter((c) => c.kind !== 'api' || c.method !== 'auth.test');

/** A signed slash-command body of exactly `size` bytes (the padding rides in a field Bolt ignores). */
function paddedCommand(size: number, text = 'help'): string {
  const fields = env.driver!.slashCommandFields({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text }, `${env.slack.baseUrl}/response/none`);
  const base = `${formEncode(fields)}&padding=`;
  return base + 'x'.repeat(size - base.length);
}

interface RawExchange {
  socket: Socket;
  /** Resolves with the response's status line and headers once they arrived. */
  head: Promise<string>;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
}

/** Opens a raw connection to the bot and sends a request head; the body is written by the test, bit by bit. */
function rawRequest(headers: Record<string, string>): RawExchange {
  const socket = connect(env.bot!.port!, '127.0.0.1');
  socket.on('error', () => undefined); // the server may cut the connection while the body is still being sent
  let received = '';
  const head = new Promise<string>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end >= 0) resolve(received.slice(0, end));
    });
    socket.on('close', () => reject(new Error(`connection closed before a response head (got ${JSON.stringify(received)})`)));
  });
  head.catch(() => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const lines = Object.entries({ Host: `127.0.0.1:${env.bot!.port}`, ...headers }).map(([k, v]) => `${k}: ${v}`);
  socket.write(`POST /slack/events HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
  return { socket, head, closed };
}

function signedHeaders(body: string, timestamp = now()): Record<string, string> {
  return {
    'Content-Type': 'application/x-www-form-urlencoded',
    'X-Slack-Request-Timestamp': String(timestamp),
    'X-Slack-Signature': signSlackRequest(secret(), timestamp, body),
  };
}

describe('the request timestamp', () => {
  it('refuses a correctly signed request dated 6 minutes ahead or behind (401), and runs nothing', async () => {
    const before = { calls: env.slack.calls.length, incidents: await incidentCount() };
    for (const offset of [6 * 60, -6 * 60, 5 * 60 + 2]) {
      const result = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'incident db -- from the future', forge: { timestampSeconds: now() + offset } });
      expect(result.status, `offset ${offset} s`).toBe(401);
      expect(result.body).toBe('');
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(slackCalls(before.calls)).toEqual([]);
    expect(await incidentCount()).toBe(before.incidents);
  });

  it('accepts a request dated 4 minutes ahead or behind (clocks differ a little)', async () => {
    for (const offset of [4 * 60, -4 * 60]) {
      const result = await env.driver!.slashCommand({ userId: DEMO_USERS.oncall.id, channelId: DEMO_CHANNEL, text: 'help', forge: { timestampSeconds: now() + offset } });
      expect(result.status, `offset ${offset} s`).toBe(200);
      expect(result.body).toContain('/netpol incident [cluster/]<namespace>');
    }
  });

  it('refuses a click dated in the future, and the step stays undecided', async () => {
    const { incidentId, message } = await openIncident(env, 'incident db app=postgres -- future click');
    const before = await env.bot!.store.require(incidentId);
    const click = await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: APPROVE_ACTION, forge: { timestampSeconds: now() + 6 * 60 } });
    expect(click.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(await env.bot!.store.require(incidentId)).toEqual(before);
  });
});

describe('the body cap', () => {
  const TWO_MB = 2 * 1024 * 1024;

  it('answers 413 to a 2 MB body from its Content-Length, before the client has sent most of it', async () => {
    const before = { calls: env.slack.calls.length, incidents: await incidentCount() };
    const body = paddedCommand(TWO_MB, 'incident db -- huge');
    const exchange = rawRequest({ ...signedHeaders(body), 'Content-Length': String(Buffer.byteLength(body)) });
    const sent = 16 * 1024;
    exchange.socket.write(body.slice(0, sent));
    // The answer comes while 2 MB − 16 KiB are still held back, and the server closes the connection
    // rather than reading them.
    expect(await exchange.head).toMatch(/^HTTP\/1\.1 413 /);
    await exchange.closed;
    expect(exchange.socket.bytesWritten).toBeLessThan(sent + 1024);
    expect(slackCalls(before.calls)).toEqual([]);
    expect(await incidentCount()).toBe(before.incidents);
  });

  it('answers 413 to a chunked body once it passes the cap, without waiting for the rest', async () => {
    const before = { calls: env.slack.calls.length, incidents: await incidentCount() };
    const body = paddedCommand(TWO_MB, 'incident db -- huge chunked');
    const exchange = rawRequest({ ...signedHeaders(body), 'Transfer-Encoding': 'chunked' });
    const chunk = 32 * 1024;
    let offset = 0;
    // Just past the cap: 9 chunks of 32 KiB = 288 KiB of the 2 MB.
    while (offset <= SLACK_MAX_BODY_BYTES) {
      const piece = body.slice(offset, offset + chunk);
      exchange.socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
      offset += piece.length;
    }
    expect(await exchange.head).toMatch(/^HTTP\/1\.1 413 /);
    await exchange.closed;
    expect(offset).toBeLessThan(TWO_MB / 4);
    expect(slackCalls(before.calls)).toEqual([]);
    expect(await incidentCount()).toBe(before.incidents);
  });

  it('serves a body just under the cap, with Content-Length and chunked', async () => {
    const body = paddedCommand(SLACK_MAX_BODY_BYTES - 64);
    const sized = await env.driver!.send(body);
    expect(sized.status).toBe(200);
    expect(sized.body).toContain('/netpol incident [cluster/]<namespace>');

    const exchange = rawRequest({ ...signedHeaders(body), 'Transfer-Encoding': 'chunked' });
    for (let offset = 0; offset < body.length; offset += 50_000) {
      const piece = body.slice(offset, offset + 50_000);
      exchange.socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
    }
    exchange.socket.write('0\r\n\r\n');
    expect(await exchange.head).toMatch(/^HTTP\/1\.1 200 /);
    exchange.socket.destroy();
  });
});

describe('clicks no listener expects', () => {
  /** Posts, as the bot, a message with a button an older version of the bot had. */
  async function legacyMessage(value: string): Promise<SimMessage> {
    const client = new WebClient(env.slack.botToken, { slackApiUrl: env.slack.apiUrl });
    const posted = await client.chat.postMessage({
      channel: DEMO_CHANNEL,
      text: 'legacy approval',
      blocks: [{ type: 'actions', block_id: 'legacy', elements: [{ type: 'button', action_id: OLD_ACTION, text: { type: 'plain_text', text: 'Approve (v0)' }, value }] }],
    });
    return env.slack.findMessage(DEMO_CHANNEL, posted.ts!)!;
  }

  it('acknowledges an unknown action_id and tells the clicker alone that nothing was done', async () => {
    const { incidentId } = await openIncident(env, 'incident frontend app=web -- legacy button');
    const before = await env.bot!.store.require(incidentId);
    const message = await legacyMessage(JSON.stringify({ incidentId, stepId: 'contain' }));
    const click = await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: OLD_ACTION });
    expect(click.status).toBe(200);
    const answer = await env.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.approver.id && m.text.includes('older version of the bot'), 5000);
    expect(answer.text).toBe(
      `This button belongs to an older version of the bot or to a message that no longer applies; nothing was done. Use \`/netpol status ${incidentId}\` to see where incident \`${incidentId}\` stands.`,
    );
    expect(await env.bot!.store.require(incidentId)).toEqual(before);
    expect(env.kube.get('NetworkPolicy', 'frontend', `netpol-responder-quarantine-${incidentId}`)).toBeUndefined();
  });

  it('answers a known button with a stale or tampered value, acknowledged, and changes nothing', async () => {
    const { incidentId, message } = await openIncident(env, 'incident api app=orders -- stale values');
    const before = await env.bot!.store.require(incidentId);
    const cases = [
      { value: JSON.stringify({ incidentId, stepId: 'validate' }), answer: /^step validate is not the current step/ }, // a step not waiting for a decision
      { value: JSON.stringify({ incidentId, stepId: 'renamed-step' }), answer: stale }, // a step this playbook no longer has
      { value: JSON.stringify({ incidentId: '20200101-zzzzzz', stepId: 'contain' }), answer: stale }, // an incident that is gone
      { value: 'not json', answer: /malformed value\)\. Nothing changed\.$/ },
    ];
    for (const { value, answer } of cases) {
      const seen = env.slack.calls.length;
      const click = await env.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: APPROVE_ACTION, value });
      expect(click.status, value).toBe(200);
      const reply = await env.slack.waitFor((c) => c.kind === 'response_url' && c.seq > seen, 5000);
      expect(reply.args, value).toMatchObject({ response_type: 'ephemeral', replace_original: false });
      expect(String(reply.args.text), value).toMatch(answer);
      const shown = await env.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.approver.id && m.text === String(reply.args.text), 5000);
      expect(shown.visibleTo).toBe(DEMO_USERS.approver.id);
    }
    expect(await env.bot!.store.require(incidentId)).toEqual(before);
    expect(env.kube.get('NetworkPolicy', 'api', `netpol-responder-quarantine-${incidentId}`)).toBeUndefined();
  });

  it('answers a lift button whose value was tampered with or names an incident that is gone', async () => {
    const message = await legacyMessage('x');
    for (const [value, answer] of [
      ['../../etc', /malformed value\)\. Nothing changed\.$/],
      ['20200101-zzzzzz', stale],
    ] as const) {
      // Same message shape, another known action id: a lift button carrying a path, or the id of no incident.
      const responseUrl = env.slack.createResponseUrl({ channel: DEMO_CHANNEL, user: DEMO_USERS.approver.id });
      const payload = env.driver!.blockActionsPayload({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: message.ts, actionId: OLD_ACTION, value }, message, responseUrl);
      (payload.actions as Record<string, unknown>[])[0]!.action_id = LIFT_ACTION;
      const seen = env.slack.calls.length;
      const result = await env.driver!.send(formEncode({ payload: JSON.stringify(payload) }));
      expect(result.status, value).toBe(200);
      const reply = await env.slack.waitFor((c) => c.kind === 'response_url' && c.seq > seen, 5000);
      expect(reply.args, value).toMatchObject({ response_type: 'ephemeral' });
      expect(String(reply.args.text), value).toMatch(answer);
    }
  });
});

describe('over Socket Mode', () => {
  let socketEnv: EmbeddedEnvironment;
  beforeAll(async () => {
    socketEnv = await startTestEnvironment({ socketMode: true });
  });
  afterAll(() => socketEnv?.stop());

  it('acknowledges an unknown action_id and answers the clicker', async () => {
    const client = new WebClient(socketEnv.slack.botToken, { slackApiUrl: socketEnv.slack.apiUrl });
    const posted = await client.chat.postMessage({
      channel: DEMO_CHANNEL,
      text: 'legacy',
      blocks: [{ type: 'actions', block_id: 'legacy', elements: [{ type: 'button', action_id: OLD_ACTION, text: { type: 'plain_text', text: 'Old' }, value: 'v0' }] }],
    });
    const click = await socketEnv.driver!.clickButton({ userId: DEMO_USERS.approver.id, channelId: DEMO_CHANNEL, messageTs: posted.ts!, actionId: OLD_ACTION });
    expect(click.status).toBe(200);
    expect(click.envelopeId).toBeDefined();
    const answer = await socketEnv.slack.waitForMessage((m) => m.visibleTo === DEMO_USERS.approver.id && m.text.includes('older version of the bot'), 5000);
    expect(answer.text).toContain('Use `/netpol status <id>`');
  });
});
