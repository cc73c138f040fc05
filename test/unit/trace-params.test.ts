// The trace step's playbook parameters: defaults, and every bad value named with its path.
import { describe, expect, it } from 'vitest';
import { traceParamsSchema, traceStep } from '../../src/playbook/steps/trace.js';

describe('trace step params', () => {
  it('defaults: a day back, 2 min of clock skew, 10 rows, and up to 30 s for the audit log', () => {
    expect(traceParamsSchema.parse({})).toEqual({ lookback: 86_400_000, skewTolerance: 120_000, tableRows: 10, auditDelay: 30_000 });
    expect(traceStep.validateParams(undefined)).toEqual([]);
    expect(traceParamsSchema.parse({ auditDelay: '0s' }).auditDelay).toBe(0);
    expect(traceParamsSchema.parse({ auditDelay: '10m' }).auditDelay).toBe(600_000);
  });

  it.each([
    [{ auditDelay: '11m' }, 'auditDelay'],
    [{ auditDelay: '99999d' }, 'auditDelay'],
    [{ auditDelay: '-1s' }, 'auditDelay'],
    [{ auditDelay: 30 }, 'auditDelay'],
    [{ auditDelay: 'forever' }, 'auditDelay'],
    [{ auditDelay: `${'9'.repeat(400)}s` }, 'auditDelay'],
    [{ tableRows: 0 }, 'tableRows'],
    [{ lookback: '1 day' }, 'lookback'],
  ])('%j is refused at %s', (params, path) => {
    const problems = traceStep.validateParams(params);
    expect(problems.map((p) => p.path.join('.'))).toContain(path);
  });

  it('an unknown parameter is refused (a typo must not pass silently)', () => {
    expect(traceStep.validateParams({ auditdelay: '5s' })[0]?.message).toMatch(/auditdelay/);
  });
});
