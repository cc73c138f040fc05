// One active instance per cluster of a singleton role (the flow collector, the containment guard):
// a Redis lock with a TTL that the holder renews. If the holder dies (no renewals), the key
// expires and a standby takes over on its next attempt. Renew and
// release only act when the lock still holds this instance's token (Lua), so a holder that
// paused past its TTL can never extend or delete a successor's lock.
//
// The holder fences itself: it counts the lock as its own only until the TTL of its last
// confirmed renewal runs out (measured from when that renewal was sent). A renewal that fails or
// hangs (Redis unreachable, a network partition) is retried until then; past that point a standby
// may hold the lock, so the holder stops before the standby can start.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RedisClient } from './connect.js';
import { DeadlinePassed, withDeadline } from './deadline.js';
import { defaultIntervalMs, fencingMarginMs, RenewalLoop } from './renewal-loop.js';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface SingletonLockOptions {
  /** Redis key of the lock, e.g. "netpol:<cluster>:collector:lock". */
  key: string;
  ttlMs?: number;
  /** How often the holder renews and a standby retries (default ttl/3). */
  intervalMs?: number;
  /** Shown in the lock value to tell who holds it. */
  instance?: string;
  onAcquired?: () => void | Promise<void>;
  /** The lock was lost (renewal failed or found another holder): stop the role's work at once. */
  onLost?: (reason: string) => void | Promise<void>;
}

export class SingletonLock {
  readonly token: string;
  private readonly ttlMs: number;
  private readonly safetyMs: number;
  private readonly loop: RenewalLoop;
  private held = false;
  /** performance.now() when the last confirmed SET/PEXPIRE was sent: the lock is ours until this + ttl. */
  private confirmedAt = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: SingletonLockOptions,
  ) {
    this.ttlMs = options.ttlMs ?? 15_000;
    const intervalMs = options.intervalMs ?? defaultIntervalMs(this.ttlMs);
    this.safetyMs = fencingMarginMs(intervalMs, this.ttlMs);
    this.loop = new RenewalLoop(intervalMs, () => this.tick());
    this.token = `${options.instance ?? 'instance'}:${randomBytes(8).toString('hex')}`;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Starts trying to acquire (and then renewing). Resolves after the first attempt. */
  async start(): Promise<void> {
    await this.loop.start();
  }

  /** Stops and releases the lock if held, so a standby takes over without waiting for the TTL. */
  async stop(): Promise<void> {
    await this.loop.stop();
    if (this.held) {
      this.held = false;
      await this.redis.eval(RELEASE, 1, this.options.key, this.token).catch(() => undefined);
    }
  }

  /** Stops without releasing: what a crashed process leaves behind (tests use it). */
  abandon(): void {
    this.loop.abandon();
    this.held = false;
  }

  async holder(): Promise<string | null> {
    return this.redis.get(this.options.key);
  }

  private async tick(): Promise<void> {
    const sentAt = performance.now();
    try {
      if (this.held) {
        const expiresIn = this.confirmedAt + this.ttlMs - this.safetyMs - sentAt;
        const renewed = await withDeadline(this.redis.eval(RENEW, 1, this.options.key, this.token, String(this.ttlMs)), expiresIn);
        if (renewed === 1) this.confirmedAt = sentAt;
        else await this.lose('lock taken over or expired');
      } else {
        // Bounded too, so stop() never waits on a Redis that does not answer.
        const acquired = await withDeadline(this.redis.set(this.options.key, this.token, 'PX', this.ttlMs, 'NX'), this.ttlMs);
        if (acquired === 'OK' && this.loop.isRunning) {
          this.held = true;
          this.confirmedAt = sentAt;
          await this.options.onAcquired?.();
        }
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      // A failed renewal is retried while the last confirmed one still covers us; after that, stop.
      if (this.held && (error instanceof DeadlinePassed || performance.now() >= this.confirmedAt + this.ttlMs - this.safetyMs)) {
        await this.lose(`could not renew the lock before it could expire (${reason})`);
      }
    }
  }

  private async lose(reason: string): Promise<void> {
    this.held = false;
    await this.options.onLost?.(reason);
  }
}
