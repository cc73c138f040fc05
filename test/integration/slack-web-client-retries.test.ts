// The bot's Slack client against the Slack stand-in: a storm of 429s longer than the Web API
// client's default budget still posts the message exactly once; one that never ends gives up.
import { afterEach, describe, expect, it } from 'vitest';
import { startSlackApiServer, type SlackApiSim } from '../../src/sim/slack/index.js';
import { createSlackWebClient, SLACK_RETRY_POLICY } from '../../src/slack/web-client.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, setLevel: () => undefined, getLevel: () => 'error' as never, setName: () => undefined };

let slack: SlackApiSim | undefined;
afterEach(async () => {
  await slack?.close();
  slack = undefined;
});

describe('Slack Web API client retries', () => {
  it('posts once through ten 429s in a row on one method (more than 5 retries)', async () => {
    slack = await startSlackApiServer();
    slack.rateLimit('chat.postMessage', { retryAfterSeconds: 0, times: 10 });
    const client = createSlackWebClient(slack.botToken, slack.apiUrl, quiet, { ...SLACK_RETRY_POLICY, minTimeout: 1, maxTimeout: 5 });
    const result = await client.chat.postMessage({ channel: 'C0INCIDENTS', text: 'through the storm' });
    expect(result.ok).toBe(true);
    const posts = slack.calls.filter((c) => c.method === 'chat.postMessage');
    expect(posts.map((c) => c.status)).toEqual([...Array(10).fill(429), 200]);
    expect(slack.messages('C0INCIDENTS').filter((m) => m.text === 'through the storm')).toHaveLength(1);
  });

  it('gives up after its budget when the 429s do not end, having posted nothing', async () => {
    slack = await startSlackApiServer();
    slack.rateLimit('chat.postMessage', { retryAfterSeconds: 0, times: 1000 });
    const client = createSlackWebClient(slack.botToken, slack.apiUrl, quiet, { ...SLACK_RETRY_POLICY, minTimeout: 1, maxTimeout: 5 });
    await expect(client.chat.postMessage({ channel: 'C0INCIDENTS', text: 'never' })).rejects.toThrow(/rate limit/i);
    expect(slack.calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(SLACK_RETRY_POLICY.retries + 1);
    expect(slack.messages('C0INCIDENTS')).toEqual([]);
  });
});
