// Preloaded with `node --import` into a bot process: shifts the wall clock (Date.now(), new Date())
// by the number of milliseconds in the file named by NETPOL_CLOCK_SHIFT_FILE, re-read every 50 ms,
// so a test can jump the clock as an NTP step does. Timers and performance.now() are untouched:
// only wall time jumps.
import { readFileSync } from 'node:fs';

const file = process.env.NETPOL_CLOCK_SHIFT_FILE;
if (file) {
  const RealDate = Date;
  let offset = 0;
  const read = (): void => {
    try {
      const value = Number(readFileSync(file, 'utf8').trim());
      if (Number.isFinite(value)) offset = value;
    } catch {
      // Not written yet: no shift.
    }
  };
  read();
  setInterval(read, 50).unref();
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...(args as [number]));
    }
    static override now(): number {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}
