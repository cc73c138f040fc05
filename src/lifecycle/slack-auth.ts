// The bot token's start-up check: one auth.test call, no client-side retries (the caller retries
// with its own backoff and logs every attempt). A token Slack refuses is fatal, with the fix; an
// unreachable or failing Slack is worth retrying.
import { ErrorCode, WebClient, type WebClientOptions } from '@slack/web-api';
import type { Logger } from '../log.js';
import type { Verdict } from './backoff.js';
import { StartupError } from './startup-error.js';

export interface SlackIdentity {
  botId: string;
  botUserId: string;
  team?: string;
}

/** auth.test answers that mean the token itself is refused: retrying cannot help. */
const REFUSED_TOKEN = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'not_allowed_token_type',
  'access_denied',
  'ekm_access_denied',
  'enterprise_is_restricted',
  'org_login_required',
  'team_access_not_granted',
  'team_added_to_org',
  'two_factor_setup_required',
]);

/** Slack-side trouble that passes. */
const TRANSIENT_PLATFORM = new Set(['ratelimited', 'accesslimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

const SLACK_API = 'https://slack.com/api/';

/** Slack's error codes are short snake_case words; anything else from the wire is cut down before it reaches a message. */
function errorCode(value: unknown): string {
  if (typeof value !== 'string' || value === '') return 'unknown_error';
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 80 ? `${printable.slice(0, 80)}…` : printable;
}

/** Routes the Web API client's own log lines into ours (it writes to the console otherwise). */
export function slackClientLogger(logger: Logger): NonNullable<WebClientOptions['logger']> {
  let level = 'info';
  return {
    debug: (...msg: unknown[]) => logger.debug({ slack: msg.map(String).join(' ') }, 'slack client'),
    info: (...msg: unknown[]) => logger.debug({ slack: msg.map(String).join(' ') }, 'slack client'),
    warn: (...msg: unknown[]) => logger.debug({ slack: msg.map(String).join(' ') }, 'slack client warning'),
    error: (...msg: unknown[]) => logger.warn({ slack: msg.map(String).join(' ') }, 'slack client error'),
    setLevel: (l) => void (level = l),
    getLevel: () => level as ReturnType<NonNullable<WebClientOptions['logger']>['getLevel']>,
    setName: () => undefined,
  };
}

export async function slackAuthTest(token: string, apiUrl: string | undefined, logger: Logger, timeoutMs = 5000): Promise<SlackIdentity> {
  const client = new WebClient(token, {
    ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
    retryConfig: { retries: 0 },
    timeout: timeoutMs,
    rejectRateLimitedCalls: true,
    logger: slackClientLogger(logger),
  });
  const result = await client.auth.test();
  if (!result.bot_id || !result.user_id) {
    throw new StartupError('SLACK_BOT_TOKEN belongs to a user, not a bot: use the Bot User OAuth Token (xoxb-…) of the installed app');
  }
  return { botId: result.bot_id, botUserId: result.user_id, ...(result.team ? { team: result.team } : {}) };
}

/**
 * Socket Mode's first connection (apps.connections.open with SLACK_APP_TOKEN) refused: the fix,
 * as one line. Anything else is returned as it is.
 */
export function appTokenError(error: unknown): unknown {
  const e = error as { code?: unknown; data?: { error?: unknown } };
  const code = e?.code === ErrorCode.PlatformError ? errorCode(e.data?.error) : undefined;
  if (code === undefined || !REFUSED_TOKEN.has(code)) return error;
  return new StartupError(
    `Slack refused the app-level token (${code}): set SLACK_APP_TOKEN to an app-level token (xapp-…) with connections:write, or unset it to use the HTTP receiver`,
    { cause: error },
  );
}

/** What an auth.test failure means: retry (Slack unreachable, 5xx, rate limited) or stop (with the fix). */
export function judgeSlackError(error: unknown, apiUrl = SLACK_API): Verdict {
  if (error instanceof StartupError) return { retry: false, error };
  const e = error as { code?: unknown; data?: { error?: unknown }; statusCode?: unknown; retryAfter?: unknown; original?: { message?: unknown; code?: unknown }; message?: unknown };
  switch (e?.code) {
    case ErrorCode.PlatformError: {
      const code = errorCode(e.data?.error);
      if (TRANSIENT_PLATFORM.has(code)) return { retry: true, reason: `Slack answered ${code}` };
      if (REFUSED_TOKEN.has(code)) {
        return {
          retry: false,
          error: new StartupError(
            `Slack refused the bot token (${code}): set SLACK_BOT_TOKEN to the app's current Bot User OAuth Token (xoxb-…, under OAuth & Permissions; reinstall the app if it was revoked)`,
            { cause: error },
          ),
        };
      }
      return { retry: false, error: new StartupError(`Slack answered auth.test with "${code}": check SLACK_BOT_TOKEN and slack.apiUrl`, { cause: error }) };
    }
    case ErrorCode.RateLimitedError:
      return { retry: true, reason: `Slack rate-limited auth.test (retry after ${Number(e.retryAfter) || 1} s)` };
    case ErrorCode.HTTPError: {
      const status = Number(e.statusCode);
      if (status >= 500 || status === 429 || status === 408) return { retry: true, reason: `Slack API at ${apiUrl} answered HTTP ${status}` };
      return {
        retry: false,
        error: new StartupError(`the Slack API at ${apiUrl} answered HTTP ${status} to auth.test: check slack.apiUrl (leave it unset to use Slack itself)`, { cause: error }),
      };
    }
    case ErrorCode.RequestError: {
      const cause = e.original?.code ?? e.original?.message ?? e.message;
      return { retry: true, reason: `cannot reach Slack at ${apiUrl} (${String(cause)})` };
    }
    default:
      return { retry: true, reason: `auth.test failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
