// The `journal` section and the watcher role in the configuration: defaults, and a clear problem
// with its path for every bad value.
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { configProblems } from '../helpers/config-problems.js';
import { fileConfigSchema } from '../../src/config/schema.js';

const env = { SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app' };
const minimal = { slack: { approvers: { users: ['U0APPROVER'] } } };

const problems = (journal: unknown): string[] => configProblems({ ...minimal, journal }, env);

describe('journal configuration', () => {
  it('defaults to 30 days, 200000 entries and 256 KiB objects, and runs the watcher by default', () => {
    const config = buildConfig(minimal, env);
    expect(config.journal).toEqual({ maxAge: 30 * 86_400_000, maxEntries: 200_000, maxObjectBytes: 262_144 });
    expect(config.roles).toEqual(['web', 'worker', 'watcher']);
  });

  it('takes durations and bounds', () => {
    const config = buildConfig({ ...minimal, journal: { maxAge: '7d', maxEntries: 5000, maxObjectBytes: 65536 }, roles: ['watcher'] }, env);
    expect(config.journal).toEqual({ maxAge: 7 * 86_400_000, maxEntries: 5000, maxObjectBytes: 65536 });
    expect(config.roles).toEqual(['watcher']);
  });

  it.each([
    [{ maxAge: '30s' }, 'journal.maxAge: must be between 1m and 366d'],
    [{ maxAge: '400d' }, 'journal.maxAge: must be between 1m and 366d'],
    [{ maxAge: 'forever' }, 'journal.maxAge: must be a duration like 30s, 15m, 2h or 7d'],
    [{ maxAge: 86_400_000 }, 'journal.maxAge'],
    [{ maxEntries: 10 }, 'journal.maxEntries'],
    [{ maxEntries: 1e9 }, 'journal.maxEntries'],
    [{ maxEntries: 1.5 }, 'journal.maxEntries'],
    [{ maxObjectBytes: 100 }, 'journal.maxObjectBytes'],
    [{ maxObjectBytes: 64 * 1024 * 1024 }, 'journal.maxObjectBytes'],
    [{ retention: '1d' }, 'journal'],
    ['yes', 'journal'],
  ])('refuses %j', (journal, message) => {
    const found = problems(journal);
    expect(found.join('\n')).toContain(message);
  });

  it('accepts the watcher role alone or with others, and refuses unknown roles', () => {
    expect(fileConfigSchema.shape.roles.safeParse(['watcher']).success).toBe(true);
    expect(fileConfigSchema.shape.roles.safeParse(['web', 'worker', 'watcher', 'collector']).success).toBe(true);
    expect(fileConfigSchema.shape.roles.safeParse(['watchers']).success).toBe(false);
  });
});
