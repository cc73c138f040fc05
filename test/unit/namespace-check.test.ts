// The namespace question asked inside Slack's acknowledgement budget: yes, no, or "unknown" with
// the reason, never a guess.
import { describe, expect, it } from 'vitest';
import { checkNamespace } from '../../src/slack/namespace-check.js';

const after = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe('namespace check within the acknowledgement budget', () => {
  it('says exists or missing when the cluster answers in time', async () => {
    expect(await checkNamespace(async (n) => n === 'db', 'db', 200)).toEqual({ state: 'exists' });
    expect(await checkNamespace(async (n) => n === 'db', 'nope', 200)).toEqual({ state: 'missing' });
  });

  it('gives up at the deadline with "unknown", without waiting for the late answer', async () => {
    const started = Date.now();
    const result = await checkNamespace(() => after(2000, true), 'db', 100);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result).toEqual({ state: 'unknown', reason: 'the cluster did not answer within 0.1 s' });
  });

  it('turns an error into "unknown" with a bounded reason, and a late failure into nothing', async () => {
    const failed = await checkNamespace(() => Promise.reject(new Error(`503 ${'x'.repeat(1000)}`)), 'db', 200);
    expect(failed.state).toBe('unknown');
    expect(failed.state === 'unknown' && failed.reason.startsWith('the cluster answered with an error: 503')).toBe(true);
    expect(failed.state === 'unknown' && failed.reason.length).toBeLessThanOrEqual(300);
    const late = await checkNamespace(() => after(50, undefined).then(() => Promise.reject(new Error('late'))), 'db', 10);
    expect(late.state).toBe('unknown');
    await after(80, undefined); // the late rejection is handled, not an unhandled rejection
  });
});
