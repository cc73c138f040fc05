// One active collector per cluster: a Redis lock with a TTL that the holder renews. If the holder
// dies (no renewals), the key expires and a standby takes over on its next attempt. Renew and
// release only act when the lock still holds this instance's token (Lua), so a collector that
// paused past its TTL can never extend or delete a successor's lock.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface CollectorLockOptions {
  /** Redis key of the lock, e.g. "netpol:<cluster>:collector:lock". */
  key: string;
  ttlMs?: number;
  /** How often the holder renews and a standby retries (default ttl/3). */
  intervalMs?: number;
  /** Shown in the lock value to tell who holds it. */
  instance?: string;
  onAcquired?: () => void | Promise<void>;
  /** The lock was lost (renewal failed or found another holder): stop collecting at once. */
  onLost?: (reason: string) => void | Promise<void>;
}

export class CollectorLock {
  readonly token: string;
  private readonly ttlMs: number;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private held = false;
  private running = false;
  private ticking: Promise<void> | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly options: CollectorLockOptions,
  ) {
    this.ttlMs = options.ttlMs ?? 15_000;
    this.intervalMs = options.intervalMs ?? Math.max(50, Math.floor(this.ttlMs / 3));
    this.token = `${options.instance ?? 'collector'}:${randomBytes(8).toString('hex')}`;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Starts trying to acquire (and then renewing). Resolves after the first attempt. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.tick();
  }

  /** Stops and releases the lock if held, so a standby takes over without waiting for the TTL. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
    if (this.held) {
      this.held = false;
      await this.redis.eval(RELEASE, 1, this.options.key, this.token).catch(() => undefined);
    }
  }

  /** Stops without releasing: what a crashed process leaves behind (tests use it). */
  abandon(): void {
    this.running = false;
    this.held = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async holder(): Promise<string | null> {
    return this.redis.get(this.options.key);
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = null;
      });
    }, this.intervalMs);
  }

  private async tick(): Promise<void> {
    try {
      if (this.held) {
        const renewed = await this.redis.eval(RENEW, 1, this.options.key, this.token, String(this.ttlMs));
        if (renewed !== 1) await this.lose('lock taken over or expired');
      } else {
        const acquired = await this.redis.set(this.options.key, this.token, 'PX', this.ttlMs, 'NX');
        if (acquired === 'OK' && this.running) {
          this.held = true;
          await this.options.onAcquired?.();
        }
      }
    } catch (error) {
      // Redis unreachable: a holder cannot prove it still holds the lock past its TTL, so it stops.
      if (this.held) await this.lose(`redis error: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.schedule();
  }

  private async lose(reason: string): Promise<void> {
    this.held = false;
    await this.options.onLost?.(reason);
  }
}
