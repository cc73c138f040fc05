// The only module that imports bullmq: one queue for incident work and the workers that drain it.
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { jobIdOf, type IncidentJob } from './jobs.js';

const QUEUE_NAME = 'incident-jobs';

export interface JobQueue {
  enqueue(job: IncidentJob, options?: { delayMs?: number }): Promise<void>;
  /** Jobs per state (waiting, active, delayed, failed, ...), for metrics. */
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export function createJobQueue(connection: Redis, prefix: string): JobQueue {
  const queue = new Queue(QUEUE_NAME, { connection, prefix: `${prefix}:bull` });
  return {
    counts: () => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'),
    async enqueue(job, options = {}) {
      await queue.add(job.name, job.data, {
        jobId: jobIdOf(job),
        delay: options.delayMs,
        // Failed jobs are retried by the handler's own logic; the queue retries crashes only.
        attempts: 1,
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
    },
    close: () => queue.close(),
  };
}

export interface WorkerOptions {
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
}

export interface JobWorker {
  close(): Promise<void>;
}

export function startJobWorker(
  connection: Redis,
  prefix: string,
  process: (job: IncidentJob) => Promise<void>,
  options: WorkerOptions,
  logger: Logger,
): JobWorker {
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job) => {
      await process({ name: job.name, data: job.data } as IncidentJob);
    },
    {
      connection,
      prefix: `${prefix}:bull`,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      // A job whose worker died is handed over; twice in a row means something is wrong with it.
      maxStalledCount: 2,
    },
  );
  worker.on('failed', (job, error) => logger.error({ job: job?.id, err: error }, 'job failed'));
  worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
  return { close: () => worker.close() };
}
