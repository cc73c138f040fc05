import { afterAll, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../../src/incident/store.js';
import { openIncident, recordApproval, requestApproval, recordRejection, TransitionRefused } from '../../../src/incident/transitions.js';
import { testPlaybook } from '../../helpers/playbook.js';
import { testRedis, uniquePrefix } from '../../helpers/redis.js';

const redis = testRedis();
afterAll(() => redis.disconnect());
const playbook = testPlaybook('one');
const approval = playbook.steps[0]!.approval;
const now = new Date('2026-11-23T10:00:00Z');

async function openedIn(store: IncidentStore, id: string, namespace = 'db') {
  const result = await store.create(openIncident({ id, scope: { namespace }, requestedBy: 'UREQ', channel: 'C1' }, playbook, now));
  if (!result.created) throw new Error('not created');
  await store.transition(id, (i) => requestApproval(i, 'contain', approval, { summary: 'evidence' }, now));
}

describe('incident store on a real Redis', () => {
  it('creates, reads and lists incidents with their timeline', async () => {
    const store = new IncidentStore(redis, uniquePrefix());
    await openedIn(store, 'a1');
    const incident = await store.require('a1');
    expect(incident.version).toBe(2);
    expect(incident.steps.contain?.status).toBe('awaiting-approval');
    const timeline = await store.timeline('a1');
    expect(timeline.map((e) => e.type)).toEqual(['incident.opened', 'evidence.gathered', 'approval.requested']);
    expect(timeline[0]?.id).toMatch(/^\d+-\d+$/);
    expect((await store.timeline('a1', timeline[0]!.id)).length).toBe(2);
    expect((await store.list()).map((i) => i.id)).toEqual(['a1']);
  });

  it('allows one open incident per scope and frees the scope when it ends', async () => {
    const store = new IncidentStore(redis, uniquePrefix());
    await openedIn(store, 'first');
    const second = await store.create(openIncident({ id: 'second', scope: { namespace: 'db' }, requestedBy: 'U2', channel: 'C1' }, playbook, now));
    expect(second).toEqual({ created: false, openIncidentId: 'first' });
    expect(await store.get('second')).toBeUndefined();
    expect(await store.openIncidentFor('db/*')).toBe('first');
    await store.transition('first', (i) => recordRejection(i, 'contain', 'UAPP', now));
    expect(await store.openIncidentFor('db/*')).toBeUndefined();
    const third = await store.create(openIncident({ id: 'third', scope: { namespace: 'db' }, requestedBy: 'U2', channel: 'C1' }, playbook, now));
    expect(third.created).toBe(true);
  });

  it('twenty concurrent approvals of a one-approver step approve exactly once', async () => {
    const store = new IncidentStore(redis, uniquePrefix());
    await openedIn(store, 'race');
    const users = Array.from({ length: 20 }, (_, i) => `UAPP${i}`);
    const outcomes = await Promise.allSettled(users.map((u) => store.transition('race', (i) => recordApproval(i, 'contain', approval, u, now))));
    const won = outcomes.filter((o) => o.status === 'fulfilled' && o.value?.approved);
    const refused = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof TransitionRefused);
    expect(won).toHaveLength(1);
    expect(refused).toHaveLength(19);
    const incident = await store.require('race');
    expect(incident.steps.contain?.approvals).toHaveLength(1);
    const approvedEvents = (await store.timeline('race')).filter((e) => e.type === 'step.approved');
    expect(approvedEvents).toHaveLength(1);
  });

  it('a refused transition writes nothing', async () => {
    const store = new IncidentStore(redis, uniquePrefix());
    await openedIn(store, 'r');
    const before = await store.require('r');
    await expect(store.transition('r', (i) => recordApproval(i, 'contain', approval, 'UREQ', now))).rejects.toBeInstanceOf(TransitionRefused);
    expect(await store.require('r')).toEqual(before);
    expect(await store.timeline('r')).toHaveLength(3);
  });

  it('reports an unknown incident', async () => {
    const store = new IncidentStore(redis, uniquePrefix());
    await expect(store.require('nope')).rejects.toThrow('no incident with id "nope"');
    await expect(store.transition('nope', () => null)).rejects.toThrow('no incident with id "nope"');
  });
});
