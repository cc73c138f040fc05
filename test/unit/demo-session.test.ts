// The demo's session file holds the signing secret: private directory, mode 600, refused when
// anyone else could have read or written it, removed only by the demo that wrote it.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSessionPath, readSession, SessionError, sessionProcessAlive, writeSession, type DemoSession } from '../../src/sim/demo-session.js';

const session = (token = 'a'.repeat(64)): DemoSession => ({
  version: 1,
  pid: process.pid,
  startedAt: '2026-12-01T00:00:00.000Z',
  botUrl: 'http://127.0.0.1:3000/slack/events',
  signingSecret: 'demo-signing-secret-0123456789',
  channel: 'C0INCIDENTS',
  users: { alice: 'U0ALICE', bob: 'U0BOB' },
  desk: { url: 'http://127.0.0.1:4000', token },
});
const privateDir = (): string => {
  const dir = join(mkdtempSync(join(tmpdir(), 'netpol-session-')), 'private');
  return dir;
};
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof SessionError) return error.message;
    throw error;
  }
  throw new Error('expected a SessionError');
};

describe('demo session file', () => {
  it('is written 600 in a 700 directory, read back, and removed by its writer only', () => {
    const path = join(privateDir(), 'demo.json');
    const remove = writeSession(path, session());
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(readSession(path)).toEqual(session());
    // another demo took the path: the first one's clean-up leaves it alone
    writeSession(path, session('b'.repeat(64)));
    remove();
    expect(readSession(path).desk.token).toBe('b'.repeat(64));
    writeSession(path, session())();
    expect(refusal(() => readSession(path))).toMatch(/^no demo session at .*demo --keep-running/);
  });

  it('refuses files and directories others could read or write, symbolic links, and what is not a session', () => {
    const dir = privateDir();
    const path = join(dir, 'demo.json');
    writeSession(path, session());
    chmodSync(path, 0o644);
    expect(refusal(() => readSession(path))).toContain('group or others can read or write it (mode 644)');
    chmodSync(path, 0o600);
    chmodSync(dir, 0o755);
    expect(refusal(() => readSession(path))).toContain('it must be 700');
    expect(() => writeSession(path, session())).toThrow(/it must be 700/);
    chmodSync(dir, 0o700);
    const link = join(dir, 'link.json');
    symlinkSync(path, link);
    expect(refusal(() => readSession(link))).toContain('not a regular file');
    const bad = (name: string, content: string): string => {
      const file = join(dir, name);
      writeFileSync(file, content, { mode: 0o600 });
      return refusal(() => readSession(file));
    };
    expect(bad('garbage.json', '{not json')).toContain('not JSON');
    expect(bad('array.json', '[]')).toContain('is not a demo session');
    expect(bad('remote.json', JSON.stringify({ ...session(), botUrl: 'http://203.0.113.5:3000/slack/events' }))).toContain('botUrl: the bot must be on 127.0.0.1');
    expect(bad('extra.json', JSON.stringify({ ...session(), command: 'rm -rf /' }))).toContain('is not a demo session');
    expect(bad('big.json', ' '.repeat(70_000))).toContain('is not a demo session');
    expect(readFileSync(path, 'utf8')).toContain('"version": 1');
  });

  it('is found through NETPOL_DEMO_SESSION, else in a per-user directory', () => {
    expect(defaultSessionPath({ NETPOL_DEMO_SESSION: '/x/y.json' })).toBe('/x/y.json');
    expect(defaultSessionPath({ XDG_RUNTIME_DIR: '/run/user/7' })).toMatch(/^\/run\/user\/7\/netpol-responder-\d+\/demo-session\.json$/);
  });

  it('tells a session of a running process from one left by a dead one', () => {
    expect(sessionProcessAlive(session())).toBe(true);
    expect(sessionProcessAlive({ ...session(), pid: 2 ** 22 + 12345 })).toBe(false);
  });

  it('creates the private directory when it is missing', () => {
    const dir = join(privateDir(), 'a', 'b');
    mkdirSync(join(dir, '..'), { recursive: true, mode: 0o700 });
    writeSession(join(dir, 's.json'), session());
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});
