// The problems a configuration is refused with (buildConfig's ConfigError), for the config tests.
import { buildConfig, ConfigError } from '../../src/config/load.js';

/** The environment a minimal valid configuration needs (Slack's secrets). */
export const SLACK_ENV = { SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app' };

/** Every problem buildConfig finds with `document`; fails the test when it is accepted. */
export function configProblems(document: unknown, env: NodeJS.ProcessEnv = SLACK_ENV): string[] {
  try {
    buildConfig(document, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError: the configuration was accepted');
}
