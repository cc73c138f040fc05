import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatTable, readOutcomes, recordOutcome, type ChaosOutcome } from '../chaos/report.js';

const row: ChaosOutcome = { scenario: 'worker SIGKILL | step 2', fault: 'SIGKILL\nmid-step', outcome: 'resumed', approvalsLost: 0, stepsAppliedTwice: 0, alertsLost: 0, alertsDoubled: 0, recoveryMs: 1234 };

describe('the chaos table', () => {
  const saved = process.env.CHAOS_REPORT;
  afterEach(() => {
    if (saved === undefined) delete process.env.CHAOS_REPORT;
    else process.env.CHAOS_REPORT = saved;
  });

  it('has one row per outcome, pipes and newlines escaped, recovery in seconds', () => {
    const lines = formatTable([row, { ...row, scenario: 'nothing to recover', recoveryMs: null }]).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('| Scenario | Fault injected | Outcome | Approvals lost | Steps applied twice | Alerts lost | Alerts doubled | Recovery |');
    expect(lines[2]).toBe('| worker SIGKILL \\| step 2 | SIGKILL mid-step | resumed | 0 | 0 | 0 | 0 | 1.2 s |');
    expect(lines[3]).toMatch(/\| – \|$/);
  });

  it('collects rows through CHAOS_REPORT and records nothing without it', () => {
    delete process.env.CHAOS_REPORT;
    recordOutcome(row);
    const file = join(mkdtempSync(join(tmpdir(), 'chaos-report-')), 'rows.jsonl');
    expect(readOutcomes(file)).toEqual([]);
    process.env.CHAOS_REPORT = file;
    recordOutcome(row);
    recordOutcome({ ...row, scenario: 'second' });
    expect(readOutcomes(file).map((o) => o.scenario)).toEqual([row.scenario, 'second']);
  });
});
