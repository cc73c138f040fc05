// The simulated workspace: who exists (users, usergroups, the bot), its channels and messages, uploaded files.
// No I/O; the HTTP server and the driver both read and change it.
import { Conversation } from './conversation.js';
import type { RenderDirectory } from './render.js';
import type { SimChannel, SimFile, SimMessage, SimUser } from './types.js';

export interface BotIdentity {
  userId: string;
  botId: string;
  appId: string;
  name: string;
  teamId: string;
  teamDomain: string;
}

export interface WorkspaceOptions {
  bot?: Partial<BotIdentity>;
  users?: SimUser[];
  usergroups?: Record<string, string[]>;
  channels?: SimChannel[];
  nowMs?: () => number;
}

export const DEFAULT_CHANNELS: SimChannel[] = [{ id: 'C0INCIDENTS', name: 'incidents' }];

export class Workspace {
  readonly conversation: Conversation;
  readonly bot: BotIdentity;
  readonly users = new Map<string, SimUser>();
  readonly usergroups = new Map<string, string[]>();
  readonly files = new Map<string, SimFile>();
  readonly nowMs: () => number;
  private idCounter = 0;

  constructor(opts: WorkspaceOptions = {}) {
    this.nowMs = opts.nowMs ?? Date.now;
    this.conversation = new Conversation({ nowMs: this.nowMs, channels: opts.channels ?? DEFAULT_CHANNELS });
    this.bot = {
      userId: 'U0BOT',
      botId: 'B0BOT',
      appId: 'A0NETPOL',
      name: 'netpol',
      teamId: 'T0SIM',
      teamDomain: 'sim',
      ...opts.bot,
    };
    this.addUser({ id: this.bot.userId, name: this.bot.name, real_name: 'netpol-responder', is_bot: true });
    for (const user of opts.users ?? []) this.addUser(user);
    for (const [id, members] of Object.entries(opts.usergroups ?? {})) this.usergroups.set(id, [...members]);
  }

  addUser(user: SimUser): void {
    this.users.set(user.id, { ...user });
  }

  /** Ids that look like Slack's (prefix + 10 upper-case alphanumerics), unique within this workspace. */
  nextId(prefix: string): string {
    this.idCounter += 1;
    return `${prefix}${String(this.idCounter).padStart(10, '0')}`;
  }

  /** A channel id or name ("#incidents"), or a user id (a DM with the bot, opened on first use, as chat.postMessage does). */
  resolveChannel(id: string): SimChannel | undefined {
    const channel = this.conversation.channel(id);
    if (channel) return channel;
    const name = id.replace(/^#/, '');
    const named = name ? this.conversation.channels().find((c) => c.name === name) : undefined;
    if (named) return named;
    const user = this.users.get(id);
    if (!user || user.id === this.bot.userId) return undefined;
    const dm = { id: `D${user.id.slice(1)}`, name: `@${user.name}` };
    if (!this.conversation.channel(dm.id)) this.conversation.addChannel(dm);
    return dm;
  }

  directory(): RenderDirectory {
    return {
      userName: (id) => this.users.get(id)?.name,
      isBot: (id) => this.users.get(id)?.is_bot === true,
      channelName: (id) => this.conversation.channel(id)?.name,
    };
  }
}

/** A stored message in the JSON shape Slack returns from the Web API and puts in interaction payloads. */
export function toSlackMessage(message: SimMessage, ws: Workspace): Record<string, unknown> {
  return {
    type: 'message',
    ...(message.files ? { subtype: 'file_share' } : {}),
    user: message.user,
    ...(message.botId ? { bot_id: message.botId, app_id: ws.bot.appId } : {}),
    text: message.text,
    ts: message.ts,
    team: ws.bot.teamId,
    ...(message.blocks ? { blocks: message.blocks } : {}),
    ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
    ...(message.edited ? { edited: message.edited } : {}),
    ...(message.files ? { files: message.files.map((f) => toSlackFile(f)) } : {}),
  };
}

export function toSlackFile(file: SimFile): Record<string, unknown> {
  return { id: file.id, name: file.name, title: file.title, size: file.content?.length ?? file.declaredLength };
}
