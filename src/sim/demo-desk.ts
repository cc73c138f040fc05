// The demo's desk: a small HTTP endpoint on loopback, inside a running `demo --keep-running`, that
// plays the part of Slack's client for `demo send` in another terminal. It builds the slash command
// or block_actions payload exactly as the driver does (with a response_url hosted by the Slack
// stand-in, which the bot accepts), records the user's action in the channel, and lets the sender
// read back what the bot then posts where that user can see it. `demo send` signs and delivers the
// payload itself. Every call must carry the session's bearer token.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DISMISS_ACTION, OPEN_INCIDENT_ACTION } from '../slack/anomaly-blocks.js';
import { APPROVE_ACTION, REJECT_ACTION, parseButtonValue } from '../slack/blocks.js';
import { findButton, type SlackApiSim, type SlackDriver } from './slack/index.js';
import type { SimMessage } from './slack/types.js';

export const CLICK_ACTIONS = { approve: APPROVE_ACTION, reject: REJECT_ACTION, open: OPEN_INCIDENT_ACTION, dismiss: DISMISS_ACTION } as const;
export type ClickAction = keyof typeof CLICK_ACTIONS;

/** What the sender sees: a message posted (in full) or an update (its new summary line). */
export interface DeskEvent {
  seq: number;
  type: 'posted' | 'updated';
  /** Only this user sees it (an ephemeral reply). */
  visibleTo?: string;
  text: string;
}

export interface DemoDesk {
  url: string;
  token: string;
  close(): Promise<void>;
}

export interface DeskOptions {
  slack: SlackApiSim;
  driver: SlackDriver;
  channel: string;
}

const MAX_BODY = 16 * 1024;
const MAX_TEXT = 4000;
const MAX_WAIT_MS = 30_000;
const HISTORY = 500;

class DeskError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new DeskError(413, `request body over ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
        resolve(value as Record<string, unknown>);
      } catch (error) {
        reject(new DeskError(400, `the body must be a JSON object (${(error as Error).message.slice(0, 80)})`));
      }
    });
    req.on('error', reject);
  });
}

export async function startDemoDesk(options: DeskOptions): Promise<DemoDesk> {
  const { slack, driver, channel } = options;
  const token = randomBytes(32).toString('hex');
  const events: DeskEvent[] = [];
  const waiters = new Set<() => void>();
  let seq = 0;
  const unsubscribe = slack.onMessage(({ type, message }) => {
    if (type === 'deleted' || message.kind !== 'message' || message.channel !== channel) return;
    const text = type === 'posted' ? slack.renderMessage(message) : `✎ message updated: ${message.text}`;
    events.push({ seq: ++seq, type, text, ...(message.visibleTo ? { visibleTo: message.visibleTo } : {}) });
    if (events.length > HISTORY) events.splice(0, events.length - HISTORY);
    for (const wake of waiters) wake();
  });

  const user = (value: unknown): string => {
    if (typeof value !== 'string' || !slack.workspace.users.has(value)) throw new DeskError(400, `unknown user ${JSON.stringify(value)?.slice(0, 40)}: use one of ${[...slack.workspace.users.keys()].join(', ')}`);
    return value;
  };

  function slashCommand(body: Record<string, unknown>): object {
    const userId = user(body.user);
    const text = typeof body.text === 'string' ? body.text : '';
    const command = typeof body.command === 'string' ? body.command : '/netpol';
    if (text.length > MAX_TEXT) throw new DeskError(400, `the command text is ${text.length} characters; Slack sends at most ${MAX_TEXT}`);
    if (!/^\/[a-z0-9_-]{1,32}$/.test(command)) throw new DeskError(400, `"${command.slice(0, 40)}" is not a slash command`);
    const cursor = seq;
    const responseUrl = slack.createResponseUrl({ channel, user: userId });
    slack.recordUserAction(channel, userId, `ran ${command} ${text}`.trimEnd());
    return { fields: driver.slashCommandFields({ userId, channelId: channel, text, command }, responseUrl), cursor };
  }

  function click(body: Record<string, unknown>): object {
    const userId = user(body.user);
    const action = body.action as ClickAction;
    if (!Object.hasOwn(CLICK_ACTIONS, action)) throw new DeskError(400, `unknown button ${JSON.stringify(body.action)?.slice(0, 40)}: use ${Object.keys(CLICK_ACTIONS).join(', ')}`);
    const incident = typeof body.incident === 'string' ? body.incident : undefined;
    const actionId = CLICK_ACTIONS[action];
    // The newest message this user can see that still shows the button (and, if asked, for that incident).
    const target = slack
      .messages(channel)
      .filter((m: SimMessage) => m.kind === 'message' && !m.deleted && (m.visibleTo === undefined || m.visibleTo === userId))
      .reverse()
      .find((m) => {
        const found = findButton(m, actionId);
        if (!found) return false;
        return incident === undefined || parseButtonValue(typeof found.element.value === 'string' ? found.element.value : undefined)?.incidentId === incident;
      });
    if (!target) {
      throw new DeskError(404, `no message in the channel has the "${action}" button${incident ? ` for incident ${incident}` : ''} (buttons go away once decided)`);
    }
    const cursor = seq;
    const responseUrl = slack.createResponseUrl({ channel, user: userId, messageTs: target.ts });
    const payload = driver.blockActionsPayload({ userId, channelId: channel, messageTs: target.ts, actionId }, target, responseUrl);
    const label = ((payload.actions as Array<{ text?: { text?: string } }>)[0]?.text?.text ?? action).trim();
    const threadTs = target.threadTs !== undefined && target.threadTs !== target.ts ? target.threadTs : undefined;
    slack.recordUserAction(channel, userId, `clicked [ ${label} ]`, threadTs);
    return { payload: JSON.stringify(payload), cursor, target: target.text.slice(0, 200) };
  }

  async function readEvents(url: URL): Promise<object> {
    const after = Number(url.searchParams.get('after') ?? 0);
    const userId = user(url.searchParams.get('user'));
    const waitMs = Math.min(Math.max(Number(url.searchParams.get('waitMs') ?? 0) || 0, 0), MAX_WAIT_MS);
    if (!Number.isInteger(after) || after < 0) throw new DeskError(400, 'after must be a cursor from an earlier answer');
    const visible = (): DeskEvent[] => events.filter((e) => e.seq > after && (e.visibleTo === undefined || e.visibleTo === userId));
    if (visible().length === 0 && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        const wake = (): void => {
          if (visible().length > 0) done();
        };
        const timer = setTimeout(done, waitMs);
        waiters.add(wake);
      });
    }
    return { events: visible(), cursor: seq };
  }

  const expected = Buffer.from(`Bearer ${token}`);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const answer = (status: number, body: object): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
    };
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      req.resume();
      answer(401, { error: 'this desk answers only the demo session that started it (bearer token)' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = `${req.method} ${url.pathname}`;
    const work =
      route === 'POST /slash-command'
        ? readJson(req).then(slashCommand)
        : route === 'POST /click'
          ? readJson(req).then(click)
          : route === 'GET /events'
            ? readEvents(url)
            : Promise.reject(new DeskError(404, `no ${route.slice(0, 60)} here`));
    work.then(
      (body) => answer(200, body),
      (error: unknown) => answer(error instanceof DeskError ? error.status : 500, { error: error instanceof Error ? error.message : String(error) }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    async close() {
      unsubscribe();
      for (const wake of waiters) wake();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
