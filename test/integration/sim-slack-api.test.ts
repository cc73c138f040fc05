// The Slack Web API stand-in answering raw HTTP, including malformed and hostile requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackApiServer, type SlackApiSim } from '../../src/sim/slack/index.js';

let sim: SlackApiSim;
const TOKEN = 'xoxb-test-token';

beforeAll(async () => {
  sim = await startSlackApiServer({ botToken: TOKEN, users: [{ id: 'U1', name: 'alice' }] });
});
afterAll(async () => {
  await sim.close();
});

async function api(method: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${sim.apiUrl}${method}`, { method: 'POST', ...init });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

const form = (fields: Record<string, string>): RequestInit => ({
  headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${TOKEN}` },
  body: new URLSearchParams(fields).toString(),
});

describe('Slack Web API stand-in over HTTP', () => {
  it('listens on loopback and exposes an api URL Bolt can use', () => {
    expect(sim.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    expect(sim.port).toBeGreaterThan(0);
  });

  it('accepts the token as Bearer header, as form argument, and JSON with a header', async () => {
    expect((await api('auth.test', form({}))).body).toMatchObject({ ok: true, user_id: 'U0BOT' });
    const inBody = await api('auth.test', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${TOKEN}` });
    expect(inBody.body.ok).toBe(true);
    const json = await api('chat.postMessage', {
      headers: { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ channel: 'C0INCIDENTS', text: 'from json', blocks: [{ type: 'divider' }] }),
    });
    expect(json.body).toMatchObject({ ok: true, channel: 'C0INCIDENTS' });
    const get = await fetch(`${sim.apiUrl}users.info?user=U1&token=${TOKEN}`);
    expect(await get.json()).toMatchObject({ ok: true, user: { name: 'alice' } });
  });

  it('records each call with its parsed arguments and without the token in them', async () => {
    const before = sim.calls.length;
    await api('chat.postMessage', form({ channel: 'C0INCIDENTS', text: 'recorded' }));
    const call = sim.calls[before];
    expect(call).toMatchObject({ kind: 'api', method: 'chat.postMessage', token: TOKEN, status: 200, args: { channel: 'C0INCIDENTS', text: 'recorded' } });
    expect(call?.args.token).toBeUndefined();
    expect(call?.at).toBeInstanceOf(Date);
    expect(call?.response).toMatchObject({ ok: true });
  });

  it('answers not_authed without a token and invalid_auth with a wrong one, posting nothing', async () => {
    const count = sim.messages().length;
    const none = await api('chat.postMessage', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'channel=C0INCIDENTS&text=x' });
    expect(none).toMatchObject({ status: 200, body: { ok: false, error: 'not_authed' } });
    const wrong = await api('chat.postMessage', { ...form({ channel: 'C0INCIDENTS', text: 'x' }), headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Bearer xoxb-stolen' } });
    expect(wrong.body).toEqual({ ok: false, error: 'invalid_auth' });
    expect(sim.messages()).toHaveLength(count);
  });

  it('answers unknown_method for methods it does not implement, including prototype names', async () => {
    for (const method of ['chat.frobnicate', 'toString', '__proto__', 'constructor']) {
      expect((await api(method, form({}))).body).toEqual({ ok: false, error: 'unknown_method' });
    }
  });

  it('answers invalid_json / json_not_object / invalid_post_type for malformed bodies', async () => {
    const headers = { Authorization: `Bearer ${TOKEN}` };
    expect((await api('chat.postMessage', { headers: { ...headers, 'Content-Type': 'application/json' }, body: '{"channel":' })).body).toEqual({ ok: false, error: 'invalid_json' });
    expect((await api('chat.postMessage', { headers: { ...headers, 'Content-Type': 'application/json' }, body: '"text"' })).body).toEqual({ ok: false, error: 'json_not_object' });
    expect((await api('chat.postMessage', { headers: { ...headers, 'Content-Type': 'text/plain' }, body: 'channel=C0INCIDENTS' })).body).toEqual({ ok: false, error: 'invalid_post_type' });
  });

  it('refuses a body over 1 MiB with 413 and changes nothing', async () => {
    const count = sim.messages().length;
    const res = await api('chat.postMessage', form({ channel: 'C0INCIDENTS', text: 'x'.repeat(1024 * 1024 + 10) }));
    expect(res).toMatchObject({ status: 413, body: { ok: false, error: 'request_too_large' } });
    expect(sim.messages()).toHaveLength(count);
    expect(sim.calls.at(-1)).toMatchObject({ kind: 'api', method: 'chat.postMessage', status: 413, args: {} });
  });

  it('answers channel_not_found for chat.update in an unknown channel, and message_not_found for an unknown ts', async () => {
    const posted = await api('chat.postMessage', form({ channel: 'C0INCIDENTS', text: 'original' }));
    const ts = posted.body.ts as string;
    expect((await api('chat.update', form({ channel: 'C0NOPE', ts, text: 'changed' }))).body).toEqual({ ok: false, error: 'channel_not_found' });
    expect((await api('chat.update', form({ channel: 'C0INCIDENTS', ts: '1.000001', text: 'changed' }))).body).toEqual({ ok: false, error: 'message_not_found' });
    expect(sim.findMessage('C0INCIDENTS', ts)?.text).toBe('original');
    expect((await api('chat.update', form({ channel: 'C0INCIDENTS', ts, text: 'changed' }))).body).toMatchObject({ ok: true, text: 'changed' });
    expect(sim.transcript('#incidents')).toContain('(edited): changed');
  });

  it('gives strictly increasing ts values', async () => {
    const stamps: string[] = [];
    for (let i = 0; i < 20; i += 1) stamps.push((await api('chat.postMessage', form({ channel: 'C0INCIDENTS', text: `n${i}` }))).body.ts as string);
    for (let i = 1; i < stamps.length; i += 1) expect(Number(stamps[i])).toBeGreaterThan(Number(stamps[i - 1]));
    expect(stamps[0]).toMatch(/^\d{10}\.\d{6}$/);
  });

  it('answers 429 with Retry-After for the configured number of calls, then serves again', async () => {
    sim.rateLimit('users.info', { retryAfterSeconds: 7, times: 2 });
    const first = await api('users.info', form({ user: 'U1' }));
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(first.body).toEqual({ ok: false, error: 'ratelimited' });
    expect((await api('users.info', form({ user: 'U1' }))).status).toBe(429);
    expect((await api('users.info', form({ user: 'U1' }))).body).toMatchObject({ ok: true });
  });

  it('hosts upload URLs and response URLs, and 404s for unknown ones', async () => {
    const upload = await fetch(`${sim.baseUrl}/upload/F404`, { method: 'POST', body: 'bytes' });
    expect(upload.status).toBe(404);
    const response = await fetch(`${sim.baseUrl}/response/nope`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"text":"x"}' });
    expect(response.status).toBe(404);
    const url = sim.createResponseUrl({ channel: 'C0INCIDENTS', user: 'U1' });
    const broken = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toEqual({ ok: false, error: 'invalid_json' });
    const other = await fetch(`${sim.baseUrl}/elsewhere`);
    expect(other.status).toBe(404);
  });

  it('takes raw bytes on an upload URL, as well as multipart', async () => {
    const { body } = await api('files.getUploadURLExternal', form({ filename: 'raw.txt', length: '5' }));
    const res = await fetch(body.upload_url as string, { method: 'POST', body: 'hello' });
    expect(await res.text()).toBe('OK - 5');
    expect(sim.workspace.files.get(body.file_id as string)?.content?.toString()).toBe('hello');
  });

  it('refuses a broken multipart upload and an upload over the upload limit, keeping no bytes', async () => {
    const { body } = await api('files.getUploadURLExternal', form({ filename: 'broken.txt', length: '5' }));
    const broken = await fetch(body.upload_url as string, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="body"; filename="a"\r\n\r\nhello',
    });
    expect(broken.status).toBe(400);
    expect(await broken.text()).toBe('invalid_form_data');
    const small = await startSlackApiServer({ maxUploadBytes: 10 });
    try {
      const ticket = await fetch(`${small.apiUrl}files.getUploadURLExternal?token=${small.botToken}&filename=big.bin&length=11`);
      const { upload_url: uploadUrl, file_id: fileId } = (await ticket.json()) as { upload_url: string; file_id: string };
      const tooBig = await fetch(uploadUrl, { method: 'POST', body: 'x'.repeat(11) });
      expect(tooBig.status).toBe(413);
      expect(small.workspace.files.get(fileId)?.content).toBeUndefined();
    } finally {
      await small.close();
    }
    expect(sim.workspace.files.get(body.file_id as string)?.content).toBeUndefined();
  });

  it('waitFor resolves on a later call and rejects with the recent calls after the timeout', async () => {
    const waiting = sim.waitFor((c) => c.method === 'chat.postMessage' && c.args.text === 'awaited');
    await api('chat.postMessage', form({ channel: 'C0INCIDENTS', text: 'awaited' }));
    expect((await waiting).response).toMatchObject({ ok: true });
    await expect(sim.waitFor((c) => c.method === 'never', 50)).rejects.toThrow(/no matching Slack call within 50 ms/);
    await expect(sim.waitForMessage((m) => m.text === 'never', 50)).rejects.toThrow(/no matching Slack message/);
  });

  it('tells onMessage listeners about posts and stops after unsubscribe', async () => {
    const seen: string[] = [];
    const off = sim.onMessage((e) => seen.push(`${e.type} ${sim.renderMessage(e.message)}`));
    await api('chat.postMessage', form({ channel: 'C0INCIDENTS', text: 'live one' }));
    off();
    await api('chat.postMessage', form({ channel: 'C0INCIDENTS', text: 'live two' }));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^posted \[\d\d:\d\d:\d\d\] @netpol \(bot\): live one$/);
  });
});
