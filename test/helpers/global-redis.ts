// Vitest global setup: one throwaway redis-server for the whole run (unless REDIS_URL is set).
// Test files isolate themselves with unique key prefixes (see test/helpers/redis.ts).
import type { TestProject } from 'vitest/node';
import { resolveRedis } from '../../src/redis/throwaway.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await resolveRedis();
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
