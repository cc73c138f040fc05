// Reads (get, list) are safe to repeat: one that meets a transient answer (429, 5xx, no response)
// is tried again here, so every step that reads the cluster rides out a burst without failing
// the incident. The wait grows exponentially and is never shorter than the Retry-After the
// API server asked for (capped: a server asking for an hour is not waited on that long).

export interface ReadRetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After honoured. */
  maxRetryAfterMs: number;
  sleep(ms: number): Promise<void>;
}

export const DEFAULT_READ_RETRY: ReadRetryPolicy = {
  attempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

interface TransientLike {
  retryable?: unknown;
  retryAfterSeconds?: unknown;
}

/** What the server asked to wait (Retry-After), in ms and at most `capMs`; 0 when it asked nothing. */
export function retryAfterMs(error: unknown, capMs: number): number {
  const seconds = (error as TransientLike | null)?.retryAfterSeconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.min(capMs, seconds * 1000);
}

/** The wait before attempt `attempt + 1` (attempt counts from 1). */
export function readRetryDelay(attempt: number, error: unknown, policy: Pick<ReadRetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'maxRetryAfterMs'>): number {
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 20));
  return Math.max(backoff, retryAfterMs(error, policy.maxRetryAfterMs));
}

export async function retryRead<R>(run: () => Promise<R>, policy: ReadRetryPolicy = DEFAULT_READ_RETRY): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if ((error as TransientLike | null)?.retryable !== true || attempt >= policy.attempts) throw error;
      await policy.sleep(readRetryDelay(attempt, error, policy));
    }
  }
}
