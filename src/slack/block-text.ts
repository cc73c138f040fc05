// Text helpers shared by the Block Kit builders (pure): Slack's limits and mrkdwn escaping.
import type { Block } from './blocks.js';

/** Slack limits: 3000 characters per section text. */
export const SECTION_LIMIT = 3000;
const LIST_LIMIT = 10;

export function truncate(text: string, limit = SECTION_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 20)}\n… (truncated)`;
}

/** Slack mrkdwn treats &, < and > specially; user-supplied text must not inject mentions or links. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text) } };
}

export function listOf(items: string[], total = items.length): string {
  if (items.length === 0) return '_none_';
  const shown = items.slice(0, LIST_LIMIT).map((i) => `\`${escapeMrkdwn(i)}\``).join(', ');
  return total > LIST_LIMIT ? `${shown} and ${total - LIST_LIMIT} more` : shown;
}
