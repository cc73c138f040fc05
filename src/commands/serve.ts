// `netpol-responder serve`: runs the bot against a real Slack workspace and cluster.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { PlaybookError } from '../playbook/load.js';
import { RedisUnreachableError } from '../redis/connect.js';
import { startBot } from '../runtime.js';
import { configPath } from './config-path.js';

const USAGE = 'usage: netpol-responder serve [--config FILE] [--roles web,worker] [--port N]';

export async function run(argv: string[]): Promise<number> {
  let values: { config?: string; roles?: string; port?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, roles: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const path = configPath(values.config);
  if (!path) {
    process.stderr.write(`no configuration file: pass --config FILE, set NETPOL_CONFIG, or create ./netpol-responder.yaml (see README)\n`);
    return 1;
  }
  try {
    const config = loadConfig(path);
    if (values.roles) config.roles = values.roles.split(',').map((r) => r.trim()) as typeof config.roles;
    const logger = createLogger({ level: config.log.level });
    const bot = await startBot({ config, logger, port: values.port ? Number(values.port) : undefined });
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string): void => {
        logger.info({ signal }, 'shutting down');
        resolve();
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
    await bot.stop();
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof PlaybookError || error instanceof RedisUnreachableError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
