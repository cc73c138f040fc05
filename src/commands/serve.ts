// `netpol-responder serve`: runs the bot against a real Slack workspace and cluster.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { fileConfigSchema } from '../config/schema.js';
import { createLogger } from '../log.js';
import { PlaybookError } from '../playbook/load.js';
import { RedisUnreachableError } from '../redis/connect.js';
import { startBot } from '../runtime.js';
import { configPath } from './config-path.js';

const USAGE = 'usage: netpol-responder serve [--config FILE] [--roles web,worker,collector] [--port N]';

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
  // Command-line overrides get the same validation as the file's fields.
  const roles = values.roles === undefined ? undefined : fileConfigSchema.shape.roles.safeParse(values.roles.split(',').map((r) => r.trim()));
  if (roles && !roles.success) {
    process.stderr.write(`--roles: must be a comma-separated list of web, worker, collector (got "${values.roles}")\n${USAGE}\n`);
    return 2;
  }
  const port = values.port === undefined ? undefined : fileConfigSchema.shape.slack.shape.port.safeParse(/^\d+$/.test(values.port) ? Number(values.port) : NaN);
  if (port && !port.success) {
    process.stderr.write(`--port: must be a port number from 0 to 65535 (got "${values.port}")\n${USAGE}\n`);
    return 2;
  }
  const path = configPath(values.config);
  if (!path) {
    process.stderr.write(`no configuration file: pass --config FILE, set NETPOL_CONFIG, or create ./netpol-responder.yaml (see README)\n`);
    return 1;
  }
  try {
    const config = loadConfig(path);
    if (roles) config.roles = roles.data;
    const logger = createLogger({ level: config.log.level });
    const bot = await startBot({ config, logger, port: port?.data });
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
