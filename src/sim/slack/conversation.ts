// The stand-in's memory of the workspace: channels and their messages, kept in ts order.
// No I/O; the clock is injected so tests get stable timestamps.
import type { ConversationEvent, SimChannel, SimMessage } from './types.js';

export type ConversationListener = (event: ConversationEvent) => void;

/** Slack message ids: "<unix seconds>.<6-digit micros>", strictly increasing within the workspace. */
export class TsClock {
  private lastMicros = 0;
  constructor(private readonly nowMs: () => number = Date.now) {}

  next(): string {
    const micros = Math.max(Math.floor(this.nowMs()) * 1000, this.lastMicros + 1);
    this.lastMicros = micros;
    return formatTs(micros);
  }
}

export function formatTs(micros: number): string {
  const seconds = Math.floor(micros / 1_000_000);
  const fraction = micros % 1_000_000;
  return `${seconds}.${String(fraction).padStart(6, '0')}`;
}

const TS_PATTERN = /^\d{1,12}\.\d{6}$/;
export function isWellFormedTs(value: string): boolean {
  return TS_PATTERN.test(value);
}

/** Orders "seconds.micros" strings numerically (string order breaks when the seconds differ in length). */
export function compareTs(a: string, b: string): number {
  const [aSec = '0', aFrac = '0'] = a.split('.');
  const [bSec = '0', bFrac = '0'] = b.split('.');
  return Number(aSec) - Number(bSec) || Number(aFrac) - Number(bFrac);
}

export class Conversation {
  private readonly channelsById = new Map<string, SimChannel>();
  private readonly messagesByChannel = new Map<string, SimMessage[]>();
  /** By channel and ts: every chat.update looks one up, and a busy channel holds thousands. */
  private readonly messageByTs = new Map<string, Map<string, SimMessage>>();
  private readonly listeners = new Set<ConversationListener>();
  readonly clock: TsClock;

  constructor(opts: { nowMs?: () => number; channels?: SimChannel[] } = {}) {
    this.clock = new TsClock(opts.nowMs);
    for (const channel of opts.channels ?? []) this.addChannel(channel);
  }

  addChannel(channel: SimChannel): void {
    this.channelsById.set(channel.id, { ...channel });
    if (!this.messagesByChannel.has(channel.id)) {
      this.messagesByChannel.set(channel.id, []);
      this.messageByTs.set(channel.id, new Map());
    }
  }

  channel(id: string): SimChannel | undefined {
    return this.channelsById.get(id);
  }

  channels(): SimChannel[] {
    return [...this.channelsById.values()];
  }

  /** Adds a message (or user action) with a fresh ts. The channel must exist. */
  post(entry: Omit<SimMessage, 'ts' | 'channel'> & { channel: string }): SimMessage {
    const list = this.messagesByChannel.get(entry.channel);
    if (!list) throw new Error(`unknown channel ${entry.channel}`);
    const message: SimMessage = { ...entry, ts: this.clock.next() };
    list.push(message);
    this.messageByTs.get(entry.channel)?.set(message.ts, message);
    this.emit({ type: 'posted', message });
    return message;
  }

  find(channel: string, ts: string): SimMessage | undefined {
    const message = this.messageByTs.get(channel)?.get(ts);
    return message && !message.deleted ? message : undefined;
  }

  /** Replaces text and/or blocks; an omitted field keeps its value, as chat.update does. */
  update(channel: string, ts: string, change: { text?: string; blocks?: unknown[]; editor: string }): SimMessage | undefined {
    const message = this.find(channel, ts);
    if (!message || message.kind !== 'message') return undefined;
    if (change.text !== undefined) message.text = change.text;
    if (change.blocks !== undefined) message.blocks = change.blocks.length > 0 ? change.blocks : undefined;
    message.edited = { user: change.editor, ts: this.clock.next() };
    this.emit({ type: 'updated', message });
    return message;
  }

  delete(channel: string, ts: string): SimMessage | undefined {
    const message = this.find(channel, ts);
    if (!message || message.kind !== 'message') return undefined;
    message.deleted = true;
    this.emit({ type: 'deleted', message });
    return message;
  }

  /** Entries of a channel (or of all channels), oldest first; deleted ones only when asked for. */
  messages(channel?: string, includeDeleted = false): SimMessage[] {
    const live = (list: SimMessage[]): SimMessage[] => (includeDeleted ? [...list] : list.filter((m) => !m.deleted));
    // A channel's list is in ts order already (post appends with the clock's next ts): only
    // several channels need merging, and a benchmark reading one channel often pays no sort.
    if (channel !== undefined) return live(this.messagesByChannel.get(channel) ?? []);
    return live([...this.messagesByChannel.values()].flat()).sort((a, b) => compareTs(a.ts, b.ts));
  }

  onEvent(listener: ConversationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: ConversationEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
