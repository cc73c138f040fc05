// The secret scan of the secrets-not-logged e2e test can fail: a secret logged on purpose (here, not
// in the product) is found as written, in Basic auth's base64 and inside a longer base64 string; the
// logger's redaction censors the fields where the product could put one.
import { describe, expect, it } from 'vitest';
import { createLogger, REDACTED } from '../../src/log.js';
import { findSecrets, lineCollector, secretForms, type Secret } from '../helpers/secret-scan.js';

const TOKEN: Secret = { name: 'git host token', value: 'canary-git-token-7f3a91c2d4e5', basicUsers: ['x-access-token'] };
const SIGNING: Secret = { name: 'signing secret', value: 'canary-signing-secret-b81e44' };

function logged(write: (logger: ReturnType<typeof createLogger>) => void): string[] {
  const { stream, lines } = lineCollector();
  write(createLogger({ level: 'debug' }, stream));
  return lines;
}
const scan = (lines: string[], secrets: Secret[] = [TOKEN, SIGNING]) => findSecrets(lines.map((text, i) => ({ where: `log line ${i + 1}`, text })), secrets);

describe('secret scan (negative control)', () => {
  it('finds a secret logged deliberately in a message, a field or an error', () => {
    const lines = logged((log) => {
      log.info(`pushing with ${TOKEN.value}`);
      log.warn({ detail: { signing: SIGNING.value } }, 'odd field name');
      log.error({ err: new Error(`fetch https://x-access-token:${TOKEN.value}@git.example/repo.git failed`) }, 'push failed');
    });
    const hits = scan(lines);
    expect(hits.map((h) => [h.secret, h.form, h.where])).toEqual(expect.arrayContaining([
      ['git host token', 'plain', 'log line 1'],
      ['signing secret', 'plain', 'log line 2'],
      ['git host token', 'plain', 'log line 3'],
    ]));
  });

  it('finds the Basic auth form and the secret inside any longer base64 string, at every offset', () => {
    const basic = `Basic ${Buffer.from(`x-access-token:${TOKEN.value}`).toString('base64')}`;
    expect(scan([JSON.stringify({ msg: 'request', header: basic })]).map((h) => h.form)).toContain('basic x-access-token');
    for (const prefix of ['', 'a', 'ab', 'abc', 'user:', 'oauth2:']) {
      const wrapped = Buffer.from(`${prefix}${TOKEN.value}!trailer`).toString('base64');
      expect(scan([wrapped], [TOKEN]).length, prefix).toBeGreaterThan(0);
      const urlSafe = Buffer.from(`${prefix}${TOKEN.value}?>>`).toString('base64url');
      expect(scan([urlSafe], [TOKEN]).length, `${prefix} (url-safe)`).toBeGreaterThan(0);
    }
    expect(secretForms(TOKEN).every((f) => f.text.length >= 12)).toBe(true);
  });

  it('finds nothing in lines without the secrets', () => {
    const lines = logged((log) => log.info({ user: 'x-access-token', url: 'https://git.example/repo.git' }, 'pushed'));
    expect(scan(lines)).toEqual([]);
  });
});

describe('logger redaction', () => {
  it('censors secrets in config, headers, bodies and HTTP client errors', () => {
    const octokitError = Object.assign(new Error('Bad credentials'), {
      status: 401,
      request: { method: 'POST', url: 'https://api.github.example/repos/o/r/pulls', headers: { authorization: `token ${TOKEN.value}` } },
      response: { headers: { 'set-cookie': `s=${SIGNING.value}` } },
    });
    const gitbeakerError = Object.assign(new Error('401 Unauthorized'), { cause: { request: { headers: { 'private-token': TOKEN.value } } } });
    const lines = logged((log) => {
      log.info({ config: { secrets: { slackBotToken: TOKEN.value, slackSigningSecret: SIGNING.value }, redis: { url: 'redis://u:p@h' } } }, 'config');
      log.info({ req: { headers: { authorization: `Bearer ${TOKEN.value}`, 'x-slack-signature': SIGNING.value, cookie: SIGNING.value } } }, 'request');
      log.info({ body: { token: TOKEN.value, text: 'hello' } }, 'body');
      log.error({ err: octokitError }, 'pull request failed');
      log.error({ err: gitbeakerError }, 'merge request failed');
      // ioredis puts the failed command on its ReplyError: AUTH's args hold the password.
      log.warn({ err: Object.assign(new Error('WRONGPASS invalid username-password pair'), { command: { name: 'auth', args: ['netpol', SIGNING.value] } }), connection: 'main' }, 'Redis connection error; reconnecting');
      log.info({ repository: 'shop', plan: { secrets: [TOKEN.value], env: { NETPOL_GIT_AUTH_HEADER: `Authorization: Basic ${Buffer.from(`x-access-token:${TOKEN.value}`).toString('base64')}` } } }, 'git auth');
    });
    expect(scan(lines)).toEqual([]);
    expect(lines.join('\n')).toContain(REDACTED);
    expect(JSON.parse(lines[2]!).body).toEqual({ token: REDACTED, text: 'hello' });
  });
});
