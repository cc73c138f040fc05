// Slack user ids → names for a postmortem written outside Slack (`netpol-responder export`), asked
// the way the bot's own export asks (users.info, the user's handle). Never in the way: without a
// token, or when Slack cannot be reached or refuses, the ids stay and one line says why; a deadline
// bounds the whole lookup.
import { ErrorCode, LogLevel, WebClient, type Logger, type WebAPICallError } from '@slack/web-api';
import { requesterUserId, type Incident } from '../incident/model.js';
import { actorUserId, type TimelineEvent } from '../timeline/types.js';

export interface NameLookup {
  /** Slack user id → handle, for the ids Slack knew. */
  names: Record<string, string>;
  /** One line for stderr when names could not be asked for at all. */
  warning?: string;
}

export interface NameLookupOptions {
  token?: string;
  /** The Web API base URL (slack.apiUrl); Slack's own when absent. */
  apiUrl?: string;
  /** Per request; the whole lookup gets this plus a second. Default 3 s. */
  timeoutMs?: number;
}

/** The people a postmortem names, as the bot's export collects them: who opened it and every actor. */
export function postmortemUserIds(incident: Incident, timeline: readonly TimelineEvent[]): string[] {
  return [...new Set([...[requesterUserId(incident)].filter((u): u is string => !!u), ...timeline.map((e) => actorUserId(e.actor)).filter((u): u is string => !!u)])];
}

/** The client would print its own warnings per failed call; the one line below says it all. */
const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

const AUTH_ERRORS = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'token_revoked', 'token_expired', 'missing_scope', 'no_permission']);

/** Why a failed users.info means no names at all (unreachable, refused), or undefined for "this user only". */
function overallProblem(error: unknown, where: string): string | undefined {
  const e = error as Partial<WebAPICallError> & { data?: { error?: string }; original?: Error };
  if (e.code === ErrorCode.PlatformError) {
    const code = e.data?.error ?? 'error';
    return AUTH_ERRORS.has(code) ? `Slack refused SLACK_BOT_TOKEN (${code})` : undefined;
  }
  if (e.code === ErrorCode.RateLimitedError) return `Slack rate-limited users.info at ${where}`;
  const reason = e.original?.message ?? (error instanceof Error ? error.message : String(error));
  return `cannot reach Slack at ${where} (${reason.slice(0, 200)})`;
}

export async function slackUserNames(ids: readonly string[], options: NameLookupOptions): Promise<NameLookup> {
  const suffix = 'the postmortem shows Slack user ids instead of names';
  if (!options.token) return { names: {}, warning: `SLACK_BOT_TOKEN is not set: ${suffix}` };
  const timeoutMs = options.timeoutMs ?? 3000;
  const where = options.apiUrl ?? 'https://slack.com/api/';
  const client = new WebClient(options.token, {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    timeout: timeoutMs,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logger: quiet,
  });
  const names: Record<string, string> = {};
  const problems: string[] = [];
  const lookups = Promise.all(
    ids.map(async (id) => {
      try {
        const result = await client.users.info({ user: id });
        if (result.user?.name) names[id] = result.user.name;
      } catch (error) {
        const problem = overallProblem(error, where);
        if (problem) problems.push(problem);
      }
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs + 1000);
  });
  const outcome = await Promise.race([lookups.then(() => 'done' as const), deadline]);
  clearTimeout(timer);
  if (outcome === 'late') return { names: {}, warning: `Slack at ${where} did not answer within ${((timeoutMs + 1000) / 1000).toFixed(1)} s: ${suffix}` };
  // A partial answer is not mixed with ids: either Slack answered for everyone it knows, or names are off.
  if (problems.length > 0) return { names: {}, warning: `${problems[0]}: ${suffix}` };
  return { names };
}
