// Per-source rate limits on the webhook routes (Alertmanager, Falcosidekick, Kubernetes audit,
// Git push). A sender is one route and one client address; its requests are counted in Redis, so
// every web replica behind the same Service sees the same count. A request over the limit is
// answered 429 with Retry-After before its token is checked or a byte of its body is read: a
// flood (or a token guesser) costs one Redis round trip per request and stores nothing.
//
// When Redis does not answer, each replica falls back to a counter in its own memory with the
// same limits (rate-limiter-flexible's insurance limiter): a Redis outage neither opens the
// routes to a flood nor refuses every delivery.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RedisClient } from './redis/connect.js';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from './log.js';

export interface WebhookLimit {
  /** Requests a sender may make in one window. */
  requests: number;
  /** The window, in seconds. */
  windowSeconds: number;
}

/**
 * Defaults: generous for what each sender really does (Alertmanager groups alerts and sends every
 * few seconds at most; kube-apiserver's batching audit backend sends up to --audit-webhook-batch-
 * throttle-qps, 10/s by default; a Git host sends one delivery per push), low enough that a
 * flood or a guesser is stopped within a second.
 */
export const DEFAULT_WEBHOOK_LIMITS: Readonly<Record<string, WebhookLimit>> = {
  '/webhooks/alertmanager': { requests: 120, windowSeconds: 60 },
  '/webhooks/falcosidekick': { requests: 600, windowSeconds: 60 },
  '/webhooks/k8s-audit': { requests: 1200, windowSeconds: 60 },
  '/webhooks/git': { requests: 120, windowSeconds: 60 },
};
/** For a webhook path without an entry above. */
export const DEFAULT_WEBHOOK_LIMIT: WebhookLimit = { requests: 120, windowSeconds: 60 };

export type LimitVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface WebhookRateLimiterOptions {
  redis: RedisClient;
  /** The deployment's Redis key prefix; the counters live under `<prefix>:webhook-rate:`. */
  keyPrefix: string;
  /** Per path; paths not listed get `fallback`. */
  limits?: Readonly<Record<string, WebhookLimit>>;
  fallback?: WebhookLimit;
  logger: Logger;
}

/** Counts one request of a sender and says whether it may go on. */
export class WebhookRateLimiter {
  private readonly limiters = new Map<string, RateLimiterRedis>();
  private readonly limits: Readonly<Record<string, WebhookLimit>>;
  private readonly fallback: WebhookLimit;

  constructor(private readonly options: WebhookRateLimiterOptions) {
    this.limits = options.limits ?? DEFAULT_WEBHOOK_LIMITS;
    this.fallback = options.fallback ?? DEFAULT_WEBHOOK_LIMIT;
    for (const limit of [...Object.values(this.limits), this.fallback]) {
      if (!Number.isInteger(limit.requests) || limit.requests < 1 || !Number.isInteger(limit.windowSeconds) || limit.windowSeconds < 1) {
        throw new Error(`a webhook rate limit needs whole numbers of requests and seconds, at least 1 (got ${JSON.stringify(limit)})`);
      }
    }
  }

  async check(path: string, client: string): Promise<LimitVerdict> {
    try {
      await this.limiterFor(path).consume(`${path}|${client}`);
      return { allowed: true };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)) };
      // Neither Redis nor the memory fallback answered: let the request through, its handler
      // answers for the store it needs (the audit route says 500, to be sent again).
      this.options.logger.warn({ err: rejection, path }, 'webhook rate limit could not be checked; request let through');
      return { allowed: true };
    }
  }

  private limiterFor(path: string): RateLimiterRedis {
    let limiter = this.limiters.get(path);
    if (!limiter) {
      const { requests, windowSeconds } = this.limits[path] ?? this.fallback;
      limiter = new RateLimiterRedis({
        storeClient: this.options.redis,
        keyPrefix: `${this.options.keyPrefix}:webhook-rate`,
        points: requests,
        duration: windowSeconds,
        // A Redis that is reconnecting would queue the command (ioredis' offline queue) and
        // hold the request: go straight to the memory counter instead.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ points: requests, duration: windowSeconds }),
      });
      this.limiters.set(path, limiter);
    }
    return limiter;
  }
}

/** The sender's address as the web process sees it (behind a proxy, the proxy's). */
export function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

export interface RouteLike {
  path: string;
  method: string | string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
}

/**
 * The same routes, each counting its sender first. A refused request is answered 429 with
 * Retry-After and its body is not read (the connection is closed after the answer).
 */
export function rateLimitRoutes<T extends RouteLike>(routes: T[], limiter: WebhookRateLimiter, logger: Logger): T[] {
  return routes.map((route) => ({
    ...route,
    handler: async (req: IncomingMessage, res: ServerResponse) => {
      const client = clientAddress(req);
      const verdict = await limiter.check(route.path, client);
      if (!verdict.allowed) {
        logger.warn({ source: route.path, remote: client, retryAfter: verdict.retryAfterSeconds }, 'webhook: rate limit reached, request refused');
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(verdict.retryAfterSeconds), connection: 'close' });
        res.end(JSON.stringify({ ok: false, error: `too many requests from this sender; retry after ${verdict.retryAfterSeconds} s` }));
        req.resume();
        return;
      }
      await route.handler(req, res);
    },
  }));
}
