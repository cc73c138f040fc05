import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ApproverDirectory } from '../../src/slack/approvers.js';
import { answerInTime, CLICK_BUDGET_MS } from '../../src/slack/click-deadline.js';

function directory(cacheMs: number, members: () => Promise<string[]>) {
  let now = 1_000_000;
  let lookups = 0;
  const dir = new ApproverDirectory({ users: ['U0USER'], usergroups: ['S0GROUP'] }, { usergroupMembers: () => ((lookups += 1), members()) }, cacheMs, () => now);
  return { dir, lookups: () => lookups, advance: (ms: number) => (now += ms) };
}

describe('approvers: prefetching for a click', () => {
  it('answers the click from the prefetched verdict with no group cache, then asks Slack again', async () => {
    const { dir, lookups, advance } = directory(0, async () => ['U0BOB']);
    await dir.prefetch('U0BOB');
    await dir.prefetch('U0MALLORY');
    expect(lookups()).toBe(2);
    expect(await dir.isApprover('U0BOB')).toBe(true);
    expect(await dir.isApprover('U0MALLORY')).toBe(false);
    expect(lookups()).toBe(2);
    advance(10_001);
    expect(await dir.isApprover('U0BOB')).toBe(true);
    expect(lookups()).toBe(3);
  });

  it('a configured user needs no lookup; a failed prefetch leaves nothing behind', async () => {
    let fail = true;
    const { dir, lookups } = directory(0, async () => {
      if (fail) throw new Error('ratelimited');
      return ['U0BOB'];
    });
    await dir.prefetch('U0USER');
    expect(lookups()).toBe(0);
    await expect(dir.prefetch('U0BOB')).rejects.toThrow('ratelimited');
    fail = false;
    expect(await dir.isApprover('U0BOB')).toBe(true);
  });
});

describe('a click answered in time', () => {
  it('does not count the approver lookup against the Redis budget', async () => {
    const slow = new Promise<void>((resolve) => setTimeout(resolve, 40));
    const answer = await answerInTime('approval', async () => ({ ok: true, message: 'approved' }), { logger: silentLogger, budgetMs: 20, before: () => slow });
    expect(answer).toEqual({ ok: true, message: 'approved' });
  });

  it('a failed lookup is left to the work to report', async () => {
    const answer = await answerInTime('approval', async () => ({ ok: false, message: 'could not check' }), { logger: silentLogger, before: () => Promise.reject(new Error('slack down')) });
    expect(answer.message).toBe('could not check');
  });

  it('still answers that Redis is late when the work itself overruns', async () => {
    const answer = await answerInTime('approval', () => new Promise(() => undefined), { logger: silentLogger, budgetMs: 20, before: async () => undefined });
    expect(answer.ok).toBe(false);
    expect(answer.message).toContain('cannot reach Redis');
    expect(CLICK_BUDGET_MS).toBeGreaterThan(20);
  });
});
