// `demo send` refuses bad arguments with the reason and usage, before it talks to anything.
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/commands/demo-send.js';
import { writeSession } from '../../src/sim/demo-session.js';

// A session of this very process whose desk and bot are nowhere: argument checks must fail first.
const session = join(mkdtempSync(join(tmpdir(), 'netpol-send-args-')), 'private', 'demo.json');
let closedPort = 0;
beforeAll(async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  writeSession(session, {
    version: 1,
    pid: process.pid,
    startedAt: '2026-12-01T00:00:00.000Z',
    botUrl: `http://127.0.0.1:${closedPort}/slack/events`,
    signingSecret: 'demo-signing-secret-0123456789',
    channel: 'C0INCIDENTS',
    users: { alice: 'U0ALICE', bob: 'U0BOB' },
    desk: { url: `http://127.0.0.1:${closedPort}`, token: 'a'.repeat(64) },
  });
});

async function capture(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const code = await run([...args, '--session', session]);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}
afterEach(() => vi.restoreAllMocks());

describe('demo send arguments', () => {
  it.each([
    [[], 'what to send?'],
    [['status'], '"status" is not a slash command'],
    [['/netpol status', '--as', 'eve'], '--as: unknown user "eve" (the demo has alice (U0ALICE), bob (U0BOB))'],
    [['--click', 'explode'], '--click: unknown button "explode" (valid: approve, reject, open, dismiss)'],
    [['--click', 'approve', '/netpol status'], '--click takes no command text'],
    [['/netpol status', '--incident', '20261201-abcdef'], '--incident goes with --click approve or --click reject'],
    [['--click', 'approve', '--incident', '../x'], '"../x" is not an incident id'],
    [['/netpol status', '--wait', '1000'], '--wait: seconds from 0 to 60'],
    [['/netpol status', '--wait', 'soon'], '--wait: seconds from 0 to 60'],
    [['/netpol status', '--wait=-1'], '--wait: seconds from 0 to 60'],
    [['/netpol status', '--frobnicate'], "Unknown option '--frobnicate'"],
    [[`/netpol ${'\u001b[2J'.repeat(100)}`, '--as', 'x'.repeat(500)], '--as: unknown user'],
  ])('refuses %j with the reason and usage (exit 2)', async (args, message) => {
    const result = await capture(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('usage: netpol-responder demo send');
    expect(result.stderr).not.toContain('\u001b');
    expect(result.stdout).toBe('');
  });

  it('accepts an unquoted command and a user id, and then reports the unreachable desk (exit 1)', async () => {
    const result = await capture(['/netpol', 'status', '--as', 'U0BOB']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`cannot reach the demo's desk at http://127.0.0.1:${closedPort} (ECONNREFUSED): is the demo (pid ${process.pid}) still running?\n`);
  });
});
