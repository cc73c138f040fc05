// The timer behind a lease kept in Redis (SingletonLock, LeaseMembers): one renewal at a time,
// every `intervalMs`, until stopped; one that throws does not end it. Stopping waits for a renewal in flight, so what follows (a
// release, a leave) is never overtaken by it; abandoning does not (a crashed process, in tests).
export class RenewalLoop {
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private running = false;

  constructor(
    private readonly intervalMs: number,
    private readonly renew: () => Promise<void>,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts; resolves after the first renewal. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.run();
  }

  /** Stops renewing; resolves once a renewal in flight has ended. */
  async stop(): Promise<void> {
    this.abandon();
    await this.ticking;
  }

  /** Stops renewing at once. */
  abandon(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async run(): Promise<void> {
    try {
      await this.renew();
    } catch {
      // A renewal reports its own failures (the lease's owner is told); the next one is still due.
    } finally {
      this.schedule();
    }
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.ticking = this.run().finally(() => {
        this.ticking = null;
      });
    }, this.intervalMs);
  }
}

/** Renewal period by default: a third of the TTL, so two renewals may fail before it runs out. */
export const defaultIntervalMs = (ttlMs: number): number => Math.max(50, Math.floor(ttlMs / 3));

/** A holder stops counting its lease as its own this long before the TTL could run out (clock drift, GC pauses). */
export const fencingMarginMs = (intervalMs: number, ttlMs: number): number => Math.min(intervalMs, Math.floor(ttlMs / 4));
