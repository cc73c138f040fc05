// `netpol-responder demo send`: acts as Slack towards the bot of a running `demo --keep-running`.
// The demo's desk (src/sim/demo-desk.ts) builds the payload a Slack client would send for this user,
// with a response_url on the Slack stand-in; this command signs it with the session's signing secret
// as Slack does, posts it to the bot, prints the acknowledgement, then prints what the bot posts
// that the user can see. Flags and usage: DEMO_SEND in ./specs.ts.
import { performance } from 'node:perf_hooks';
import { CLICK_ACTIONS, type ClickAction, type DeskEvent } from '../sim/demo-desk.js';
import { defaultSessionPath, readSession, SessionError, sessionProcessAlive, type DemoSession } from '../sim/demo-session.js';
import { formEncode, slackRequestHeaders } from '../sim/slack/driver.js';
import { parseCommand, usageError } from './spec.js';
import { DEMO_SEND } from './specs.js';

const INCIDENT_ID = /^[a-z0-9][a-z0-9-]{2,40}$/;
/** After a reply, wait this long for more before stopping (a command often answers in a burst). */
const QUIET_MS = 700;
const BOT_TIMEOUT_MS = 10_000;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

class SendError extends Error {}

/** fetch says only "fetch failed"; the reason is in its cause (ECONNREFUSED, bad port, …). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

async function desk<T>(session: DemoSession, method: 'GET' | 'POST', path: string, body?: object): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${session.desk.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${session.desk.token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(40_000),
    });
  } catch (error) {
    throw new SendError(`cannot reach the demo's desk at ${session.desk.url} (${networkReason(error)}): is the demo (pid ${session.pid}) still running?`);
  }
  const answer = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (!response.ok) throw new SendError(answer.error ?? `the demo's desk answered HTTP ${response.status}`);
  return answer;
}

function userIdFor(session: DemoSession, who: string): string | undefined {
  return session.users[who.replace(/^@/, '').toLowerCase()] ?? Object.values(session.users).find((id) => id === who);
}

/** The acknowledgement's text: Bolt answers an ack with a message as JSON, an empty ack with nothing. */
function ackText(body: string): string | undefined {
  if (body.trim() === '') return undefined;
  try {
    const parsed = JSON.parse(body) as { text?: unknown };
    return typeof parsed.text === 'string' ? parsed.text : body;
  } catch {
    return body;
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(DEMO_SEND, argv);
  if (!parsed.ok) return parsed.exitCode;
  const values = parsed.values;
  const wait = Number(values.wait ?? '5');
  if (!/^\d+(\.\d+)?$/.test(values.wait ?? '5') || wait > 60) return usageError(DEMO_SEND, `--wait: seconds from 0 to 60 (got "${String(values.wait).slice(0, 20)}")`);
  const click = values.click as ClickAction | undefined;
  const text = parsed.positionals.join(' ').trim();
  if (click !== undefined) {
    if (!Object.hasOwn(CLICK_ACTIONS, click)) return usageError(DEMO_SEND, `--click: unknown button "${String(click).slice(0, 30)}" (valid: ${Object.keys(CLICK_ACTIONS).join(', ')})`);
    if (text) return usageError(DEMO_SEND, '--click takes no command text');
  } else if (!text.startsWith('/')) {
    return usageError(DEMO_SEND, text ? `"${text.slice(0, 40)}" is not a slash command: start it with "/", e.g. '/netpol status'` : "what to send? e.g. '/netpol status', or --click approve");
  }
  if (values.incident !== undefined) {
    if (click !== 'approve' && click !== 'reject') return usageError(DEMO_SEND, '--incident goes with --click approve or --click reject');
    if (!INCIDENT_ID.test(values.incident)) return usageError(DEMO_SEND, `"${values.incident.slice(0, 60)}" is not an incident id`);
  }

  const path = values.session ?? defaultSessionPath();
  try {
    const session = readSession(path);
    if (!sessionProcessAlive(session)) throw new SendError(`the demo that wrote ${path} (pid ${session.pid}) is no longer running: start \`netpol-responder demo --keep-running\` again`);
    const who = values.as ?? 'alice';
    const userId = userIdFor(session, who);
    if (!userId) return usageError(DEMO_SEND, `--as: unknown user "${who.slice(0, 40)}" (the demo has ${Object.entries(session.users).map(([n, id]) => `${n} (${id})`).join(', ')})`);
    const handle = Object.entries(session.users).find(([, id]) => id === userId)?.[0] ?? userId;

    let raw: string;
    let cursor: number;
    if (click) {
      const prepared = await desk<{ payload: string; cursor: number; target: string }>(session, 'POST', '/click', { user: userId, action: click, ...(values.incident ? { incident: values.incident } : {}) });
      raw = formEncode({ payload: prepared.payload });
      cursor = prepared.cursor;
      say(`→ @${handle} clicks [ ${click} ] on: ${prepared.target.split('\n')[0]}`);
    } else {
      const [command = '', ...rest] = text.split(/\s+/);
      const prepared = await desk<{ fields: Record<string, string>; cursor: number }>(session, 'POST', '/slash-command', { user: userId, command, text: rest.join(' ') });
      raw = formEncode(prepared.fields);
      cursor = prepared.cursor;
      say(`→ @${handle}: ${text}`);
    }

    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(session.botUrl, {
        method: 'POST',
        headers: slackRequestHeaders(session.signingSecret, Math.floor(Date.now() / 1000), raw),
        body: raw,
        signal: AbortSignal.timeout(BOT_TIMEOUT_MS),
      });
    } catch (error) {
      throw new SendError(`the bot at ${session.botUrl} did not answer (${networkReason(error)})`);
    }
    const body = await response.text();
    const ms = Math.round(performance.now() - started);
    if (response.status !== 200) {
      say(`✗ the bot answered HTTP ${response.status} after ${ms} ms${body ? `: ${body.slice(0, 500)}` : ''}`);
      return 1;
    }
    const immediate = ackText(body);
    say(`✓ acknowledged in ${ms} ms${immediate ? ', with a reply only you see:' : ''}`);
    if (immediate) say(indent(immediate));

    // Then whatever the bot posts where this user can see it, until it goes quiet or the wait is over.
    const deadline = Date.now() + wait * 1000;
    let until = deadline;
    let shown = 0;
    while (Date.now() < until) {
      const answer = await desk<{ events: DeskEvent[]; cursor: number }>(session, 'GET', `/events?after=${cursor}&user=${encodeURIComponent(userId)}&waitMs=${Math.max(0, until - Date.now())}`);
      for (const event of answer.events) {
        say(indent(event.text)); // thread replies render with their own ↳
        shown++;
      }
      cursor = answer.cursor;
      if (answer.events.length > 0) until = Math.min(deadline, Date.now() + QUIET_MS);
    }
    if (shown === 0 && !immediate) say(`    (no reply you can see within ${wait} s)`);
    return 0;
  } catch (error) {
    if (error instanceof SessionError || error instanceof SendError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
