// Everything a process opens (Redis connections, servers, workers…), closed in reverse order of
// opening: on a failed start-up (so nothing is left holding the process open) and on shutdown,
// where the reverse order stops intake first and the connections last.
import type { Logger } from '../log.js';

type Close = (deadline: number) => Promise<unknown> | unknown;
/** How much of the time left one closer may take (the rest is kept for those after it). */
type Budget = (remainingMs: number) => number;

/** Below this, a closer still gets a moment: most of them are a socket end or a disconnect. */
const MIN_WINDOW_MS = 100;

export class Resources {
  private readonly stack: Array<{ name: string; close: Close; budget?: Budget }> = [];

  constructor(private readonly logger: Logger) {}

  /** `close` receives the overall deadline (epoch ms), for closers that plan their own time. */
  add(name: string, close: Close, budget?: Budget): void {
    this.stack.push({ name, close, ...(budget ? { budget } : {}) });
  }

  get size(): number {
    return this.stack.length;
  }

  /** Closes everything, last opened first, each bounded by the time left; never throws. */
  async closeAll(deadline = Number.POSITIVE_INFINITY): Promise<void> {
    for (let entry = this.stack.pop(); entry; entry = this.stack.pop()) {
      const { name, close, budget } = entry;
      const remaining = deadline - Date.now();
      const window = Math.max(budget ? Math.min(budget(remaining), remaining) : remaining, MIN_WINDOW_MS);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        if (Number.isFinite(window)) timer = setTimeout(() => resolve('late'), window);
      });
      try {
        const outcome = await Promise.race([Promise.resolve().then(() => close(deadline)), late]);
        if (outcome === 'late') this.logger.warn({ resource: name }, 'did not close in time; moving on');
      } catch (error) {
        this.logger.warn({ err: error, resource: name }, 'closing failed');
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
