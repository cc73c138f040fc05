// A deadline on the incident writes a Slack click makes. A click is answered within Slack's 3 s;
// when Redis does not answer in time, the clicker is told nothing changed. With
// maxRetriesPerRequest: null ioredis keeps the command, and after a network partition heals its
// bytes still reach Redis: the write script therefore compares the deadline with Redis's own clock
// and refuses a write that arrives late, so "nothing changed" stays true. The deadline travels with
// the click's work (AsyncLocalStorage) down to IncidentStore, without every API taking it.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface WriteScope {
  /** Epoch ms after which Redis refuses the scope's writes; undefined once the click's work settled in time. */
  deadlineMs: number | undefined;
  /** A write of the scope went through (the clicker cannot be told that nothing changed). */
  wrote: boolean;
}

const scopes = new AsyncLocalStorage<WriteScope>();

/** The scope of the click being handled, if any. */
export function currentWriteScope(): WriteScope | undefined {
  return scopes.getStore();
}

/** Redis refused a write because it arrived after the click's deadline. */
export class WriteTooLate extends Error {
  constructor() {
    super('Redis received the change after the deadline of the click that made it; it was not applied');
    this.name = 'WriteTooLate';
  }
}

export type DeadlineOutcome<T> = { settled: true; value: T } | { settled: false; wrote: boolean };

/**
 * Runs `work` with its incident writes bound to `budgetMs` from now. Resolves with the value, or,
 * when the budget passes first, with whether any write had gone through by then (later ones are
 * refused by Redis). Work that settles in time lifts the deadline for what it left running in the
 * background (a redraw, the next step's preparation).
 */
export async function withWriteDeadline<T>(budgetMs: number, work: () => Promise<T>, clock: () => number = Date.now): Promise<DeadlineOutcome<T>> {
  const scope: WriteScope = { deadlineMs: clock() + budgetMs, wrote: false };
  const running = scopes.run(scope, work);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), budgetMs);
  });
  try {
    const first = await Promise.race([running.then((value) => ({ value })), late]);
    if (first === 'late') {
      running.catch(() => undefined);
      return { settled: false, wrote: scope.wrote };
    }
    scope.deadlineMs = undefined;
    return { settled: true, value: first.value };
  } catch (error) {
    scope.deadlineMs = undefined;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

