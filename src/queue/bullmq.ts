// The only module that imports bullmq: the queues for incident work and the workers that drain them.
// Queue and Worker always have an 'error' listener (an unhandled one would crash the process), and
// a worker that is told to stop lets its jobs finish, or hands them back to the queue at the
// deadline so another worker takes them over at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, WaitingError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../redis/connect.js';
import type { Logger } from '../log.js';
import { DEFAULT_LANE_SLOTS, jobIdOf, type IncidentJob } from './jobs.js';

/**
 * Three lanes, each its own BullMQ queue with its own worker slots, so a job waits only for its
 * own lane's slots:
 *  - urgent: a step someone approved, a click, an alert, a lift, a restore step. Fifty incidents
 *    being opened, or their traces running, never hold up the containment approved on the first;
 *  - proposals: opening an incident (gathering what its proposal shows);
 *  - background: the steps that run by themselves (traces, validations), bounded so they leave the
 *    machine to the other two.
 * A job's lane follows from its name and how it was queued, never from state, so the same job id
 * always lands in the same queue (the queue's deduplication holds).
 */
export type Lane = 'urgent' | 'proposals' | 'background';

export const QUEUE_NAMES: Readonly<Record<Lane, string>> = { urgent: 'incident-jobs', proposals: 'incident-proposals', background: 'incident-background' };

const LANES = Object.keys(QUEUE_NAMES) as Lane[];

export function laneOf(job: IncidentJob, background: boolean | undefined): Lane {
  if (background) return 'background';
  return job.name === 'open' ? 'proposals' : 'urgent';
}

export interface JobQueue {
  enqueue(job: IncidentJob, options?: { delayMs?: number; background?: boolean }): Promise<void>;
  /** Jobs per state (waiting, active, delayed, failed, ...), for metrics. */
  counts(): Promise<Record<string, number>>;
  /** One round trip to the queue's Redis: resolves when Redis answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** `pings`: the connection ping() uses (default: the queue's own). */
export function createJobQueue(connection: RedisClient, prefix: string, logger?: Logger, pings: RedisClient = connection): JobQueue {
  const queues = Object.fromEntries(
    LANES.map((lane) => {
      const queue = new Queue(QUEUE_NAMES[lane], { connection, prefix: `${prefix}:bull` });
      queue.on('error', (error) => logger?.warn({ err: error, lane }, 'job queue error'));
      return [lane, queue];
    }),
  ) as Record<Lane, Queue>;
  return {
    async counts() {
      const total: Record<string, number> = {};
      for (const counts of await Promise.all(LANES.map((lane) => queues[lane].getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed')))) {
        for (const [state, n] of Object.entries(counts)) total[state] = (total[state] ?? 0) + n;
      }
      return total;
    },
    async ping() {
      await pings.ping();
    },
    async enqueue(job, options = {}) {
      await queues[laneOf(job, options.background)].add(job.name, job.data, {
        jobId: jobIdOf(job),
        delay: options.delayMs,
        // Failed jobs are retried by the handler's own logic; the queue retries crashes only.
        attempts: 1,
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
    },
    async close() {
      await Promise.all(LANES.map((lane) => queues[lane].close()));
    },
  };
}

export interface WorkerOptions {
  /** Slots of the urgent lane. */
  concurrency: number;
  /** Slots of the proposals lane (default DEFAULT_LANE_SLOTS). */
  proposalConcurrency?: number;
  /** Slots of the background lane (default DEFAULT_LANE_SLOTS). */
  backgroundConcurrency?: number;
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
  /** Jobs of one lane this worker is running now. */
  activeIn(lane: Lane): number;
  /**
   * Takes no new job and waits for the running ones; those still running after `graceMs` are
   * handed back to the queue (their step resumes in another worker, as after a crash).
   */
  close(graceMs?: number): Promise<CloseOutcome>;
}

function slotsOf(lane: Lane, options: WorkerOptions): number {
  if (lane === 'proposals') return options.proposalConcurrency ?? DEFAULT_LANE_SLOTS.proposals;
  if (lane === 'background') return options.backgroundConcurrency ?? DEFAULT_LANE_SLOTS.background;
  return options.concurrency;
}

export function startJobWorker(
  connection: RedisClient,
  prefix: string,
  process: (job: IncidentJob) => Promise<void>,
  options: WorkerOptions,
  logger: Logger,
): JobWorker {
  // The lock token of each running job: handing a job back needs it. (A job id is in one lane only.)
  const running = new Map<string, { job: Job; token: string | undefined }>();
  const handedBack = new Set<string>();
  const activeByLane: Record<Lane, number> = { urgent: 0, proposals: 0, background: 0 };
  const workers = LANES.map((lane) => {
    const worker = new Worker(
      QUEUE_NAMES[lane],
      async (job: Job, token?: string) => {
        const key = job.id ?? job.name;
        running.set(key, { job, token });
        activeByLane[lane]++;
        try {
          await process({ name: job.name, data: job.data } as IncidentJob);
        } catch (error) {
          if (!handedBack.has(key)) throw error;
        } finally {
          running.delete(key);
          activeByLane[lane]--;
        }
        // A handed-back job belongs to the queue again: its outcome here must not be recorded (and
        // with the connection closed, BullMQ would retry recording it without end). WaitingError is
        // BullMQ's way of saying "moved back to wait".
        if (handedBack.has(key)) throw new WaitingError();
      },
      {
        // The lanes share this connection for commands; each blocks on a duplicate BullMQ makes.
        connection,
        prefix: `${prefix}:bull`,
        concurrency: slotsOf(lane, options),
        lockDuration: options.lockDurationMs,
        stalledInterval: options.stalledIntervalMs,
        // A job whose worker died is handed over; twice in a row means something is wrong with it.
        maxStalledCount: 2,
      },
    );
    worker.on('failed', (job, error) => logger.error({ job: job?.id, lane, err: error }, 'job failed'));
    worker.on('error', (error) => logger.error({ err: error, lane }, 'worker error'));
    return worker;
  });

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
    activeIn: (lane) => activeByLane[lane],
    async close(graceMs = Number.POSITIVE_INFINITY) {
      const closing = Promise.all(workers.map((worker) => worker.close())).then(
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
