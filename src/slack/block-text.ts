// Text helpers shared by the Block Kit builders (pure): Slack's limits and mrkdwn escaping.
import type { Block } from './blocks.js';

/** Slack limits: 3000 characters per section text. */
export const SECTION_LIMIT = 3000;
const LIST_LIMIT = 10;

export function truncate(text: string, limit = SECTION_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 20)}\n… (truncated)`;
}

/**
 * Slack has no backslash escape for its formatting characters: outside the bot's own code spans
 * they are shown as look-alikes, so text from the cluster or another detector cannot make bold,
 * italic, strike or code of the bot's message, nor end a code span the bot opened.
 */
const LOOKALIKE: Record<string, string> = { '*': '\u2217', _: '\u02CD', '~': '\u223C', '`': '\u02CB' };

/** &, < and > as entities: text cannot make a mention (<!channel>, <@U…>, <!subteam^…>) or a link (<url|label>). */
export function escapeControl(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Untrusted text for mrkdwn: no mentions, links or formatting. */
export function escapeMrkdwn(text: string): string {
  return escapeControl(text).replace(/[*_~`]/g, (c) => LOOKALIKE[c] ?? c);
}

/** Untrusted text as an inline code span: inside it formatting is shown as typed; a backtick or a line break would end it. */
export function codeSpan(text: string): string {
  return `\`${escapeControl(text).replace(/`/g, LOOKALIKE['`'] as string).replace(/[\r\n]+/g, ' ')}\``;
}

/** Untrusted text as a code block (```…```): a backtick cannot close the fence. */
export function codeBlock(text: string): string {
  return `\`\`\`${escapeControl(text).replace(/`/g, LOOKALIKE['`'] as string)}\`\`\``;
}

export function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text) } };
}

export function listOf(items: string[], total = items.length): string {
  if (items.length === 0) return '_none_';
  const shown = items.slice(0, LIST_LIMIT).map(codeSpan).join(', ');
  return total > LIST_LIMIT ? `${shown} and ${total - LIST_LIMIT} more` : shown;
}
