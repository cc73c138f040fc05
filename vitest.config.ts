import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-redis.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default worker count (cores − 1): one file at a time on a 2-core machine. Two at a
    // time took the suite from about 33 to 28 min there, but many files are CPU-bound (child
    // processes, whole-cluster computations) and their timing-sensitive checks then share the CPU.
  },
});
