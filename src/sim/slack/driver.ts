// Sends requests to a Bolt app exactly as Slack does: signed, form-encoded slash commands and block_actions
// over HTTP, or the same payloads as Socket Mode envelopes; response_urls are hosted by the stand-in.
// Over HTTP it can also forge requests (wrong secret, stale time, tampered body).
import { createHmac, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SlackApiSim } from './server.js';
import type { EnvelopeType } from './socket-frames.js';
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
  /** HTTP: the app's status. Socket Mode: 200 once the envelope is acked. */
  status: number;
  /** HTTP: the response body. Socket Mode: the ack's payload as JSON ('' when the ack carried none), as Bolt's HTTP receiver would answer. */
  body: string;
  /** Time from sending the request to the app's complete answer (Slack gives up after 3 s). */
  ackMs: number;
  /** The response_url the request carried (hosted by the stand-in). */
  responseUrl?: string;
  /** Exactly the bytes that were sent (the form body, or the envelope's JSON). */
  rawBody: string;
  /** Socket Mode only: the envelope's id. */
  envelopeId?: string;
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

interface DriverCommonOptions {
  sim: SlackApiSim;
  /** The deprecated verification token Slack still puts in payloads. */
  verificationToken?: string;
  nowMs?: () => number;
}

export interface HttpDriverOptions extends DriverCommonOptions {
  mode?: 'http';
  /** The Bolt app's endpoint, e.g. http://127.0.0.1:PORT/slack/events */
  appUrl: string;
  signingSecret: string;
}

/** Deliver through the stand-in's Socket Mode endpoint, to the app connected there with the app-level token. */
export interface SocketDriverOptions extends DriverCommonOptions {
  mode: 'socket';
  /** How long to wait for the app's ack before failing (default 10 s; Slack itself gives up after 3 s). */
  ackTimeoutMs?: number;
}

export type SlackDriverOptions = HttpDriverOptions | SocketDriverOptions;

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
  readonly mode: 'http' | 'socket';
  private readonly http?: { appUrl: string; signingSecret: string };
  private readonly ackTimeoutMs: number;
  private readonly sim: SlackApiSim;
  private readonly verificationToken: string;
  private readonly nowMs: () => number;

  constructor(opts: SlackDriverOptions) {
    this.mode = opts.mode ?? 'http';
    this.http = opts.mode === 'socket' ? undefined : { appUrl: opts.appUrl, signingSecret: opts.signingSecret };
    this.ackTimeoutMs = (opts.mode === 'socket' ? opts.ackTimeoutMs : undefined) ?? 10_000;
    this.sim = opts.sim;
    this.verificationToken = opts.verificationToken ?? 'simVerificationToken0001';
    this.nowMs = opts.nowMs ?? Date.now;
  }

  /** The form body Slack posts for a slash command. */
  slashCommandBody(opts: SlashCommandOptions, responseUrl: string): string {
    return formEncode(this.slashCommandFields(opts, responseUrl));
  }

  /** The fields of a slash command: the HTTP form body, or the payload of a Socket Mode envelope. */
  slashCommandFields(opts: SlashCommandOptions, responseUrl: string): Record<string, string> {
    const ws = this.sim.workspace;
    const channel = ws.conversation.channel(opts.channelId);
    return {
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
    };
  }

  async slashCommand(opts: SlashCommandOptions): Promise<DriverResult> {
    this.checkForge(opts.forge);
    const command = opts.command ?? '/netpol';
    const responseUrl = this.sim.createResponseUrl({ channel: opts.channelId, user: opts.userId });
    const known = this.sim.workspace.conversation.channel(opts.channelId) !== undefined;
    if (!opts.forge && known) this.sim.recordUserAction(opts.channelId, opts.userId, `ran ${command} ${opts.text}`.trimEnd());
    const fields = this.slashCommandFields(opts, responseUrl);
    const result = this.mode === 'socket' ? await this.sendEnvelope('slash_commands', fields, opts.forge) : await this.send(formEncode(fields), opts.forge);
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
    const { payload, responseUrl } = this.click(opts);
    const result =
      this.mode === 'socket' ? await this.sendEnvelope('interactive', payload, opts.forge) : await this.send(formEncode({ payload: JSON.stringify(payload) }), opts.forge);
    return { ...result, responseUrl };
  }

  /**
   * The click as Slack would post it over HTTP, not sent: its form body, unsigned (signed when
   * sent). For a sender of its own, such as a benchmark timing the click from when it leaves.
   */
  clickFormBody(opts: Omit<ClickButtonOptions, 'forge'>): { rawBody: string; responseUrl: string } {
    const { payload, responseUrl } = this.click(opts);
    return { rawBody: formEncode({ payload: JSON.stringify(payload) }), responseUrl };
  }

  /** The block_actions payload of a click, recorded in the channel as the user's action. */
  private click(opts: ClickButtonOptions): { payload: Record<string, unknown>; responseUrl: string } {
    this.checkForge(opts.forge);
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
    return { payload, responseUrl };
  }

  /** Posts a raw form body, signed as Slack signs it unless told to forge. */
  async send(rawBody: string, forge: ForgeOptions = {}): Promise<DriverResult> {
    if (!this.http) throw new Error('this driver delivers over Socket Mode; send() posts to an HTTP endpoint');
    const { appUrl, signingSecret } = this.http;
    const timestamp = forge.timestampSeconds ?? Math.floor(this.nowMs() / 1000);
    const headers = slackRequestHeaders(forge.signingSecret ?? signingSecret, timestamp, rawBody);
    if (forge.omitSignature) delete headers['X-Slack-Signature'];
    const sent = forge.tamperBody ? forge.tamperBody(rawBody) : rawBody;
    const started = performance.now();
    const response = await fetch(appUrl, { method: 'POST', headers, body: sent });
    const body = await response.text();
    return { status: response.status, body, ackMs: performance.now() - started, rawBody: sent };
  }

  /** Delivers a payload as a Socket Mode envelope and waits for the app's ack. */
  async sendEnvelope(type: EnvelopeType, payload: Record<string, unknown>, forge?: ForgeOptions): Promise<DriverResult> {
    this.checkForge(forge);
    const ack = await this.sim.socketMode.send(type, payload, this.ackTimeoutMs);
    const body = Object.keys(ack.payload).length > 0 ? JSON.stringify(ack.payload) : '';
    return { status: 200, body, ackMs: ack.ackMs, rawBody: ack.sent, envelopeId: ack.envelopeId };
  }

  /** Refuses before anything is recorded: Socket Mode has no signature or timestamp to forge (the app-level token authenticated the connection). */
  private checkForge(forge: ForgeOptions | undefined): void {
    if (forge && this.mode === 'socket') throw new Error('forged requests are HTTP-only: a Socket Mode envelope carries no signature');
  }
}
