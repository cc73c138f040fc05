// response_url semantics: what a post to a slash command's or a button's response_url does to the conversation.
// Pure over the Workspace; the HTTP layer hosts the URLs and records the posts.
import { messageContent } from './methods.js';
import type { ResponseUrlContext } from './types.js';
import type { Workspace } from './workspace.js';

/** Slack lets a response_url be used 5 times within 30 minutes. */
export const RESPONSE_URL_MAX_USES = 5;
export const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;

export interface ResponseUrlState {
  context: ResponseUrlContext;
  createdAtMs: number;
  uses: number;
}

export interface ResponseUrlOutcome {
  status: number;
  response: Record<string, unknown> & { ok: boolean };
  /** What the post did, for the call log: posted / replaced / deleted. */
  effect?: 'ephemeral' | 'in_channel' | 'replace_original' | 'delete_original';
}

const failure = (status: number, error: string): ResponseUrlOutcome => ({ status, response: { ok: false, error } });

export function applyResponseUrlPost(ws: Workspace, state: ResponseUrlState, body: Record<string, unknown>): ResponseUrlOutcome {
  if (ws.nowMs() - state.createdAtMs > RESPONSE_URL_TTL_MS) return failure(404, 'expired_url');
  if (state.uses >= RESPONSE_URL_MAX_USES) return failure(404, 'used_url');
  const { channel, user, messageTs } = state.context;

  if (body.delete_original === true || body.delete_original === 'true') {
    if (!messageTs || !ws.conversation.find(channel, messageTs)) return failure(404, 'message_not_found');
    ws.conversation.delete(channel, messageTs);
    state.uses += 1;
    return { status: 200, response: { ok: true }, effect: 'delete_original' };
  }

  const content = messageContent(body);
  if ('error' in content) return failure(400, content.error);

  if (body.replace_original === true || body.replace_original === 'true') {
    if (!messageTs || !ws.conversation.find(channel, messageTs)) return failure(404, 'message_not_found');
    ws.conversation.update(channel, messageTs, { text: content.text, blocks: content.blocks ?? [], editor: ws.bot.userId });
    state.uses += 1;
    return { status: 200, response: { ok: true }, effect: 'replace_original' };
  }

  const inChannel = body.response_type === 'in_channel';
  const threadTs = typeof body.thread_ts === 'string' && body.thread_ts ? { threadTs: body.thread_ts } : {};
  ws.conversation.post({
    channel,
    kind: 'message',
    user: ws.bot.userId,
    botId: ws.bot.botId,
    ...(inChannel ? {} : { visibleTo: user }),
    ...content,
    ...threadTs,
  });
  state.uses += 1;
  return { status: 200, response: { ok: true }, effect: inChannel ? 'in_channel' : 'ephemeral' };
}
