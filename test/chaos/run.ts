// `npm run chaos`: every chaos scenario at full length (test/chaos/*.test.ts with CHAOS_MODE=full),
// then the property tests with many more runs, then one table of what each scenario did.
// `npm run chaos -- redis` runs only the scenario files whose name contains "redis".
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable, readOutcomes } from './report.js';

const filters = process.argv.slice(2);
const report = join(mkdtempSync(join(tmpdir(), 'netpol-chaos-')), 'outcomes.jsonl');
const vitest = (files: string[], env: Record<string, string>): number =>
  spawnSync('npx', ['vitest', 'run', ...files], { stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;

const scenarios = filters.length === 0 ? ['test/chaos/'] : filters.map((f) => `test/chaos/${f}`);
let failed = vitest(scenarios, { CHAOS_MODE: 'full', CHAOS_REPORT: report });
if (filters.length === 0) failed += vitest(['test/unit/fuzz-'], { FUZZ_RUNS: process.env.FUZZ_RUNS ?? '5000' });

process.stdout.write(`\n${formatTable(readOutcomes(report))}\n`);
process.exitCode = failed === 0 ? 0 : 1;
