// A bot worker in a child process whose wall clock the test can jump (clock-shift-preload.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedEnvironment } from '../../src/sim/environment.js';

export interface ShiftedWorker {
  child: ChildProcess;
  /** Sets the worker's wall clock to real time + `ms` (picked up within 50 ms). */
  shift(ms: number): void;
}

const PRELOAD = join(import.meta.dirname, 'clock-shift-preload.ts');

export function startShiftedWorker(env: EmbeddedEnvironment, configFile: string): ShiftedWorker {
  const shiftFile = join(mkdtempSync(join(tmpdir(), 'netpol-clock-')), 'offset-ms');
  writeFileSync(shiftFile, '0');
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', PRELOAD, 'src/cli.ts', 'serve', '--config', configFile], {
    env: { ...process.env, ...env.env, NETPOL_CLOCK_SHIFT_FILE: shiftFile },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { child, shift: (ms) => writeFileSync(shiftFile, String(ms)) };
}
