// A job handed back at the shutdown deadline belongs to the queue again: whatever its handler does
// afterwards in the stopping worker (fail, finish, with the connection already closed) records
// nothing, and the process stays responsive (BullMQ would otherwise retry recording the outcome
// over a closed connection without end).
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Queue } from 'bullmq';
import { createJobQueue, QUEUE_NAMES, startJobWorker } from '../../src/queue/bullmq.js';
import { redisConnections, uniquePrefix } from '../helpers/redis.js';

const redis = redisConnections();

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How late a 20 ms timer fires, sampled `times` times: a busy event loop shows here. */
async function timerLag(times: number): Promise<number> {
  let worst = 0;
  for (let i = 0; i < times; i++) {
    const start = Date.now();
    await settle(20);
    worst = Math.max(worst, Date.now() - start - 20);
  }
  return worst;
}

async function handBackOne(outcome: 'throws' | 'resolves', closeConnection: boolean) {
  const prefix = uniquePrefix('handback');
  const lines: Array<{ msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  const queue = createJobQueue(redis(), prefix, logger);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const workerConnection = redis();
  const worker = startJobWorker(
    workerConnection,
    prefix,
    async () => {
      started();
      await released;
      if (outcome === 'throws') throw new Error('the handler failed after the deadline');
    },
    { concurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
    logger,
  );
  await queue.enqueue({ name: 'run-step', data: { incidentId: 'i-1', stepId: 'contain', attempt: 1 } });
  await running;
  const { handedBack } = await worker.close(100);
  if (closeConnection) workerConnection.disconnect();
  release();
  const lag = await timerLag(10);
  const inspect = new Queue(QUEUE_NAMES.urgent, { connection: redis(), prefix: `${prefix}:bull` });
  const jobs = await inspect.getJobs(['waiting', 'active', 'completed', 'failed']);
  const states = await Promise.all(jobs.map((j) => j.getState()));
  await inspect.close();
  await queue.close();
  return { handedBack, lag, states, messages: lines.map((l) => l.msg) };
}

describe('a job handed back at the shutdown deadline', () => {
  for (const outcome of ['throws', 'resolves'] as const) {
    for (const closeConnection of [false, true]) {
      it(`stays waiting for another worker when its handler ${outcome} afterwards${closeConnection ? ', the connection closed' : ''}`, async () => {
        const result = await handBackOne(outcome, closeConnection);
        expect(result.handedBack).toHaveLength(1);
        expect(result.states).toEqual(['waiting']);
        expect(result.messages).not.toContain('job failed');
        expect(result.messages).not.toContain('worker error');
        expect(result.lag).toBeLessThan(500);
      });
    }
  }
});
