// The Kubernetes client's authentication keeps one agent (and TLS context) per TLS identity instead
// of client-node's one per request: the same identity shares it, another identity gets its own, a
// proxy's agent is left alone, and a CA that does not parse trusts nothing.
import { Agent as HttpsAgent, createServer, get } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { CoreV1Api, HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { IDLE_CONNECTION_MS, makeApiClientWithTimeout, repeatable, tlsReusingAuthentication } from '../../src/kube/api-client.js';
import { discoverKinds } from '../../src/kube/discovery.js';
import { createSelfSignedCertificate } from '../../src/sim/kube/tls.js';

function kubeconfig(caPem: string, extra: { proxyUrl?: string; server?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from(caPem).toString('base64'), skipTLSVerify: false, ...extra }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function agentFor(kc: KubeConfig): Promise<{ agent: unknown; headers: Record<string, string> }> {
  const context = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces', HttpMethod.GET);
  await tlsReusingAuthentication(kc).applySecurityAuthentication(context);
  return { agent: context.getAgent(), headers: context.getHeaders() };
}

describe('tlsReusingAuthentication', () => {
  it('gives every request of one identity the same agent, with the token applied each time', async () => {
    const ca = createSelfSignedCertificate('one').certPem;
    // Two KubeConfig objects of the same identity (a client made per call): one agent.
    const [a, b] = [await agentFor(kubeconfig(ca)), await agentFor(kubeconfig(ca))];
    expect(a.agent).toBeInstanceOf(HttpsAgent);
    expect(b.agent).toBe(a.agent);
    expect(a.headers.Authorization).toBe('Bearer secret-token');
    expect(b.headers.Authorization).toBe('Bearer secret-token');
  });

  it('gives another CA (a rotated one) its own agent', async () => {
    const a = await agentFor(kubeconfig(createSelfSignedCertificate('two').certPem));
    const b = await agentFor(kubeconfig(createSelfSignedCertificate('three').certPem));
    expect(b.agent).not.toBe(a.agent);
  });

  it('keeps working past the agents it keeps: twenty identities, each still served', async () => {
    for (let i = 0; i < 20; i++) expect((await agentFor(kubeconfig(createSelfSignedCertificate(`many-${i}`).certPem))).agent).toBeInstanceOf(HttpsAgent);
  });

  it("leaves a proxy's agent as client-node made it", async () => {
    const kc = kubeconfig(createSelfSignedCertificate('proxied').certPem, { proxyUrl: 'http://127.0.0.1:3128' });
    const [a, b] = [await agentFor(kc), await agentFor(kc)];
    expect(a.agent?.constructor).not.toBe(HttpsAgent);
    expect(b.agent).not.toBe(a.agent);
  });

  it('a CA that does not parse trusts nothing: a loopback HTTPS server is refused, as without a kept agent', async () => {
    const { agent } = await agentFor(kubeconfig('-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n'));
    const tls = createSelfSignedCertificate('127.0.0.1');
    const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const answer = new Promise<number | undefined>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/', agent: agent as HttpsAgent }, (res) => resolve(res.statusCode)).on('error', reject);
      });
      await expect(answer).rejects.toThrow(/certificate/i);
    } finally {
      server.close();
    }
  });

  it('discovery goes through the same client: it gives up on an API server that never answers, at the sooner of two deadlines', async () => {
    const tls = createSelfSignedCertificate('silent');
    // Accepts the connection, reads the request, never answers.
    const server = createServer({ cert: tls.certPem, key: tls.keyPem }, () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const kc = kubeconfig(tls.certPem, { server: `https://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const started = Date.now();
      await expect(discoverKinds(kc, 300)).rejects.toThrow(/abort|timeout/i);
      expect(Date.now() - started).toBeLessThan(10_000);
      // A deadline the kubeconfig's authentication sets (the CLI's --request-timeout) is kept
      // next to the client's own, longer one: the sooner wins.
      const authenticate = kc.applySecurityAuthentication.bind(kc);
      kc.applySecurityAuthentication = async (context) => {
        await authenticate(context);
        context.setSignal(AbortSignal.timeout(300));
      };
      const again = Date.now();
      await expect(makeApiClientWithTimeout(kc, CoreV1Api, 60_000).listNamespace()).rejects.toThrow(/abort|timeout/i);
      await expect(discoverKinds(kc)).rejects.toThrow(/abort|timeout/i);
      expect(Date.now() - again).toBeLessThan(10_000);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('kept connections', () => {
    /** A loopback API server answering an empty namespace list, counting the connections it accepted. */
    async function listServer(options: { closeIdleAfterMs?: number } = {}) {
      const tls = createSelfSignedCertificate('kept');
      const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] }));
        // A server (or a proxy) that drops idle connections without saying so.
        if (options.closeIdleAfterMs) setTimeout(() => req.socket.destroy(), options.closeIdleAfterMs);
      });
      const opened: Socket[] = [];
      server.on('secureConnection', (socket: Socket) => opened.push(socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const kc = kubeconfig(tls.certPem, { server: `https://127.0.0.1:${(server.address() as AddressInfo).port}` });
      return {
        api: makeApiClientWithTimeout(kc, CoreV1Api, 10_000),
        opened,
        dropAll: () => server.closeAllConnections(),
        async close() {
          server.closeAllConnections();
          await new Promise((resolve) => server.close(resolve));
        },
      };
    }

    it('sends requests one after another over one connection, and closes it once idle', async () => {
      const s = await listServer();
      try {
        for (let i = 0; i < 10; i++) expect((await s.api.listNamespace()).items).toEqual([]);
        expect(s.opened).toHaveLength(1);
        // Idle past IDLE_CONNECTION_MS: the client closes it, and the next request opens another.
        const first = s.opened[0] as Socket;
        await new Promise<void>((resolve) => first.once('close', () => resolve()));
        expect(await s.api.listNamespace()).toMatchObject({ items: [] });
        expect(s.opened).toHaveLength(2);
      } finally {
        await s.close();
      }
    }, IDLE_CONNECTION_MS + 10_000);

    it('a second burst of fifty requests goes over the connections the first one opened', async () => {
      const s = await listServer();
      try {
        await Promise.all(Array.from({ length: 50 }, () => s.api.listNamespace()));
        expect(s.opened.length).toBeLessThanOrEqual(50);
        const before = s.opened.length;
        await Promise.all(Array.from({ length: 50 }, () => s.api.listNamespace()));
        // The second burst reuses the first one's connections.
        expect(s.opened.length).toBe(before);
      } finally {
        await s.close();
      }
    });

    it('every kept connection dropped at once (an API server restart): the next requests still answer', async () => {
      const s = await listServer();
      try {
        await Promise.all(Array.from({ length: 5 }, () => s.api.listNamespace()));
        const kept = s.opened.length;
        expect(kept).toBeGreaterThan(1);
        // Dropped in this very turn: the client has not seen any of them close when the requests go out.
        s.dropAll();
        const answers = await Promise.all(Array.from({ length: 3 }, () => s.api.listNamespace()));
        expect(answers.map((a) => a.items)).toEqual([[], [], []]);
        expect(s.opened.length).toBeGreaterThan(kept);
      } finally {
        await s.close();
      }
    });

    it('a server that drops idle connections without a word: the next request goes out on a new one and succeeds', async () => {
      const s = await listServer({ closeIdleAfterMs: 200 });
      try {
        await s.api.listNamespace();
        await new Promise((r) => setTimeout(r, 500));
        expect(await s.api.listNamespace()).toMatchObject({ items: [] });
        expect(s.opened).toHaveLength(2);
      } finally {
        await s.close();
      }
    });
  });
});

describe('repeatable: which requests may go over a kept connection and be sent again', () => {
  const request = (method: HttpMethod, options: { type?: string; body?: unknown } = {}) => {
    const context = new RequestContext('https://127.0.0.1:6443/apis/networking.k8s.io/v1/namespaces/db/networkpolicies/x', method);
    if (options.type) context.setHeaderParam('Content-Type', options.type);
    if (options.body !== undefined) context.setBody(options.body as string);
    return repeatable(context);
  };
  it.each([
    ['a read', HttpMethod.GET, {}, true],
    ['a HEAD', HttpMethod.HEAD, {}, true],
    ['server-side apply', HttpMethod.PATCH, { type: 'application/apply-patch+yaml' }, true],
    ['a JSON merge patch', HttpMethod.PATCH, { type: 'application/merge-patch+json' }, true],
    ['a JSON patch (an add to a list lands twice)', HttpMethod.PATCH, { type: 'application/json-patch+json' }, false],
    ['a strategic merge patch', HttpMethod.PATCH, { type: 'application/strategic-merge-patch+json' }, false],
    ['a replace naming the version it read', HttpMethod.PUT, { body: JSON.stringify({ metadata: { name: 'x', resourceVersion: '42' } }) }, true],
    ['a replace without a version', HttpMethod.PUT, { body: JSON.stringify({ metadata: { name: 'x' } }) }, false],
    ['a replace with an empty or non-string version', HttpMethod.PUT, { body: JSON.stringify({ metadata: { resourceVersion: 42 } }) }, false],
    ['a replace whose body does not parse', HttpMethod.PUT, { body: '{"metadata": {"resourceVersion": "4' }, false],
    ['a replace with a null body', HttpMethod.PUT, { body: 'null' }, false],
    ['a create', HttpMethod.POST, { body: JSON.stringify({ metadata: { name: 'x', resourceVersion: '42' } }) }, false],
    ['a delete', HttpMethod.DELETE, {}, false],
  ] as const)('%s: %s', (_label, method, options, expected) => {
    expect(request(method, options)).toBe(expected);
  });
});

