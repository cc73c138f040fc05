// A real Bolt app in Socket Mode (the @slack/socket-mode client over `ws`) connected to the Slack stand-in
// on loopback: commands and clicks arrive as envelopes, acks come back, reconnects follow a "disconnect".
import { connect } from 'node:net';
import { App, LogLevel, type BlockAction, type ButtonAction, type Logger } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseForm } from '../../src/sim/slack/body.js';
import { SlackDriver, startSlackApiServer, type Envelope, type SlackApiSim } from '../../src/sim/slack/index.js';

const CHANNEL = 'C0INCIDENTS';
const MAX_BODY_BYTES = 64 * 1024;

let sim: SlackApiSim;
let app: App;
let driver: SlackDriver;
const handled: { kind: string; body: Record<string, unknown> }[] = [];

const approvalBlocks = [
  { type: 'section', text: { type: 'mrkdwn', text: 'Apply deny-all to namespace `db`?' } },
  {
    type: 'actions',
    block_id: 'approval',
    elements: [{ type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'INC-1:contain', style: 'primary' }],
  },
];

/** For the app that is expected to fail: its client logs the refusal as an error. */
const quietLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

function socketApp(appToken: string, logger?: Logger): App {
  return new App({
    token: sim.botToken,
    socketMode: true,
    appToken,
    clientOptions: { slackApiUrl: sim.apiUrl },
    ...(logger ? { logger } : { logLevel: LogLevel.ERROR }),
  });
}

async function openTicketUrl(token: string): Promise<{ ok: boolean; url?: string; error?: string }> {
  const response = await fetch(`${sim.apiUrl}apps.connections.open`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  return (await response.json()) as { ok: boolean; url?: string; error?: string };
}

/** A bare WebSocket client on a fresh ticket, with every text frame it receives. */
async function rawClient(): Promise<{ socket: WebSocket; received: Record<string, unknown>[] }> {
  const opened = await openTicketUrl(sim.appToken);
  if (!opened.url) throw new Error(`apps.connections.open failed: ${opened.error}`);
  const socket = new WebSocket(opened.url);
  const received: Record<string, unknown>[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data)) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  await until(() => received.some((m) => m.type === 'hello'));
  return { socket, received };
}

/** The HTTP status a WebSocket upgrade to `url` is refused with. */
function refusedStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => reject(new Error(`upgrade to ${url} was accepted`)));
    socket.once('error', () => undefined);
  });
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  sim = await startSlackApiServer({
    users: [
      { id: 'U0ALICE', name: 'alice' },
      { id: 'U0BOB', name: 'bob' },
    ],
    maxBodyBytes: MAX_BODY_BYTES,
    socketPingIntervalMs: 200,
  });
  app = socketApp(sim.appToken);
  app.command('/netpol', async ({ command, ack, say }) => {
    handled.push({ kind: 'command', body: command as unknown as Record<string, unknown> });
    if (command.text.startsWith('incident')) {
      await ack({ response_type: 'ephemeral', text: `Opening incident for ${command.text.split(' ')[1]}` });
      await say({ text: 'Incident INC-1', blocks: approvalBlocks });
    } else {
      await ack();
    }
  });
  app.action<BlockAction<ButtonAction>>('approve', async ({ ack, body, action, respond }) => {
    await ack();
    handled.push({ kind: 'approve', body: body as unknown as Record<string, unknown> });
    await respond({ replace_original: true, text: `Approved by <@${body.user.id}> (${action.value})` });
  });
  await app.start();
  driver = new SlackDriver({ mode: 'socket', sim });
});

afterAll(async () => {
  await app?.stop();
  await sim?.close();
});

describe('Socket Mode connection', () => {
  it('opens with the app-level token and greets the app with hello', () => {
    const open = sim.calls.filter((c) => c.method === 'apps.connections.open');
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ token: sim.appToken, status: 200, response: { ok: true } });
    expect(String(open[0]?.response.url)).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/socket-mode\?ticket=[0-9a-f]{32}&app_id=A0NETPOL$/);
    expect(sim.socketMode.openConnections()).toHaveLength(1);
  });

  it('keeps the link alive with ping frames both ways', async () => {
    const [connection] = sim.socketMode.openConnections();
    // The stand-in pings every 200 ms; the client pings every clientPingTimeout/3 (~1.7 s).
    await until(() => (connection?.pongs ?? 0) >= 2 && (connection?.pingsReceived ?? 0) >= 1, 8000);
    expect(connection?.closedAt).toBeUndefined();
  });
});

describe('envelopes', () => {
  it('delivers a slash command and returns the ack payload as the response', async () => {
    const result = await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'incident db' });
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ response_type: 'ephemeral', text: 'Opening incident for db' });
    expect(result.ackMs).toBeGreaterThan(0);
    expect(result.ackMs).toBeLessThan(3000);

    const envelope = JSON.parse(result.rawBody) as Envelope;
    expect(envelope).toMatchObject({ type: 'slash_commands', accepts_response_payload: true, envelope_id: result.envelopeId });
    // The payload has exactly the fields of the HTTP form body.
    const form = parseForm(driver.slashCommandBody({ userId: 'U0ALICE', channelId: CHANNEL, text: 'incident db' }, result.responseUrl!));
    expect(Object.keys(envelope.payload).sort()).toEqual(Object.keys(form).sort());
    expect(envelope.payload).toMatchObject({ command: '/netpol', text: 'incident db', user_id: 'U0ALICE', channel_id: CHANNEL, response_url: result.responseUrl });

    const command = handled.find((h) => h.kind === 'command')?.body;
    expect(command).toMatchObject({ command: '/netpol', text: 'incident db', user_id: 'U0ALICE' });
    expect(sim.socketMode.frames.filter((f) => f.envelopeId === result.envelopeId).map((f) => f.kind)).toEqual(['ack']);
  });

  it('gives an empty body for an ack without payload', async () => {
    const result = await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'status' });
    expect(result).toMatchObject({ status: 200, body: '' });
  });

  it('delivers a button click as an interactive envelope, and the response_url still works', async () => {
    const message = await sim.waitForMessage((m) => m.blocks !== undefined && m.text === 'Incident INC-1');
    const result = await driver.clickButton({ userId: 'U0BOB', channelId: CHANNEL, messageTs: message.ts, actionId: 'approve' });
    expect(result).toMatchObject({ status: 200, body: '' });
    const envelope = JSON.parse(result.rawBody) as Envelope;
    expect(envelope).toMatchObject({ type: 'interactive', accepts_response_payload: false });
    expect(envelope.payload).toMatchObject({ type: 'block_actions', user: { id: 'U0BOB' }, actions: [{ action_id: 'approve', value: 'INC-1:contain' }] });

    const click = handled.find((h) => h.kind === 'approve')?.body;
    expect(click).toMatchObject({ type: 'block_actions', user: { id: 'U0BOB' } });
    const replaced = await sim.waitForMessage((m) => m.ts === message.ts && m.text.startsWith('Approved by'));
    expect(replaced.text).toBe('Approved by <@U0BOB> (INC-1:contain)');
  });

  it('refuses forged requests in Socket Mode before anything is recorded', async () => {
    const before = sim.messages(CHANNEL).length;
    await expect(driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'status', forge: { omitSignature: true } })).rejects.toThrow(/HTTP-only/);
    expect(sim.messages(CHANNEL)).toHaveLength(before);
  });
});

describe('tokens and tickets', () => {
  it('refuses a wrong app-level token: the app does not start and nothing connects', async () => {
    const connectionsBefore = sim.socketMode.connections.length;
    const wrong = socketApp('xapp-1-A0NETPOL-not-the-token', quietLogger);
    await expect(wrong.start()).rejects.toMatchObject({ data: { ok: false, error: 'invalid_auth' } });
    expect(sim.calls.at(-1)).toMatchObject({ method: 'apps.connections.open', token: 'xapp-1-A0NETPOL-not-the-token', response: { ok: false, error: 'invalid_auth' } });
    expect(sim.socketMode.connections).toHaveLength(connectionsBefore);
  });

  it('keeps bot and app tokens apart, as Slack does', async () => {
    expect(await openTicketUrl(sim.botToken)).toEqual({ ok: false, error: 'not_allowed_token_type' });
    expect(await openTicketUrl('')).toEqual({ ok: false, error: 'not_authed' });
    const post = await fetch(`${sim.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${sim.appToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: CHANNEL, text: 'from the app token' }),
    });
    expect(await post.json()).toEqual({ ok: false, error: 'not_allowed_token_type' });
    expect(sim.messages(CHANNEL).some((m) => m.text === 'from the app token')).toBe(false);
  });

  it('refuses upgrades without a valid, unused ticket', async () => {
    const base = `ws://127.0.0.1:${sim.port}`;
    expect(await refusedStatus(`${base}/socket-mode?ticket=00000000000000000000000000000000`)).toBe(401);
    expect(await refusedStatus(`${base}/socket-mode`)).toBe(401);
    expect(await refusedStatus(`${base}/elsewhere`)).toBe(404);
    const { url } = await openTicketUrl(sim.appToken);
    const first = new WebSocket(url!);
    await new Promise((resolve) => first.once('open', resolve));
    expect(await refusedStatus(url!)).toBe(401); // a ticket is good for one connection
    first.close();
    await until(() => sim.socketMode.openConnections().length === 1);
  });
});

describe('frames from a misbehaving client', () => {
  it('records malformed frames, ignores them and keeps serving', async () => {
    const { socket, received } = await rawClient();
    const connectionId = sim.socketMode.openConnections().at(-1)!.id;
    expect(received[0]).toMatchObject({ type: 'hello', num_connections: 2, connection_info: { app_id: 'A0NETPOL' } });
    const framesBefore = sim.socketMode.frames.length;
    for (const text of ['not json', '[1,2]', '"a string"', '{"payload":{}}', '{"envelope_id":""}', '{"envelope_id":"e1","payload":"text"}']) socket.send(text);
    socket.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), { binary: true });
    socket.send(JSON.stringify({ envelope_id: 'never-sent', payload: { text: 'hi' } }));
    await until(() => sim.socketMode.frames.length === framesBefore + 8);
    const frames = sim.socketMode.frames.slice(framesBefore);
    expect(frames.every((f) => f.connectionId === connectionId)).toBe(true);
    expect(frames.map((f) => [f.kind, f.error])).toEqual([
      ['malformed', 'invalid_json'],
      ['malformed', 'not_an_object'],
      ['malformed', 'not_an_object'],
      ['malformed', 'missing_envelope_id'],
      ['malformed', 'missing_envelope_id'],
      ['malformed', 'invalid_payload'],
      ['binary', undefined],
      ['unknown_envelope', undefined],
    ]);
    expect(frames[0]?.text).toBe('not json');

    // Still connected: an envelope to this client is acked (twice: the second ack is recorded and ignored).
    socket.on('message', (data) => {
      const envelope = JSON.parse(String(data)) as Partial<Envelope>;
      if (!envelope.envelope_id) return;
      const ack = JSON.stringify({ envelope_id: envelope.envelope_id, payload: { text: 'raw ack' } });
      socket.send(ack);
      socket.send(ack);
    });
    const ack = await sim.socketMode.send('slash_commands', { command: '/netpol', text: 'status' }, 2000);
    expect(ack).toMatchObject({ connectionId, payload: { text: 'raw ack' } });
    await until(() => sim.socketMode.frames.some((f) => f.kind === 'unknown_envelope' && f.envelopeId === ack.envelopeId));
    socket.close();
    await until(() => sim.socketMode.openConnections().length === 1);
  });

  it('fails an envelope nobody acks, after the timeout', async () => {
    const { socket } = await rawClient();
    await expect(sim.socketMode.send('interactive', { type: 'block_actions' }, 150)).rejects.toThrow(/no ack for interactive envelope/);
    socket.close();
    await until(() => sim.socketMode.openConnections().length === 1);
  });

  it('closes a connection that sends a text frame of invalid UTF-8 (1007), and records it', async () => {
    const { socket } = await rawClient();
    const connection = sim.socketMode.openConnections().at(-1)!;
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect(await closed).toBe(1007);
    await until(() => connection.closedAt !== undefined);
    expect(sim.socketMode.frames.at(-1)).toMatchObject({ connectionId: connection.id, kind: 'malformed', error: 'WS_ERR_INVALID_UTF8' });
    expect(sim.socketMode.openConnections()).toHaveLength(1);
  });

  it('answers a broken handshake on a valid ticket with 400, and the ticket is spent', async () => {
    const { url } = await openTicketUrl(sim.appToken);
    const { pathname, search } = new URL(url!);
    const socket = connect(sim.port, '127.0.0.1');
    socket.write(`GET ${pathname}${search} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => (text += String(chunk)));
      socket.on('close', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(await refusedStatus(url!)).toBe(401);
    expect(sim.socketMode.openConnections()).toHaveLength(1);
  });

  it('drops a connection that sends an oversized frame, and only that one', async () => {
    const { socket } = await rawClient();
    const connection = sim.socketMode.openConnections().at(-1)!;
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send('x'.repeat(MAX_BODY_BYTES + 1));
    expect(await closed).toBe(1009);
    await until(() => connection.closedAt !== undefined);
    expect(sim.socketMode.frames.at(-1)).toMatchObject({ connectionId: connection.id, kind: 'oversized' });

    // The Bolt app's connection is untouched and still serves commands.
    expect(sim.socketMode.openConnections()).toHaveLength(1);
    const result = await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'incident web' });
    expect(JSON.parse(result.body)).toMatchObject({ text: 'Opening incident for web' });
  });
});

describe('disconnect and reconnect', () => {
  it('reconnects on a fresh ticket after a disconnect message, and commands flow over the new connection', async () => {
    const [before] = sim.socketMode.openConnections();
    const opensBefore = sim.calls.filter((c) => c.method === 'apps.connections.open').length;
    sim.socketMode.requestDisconnect('refresh_requested');
    // @slack/socket-mode waits clientPingTimeout (5 s) before reconnecting.
    const after = await sim.socketMode.waitForConnection(before!.id, 15_000);
    expect(before!.closedAt).toBeDefined();
    expect(before!.closeCode).toBe(1000);
    expect(sim.calls.filter((c) => c.method === 'apps.connections.open')).toHaveLength(opensBefore + 1);
    await until(() => sim.socketMode.openConnections().length === 1);

    const result = await driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'incident cache' });
    expect(JSON.parse(result.body)).toMatchObject({ text: 'Opening incident for cache' });
    expect(sim.socketMode.frames.find((f) => f.envelopeId === result.envelopeId)?.connectionId).toBe(after.id);
  }, 25_000);

  it('fails a send when no connection is open', async () => {
    const empty = await startSlackApiServer();
    try {
      await expect(new SlackDriver({ mode: 'socket', sim: empty }).slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, text: 'status' })).rejects.toThrow(
        /no Socket Mode connection is open/,
      );
    } finally {
      await empty.close();
    }
  });
});
