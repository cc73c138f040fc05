// The pure parts of start-up and shutdown: backoff and retry, the readiness registry, what a Slack
// or Kubernetes failure means (retry or stop with the fix), the grace period split, stop signals,
// closing resources in order, and the shutdown.graceMs setting.
import { EventEmitter } from 'node:events';
import { ErrorCode } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { buildConfig, ConfigError } from '../../src/config/load.js';
import { KubeApiError } from '../../src/kube/errors.js';
import { backoffDelay, retryWithBackoff, StartupInterrupted, untilAborted, type Verdict } from '../../src/lifecycle/backoff.js';
import { cleanupReserveMs, jobsGraceMs } from '../../src/lifecycle/grace.js';
import { judgeKubeError, kubeApiCheck } from '../../src/lifecycle/kube-check.js';
import { NotReadyError, Readiness } from '../../src/lifecycle/readiness.js';
import { Resources } from '../../src/lifecycle/resources.js';
import { exitCodeForSignal, watchStopSignals, type StopSignal } from '../../src/lifecycle/signals.js';
import { appTokenError, judgeSlackError } from '../../src/lifecycle/slack-auth.js';
import { StartupError } from '../../src/lifecycle/startup-error.js';
import { silentLogger } from '../../src/log.js';

const fast = { initialMs: 1, maxMs: 4, factor: 2 };
const platform = (error: unknown) => Object.assign(new Error('An API error occurred'), { code: ErrorCode.PlatformError, data: { ok: false, error } });

describe('backoff', () => {
  it('doubles from 500 ms and stops growing at 15 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelay(n))).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
  });

  it('treats nonsense attempt numbers as the first attempt, and huge ones as the cap', () => {
    for (const n of [0, -3, Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]) expect(backoffDelay(n)).toBe(500);
    expect(backoffDelay(2.9)).toBe(1000);
    expect(backoffDelay(1e9)).toBe(15_000);
  });

  it('retries until the attempt succeeds, reporting each failure with its number and the next delay', async () => {
    const reports: unknown[] = [];
    const value = await retryWithBackoff(
      async (n) => {
        if (n < 3) throw new Error(`down ${n}`);
        return 'up';
      },
      { judge: (e) => ({ retry: true, reason: (e as Error).message }), onRetry: (r) => reports.push(r), backoff: fast },
    );
    expect(value).toBe('up');
    expect(reports).toEqual([
      { attempt: 1, nextDelayMs: 1, reason: 'down 1' },
      { attempt: 2, nextDelayMs: 2, reason: 'down 2' },
    ]);
  });

  it('stops at once on a verdict that retrying cannot help, with that error', async () => {
    let attempts = 0;
    const fatal = new StartupError('token refused');
    const outcome = retryWithBackoff(
      async () => {
        attempts++;
        throw new Error('x');
      },
      { judge: (): Verdict => ({ retry: false, error: fatal }), onRetry: () => undefined, backoff: fast },
    );
    await expect(outcome).rejects.toBe(fatal);
    expect(attempts).toBe(1);
  });

  it('a stop signal ends the wait between attempts, and a signal already given prevents the first', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = retryWithBackoff(() => Promise.reject(new Error('down')), {
      judge: () => ({ retry: true, reason: 'down' }),
      onRetry: () => setTimeout(() => controller.abort(), 10),
      signal: controller.signal,
      backoff: { initialMs: 60_000, maxMs: 60_000, factor: 1 },
    });
    await expect(waiting).rejects.toBeInstanceOf(StartupInterrupted);
    expect(Date.now() - started).toBeLessThan(5000);
    let called = false;
    await expect(retryWithBackoff(async () => (called = true), { judge: () => ({ retry: true, reason: '' }), onRetry: () => undefined, signal: controller.signal })).rejects.toBeInstanceOf(
      StartupInterrupted,
    );
    expect(called).toBe(false);
  });

  it('untilAborted gives up on a pending promise when the signal aborts', async () => {
    const controller = new AbortController();
    const never = new Promise<void>(() => undefined);
    const waiting = untilAborted(never, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(StartupInterrupted);
    await expect(untilAborted(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(untilAborted(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });
});

describe('readiness registry', () => {
  it('is ready with nothing registered, and lists the components when ready', async () => {
    const readiness = new Readiness();
    await expect(readiness.check()).resolves.toBe('ready: no checks');
    readiness.ready('slack');
    readiness.probe('redis', async () => undefined);
    await expect(readiness.check()).resolves.toBe('ready: slack, redis');
  });

  it('names each component that is not ready, and why; only those', async () => {
    const readiness = new Readiness();
    readiness.ready('kube');
    readiness.notReady('slack', 'cannot reach Slack (ECONNREFUSED)');
    readiness.probe('redis', async () => {
      throw new Error('Redis did not answer within 2000 ms');
    });
    const error = await readiness.check().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotReadyError);
    expect((error as Error).message).toBe('slack: cannot reach Slack (ECONNREFUSED); redis: Redis did not answer within 2000 ms');
    readiness.ready('slack');
    readiness.forget('redis');
    await expect(readiness.check()).resolves.toBe('ready: kube, slack');
  });

  it('a probe that never answers is not ready after its timeout', async () => {
    const readiness = new Readiness();
    readiness.probe('redis', () => new Promise(() => undefined), 50);
    const started = Date.now();
    const report = await readiness.report();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(report).toEqual({ ready: false, components: [{ name: 'redis', ok: false, reason: 'no answer within 50 ms' }] });
  });

  it('keeps a hostile or oversized reason to one short line', async () => {
    const readiness = new Readiness();
    readiness.notReady('slack', `line one\r\nline two\t${'x'.repeat(10_000)}`);
    readiness.notReady('kube', '   ');
    const report = await readiness.report();
    const slack = report.components.find((c) => c.name === 'slack') as { reason: string };
    expect(slack.reason.startsWith('line one line two x')).toBe(true);
    expect(slack.reason).not.toMatch(/[\r\n\t]/);
    expect(slack.reason.length).toBeLessThanOrEqual(301);
    expect(report.components.find((c) => c.name === 'kube')).toEqual({ name: 'kube', ok: false, reason: 'not ready' });
  });
});

describe('what a Slack auth.test failure means', () => {
  it.each(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive', 'team_access_not_granted'])('%s: stop, naming SLACK_BOT_TOKEN', (code) => {
    const verdict = judgeSlackError(platform(code));
    expect(verdict.retry).toBe(false);
    const error = (verdict as { error: Error }).error;
    expect(error).toBeInstanceOf(StartupError);
    expect(error.message).toBe(
      `Slack refused the bot token (${code}): set SLACK_BOT_TOKEN to the app's current Bot User OAuth Token (xoxb-…, under OAuth & Permissions; reinstall the app if it was revoked)`,
    );
  });

  it.each(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout'])('%s: retry', (code) => {
    expect(judgeSlackError(platform(code))).toEqual({ retry: true, reason: `Slack answered ${code}` });
  });

  it('network errors, 5xx, 429 and rate limits are retried; the reason names the API URL', () => {
    const api = 'http://127.0.0.1:9/api/';
    const refused = Object.assign(new Error('A request error occurred: connect ECONNREFUSED'), { code: ErrorCode.RequestError, original: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(judgeSlackError(refused, api)).toEqual({ retry: true, reason: `cannot reach Slack at ${api} (ECONNREFUSED)` });
    expect(judgeSlackError(Object.assign(new Error('x'), { code: ErrorCode.HTTPError, statusCode: 503 }), api)).toEqual({ retry: true, reason: `Slack API at ${api} answered HTTP 503` });
    expect(judgeSlackError(Object.assign(new Error('x'), { code: ErrorCode.HTTPError, statusCode: 429 }), api).retry).toBe(true);
    expect(judgeSlackError(Object.assign(new Error('x'), { code: ErrorCode.RateLimitedError, retryAfter: 7 }))).toEqual({ retry: true, reason: 'Slack rate-limited auth.test (retry after 7 s)' });
  });

  it('a 4xx page (wrong slack.apiUrl) and an unknown answer stop, naming what to check', () => {
    const notFound = judgeSlackError(Object.assign(new Error('x'), { code: ErrorCode.HTTPError, statusCode: 404 }), 'http://example.invalid/api/');
    expect((notFound as { error: Error }).error.message).toBe(
      'the Slack API at http://example.invalid/api/ answered HTTP 404 to auth.test: check slack.apiUrl (leave it unset to use Slack itself)',
    );
    expect((judgeSlackError(platform('something_new')) as { error: Error }).error.message).toBe('Slack answered auth.test with "something_new": check SLACK_BOT_TOKEN and slack.apiUrl');
  });

  it('hostile or malformed failures never throw, and long or binary codes are cut down', () => {
    for (const junk of [undefined, null, 'a string', 42, {}, { code: 123 }, { code: ErrorCode.PlatformError }, { code: ErrorCode.PlatformError, data: null }, { code: ErrorCode.HTTPError, statusCode: 'x' }]) {
      expect(() => judgeSlackError(junk)).not.toThrow();
    }
    expect((judgeSlackError({ code: ErrorCode.PlatformError, data: { error: { nested: true } } }) as { error: Error }).error.message).toContain('"unknown_error"');
    const long = judgeSlackError(platform(`evil\u0000\u001b[31m${'z'.repeat(5000)}`)) as { error: Error };
    expect(long.error.message.length).toBeLessThan(200);
    expect([...long.error.message].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
  });

  it('a refused app-level token names SLACK_APP_TOKEN; other Socket Mode failures pass through', () => {
    expect((appTokenError(platform('invalid_auth')) as Error).message).toMatch(/^Slack refused the app-level token \(invalid_auth\): set SLACK_APP_TOKEN/);
    const other = new Error('socket closed');
    expect(appTokenError(other)).toBe(other);
    expect(appTokenError(platform('internal_error'))).not.toBeInstanceOf(StartupError);
  });
});

describe('what a Kubernetes API failure means', () => {
  const server = 'https://10.0.0.1:6443';
  it('401 and 403 stop, naming the credentials or deploy/rbac.yaml', () => {
    const unauthorized = judgeKubeError(new KubeApiError({ status: 401, reason: 'Unauthorized', message: 'Unauthorized' }), server) as { error: Error };
    expect(unauthorized.error.message).toMatch(/^the Kubernetes API at https:\/\/10\.0\.0\.1:6443 refused the bot's credentials \(401 Unauthorized\): check the token/);
    const forbidden = judgeKubeError(new KubeApiError({ status: 403, reason: 'Forbidden', message: 'namespaces "x" is forbidden' }), server) as { error: Error };
    expect(forbidden.error.message).toContain('apply deploy/rbac.yaml');
  });

  it('network errors, timeouts, 429 and 5xx are retried, with the reason', () => {
    expect(judgeKubeError(new KubeApiError({ status: 503, reason: 'ServiceUnavailable', message: 'apiserver is restarting' }), server)).toEqual({
      retry: true,
      reason: 'Kubernetes API at https://10.0.0.1:6443: HTTP 503 ServiceUnavailable: apiserver is restarting',
    });
    expect(judgeKubeError(new KubeApiError({ status: 0, reason: 'NetworkError', message: 'connect ECONNREFUSED' }), server).retry).toBe(true);
    expect(judgeKubeError(new KubeApiError({ status: 429, reason: 'TooManyRequests', message: 'slow down' }), server).retry).toBe(true);
  });

  it('other answers and foreign errors stop', () => {
    expect(judgeKubeError(new KubeApiError({ status: 400, reason: 'BadRequest', message: 'no' }), server).retry).toBe(false);
    expect((judgeKubeError(new TypeError('cluster.namespaceExists is not a function')) as { error: Error }).error).toBeInstanceOf(StartupError);
  });

  it('a server that never answers fails the check after its timeout, as a retryable error', async () => {
    const started = Date.now();
    const error = await kubeApiCheck({ namespaceExists: () => new Promise(() => undefined) }, 'netpol-responder', 50).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(judgeKubeError(error, server)).toEqual({ retry: true, reason: 'Kubernetes API at https://10.0.0.1:6443: Timeout: no answer within 50 ms' });
  });
});

describe('the grace period', () => {
  it('gives jobs most of it and keeps 20% (250 ms to 5 s) to hand back and close', () => {
    expect(cleanupReserveMs(24_000)).toBe(4800);
    expect(jobsGraceMs(24_000)).toBe(19_200);
    expect(cleanupReserveMs(100_000)).toBe(5000);
    expect(cleanupReserveMs(1000)).toBe(250);
    expect(jobsGraceMs(1000)).toBe(750);
    expect(jobsGraceMs(100)).toBe(0);
    expect(jobsGraceMs(-5)).toBe(0);
  });

  it('shutdown.graceMs defaults to 25 s and is validated', () => {
    const env = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'secret-123' };
    const base = { slack: { approvers: { users: ['U0BOB'] } } };
    expect(buildConfig(base, env).shutdown.graceMs).toBe(25_000);
    expect(buildConfig({ ...base, shutdown: { graceMs: 5000 } }, env).shutdown.graceMs).toBe(5000);
    const problems = (value: unknown): string[] => {
      try {
        buildConfig({ ...base, shutdown: value }, env);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ graceMs: 999 })).toEqual(['shutdown.graceMs: must be at least 1000 (1 s)']);
    expect(problems({ graceMs: 600_001 })).toEqual(['shutdown.graceMs: must be at most 600000 (10 min)']);
    expect(problems({ graceMs: 1500.5 })[0]).toMatch(/^shutdown\.graceMs: /);
    expect(problems({ graceMs: '30s' })[0]).toMatch(/^shutdown\.graceMs: /);
    expect(problems({ graceMs: null })[0]).toMatch(/^shutdown\.graceMs: /);
    expect(problems({ grace: 1000 })[0]).toMatch(/^shutdown: .*grace/);
    expect(problems('soon')[0]).toMatch(/^shutdown: /);
  });
});

describe('stop signals', () => {
  function fakeProcess(): EventEmitter & Pick<NodeJS.Process, 'on' | 'off'> {
    return new EventEmitter() as EventEmitter & Pick<NodeJS.Process, 'on' | 'off'>;
  }

  it('the first SIGTERM asks for a graceful stop (exit 0) and aborts start-up waits; the second calls onSecond', async () => {
    const target = fakeProcess();
    const seconds: StopSignal[] = [];
    const signals = watchStopSignals({ target, onSecond: (s) => seconds.push(s) });
    expect(signals.signal.aborted).toBe(false);
    target.emit('SIGTERM');
    await expect(signals.requested).resolves.toEqual({ signal: 'SIGTERM', reason: 'received SIGTERM', exitCode: 0 });
    expect(signals.signal.aborted).toBe(true);
    target.emit('SIGINT');
    expect(seconds).toEqual(['SIGINT']);
    signals.dispose();
    expect(target.listenerCount('SIGINT') + target.listenerCount('SIGTERM')).toBe(0);
  });

  it('a stop asked from inside (a bug) exits 1; a later signal is a second one', async () => {
    const target = fakeProcess();
    const seconds: StopSignal[] = [];
    const signals = watchStopSignals({ target, onSecond: (s) => seconds.push(s) });
    signals.stop('unhandled promise rejection');
    signals.stop('again');
    await expect(signals.requested).resolves.toEqual({ reason: 'unhandled promise rejection', exitCode: 1 });
    target.emit('SIGTERM');
    expect(seconds).toEqual(['SIGTERM']);
  });

  it('exit codes follow the shell: 128 + the signal number', () => {
    expect(exitCodeForSignal('SIGINT')).toBe(130);
    expect(exitCodeForSignal('SIGTERM')).toBe(143);
  });
});

describe('resources', () => {
  it('closes in reverse order of opening, each once, and goes on past a failure', async () => {
    const closed: string[] = [];
    const resources = new Resources(silentLogger);
    resources.add('redis', () => void closed.push('redis'));
    resources.add('worker', async () => {
      closed.push('worker');
      throw new Error('already closed');
    });
    resources.add('web', async () => void closed.push('web'));
    await resources.closeAll();
    await resources.closeAll();
    expect(closed).toEqual(['web', 'worker', 'redis']);
    expect(resources.size).toBe(0);
  });

  it('moves on from a closer that outlives the deadline, and gives each one its deadline', async () => {
    const closed: string[] = [];
    const deadlines: number[] = [];
    const resources = new Resources(silentLogger);
    resources.add('redis', (deadline) => {
      deadlines.push(deadline);
      closed.push('redis');
    });
    resources.add('stuck worker', () => new Promise(() => undefined));
    const deadline = Date.now() + 200;
    const started = Date.now();
    await resources.closeAll(deadline);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(closed).toEqual(['redis']);
    expect(deadlines).toEqual([deadline]);
  });

  it('a closer with a budget gets only its share of the time, leaving the rest to the next', async () => {
    const closedAt: number[] = [];
    const resources = new Resources(silentLogger);
    resources.add('worker', () => void closedAt.push(Date.now()));
    resources.add('hung receiver', () => new Promise(() => undefined), (remaining) => remaining * 0.02);
    const started = Date.now();
    await resources.closeAll(started + 10_000);
    expect(closedAt).toHaveLength(1);
    expect(closedAt[0]! - started).toBeLessThan(2000);
  });
});
