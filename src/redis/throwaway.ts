// Starts a private redis-server on a free loopback port, for tests and the demo,
// when REDIS_URL is not set. Nothing is persisted: the server lives in a temp dir.
// It runs in its own process group, so the Ctrl-C a terminal sends to the demo's group does not
// kill it before the bot has closed its connections; the demo stops it last. A small sh watchdog
// between them stops it when the parent goes away, even by SIGKILL (its stdin pipe reaches EOF).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class RedisServerMissingError extends Error {
  constructor() {
    super(
      'redis-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install -y redis-server`, ' +
        'macOS: `brew install redis`) or set REDIS_URL to an existing Redis (e.g. REDIS_URL=redis://127.0.0.1:6379).',
    );
    this.name = 'RedisServerMissingError';
  }
}

export interface ThrowawayRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function redisServerAvailable(binary = 'redis-server'): boolean {
  const probe = spawnSync(binary, ['--version'], { stdio: 'ignore' });
  return !probe.error && probe.status === 0;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) {
        reject(new Error(`redis-server exited early with code ${child.exitCode}`));
        return;
      }
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.end();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`redis-server did not listen on port ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

/**
 * Runs "$@" (redis-server and its arguments) and waits for it; a background reader of the
 * inherited stdin pipe TERMs it at EOF, i.e. when the parent closes the pipe or dies.
 */
const WATCHDOG = [
  'exec 3<&0',
  '"$@" 3<&- </dev/null &',
  'pid=$!',
  '(read -r _ <&3; kill -TERM "$pid" 2>/dev/null) &',
  'watcher=$!',
  'exec 3<&-',
  'wait "$pid"; status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

/** Closes the watchdog's stdin (it then TERMs redis-server and waits for it); kills the group if that takes too long. */
async function stopWatchdog(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin?.end();
  const timer = setTimeout(() => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** A redis-server (or sentinel) process under the watchdog: it goes when the parent goes. */
export interface RedisProcess {
  port: number;
  /** Lets it shut down (SIGTERM) and waits. */
  stop(): Promise<void>;
  /** SIGKILLs it (and its watchdog): a crash, as a test of failover wants it. */
  kill(): Promise<void>;
}

/** Starts `binary args...` (which must listen on 127.0.0.1:port) and waits until it listens. */
export async function startRedisProcess(args: string[], port: number, binary = 'redis-server'): Promise<RedisProcess> {
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'netpol-redis-watchdog', binary, ...args], { stdio: ['pipe', 'ignore', 'inherit'], detached: true });
  // Our end of the pipe is only ever closed, never written: EOF is the signal.
  child.stdin?.on('error', () => undefined);
  try {
    await waitForPort(port, child, 10_000);
  } catch (error) {
    await stopWatchdog(child);
    throw error;
  }
  return {
    port,
    stop: () => stopWatchdog(child),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await exited;
    },
  };
}

export async function startThrowawayRedis(binary = 'redis-server'): Promise<ThrowawayRedis> {
  if (!redisServerAvailable(binary)) throw new RedisServerMissingError();
  const dir = mkdtempSync(join(tmpdir(), 'netpol-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'];
  let server: RedisProcess;
  try {
    server = await startRedisProcess(args, port, binary);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** REDIS_URL when set, else a throwaway server that the caller must stop. */
export async function resolveRedis(env: NodeJS.ProcessEnv = process.env): Promise<ThrowawayRedis> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, port: Number(new URL(env.REDIS_URL).port || 6379), stop: async () => {} };
  return startThrowawayRedis();
}
