// `demo --keep-running` in one child process and `demo send` in others, as two terminals would run
// them: signed slash commands and clicks reach the running bot, and its answers come back.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoSession } from '../../src/sim/demo-session.js';
import { testRedisUrl } from '../helpers/redis.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dir = mkdtempSync(join(tmpdir(), 'netpol-demo-send-'));
const sessionPath = join(dir, 'session', 'demo.json');
const baseEnv = { ...process.env, LOG_LEVEL: 'silent', REDIS_URL: testRedisUrl(), NETPOL_DEMO_SESSION: sessionPath };

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
const send = (...args: string[]): Promise<Run> => cli(['demo', 'send', ...args]);

let demo: ChildProcess;
let demoOut = '';
let demoExit: Promise<number | null>;

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; demo printed:\n${demoOut}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  demo = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'demo', '--keep-running', '--out', join(dir, 'postmortem')], { env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  demo.stdout!.on('data', (d: Buffer) => (demoOut += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (demoOut += d.toString()));
  demoExit = new Promise((resolve) => demo.on('exit', (code) => resolve(code)));
  await until('the demo to keep running', () => demoOut.includes('Press Ctrl-C to stop.'), 90_000);
}, 100_000);

afterAll(async () => {
  if (demo.exitCode === null) demo.kill('SIGKILL');
});

describe('demo send against a running demo', () => {
  it('the demo prints how to use it and writes a private session file', () => {
    expect(demoOut).toContain(`Session: ${sessionPath}`);
    expect(demoOut).toContain("netpol-responder demo send '/netpol status'");
    expect(demoOut).toContain('netpol-responder demo send --click reject --as bob');
    expect(statSync(sessionPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(sessionPath, '..')).mode & 0o777).toBe(0o700);
  });

  it('sends a signed slash command and prints the ephemeral answer', async () => {
    const run = await send('/netpol status');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^→ @alice: \/netpol status\n✓ acknowledged in \d+ ms\n/);
    expect(run.stdout).toMatch(/\(only visible to @alice\): • `[a-z0-9-]+` :large_green_circle: Completed/);
    // the demo's own terminal shows the user's action in the channel
    await until('the action in the demo output', () => demoOut.includes('@alice ran /netpol status'), 5000);
  }, 30_000);

  it('opens an incident, and clicks its buttons as a chosen user: refused for mallory, rejected by bob', async () => {
    const opened = await send('/netpol incident api app=payments -- from demo send');
    expect(opened.code).toBe(0);
    const id = /Opening incident `([a-z0-9-]+)` for pods matching `app=payments` in `api`/.exec(opened.stdout)?.[1];
    expect(id, opened.stdout).toBeDefined();
    expect(opened.stdout).toContain(`# NetworkPolicy incident ${id}`);

    const refused = await send('--click', 'approve', '--as', 'mallory', '--incident', id!);
    expect(refused.code).toBe(0);
    expect(refused.stdout).toContain(`→ @mallory clicks [ approve ] on: NetworkPolicy incident ${id}`);
    expect(refused.stdout).toMatch(/\(only visible to @mallory\): Only approvers .* can approve or reject this step\. Nothing changed\./);

    const rejected = await send('--click', 'reject', '--as', 'U0BOB', '--incident', id!);
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain('Rejected by @bob; nothing was applied');
    const again = await send('--click', 'approve', '--as', 'bob', '--incident', id!);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no message in the channel has the "approve" button for incident ${id}`);
  }, 60_000);

  it('shows the refusal of an unknown namespace straight from the acknowledgement', async () => {
    const run = await send('/netpol', 'incident', 'nope', '--wait', '0');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('with a reply only you see:\n    Namespace `nope` does not exist in the cluster. No incident was opened.');
  }, 30_000);

  it('says --help, and refuses a missing, unsafe or forged session', async () => {
    const help = await send('--help');
    expect([help.code, help.stdout.split('\n')[0]]).toEqual([0, "usage: netpol-responder demo send '/netpol <text>' [--as USER] [--wait SECONDS] [--session FILE]"]);
    const missing = await send('/netpol status', '--session', join(dir, 'nowhere.json'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^no demo session at .*nowhere\.json: start `netpol-responder demo --keep-running` first/);

    const session = JSON.parse(readFileSync(sessionPath, 'utf8')) as DemoSession;
    const other = (name: string, content: DemoSession, mode = 0o600): string => {
      const file = join(dir, 'session', name);
      writeFileSync(file, JSON.stringify(content), { mode });
      chmodSync(file, mode);
      return file;
    };
    const open = await send('/netpol status', '--session', other('open.json', session, 0o644));
    expect(open.stderr).toContain('group or others can read or write it (mode 644)');
    // a wrong signing secret is what an attacker without the session has: the bot refuses it
    const forged = await send('/netpol status', '--session', other('forged.json', { ...session, signingSecret: 'not-the-demo-secret' }));
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(/✗ the bot answered HTTP 401/);
    const wrongDesk = await send('/netpol status', '--session', other('desk.json', { ...session, desk: { ...session.desk, token: 'f'.repeat(64) } }));
    expect(wrongDesk.code).toBe(1);
    expect(wrongDesk.stderr).toContain('this desk answers only the demo session that started it');
    const dead = await send('/netpol status', '--session', other('dead.json', { ...session, pid: 2 ** 22 + 4321 }));
    expect(dead.stderr).toContain('is no longer running');
  }, 60_000);

  it('the desk refuses what a Slack client would never send', async () => {
    const session = JSON.parse(readFileSync(sessionPath, 'utf8')) as DemoSession;
    const desk = (path: string, init: RequestInit = {}) =>
      fetch(`${session.desk.url}${path}`, { ...init, headers: { Authorization: `Bearer ${session.desk.token}`, 'Content-Type': 'application/json', ...init.headers } });
    expect((await desk('/slash-command', { method: 'POST', headers: { Authorization: 'Bearer nope' }, body: '{}' })).status).toBe(401);
    expect((await desk('/nowhere')).status).toBe(404);
    expect((await desk('/slash-command', { method: 'POST', body: '{not json' })).status).toBe(400);
    expect((await desk('/slash-command', { method: 'POST', body: JSON.stringify({ user: 'U0EVE', text: 'status' }) })).status).toBe(400);
    expect((await desk('/slash-command', { method: 'POST', body: JSON.stringify({ user: 'U0ALICE', text: 'x'.repeat(5000) }) })).status).toBe(400);
    expect((await desk('/slash-command', { method: 'POST', body: JSON.stringify({ user: 'U0ALICE', command: 'netpol; rm' }) })).status).toBe(400);
    const huge = await desk('/click', { method: 'POST', body: JSON.stringify({ user: 'U0ALICE', pad: 'x'.repeat(100_000) }) }).catch(() => undefined);
    expect(huge === undefined || huge.status === 413).toBe(true);
    expect((await desk('/events?after=-1&user=U0ALICE')).status).toBe(400);
  }, 30_000);

  it('stops on Ctrl-C and removes the session file; demo send then says there is no session', async () => {
    demo.kill('SIGINT');
    expect(await demoExit).toBe(0);
    expect(existsSync(sessionPath)).toBe(false);
    const run = await send('/netpol status');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no demo session at ${sessionPath}`);
  }, 60_000);
});
