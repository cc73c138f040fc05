import { describe, expect, it } from 'vitest';
import { compareTs, Conversation, isWellFormedTs, TsClock } from '../../src/sim/slack/conversation.js';
import { METHODS, type MethodContext, type SlackResponse } from '../../src/sim/slack/methods.js';
import { applyResponseUrlPost, RESPONSE_URL_TTL_MS, type ResponseUrlState } from '../../src/sim/slack/response-url.js';
import { Workspace } from '../../src/sim/slack/workspace.js';

const ctx: MethodContext = { uploadUrl: (id) => `http://127.0.0.1:1/upload/${id}` };

function call(ws: Workspace, method: string, args: Record<string, unknown>): SlackResponse {
  const handler = METHODS.get(method);
  if (!handler) throw new Error(`no handler ${method}`);
  return handler(args, ws, ctx);
}

function workspace(now = { ms: 1_700_000_000_000 }): Workspace {
  return new Workspace({ nowMs: () => now.ms, users: [{ id: 'U1', name: 'alice' }], usergroups: { S1: ['U1'] } });
}

describe('TsClock', () => {
  it('gives strictly increasing Slack timestamps even when the clock stands still or goes back', () => {
    const now = { ms: 1_700_000_000_000 };
    const clock = new TsClock(() => now.ms);
    const a = clock.next();
    const b = clock.next();
    now.ms -= 5000;
    const c = clock.next();
    expect(a).toBe('1700000000.000000');
    expect(b).toBe('1700000000.000001');
    expect(compareTs(c, b)).toBeGreaterThan(0);
    expect([a, b, c].every(isWellFormedTs)).toBe(true);
  });

  it('orders timestamps numerically, not as strings', () => {
    expect(compareTs('999999999.000000', '1000000000.000000')).toBeLessThan(0);
  });
});

describe('Conversation', () => {
  it('emits posted/updated/deleted events and keeps omitted fields on update', () => {
    const conversation = new Conversation({ channels: [{ id: 'C1', name: 'x' }], nowMs: () => 1_700_000_000_000 });
    const events: string[] = [];
    conversation.onEvent((e) => events.push(`${e.type}:${e.message.text}`));
    const m = conversation.post({ channel: 'C1', kind: 'message', user: 'U1', text: 'a', blocks: [{ type: 'divider' }] });
    conversation.update('C1', m.ts, { text: 'b', editor: 'U1' });
    expect(conversation.find('C1', m.ts)?.blocks).toEqual([{ type: 'divider' }]);
    conversation.update('C1', m.ts, { blocks: [], editor: 'U1' });
    expect(conversation.find('C1', m.ts)?.blocks).toBeUndefined();
    conversation.delete('C1', m.ts);
    expect(conversation.messages('C1')).toEqual([]);
    expect(conversation.messages('C1', true)).toHaveLength(1);
    expect(events).toEqual(['posted:a', 'updated:b', 'updated:b', 'deleted:b']);
    expect(() => conversation.post({ channel: 'C404', kind: 'message', user: 'U1', text: 'x' })).toThrow(/unknown channel/);
  });

  it('lists a channel oldest first and every channel merged by ts, across a change of the seconds\' length; a list handed out is a copy', () => {
    const now = { ms: 999_999_999_000 };
    const conversation = new Conversation({ channels: [{ id: 'C1', name: 'x' }, { id: 'C2', name: 'y' }], nowMs: () => now.ms });
    const posted: string[] = [];
    for (const [channel, text] of [['C1', 'a'], ['C2', 'b'], ['C1', 'c'], ['C2', 'd'], ['C1', 'e']] as const) {
      posted.push(conversation.post({ channel, kind: 'message', user: 'U1', text }).ts);
      now.ms += 600; // 999999999.x → 1000000000.x: string order would break here
    }
    conversation.delete('C2', posted[3] as string);
    expect(conversation.messages('C1').map((m) => m.text)).toEqual(['a', 'c', 'e']);
    expect(conversation.messages().map((m) => m.text)).toEqual(['a', 'b', 'c', 'e']);
    expect(conversation.messages(undefined, true).map((m) => m.text)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(conversation.messages('C404')).toEqual([]);
    conversation.messages('C1', true).pop();
    expect(conversation.messages('C1', true)).toHaveLength(3);
  });
});

describe('Web API methods', () => {
  it('chat.postMessage stores the message, adds block ids and keeps thread_ts', () => {
    const ws = workspace();
    const parent = call(ws, 'chat.postMessage', { channel: 'C0INCIDENTS', text: 'hi', blocks: '[{"type":"divider"}]' });
    expect(parent).toMatchObject({ ok: true, channel: 'C0INCIDENTS', message: { text: 'hi', bot_id: 'B0BOT', user: 'U0BOT' } });
    const blocks = (parent.message as { blocks: { block_id: string }[] }).blocks;
    expect(typeof blocks[0]?.block_id).toBe('string');
    const reply = call(ws, 'chat.postMessage', { channel: 'C0INCIDENTS', text: 'reply', thread_ts: parent.ts });
    expect(reply).toMatchObject({ ok: true, message: { thread_ts: parent.ts } });
    expect(ws.conversation.messages('C0INCIDENTS').map((m) => m.text)).toEqual(['hi', 'reply']);
  });

  it('chat.getPermalink gives the archive link of a stored message, else Slack\'s errors', () => {
    const ws = workspace();
    const posted = call(ws, 'chat.postMessage', { channel: 'C0INCIDENTS', text: 'incident' });
    const link = call(ws, 'chat.getPermalink', { channel: 'C0INCIDENTS', message_ts: posted.ts });
    expect(link).toMatchObject({ ok: true, channel: 'C0INCIDENTS' });
    expect(link.permalink).toMatch(new RegExp(`^https://[^/]+\\.slack\\.com/archives/C0INCIDENTS/p${String(posted.ts).replace('.', '')}$`));
    expect(call(ws, 'chat.getPermalink', { channel: 'C0INCIDENTS', message_ts: '1.000001' })).toMatchObject({ ok: false, error: 'message_not_found' });
    expect(call(ws, 'chat.getPermalink', { channel: 'CNOPE', message_ts: posted.ts })).toMatchObject({ ok: false, error: 'channel_not_found' });
  });

  it('chat.postMessage rejects bad input and stores nothing', () => {
    const ws = workspace();
    const bad: [Record<string, unknown>, string][] = [
      [{ text: 'x' }, 'channel_not_found'],
      [{ channel: 'C404', text: 'x' }, 'channel_not_found'],
      [{ channel: 'C0INCIDENTS' }, 'no_text'],
      [{ channel: 'C0INCIDENTS', text: 'x', blocks: '[{' }, 'invalid_blocks'],
      [{ channel: 'C0INCIDENTS', text: 'x', blocks: '{"type":"divider"}' }, 'invalid_blocks'],
      [{ channel: 'C0INCIDENTS', text: 'x', blocks: JSON.stringify(Array(51).fill({ type: 'divider' })) }, 'invalid_blocks'],
      [{ channel: 'C0INCIDENTS', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }] }, 'invalid_blocks'],
      [{ channel: 'C0INCIDENTS', blocks: [{ type: 'header', text: { type: 'plain_text', text: '' } }] }, 'invalid_blocks'],
      [{ channel: 'C0INCIDENTS', blocks: [{ type: 'actions', elements: [] }] }, 'invalid_blocks'],
      [{ channel: 'C0INCIDENTS', text: 'x'.repeat(40_001) }, 'msg_too_long'],
      [{ channel: 'C0INCIDENTS', text: 'x', thread_ts: '12.3; drop' }, 'invalid_thread_ts'],
    ];
    for (const [args, error] of bad) expect(call(ws, 'chat.postMessage', args)).toEqual({ ok: false, error });
    expect(ws.conversation.messages()).toEqual([]);
  });

  it('chat.postMessage accepts a channel name and answers with the id', () => {
    const ws = workspace();
    expect(call(ws, 'chat.postMessage', { channel: '#incidents', text: 'x' })).toMatchObject({ ok: true, channel: 'C0INCIDENTS' });
    expect(call(ws, 'chat.postMessage', { channel: 'incidents', text: 'y' })).toMatchObject({ ok: true, channel: 'C0INCIDENTS' });
    expect(call(ws, 'chat.postMessage', { channel: '#', text: 'z' })).toEqual({ ok: false, error: 'channel_not_found' });
  });

  it('chat.postMessage to a user id opens a DM channel', () => {
    const ws = workspace();
    expect(call(ws, 'chat.postMessage', { channel: 'U1', text: 'psst' })).toMatchObject({ ok: true, channel: 'D1' });
    expect(ws.conversation.channel('D1')?.name).toBe('@alice');
  });

  it('chat.update replaces only the bot message named by channel and ts', () => {
    const ws = workspace();
    const posted = call(ws, 'chat.postMessage', { channel: 'C0INCIDENTS', text: 'v1' });
    const ts = posted.ts as string;
    expect(call(ws, 'chat.update', { channel: 'C404', ts, text: 'v2' })).toEqual({ ok: false, error: 'channel_not_found' });
    expect(call(ws, 'chat.update', { channel: 'C0INCIDENTS', ts: '1.000000', text: 'v2' })).toEqual({ ok: false, error: 'message_not_found' });
    expect(call(ws, 'chat.update', { channel: 'C0INCIDENTS', ts })).toEqual({ ok: false, error: 'no_text' });
    expect(ws.conversation.find('C0INCIDENTS', ts)?.text).toBe('v1');
    expect(call(ws, 'chat.update', { channel: 'C0INCIDENTS', ts, text: 'v2' })).toMatchObject({ ok: true, ts, text: 'v2', message: { edited: { user: 'U0BOT' } } });
    const human = ws.conversation.post({ channel: 'C0INCIDENTS', kind: 'message', user: 'U1', text: 'mine' });
    expect(call(ws, 'chat.update', { channel: 'C0INCIDENTS', ts: human.ts, text: 'hijack' })).toEqual({ ok: false, error: 'cant_update_message' });
    expect(human.text).toBe('mine');
  });

  it('chat.postEphemeral is visible to one user only', () => {
    const ws = workspace();
    expect(call(ws, 'chat.postEphemeral', { channel: 'C0INCIDENTS', user: 'U404', text: 'x' })).toEqual({ ok: false, error: 'user_not_in_channel' });
    const res = call(ws, 'chat.postEphemeral', { channel: 'C0INCIDENTS', user: 'U1', text: 'only you' });
    expect(res.ok).toBe(true);
    expect(ws.conversation.find('C0INCIDENTS', res.message_ts as string)?.visibleTo).toBe('U1');
    expect(call(ws, 'chat.update', { channel: 'C0INCIDENTS', ts: res.message_ts, text: 'x' })).toEqual({ ok: false, error: 'message_not_found' });
  });

  it('users.info, usergroups.users.list and auth.test answer from the seeded directory', () => {
    const ws = workspace();
    expect(call(ws, 'users.info', { user: 'U1' })).toMatchObject({ ok: true, user: { id: 'U1', name: 'alice', is_bot: false } });
    expect(call(ws, 'users.info', { user: 'U404' })).toEqual({ ok: false, error: 'user_not_found' });
    expect(call(ws, 'usergroups.users.list', { usergroup: 'S1' })).toEqual({ ok: true, users: ['U1'] });
    expect(call(ws, 'usergroups.users.list', { usergroup: 'S404' })).toEqual({ ok: false, error: 'no_such_subteam' });
    expect(call(ws, 'auth.test', {})).toMatchObject({ ok: true, user_id: 'U0BOT', bot_id: 'B0BOT', team_id: 'T0SIM' });
  });

  it('files.completeUploadExternal refuses files whose bytes never arrived, and bad arguments', () => {
    const ws = workspace();
    expect(call(ws, 'files.getUploadURLExternal', { filename: 'a.md' })).toEqual({ ok: false, error: 'invalid_arguments' });
    expect(call(ws, 'files.getUploadURLExternal', { filename: 'a.md', length: '-1' })).toEqual({ ok: false, error: 'invalid_arguments' });
    const url = call(ws, 'files.getUploadURLExternal', { filename: 'a.md', length: '3' });
    const id = url.file_id as string;
    expect(url.upload_url).toBe(`http://127.0.0.1:1/upload/${id}`);
    expect(call(ws, 'files.completeUploadExternal', { files: JSON.stringify([{ id }]), channel_id: 'C0INCIDENTS' })).toEqual({ ok: false, error: 'file_not_found' });
    expect(call(ws, 'files.completeUploadExternal', { files: 'not json' })).toEqual({ ok: false, error: 'invalid_arguments' });
    expect(call(ws, 'files.completeUploadExternal', { files: '[]' })).toEqual({ ok: false, error: 'invalid_arguments' });
    const file = ws.files.get(id);
    if (file) file.content = Buffer.from('abc');
    expect(call(ws, 'files.completeUploadExternal', { files: JSON.stringify([{ id }]), channel_id: 'C404' })).toEqual({ ok: false, error: 'channel_not_found' });
    expect(ws.conversation.messages()).toEqual([]);
    expect(call(ws, 'files.completeUploadExternal', { files: JSON.stringify([{ id, title: 'Report' }]), channel_id: 'C0INCIDENTS', initial_comment: 'here' })).toEqual({
      ok: true,
      files: [{ id, name: 'a.md', title: 'Report', size: 3 }],
    });
    expect(ws.conversation.messages()[0]).toMatchObject({ text: 'here', files: [{ id }] });
  });

  it('a method named like an Object.prototype member is unknown', () => {
    expect(METHODS.get('toString')).toBeUndefined();
    expect(METHODS.get('__proto__')).toBeUndefined();
  });
});

describe('response_url posts', () => {
  function setup(): { ws: Workspace; now: { ms: number }; state: (messageTs?: string) => ResponseUrlState } {
    const now = { ms: 1_700_000_000_000 };
    const ws = workspace(now);
    return { ws, now, state: (messageTs) => ({ context: { channel: 'C0INCIDENTS', user: 'U1', ...(messageTs ? { messageTs } : {}) }, createdAtMs: now.ms, uses: 0 }) };
  }

  it('posts ephemeral by default and in_channel when asked', () => {
    const { ws, state } = setup();
    const s = state();
    expect(applyResponseUrlPost(ws, s, { text: 'only you' })).toMatchObject({ status: 200, effect: 'ephemeral' });
    expect(applyResponseUrlPost(ws, s, { text: 'everyone', response_type: 'in_channel' })).toMatchObject({ status: 200, effect: 'in_channel' });
    expect(ws.conversation.messages().map((m) => [m.text, m.visibleTo])).toEqual([
      ['only you', 'U1'],
      ['everyone', undefined],
    ]);
  });

  it('replaces and deletes the original message of a button', () => {
    const { ws, state } = setup();
    const original = ws.conversation.post({ channel: 'C0INCIDENTS', kind: 'message', user: 'U0BOT', text: 'approve?', blocks: [{ type: 'divider' }] });
    const s = state(original.ts);
    expect(applyResponseUrlPost(ws, s, { replace_original: true, text: 'approved by alice' })).toMatchObject({ status: 200, effect: 'replace_original' });
    expect(ws.conversation.find('C0INCIDENTS', original.ts)).toMatchObject({ text: 'approved by alice', blocks: undefined });
    expect(applyResponseUrlPost(ws, s, { delete_original: true })).toMatchObject({ status: 200, effect: 'delete_original' });
    expect(ws.conversation.messages()).toEqual([]);
  });

  it('refuses bad posts and changes nothing', () => {
    const { ws, now, state } = setup();
    expect(applyResponseUrlPost(ws, state(), { replace_original: true, text: 'x' }).response).toEqual({ ok: false, error: 'message_not_found' });
    expect(applyResponseUrlPost(ws, state(), { delete_original: true }).response).toEqual({ ok: false, error: 'message_not_found' });
    expect(applyResponseUrlPost(ws, state(), {}).response).toEqual({ ok: false, error: 'no_text' });
    expect(applyResponseUrlPost(ws, state(), { blocks: 'nope' }).response).toEqual({ ok: false, error: 'invalid_blocks' });
    const old = state();
    now.ms += RESPONSE_URL_TTL_MS + 1;
    expect(applyResponseUrlPost(ws, old, { text: 'late' })).toMatchObject({ status: 404, response: { error: 'expired_url' } });
    expect(ws.conversation.messages()).toEqual([]);
  });

  it('allows five uses of one response_url', () => {
    const { ws, state } = setup();
    const s = state();
    for (let i = 0; i < 5; i += 1) expect(applyResponseUrlPost(ws, s, { text: `n${i}` }).status).toBe(200);
    expect(applyResponseUrlPost(ws, s, { text: 'sixth' })).toMatchObject({ status: 404, response: { error: 'used_url' } });
    expect(ws.conversation.messages()).toHaveLength(5);
  });
});
