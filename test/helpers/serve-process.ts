// `netpol-responder serve` (or any CLI command) as a child process whose output a test reads as it
// comes: wait for a log line, read /readyz, send signals, and time the exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface CliProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** JSON log lines (pino) printed so far. */
  logs(): Array<Record<string, unknown>>;
  /** Resolves when a log line matches (checks past lines too). */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Exit code (or 128+signal number when killed by a signal) and when it happened. */
  readonly exited: Promise<{ code: number; at: number }>;
  readonly startedAt: number;
}

/**
 * `nodeArgs`: options for node itself (e.g. --cpu-prof, which NODE_OPTIONS does not take).
 * `compiled`: run dist/cli.js (built beforehand), as the image does, instead of the sources through tsx.
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv, options: { detached?: boolean; nodeArgs?: string[]; compiled?: boolean } = {}): CliProcess {
  const startedAt = Date.now();
  const entry = options.compiled ? ['dist/cli.js'] : ['--import', 'tsx', 'src/cli.ts'];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entry, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.detached ? { detached: true } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number; at: number }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code: code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 0), at: Date.now() }));
  });
  const logs = (): Array<Record<string, unknown>> =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const poll = async <T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) {
        // One more look: the line may have arrived with the exit.
        const last = probe();
        if (last !== undefined) return last;
        throw new Error(`timed out waiting for ${what} (exit ${child.exitCode ?? child.signalCode})\nstdout:\n${stdout.slice(-4000)}\nstderr:\n${stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    logs,
    waitForLog: (predicate, what, timeoutMs = 20_000) => poll(() => logs().find(predicate), what, timeoutMs),
    waitForOutput: (pattern, timeoutMs = 20_000) => poll(() => pattern.exec(stdout) ?? undefined, String(pattern), timeoutMs),
    exited,
    startedAt,
  };
}

/** Writes a config file for `serve` and returns its path. */
export function writeServeConfig(settings: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-serve-')), 'config.yaml');
  writeFileSync(file, stringify(settings));
  return file;
}

/** GET a URL: status and body, or status 0 when nothing answers. */
export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
