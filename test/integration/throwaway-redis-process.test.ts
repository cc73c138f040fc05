// The throwaway redis-server as the demo uses it, in a real parent process: Ctrl-C (SIGINT to the
// parent's whole process group) does not reach it, so the parent can still use and stop it; and
// when the parent dies abruptly (SIGKILL), it goes away too instead of being left running.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const THROWAWAY = resolve('src/redis/throwaway.ts');
// The script lives in a temp dir, outside the project's node_modules.
const IOREDIS = createRequire(import.meta.url).resolve('ioredis');

/** A parent that starts a throwaway Redis, prints its port, and on SIGINT pings it and stops it. */
function parentScript(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'netpol-throwaway-')), 'parent.mts');
  writeFileSync(
    file,
    `import { Redis } from ${JSON.stringify(IOREDIS)};
import { startThrowawayRedis } from ${JSON.stringify(THROWAWAY)};
const redis = await startThrowawayRedis();
// The handler is in place before the port is printed: the test sends SIGINT as soon as it reads it.
process.once('SIGINT', async () => {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  process.stdout.write('after SIGINT: ' + (await client.ping().catch((e) => e.message)) + '\\n');
  client.disconnect();
  await redis.stop();
  process.exit(0);
});
process.stdout.write('port ' + redis.port + '\\n');
setInterval(() => {}, 1000);
`,
  );
  return file;
}

function startParent(detached: boolean) {
  const child = spawn(process.execPath, ['--import', 'tsx', parentScript()], { stdio: ['ignore', 'pipe', 'inherit'], detached });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const port = new Promise<number>((resolvePort, reject) => {
    const timer = setInterval(() => {
      const match = /port (\d+)/.exec(stdout);
      if (match) {
        clearInterval(timer);
        resolvePort(Number(match[1]));
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`parent exited early: ${stdout}`));
      }
    }, 20);
  });
  // The exit code, or the signal that ended it.
  const exited = new Promise<number | string | null>((r) => child.once('exit', (code, signal) => r(code ?? signal)));
  return { child, port, exited, output: () => stdout };
}

function listening(port: number): Promise<boolean> {
  return new Promise((r) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      r(true);
    });
    socket.once('error', () => r(false));
  });
}

async function waitUntilClosed(port: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (await listening(port)) {
    if (Date.now() - started > timeoutMs) throw new Error(`redis-server on port ${port} still listening after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

describe('throwaway redis-server and its parent process', () => {
  it('survives a SIGINT sent to the parent’s process group, and is stopped by the parent', async () => {
    const parent = startParent(true);
    const port = await parent.port;
    expect(await listening(port)).toBe(true);
    process.kill(-parent.child.pid!, 'SIGINT');
    expect(await parent.exited).toBe(0);
    expect(parent.output()).toContain('after SIGINT: PONG');
    expect(await listening(port)).toBe(false);
  }, 30_000);

  it('goes away when the parent is killed with SIGKILL', async () => {
    const parent = startParent(false);
    const port = await parent.port;
    expect(await listening(port)).toBe(true);
    parent.child.kill('SIGKILL');
    await parent.exited;
    expect(await waitUntilClosed(port, 5000)).toBeLessThan(5000);
  }, 30_000);
});
