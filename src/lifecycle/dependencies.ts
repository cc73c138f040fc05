// Waiting for the services the bot cannot work without (Slack, the Kubernetes API) at start-up:
// each is retried with backoff, every failed attempt is logged with its number and the next delay,
// and /readyz names the component and the reason until it answers. A refusal that retrying cannot
// fix (a revoked token, RBAC) ends the wait for all of them with that error.
import type { Logger } from '../log.js';
import { retryWithBackoff, type BackoffOptions, type Verdict } from './backoff.js';
import type { Readiness } from './readiness.js';

export interface Dependency<T> {
  /** Readiness component and log field, e.g. "slack". */
  component: string;
  /** For log lines, e.g. "Slack API". */
  title: string;
  attempt: () => Promise<T>;
  judge: (error: unknown) => Verdict;
}

export interface WaitContext {
  readiness: Readiness;
  logger: Logger;
  signal?: AbortSignal;
  backoff?: BackoffOptions;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

export async function waitForDependency<T>(dependency: Dependency<T>, context: WaitContext): Promise<T> {
  const { component, title } = dependency;
  const { readiness, logger } = context;
  readiness.notReady(component, 'checking');
  let attempts = 0;
  const value = await retryWithBackoff(
    async () => {
      attempts += 1;
      return dependency.attempt();
    },
    {
      judge: dependency.judge,
      ...(context.signal ? { signal: context.signal } : {}),
      ...(context.backoff ? { backoff: context.backoff } : {}),
      onRetry: ({ attempt, nextDelayMs, reason }) => {
        readiness.notReady(component, `${reason} (attempt ${attempt}, next in ${seconds(nextDelayMs)})`);
        logger.warn({ component, attempt, nextDelayMs, reason }, `${title} not available (attempt ${attempt}); retrying in ${seconds(nextDelayMs)}`);
      },
    },
  );
  readiness.ready(component);
  if (attempts > 1) logger.info({ component, attempts }, `${title} available after ${attempts} attempts`);
  return value;
}

/**
 * Waits for all of them at once. The first fatal error (or a stop signal) ends every wait: the
 * others are told to stop through the shared signal, and that error is thrown.
 */
export async function waitForDependencies<T extends unknown[]>(
  dependencies: { [K in keyof T]: Dependency<T[K]> },
  context: WaitContext,
): Promise<T> {
  const inner = new AbortController();
  const forward = (): void => inner.abort();
  context.signal?.addEventListener('abort', forward, { once: true });
  if (context.signal?.aborted) inner.abort();
  try {
    return (await Promise.all(dependencies.map((d) => waitForDependency(d, { ...context, signal: inner.signal })))) as T;
  } catch (error) {
    inner.abort();
    throw error;
  } finally {
    context.signal?.removeEventListener('abort', forward);
  }
}
