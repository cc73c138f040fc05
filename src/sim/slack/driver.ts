// Sends requests to a Bolt app exactly as Slack does: signed, form-encoded slash commands and block_actions,
// with response_urls hosted by the stand-in. Can also forge requests (wrong secret, stale time, tampered body).
import { createHmac, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SlackApiSim } from './server.js';
import type { SimMessage } from './types.js';
import { toSlackMessage } from './workspace.js';

/** "v0=" + hex HMAC-SHA256 of "v0:<timestamp>:<raw body>", keyed with the app's signing secret. */
export function signSlackRequest(signingSecret: string, timestampSeconds: number | string, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestampSeconds}:${rawBody}`).digest('hex')}`;
}

export function slackRequestHeaders(signingSecret: string, timestampSeconds: number, rawBody: string): Record<string, string> {
  return {
    'Content-Type': 'application/x-www-form-urlencoded',
    'X-Slack-Request-Timestamp': String(timestampSeconds),
    'X-Slack-Signature': signSlackRequest(signingSecret, timestampSeconds, rawBody),
  };
}

/** Ways to make a request that Slack would never send. */
export interface ForgeOptions {
  /** Sign with this secret instead of the app's. */
  signingSecret?: string;
  /** Put this timestamp in the header (and the signature), e.g. 6 minutes ago. */
  timestampSeconds?: number;
  /** Sign the real body, then send this one instead. */
  tamperBody?: (body: string) => string;
  /** Send no X-Slack-Signature header at all. */
  omitSignature?: boolean;
}

export interface DriverResult {
  status: number;
  body: string;
  /** Time from sending the request to the app's complete answer (Slack gives up after 3 s). */
  ackMs: number;
  /** The response_url the request carried (hosted by the stand-in). */
  responseUrl?: string;
  /** Exactly the bytes that were sent. */
  rawBody: string;
}

export interface SlashCommandOptions {
  userId: string;
  channelId: string;
  text: string;
  command?: string;
  forge?: ForgeOptions;
}

export interface ClickButtonOptions {
  userId: string;
  channelId: string;
  messageTs: string;
  actionId: string;
  /** Defaults to the button's own value. */
  value?: string;
  /** Needed only when several blocks hold a button with the same action_id. */
  blockId?: string;
  forge?: ForgeOptions;
}

export interface SlackDriverOptions {
  /** The Bolt app's endpoint, e.g. http://127.0.0.1:PORT/slack/events */
  appUrl: string;
  signingSecret: string;
  sim: SlackApiSim;
  /** The deprecated verification token Slack still puts in payloads. */
  verificationToken?: string;
  nowMs?: () => number;
}

interface FoundButton {
  blockId: string;
  element: Record<string, unknown>;
}

/** Form encoding as Slack writes it: percent-encoding with %20 for spaces (URLSearchParams would write '+'). */
export function formEncode(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The interactive element a user can click in a message: in an actions block or as a section accessory. */
export function findButton(message: SimMessage, actionId: string, blockId?: string): FoundButton | undefined {
  for (const block of message.blocks ?? []) {
    if (!isRecord(block) || typeof block.block_id !== 'string') continue;
    if (blockId !== undefined && block.block_id !== blockId) continue;
    const candidates = block.type === 'actions' && Array.isArray(block.elements) ? block.elements : [block.accessory];
    const element = candidates.find((e): e is Record<string, unknown> => isRecord(e) && e.action_id === actionId);
    if (element) return { blockId: block.block_id, element };
  }
  return undefined;
}

function triggerId(): string {
  return `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(16).toString('hex')}`;
}

export class SlackDriver {
  private readonly appUrl: string;
  private readonly signingSecret: string;
  private readonly sim: SlackApiSim;
  private readonly verificationToken: string;
  private readonly nowMs: () => number;

  constructor(opts: SlackDriverOptions) {
    this.appUrl = opts.appUrl;
    this.signingSecret = opts.signingSecret;
    this.sim = opts.sim;
    this.verificationToken = opts.verificationToken ?? 'simVerificationToken0001';
    this.nowMs = opts.nowMs ?? Date.now;
  }

  /** The form body Slack posts for a slash command. */
  slashCommandBody(opts: SlashCommandOptions, responseUrl: string): string {
    const ws = this.sim.workspace;
    const channel = ws.conversation.channel(opts.channelId);
    return formEncode({
      token: this.verificationToken,
      team_id: ws.bot.teamId,
      team_domain: ws.bot.teamDomain,
      channel_id: opts.channelId,
      // Slack says "privategroup" for a private channel the app is not in; here: any channel it does not know.
      channel_name: channel ? channel.name.replace(/^@/, '') : 'privategroup',
      user_id: opts.userId,
      user_name: ws.users.get(opts.userId)?.name ?? opts.userId,
      command: opts.command ?? '/netpol',
      text: opts.text,
      api_app_id: ws.bot.appId,
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: triggerId(),
    });
  }

  async slashCommand(opts: SlashCommandOptions): Promise<DriverResult> {
    const command = opts.command ?? '/netpol';
    const responseUrl = this.sim.createResponseUrl({ channel: opts.channelId, user: opts.userId });
    const known = this.sim.workspace.conversation.channel(opts.channelId) !== undefined;
    if (!opts.forge && known) this.sim.recordUserAction(opts.channelId, opts.userId, `ran ${command} ${opts.text}`.trimEnd());
    const result = await this.send(this.slashCommandBody(opts, responseUrl), opts.forge);
    return { ...result, responseUrl };
  }

  /** The block_actions payload Slack sends when `userId` clicks the button on the message as the stand-in holds it. */
  blockActionsPayload(opts: ClickButtonOptions, message: SimMessage, responseUrl: string): Record<string, unknown> {
    const ws = this.sim.workspace;
    const found = findButton(message, opts.actionId, opts.blockId);
    if (!found) throw new Error(`message ${message.ts} has no button with action_id ${opts.actionId}`);
    const user = ws.users.get(opts.userId);
    const channel = ws.conversation.channel(opts.channelId);
    const ephemeral = message.visibleTo !== undefined;
    const isReply = message.threadTs !== undefined && message.threadTs !== message.ts;
    const text = isRecord(found.element.text) ? found.element.text : { type: 'plain_text', text: '' };
    const nowMicros = Math.floor(this.nowMs() * 1000);
    return {
      type: 'block_actions',
      user: { id: opts.userId, username: user?.name ?? opts.userId, name: user?.name ?? opts.userId, team_id: ws.bot.teamId },
      api_app_id: ws.bot.appId,
      token: this.verificationToken,
      container: {
        type: 'message',
        message_ts: message.ts,
        channel_id: opts.channelId,
        is_ephemeral: ephemeral,
        ...(isReply ? { thread_ts: message.threadTs } : {}),
      },
      trigger_id: triggerId(),
      team: { id: ws.bot.teamId, domain: ws.bot.teamDomain },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: opts.channelId, name: channel?.name ?? 'privategroup' },
      // Slack leaves the message out when the button sits on an ephemeral message.
      ...(ephemeral ? {} : { message: toSlackMessage(message, ws) }),
      state: { values: {} },
      response_url: responseUrl,
      actions: [
        {
          action_id: opts.actionId,
          block_id: found.blockId,
          text,
          value: opts.value ?? (typeof found.element.value === 'string' ? found.element.value : ''),
          ...(typeof found.element.style === 'string' ? { style: found.element.style } : {}),
          type: 'button',
          action_ts: `${Math.floor(nowMicros / 1e6)}.${String(nowMicros % 1e6).padStart(6, '0')}`,
        },
      ],
    };
  }

  async clickButton(opts: ClickButtonOptions): Promise<DriverResult> {
    const message = this.sim.findMessage(opts.channelId, opts.messageTs);
    if (!message || message.kind !== 'message') throw new Error(`no message ${opts.messageTs} in channel ${opts.channelId}`);
    if (message.visibleTo !== undefined && message.visibleTo !== opts.userId) {
      throw new Error(`message ${opts.messageTs} is ephemeral and only visible to ${message.visibleTo}`);
    }
    const responseUrl = this.sim.createResponseUrl({ channel: opts.channelId, user: opts.userId, messageTs: opts.messageTs });
    const payload = this.blockActionsPayload(opts, message, responseUrl);
    if (!opts.forge) {
      const label = ((payload.actions as Record<string, unknown>[])[0]?.text as { text?: string }).text ?? opts.actionId;
      const threadTs = message.threadTs !== undefined && message.threadTs !== message.ts ? message.threadTs : undefined;
      this.sim.recordUserAction(opts.channelId, opts.userId, `clicked [ ${label} ]`, threadTs);
    }
    const result = await this.send(formEncode({ payload: JSON.stringify(payload) }), opts.forge);
    return { ...result, responseUrl };
  }

  /** Posts a raw form body, signed as Slack signs it unless told to forge. */
  async send(rawBody: string, forge: ForgeOptions = {}): Promise<DriverResult> {
    const timestamp = forge.timestampSeconds ?? Math.floor(this.nowMs() / 1000);
    const headers = slackRequestHeaders(forge.signingSecret ?? this.signingSecret, timestamp, rawBody);
    if (forge.omitSignature) delete headers['X-Slack-Signature'];
    const sent = forge.tamperBody ? forge.tamperBody(rawBody) : rawBody;
    const started = performance.now();
    const response = await fetch(this.appUrl, { method: 'POST', headers, body: sent });
    const body = await response.text();
    return { status: response.status, body, ackMs: performance.now() - started, rawBody: sent };
  }
}
