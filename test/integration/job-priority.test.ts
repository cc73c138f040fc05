// Jobs queued in the background (steps that need nobody's approval: traces, validations) wait
// behind the others (an approved step, a click, an alert) for a free worker slot, on a real Redis:
// fifty incidents' validations must not hold up the next containment someone approved. Opening an
// incident (drawing up its proposal) sits between them: fifty incidents opened at once must not
// hold up the containment approved on the first proposal either.
import { expect, it } from 'vitest';
import { pino } from 'pino';
import { createJobQueue, startJobWorker } from '../../src/queue/bullmq.js';
import type { IncidentJob } from '../../src/queue/jobs.js';
import { redisConnections, uniquePrefix } from '../helpers/redis.js';

const redis = redisConnections();

const step = (incidentId: string, stepId: string): IncidentJob => ({ name: 'run-step', data: { incidentId, stepId, attempt: 1 } });

const open = (id: string): IncidentJob => ({ name: 'open', data: { request: { id } as never } });

it('a worker takes the jobs queued without priority first, then the incidents to open, then the background ones, each in the order they came', async () => {
  const prefix = uniquePrefix('job-priority');
  const queue = createJobQueue(redis(), prefix);
  // All queued before any worker runs: the order they are taken in is the queue's alone.
  await queue.enqueue(open('o-1'));
  await queue.enqueue(step('i-1', 'trace'), { background: true });
  await queue.enqueue(step('i-2', 'validate'), { background: true });
  await queue.enqueue(open('o-2'));
  await queue.enqueue(step('i-3', 'contain'));
  await queue.enqueue({ name: 'anomaly-alert', data: { anomalyId: 'a-1' } });
  await queue.enqueue(step('i-4', 'trace'), { background: true });
  await queue.enqueue(step('i-5', 'contain'));
  // An open queued in the background is background work (nothing queues one so today).
  await queue.enqueue(open('o-3'), { background: true });
  expect(await queue.counts()).toMatchObject({ waiting: 3, prioritized: 6 });

  const taken: string[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const worker = startJobWorker(
    redis(),
    prefix,
    async (job) => {
      taken.push(job.name === 'run-step' ? `${job.data.incidentId}/${job.data.stepId}` : job.name === 'open' ? `open ${job.data.request.id}` : job.name);
      if (taken.length === 9) done();
    },
    { concurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
    pino({ level: 'silent' }),
  );
  await all;
  await worker.close(1000);
  await queue.close();
  expect(taken).toEqual(['i-3/contain', 'anomaly-alert', 'i-5/contain', 'open o-1', 'open o-2', 'i-1/trace', 'i-2/validate', 'i-4/trace', 'open o-3']);
}, 30_000);
