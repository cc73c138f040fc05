// `demo --keep-running` stopped with Ctrl-C as a terminal sends it: SIGINT to the whole
// foreground process group. With its own throwaway Redis (REDIS_URL unset), it must exit 0, with
// no ioredis 'Unhandled error event' and no Redis error in its logs, and leave no redis-server.
import { connect } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli, type CliProcess } from '../helpers/serve-process.js';

let demo: CliProcess | undefined;
afterAll(() => {
  if (demo && demo.child.exitCode === null && demo.child.signalCode === null) process.kill(-demo.child.pid!, 'SIGKILL');
});

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('demo --keep-running and Ctrl-C', () => {
  it('SIGINT to the process group stops it cleanly, exit 0, its Redis stopped last', async () => {
    // Its own process group, as a shell gives a foreground job (and so the signal spares this test runner).
    demo = spawnCli(['demo', '--keep-running', '--verbose', '--out', mkdtempSync(join(tmpdir(), 'netpol-demo-int-'))], { REDIS_URL: '' }, { detached: true });
    await demo.waitForOutput(/Press Ctrl-C to stop/, 60_000);
    const redisPort = Number((await demo.waitForOutput(/Redis: redis:\/\/127\.0\.0\.1:(\d+)/))[1]);
    expect(await listening(redisPort)).toBe(true);

    const sent = Date.now();
    process.kill(-demo.child.pid!, 'SIGINT');
    const { code, at } = await demo.exited;
    expect(code).toBe(0);
    expect(at - sent).toBeLessThan(10_000);
    const output = demo.stdout + demo.stderr;
    expect(output).not.toContain('Unhandled error event');
    expect(demo.stderr).toBe('');
    // Warnings and errors while stopping (the demo itself warns about @mallory's refused click earlier).
    const whileStopping = demo.logs().filter((l) => Date.parse(String(l.time)) >= sent);
    expect(whileStopping.filter((l) => Number(l.level) >= 40)).toEqual([]);
    expect(demo.logs().filter((l) => Number(l.level) >= 50)).toEqual([]);
    expect(await listening(redisPort)).toBe(false);
  }, 90_000);
});
