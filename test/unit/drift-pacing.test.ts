// When the drift monitor evaluates next (pure): debounced, capped by maxDelay, and paced so that
// evaluations never run back to back under a storm of changes.
import { describe, expect, it } from 'vitest';
import { deferEvaluation, evaluationAt } from '../../src/drift/monitor.js';

const base = { now: 10_000, firstPendingAt: 10_000, wait: 500, maxDelay: 2000 };

describe('evaluationAt', () => {
  it('a first change with no evaluation before it: after the debounce', () => {
    expect(evaluationAt(base)).toBe(10_500);
  });

  it('changes that keep coming: at the latest maxDelay after the first', () => {
    expect(evaluationAt({ ...base, now: 11_800 })).toBe(12_000);
    expect(evaluationAt({ ...base, now: 13_000 })).toBe(12_000);
  });

  it('an explicit delay (a head that moved) takes the place of the debounce', () => {
    expect(evaluationAt({ ...base, wait: 0 })).toBe(10_000);
  });

  it('an evaluation long ago changes nothing', () => {
    expect(evaluationAt({ ...base, last: { endedAt: 1000, tookMs: 3000 } })).toBe(10_500);
  });

  it('right after an evaluation that took 3 s: not before 3 s after it ended, maxDelay or not', () => {
    expect(evaluationAt({ ...base, last: { endedAt: 9900, tookMs: 3000 } })).toBe(12_900);
    expect(evaluationAt({ ...base, now: 13_000, last: { endedAt: 9900, tookMs: 3000 } })).toBe(12_900);
  });

  it('a quick evaluation before: the debounce decides', () => {
    expect(evaluationAt({ ...base, last: { endedAt: 9990, tookMs: 20 } })).toBe(10_500);
  });

  it('odd inputs give a time, never NaN: a zero-length evaluation, a first change in the future', () => {
    expect(evaluationAt({ ...base, last: { endedAt: 10_000, tookMs: 0 } })).toBe(10_500);
    expect(evaluationAt({ ...base, firstPendingAt: 20_000 })).toBe(10_500);
  });
});

describe('deferEvaluation', () => {
  const at = { now: 50_000, maxMs: 5000 };
  it('nothing urgent running: runs at once, waiting or not', () => {
    expect(deferEvaluation({ ...at, waitingSince: undefined, busy: false })).toBe(false);
    expect(deferEvaluation({ ...at, waitingSince: 49_000, busy: false })).toBe(false);
  });
  it('urgent work running: waits, from the first time on, until maxMs has passed since then', () => {
    expect(deferEvaluation({ ...at, waitingSince: undefined, busy: true })).toBe(true);
    expect(deferEvaluation({ ...at, waitingSince: 45_001, busy: true })).toBe(true);
    expect(deferEvaluation({ ...at, waitingSince: 45_000, busy: true })).toBe(false);
    expect(deferEvaluation({ ...at, waitingSince: 10_000, busy: true })).toBe(false);
  });
  it('a zero maxMs never waits', () => {
    expect(deferEvaluation({ ...at, maxMs: 0, waitingSince: undefined, busy: true })).toBe(false);
    expect(deferEvaluation({ ...at, maxMs: 0, waitingSince: 50_000, busy: true })).toBe(false);
  });
});

