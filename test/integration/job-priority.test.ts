// Jobs queued in the background (steps that need nobody's approval: traces, validations) wait
// behind the others (an approved step, a click, an alert) for a free worker slot, on a real Redis:
// fifty incidents' validations must not hold up the next containment someone approved.
import { expect, it } from 'vitest';
import { pino } from 'pino';
import { createJobQueue, startJobWorker } from '../../src/queue/bullmq.js';
import type { IncidentJob } from '../../src/queue/jobs.js';
import { redisConnections, uniquePrefix } from '../helpers/redis.js';

const redis = redisConnections();

const step = (incidentId: string, stepId: string): IncidentJob => ({ name: 'run-step', data: { incidentId, stepId, attempt: 1 } });

it('a worker takes the jobs queued without priority first, then the background ones in the order they came', async () => {
  const prefix = uniquePrefix('job-priority');
  const queue = createJobQueue(redis(), prefix);
  // All queued before any worker runs: the order they are taken in is the queue's alone.
  await queue.enqueue(step('i-1', 'trace'), { background: true });
  await queue.enqueue(step('i-2', 'validate'), { background: true });
  await queue.enqueue(step('i-3', 'contain'));
  await queue.enqueue({ name: 'anomaly-alert', data: { anomalyId: 'a-1' } });
  await queue.enqueue(step('i-4', 'trace'), { background: true });
  await queue.enqueue(step('i-5', 'contain'));
  expect(await queue.counts()).toMatchObject({ waiting: 3, prioritized: 3 });

  const taken: string[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const worker = startJobWorker(
    redis(),
    prefix,
    async (job) => {
      taken.push(job.name === 'run-step' ? `${job.data.incidentId}/${job.data.stepId}` : job.name);
      if (taken.length === 6) done();
    },
    { concurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
    pino({ level: 'silent' }),
  );
  await all;
  await worker.close(1000);
  await queue.close();
  expect(taken).toEqual(['i-3/contain', 'anomaly-alert', 'i-5/contain', 'i-1/trace', 'i-2/validate', 'i-4/trace']);
}, 30_000);
