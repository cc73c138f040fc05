// The validate step's playbook parameters: defaults, and every bad value named with its path.
import { describe, expect, it } from 'vitest';
import { validateParamsSchema, validateStep } from '../../src/playbook/steps/validate.js';

describe('validate step params', () => {
  it('defaults', () => {
    expect(validateParamsSchema.parse({})).toEqual({ testsFile: 'netpol-tests.yaml', maxCases: 500, listRows: 8 });
    expect(validateStep.validateParams(undefined)).toEqual([]);
  });

  it.each([
    [{ maxCases: 0 }, 'maxCases'],
    [{ maxCases: 100_001 }, 'maxCases'],
    [{ maxCases: 'many' }, 'maxCases'],
    [{ listRows: 51 }, 'listRows'],
    [{ testsFile: '' }, 'testsFile'],
    [{ testsFile: 'x'.repeat(300) }, 'testsFile'],
  ])('%j is refused at %s', (params, path) => {
    const problems = validateStep.validateParams(params);
    expect(problems.map((p) => p.path.join('.'))).toContain(path);
  });

  it('an unknown parameter is refused (a typo must not pass silently)', () => {
    expect(validateStep.validateParams({ maxcases: 5 })[0]?.message).toMatch(/maxcases/);
  });
});
