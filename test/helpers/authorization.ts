// Clicks for the authorization tests: a real signed block_actions request from a button on a
// message the Slack stand-in holds, with its action id or value changed the way a tampered
// payload would be, and a snapshot of everything a decision could change (incidents and their
// timelines, the cluster's policies, the Git host's pull requests) to show a refusal changed none.
import { expect } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { formEncode } from '../../src/sim/slack/driver.js';
import type { SimMessage } from '../../src/sim/slack/index.js';
import { DEMO_CHANNEL } from './environment.js';

export interface RawClick {
  userId: string;
  messageTs: string;
  /** A button that is on the message (the payload is built from it). */
  button: string;
  /** The action id sent instead of the button's own. */
  actionId?: string;
  /** The value sent instead of the button's own. */
  value?: string;
  channelId?: string;
  /** The message as it was drawn earlier (a stale copy a client may still show); default: as it is now. */
  message?: SimMessage;
}

/** Sends the click signed with the app's secret; resolves with the ephemeral answer to the clicker. */
export async function clickRaw(env: EmbeddedEnvironment, click: RawClick): Promise<string> {
  const channelId = click.channelId ?? DEMO_CHANNEL;
  const message = click.message ?? env.slack.findMessage(channelId, click.messageTs);
  if (!message) throw new Error(`no message ${click.messageTs}`);
  const responseUrl = env.slack.createResponseUrl({ channel: channelId, user: click.userId, messageTs: click.messageTs });
  const payload = env.driver!.blockActionsPayload(
    { userId: click.userId, channelId, messageTs: click.messageTs, actionId: click.button, ...(click.value !== undefined ? { value: click.value } : {}) },
    message,
    responseUrl,
  );
  if (click.actionId) (payload.actions as Array<Record<string, unknown>>)[0]!.action_id = click.actionId;
  const seen = new Set(env.slack.messages(channelId).filter((m) => m.visibleTo === click.userId).map((m) => m.ts));
  const sent = await env.driver!.send(formEncode({ payload: JSON.stringify(payload) }));
  expect(sent.status).toBe(200);
  const answer = await env.slack.waitForMessage((m) => m.visibleTo === click.userId && !seen.has(m.ts), 15_000);
  return answer.text;
}

/** Everything a decision could change, as comparable data. */
export async function serverState(env: EmbeddedEnvironment, incidentIds: string[]): Promise<unknown> {
  const bot = env.bot!;
  const incidents = [];
  for (const id of incidentIds) incidents.push({ incident: await bot.store.get(id), timeline: await bot.store.timeline(id) });
  const policies = env.kube
    .list('NetworkPolicy')
    .map((o) => {
      const meta = (o as { metadata: { namespace?: string; name: string; resourceVersion?: string } }).metadata;
      return `${meta.namespace ?? ''}/${meta.name}@${meta.resourceVersion ?? ''}`;
    })
    .sort();
  const pulls = env.gitHost ? env.gitHost.pulls.map((p) => JSON.stringify(p)) : [];
  return { incidents, policies, pulls };
}

/** Waits a moment for anything a refused click might have queued, then compares. */
export async function expectUnchanged(env: EmbeddedEnvironment, incidentIds: string[], before: unknown): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  expect(await serverState(env, incidentIds)).toEqual(before);
}
