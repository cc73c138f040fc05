import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-redis.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default (cores − 1) is one file at a time on a 2-core machine, which leaves a core
    // idle while a file waits on its subprocesses, servers and timers. Files isolate themselves
    // (their own key prefixes, ports and temp directories), so they can run side by side.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
