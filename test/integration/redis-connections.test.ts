// A Redis outage with every kind of connection the bot opens: the client, its duplicates (and
// theirs), and the job queue and worker that BullMQ builds on them. Each reports its errors to
// the listener (once per outage, not once per reconnect attempt); none is an unhandled 'error'
// event; disconnectRedis() closes the whole family.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { Redis } from 'ioredis';
import { createJobQueue, startJobWorker } from '../../src/queue/bullmq.js';
import { connectRedis, disconnectRedis } from '../../src/redis/connect.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../../src/redis/throwaway.js';

let server: ThrowawayRedis | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await server?.stop();
  server = undefined;
});

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis connections during an outage', () => {
  it('every connection reports its errors, none goes unhandled, and the family closes together', async () => {
    const consoleErrors = vi.spyOn(console, 'error');
    server = await startThrowawayRedis();
    const reported: Array<{ connection: string; message: string }> = [];
    const client = await connectRedis(server.url, 2000, (error, connection) => reported.push({ connection, message: error.message }));
    const duplicate = client.duplicate();
    const blocking = duplicate.duplicate({ connectionName: 'blocking' });
    const logLines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) });
    const queue = createJobQueue(client, 'outage-test', logger);
    const worker = startJobWorker(client.duplicate(), 'outage-test', async () => undefined, { concurrency: 1, lockDurationMs: 5000, stalledIntervalMs: 5000 }, logger);
    expect(await Promise.all([client.ping(), duplicate.ping(), blocking.ping()])).toEqual(['PONG', 'PONG', 'PONG']);
    await queue.counts();

    await server.stop();
    server = undefined;
    await settle(2500);

    const names = new Set(reported.map((r) => r.connection));
    expect(names).toContain('main');
    expect(names).toContain('blocking');
    expect(names.size).toBeGreaterThanOrEqual(4);
    // Reconnect attempts repeat the same error: each connection told it once per message.
    for (const name of names) {
      const messages = reported.filter((r) => r.connection === name).map((r) => r.message);
      expect(new Set(messages).size).toBe(messages.length);
    }
    expect(consoleErrors.mock.calls.filter((call) => String(call[0]).includes('Unhandled error event'))).toEqual([]);

    const outcome = await worker.close(200);
    expect(outcome.handedBack).toEqual([]);
    disconnectRedis(client);
    // Closed means no more reconnect attempts (ioredis leaves a connection that was between attempts in 'reconnecting', with nothing scheduled).
    let attempts = 0;
    for (const connection of [client, duplicate, blocking] as Redis[]) connection.on('reconnecting', () => attempts++);
    await settle(2500);
    expect(attempts).toBe(0);
    expect(consoleErrors.mock.calls.filter((call) => String(call[0]).includes('Unhandled error event'))).toEqual([]);
  }, 30_000);
});
