import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gitRepositorySchema } from '../../src/git/config-schema.js';
import { GIT_WEBHOOK_PATH, gitWebhookRoute, type GitPush, type GitWebhookOptions } from '../../src/git/push-webhook.js';
import { gitlabHeaders, gitlabPush, githubForm, githubHeaders, githubPing, githubPush, HEAD, SECRET } from '../helpers/git-webhooks.js';

// As the configuration loader gives them.
const REPOSITORIES = [
  gitRepositorySchema.parse({ name: 'shop-policies', url: 'git@github.com:shop/policies.git' }),
  gitRepositorySchema.parse({ name: 'platform', url: 'https://gitlab.shop.example/platform/policies.git', branch: 'production', paths: ['policies'] }),
];
const LIMIT = 64 * 1024;

interface Served {
  url: string;
  pushes: GitPush[];
  logs: string[];
  close(): Promise<void>;
}

/** A real HTTP server on loopback serving the route the way Bolt's HTTPReceiver does (path and method). */
async function serve(onPush: (push: GitPush) => Promise<void> = async () => undefined, options: Partial<GitWebhookOptions> = {}): Promise<Served> {
  const pushes: GitPush[] = [];
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const route = gitWebhookRoute({
    secret: SECRET,
    repositories: REPOSITORIES,
    maxBodyBytes: LIMIT,
    logger,
    onPush: async (push) => {
      pushes.push(push);
      await onPush(push);
    },
    ...options,
  });
  const server: Server = createServer((req, res) => {
    if (req.url !== route.path) return void res.writeHead(404).end();
    if (!route.method.includes(req.method ?? '')) return void res.writeHead(405).end();
    route.handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${GIT_WEBHOOK_PATH}`;
  return {
    url,
    pushes,
    logs,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Answer {
  status: number;
  json: Record<string, unknown>;
  headers: IncomingHttpHeaders;
}

function post(url: string, body: string | Buffer, headers: Record<string, string>, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A sender written over a raw socket (as GitHub's or an attacker's would be, not Node's client):
 * the body in HTTP chunks of `chunk`, without a Content-Length, until the server answers or
 * `total` bytes are sent. `stopOnAnswer` false goes on writing after the answer, as a hostile
 * sender would; `cut` tells that the server closed the connection before the body was complete.
 */
function stream(
  url: string,
  headers: Record<string, string>,
  chunk: Buffer,
  total: number,
  options: { stopOnAnswer?: boolean; paceMs?: number } = {},
): Promise<{ status?: number; sent: number; cut: boolean }> {
  const { stopOnAnswer = true, paceMs = 0 } = options;
  return new Promise((resolve) => {
    let sent = 0;
    let status: number | undefined;
    let complete = false;
    let done = false;
    let answer = '';
    const finish = (cut: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ status, sent, cut });
    };
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.on('data', (data: Buffer) => {
      answer += data.toString('latin1');
      status ??= Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]) || undefined;
      if (status !== undefined && stopOnAnswer) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(!complete));
    const head = [`POST ${GIT_WEBHOOK_PATH} HTTP/1.1`, 'host: 127.0.0.1', 'transfer-encoding: chunked', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const pump = () => {
      while (!done && sent < total) {
        sent += chunk.length;
        if (!socket.write(framed)) return void socket.once('drain', pump);
        if (paceMs > 0) return void setTimeout(pump, paceMs);
      }
      if (done) return;
      complete = true;
      socket.end('0\r\n\r\n');
    };
    pump();
  });
}

function githubDelivery(payload: unknown, event = 'push'): [string, Record<string, string>] {
  const body = JSON.stringify(payload);
  return [body, githubHeaders(body, event)];
}

let s: Served;
beforeAll(async () => {
  s = await serve();
});
afterAll(() => s.close());
beforeEach(() => {
  s.pushes.length = 0;
});

describe('POST /webhooks/git from GitHub', () => {
  it('hands a signed push on once and answers 202', async () => {
    const [body, headers] = githubDelivery(githubPush());
    const answer = await post(s.url, body, headers);
    expect(answer.status).toBe(202);
    expect(answer.json).toEqual({ ok: true, accepted: [{ repository: 'shop-policies', branch: 'main', commit: HEAD }] });
    expect(s.pushes).toEqual([{ repository: 'shop-policies', branch: 'main', commit: HEAD, provider: 'github' }]);
  });

  it('takes the form content type, signed over the form body', async () => {
    const form = githubForm(githubPush());
    const answer = await post(s.url, form, githubHeaders(form, 'push', { contentType: 'application/x-www-form-urlencoded' }));
    expect(answer.status).toBe(202);
    expect(s.pushes).toHaveLength(1);
  });

  it('answers the ping with 200 and ignores other events and branches with the reason, handing nothing on', async () => {
    expect(await post(s.url, ...githubDelivery(githubPing(), 'ping'))).toMatchObject({ status: 200, json: { ok: true, event: 'ping' } });
    expect(await post(s.url, ...githubDelivery({ action: 'created' }, 'star'))).toMatchObject({ status: 200, json: { ok: true, ignored: 'event "star" is not a push' } });
    expect(await post(s.url, ...githubDelivery(githubPush({ ref: 'refs/heads/feature/x' })))).toMatchObject({
      status: 200,
      json: { ok: true, ignored: 'branch "feature/x" is not tracked (the configuration follows main)' },
    });
    expect(await post(s.url, ...githubDelivery(githubPush({ fullName: 'shop/website' })))).toMatchObject({ status: 200, json: { ignored: 'repository "shop/website" is not configured' } });
    expect(s.pushes).toEqual([]);
  });

  it('answers 401 to a wrong, missing or SHA-1-only signature and to a body changed after signing, handing nothing on', async () => {
    const [body, headers] = githubDelivery(githubPush());
    const wrong = await post(s.url, body, githubHeaders(body, 'push', { secret: 'not-the-secret-0123456789' }));
    expect(wrong).toMatchObject({ status: 401, json: { ok: false, error: 'X-Hub-Signature-256 does not match the body (check the secret)' } });
    const { 'x-hub-signature-256': _sig, ...sha1Only } = headers;
    expect((await post(s.url, body, sha1Only)).status).toBe(401);
    const { 'x-hub-signature': _sha1, ...unsigned } = sha1Only;
    expect((await post(s.url, body, unsigned)).status).toBe(401);
    expect((await post(s.url, body.replace('refs/heads/main', 'refs/heads/mail'), headers)).status).toBe(401);
    expect(s.pushes).toEqual([]);
  });

  it('answers 400 to a signed body that is not a push event', async () => {
    const broken = '{"ref":"refs/heads/main",';
    expect(await post(s.url, broken, githubHeaders(broken))).toMatchObject({ status: 400, json: { ok: false, error: 'payload is not valid JSON' } });
    const [noAfter, headers] = githubDelivery({ ...githubPush(), after: undefined });
    const answer = await post(s.url, noAfter, headers);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(/^payload lacks what a push event has: after: /);
    expect(s.pushes).toEqual([]);
  });
});

describe('POST /webhooks/git from GitLab', () => {
  it('hands a push with the right token on once and answers 202', async () => {
    const body = JSON.stringify(gitlabPush({ ref: 'refs/heads/production' }));
    const answer = await post(s.url, body, gitlabHeaders());
    expect(answer).toMatchObject({ status: 202, json: { ok: true, accepted: [{ repository: 'platform', branch: 'production', commit: HEAD }] } });
    expect(s.pushes).toEqual([{ repository: 'platform', branch: 'production', commit: HEAD, provider: 'gitlab' }]);
  });

  it('answers 401 to a wrong or missing token and ignores another branch', async () => {
    const body = JSON.stringify(gitlabPush({ ref: 'refs/heads/production' }));
    expect(await post(s.url, body, gitlabHeaders('Push Hook', 'wrong-token-0123456789'))).toMatchObject({ status: 401, json: { ok: false, error: 'X-Gitlab-Token does not match the secret' } });
    expect(await post(s.url, body, gitlabHeaders('Push Hook', null))).toMatchObject({ status: 401, json: { error: 'X-Gitlab-Token missing' } });
    expect(await post(s.url, JSON.stringify(gitlabPush()), gitlabHeaders())).toMatchObject({ status: 200, json: { ignored: 'branch "main" is not tracked (the configuration follows production)' } });
    expect(s.pushes).toEqual([]);
  });

  it('refuses a wrong token from the headers, before the body has been sent', async () => {
    const answered = await stream(s.url, { ...gitlabHeaders('Push Hook', 'wrong-token-0123456789'), 'content-type': 'application/json' }, Buffer.alloc(1024, 0x20), 1024 * 1024, { paceMs: 5 });
    expect(answered.status).toBe(401);
    expect(answered.sent).toBeLessThan(1024 * 1024);
    expect(s.pushes).toEqual([]);
  });
});

describe('limits and failures', () => {
  it('answers 413 to a body declared larger than the limit, and to one streamed in chunks past it, then goes on serving', async () => {
    const big = JSON.stringify({ ...githubPush(), padding: 'x'.repeat(LIMIT) });
    expect(await post(s.url, big, githubHeaders(big))).toMatchObject({ status: 413, json: { ok: false, error: `body larger than ${LIMIT} bytes` } });
    const chunked = await stream(s.url, githubHeaders(big), Buffer.alloc(16 * 1024, 0x41), 4 * LIMIT, { stopOnAnswer: false });
    expect(chunked).toMatchObject({ status: 413, cut: false });
    // The answer comes as soon as the limit is passed, not after a sender that never stops.
    const endless = await stream(s.url, githubHeaders(big), Buffer.alloc(64 * 1024, 0x41), 256 * 1024 * 1024);
    expect(endless.status).toBe(413);
    expect(endless.sent).toBeLessThan(64 * 1024 * 1024);
    expect(s.pushes).toEqual([]);
    expect((await post(s.url, ...githubDelivery(githubPush()))).status).toBe(202);
  });

  it('cuts a sender that keeps streaming after the 413', async () => {
    const hostile = await stream(s.url, githubHeaders('x'), Buffer.alloc(256 * 1024, 0x41), 128 * 1024 * 1024, { stopOnAnswer: false });
    expect(hostile.status).toBe(413);
    expect(hostile.cut).toBe(true);
    expect(hostile.sent).toBeLessThan(128 * 1024 * 1024);
  });

  it('answers 500 when onPush fails or takes too long, after calling it once', async () => {
    const failing = await serve(() => Promise.reject(new Error('queue unavailable')));
    const slow = await serve(() => new Promise((resolve) => setTimeout(resolve, 2000)), { pushDeadlineMs: 100 });
    try {
      const failed = await post(failing.url, ...githubDelivery(githubPush()));
      expect(failed).toMatchObject({ status: 500, json: { ok: false, error: 'could not handle the push for shop-policies; the next fetch will pick it up' } });
      expect(failing.pushes).toHaveLength(1);
      const started = Date.now();
      expect((await post(slow.url, ...githubDelivery(githubPush()))).status).toBe(500);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(slow.pushes).toHaveLength(1);
    } finally {
      await failing.close();
      await slow.close();
    }
  });

  it('answers only once onPush has finished', async () => {
    const order: string[] = [];
    const waiting = await serve(async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      order.push('onPush done');
    });
    try {
      const answer = await post(waiting.url, ...githubDelivery(githubPush()));
      order.push(`answered ${answer.status}`);
      expect(order).toEqual(['onPush done', 'answered 202']);
    } finally {
      await waiting.close();
    }
  });

  it('logs refusals as warnings and never the secret or the body', async () => {
    const logged = await serve();
    try {
      const [body, headers] = githubDelivery(githubPush());
      await post(logged.url, body, headers);
      await post(logged.url, body, githubHeaders(body, 'push', { secret: 'not-the-secret-0123456789' }));
      await post(logged.url, JSON.stringify(gitlabPush()), gitlabHeaders('Push Hook', `${SECRET}-wrong`));
      await post(logged.url, '{"ref":', githubHeaders('{"ref":'));
      const lines = logged.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.filter((l) => l.level === 40 && l.status === 401).map((l) => l.reason)).toEqual([
        'X-Hub-Signature-256 does not match the body (check the secret)',
        'X-Gitlab-Token does not match the secret',
      ]);
      expect(lines.some((l) => l.msg === 'git webhook: push received' && l.repository === 'shop-policies' && l.commit === HEAD)).toBe(true);
      const all = logged.logs.join('\n');
      expect(all).not.toContain(SECRET);
      expect(all).not.toContain('allow web to reach the API');
      expect(all).not.toContain('alice@shop.example');
    } finally {
      await logged.close();
    }
  });

  it('is a POST route at /webhooks/git and needs a secret', () => {
    const route = gitWebhookRoute({ secret: SECRET, repositories: [], onPush: async () => undefined, logger: pino({ level: 'silent' }) });
    expect({ path: route.path, method: route.method }).toEqual({ path: '/webhooks/git', method: ['POST'] });
    expect(() => gitWebhookRoute({ secret: '', repositories: [], onPush: async () => undefined, logger: pino({ level: 'silent' }) })).toThrow(/NETPOL_GIT_WEBHOOK_SECRET/);
  });
});
