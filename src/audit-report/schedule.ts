// The scheduled audit on BullMQ: a job scheduler on its own queue fires once per period, however
// many worker replicas upsert it (the scheduler's job ids are `repeat:<id>:<scheduled ms>`, so a
// second replica's upsert or a second producer adds nothing); whichever worker takes the job runs
// it. The job's scheduled time keys the stored run, so a retried job does not post twice.
import { Queue, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../redis/connect.js';
import type { Logger } from '../log.js';

const QUEUE_NAME = 'audit-report';
const SCHEDULER_ID = 'audit-report';

export interface AuditScheduleOptions {
  /** A connection of its own for the worker (it blocks), closed by close(); the queue uses a duplicate. */
  connection: RedisClient;
  /** redis.keyPrefix: the queue lives under `<prefix>:bull` like the incident jobs. */
  prefix: string;
  /** Cron pattern (5 fields, or 6 with seconds first) or, for tests, a fixed interval. */
  repeat: { pattern: string; tz: string } | { every: number };
  run: (runAt: number) => Promise<unknown>;
  logger: Logger;
  /** Lock of a running job; a run holding it longer (a huge cluster) is renewed, a dead worker's is taken over. */
  lockDurationMs?: number;
}

export interface AuditSchedule {
  close(): Promise<void>;
}

/** The scheduled time of a scheduler's job: opts.prevMillis, else the time in its id. */
export function scheduledTime(job: Pick<Job, 'id' | 'opts' | 'timestamp'>): number {
  const prev = (job.opts as { prevMillis?: unknown }).prevMillis;
  if (typeof prev === 'number' && Number.isFinite(prev) && prev > 0) return prev;
  const fromId = /:(\d+)$/.exec(job.id ?? '')?.[1];
  return fromId !== undefined ? Number(fromId) : job.timestamp;
}

export async function startAuditSchedule(options: AuditScheduleOptions): Promise<AuditSchedule> {
  const { connection, logger } = options;
  const queueConnection = connection.duplicate();
  const queue = new Queue(QUEUE_NAME, { connection: queueConnection, prefix: `${options.prefix}:bull` });
  queue.on('error', (error) => logger.warn({ err: error }, 'audit report queue error'));
  const repeat = 'every' in options.repeat ? { every: options.repeat.every } : { pattern: options.repeat.pattern, tz: options.repeat.tz };
  // Every replica upserts the same scheduler at start: the last configuration wins, one job per period.
  await queue.upsertJobScheduler(SCHEDULER_ID, repeat, {
    name: 'audit-report',
    data: {},
    opts: { attempts: 3, backoff: { type: 'exponential', delay: 30_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  });
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job) => {
      await options.run(scheduledTime(job));
    },
    { connection, prefix: `${options.prefix}:bull`, concurrency: 1, lockDuration: options.lockDurationMs ?? 60_000, maxStalledCount: 1 },
  );
  worker.on('failed', (job, error) => logger.error({ job: job?.id, err: error }, 'scheduled audit failed'));
  worker.on('error', (error) => logger.error({ err: error }, 'audit report worker error'));
  return {
    async close() {
      await worker.close();
      await queue.close();
      queueConnection.disconnect();
      connection.disconnect();
    },
  };
}

/** Removes the scheduler (auditReport.enabled: false), so replicas still on the old config stop firing it too. */
export async function removeAuditSchedule(connection: RedisClient, prefix: string): Promise<void> {
  const queue = new Queue(QUEUE_NAME, { connection, prefix: `${prefix}:bull` });
  try {
    await queue.removeJobScheduler(SCHEDULER_ID);
  } finally {
    await queue.close();
  }
}
