// The accounting of a chaos scenario: what the bot posted in Slack compared with what a run without
// the fault posted (lost and doubled messages), and polling with a deadline.
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { DEMO_CHANNEL } from './environment.js';

/** The bot's visible messages in the incident channel (no ephemerals, no user actions). */
export function botMessages(env: EmbeddedEnvironment): SimMessage[] {
  return env.slack.messages(DEMO_CHANNEL).filter((m) => m.kind === 'message' && m.botId !== undefined && m.visibleTo === undefined && !m.deleted);
}

/**
 * A message as a comparable key: top-level or in a thread, its text with the run's own values
 * (incident ids, numbers, timestamps) masked, so two runs of one story give the same keys.
 */
export function messageKey(message: SimMessage, masks: string[] = []): string {
  let text = message.text;
  for (const mask of masks) text = text.split(mask).join('<id>');
  text = text
    .replace(/\d+(\.\d+)?/g, '#')
    // Durations differ from run to run in their units too ("# s", "#m #s").
    .replace(/#\s?(h|m|s|ms)\b(\s#\s?(m|s|ms)\b)*/g, '<duration>')
    .replace(/\s+/g, ' ')
    .trim();
  return `${message.threadTs ? 'thread' : 'top'}: ${text}`;
}

export interface MessageDiff {
  /** Keys the baseline run posted that this run did not (counted per copy). */
  lost: string[];
  /** Keys this run posted more often than the baseline did. */
  doubled: string[];
}

export function compareMessages(baseline: string[], actual: string[]): MessageDiff {
  const count = (keys: string[]): Map<string, number> => {
    const map = new Map<string, number>();
    for (const k of keys) map.set(k, (map.get(k) ?? 0) + 1);
    return map;
  };
  const want = count(baseline);
  const got = count(actual);
  const lost: string[] = [];
  const doubled: string[] = [];
  for (const [key, n] of want) for (let i = got.get(key) ?? 0; i < n; i++) lost.push(key);
  for (const [key, n] of got) for (let i = want.get(key) ?? 0; i < n; i++) doubled.push(key);
  return { lost, doubled };
}

/** Polls `probe` until it returns a value other than undefined/false; throws `what` at the deadline. */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Steps (or their writes) done more than once in an incident: a step started or completed twice, a
 * step approved twice, or a policy write recorded twice for the same object.
 */
export async function stepsDoneTwice(env: EmbeddedEnvironment, incidentId: string): Promise<string[]> {
  const timeline = await env.bot!.store.timeline(incidentId);
  const twice: string[] = [];
  const counts = new Map<string, number>();
  for (const e of timeline) {
    const object = e.type === 'policy.applied' ? JSON.stringify((e as { data?: unknown }).data ?? e.summary) : '';
    if (!['step.started', 'step.completed', 'step.approved', 'policy.applied'].includes(e.type)) continue;
    const key = `${e.type} ${e.step ?? ''} ${object}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, n] of counts) if (n > 1) twice.push(`${key} ×${n}`);
  return twice;
}
