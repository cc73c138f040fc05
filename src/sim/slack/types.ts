// Shapes shared by the Slack stand-in: the workspace directory, the conversation model and the call log.

export interface SimUser {
  id: string;
  name: string;
  real_name?: string;
  is_bot?: boolean;
}

export interface SimChannel {
  id: string;
  name: string;
}

export interface SimFile {
  id: string;
  name: string;
  title: string;
  /** Bytes the client declared in files.getUploadURLExternal. */
  declaredLength: number;
  /** The bytes actually posted to the upload URL (undefined until uploaded). */
  content?: Buffer;
}

/** One entry of a channel: a Slack message, or a user's action the transcript shows so a reader can follow. */
export interface SimMessage {
  channel: string;
  ts: string;
  /** message = a real message; user-action = a slash command or button click (never visible to the Web API). */
  kind: 'message' | 'user-action';
  user: string;
  botId?: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  /** Set for ephemeral messages: the only user who sees it. */
  visibleTo?: string;
  files?: SimFile[];
  edited?: { user: string; ts: string };
  deleted?: boolean;
}

export type ConversationEventType = 'posted' | 'updated' | 'deleted';

export interface ConversationEvent {
  type: ConversationEventType;
  message: SimMessage;
}

/** One request the stand-in answered. */
export interface SimCall {
  seq: number;
  /** api = a Web API method, upload = bytes posted to an upload URL, response_url = a post to a response_url. */
  kind: 'api' | 'upload' | 'response_url';
  /** Web API method name; for upload the file id; for response_url the response id. */
  method: string;
  args: Record<string, unknown>;
  token?: string;
  at: Date;
  status: number;
  response: Record<string, unknown>;
  /** For response_url posts: what the post did to the conversation. */
  effect?: 'ephemeral' | 'in_channel' | 'replace_original' | 'delete_original';
}

/** What a response_url belongs to: who triggered it and (for buttons) which message. */
export interface ResponseUrlContext {
  channel: string;
  user: string;
  /** The message the button was on (block_actions only). */
  messageTs?: string;
}
