// Malformed watch events: a hostile API server (a real HTTP server on loopback) lists one good
// NetworkPolicy, then streams garbage lines, events without objects or versions, unknown types,
// objects with bad names, labels or namespaces, absurd nesting, a 5 MB object and an error event.
// The journal must store the good changes (the huge one bounded), refuse the rest with reasons,
// and keep going.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ChangeJournal, JournalWatcher, truncationOf, type AppendResult } from '../../src/journal/index.js';
import { createKubeGateway, loadKubeConfig } from '../../src/kube/index.js';
import { createLogger } from '../../src/log.js';
import { createSelfSignedCertificate } from '../../src/sim/kube/tls.js';
import { testRedis, uniquePrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/journal-cluster.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function policy(name: string, rv: string, extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'api', uid: `uid-${name}`, resourceVersion: rv, ...meta }, spec: { podSelector: {} }, ...extra };
}

function deep(levels: number): unknown {
  let value: unknown = {};
  for (let i = 0; i < levels; i++) value = { d: value };
  return value;
}

/** What the hostile server streams on its first NetworkPolicy watch. */
function hostileLines(): string[] {
  const event = (type: string, object: unknown): string => JSON.stringify({ type, object });
  return [
    'this is not json',
    '{"type":"ADDED"}',
    event('ADDED', { metadata: { name: 'no-version', namespace: 'api' } }),
    event('SURPRISE', policy('surprise', '11')),
    event('ADDED', [1, 2]),
    event('ADDED', policy('a/b', '12')),
    event('ADDED', policy('bad-labels', '13', {}, { labels: { team: 5 } })),
    event('ADDED', policy('deep', '14', { spec: deep(1000) })),
    event('ADDED', policy('huge', '15', {}, { annotations: { blob: 'x'.repeat(5 * 1024 * 1024) } })),
    event('ADDED', { ...policy('upper', '16'), metadata: { name: 'upper', namespace: 'UPPER', uid: 'u', resourceVersion: '16' } }),
    event('MODIFIED', policy('good', '17', { spec: { podSelector: { matchLabels: { app: 'x' } } } })),
    event('ERROR', { kind: 'Status', code: 500, reason: 'InternalError', message: 'boom' }),
  ];
}

async function hostileServer(): Promise<{ server: Server; url: string; caPem: string; watches: () => number }> {
  const tls = createSelfSignedCertificate();
  let watches = 0;
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/\/$/, '');
    if (path === '/api/v1') return send(res, 200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'namespaces', kind: 'Namespace', namespaced: false, verbs: ['list', 'watch'] }] });
    if (path === '/apis/networking.k8s.io/v1') return send(res, 200, { kind: 'APIResourceList', groupVersion: 'networking.k8s.io/v1', resources: [{ name: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true, verbs: ['list', 'watch'] }] });
    const watching = url.searchParams.get('watch') === 'true';
    if (path === '/api/v1/namespaces' || path === '/apis/networking.k8s.io/v1/networkpolicies') {
      if (!watching) {
        const items = path.endsWith('networkpolicies') ? [policy('good', '5')] : [];
        return send(res, 200, { kind: 'List', metadata: { resourceVersion: '10' }, items });
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      if (path.endsWith('networkpolicies') && watches++ === 0) for (const l of hostileLines()) res.write(`${l}\n`);
      res.flushHeaders();
      return; // stays open, as a quiet watch does
    }
    send(res, 404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caPem: tls.certPem, watches: () => watches };
}

describe('JournalWatcher against a hostile API server', () => {
  it('stores the good changes, bounds the huge one, refuses the malformed ones and keeps going', async () => {
    const { url, caPem, watches } = await hostileServer();
    const dir = mkdtempSync(join(tmpdir(), 'journal-hostile-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'hostile', cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
        users: [{ name: 'hostile', user: { token: 'token' } }],
        contexts: [{ name: 'hostile', context: { cluster: 'hostile', user: 'hostile' } }],
        'current-context': 'hostile',
      }),
    );
    const prefix = uniquePrefix('journal');
    const redis = testRedis();
    const journal = new ChangeJournal(redis, prefix, { maxAgeMs: 86_400_000, maxEntries: 1000 });
    const results: Array<{ kind: string; result: AppendResult }> = [];
    const watcher = new JournalWatcher({
      gateway: createKubeGateway(loadKubeConfig({ kubeconfigPath: kubeconfig })),
      redis,
      keyPrefix: prefix,
      journal,
      logger: createLogger({ level: 'silent' }),
      watchBackoff: { initialMs: 5, maxMs: 20 },
      onResult: (kind, result) => results.push({ kind, result }),
    });
    cleanups.push(async () => {
      await watcher.stop();
      redis.disconnect();
    });
    await watcher.start();
    await watcher.ready();
    expect(watcher.kinds).toEqual(['NetworkPolicy', 'Namespace']);
    await waitFor('the good modification', async () => (await journal.size()) >= 3);
    // The error event ends the stream: the watch comes back on its own.
    await waitFor('a second watch', () => watches() >= 2);

    const entries = await journal.query({ since: '1970-01-01T00:00:00Z' });
    expect(entries.map((e) => `${e.type} ${e.name}@${e.resourceVersion}`)).toEqual(['added good@5', 'added huge@15', 'modified good@17']);
    expect(truncationOf(entries[1]!.after)).toMatchObject({ limit: 256 * 1024, reason: expect.stringContaining('bytes once stripped of noise') });
    expect(truncationOf(entries[1]!.after)!.bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(entries[2]!.before).toEqual(entries[0]!.after);
    const refused = results.filter((r) => r.result.outcome === 'refused').map((r) => (r.result as { reason: string }).reason);
    expect(refused).toEqual([
      'metadata.name "a/b" is not a valid name',
      'metadata.labels["team"] is not a string',
      'the object is nested deeper than 100 levels',
      'metadata.namespace "UPPER" is not a valid namespace',
    ]);
    expect(watcher.stats).toMatchObject({ stored: 3, refused: 4, writeErrors: 0 });
    expect((await redis.hkeys(`${prefix}:journal:state:NetworkPolicy`)).sort()).toEqual(['api/good', 'api/huge']);
    expect(await redis.hstrlen(`${prefix}:journal:state:NetworkPolicy`, 'api/huge')).toBeLessThan(2048);
  });
});
