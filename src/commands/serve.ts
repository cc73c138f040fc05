// `netpol-responder serve`: runs the bot against a real Slack workspace and cluster.
// A start-up failure that retrying cannot fix is one line on stderr and exit 1, with everything
// opened so far closed. SIGTERM/SIGINT stop it within shutdown.graceMs; a second one exits at once.
import { ConfigError, loadConfig } from '../config/load.js';
import { fileConfigSchema } from '../config/schema.js';
import { KubeConfigError } from '../kube/config.js';
import { StartupInterrupted } from '../lifecycle/backoff.js';
import { watchStopSignals, type StopRequest, type StopSignals } from '../lifecycle/signals.js';
import { StartupError } from '../lifecycle/startup-error.js';
import { createLogger, type Logger } from '../log.js';
import { PlaybookError } from '../playbook/load.js';
import { RedisClusterNotReadyError, RedisNotAClusterError, RedisUnreachableError } from '../redis/connect.js';
import { startBot, type RunningBot } from '../runtime.js';
import { configPath } from './config-path.js';
import { parseCommand, usage } from './spec.js';
import { SERVE } from './specs.js';

/** Kept back from the grace period so the last closers finish before the hard deadline. */
const HARD_DEADLINE_MARGIN_MS = 1000;

/** Exits with `code` after `ms` unless the process has exited by itself (unref: it never holds it open). */
function exitSoon(code: number, ms: number): void {
  setTimeout(() => process.exit(code), ms).unref();
}

/** A bug must not leave a half-working bot: log it, then stop as on SIGTERM, with exit code 1. */
function stopOnBugs(logger: Logger, stop: StopSignals): void {
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection: stopping');
    stop.stop('unhandled promise rejection', 1);
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception: stopping');
    stop.stop('uncaught exception', 1);
  });
}

function fatalLine(error: unknown): string | undefined {
  const known = [ConfigError, PlaybookError, RedisUnreachableError, RedisClusterNotReadyError, RedisNotAClusterError, KubeConfigError, StartupError];
  return known.some((kind) => error instanceof kind) ? (error as Error).message : undefined;
}

async function shutdown(bot: RunningBot, request: StopRequest, graceMs: number, logger: Logger): Promise<number> {
  logger.info({ signal: request.signal, reason: request.reason, graceMs }, 'shutting down');
  const hard = setTimeout(() => {
    logger.error({ graceMs }, 'shutdown did not finish within shutdown.graceMs: exiting now');
    process.exit(request.exitCode || 1);
  }, graceMs);
  hard.unref();
  const { handedBack } = await bot.stop({ graceMs: Math.max(500, graceMs - HARD_DEADLINE_MARGIN_MS) });
  logger.info({ handedBack }, handedBack.length > 0 ? `stopped; ${handedBack.length} running job(s) handed back to the queue` : 'stopped');
  // Handlers of handed-back jobs may still be running: they must not outlive the stop.
  exitSoon(request.exitCode, 200);
  return request.exitCode;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(SERVE, argv);
  if (!parsed.ok) return parsed.exitCode;
  const { values } = parsed;
  if (parsed.positionals.length > 0) {
    process.stderr.write(`serve takes no arguments (got "${parsed.positionals[0]}")\n\n${usage(SERVE)}`);
    return 2;
  }
  // Command-line overrides get the same validation as the file's fields.
  const roles = values.roles === undefined ? undefined : fileConfigSchema.shape.roles.safeParse(values.roles.split(',').map((r) => r.trim()));
  if (roles && !roles.success) {
    process.stderr.write(`--roles: must be a comma-separated list of web, worker, watcher, collector (got "${values.roles}")\n\n${usage(SERVE)}`);
    return 2;
  }
  const port = values.port === undefined ? undefined : fileConfigSchema.shape.slack.shape.port.safeParse(/^\d+$/.test(values.port) ? Number(values.port) : NaN);
  if (port && !port.success) {
    process.stderr.write(`--port: must be a port number from 0 to 65535 (got "${values.port}")\n\n${usage(SERVE)}`);
    return 2;
  }
  const path = configPath(values.config);
  if (!path) {
    process.stderr.write(`no configuration file: pass --config FILE, set NETPOL_CONFIG, or create ./netpol-responder.yaml (see README)\n`);
    return 1;
  }
  // Before anything slow: a signal during start-up ends the waits instead of being lost.
  const stop = watchStopSignals();
  let logger: Logger | undefined;
  try {
    const config = loadConfig(path);
    if (roles) config.roles = roles.data;
    logger = createLogger({ level: config.log.level });
    stopOnBugs(logger, stop);
    const bot = await startBot({ config, logger, port: port?.data, signal: stop.signal });
    return await shutdown(bot, await stop.requested, config.shutdown.graceMs, logger);
  } catch (error) {
    if (error instanceof StartupInterrupted) {
      const request = await stop.requested;
      logger?.info({ signal: request.signal, reason: request.reason }, 'stopped during start-up');
      exitSoon(request.exitCode, 500);
      return request.exitCode;
    }
    const line = fatalLine(error) ?? `serve failed: ${error instanceof Error ? error.message : String(error)}`;
    if (!fatalLine(error)) logger?.error({ err: error }, 'start-up failed');
    process.stderr.write(`${line}\n`);
    exitSoon(1, 500);
    return 1;
  }
}
