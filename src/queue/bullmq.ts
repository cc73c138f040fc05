// The only module that imports bullmq: one queue for incident work and the workers that drain it.
// Queue and Worker always have an 'error' listener (an unhandled one would crash the process), and
// a worker that is told to stop lets its jobs finish, or hands them back to the queue at the
// deadline so another worker takes them over at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, WaitingError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../redis/connect.js';
import type { Logger } from '../log.js';
import { jobIdOf, type IncidentJob } from './jobs.js';

const QUEUE_NAME = 'incident-jobs';

/**
 * BullMQ takes jobs without a priority before any with one: a step someone approved, a click, an
 * alert go first. Opening an incident (gathering its proposal) comes next: fifty incidents opened
 * at once would otherwise hold up the containment approved on the first proposal until the last
 * one is drawn up. The steps that run by themselves (background) wait for a free slot after
 * them, so fifty incidents' traces and validations do not hold up the next containment.
 */
const PROPOSAL_PRIORITY = 5;
const BACKGROUND_PRIORITY = 10;

function priorityOf(job: IncidentJob, background: boolean | undefined): number | undefined {
  if (background) return BACKGROUND_PRIORITY;
  return job.name === 'open' ? PROPOSAL_PRIORITY : undefined;
}

export interface JobQueue {
  enqueue(job: IncidentJob, options?: { delayMs?: number; background?: boolean }): Promise<void>;
  /** Jobs per state (waiting, active, delayed, failed, ...), for metrics. */
  counts(): Promise<Record<string, number>>;
  /** One round trip to the queue's Redis: resolves when Redis answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createJobQueue(connection: RedisClient, prefix: string, logger?: Logger): JobQueue {
  const queue = new Queue(QUEUE_NAME, { connection, prefix: `${prefix}:bull` });
  queue.on('error', (error) => logger?.warn({ err: error }, 'job queue error'));
  return {
    counts: () => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'),
    async ping() {
      await connection.ping();
    },
    async enqueue(job, options = {}) {
      const priority = priorityOf(job, options.background);
      await queue.add(job.name, job.data, {
        jobId: jobIdOf(job),
        delay: options.delayMs,
        ...(priority !== undefined ? { priority } : {}),
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

export interface CloseOutcome {
  /** Jobs still running at the deadline, moved back to the queue for another worker. */
  handedBack: string[];
}

export interface JobWorker {
  /** Jobs this worker is running now. */
  readonly active: number;
  /**
   * Takes no new job and waits for the running ones; those still running after `graceMs` are
   * handed back to the queue (their step resumes in another worker, as after a crash).
   */
  close(graceMs?: number): Promise<CloseOutcome>;
}

export function startJobWorker(
  connection: RedisClient,
  prefix: string,
  process: (job: IncidentJob) => Promise<void>,
  options: WorkerOptions,
  logger: Logger,
): JobWorker {
  // The lock token of each running job: handing a job back needs it.
  const running = new Map<string, { job: Job; token: string | undefined }>();
  const handedBack = new Set<string>();
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job, token?: string) => {
      const key = job.id ?? job.name;
      running.set(key, { job, token });
      try {
        await process({ name: job.name, data: job.data } as IncidentJob);
      } catch (error) {
        if (!handedBack.has(key)) throw error;
      } finally {
        running.delete(key);
      }
      // A handed-back job belongs to the queue again: its outcome here must not be recorded (and
      // with the connection closed, BullMQ would retry recording it without end). WaitingError is
      // BullMQ's way of saying "moved back to wait".
      if (handedBack.has(key)) throw new WaitingError();
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

  const handBack = async (): Promise<string[]> => {
    const handed: string[] = [];
    for (const [key, { job, token }] of running) {
      try {
        await job.moveToWait(token);
        handedBack.add(key);
        handed.push(key);
        logger.warn({ job: key }, 'job still running at the shutdown deadline: handed back to the queue');
      } catch (error) {
        logger.error({ err: error, job: key }, 'could not hand a job back; another worker takes it over when its lock expires');
      }
    }
    running.clear();
    return handed;
  };

  return {
    get active() {
      return running.size;
    },
    async close(graceMs = Number.POSITIVE_INFINITY) {
      const closing = worker.close().then(
        () => 'closed' as const,
        (error: unknown) => {
          logger.error({ err: error }, 'closing the worker failed');
          return 'closed' as const;
        },
      );
      if (!Number.isFinite(graceMs)) {
        await closing;
        return { handedBack: [] };
      }
      const abandon = new AbortController();
      const outcome = await Promise.race([closing, sleep(Math.max(0, graceMs), 'late' as const, { signal: abandon.signal }).catch(() => 'closed' as const)]);
      abandon.abort();
      if (outcome === 'closed') return { handedBack: [] };
      // The handlers still run; their results can no longer be recorded against the job's lock.
      return { handedBack: await handBack() };
    },
  };
}
