// The load benchmark's measure of how busy the cores were (test/bench/cpu-meter.ts).
import { describe, expect, it } from 'vitest';
import { cpuMeter, cpuShareLine, machineJiffies } from '../bench/cpu-meter.js';

describe('machineJiffies', () => {
  it('adds up the busy and the total time of all cores from /proc/stat', () => {
    const stat = 'cpu  100 20 30 400 5 1 2 3 0 0\ncpu0 50 10 15 200 2 0 1 1 0 0\nintr 1 2 3\n';
    // busy: user nice system irq softirq steal; total adds idle and iowait. Guest time is in user already.
    expect(machineJiffies(stat)).toEqual({ busy: 100 + 20 + 30 + 1 + 2 + 3, total: 100 + 20 + 30 + 400 + 5 + 1 + 2 + 3 });
  });

  it('reads an older kernel that gives fewer fields', () => {
    expect(machineJiffies('cpu  10 0 5 85\n')).toEqual({ busy: 15, total: 100 });
  });

  it.each([
    ['no aggregate line', 'cpu0 1 2 3 4\n'],
    ['too few fields', 'cpu  1 2 3\n'],
    ['a field that is not a number', 'cpu  1 2 x 4 5\n'],
    ['nothing', ''],
  ])('gives nothing for %s', (_what, stat) => {
    expect(machineJiffies(stat)).toBeUndefined();
  });

  it('reads this machine where /proc/stat exists', () => {
    const read = machineJiffies();
    if (process.platform !== 'linux') {
      expect(read).toBeUndefined();
      return;
    }
    expect(read!.total).toBeGreaterThan(0);
    expect(read!.busy).toBeLessThanOrEqual(read!.total);
  });
});

describe('cpuMeter', () => {
  it("counts the bot's processes apart from the benchmark's own", async () => {
    let botMs = 1000;
    const meter = cpuMeter(() => botMs);
    await new Promise((r) => setTimeout(r, 100));
    botMs += 25;
    const share = meter.stop();
    // 25 ms of the bot's CPU in about 100 ms of wall time (a timer may fire a little early).
    expect(share.bot).toBeGreaterThan(0);
    expect(share.bot).toBeLessThanOrEqual(30);
    expect(share.benchmark).toBeGreaterThanOrEqual(0);
    expect(share.cores).toBeGreaterThan(0);
    expect(cpuShareLine(share)).toMatch(/^the machine's cores busy .+: the bot's processes \d+%, the benchmark's own process \(stand-ins, traffic, timing\) \d+%$/);
  });

  it('says so when the bot runs in the benchmark\'s process', () => {
    const share = cpuMeter(undefined).stop();
    expect(share.bot).toBeNaN();
    expect(cpuShareLine(share)).toMatch(/the benchmark's process, the bot in it, \d+%$/);
  });

  it('says when the machine figure is not known', () => {
    expect(cpuShareLine({ machine: Number.NaN, bot: 10, benchmark: 5, cores: 2 })).toBe(
      "the machine's cores busy not known here: the bot's processes 10%, the benchmark's own process (stand-ins, traffic, timing) 5%",
    );
    expect(cpuShareLine({ machine: 150.4, bot: 100, benchmark: 30, cores: 2 })).toMatch(/^the machine's cores busy 150% of 200% \(2 cores\)/);
  });
});
