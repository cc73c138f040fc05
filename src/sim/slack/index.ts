// Public API of the Slack stand-in: the Web API server, the driver that plays Slack towards a Bolt app,
// and the pure pieces (renderer, signature) that tests and the demo use directly.
export { startSlackApiServer, SlackApiSim } from './server.js';
export type { SlackApiSimOptions, RateLimitOptions } from './server.js';
export { SlackDriver, signSlackRequest, slackRequestHeaders, formEncode, findButton } from './driver.js';
export type { SlackDriverOptions, SlashCommandOptions, ClickButtonOptions, ForgeOptions, DriverResult } from './driver.js';
export { renderTranscript, renderChannel, renderMessage, renderBlocks, renderMrkdwn, sanitize, formatClock } from './render.js';
export type { RenderDirectory, RenderOptions } from './render.js';
export { Workspace, toSlackMessage, DEFAULT_CHANNELS } from './workspace.js';
export type { BotIdentity } from './workspace.js';
export type {
  SimUser,
  SimChannel,
  SimFile,
  SimMessage,
  SimCall,
  ConversationEvent,
  ConversationEventType,
  ResponseUrlContext,
} from './types.js';
