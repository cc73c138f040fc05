// Jobs go to three lanes, each a BullMQ queue with worker slots of its own, on a real Redis:
// urgent work (an approved step, a click, an alert), opening incidents (drawing up proposals), and
// the steps that run by themselves (traces, validations). Fifty proposals or validations holding
// every slot of their lanes must not hold up the next containment someone approved.
import { afterEach, expect, it } from 'vitest';
import { pino } from 'pino';
import { Queue } from 'bullmq';
import { createJobQueue, laneOf, QUEUE_NAMES, startJobWorker, type JobWorker } from '../../src/queue/bullmq.js';
import type { IncidentJob } from '../../src/queue/jobs.js';
import { redisConnections, uniquePrefix } from '../helpers/redis.js';

const redis = redisConnections();
const silent = pino({ level: 'silent' });

const step = (incidentId: string, stepId: string): IncidentJob => ({ name: 'run-step', data: { incidentId, stepId, attempt: 1 } });
const open = (id: string): IncidentJob => ({ name: 'open', data: { request: { id } as never } });
const label = (job: IncidentJob): string => (job.name === 'run-step' ? `${job.data.incidentId}/${job.data.stepId}` : job.name === 'open' ? `open ${job.data.request.id}` : job.name);

const workers: JobWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close(1000)));
});

it('names the lane of each job from its name and how it was queued alone', () => {
  expect(laneOf(step('i', 'contain'), undefined)).toBe('urgent');
  expect(laneOf(step('i', 'trace'), true)).toBe('background');
  expect(laneOf(open('o'), undefined)).toBe('proposals');
  expect(laneOf(open('o'), true)).toBe('background');
  expect(laneOf({ name: 'anomaly-alert', data: { anomalyId: 'a' } }, false)).toBe('urgent');
  expect(laneOf({ name: 'lift', data: { incidentId: 'i', attempt: 1 } }, undefined)).toBe('urgent');
});

it('takes each lane in the order its jobs came, and counts every lane', async () => {
  const prefix = uniquePrefix('job-lanes');
  const queue = createJobQueue(redis(), prefix);
  // All queued before any worker runs: the order they are taken in is the queues' alone.
  await queue.enqueue(open('o-1'));
  await queue.enqueue(step('i-1', 'trace'), { background: true });
  await queue.enqueue(step('i-2', 'validate'), { background: true });
  await queue.enqueue(open('o-2'));
  await queue.enqueue(step('i-3', 'contain'));
  await queue.enqueue({ name: 'anomaly-alert', data: { anomalyId: 'a-1' } });
  await queue.enqueue(step('i-4', 'trace'), { background: true });
  await queue.enqueue(step('i-5', 'contain'));
  await queue.enqueue(open('o-3'), { background: true });
  // A second enqueue of a job id is ignored, in every lane.
  await queue.enqueue(step('i-1', 'trace'), { background: true });
  await queue.enqueue(open('o-1'));
  await queue.enqueue(step('i-3', 'contain'));
  expect(await queue.counts()).toMatchObject({ waiting: 9, active: 0 });

  const taken: string[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  workers.push(
    startJobWorker(
      redis(),
      prefix,
      async (job) => {
        taken.push(label(job));
        if (taken.length === 9) done();
      },
      { concurrency: 1, proposalConcurrency: 1, backgroundConcurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
      silent,
    ),
  );
  await all;
  await new Promise((r) => setTimeout(r, 300));
  await queue.close();
  expect(taken).toHaveLength(9);
  expect(taken.filter((t) => ['i-3/contain', 'anomaly-alert', 'i-5/contain'].includes(t))).toEqual(['i-3/contain', 'anomaly-alert', 'i-5/contain']);
  expect(taken.filter((t) => t === 'open o-1' || t === 'open o-2')).toEqual(['open o-1', 'open o-2']);
  expect(taken.filter((t) => t.endsWith('trace') || t.endsWith('validate') || t === 'open o-3')).toEqual(['i-1/trace', 'i-2/validate', 'i-4/trace', 'open o-3']);
}, 30_000);

it('starts an approved step at once while every proposal and background slot is held and more wait', async () => {
  const prefix = uniquePrefix('job-lanes-busy');
  const queue = createJobQueue(redis(), prefix);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const started: string[] = [];
  let containStarted!: () => void;
  const contained = new Promise<void>((r) => (containStarted = r));
  const worker = startJobWorker(
    redis(),
    prefix,
    async (job) => {
      started.push(label(job));
      if (job.name === 'run-step' && job.data.stepId === 'contain') return containStarted();
      await released;
    },
    { concurrency: 1, proposalConcurrency: 2, backgroundConcurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
    silent,
  );
  workers.push(worker);
  for (let i = 0; i < 10; i++) await queue.enqueue(open(`o-${i}`));
  for (let i = 0; i < 10; i++) await queue.enqueue(step(`t-${i}`, 'trace'), { background: true });
  await expect.poll(() => started.length, { timeout: 10_000 }).toBe(3);
  expect(worker.active).toBe(3);
  expect([worker.activeIn('urgent'), worker.activeIn('proposals'), worker.activeIn('background')]).toEqual([0, 2, 1]);

  await queue.enqueue(step('i-1', 'contain'));
  await contained;
  // The proposals and traces still hold their slots: the containment did not wait for them.
  expect(started.filter((s) => s.startsWith('open '))).toEqual(['open o-0', 'open o-1']);
  expect(started.filter((s) => s.endsWith('/trace'))).toEqual(['t-0/trace']);
  const bull = new Queue(QUEUE_NAMES.proposals, { connection: redis(), prefix: `${prefix}:bull` });
  expect(await bull.getJobCounts('waiting', 'active')).toMatchObject({ waiting: 8, active: 2 });
  await bull.close();
  release();
  await expect.poll(() => started.length, { timeout: 10_000 }).toBe(21);
  await queue.close();
}, 30_000);

it('ping() goes over its own connection: a command the queue\'s connection is waiting on does not hold it up', async () => {
  const prefix = uniquePrefix('job-ping');
  const shared = redis();
  const alone = createJobQueue(shared, prefix, silent, redis());
  const together = createJobQueue(shared, prefix);
  // The shared connection waits 1.5 s on a blocking pop (as it would behind a big reply).
  const blocked = shared.blpop(`${prefix}:nothing`, 1.5);
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  await alone.ping();
  expect(Date.now() - started).toBeLessThan(1000);
  await together.ping(); // behind the pop
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  await blocked;
  await Promise.all([alone.close(), together.close()]);
});
