// Socket Mode on the stand-in's HTTP server: apps.connections.open hands out a single-use ws:// URL, the app
// connects and gets "hello"; from then on envelopes go down the socket and the app acks them by envelope_id.
// Ping frames keep the link alive both ways; a "disconnect" message asks the app to reconnect.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { disconnectMessage, helloMessage, makeEnvelope, parseClientFrame, type EnvelopeType } from './socket-frames.js';

export const SOCKET_MODE_PATH = '/socket-mode';
/** Frames past this much text are recorded as a prefix only. */
const RECORDED_TEXT_CHARS = 512;

export interface SocketModeHubOptions {
  appId: string;
  /** Frames from the app above this are refused: ws closes the connection with 1009. */
  maxFrameBytes: number;
  /** How often the server pings each connection (Slack: every few seconds). */
  pingIntervalMs: number;
  nowMs: () => number;
}

export interface SocketConnectionInfo {
  id: number;
  openedAt: Date;
  closedAt?: Date;
  closeCode?: number;
  /** Pongs the app sent back for our pings. */
  pongs: number;
  /** Pings the app sent us (ws answers them). */
  pingsReceived: number;
}

/** One frame the app sent that the stand-in looked at. */
export interface SocketFrame {
  connectionId: number;
  at: Date;
  /** ack = settled a pending envelope; the rest were ignored (the connection stays up, except for oversized). */
  kind: 'ack' | 'malformed' | 'unknown_envelope' | 'binary' | 'oversized';
  envelopeId?: string;
  /** Why the frame was not an ack, e.g. invalid_json. */
  error?: string;
  /** The frame as text, cut to its first 512 characters. */
  text: string;
}

export interface SocketAck {
  envelopeId: string;
  connectionId: number;
  /** Exactly the text of the envelope that was sent. */
  sent: string;
  /** From sending the envelope to receiving its ack. */
  ackMs: number;
  /** What the app put in the ack; {} when nothing. For slash commands Slack shows it to the user. */
  payload: Record<string, unknown>;
}

interface Pending {
  started: number;
  connectionId: number;
  sent: string;
  resolve: (ack: SocketAck) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

type ConnectionWaiter = { afterId: number; resolve: (info: SocketConnectionInfo) => void };

export class SocketModeHub {
  readonly connections: SocketConnectionInfo[] = [];
  readonly frames: SocketFrame[] = [];
  private readonly opts: SocketModeHubOptions;
  private readonly wss: WebSocketServer;
  private readonly tickets = new Set<string>();
  private readonly open = new Map<number, WebSocket>();
  private readonly pending = new Map<string, Pending>();
  private readonly connectionWaiters = new Set<ConnectionWaiter>();

  constructor(opts: SocketModeHubOptions) {
    this.opts = opts;
    // The stand-in's HTTP server hands upgrades over; permessage-deflate off, as the Slack client asks.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes, perMessageDeflate: false });
  }

  /** A single-use ticket for the URL apps.connections.open returns. */
  issueTicket(): string {
    const ticket = randomBytes(16).toString('hex');
    this.tickets.add(ticket);
    return ticket;
  }

  /** Takes an HTTP upgrade request: a valid unused ticket gets a WebSocket, anything else an HTTP error. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== SOCKET_MODE_PATH) return refuseUpgrade(socket, 404, 'Not Found');
    if (!this.tickets.delete(ticket)) return refuseUpgrade(socket, 401, 'Unauthorized');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  /** Connections that are open now, oldest first (one that is closing no longer counts: it would drop envelopes). */
  openConnections(): SocketConnectionInfo[] {
    return this.connections.filter((c) => this.open.get(c.id)?.readyState === WebSocket.OPEN);
  }

  /** Resolves with the first open connection whose id is above `afterId` (pass the old id to wait for a reconnect). */
  waitForConnection(afterId = 0, timeoutMs = 5000): Promise<SocketConnectionInfo> {
    const present = this.openConnections().find((c) => c.id > afterId);
    if (present) return Promise.resolve(present);
    return new Promise((resolve, reject) => {
      const waiter: ConnectionWaiter = {
        afterId,
        resolve: (info) => {
          clearTimeout(timer);
          resolve(info);
        },
      };
      const timer = setTimeout(() => {
        this.connectionWaiters.delete(waiter);
        reject(new Error(`no Socket Mode connection after #${afterId} within ${timeoutMs} ms (${this.connections.length} so far)`));
      }, timeoutMs);
      this.connectionWaiters.add(waiter);
    });
  }

  /**
   * Sends an envelope down the newest open connection and resolves with the app's ack.
   * Rejects when no connection is open or no ack arrives within `timeoutMs`.
   */
  send(type: EnvelopeType, payload: Record<string, unknown>, timeoutMs: number): Promise<SocketAck> {
    const newest = this.openConnections().at(-1);
    const socket = newest ? this.open.get(newest.id) : undefined;
    if (!newest || !socket) return Promise.reject(new Error('no Socket Mode connection is open'));
    const envelope = makeEnvelope(type, payload);
    const sent = JSON.stringify(envelope);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelope.envelope_id);
        reject(new Error(`no ack for ${type} envelope ${envelope.envelope_id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(envelope.envelope_id, { started: performance.now(), connectionId: newest.id, sent, resolve, reject, timer });
      socket.send(sent, (error) => {
        if (!error || !this.pending.delete(envelope.envelope_id)) return;
        clearTimeout(timer);
        reject(new Error(`could not send ${type} envelope ${envelope.envelope_id}: ${error.message}`));
      });
    });
  }

  /** Asks every open connection to go away, as Slack does before recycling its side (the app should reconnect). */
  requestDisconnect(reason = 'refresh_requested'): void {
    const text = JSON.stringify(disconnectMessage(reason));
    for (const socket of this.open.values()) socket.send(text);
  }

  close(): void {
    for (const socket of this.open.values()) socket.terminate();
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`the stand-in closed before envelope ${id} was acked`));
    }
    this.pending.clear();
    this.tickets.clear();
    this.wss.close();
  }

  private accept(socket: WebSocket): void {
    const info: SocketConnectionInfo = { id: this.connections.length + 1, openedAt: new Date(this.opts.nowMs()), pongs: 0, pingsReceived: 0 };
    this.connections.push(info);
    this.open.set(info.id, socket);
    const pinger = setInterval(() => socket.ping(), this.opts.pingIntervalMs);
    pinger.unref();
    socket.on('pong', () => (info.pongs += 1));
    socket.on('ping', () => (info.pingsReceived += 1));
    socket.on('message', (data, isBinary) => this.onFrame(info.id, data, isBinary));
    // ws reports an oversized or broken frame as an error and then closes the connection itself.
    socket.on('error', (error: Error & { code?: string }) => {
      const oversized = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
      this.record({ connectionId: info.id, kind: oversized ? 'oversized' : 'malformed', error: error.code ?? error.message, text: '' });
    });
    socket.on('close', (code) => {
      clearInterval(pinger);
      this.open.delete(info.id);
      info.closedAt = new Date(this.opts.nowMs());
      info.closeCode = code;
    });
    socket.send(JSON.stringify(helloMessage(this.opts.appId, this.open.size)));
    for (const waiter of [...this.connectionWaiters]) {
      if (info.id <= waiter.afterId) continue;
      this.connectionWaiters.delete(waiter);
      waiter.resolve(info);
    }
  }

  private onFrame(connectionId: number, data: RawData, isBinary: boolean): void {
    const text = rawText(data);
    const shown = text.slice(0, RECORDED_TEXT_CHARS);
    if (isBinary) return this.record({ connectionId, kind: 'binary', text: shown });
    const frame = parseClientFrame(text);
    if (!frame.ok) return this.record({ connectionId, kind: 'malformed', error: frame.error, text: shown });
    const pending = this.pending.get(frame.envelopeId);
    // Slack ignores an ack for an envelope it never sent or has already settled.
    if (!pending) return this.record({ connectionId, kind: 'unknown_envelope', envelopeId: frame.envelopeId, text: shown });
    this.pending.delete(frame.envelopeId);
    clearTimeout(pending.timer);
    this.record({ connectionId, kind: 'ack', envelopeId: frame.envelopeId, text: shown });
    pending.resolve({
      envelopeId: frame.envelopeId,
      connectionId,
      sent: pending.sent,
      ackMs: performance.now() - pending.started,
      payload: frame.payload,
    });
  }

  private record(frame: Omit<SocketFrame, 'at'>): void {
    this.frames.push({ at: new Date(this.opts.nowMs()), ...frame });
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
