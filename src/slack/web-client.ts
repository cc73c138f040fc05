// The bot's Slack Web API client and how hard it tries. A call answered 429 waits the Retry-After
// Slack gives, then counts as one retry; a 5xx or a dropped connection backs off exponentially. A
// storm of a dozen 429s on one method (several incidents and drift alerts at once) must not lose a
// message, so the budget is more than Slack's own 5: about 30 s of backoff plus the Retry-After waits.
import { WebClient, type Logger as SlackLogger } from '@slack/web-api';

export const SLACK_RETRY_POLICY = { retries: 12, factor: 1.6, minTimeout: 200, maxTimeout: 5_000 } as const;

export function createSlackWebClient(token: string, apiUrl: string | undefined, logger: SlackLogger, retryConfig: { retries: number; factor?: number; minTimeout?: number; maxTimeout?: number } = SLACK_RETRY_POLICY): WebClient {
  return new WebClient(token, { ...(apiUrl ? { slackApiUrl: apiUrl } : {}), retryConfig: { ...retryConfig }, logger });
}
