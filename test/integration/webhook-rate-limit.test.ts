// The webhook routes behind the per-sender rate limit, over real HTTP on loopback, with the
// counters in the test Redis: two "web replicas" (two servers, two limiters, two connections)
// share one count; a refused request stores nothing; another client address keeps its own count.
import type { Redis } from 'ioredis';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../src/audit/store.js';
import { AUDIT_WEBHOOK_PATH, auditWebhookRoute } from '../../src/audit/webhook-route.js';
import { gitRepositorySchema } from '../../src/git/config-schema.js';
import { GIT_WEBHOOK_PATH, gitWebhookRoute, type GitPush } from '../../src/git/push-webhook.js';
import { silentLogger } from '../../src/log.js';
import { rateLimitRoutes, WebhookRateLimiter, type WebhookLimit } from '../../src/webhook-rate-limit.js';
import { auditEvent, eventList } from '../helpers/audit-events.js';
import { githubHeaders, githubPush, SECRET } from '../helpers/git-webhooks.js';
import { redisConnections, uniquePrefix } from '../helpers/redis.js';

const TOKEN = 'audit-token-0123456789abcdef';
const LIMIT: WebhookLimit = { requests: 4, windowSeconds: 60 };
const connect = redisConnections();
/** A connection that is ready, as the web role's is once it serves (a connecting one is not used for counting). */
async function liveRedis(): Promise<Redis> {
  const redis = connect();
  await redis.ping();
  return redis;
}
const since = () => new Date(Date.now() - 3_600_000).toISOString();

interface Replica {
  base: string;
  close(): Promise<void>;
}

interface Deployment {
  prefix: string;
  store: AuditStore;
  pushes: GitPush[];
  replicas: Replica[];
}

/** One deployment: one audit store and push log, `replicas` servers each with its own limiter and Redis connection. */
async function deploy(replicas: number, redisFor: () => Promise<Redis> = liveRedis): Promise<Deployment> {
  // As the runtime passes it: the configured redis.keyPrefix, no trailing ':'.
  const prefix = uniquePrefix('whrl');
  const store = new AuditStore(connect(), prefix, { maxAgeMs: 86_400_000, maxEntries: 1000 });
  const pushes: GitPush[] = [];
  const served: Replica[] = [];
  for (let i = 0; i < replicas; i++) {
    const limiter = new WebhookRateLimiter({ redis: await redisFor(), keyPrefix: prefix, limits: { [AUDIT_WEBHOOK_PATH]: LIMIT, [GIT_WEBHOOK_PATH]: LIMIT }, logger: silentLogger });
    const routes = rateLimitRoutes(
      [
        auditWebhookRoute({ token: TOKEN, store, maxBodyBytes: 64 * 1024, logger: silentLogger }),
        gitWebhookRoute({
          secret: SECRET,
          repositories: [gitRepositorySchema.parse({ name: 'shop-policies', url: 'git@github.com:shop/policies.git' })],
          onPush: async (push) => void pushes.push(push),
          logger: silentLogger,
        }),
      ],
      limiter,
      silentLogger,
    );
    // Routed the way Bolt's HTTPReceiver routes customRoutes: by path and method.
    const server: Server = createServer((req, res) => {
      const route = routes.find((r) => r.path === req.url && req.method === 'POST');
      if (route) void route.handler(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    served.push({ base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) });
  }
  return { prefix, store, pushes, replicas: served };
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
  json: Record<string, unknown>;
}

/** A POST from a chosen loopback source address (127.0.0.0/8 is all local on Linux). */
function post(url: string, body: string, headers: Record<string, string>, from = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', localAddress: from, agent: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const retry = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, retryAfter: retry, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const auditBatch = (id: string) => eventList([auditEvent({ auditID: id, time: new Date(Date.now() - 60_000).toISOString() })]);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const storedIds = async (store: AuditStore) => (await store.query({ since: since() })).map((c) => c.auditID).sort();

let deployments: Deployment[] = [];
beforeAll(() => {
  deployments = [];
});
afterAll(async () => {
  for (const d of deployments) for (const r of d.replicas) await r.close();
});
async function deployed(replicas: number, redisFor?: () => Promise<Redis>): Promise<Deployment> {
  const d = await deploy(replicas, redisFor);
  deployments.push(d);
  return d;
}

describe('webhook routes behind the per-sender rate limit', () => {
  it('refuses a wrong token with 401 and stores nothing; takes the right one', async () => {
    const { store, replicas } = await deployed(1);
    const url = `${replicas[0]!.base}${AUDIT_WEBHOOK_PATH}`;
    // Three wrong ones and the right one: within the limit of four.
    for (const token of [`${TOKEN}x`, TOKEN.slice(0, -1), 'audit-tökén-0123456789abcdef']) {
      const refused = await post(url, auditBatch(`bad-${token.length}`), bearer(token));
      expect(refused.status).toBe(401);
    }
    expect(await storedIds(store)).toEqual([]);
    expect((await post(url, auditBatch('good'), bearer(TOKEN))).status).toBe(200);
    expect(await storedIds(store)).toEqual(['good']);
  });

  it('answers a burst past the limit with 429 and Retry-After, counted across two replicas, storing none of the refused', async () => {
    const { prefix, store, replicas } = await deployed(2);
    const answers: Answer[] = [];
    // Alternate between the replicas: the count is shared through Redis, not per process.
    for (let i = 0; i < 8; i++) answers.push(await post(`${replicas[i % 2]!.base}${AUDIT_WEBHOOK_PATH}`, auditBatch(`burst-${i}`), bearer(TOKEN)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);
    for (const refused of answers.slice(4)) {
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(refused.retryAfter)).toBeLessThanOrEqual(LIMIT.windowSeconds);
      expect(refused.json).toMatchObject({ ok: false });
    }
    expect(await storedIds(store)).toEqual(['burst-0', 'burst-1', 'burst-2', 'burst-3']);
    // The counters live under the deployment's prefix, like every other key.
    const counters = await connect().keys(`${prefix}:webhook-rate:*`);
    expect(counters.length).toBeGreaterThan(0);
    expect(await connect().keys(`${prefix}webhook-rate*`)).toEqual([]);

    // Another client address has its own count, on either replica.
    const other = await post(`${replicas[1]!.base}${AUDIT_WEBHOOK_PATH}`, auditBatch('other-source'), bearer(TOKEN), '127.0.0.2');
    expect(other.status).toBe(200);
    expect(await storedIds(store)).toContain('other-source');
  });

  it('counts wrong tokens too, so a guesser is stopped before the comparison', async () => {
    const { store, replicas } = await deployed(1);
    const url = `${replicas[0]!.base}${AUDIT_WEBHOOK_PATH}`;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(url, auditBatch(`guess-${i}`), bearer(`guess-${i}`), '127.0.0.3')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    // Even the right token is refused from that sender until the window passes.
    expect((await post(url, auditBatch('right-but-late'), bearer(TOKEN), '127.0.0.3')).status).toBe(429);
    expect(await storedIds(store)).toEqual([]);
  });

  it('limits each route on its own: a flood of one route leaves the other open to the same sender', async () => {
    const { pushes, replicas } = await deployed(2);
    const body = JSON.stringify(githubPush());
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(`${replicas[i % 2]!.base}${GIT_WEBHOOK_PATH}`, body, githubHeaders(body), '127.0.0.4')).status);
    expect(statuses).toEqual([202, 202, 202, 202, 429, 429]);
    expect(pushes).toHaveLength(4);
    expect((await post(`${replicas[0]!.base}${AUDIT_WEBHOOK_PATH}`, auditBatch('after-git-flood'), bearer(TOKEN), '127.0.0.4')).status).toBe(200);
  });

  it('without Redis, each replica still limits with a counter of its own', async () => {
    // A connection to a port nothing listens on: never ready.
    const { Redis } = await import('ioredis');
    const dead: Redis[] = [];
    const deadRedis = async () => {
      const r = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: false, maxRetriesPerRequest: 0, retryStrategy: () => 1000 });
      r.on('error', () => undefined);
      dead.push(r);
      return r;
    };
    try {
      const { store, replicas } = await deployed(1, deadRedis);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await post(`${replicas[0]!.base}${AUDIT_WEBHOOK_PATH}`, auditBatch(`offline-${i}`), bearer(TOKEN), '127.0.0.5')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      expect(await storedIds(store)).toHaveLength(4);
    } finally {
      for (const r of dead) r.disconnect();
    }
  });
});
