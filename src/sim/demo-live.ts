// A demo left running (`demo --keep-running`) opens itself to `demo send`: it starts its desk and
// writes the session file; closing (or the process exiting, even on a second Ctrl-C) removes it.
import { startDemoDesk } from './demo-desk.js';
import { defaultSessionPath, writeSession } from './demo-session.js';
import { DEMO_CHANNEL, DEMO_USERS, type EmbeddedEnvironment } from './environment.js';

export interface LiveSession {
  path: string;
  /** Handle → user id, as `demo send --as` accepts them. */
  users: Record<string, string>;
  close(): Promise<void>;
}

export async function openDemoSession(env: EmbeddedEnvironment, path = defaultSessionPath()): Promise<LiveSession> {
  const port = env.bot?.port;
  const secret = env.env.SLACK_SIGNING_SECRET;
  if (!env.driver || port === undefined || !secret) throw new Error('demo session: the bot has no HTTP receiver to send to');
  const users = Object.fromEntries(Object.values(DEMO_USERS).map((u) => [u.name, u.id]));
  const desk = await startDemoDesk({ slack: env.slack, driver: env.driver, channel: DEMO_CHANNEL });
  let remove: () => void;
  try {
    remove = writeSession(path, {
      version: 1,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      botUrl: `http://127.0.0.1:${port}/slack/events`,
      signingSecret: secret,
      channel: DEMO_CHANNEL,
      users,
      desk: { url: desk.url, token: desk.token },
    });
  } catch (error) {
    await desk.close();
    throw error;
  }
  // 'exit' handlers run however the process ends short of SIGKILL; only synchronous work is possible there.
  const onExit = (): void => remove();
  process.once('exit', onExit);
  return {
    path,
    users,
    async close() {
      process.off('exit', onExit);
      remove();
      await desk.close();
    },
  };
}
