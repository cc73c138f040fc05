// `serve` as a user (or Kubernetes) runs it: a real child process against a real redis-server,
// the Slack stand-in and the simulated Kubernetes API. Fatal start-up errors are one line and a
// quick non-zero exit; transient ones are retried, logged and shown on /readyz until they clear;
// SIGTERM stops it promptly.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis/throwaway.js';
import { startKubeApiServer, type KubeApiSim } from '../../src/sim/kube/index.js';
import { startSlackApiServer, type SlackApiSim } from '../../src/sim/slack/index.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { eventually, httpGet, spawnCli, writeServeConfig, type CliProcess } from '../helpers/serve-process.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

let kube: KubeApiSim;
let slack: SlackApiSim;
let kubeconfig: string;
const running: CliProcess[] = [];

/**
 * The exit of `p`, with how long it took and how long `serve --help` took when started beside it:
 * the start-up cost (loading the CLI) under the same load, which every timing below includes. On a
 * busy machine it varies by seconds from one moment to the next, so it is measured each time.
 */
async function exitBesideBaseline(p: CliProcess): Promise<{ code: number; elapsedMs: number; baselineMs: number }> {
  const help = spawnCli(['serve', '--help'], {});
  const [exit, helpExit] = await Promise.all([p.exited, help.exited]);
  expect(helpExit.code).toBe(0);
  return { code: exit.code, elapsedMs: exit.at - p.startedAt, baselineMs: helpExit.at - help.startedAt };
}

beforeAll(async () => {
  kube = await startKubeApiServer();
  kube.seed([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'netpol-responder' } }]);
  kubeconfig = kube.writeKubeconfig(mkdtempSync(join(tmpdir(), 'netpol-life-')));
  slack = await startSlackApiServer();
});

afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await slack?.close();
  await kube?.close();
});

interface ServeOptions {
  settings?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  metricsPort?: number;
}

function serve(options: ServeOptions = {}): CliProcess {
  const { slack: slackSettings, ...rest } = options.settings ?? {};
  const file = writeServeConfig({
    slack: { approvers: { users: ['U0BOB'] }, apiUrl: slack.apiUrl, incidentChannel: 'C0INCIDENTS', port: 0, host: '127.0.0.1', ...(slackSettings as object) },
    redis: { keyPrefix: uniquePrefix('life') },
    roles: ['worker'],
    ...(options.metricsPort ? { metrics: { port: options.metricsPort, host: '127.0.0.1' } } : {}),
    shutdown: { graceMs: 20_000 },
    log: { level: 'info' },
    ...rest,
  });
  const child = spawnCli(['serve', '--config', file], {
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: 'secret-secret',
    REDIS_URL: testRedisUrl(),
    KUBECONFIG: kubeconfig,
    LOG_LEVEL: '',
    ...options.env,
  });
  running.push(child);
  return child;
}

/** Sends `signal` and resolves with the exit code and how long the exit took. */
async function signalAndTime(p: CliProcess, signal: NodeJS.Signals): Promise<{ code: number; ms: number }> {
  const sent = Date.now();
  p.child.kill(signal);
  const { code, at } = await p.exited;
  return { code, ms: at - sent };
}

const isRetryOf = (component: string) => (line: Record<string, unknown>) => line.component === component && typeof line.attempt === 'number' && typeof line.nextDelayMs === 'number';

/** A TCP forwarder that a test starts late, on a port chosen before: "the server comes up". */
async function forward(port: number, targetPort: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('serve: fatal start-up errors', () => {
  it('a missing kubeconfig is one line naming KUBECONFIG, and exit 1 at once', async () => {
    const p = serve({ env: { KUBECONFIG: '/nonexistent/kubeconfig' } });
    const { code, elapsedMs, baselineMs } = await exitBesideBaseline(p);
    expect(code).toBe(1);
    expect(p.stderr.trim().split('\n')).toEqual([expect.stringContaining('kubeconfig file not found: /nonexistent/kubeconfig')]);
    expect(p.stderr).toContain('KUBECONFIG');
    expect(elapsedMs).toBeLessThan(baselineMs + 5000);
  });

  it('a bot token Slack refuses (invalid_auth) is one line naming SLACK_BOT_TOKEN, and exit 1 within 5 s', async () => {
    const metricsPort = await freePort();
    const p = serve({ env: { SLACK_BOT_TOKEN: 'xoxb-wrong-token' }, metricsPort });
    const { code, elapsedMs, baselineMs } = await exitBesideBaseline(p);
    expect(code).toBe(1);
    const lines = p.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Slack refused the bot token \(invalid_auth\): set SLACK_BOT_TOKEN/);
    expect(p.stdout).not.toContain('netpol-responder started');
    expect(slack.calls.some((c) => c.method === 'auth.test' && c.token === 'xoxb-wrong-token' && c.response.error === 'invalid_auth')).toBe(true);
    expect(elapsedMs).toBeLessThan(baselineMs + 5000);
    // The metrics port it had opened is closed again.
    expect((await httpGet(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(0);
  });

  it('an app-level token Slack refuses (Socket Mode) is one line naming SLACK_APP_TOKEN, and exit 1', async () => {
    const p = serve({ settings: { roles: ['web'] }, env: { SLACK_APP_TOKEN: 'xapp-1-wrong' } });
    const { code, elapsedMs, baselineMs } = await exitBesideBaseline(p);
    expect(code).toBe(1);
    expect(p.stderr.trim().split('\n')).toEqual([
      'Slack refused the app-level token (invalid_auth): set SLACK_APP_TOKEN to an app-level token (xapp-…) with connections:write, or unset it to use the HTTP receiver',
    ]);
    expect(elapsedMs).toBeLessThan(baselineMs + 5000);
  });

  it('a Redis that accepts connections but never answers is one line naming REDIS_URL, and exit 1 within 5 s', async () => {
    const proxy = await startTcpProxy(Number(new URL(testRedisUrl()).port));
    proxy.partition(true);
    try {
      const p = serve({ env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}` } });
      const { code, elapsedMs, baselineMs } = await exitBesideBaseline(p);
      expect(code).toBe(1);
      expect(p.stderr.trim().split('\n')).toEqual([
        `cannot reach Redis at redis://127.0.0.1:${proxy.port} (no answer within 3000 ms). Start redis-server or set REDIS_URL to a reachable Redis.`,
      ]);
      expect(elapsedMs).toBeLessThan(baselineMs + 5000);
    } finally {
      await proxy.close();
    }
  });

  it('a metrics port already in use is one line naming metrics.port', async () => {
    const taken = createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
    try {
      const p = serve({ metricsPort: port });
      const { code } = await p.exited;
      expect(code).toBe(1);
      expect(p.stderr.trim()).toBe(`metrics.port: 127.0.0.1:${port} is already in use by another process; stop it or choose another port`);
    } finally {
      taken.close();
    }
  });
});

describe('serve: Slack unreachable', () => {
  it('retries with backoff, logs each attempt, /readyz says 503 and why, and SIGTERM stops it promptly', async () => {
    const metricsPort = await freePort();
    const nowhere = await freePort();
    const p = serve({ settings: { slack: { apiUrl: `http://127.0.0.1:${nowhere}/api/` } }, metricsPort });
    const first = await p.waitForLog((l) => isRetryOf('slack')(l) && l.attempt === 2, 'the second Slack retry');
    expect(first.msg).toMatch(/^Slack API not available \(attempt 2\); retrying in \d/);
    const attempts = p.logs().filter(isRetryOf('slack'));
    expect(attempts.map((l) => l.attempt)).toEqual([1, 2]);
    expect(attempts.map((l) => l.nextDelayMs)).toEqual([500, 1000]);
    expect(String(attempts[0]!.reason)).toContain(`cannot reach Slack at http://127.0.0.1:${nowhere}/api/`);

    const ready = await httpGet(`http://127.0.0.1:${metricsPort}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatch(/^not ready: .*slack: cannot reach Slack at http:\/\/127\.0\.0\.1:\d+\/api\/ \(ECONNREFUSED\) \(attempt \d, next in/);
    expect((await httpGet(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);
    expect(p.stdout).not.toContain('netpol-responder started');

    const { code, ms } = await signalAndTime(p, 'SIGTERM');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(3000);
    expect(p.logs().some((l) => l.msg === 'stopped during start-up' && l.signal === 'SIGTERM')).toBe(true);
    expect(p.stderr).toBe('');
  });

  it('turns ready once Slack answers, then runs', async () => {
    const metricsPort = await freePort();
    const later = await freePort();
    const p = serve({ settings: { slack: { apiUrl: `http://127.0.0.1:${later}/api/` } }, metricsPort });
    await p.waitForLog((l) => isRetryOf('slack')(l) && l.attempt === 2, 'two failed attempts');
    expect((await httpGet(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(503);

    const proxy = await forward(later, slack.port);
    try {
      const ready = await eventually('readyz 200', async () => {
        const r = await httpGet(`http://127.0.0.1:${metricsPort}/readyz`);
        return r.status === 200 ? r : undefined;
      });
      expect(ready.body).toBe('ready: slack, kube, redis\n');
      await p.waitForLog((l) => l.msg === 'netpol-responder started', 'started');
      expect(p.logs().some((l) => l.component === 'slack' && typeof l.attempts === 'number' && String(l.msg).startsWith('Slack API available after'))).toBe(true);
      const { code, ms } = await signalAndTime(p, 'SIGTERM');
      expect(code).toBe(0);
      expect(ms).toBeLessThan(5000);
    } finally {
      await proxy.close();
    }
  }, 45_000);
});

describe('serve: Kubernetes API unreachable', () => {
  it('retries (refused, then 503) with /readyz naming kube, and runs once the API answers', async () => {
    const metricsPort = await freePort();
    const later = await freePort();
    // The same credentials and CA, at a port where nothing listens yet.
    const file = join(mkdtempSync(join(tmpdir(), 'netpol-life-kc-')), 'kubeconfig');
    writeFileSync(file, readFileSync(kubeconfig, 'utf8').replace(kube.url, `https://127.0.0.1:${later}`));
    const p = serve({ env: { KUBECONFIG: file }, metricsPort });
    await p.waitForLog((l) => isRetryOf('kube')(l) && l.attempt === 2, 'two failed Kubernetes API attempts');
    const notReady = await httpGet(`http://127.0.0.1:${metricsPort}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatch(/kube: Kubernetes API at https:\/\/127\.0\.0\.1:\d+: NetworkError: .*ECONNREFUSED.*\(attempt \d, next in/);
    expect(notReady.body).not.toContain('slack:');

    kube.injectFault({ verb: 'get', resource: 'namespaces', status: 503, times: 1, message: 'apiserver is restarting' });
    const proxy = await forward(later, Number(new URL(kube.url).port));
    try {
      await p.waitForLog((l) => l.msg === 'netpol-responder started', 'started', 30_000);
      const reasons = p.logs().filter(isRetryOf('kube')).map((l) => String(l.reason));
      expect(reasons.some((r) => r.includes('HTTP 503 ServiceUnavailable: apiserver is restarting'))).toBe(true);
      expect((await httpGet(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
      const { code, ms } = await signalAndTime(p, 'SIGTERM');
      expect(code).toBe(0);
      expect(ms).toBeLessThan(5000);
    } finally {
      await proxy.close();
    }
  }, 45_000);
});

describe('serve: the web role over HTTP', () => {
  it('serves /readyz on the Slack port, and on SIGTERM stops accepting and closes idle keep-alive connections', async () => {
    const metricsPort = await freePort();
    const webPort = await freePort();
    const p = serve({ settings: { roles: ['web', 'worker'], slack: { port: webPort } }, metricsPort });
    await p.waitForLog((l) => l.msg === 'netpol-responder started', 'started');
    expect(await httpGet(`http://127.0.0.1:${webPort}/readyz`)).toEqual({ status: 200, body: 'ready: slack, kube, redis\n' });

    // One keep-alive connection, left idle after a request.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // (Wrapped in an object: resolving with a bare promise would wait for it.)
    const idle = await new Promise<{ closed: Promise<void>; isOpen: () => boolean }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: webPort, path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          const socket = req.socket!;
          resolve({ closed: new Promise<void>((closed) => socket.once('close', () => closed())), isOpen: () => !socket.destroyed });
        });
      });
      req.on('error', reject);
      req.end();
    });
    expect(idle.isOpen()).toBe(true);
    const { code, ms } = await signalAndTime(p, 'SIGTERM');
    expect(code).toBe(0);
    // Far inside shutdown.graceMs (20 s), and before the server's 5 s keep-alive timeout: the idle connection did not hold the server open.
    expect(ms).toBeLessThan(3000);
    await idle.closed;
    agent.destroy();
    expect((await httpGet(`http://127.0.0.1:${webPort}/healthz`)).status).toBe(0);
  });
});
