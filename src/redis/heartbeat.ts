// Whether Redis has been answering lately, kept by a PING every `intervalMs` on a connection of its
// own. A slash command that queues work is acknowledged at once while the heartbeat is fresh,
// instead of after a PING of its own: on a busy machine that round trip is two more waits for a
// core (Redis's, then ours), the tail of the acknowledgement. One PING at a time: one held by a
// network partition is never answered, so the heartbeat goes stale until Redis is back.
import { performance } from 'node:perf_hooks';
import { RenewalLoop } from './renewal-loop.js';

export interface HeartbeatOptions {
  /** Time between the answer to one PING and the next (default 250 ms). */
  intervalMs?: number;
  /** How recently a PING must have been sent, and answered, for Redis to count as answering (default 1000 ms). */
  freshMs?: number;
  /** A monotonic clock in ms (default performance.now): wall-clock jumps must not make it fresh. */
  now?: () => number;
}

const HEARTBEAT_INTERVAL_MS = 250;
const HEARTBEAT_FRESH_MS = 1000;

export class RedisHeartbeat {
  /** When the last answered PING was sent. */
  private answeredPingSentAt = -Infinity;
  private readonly loop: RenewalLoop;
  private readonly freshMs: number;
  private readonly now: () => number;

  constructor(ping: () => Promise<unknown>, options: HeartbeatOptions = {}) {
    this.freshMs = options.freshMs ?? HEARTBEAT_FRESH_MS;
    this.now = options.now ?? (() => performance.now());
    this.loop = new RenewalLoop(options.intervalMs ?? HEARTBEAT_INTERVAL_MS, async () => {
      const sentAt = this.now();
      await ping();
      this.answeredPingSentAt = Math.max(this.answeredPingSentAt, sentAt);
    });
  }

  /** Starts pinging; returns at once (the heartbeat is stale until the first answer). */
  start(): void {
    void this.loop.start();
  }

  /** Stops pinging, without waiting for a PING in flight (a partition may hold it for good). */
  stop(): void {
    this.loop.abandon();
  }

  /** Redis answered a PING sent within the last `freshMs`. */
  get fresh(): boolean {
    return this.now() - this.answeredPingSentAt <= this.freshMs;
  }
}
