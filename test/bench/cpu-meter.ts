// How busy the machine's cores were over a phase of a benchmark, and whose work it was: the bot's
// processes, or the benchmark's own (the stand-ins, the traffic, the timing threads). On a small
// machine a loaded phase's latencies are largely a matter of how many cores were left over.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface CpuShare {
  /** Cores' time busy over the phase, in % of one core (200 = two cores busy all the time); NaN where /proc/stat cannot be read. */
  machine: number;
  /** Of which the bot's processes (NaN when the bot runs in the benchmark's process). */
  bot: number;
  /** Of which this benchmark's process (every thread of it). */
  benchmark: number;
  cores: number;
}

/** Busy and total jiffies of all cores together (the first line of /proc/stat); undefined off Linux. */
export function machineJiffies(stat?: string): { busy: number; total: number } | undefined {
  let text = stat;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/stat', 'utf8');
    } catch {
      return undefined;
    }
  }
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return undefined;
  // user nice system idle iowait irq softirq steal (guest time is within user already)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return { busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** CPU time (ms) this process has used so far, every thread of it. */
export function ownCpuMs(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
}

/** Starts measuring; `stop()` gives the shares since. `botCpuMs` reads the bot's processes' CPU time (ms), when they are processes of their own. */
export function cpuMeter(botCpuMs: (() => number) | undefined): { stop(): CpuShare } {
  const startedAt = performance.now();
  const machine = machineJiffies();
  const bot = botCpuMs?.() ?? Number.NaN;
  const benchmark = ownCpuMs();
  const cores = availableParallelism();
  return {
    stop() {
      const wallMs = performance.now() - startedAt;
      const now = machineJiffies();
      const machinePct = machine && now && now.total > machine.total ? ((now.busy - machine.busy) / (now.total - machine.total)) * 100 * cores : Number.NaN;
      return { machine: machinePct, bot: botCpuMs ? ((botCpuMs() - bot) / wallMs) * 100 : Number.NaN, benchmark: ((ownCpuMs() - benchmark) / wallMs) * 100, cores };
    },
  };
}

export function cpuShareLine(share: CpuShare): string {
  const machine = Number.isFinite(share.machine) ? `${share.machine.toFixed(0)}% of ${share.cores * 100}% (${share.cores} cores)` : 'not known here';
  const whose = Number.isFinite(share.bot)
    ? `the bot's processes ${share.bot.toFixed(0)}%, the benchmark's own process (stand-ins, traffic, timing) ${share.benchmark.toFixed(0)}%`
    : `the benchmark's process, the bot in it, ${share.benchmark.toFixed(0)}%`;
  return `the machine's cores busy ${machine}: ${whose}`;
}
