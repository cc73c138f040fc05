// Starts a private redis-server on a free loopback port, for tests and the demo,
// when REDIS_URL is not set. Nothing is persisted: the server lives in a temp dir.
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

export async function startThrowawayRedis(binary = 'redis-server'): Promise<ThrowawayRedis> {
  if (!redisServerAvailable(binary)) throw new RedisServerMissingError();
  const dir = mkdtempSync(join(tmpdir(), 'netpol-redis-'));
  const port = await freePort();
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitForPort(port, child, 10_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** REDIS_URL when set, else a throwaway server that the caller must stop. */
export async function resolveRedis(env: NodeJS.ProcessEnv = process.env): Promise<ThrowawayRedis> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, port: Number(new URL(env.REDIS_URL).port || 6379), stop: async () => {} };
  return startThrowawayRedis();
}
