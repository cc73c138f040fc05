// What a chaos scenario reports: one row of the table `npm run chaos` prints. Every scenario runs
// in `npm test` in a shortened form (and asserts on its row); `npm run chaos` runs the full form
// (CHAOS_MODE=full) and collects the rows through the file named by CHAOS_REPORT.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export interface ChaosOutcome {
  /** Short name of the scenario, e.g. "worker SIGKILL after step 2". */
  scenario: string;
  /** The fault injected, as a reader of the table would say it. */
  fault: string;
  /** What happened, e.g. "resumed, completed equal to Git". */
  outcome: string;
  /** Approvals clicked but not acted on (or acted on twice). */
  approvalsLost: number;
  /** Steps (or writes of one step) applied more than once. */
  stepsAppliedTwice: number;
  /** Alerts (anomaly or drift messages) that were due but never posted. */
  alertsLost: number;
  /** Alerts posted more than once. */
  alertsDoubled: number;
  /** From the end of the fault to the system doing its job again; null when nothing had to recover. */
  recoveryMs: number | null;
}

/** True under `npm run chaos`: scenarios run at full length (30 s outages, storms, more rounds). */
export const CHAOS_FULL = process.env.CHAOS_MODE === 'full';

/** The short figure in `npm test`, the full one under `npm run chaos`. */
export function chaosScale<T>(short: T, full: T): T {
  return CHAOS_FULL ? full : short;
}

/** Records a scenario's row for the table (a no-op in `npm test`). */
export function recordOutcome(outcome: ChaosOutcome): void {
  const file = process.env.CHAOS_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(outcome)}\n`);
}

export function readOutcomes(file: string): ChaosOutcome[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ChaosOutcome);
}

function seconds(ms: number | null): string {
  return ms === null ? '–' : `${(ms / 1000).toFixed(1)} s`;
}

/** A Markdown table, one row per scenario in the order they were recorded. */
export function formatTable(outcomes: ChaosOutcome[]): string {
  const header = ['Scenario', 'Fault injected', 'Outcome', 'Approvals lost', 'Steps applied twice', 'Alerts lost', 'Alerts doubled', 'Recovery'];
  const rows = outcomes.map((o) => [o.scenario, o.fault, o.outcome, String(o.approvalsLost), String(o.stepsAppliedTwice), String(o.alertsLost), String(o.alertsDoubled), seconds(o.recoveryMs)]);
  const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.map(cell).join(' | ')} |`).join('\n');
}
