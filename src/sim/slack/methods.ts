// The Web API methods the bot uses, answered as Slack answers them ({ok:true,...} / {ok:false,error}).
// Pure over the Workspace: arguments in, response out; the HTTP layer does auth, rate limits and recording.
import { randomBytes } from 'node:crypto';
import { isWellFormedTs } from './conversation.js';
import type { SimFile } from './types.js';
import { toSlackFile, toSlackMessage, type Workspace } from './workspace.js';

export type SlackResponse = Record<string, unknown> & { ok: boolean };
export type MethodHandler = (args: Record<string, unknown>, ws: Workspace, ctx: MethodContext) => SlackResponse;

export interface MethodContext {
  /** Absolute URL the client must POST a file's bytes to. */
  uploadUrl(fileId: string): string;
}

const MAX_TEXT_CHARS = 40_000;
const MAX_BLOCKS = 50;
const MAX_SECTION_TEXT = 3000;
const MAX_HEADER_TEXT = 150;

const fail = (error: string): SlackResponse => ({ ok: false, error });

function stringArg(args: Record<string, unknown>, name: string): string | undefined {
  const value = args[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** Form bodies carry arrays as JSON strings; JSON bodies carry them as arrays. */
function jsonArg(args: Record<string, unknown>, name: string): { present: boolean; value: unknown; valid: boolean } {
  const raw = args[name];
  if (raw === undefined || raw === '') return { present: false, value: undefined, valid: true };
  if (typeof raw !== 'string') return { present: true, value: raw, valid: true };
  try {
    return { present: true, value: JSON.parse(raw), valid: true };
  } catch {
    return { present: true, value: undefined, valid: false };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textLength(value: unknown): number {
  return isRecord(value) && typeof value.text === 'string' ? value.text.length : 0;
}

/** The subset of Slack's block validation that catches the mistakes a bot makes (limits, shape). */
export function validateBlocks(blocks: unknown): blocks is unknown[] {
  if (!Array.isArray(blocks) || blocks.length > MAX_BLOCKS) return false;
  return blocks.every((block) => {
    if (!isRecord(block) || typeof block.type !== 'string') return false;
    if (block.type === 'section') return textLength(block.text) <= MAX_SECTION_TEXT && (block.text !== undefined || block.fields !== undefined);
    if (block.type === 'header') return textLength(block.text) > 0 && textLength(block.text) <= MAX_HEADER_TEXT;
    if (block.type === 'actions') return Array.isArray(block.elements) && block.elements.length > 0 && block.elements.length <= 25;
    return true;
  });
}

/** Slack gives every stored block a block_id; interaction payloads carry it back. */
function withBlockIds(blocks: unknown[]): unknown[] {
  return blocks.map((block) =>
    isRecord(block) && typeof block.block_id !== 'string' ? { ...block, block_id: randomBytes(3).toString('base64url') } : block,
  );
}

export type MessageContent = { text: string; blocks?: unknown[] };

/** text/blocks of chat.postMessage and friends, or the error Slack gives for them. */
export function messageContent(args: Record<string, unknown>, requireContent = true): MessageContent | { error: string } {
  const text = stringArg(args, 'text');
  const blocks = jsonArg(args, 'blocks');
  if (!blocks.valid || (blocks.present && !validateBlocks(blocks.value))) return { error: 'invalid_blocks' };
  const blockList = blocks.present ? withBlockIds(blocks.value as unknown[]) : undefined;
  if (requireContent && !text && (!blockList || blockList.length === 0) && args.attachments === undefined) return { error: 'no_text' };
  if (text !== undefined && text.length > MAX_TEXT_CHARS) return { error: 'msg_too_long' };
  return { text: text ?? '', ...(blockList ? { blocks: blockList } : {}) };
}

function threadArg(args: Record<string, unknown>): { threadTs?: string } | { error: string } {
  const threadTs = stringArg(args, 'thread_ts');
  if (threadTs === undefined || threadTs === '') return {};
  return isWellFormedTs(threadTs) ? { threadTs } : { error: 'invalid_thread_ts' };
}

const authTest: MethodHandler = (_args, ws) => ({
  ok: true,
  url: `https://${ws.bot.teamDomain}.slack.com/`,
  team: ws.bot.teamDomain,
  user: ws.bot.name,
  team_id: ws.bot.teamId,
  user_id: ws.bot.userId,
  bot_id: ws.bot.botId,
  is_enterprise_install: false,
});

const postMessage: MethodHandler = (args, ws) => {
  const channel = ws.resolveChannel(stringArg(args, 'channel') ?? '');
  if (!channel) return fail('channel_not_found');
  const content = messageContent(args);
  if ('error' in content) return fail(content.error);
  const thread = threadArg(args);
  if ('error' in thread) return fail(thread.error);
  const message = ws.conversation.post({
    channel: channel.id,
    kind: 'message',
    user: ws.bot.userId,
    botId: ws.bot.botId,
    ...content,
    ...thread,
  });
  return { ok: true, channel: channel.id, ts: message.ts, message: toSlackMessage(message, ws) };
};

const postEphemeral: MethodHandler = (args, ws) => {
  const channel = ws.resolveChannel(stringArg(args, 'channel') ?? '');
  if (!channel) return fail('channel_not_found');
  const user = stringArg(args, 'user') ?? '';
  if (!ws.users.has(user)) return fail('user_not_in_channel');
  const content = messageContent(args);
  if ('error' in content) return fail(content.error);
  const thread = threadArg(args);
  if ('error' in thread) return fail(thread.error);
  const message = ws.conversation.post({
    channel: channel.id,
    kind: 'message',
    user: ws.bot.userId,
    botId: ws.bot.botId,
    visibleTo: user,
    ...content,
    ...thread,
  });
  return { ok: true, message_ts: message.ts };
};

const update: MethodHandler = (args, ws) => {
  const channelId = stringArg(args, 'channel') ?? '';
  if (!ws.conversation.channel(channelId)) return fail('channel_not_found');
  const ts = stringArg(args, 'ts') ?? '';
  const existing = ws.conversation.find(channelId, ts);
  if (!existing || existing.kind !== 'message' || existing.visibleTo !== undefined) return fail('message_not_found');
  if (existing.user !== ws.bot.userId) return fail('cant_update_message');
  const content = messageContent(args, false);
  if ('error' in content) return fail(content.error);
  if (args.text === undefined && content.blocks === undefined) return fail('no_text');
  const message = ws.conversation.update(channelId, ts, {
    ...(args.text !== undefined ? { text: content.text } : {}),
    ...(content.blocks !== undefined ? { blocks: content.blocks } : {}),
    editor: ws.bot.userId,
  });
  if (!message) return fail('message_not_found');
  return { ok: true, channel: channelId, ts, text: message.text, message: toSlackMessage(message, ws) };
};

const remove: MethodHandler = (args, ws) => {
  const channelId = stringArg(args, 'channel') ?? '';
  if (!ws.conversation.channel(channelId)) return fail('channel_not_found');
  const ts = stringArg(args, 'ts') ?? '';
  const existing = ws.conversation.find(channelId, ts);
  if (!existing || existing.kind !== 'message' || existing.visibleTo !== undefined) return fail('message_not_found');
  if (existing.user !== ws.bot.userId) return fail('cant_delete_message');
  ws.conversation.delete(channelId, ts);
  return { ok: true, channel: channelId, ts };
};

const usersInfo: MethodHandler = (args, ws) => {
  const user = ws.users.get(stringArg(args, 'user') ?? '');
  if (!user) return fail('user_not_found');
  const realName = user.real_name ?? user.name;
  return {
    ok: true,
    user: {
      id: user.id,
      team_id: ws.bot.teamId,
      name: user.name,
      real_name: realName,
      deleted: false,
      is_bot: user.is_bot === true,
      is_admin: false,
      tz: 'UTC',
      profile: { real_name: realName, real_name_normalized: realName, display_name: user.name },
    },
  };
};

const usergroupUsers: MethodHandler = (args, ws) => {
  const members = ws.usergroups.get(stringArg(args, 'usergroup') ?? '');
  if (!members) return fail('no_such_subteam');
  return { ok: true, users: [...members] };
};

const getUploadUrl: MethodHandler = (args, ws, ctx) => {
  const filename = stringArg(args, 'filename');
  const length = Number(stringArg(args, 'length'));
  if (!filename || !Number.isInteger(length) || length < 0) return fail('invalid_arguments');
  const file: SimFile = { id: ws.nextId('F'), name: filename, title: filename, declaredLength: length };
  ws.files.set(file.id, file);
  return { ok: true, upload_url: ctx.uploadUrl(file.id), file_id: file.id };
};

const completeUpload: MethodHandler = (args, ws) => {
  const filesArg = jsonArg(args, 'files');
  if (!filesArg.valid || !Array.isArray(filesArg.value) || filesArg.value.length === 0) return fail('invalid_arguments');
  const files: SimFile[] = [];
  for (const entry of filesArg.value) {
    const file = isRecord(entry) && typeof entry.id === 'string' ? ws.files.get(entry.id) : undefined;
    // A file whose bytes never reached the upload URL cannot be completed.
    if (!file || !file.content) return fail('file_not_found');
    if (isRecord(entry) && typeof entry.title === 'string' && entry.title) file.title = entry.title;
    files.push(file);
  }
  const channelId = stringArg(args, 'channel_id') ?? stringArg(args, 'channels')?.split(',')[0];
  if (channelId) {
    const channel = ws.resolveChannel(channelId);
    if (!channel) return fail('channel_not_found');
    const thread = threadArg(args);
    if ('error' in thread) return fail(thread.error);
    const content = messageContent(args, false);
    if ('error' in content) return fail(content.error);
    ws.conversation.post({
      channel: channel.id,
      kind: 'message',
      user: ws.bot.userId,
      botId: ws.bot.botId,
      text: stringArg(args, 'initial_comment') ?? '',
      ...(content.blocks ? { blocks: content.blocks } : {}),
      files,
      ...thread,
    });
  }
  return { ok: true, files: files.map(toSlackFile) };
};

/** chat.getPermalink: Slack's archive link, https://<team>.slack.com/archives/<channel>/p<ts without the dot>. */
const getPermalink: MethodHandler = (args, ws) => {
  const channel = stringArg(args, 'channel') ?? '';
  if (!ws.conversation.channel(channel)) return fail('channel_not_found');
  const ts = stringArg(args, 'message_ts') ?? '';
  if (!ws.conversation.find(channel, ts)) return fail('message_not_found');
  return { ok: true, channel, permalink: `https://${ws.bot.teamDomain}.slack.com/archives/${channel}/p${ts.replace('.', '')}` };
};

// A Map, not an object literal, so a method named "toString" or "__proto__" is simply unknown.
export const METHODS: ReadonlyMap<string, MethodHandler> = new Map<string, MethodHandler>([
  ['auth.test', authTest],
  ['chat.postMessage', postMessage],
  ['chat.postEphemeral', postEphemeral],
  ['chat.update', update],
  ['chat.delete', remove],
  ['chat.getPermalink', getPermalink],
  ['users.info', usersInfo],
  ['usergroups.users.list', usergroupUsers],
  ['files.getUploadURLExternal', getUploadUrl],
  ['files.completeUploadExternal', completeUpload],
]);
