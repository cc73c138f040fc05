import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../src/sim/kube/audit.js';
import { AuditWebhookSender } from '../../../src/sim/kube/audit-webhook.js';
import { silentLogger } from '../../../src/log.js';
import { startBot } from '../../../src/runtime.js';
import type { EmbeddedEnvironment } from '../../../src/sim/environment.js';
import { startTestEnvironment } from '../../helpers/environment.js';
import { auditEvent, auditLine } from '../../helpers/audit-events.js';

const run = promisify(execFile);

interface Received {
  auth: string | undefined;
  body: { kind: string; apiVersion: string; items: Record<string, unknown>[] };
}

/** A webhook receiver that answers with the statuses given, in turn (then 200). */
async function receiver(statuses: number[] = []): Promise<{ url: string; got: Received[]; close: () => Promise<void> }> {
  const got: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'] });
      res.writeHead(statuses.shift() ?? 200).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/k8s-audit`, got, close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

const events = (n: number) => Array.from({ length: n }, (_, i) => auditEvent({ auditID: `s-${i}` }) as unknown as AuditEvent);

describe("the simulated apiserver's audit webhook backend", () => {
  it('sends batches of at most 400 events, the rest after the wait, as an EventList with the bearer token', async () => {
    const r = await receiver();
    try {
      const sender = new AuditWebhookSender({ url: r.url, token: 'tok-0123456789abcdef', batchMaxWaitMs: 30 });
      for (const e of events(450)) sender.add(e);
      await new Promise((res) => setTimeout(res, 150));
      await sender.flush();
      expect(r.got.map((g) => g.body.items.length)).toEqual([400, 50]);
      expect(r.got[0]?.auth).toBe('Bearer tok-0123456789abcdef');
      expect(r.got[0]?.body).toMatchObject({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1' });
      expect(r.got[0]?.body.items[0]).not.toHaveProperty('kind');
      expect(r.got[0]?.body.items[0]).not.toHaveProperty('apiVersion');
      expect(r.got[0]?.body.items[0]).toMatchObject({ auditID: 's-0', verb: 'patch' });
      expect(sender.stats).toMatchObject({ batches: 2, events: 450, dropped: 0 });
    } finally {
      await r.close();
    }
  });

  it('sends a batch again after 500/504/429, and drops it after any other refusal or a refused connection', async () => {
    const r = await receiver([500, 504, 429, 200, 400, 401]);
    try {
      const sender = new AuditWebhookSender({ url: r.url, token: 't', initialBackoffMs: 5 });
      for (const e of events(3)) sender.add(e);
      await sender.flush();
      expect(sender.stats).toMatchObject({ batches: 1, events: 3, retries: 3, dropped: 0 });
      for (const e of events(2)) sender.add(e);
      await sender.flush();
      for (const e of events(1)) sender.add(e);
      await sender.flush();
      expect(sender.stats).toMatchObject({ batches: 1, retries: 3, dropped: 3, lastError: 'HTTP 401' });
    } finally {
      await r.close();
    }
    // A port nobody listens on (never connected to before, so no pooled connection either).
    const spare = createServer();
    await new Promise<void>((res) => spare.listen(0, '127.0.0.1', res));
    const port = (spare.address() as AddressInfo).port;
    await new Promise((res) => spare.close(res));
    const gone = new AuditWebhookSender({ url: `http://127.0.0.1:${port}/webhooks/k8s-audit`, token: 't', initialBackoffMs: 5 });
    gone.add(events(1)[0] as AuditEvent);
    await gone.flush();
    expect(gone.stats).toMatchObject({ dropped: 1, retries: 0, lastError: 'ECONNREFUSED' });
  });
});

describe('the embedded environment: kubectl against the simulated cluster, audit evidence at the bot', () => {
  let env: EmbeddedEnvironment;
  beforeAll(async () => {
    env = await startTestEnvironment();
  }, 60_000);
  afterAll(() => env?.stop());

  it('stores who patched a NetworkPolicy with kubectl, shows a refused delete apart, and ignores reads and dry runs', async () => {
    const kubectl = (...args: string[]) => run('/usr/bin/kubectl', ['--kubeconfig', env.kubeconfigPath, ...args], { timeout: 20_000 });
    const started = new Date(Date.now() - 1000).toISOString();
    await kubectl('-n', 'db', 'patch', 'networkpolicy', 'allow-db-from-api', '--type=merge', '-p', '{"metadata":{"labels":{"traced":"yes"}}}');
    await kubectl('-n', 'db', 'get', 'networkpolicy', 'allow-db-from-api');
    await kubectl('-n', 'db', 'label', 'networkpolicy', 'allow-db-from-api', 'dry=run', '--dry-run=server');
    env.kube.deny({ verb: 'delete', resource: 'networkpolicies' });
    await expect(kubectl('-n', 'db', 'delete', 'networkpolicy', 'allow-db-from-api')).rejects.toThrow(/forbidden/i);
    await new Promise((r) => setTimeout(r, 100)); // audit events are written when the response closes
    await env.kube.flushAuditWebhook();

    const changes = await env.bot!.audit.query({ since: started, namespaces: ['db'], resources: ['networkpolicies'] });
    expect(changes.map((c) => [c.verb, c.tool, c.refused, c.objectRef.name])).toEqual([
      ['patch', 'kubectl', false, 'allow-db-from-api'],
      ['delete', 'kubectl', true, 'allow-db-from-api'],
    ]);
    const [patch] = changes;
    expect(patch?.userAgent).toMatch(/^kubectl\/v\d+\.\d+\.\d+ \(linux\/\w+\) kubernetes\/\w+$/);
    expect(patch?.fieldManager).toBe('kubectl-patch');
    expect(patch?.requestObject).toEqual({ metadata: { labels: { traced: 'yes' } } });
    expect((patch?.responseObject as { metadata: { labels: Record<string, string> } }).metadata.labels).toMatchObject({ traced: 'yes' });
    expect(patch?.user.username).toBe('netpol-sim-admin');
  });

  it('follows the audit log file in a process configured with audit.logFile (a watcher on a control-plane node)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npr-audit-log-'));
    const path = join(dir, 'audit.log');
    const time = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
    writeFileSync(path, auditLine({ auditID: 'from-file-1', namespace: 'web', time: time(5000) }) + '\n');
    const bot = await startBot({
      config: { ...env.config, roles: ['watcher'], audit: { ...env.config.audit, logFile: { path, history: true, pollInterval: 50, maxLineBytes: 1_048_576 } } },
      logger: silentLogger,
    });
    try {
      appendFileSync(path, auditLine({ auditID: 'from-file-2', namespace: 'web', time: time(1000), userAgent: 'Helm/3.14.0' }) + '\n');
      const deadline = Date.now() + 10_000;
      let found: string[] = [];
      while (Date.now() < deadline) {
        found = (await bot.audit.query({ since: time(60_000), namespaces: ['web'] })).map((c) => `${c.auditID} ${c.tool}`);
        if (found.length === 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(found).toEqual(['from-file-1 kubectl', 'from-file-2 helm']);
      // The web role's bot reads the same store.
      expect((await env.bot!.audit.query({ since: time(60_000), namespaces: ['web'] })).map((c) => c.auditID)).toEqual(['from-file-1', 'from-file-2']);
    } finally {
      await bot.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
