// One pino logger for the program; modules take child loggers, incident work binds `incident`.
// Secrets never reach a log line: `redact` censors the fields where one could sit (the config's
// secrets, request and error headers, token fields of bodies and errors), and messages that could
// carry a secret in their text are scrubbed where they are made (redactUrl for Redis and Git URLs).
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export const REDACTED = '[redacted]';

const SECRET_KEYS = [
  'token', 'password', 'secret', 'authorization', 'cookie', 'set-cookie', 'x-slack-signature', 'x-gitlab-token', 'x-hub-signature-256', 'private-token',
  'botToken', 'appToken', 'signingSecret', 'slackBotToken', 'slackSigningSecret', 'slackAppToken', 'webhookToken', 'auditWebhookToken', 'gitWebhookSecret',
  'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'NETPOL_WEBHOOK_TOKEN', 'NETPOL_AUDIT_WEBHOOK_TOKEN', 'NETPOL_GIT_WEBHOOK_SECRET', 'GIT_TOKEN', 'GITHUB_TOKEN', 'GITLAB_TOKEN',
  'client-key-data', 'client-certificate-data', 'keyData', 'bearerToken', 'secrets', 'NETPOL_GIT_AUTH_HEADER',
];
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-slack-signature', 'private-token', 'x-gitlab-token', 'x-hub-signature-256', 'x-netpol-token'];
const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `["${k}"]`);
/** Where a secret can sit in a log line's object: top level, one and two levels down, and the headers of requests, responses and errors (Octokit, gitbeaker, axios). */
export const REDACT_PATHS: string[] = [
  'redisUrl', 'config.redisUrl',
  // ioredis puts the failed command on its errors: AUTH and HELLO carry the password in their args.
  'err.command.args', 'error.command.args',
  ...SECRET_KEYS.flatMap((k) => [key(k).startsWith('.') ? k : key(k), `*${key(k)}`, `*.*${key(k)}`]),
  ...[
    'headers', 'req.headers', 'res.headers', 'request.headers', 'response.headers',
    ...['err', 'error'].flatMap((e) => ['', '.cause', '.error'].flatMap((c) => ['headers', 'request.headers', 'response.headers', 'config.headers', 'response.request.headers'].map((h) => `${e}${c}.${h}`))),
  ].flatMap((h) => SECRET_HEADERS.map((k) => `${h}${key(k)}`)),
];

export function createLogger(options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const settings: LoggerOptions = {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { app: 'netpol-responder' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    ...options,
  };
  return destination ? pino(settings, destination) : pino(settings);
}

/** Logger that discards everything: the default for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });

export function incidentLogger(logger: Logger, incidentId: string, extra: Record<string, unknown> = {}): Logger {
  return logger.child({ incident: incidentId, ...extra });
}
