// A bound on how long to wait for a Redis command. With maxRetriesPerRequest: null (what BullMQ
// needs), ioredis queues commands while disconnected instead of failing them, so a caller that
// must decide in time (a lock holder, a readiness probe) sets its own deadline.
export class DeadlinePassed extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${Math.max(0, Math.round(ms))} ms`);
    this.name = 'DeadlinePassed';
  }
}

/** Settles with the command, or rejects with DeadlinePassed after `ms`; the command is left to finish or fail on its own. */
export function withDeadline<T>(command: Promise<T>, ms: number): Promise<T> {
  command.catch(() => undefined);
  if (ms <= 0) return Promise.reject(new DeadlinePassed(ms));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlinePassed(ms)), ms);
  });
  return Promise.race([command, deadline]).finally(() => clearTimeout(timer));
}
