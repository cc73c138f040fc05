// The answer to a click no listener handles: a button from an older version of the bot, or from a
// feature not configured on this deployment. It is acknowledged (else Slack shows an error after
// 3 s) and the clicker alone is told that nothing was done; nothing else happens.
import type { BlockAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { IncidentNotFound } from '../incident/store.js';
import type { Logger } from '../log.js';

export type ActionMatcher = string | RegExp;

export function isKnownAction(known: readonly ActionMatcher[], actionId: string): boolean {
  return known.some((matcher) => (typeof matcher === 'string' ? matcher === actionId : matcher.test(actionId)));
}

/** An incident id (YYYYMMDD-xxxxxx) the button's value names, if any, for the hint. */
function incidentIdIn(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 500) return undefined;
  return /\b(\d{8}-[a-z0-9]{6})\b/.exec(value)?.[1];
}

export function unknownActionText(value?: unknown): string {
  const id = incidentIdIn(value);
  const hint = id ? `Use \`/netpol status ${id}\` to see where incident \`${id}\` stands.` : 'Use `/netpol status <id>` to see where an incident stands.';
  return `This button belongs to an older version of the bot or to a message that no longer applies; nothing was done. ${hint}`;
}

export interface UnknownActionArgs {
  body: BlockAction;
  actionId: string;
  respond: RespondFn;
  client: WebClient;
  logger: Logger;
}

/** Tells the clicker, ephemerally: through the response_url, or in the channel when the click came without one. */
export async function answerUnknownAction({ body, actionId, respond, client, logger }: UnknownActionArgs): Promise<void> {
  const action = body.actions.find((a) => a.action_id === actionId);
  const text = unknownActionText(action && 'value' in action ? action.value : undefined);
  logger.info({ user: body.user.id, actionId: actionId.slice(0, 100) }, 'answered a click on a button no listener handles');
  if (body.response_url) {
    await respond({ response_type: 'ephemeral', replace_original: false, text });
    return;
  }
  const channel = body.channel?.id ?? body.container?.channel_id;
  if (typeof channel === 'string') await client.chat.postEphemeral({ channel, user: body.user.id, text });
}

/**
 * The answer when acting on a click threw: an incident that no longer exists is a stale button;
 * anything else is said as it is, so the clicker checks before clicking again.
 */
export function clickFailed(error: unknown, logger: Logger, incidentId?: string): { ok: false; message: string } {
  if (error instanceof IncidentNotFound) return { ok: false, message: unknownActionText(incidentId) };
  logger.error({ err: error, incident: incidentId }, 'acting on a click failed');
  const check = incidentId ? `Check \`/netpol status ${incidentId}\`` : 'Check `/netpol status`';
  return { ok: false, message: `The bot could not act on this click (${error instanceof Error ? error.message : String(error)}). ${check} before trying again.` };
}
