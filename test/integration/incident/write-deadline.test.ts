// A Slack click's incident writes under a deadline (src/redis/write-deadline.ts): a write that
// reaches Redis after it is refused by Redis's own clock, even when the bytes were held back by a
// network partition; work that settles in time lifts the deadline for what it left running.
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { IncidentStore } from '../../../src/incident/store.js';
import { openIncident, recordApproval, requestApproval } from '../../../src/incident/transitions.js';
import { withWriteDeadline, WriteTooLate } from '../../../src/redis/write-deadline.js';
import { testPlaybook } from '../../helpers/playbook.js';
import { testRedis, testRedisUrl, uniquePrefix } from '../../helpers/redis.js';
import { startTcpProxy } from '../../helpers/tcp-proxy.js';

const redis = testRedis();
afterAll(() => redis.disconnect());
const playbook = testPlaybook('one');
const approval = playbook.steps[0]!.approval;
const now = new Date('2026-11-23T10:00:00Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function awaitingApproval(store: IncidentStore, id: string): Promise<void> {
  const result = await store.create(openIncident({ id, scope: { namespace: 'db' }, requestedBy: 'UREQ', channel: 'C1' }, playbook, now));
  if (!result.created) throw new Error('not created');
  await store.transition(id, (i) => requestApproval(i, 'contain', approval, { summary: 'evidence' }, now));
}

describe('incident writes under a click deadline', () => {
  it('writes in time and reports the value; a write after the deadline is refused by Redis and changes nothing', async () => {
    const store = new IncidentStore(redis, uniquePrefix());
    await awaitingApproval(store, 'w1');
    const late: unknown[] = [];
    const outcome = await withWriteDeadline(100, async () => {
      await sleep(300);
      return store.transition('w1', (i) => recordApproval(i, 'contain', approval, 'UAPP', now)).catch((error: unknown) => {
        late.push(error);
        throw error;
      });
    });
    expect(outcome).toEqual({ settled: false, wrote: false });
    await sleep(400);
    expect(late).toHaveLength(1);
    expect(late[0]).toBeInstanceOf(WriteTooLate);
    const after = await store.require('w1');
    expect([after.version, after.steps.contain?.status, after.steps.contain?.approvals]).toEqual([2, 'awaiting-approval', []]);
    expect((await store.timeline('w1')).map((e) => e.type)).toEqual(['incident.opened', 'evidence.gathered', 'approval.requested']);

    const inTime = await withWriteDeadline(2000, () => store.transition('w1', (i) => recordApproval(i, 'contain', approval, 'UAPP', now)));
    expect(inTime.settled && inTime.value?.approved).toBe(true);
    expect((await store.require('w1')).steps.contain?.status).toBe('approved');
  });

  it('refuses a write a partition held back until after the deadline, and tells that an earlier write went through', async () => {
    const target = new URL(testRedisUrl());
    const proxy = await startTcpProxy(Number(target.port), target.hostname);
    const viaProxy = new Redis(`redis://127.0.0.1:${proxy.port}`, { maxRetriesPerRequest: null });
    try {
      const prefix = uniquePrefix();
      const store = new IncidentStore(viaProxy, prefix);
      await awaitingApproval(store, 'w2');
      const outcome = await withWriteDeadline(300, async () => {
        await store.appendEvents('w2', []);
        const first = await store.transition('w2', (i) => ({ incident: { ...i, updatedAt: '2026-11-23T10:00:01.000Z' }, events: [] }));
        proxy.partition(true);
        return { first, second: await store.transition('w2', (i) => recordApproval(i, 'contain', approval, 'UAPP', now)).catch((e: unknown) => e) };
      });
      expect(outcome).toEqual({ settled: false, wrote: true });
      proxy.partition(false);
      // The held reads and the late write go through the proxy now; the approval must not land.
      for (let i = 0; i < 10; i += 1) await viaProxy.ping();
      await sleep(300);
      const direct = new IncidentStore(redis, prefix);
      const after = await direct.require('w2');
      expect([after.version, after.updatedAt, after.steps.contain?.status]).toEqual([3, '2026-11-23T10:00:01.000Z', 'awaiting-approval']);
    } finally {
      proxy.partition(false);
      viaProxy.disconnect();
      await proxy.close();
    }
  });
});
