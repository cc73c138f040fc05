import type { Redis } from 'ioredis';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../../src/audit/store.js';
import { auditWebhookRoute, AUDIT_WEBHOOK_PATH, type AuditWebhookOptions } from '../../../src/audit/webhook-route.js';
import { silentLogger } from '../../../src/log.js';
import { auditEvent, eventList, falcoLines } from '../../helpers/audit-events.js';
import { testRedis, uniquePrefix } from '../../helpers/redis.js';

const TOKEN = 'audit-token-0123456789abcdef';
const recent = (minutesAgo = 1) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
let redis: Redis;
beforeAll(() => {
  redis = testRedis();
});
afterAll(() => redis.quit());

async function serve(options: Partial<AuditWebhookOptions> = {}): Promise<{ url: string; store: AuditStore; close: () => Promise<void> }> {
  const store = new AuditStore(redis, uniquePrefix('audit'), { maxAgeMs: 86_400_000, maxEntries: 1000 });
  const route = auditWebhookRoute({ token: TOKEN, store, maxBodyBytes: 64 * 1024, logger: silentLogger, ...options });
  const server: Server = createServer((req, res) => (req.url === AUDIT_WEBHOOK_PATH && req.method === 'POST' ? route.handler(req as never, res) : res.writeHead(404).end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${AUDIT_WEBHOOK_PATH}`;
  return { url, store: (options.store as AuditStore | undefined) ?? store, close: () => new Promise((r) => server.close(() => r())) };
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }, chunked = false) {
  return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers, ...(chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
    req.on('error', reject);
    if (chunked) {
      // Sent in pieces without a Content-Length: the limit is found while reading.
      const data = Buffer.from(body);
      for (let i = 0; i < data.length; i += 16_384) req.write(data.subarray(i, i + 16_384));
      req.end();
    } else req.end(body);
  });
}

const since = () => new Date(Date.now() - 3_600_000).toISOString();

describe('POST /webhooks/k8s-audit', () => {
  it('stores the changes of an EventList as the apiserver sends it, once even when the batch comes again', async () => {
    const s = await serve();
    try {
      const body = eventList([auditEvent({ auditID: 'w-np', time: recent(2) }), auditEvent({ verb: 'get', time: recent() }), auditEvent({ resource: 'pods', time: recent() }), auditEvent({ auditID: 'w-403', code: 403, time: recent() })]);
      const first = await post(s.url, body);
      expect(first).toEqual({ status: 200, json: { ok: true, items: 4, changes: 2, stored: 2, duplicates: 0, expired: 0, skipped: { read: 1, not_watched: 1 } } });
      const again = await post(s.url, body);
      expect(again.json).toMatchObject({ stored: 0, duplicates: 2 });
      expect((await s.store.query({ since: since() })).map((c) => [c.auditID, c.refused])).toEqual([
        ['w-np', false],
        ['w-403', true],
      ]);
    } finally {
      await s.close();
    }
  });

  it("reads the Falco fixtures wrapped in a list (Falco's k8saudit endpoint takes the same body)", async () => {
    const s = await serve({ maxBodyBytes: 1024 * 1024 });
    try {
      const items = falcoLines()
        .filter((l) => l.file !== 'fal_01_003.json')
        .map((l) => JSON.parse(l.line) as Record<string, unknown>);
      const { status, json } = await post(s.url, JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items }));
      // The four namespace changes are from 2018: older than the retention, so not kept.
      expect({ status, json }).toEqual({ status: 200, json: { ok: true, items: 51, changes: 4, stored: 0, duplicates: 0, expired: 4, skipped: { not_watched: 47 } } });
    } finally {
      await s.close();
    }
  });

  it('answers 401 to a missing or wrong token, 400 to a body that is not an EventList, and stores nothing', async () => {
    const s = await serve();
    try {
      const body = eventList([auditEvent({ time: recent() })]);
      expect((await post(s.url, body, {})).status).toBe(401);
      expect((await post(s.url, body, { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
      expect((await post(s.url, body, { authorization: `Basic ${TOKEN}` })).status).toBe(401);
      expect(await post(s.url, '{"kind":"EventList",', { authorization: `Bearer ${TOKEN}` })).toEqual({ status: 400, json: { ok: false, error: 'body is not valid JSON' } });
      expect((await post(s.url, body.replace('"kind":"EventList"', '"kind":"Event"'))).status).toBe(400);
      const v2 = await post(s.url, eventList([auditEvent({ time: recent() })], 'audit.k8s.io/v2'));
      expect(v2.status).toBe(400);
      expect(v2.json.error).toContain('unsupported apiVersion "audit.k8s.io/v2"');
      expect(await s.store.size()).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('answers 413 to a body over the limit, declared or found while reading, and stores nothing', async () => {
    const s = await serve();
    try {
      const big = eventList(Array.from({ length: 60 }, () => auditEvent({ time: recent(), requestObject: { note: 'x'.repeat(2000) } })));
      expect(Buffer.byteLength(big)).toBeGreaterThan(64 * 1024);
      const declared = await post(s.url, big);
      expect(declared.status).toBe(413);
      expect(declared.json.error).toContain('--audit-webhook-batch-max-size');
      expect((await post(s.url, big, { authorization: `Bearer ${TOKEN}` }, true)).status).toBe(413);
      expect(await s.store.size()).toBe(0);
      // The server goes on answering.
      expect((await post(s.url, eventList([auditEvent({ time: recent() })]))).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('skips and counts events of an unknown apiVersion inside a valid list, keeping the rest', async () => {
    const s = await serve();
    try {
      const list = JSON.parse(eventList([auditEvent({ auditID: 'keep', time: recent() }), auditEvent({ time: recent() })])) as { items: Record<string, unknown>[] };
      (list.items[1] as Record<string, unknown>).apiVersion = 'audit.k8s.io/v3';
      const { status, json } = await post(s.url, JSON.stringify(list));
      expect(status).toBe(200);
      expect(json).toMatchObject({ stored: 1, skipped: { unknown_api_version: 1 } });
    } finally {
      await s.close();
    }
  });

  it('answers 500 when the changes cannot be stored, so the apiserver sends the batch again', async () => {
    const failing = { save: () => Promise.reject(new Error('Redis is down')) } as unknown as AuditStore;
    const s = await serve({ store: failing });
    try {
      expect(await post(s.url, eventList([auditEvent({ time: recent() })]))).toEqual({ status: 500, json: { ok: false, error: 'could not store the events; retry' } });
    } finally {
      await s.close();
    }
  });
});
