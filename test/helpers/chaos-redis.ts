// A redis-server of a test's own for the Redis restart chaos scenario: a free loopback port and a
// temp dir, AOF on (appendfsync everysec) or off (and no RDB snapshots), SIGKILLed like a crash
// and started again on the same port and dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/redis/throwaway.js';

export interface CrashableRedis {
  url: string;
  port: number;
  dir: string;
  /** SIGKILL (no shutdown save, no AOF rewrite): what a crash or an OOM kill does. */
  crash(): Promise<void>;
  /** Starts redis-server again on the same port and dir; resolves once it accepts connections. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

function listening(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`redis-server did not listen on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startCrashableRedis(options: { aof: boolean }): Promise<CrashableRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'netpol-chaos-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--loglevel', 'warning', ...(options.aof ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'])];
  let child: ChildProcess | undefined;
  const redis: CrashableRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async start() {
      child = spawn('redis-server', args, { stdio: 'ignore' });
      await listening(port);
    },
    async crash() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
    async stop() {
      await redis.crash();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}
