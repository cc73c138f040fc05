// `netpol-responder export` as a child process: Slack user ids become names through the Slack
// stand-in (users.info), and the ids stay, with one line on stderr, when Slack is not there to ask.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';
import { click, DEMO_USERS, openIncident, startTestEnvironment, waitForContained } from '../helpers/environment.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Async, so the Slack stand-in in this process keeps answering while the CLI runs. */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent', SLACK_BOT_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

let env: EmbeddedEnvironment;
let incidentId: string;
let prefix: string;
let dir: string;

function config(apiUrl: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-export-')), 'config.yaml');
  writeFileSync(file, `slack:\n  apiUrl: ${apiUrl}\n  approvers:\n    users: [${DEMO_USERS.approver.id}]\nredis:\n  keyPrefix: ${prefix}\n`);
  return file;
}

async function exportMd(apiUrl: string, token: string): Promise<Run & { md: string }> {
  const out = mkdtempSync(join(dir, 'out-'));
  const run = await cli(['export', incidentId, '--config', config(apiUrl), '--out', out], { REDIS_URL: testRedisUrl(), SLACK_BOT_TOKEN: token });
  const file = join(out, `postmortem-${incidentId}.md`);
  return { ...run, md: existsSync(file) ? readFileSync(file, 'utf8') : '' };
}

/** A port that accepts connections and never answers, like a Slack behind a black hole. */
async function silentServer(): Promise<{ server: Server; url: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { server, url: `http://127.0.0.1:${port}/api/`, sockets };
}

beforeAll(async () => {
  prefix = uniquePrefix('export');
  dir = mkdtempSync(join(tmpdir(), 'netpol-export-'));
  env = await startTestEnvironment({ keyPrefix: prefix });
  const opened = await openIncident(env, 'incident db -- export names');
  incidentId = opened.incidentId;
  await click(env, opened.message, DEMO_USERS.approver.id);
  await waitForContained(env, incidentId);
}, 60_000);
afterAll(() => env?.stop());

describe('export resolves Slack user ids to names', () => {
  it('through the Slack stand-in, as the bot’s own export does', async () => {
    const run = await exportMd(env.slack.apiUrl, env.slack.botToken);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.md).toContain('by @alice');
    expect(run.md).toContain('@bob');
    expect(run.md).not.toMatch(/<@U0(ALICE|BOB)>/);
    const asked = env.slack.calls.filter((c) => c.method === 'users.info').map((c) => c.args.user);
    expect(asked).toEqual(expect.arrayContaining([DEMO_USERS.oncall.id, DEMO_USERS.approver.id]));
  }, 30_000);

  it('keeps the ids and says why when Slack cannot be reached, refuses the token, or no token is set', async () => {
    const closed = await exportMd('http://127.0.0.1:9/api/', env.slack.botToken);
    expect(closed.code).toBe(0);
    expect(closed.stderr).toMatch(/^cannot reach Slack at http:\/\/127\.0\.0\.1:9\/api\/ \(.+\): the postmortem shows Slack user ids instead of names\n$/);
    expect(closed.md).toContain(`<@${DEMO_USERS.oncall.id}>`);

    const refused = await exportMd(env.slack.apiUrl, 'xoxb-not-the-token');
    expect(refused.stderr).toBe('Slack refused SLACK_BOT_TOKEN (invalid_auth): the postmortem shows Slack user ids instead of names\n');
    expect(refused.md).toContain(`<@${DEMO_USERS.approver.id}>`);

    const none = await exportMd(env.slack.apiUrl, '');
    expect(none.stderr).toBe('SLACK_BOT_TOKEN is not set: the postmortem shows Slack user ids instead of names\n');
    expect(none.code).toBe(0);
  }, 60_000);

  it('never hangs on a Slack that accepts the connection and says nothing', async () => {
    const silent = await silentServer();
    try {
      const run = await exportMd(silent.url, 'xoxb-anything');
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/the postmortem shows Slack user ids instead of names\n$/);
      expect(run.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(run.md).toContain(`<@${DEMO_USERS.oncall.id}>`);
      expect(run.ms).toBeLessThan(15_000);
    } finally {
      for (const s of silent.sockets) s.destroy();
      silent.server.close();
    }
  }, 30_000);
});

describe('export --format html', () => {
  it('writes one self-contained page: CSP, chart, three graphs, names resolved', async () => {
    const out = mkdtempSync(join(dir, 'html-'));
    const run = await cli(['export', incidentId, '--format', 'html', '--config', config(env.slack.apiUrl), '--out', out], { REDIS_URL: testRedisUrl(), SLACK_BOT_TOKEN: env.slack.botToken });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const file = join(out, `postmortem-${incidentId}.html`);
    expect(run.stdout).toBe(`${file}\n`);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).toContain('<svg class="chart"');
    expect(html.match(/<svg class="graph"/g)).toHaveLength(3);
    expect(html).toContain('@alice');
    expect(html).not.toMatch(/<script/i);
  }, 30_000);
});

describe('export arguments', () => {
  it('prints usage for --help and -h', async () => {
    for (const flag of ['--help', '-h']) {
      const run = await cli(['export', flag], {});
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('usage: netpol-responder export <incident-id>');
      expect(run.stdout).toContain('users.info');
    }
  }, 30_000);

  it.each([
    ['an unknown format', ['20261123-aaaaaa', '--format', 'pdf'], '--format: unknown format "pdf" (valid: md, json, html)'],
    ['an unknown flag', ['20261123-aaaaaa', '--colour'], "Unknown option '--colour'"],
    ['no id', [], 'which incident?'],
    ['two ids', ['20261123-aaaaaa', '20261123-bbbbbb'], 'one incident id at a time (got 2)'],
    ['a path as id', ['../../etc/passwd'], '"../../etc/passwd" is not an incident id'],
    ['a 5,000-character id', ['a'.repeat(5000)], 'is not an incident id'],
  ])('refuses %s with the reason, usage and exit 2, writing nothing', async (_case, args, message) => {
    const out = mkdtempSync(join(dir, 'bad-'));
    const run = await cli(['export', ...args, '--out', out], { REDIS_URL: testRedisUrl() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('usage: netpol-responder export');
    expect(run.stderr.length).toBeLessThan(3000);
    expect(readdirSync(out)).toEqual([]);
  }, 30_000);
});
