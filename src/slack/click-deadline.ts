// Every click is answered within Slack's 3 s, Redis or not. The work of a click runs under a write
// deadline (src/redis/write-deadline.ts): when Redis does not answer in time the clicker is told so
// and that nothing changed, and Redis refuses the click's writes that reach it late, so the words
// stay true after a network partition heals. Clicking again once Redis is back works as usual.
import type { Logger } from '../log.js';
import { withDeadline, DeadlinePassed } from '../redis/deadline.js';
import { withWriteDeadline } from '../redis/write-deadline.js';

/** How long a click's work may take before it is answered (Slack shows an error after 3 s). */
export const CLICK_BUDGET_MS = 2500;

export interface ClickAnswer {
  ok: boolean;
  message: string;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The answer when Redis did not answer in time; `what` names the click ("approval", "rejection", "choice"). */
export function redisLateText(what: string, wrote: boolean, budgetMs = CLICK_BUDGET_MS, incidentId?: string, writesGuarded = true): string {
  // Anomaly and drift decisions are kept outside the incident store: a late write of theirs may still land.
  if (!writesGuarded) return `Could not act on your ${what} in time: the bot cannot reach Redis (no answer within ${seconds(budgetMs)}). It may still take effect when Redis is back: check the alert before clicking again.`;
  const status = incidentId ? `\`/netpol status ${incidentId}\`` : '`/netpol status`';
  if (wrote) return `Your ${what} was recorded, but the bot cannot reach Redis (no answer within ${seconds(budgetMs)}) to go on from it. Check ${status} before clicking again.`;
  return `Could not record your ${what}: the bot cannot reach Redis (no answer within ${seconds(budgetMs)}). Nothing was changed; try again in a moment.`;
}

/** The answer to a slash command Redis did not answer in time; `nothing` says what did not happen. */
export function redisDownText(nothing: string, budgetMs = CLICK_BUDGET_MS): string {
  return `The bot cannot reach Redis, where it keeps incidents (no answer within ${seconds(budgetMs)}). ${nothing}; try again in a moment.`;
}

/** Runs a click's work; answers with its result, or with redisLateText when it takes longer than the budget. */
export async function answerInTime(
  what: string,
  work: () => Promise<ClickAnswer>,
  options: { logger: Logger; incidentId?: string; budgetMs?: number; writesGuarded?: boolean; before?: () => Promise<void> },
): Promise<ClickAnswer> {
  const budgetMs = options.budgetMs ?? CLICK_BUDGET_MS;
  // What `before` does (asking Slack who approves) takes no Redis time: the budget starts after it.
  // Its failure is the work's to report (the same lookup runs again inside it).
  await options.before?.().catch(() => undefined);
  const outcome = await withWriteDeadline(budgetMs, work);
  if (outcome.settled) return outcome.value;
  options.logger.warn({ incident: options.incidentId, what, wrote: outcome.wrote, budgetMs }, 'a click was answered before Redis answered (Redis unreachable?)');
  return { ok: false, message: redisLateText(what, outcome.wrote, budgetMs, options.incidentId, options.writesGuarded ?? true) };
}

/** A read for a slash command's answer, bounded like a click: undefined when Redis did not answer in time. */
export async function readInTime<T>(read: Promise<T>, budgetMs = CLICK_BUDGET_MS): Promise<{ value: T } | undefined> {
  try {
    return { value: await withDeadline(read, budgetMs) };
  } catch (error) {
    if (error instanceof DeadlinePassed) return undefined;
    throw error;
  }
}
