// Retrying a start-up dependency (Slack, the Kubernetes API) until it answers: exponential backoff
// with a cap, every failed attempt reported (attempt number, next delay), a refusal that retrying
// cannot fix ends it at once, and a stop signal ends the wait.
import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 15_000, factor: 2 };

/** Delay after failed attempt `attempt` (1-based): initial, initial·factor, … capped at max. */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  return Math.round(Math.min(options.maxMs, options.initialMs * options.factor ** (n - 1)));
}

/** What a failed attempt means: retry (with the reason to report) or give up (with the fix to print). */
export type Verdict = { retry: true; reason: string } | { retry: false; error: Error };

export interface RetryReport {
  attempt: number;
  nextDelayMs: number;
  reason: string;
}

/** The wait was ended by a stop signal (SIGTERM during start-up), not by a failure. */
export class StartupInterrupted extends Error {
  constructor() {
    super('start-up interrupted by a stop signal');
    this.name = 'StartupInterrupted';
  }
}

export async function retryWithBackoff<T>(
  attempt: (n: number) => Promise<T>,
  options: { judge: (error: unknown) => Verdict; onRetry: (report: RetryReport) => void; signal?: AbortSignal; backoff?: BackoffOptions },
): Promise<T> {
  for (let n = 1; ; n++) {
    if (options.signal?.aborted) throw new StartupInterrupted();
    try {
      return await attempt(n);
    } catch (error) {
      if (options.signal?.aborted) throw new StartupInterrupted();
      const verdict = options.judge(error);
      if (!verdict.retry) throw verdict.error;
      const nextDelayMs = backoffDelay(n, options.backoff);
      options.onRetry({ attempt: n, nextDelayMs, reason: verdict.reason });
      try {
        await sleep(nextDelayMs, undefined, options.signal ? { signal: options.signal } : undefined);
      } catch {
        throw new StartupInterrupted();
      }
    }
  }
}

/** Settles like `promise`, or rejects with StartupInterrupted when `signal` aborts first. */
export function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(new StartupInterrupted());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new StartupInterrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
