// The Slack Web API stand-in over node:http on loopback: /api/<method>, upload URLs, response URLs, and the
// Socket Mode WebSocket endpoint (socket-mode.ts) on the same port.
// Auth, body limits, rate limits and the call log live here; what each call does lives in methods.ts.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { parseApiBody, parseForm } from './body.js';
import { METHODS } from './methods.js';
import { renderMessage, renderTranscript, type RenderOptions } from './render.js';
import { applyResponseUrlPost, type ResponseUrlState } from './response-url.js';
import { SOCKET_MODE_PATH, SocketModeHub } from './socket-mode.js';
import type { ConversationEvent, ResponseUrlContext, SimCall, SimChannel, SimMessage, SimUser } from './types.js';
import { Workspace, type BotIdentity } from './workspace.js';

export interface SlackApiSimOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The only token the API accepts (Authorization: Bearer or a token argument). */
  botToken?: string;
  /** The app-level token (xapp-…): the only token apps.connections.open accepts. */
  appToken?: string;
  /** How often the Socket Mode endpoint pings each connection (default 5000 ms). */
  socketPingIntervalMs?: number;
  botUserId?: string;
  users?: SimUser[];
  /** Usergroup id → member user ids. */
  usergroups?: Record<string, string[]>;
  /** Default: one channel, C0INCIDENTS "#incidents". */
  channels?: SimChannel[];
  /** Web API and response_url bodies above this get HTTP 413 (default 1 MiB). */
  maxBodyBytes?: number;
  /** File bytes posted to an upload URL above this get HTTP 413 (default 10 MiB). */
  maxUploadBytes?: number;
  nowMs?: () => number;
}

export interface RateLimitOptions {
  retryAfterSeconds?: number;
  /** How many of the next calls of the method get 429 (default 1). */
  times?: number;
}

const DEFAULT_BOT_TOKEN = 'xoxb-sim-netpol-responder';
const DEFAULT_APP_TOKEN = 'xapp-1-A0NETPOL-sim-netpol-responder';
/** The one method that takes the app-level token; every other method takes the bot token. */
const APP_TOKEN_METHOD = 'apps.connections.open';
const MIB = 1024 * 1024;
/** Past this we stop draining an oversized request and drop the connection. */
const DRAIN_LIMIT_BYTES = 64 * MIB;

type Waiter = { predicate: (call: SimCall) => boolean; resolve: (call: SimCall) => void };

class BodyTooLargeError extends Error {}

export class SlackApiSim {
  readonly workspace: Workspace;
  readonly botToken: string;
  readonly appToken: string;
  readonly calls: SimCall[] = [];
  /** Socket Mode connections, envelopes and the frames apps send back. */
  readonly socketMode: SocketModeHub;
  private readonly server: Server;
  private readonly maxBodyBytes: number;
  private readonly maxUploadBytes: number;
  private readonly rateLimits = new Map<string, { retryAfterSeconds: number; remaining: number }>();
  private readonly responseUrls = new Map<string, ResponseUrlState>();
  private readonly waiters = new Set<Waiter>();
  private baseUrlValue = '';

  constructor(opts: SlackApiSimOptions = {}) {
    this.botToken = opts.botToken ?? DEFAULT_BOT_TOKEN;
    this.appToken = opts.appToken ?? DEFAULT_APP_TOKEN;
    this.maxBodyBytes = opts.maxBodyBytes ?? MIB;
    this.maxUploadBytes = opts.maxUploadBytes ?? 10 * MIB;
    const bot: Partial<BotIdentity> = opts.botUserId ? { userId: opts.botUserId } : {};
    this.workspace = new Workspace({
      bot,
      ...(opts.users ? { users: opts.users } : {}),
      ...(opts.usergroups ? { usergroups: opts.usergroups } : {}),
      ...(opts.channels ? { channels: opts.channels } : {}),
      ...(opts.nowMs ? { nowMs: opts.nowMs } : {}),
    });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'internal_error', detail: String(error) });
        else res.destroy();
      });
    });
    this.socketMode = new SocketModeHub({
      appId: this.workspace.bot.appId,
      maxFrameBytes: this.maxBodyBytes,
      pingIntervalMs: opts.socketPingIntervalMs ?? 5000,
      nowMs: this.workspace.nowMs,
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.socketMode.handleUpgrade(req, socket, head));
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    this.baseUrlValue = `http://127.0.0.1:${address.port}`;
  }

  /** e.g. http://127.0.0.1:PORT — the origin hosting everything. */
  get baseUrl(): string {
    return this.baseUrlValue;
  }

  /** Give this to Bolt as clientOptions.slackApiUrl. */
  get apiUrl(): string {
    return `${this.baseUrlValue}/api/`;
  }

  get port(): number {
    return Number(new URL(this.baseUrlValue).port);
  }

  get botUserId(): string {
    return this.workspace.bot.userId;
  }

  async close(): Promise<void> {
    // Upgraded sockets are no longer the HTTP server's to close.
    this.socketMode.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ── seeding ───────────────────────────────────────────────────────────────

  addUser(user: SimUser): void {
    this.workspace.addUser(user);
  }

  addChannel(channel: SimChannel): void {
    this.workspace.conversation.addChannel(channel);
  }

  setUsergroup(id: string, members: string[]): void {
    this.workspace.usergroups.set(id, [...members]);
  }

  /** Answer the next `times` calls of `method` with HTTP 429 and Retry-After, as Slack does. */
  rateLimit(method: string, opts: RateLimitOptions = {}): void {
    this.rateLimits.set(method, { retryAfterSeconds: opts.retryAfterSeconds ?? 1, remaining: opts.times ?? 1 });
  }

  // ── reading the conversation ─────────────────────────────────────────────

  /** Live messages (and user actions) of a channel, or of every channel, oldest first. */
  messages(channel?: string): SimMessage[] {
    return this.workspace.conversation.messages(channel === undefined ? undefined : this.channelId(channel));
  }

  findMessage(channel: string, ts: string): SimMessage | undefined {
    return this.workspace.conversation.find(this.channelId(channel), ts);
  }

  /** The conversation as plain text; `channel` is an id or a name (with or without '#'). */
  transcript(channel?: string, opts: RenderOptions = {}): string {
    const conversation = this.workspace.conversation;
    const channels = channel === undefined ? conversation.channels() : [conversation.channel(this.channelId(channel))].filter((c) => c !== undefined);
    return renderTranscript(
      channels.map((c) => ({ channel: c, entries: conversation.messages(c.id, true) })),
      this.workspace.directory(),
      opts,
    );
  }

  /** One message rendered as it appears in the transcript (for printing the conversation live). */
  renderMessage(message: SimMessage, opts: RenderOptions = {}): string {
    const depth = message.threadTs !== undefined && message.threadTs !== message.ts ? 1 : 0;
    return renderMessage(message, this.workspace.directory(), opts, depth).join('\n');
  }

  /** Called on every post, update and delete; returns an unsubscribe function. */
  onMessage(listener: (event: ConversationEvent) => void): () => void {
    return this.workspace.conversation.onEvent(listener);
  }

  /** Resolves with the first recorded call (past or future) that matches. */
  waitFor(predicate: (call: SimCall) => boolean, timeoutMs = 5000): Promise<SimCall> {
    const past = this.calls.find(predicate);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (call) => {
          clearTimeout(timer);
          resolve(call);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const recent = this.calls.slice(-5).map((c) => `${c.kind} ${c.method} → ${c.status} ${JSON.stringify(c.response)}`);
        reject(new Error(`no matching Slack call within ${timeoutMs} ms; last calls:\n${recent.join('\n') || '(none)'}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Resolves with the first message (present now or posted/updated later) that matches. */
  waitForMessage(predicate: (message: SimMessage) => boolean, timeoutMs = 5000): Promise<SimMessage> {
    const present = this.workspace.conversation.messages().find(predicate);
    if (present) return Promise.resolve(present);
    return new Promise((resolve, reject) => {
      const unsubscribe = this.onMessage((event) => {
        if (event.type === 'deleted' || !predicate(event.message)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(event.message);
      });
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`no matching Slack message within ${timeoutMs} ms; transcript:\n${this.transcript()}`));
      }, timeoutMs);
    });
  }

  // ── used by the driver ───────────────────────────────────────────────────

  /** A response_url hosted here, bound to who triggered it and (for buttons) the message. */
  createResponseUrl(context: ResponseUrlContext): string {
    const id = randomBytes(12).toString('hex');
    this.responseUrls.set(id, { context, createdAtMs: this.workspace.nowMs(), uses: 0 });
    return `${this.baseUrlValue}/response/${id}`;
  }

  /** Puts a slash command or button click in the channel's story (the Web API never sees these). */
  recordUserAction(channel: string, user: string, text: string, threadTs?: string): SimMessage {
    const channelId = this.workspace.resolveChannel(channel)?.id;
    if (!channelId) throw new Error(`unknown channel ${channel}`);
    return this.workspace.conversation.post({ channel: channelId, kind: 'user-action', user, text, ...(threadTs ? { threadTs } : {}) });
  }

  channelId(idOrName: string): string {
    const name = idOrName.replace(/^#/, '');
    return this.workspace.conversation.channels().find((c) => c.id === idOrName || c.name === name)?.id ?? idOrName;
  }

  // ── HTTP ─────────────────────────────────────────────────────────────────

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const [, area, id = ''] = url.pathname.split('/');
    const limit = area === 'upload' ? this.maxUploadBytes : this.maxBodyBytes;
    let raw: Buffer;
    try {
      raw = await readBody(req, limit);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      const response = { ok: false, error: 'request_too_large' };
      const kind = area === 'upload' ? 'upload' : area === 'response' ? 'response_url' : 'api';
      this.record({ kind, method: id, args: {}, status: 413, response });
      sendJson(res, 413, response);
      return;
    }
    if (area === 'api' && id) return this.handleApi(id, url, req, raw, res);
    if (area === 'upload' && req.method === 'POST') return this.handleUpload(id, req, raw, res);
    if (area === 'response' && req.method === 'POST') return this.handleResponseUrl(id, req, raw, res);
    sendJson(res, 404, { ok: false, error: 'not_found' });
  }

  private handleApi(method: string, url: URL, req: IncomingMessage, raw: Buffer, res: ServerResponse): void {
    const parsed = parseApiBody(req.headers['content-type'], raw);
    const args: Record<string, unknown> = { ...parseForm(url.search.slice(1)), ...(parsed.ok ? parsed.args : {}) };
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    delete args.token;

    const answer = (status: number, response: Record<string, unknown>, headers: Record<string, string> = {}): void => {
      this.record({ kind: 'api', method, args, ...(token !== undefined ? { token } : {}), status, response });
      sendJson(res, status, response, headers);
    };

    const limited = this.rateLimits.get(method);
    if (limited && limited.remaining > 0) {
      limited.remaining -= 1;
      answer(429, { ok: false, error: 'ratelimited' }, { 'Retry-After': String(limited.retryAfterSeconds) });
      return;
    }
    const handler = METHODS.get(method);
    if (!handler && method !== APP_TOKEN_METHOD) return answer(200, { ok: false, error: 'unknown_method' });
    if (!parsed.ok) return answer(200, { ok: false, error: parsed.error });
    if (token === undefined || token === '') return answer(200, { ok: false, error: 'not_authed' });
    const tokenKind = token === this.botToken ? 'bot' : token === this.appToken ? 'app' : undefined;
    if (!tokenKind) return answer(200, { ok: false, error: 'invalid_auth' });
    // Slack refuses a real token of the wrong kind with its own error, distinct from a bad token.
    if (tokenKind !== (method === APP_TOKEN_METHOD ? 'app' : 'bot')) return answer(200, { ok: false, error: 'not_allowed_token_type' });
    if (!handler) return answer(200, { ok: true, url: this.socketModeUrl(this.socketMode.issueTicket()) });
    answer(200, handler(args, this.workspace, { uploadUrl: (fileId) => `${this.baseUrlValue}/upload/${fileId}` }));
  }

  /** Where an app opens its Socket Mode WebSocket, like Slack's wss://…/link/?ticket=…&app_id=… */
  private socketModeUrl(ticket: string): string {
    return `ws://127.0.0.1:${this.port}${SOCKET_MODE_PATH}?ticket=${ticket}&app_id=${this.workspace.bot.appId}`;
  }

  /** The upload URL takes raw bytes or multipart/form-data (what WebClient sends), like files.slack.com. */
  private handleUpload(fileId: string, req: IncomingMessage, raw: Buffer, res: ServerResponse): void {
    const file = this.workspace.files.get(fileId);
    const reply = (status: number, text: string): void => {
      const args = { file_id: fileId, ...(file ? { filename: file.name } : {}), bytes: raw.length };
      this.record({ kind: 'upload', method: fileId, args, status, response: { text } });
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(text);
    };
    if (!file) return reply(404, 'file_not_found');
    const parsed = parseApiBody(req.headers['content-type'], raw);
    let content = raw;
    if (req.headers['content-type']?.toLowerCase().startsWith('multipart/form-data')) {
      const part = parsed.ok ? (parsed.parts.find((p) => p.filename !== undefined) ?? parsed.parts[0]) : undefined;
      if (!part) return reply(400, 'invalid_form_data');
      content = Buffer.from(part.data);
    }
    file.content = content;
    reply(200, `OK - ${content.length}`);
  }

  private handleResponseUrl(id: string, req: IncomingMessage, raw: Buffer, res: ServerResponse): void {
    const state = this.responseUrls.get(id);
    const answer = (status: number, args: Record<string, unknown>, response: Record<string, unknown>, effect?: SimCall['effect']): void => {
      this.record({ kind: 'response_url', method: id, args, status, response, ...(effect ? { effect } : {}) });
      sendJson(res, status, response);
    };
    if (!state) return answer(404, {}, { ok: false, error: 'invalid_url' });
    const parsed = parseApiBody(req.headers['content-type'] ?? 'application/json', raw);
    if (!parsed.ok) return answer(400, {}, { ok: false, error: parsed.error });
    const outcome = applyResponseUrlPost(this.workspace, state, parsed.args);
    answer(outcome.status, parsed.args, outcome.response, outcome.effect);
  }

  private record(entry: Omit<SimCall, 'seq' | 'at'>): void {
    const call: SimCall = { seq: this.calls.length + 1, at: new Date(this.workspace.nowMs()), ...entry };
    this.calls.push(call);
    for (const waiter of [...this.waiters]) {
      if (!waiter.predicate(call)) continue;
      this.waiters.delete(waiter);
      waiter.resolve(call);
    }
  }
}

function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

/** Reads the body up to `limit` bytes; a larger body is drained (up to a hard cap) and reported as too large. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > DRAIN_LIMIT_BYTES) req.destroy();
      else if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => (size > limit ? reject(new BodyTooLargeError()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
    // A request dropped mid-body (or cut off past the drain cap) never ends; settle anyway.
    req.on('close', () => {
      if (!req.complete) reject(new BodyTooLargeError());
    });
  });
}

export async function startSlackApiServer(opts: SlackApiSimOptions = {}): Promise<SlackApiSim> {
  const sim = new SlackApiSim(opts);
  await sim.listen(opts.port ?? 0);
  return sim;
}
