// What the engine needs from Slack, and its implementation over the Web API client.
import type { WebClient } from '@slack/web-api';
import type { SlackMessage } from './blocks.js';
import type { UsergroupSource } from './approvers.js';

export interface ChatGateway extends UsergroupSource {
  postMessage(channel: string, message: SlackMessage, threadTs?: string): Promise<string>;
  updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void>;
  postEphemeral(channel: string, user: string, text: string): Promise<void>;
  /** Replies through a slash command's or button's response_url (ephemeral unless told). */
  respond(responseUrl: string, text: string): Promise<void>;
  uploadFile(file: { channel: string; threadTs?: string; filename: string; content: string; comment: string }): Promise<void>;
  userName(userId: string): Promise<string | undefined>;
  /** The message's permalink (chat.getPermalink); undefined when Slack does not give one. */
  permalink?(channel: string, ts: string): Promise<string | undefined>;
}

/** response_url must point at Slack (or the configured stand-in): never post elsewhere. */
export function isAllowedResponseUrl(responseUrl: string, apiUrl?: string): boolean {
  let url: URL;
  try {
    url = new URL(responseUrl);
  } catch {
    return false;
  }
  if (apiUrl) {
    const api = new URL(apiUrl);
    if (url.host === api.host && url.protocol === api.protocol) return true;
  }
  return url.protocol === 'https:' && (url.hostname === 'hooks.slack.com' || url.hostname.endsWith('.slack.com'));
}

export class WebApiChat implements ChatGateway {
  constructor(
    private readonly client: WebClient,
    private readonly apiUrl?: string,
  ) {}

  async postMessage(channel: string, message: SlackMessage, threadTs?: string): Promise<string> {
    const blocks = message.blocks.length > 0 ? (message.blocks as never) : undefined;
    const result = await this.client.chat.postMessage({ channel, text: message.text, blocks, thread_ts: threadTs, unfurl_links: false });
    if (!result.ts) throw new Error('chat.postMessage returned no ts');
    return result.ts;
  }

  async updateMessage(channel: string, ts: string, message: SlackMessage): Promise<void> {
    await this.client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as never });
  }

  async postEphemeral(channel: string, user: string, text: string): Promise<void> {
    await this.client.chat.postEphemeral({ channel, user, text });
  }

  async respond(responseUrl: string, text: string): Promise<void> {
    if (!isAllowedResponseUrl(responseUrl, this.apiUrl)) throw new Error('refusing to post to a response_url outside Slack');
    const response = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
    });
    if (!response.ok) throw new Error(`response_url answered ${response.status}`);
  }

  async uploadFile(file: { channel: string; threadTs?: string; filename: string; content: string; comment: string }): Promise<void> {
    const base = { channel_id: file.channel, filename: file.filename, content: file.content, initial_comment: file.comment, title: file.filename };
    await this.client.files.uploadV2(file.threadTs ? { ...base, thread_ts: file.threadTs } : base);
  }

  async permalink(channel: string, ts: string): Promise<string | undefined> {
    try {
      const result = await this.client.chat.getPermalink({ channel, message_ts: ts });
      return result.permalink ?? undefined;
    } catch {
      return undefined;
    }
  }

  async userName(userId: string): Promise<string | undefined> {
    try {
      const result = await this.client.users.info({ user: userId });
      return result.user?.name ?? undefined;
    } catch {
      return undefined;
    }
  }

  async usergroupMembers(usergroupId: string): Promise<string[]> {
    const result = await this.client.usergroups.users.list({ usergroup: usergroupId });
    return result.users ?? [];
  }
}
