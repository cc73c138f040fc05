// One pino logger for the program; modules take child loggers, incident work binds `incident`.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino({
    level: process.env.LOG_LEVEL ?? 'info',
    base: { app: 'netpol-responder' },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  });
}

/** Logger that discards everything: the default for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });

export function incidentLogger(logger: Logger, incidentId: string, extra: Record<string, unknown> = {}): Logger {
  return logger.child({ incident: incidentId, ...extra });
}
