// Renders the stand-in's conversation as plain text a person can follow in a terminal.
// Pure: input is the conversation model (and whatever hostile blocks a client sent), output is strings.
import { compareTs } from './conversation.js';
import type { SimChannel, SimFile, SimMessage } from './types.js';

export interface RenderDirectory {
  userName(id: string): string | undefined;
  isBot?(id: string): boolean;
  channelName(id: string): string | undefined;
  usergroupHandle?(id: string): string | undefined;
}

export interface RenderOptions {
  /** Show only what this user sees: other users' ephemeral messages are left out. */
  viewer?: string;
  /** Print uploaded files' text under the 📎 line. */
  showFileContent?: boolean;
  /** Lines of file content shown before "… (N more lines)". */
  maxFileLines?: number;
}

const INDENT = '    ';
const DIVIDER = '─'.repeat(24);

/** Strips terminal control sequences and bidi overrides so hostile text cannot repaint the reader's terminal. */
export function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '');
}

export function formatClock(ts: string): string {
  const seconds = Number(ts.split('.')[0]);
  if (!Number.isFinite(seconds)) return '--:--:--';
  return new Date(seconds * 1000).toISOString().slice(11, 19);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function userLabel(id: string, dir: RenderDirectory): string {
  return `@${dir.userName(id) ?? id}`;
}

/** Slack's mrkdwn escapes (<@U1>, <#C1|name>, <url|label>, &amp;) turned into what the Slack client displays. */
export function renderMrkdwnInline(text: string, dir: RenderDirectory): string {
  const replaced = text.replace(/<([^<>]*)>/g, (_whole, inner: string) => {
    const bar = inner.indexOf('|');
    const target = bar === -1 ? inner : inner.slice(0, bar);
    const label = bar === -1 ? undefined : inner.slice(bar + 1);
    if (target.startsWith('@')) return label ? `@${label.replace(/^@/, '')}` : userLabel(target.slice(1), dir);
    if (target.startsWith('#')) return `#${label ?? dir.channelName(target.slice(1)) ?? target.slice(1)}`;
    if (target.startsWith('!subteam^')) {
      const id = target.slice('!subteam^'.length);
      return label ?? `@${dir.usergroupHandle?.(id) ?? id}`;
    }
    if (target.startsWith('!date^')) return label ?? target;
    if (target.startsWith('!')) return `@${target.slice(1)}`;
    return label ? `${label} (${target})` : target;
  });
  return replaced.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** mrkdwn text to lines; ``` code fences become indented lines without the fences. */
export function renderMrkdwn(text: string, dir: RenderDirectory): string[] {
  const lines: string[] = [];
  text.split('```').forEach((segment, index) => {
    const isCode = index % 2 === 1;
    if (isCode) {
      const code = segment.replace(/^\n/, '').replace(/\n$/, '');
      for (const line of code.split('\n')) lines.push(INDENT + renderMrkdwnInline(line, dir));
    } else {
      const trimmed = segment.replace(/^\n/, '').replace(/\n$/, '');
      if (trimmed === '' && index > 0) return;
      for (const line of trimmed.split('\n')) lines.push(renderMrkdwnInline(line, dir));
    }
  });
  return lines;
}

function textObject(value: unknown, dir: RenderDirectory): string[] {
  if (!isRecord(value)) return [];
  const text = str(value.text) ?? '';
  return value.type === 'mrkdwn' ? renderMrkdwn(text, dir) : text.split('\n');
}

function plainText(value: unknown): string {
  return isRecord(value) ? (str(value.text) ?? '') : '';
}

function elementLabel(element: unknown): string {
  if (!isRecord(element)) return '[ ? ]';
  const type = str(element.type) ?? '?';
  switch (type) {
    case 'button':
      return `[ ${plainText(element.text)} ]`;
    case 'overflow':
      return '[ ⋯ ]';
    case 'image':
      return `[image: ${str(element.alt_text) ?? ''}]`;
    case 'datepicker':
      return `[ 📅 ${str(element.initial_date) ?? plainText(element.placeholder)} ]`;
    default:
      if (type.endsWith('select')) {
        const chosen = isRecord(element.initial_option) ? plainText(element.initial_option.text) : '';
        return `[ ${chosen || plainText(element.placeholder) || type} ▾ ]`;
      }
      return `[ ${type} ]`;
  }
}

function richInline(element: unknown, dir: RenderDirectory): string {
  if (!isRecord(element)) return '';
  switch (element.type) {
    case 'text': {
      const text = str(element.text) ?? '';
      return isRecord(element.style) && element.style.code === true ? `\`${text}\`` : text;
    }
    case 'link': {
      const url = str(element.url) ?? '';
      const text = str(element.text);
      return text ? `${text} (${url})` : url;
    }
    case 'user':
      return userLabel(str(element.user_id) ?? '?', dir);
    case 'channel':
      return `#${dir.channelName(str(element.channel_id) ?? '') ?? str(element.channel_id) ?? '?'}`;
    case 'usergroup': {
      const id = str(element.usergroup_id) ?? '?';
      return `@${dir.usergroupHandle?.(id) ?? id}`;
    }
    case 'emoji':
      return `:${str(element.name) ?? ''}:`;
    case 'broadcast':
      return `@${str(element.range) ?? 'here'}`;
    case 'date':
      return str(element.fallback) ?? String(element.timestamp ?? '');
    case 'color':
      return str(element.value) ?? '';
    default:
      return '';
  }
}

function richSectionLines(section: unknown, dir: RenderDirectory): string[] {
  if (!isRecord(section) || !Array.isArray(section.elements)) return [];
  return section.elements
    .map((e) => richInline(e, dir))
    .join('')
    .replace(/\n$/, '')
    .split('\n');
}

function richTextLines(block: Record<string, unknown>, dir: RenderDirectory): string[] {
  if (!Array.isArray(block.elements)) return [];
  const lines: string[] = [];
  for (const element of block.elements) {
    if (!isRecord(element)) continue;
    switch (element.type) {
      case 'rich_text_section':
        lines.push(...richSectionLines(element, dir));
        break;
      case 'rich_text_preformatted':
        lines.push(...richSectionLines(element, dir).map((l) => INDENT + l));
        break;
      case 'rich_text_quote':
        lines.push(...richSectionLines(element, dir).map((l) => `> ${l}`));
        break;
      case 'rich_text_list': {
        const ordered = element.style === 'ordered';
        const depth = typeof element.indent === 'number' ? Math.min(Math.max(element.indent, 0), 8) : 0;
        const offset = typeof element.offset === 'number' ? element.offset : 0;
        const items = Array.isArray(element.elements) ? element.elements : [];
        items.forEach((item, i) => {
          const marker = ordered ? `${offset + i + 1}. ` : '• ';
          const [first = '', ...rest] = richSectionLines(item, dir);
          lines.push('  '.repeat(depth) + marker + first, ...rest.map((l) => '  '.repeat(depth) + '  ' + l));
        });
        break;
      }
    }
  }
  return lines;
}

export function renderBlock(block: unknown, dir: RenderDirectory): string[] {
  if (!isRecord(block)) return ['[malformed block]'];
  switch (block.type) {
    case 'section': {
      const lines = textObject(block.text, dir);
      if (Array.isArray(block.fields)) for (const field of block.fields) lines.push(...textObject(field, dir));
      if (block.accessory !== undefined) lines.push(elementLabel(block.accessory));
      return lines;
    }
    case 'header':
      return [`# ${plainText(block.text)}`];
    case 'context': {
      const parts = Array.isArray(block.elements)
        ? block.elements.map((e) => (isRecord(e) && e.type === 'image' ? `[${str(e.alt_text) ?? 'image'}]` : textObject(e, dir).join(' ')))
        : [];
      return [`› ${parts.join(' · ')}`];
    }
    case 'divider':
      return [DIVIDER];
    case 'actions':
      return [Array.isArray(block.elements) ? block.elements.map(elementLabel).join(' ') : ''];
    case 'rich_text':
      return richTextLines(block, dir);
    case 'markdown':
      return (str(block.text) ?? '').split('\n');
    case 'image':
      return [`[image: ${str(block.alt_text) ?? plainText(block.title)}]`];
    case 'input':
      return [`[input: ${plainText(block.label)}]`];
    case 'file':
      return [`📎 ${str(block.external_id) ?? 'file'}`];
    default:
      return [`[unsupported block: ${str(block.type) ?? '?'}]`];
  }
}

export function renderBlocks(blocks: unknown, dir: RenderDirectory): string[] {
  if (!Array.isArray(blocks)) return ['[malformed blocks]'];
  return blocks.flatMap((b) => renderBlock(b, dir));
}

function fileLines(file: SimFile, opts: RenderOptions): string[] {
  const size = file.content?.length ?? file.declaredLength;
  const lines = [`📎 ${file.name} (${size} bytes)`];
  if (!opts.showFileContent || !file.content) return lines;
  const text = file.content.toString('utf8');
  if (text.includes('\uFFFD') || text.includes('\u0000')) return [...lines, `${INDENT}(binary content)`];
  const contentLines = text.replace(/\n$/, '').split('\n');
  const max = opts.maxFileLines ?? 20;
  lines.push(...contentLines.slice(0, max).map((l) => `${INDENT}│ ${l}`));
  if (contentLines.length > max) lines.push(`${INDENT}… (${contentLines.length - max} more lines)`);
  return lines;
}

/** The body of one message: blocks when present (Slack shows them instead of text), then files. */
export function renderMessageBody(message: SimMessage, dir: RenderDirectory, opts: RenderOptions = {}): string[] {
  const lines = message.blocks && message.blocks.length > 0 ? renderBlocks(message.blocks, dir) : message.text ? renderMrkdwn(message.text, dir) : [];
  for (const file of message.files ?? []) lines.push(...fileLines(file, opts));
  return lines;
}

function authorLabel(message: SimMessage, dir: RenderDirectory): string {
  const bot = message.botId !== undefined || dir.isBot?.(message.user) === true;
  return `${userLabel(message.user, dir)}${bot ? ' (bot)' : ''}`;
}

/** One message as lines, indented for its thread depth (0 = channel, 1 = reply). */
export function renderMessage(message: SimMessage, dir: RenderDirectory, opts: RenderOptions = {}, depth = 0): string[] {
  const lead = depth > 0 ? `${INDENT.repeat(depth)}↳ ` : '';
  const bodyIndent = INDENT.repeat(depth + 1) + (depth > 0 ? '  ' : '');
  const time = `[${formatClock(message.ts)}]`;
  if (message.deleted) return [sanitize(`${lead}${time} (message deleted)`)];
  if (message.kind === 'user-action') {
    return [sanitize(`${lead}${time} » ${userLabel(message.user, dir)} ${message.text}`)];
  }
  const notes = [message.edited ? '(edited)' : '', message.visibleTo ? `(only visible to ${userLabel(message.visibleTo, dir)})` : '']
    .filter(Boolean)
    .join(' ');
  const header = `${lead}${time} ${authorLabel(message, dir)}${notes ? ` ${notes}` : ''}:`;
  const body = renderMessageBody(message, dir, opts);
  if (body.length === 1) return [sanitize(`${header} ${body[0]}`)];
  return [header, ...body.map((line) => bodyIndent + line)].map(sanitize);
}

function visible(message: SimMessage, opts: RenderOptions): boolean {
  return opts.viewer === undefined || message.visibleTo === undefined || message.visibleTo === opts.viewer;
}

/** A channel with thread replies under their parents; replies to a ts that never existed are listed apart. */
export function renderChannel(channel: SimChannel, entries: SimMessage[], dir: RenderDirectory, opts: RenderOptions = {}): string {
  const shown = entries.filter((m) => visible(m, opts)).sort((a, b) => compareTs(a.ts, b.ts));
  const isReply = (m: SimMessage): boolean => m.threadTs !== undefined && m.threadTs !== m.ts;
  const topLevel = shown.filter((m) => !isReply(m));
  const topTs = new Set(topLevel.map((m) => m.ts));
  const replies = new Map<string, SimMessage[]>();
  for (const reply of shown.filter(isReply)) {
    const key = reply.threadTs as string;
    replies.set(key, [...(replies.get(key) ?? []), reply]);
  }
  const lines = [sanitize(`── #${channel.name} (${channel.id}) ──`)];
  for (const message of topLevel) {
    const thread = replies.get(message.ts) ?? [];
    if (message.deleted && thread.length === 0) continue;
    lines.push(...renderMessage(message, dir, opts, 0));
    for (const reply of thread) if (!reply.deleted) lines.push(...renderMessage(reply, dir, opts, 1));
  }
  for (const [threadTs, orphans] of replies) {
    if (topTs.has(threadTs)) continue;
    lines.push(sanitize(`(replies to ts ${threadTs}, a message that is not in this channel)`));
    for (const reply of orphans) if (!reply.deleted) lines.push(...renderMessage(reply, dir, opts, 1));
  }
  return lines.join('\n');
}

export function renderTranscript(
  channels: { channel: SimChannel; entries: SimMessage[] }[],
  dir: RenderDirectory,
  opts: RenderOptions = {},
): string {
  return channels.map(({ channel, entries }) => renderChannel(channel, entries, dir, opts)).join('\n\n') + '\n';
}
