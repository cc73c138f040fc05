// Which message a click came from, checked against the message the server itself posted for the
// incident, anomaly or drift episode the button's value names. A button value is only text in a
// payload: a click whose value was changed to name another incident (or one replayed from another
// message) must not act on it. The server's own record says where that incident's controls are;
// a click from anywhere else is refused before anything is read or written for it.

/** Where a click was made, from the block_actions payload. */
export interface ClickOrigin {
  channel?: string;
  messageTs?: string;
  /** The thread the clicked message is in, when it is a reply. */
  threadTs?: string;
}

/** Where the server posted an object's controls. */
export interface PostedAt {
  channel?: string;
  ts?: string;
}

function stringAt(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const found = (value as Record<string, unknown>)[key];
  return typeof found === 'string' && found !== '' ? found : undefined;
}

/** Reads the clicked message's channel and ts (and thread) from a Bolt action body. */
export function originOf(body: unknown): ClickOrigin {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const { container: containerObject, message, channel: channelObject } = fields;
  return {
    channel: stringAt(channelObject, 'id') ?? stringAt(containerObject, 'channel_id'),
    messageTs: stringAt(containerObject, 'message_ts') ?? stringAt(message, 'ts'),
    threadTs: stringAt(containerObject, 'thread_ts') ?? stringAt(message, 'thread_ts'),
  };
}

/**
 * True when the click came from the posted message itself, or (withReplies) from a reply in its
 * thread. A message whose ts is not recorded yet (posted a moment ago, its ts being saved) cannot
 * be told apart: the click is let through to the decision, which still checks the clicker and
 * the state; a click without a message is refused.
 */
export function clickedOn(posted: PostedAt | undefined, origin: ClickOrigin, withReplies = false): boolean {
  if (!origin.channel || !origin.messageTs) return false;
  if (!posted?.ts) return true;
  if (!posted.channel) return false;
  if (posted.channel !== origin.channel) return false;
  if (origin.messageTs === posted.ts) return true;
  return withReplies && origin.threadTs === posted.ts;
}

export function elsewhereText(what: string): string {
  return `That button does not belong to ${what}: it was not clicked on the message the bot posted for it. Nothing changed.`;
}
