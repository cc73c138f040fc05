// Public API of the Slack stand-in: the Web API server, the driver that plays Slack towards a Bolt app,
// and the pure pieces (renderer, signature) that tests and the demo use directly.
//
//   const sim = await startSlackApiServer({ users: [{ id: 'U0ALICE', name: 'alice' }] });
//   const app = new App({ token: sim.botToken, signingSecret, clientOptions: { slackApiUrl: sim.apiUrl } });
//   const server = await app.start({ port: 0, host: '127.0.0.1' });
//   const driver = new SlackDriver({ appUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret, sim });
//   sim.onMessage((e) => console.log(sim.renderMessage(e.message)));       // live view
//   await driver.slashCommand({ userId: 'U0ALICE', channelId: 'C0INCIDENTS', text: 'incident db' });
//   const msg = await sim.waitForMessage((m) => m.blocks !== undefined);
//   await driver.clickButton({ userId: 'U0ALICE', channelId: 'C0INCIDENTS', messageTs: msg.ts, actionId: 'approve' });
//   console.log(sim.transcript('#incidents'));
//
// Socket Mode: give Bolt `socketMode: true, appToken: sim.appToken` (same clientOptions), await app.start(),
// then `new SlackDriver({ mode: 'socket', sim })` has the same slashCommand/clickButton API.
export { startSlackApiServer, SlackApiSim } from './server.js';
export type { SlackApiSimOptions, RateLimitOptions } from './server.js';
export { SlackDriver, signSlackRequest, slackRequestHeaders, formEncode, findButton } from './driver.js';
export type {
  SlackDriverOptions,
  HttpDriverOptions,
  SocketDriverOptions,
  SlashCommandOptions,
  ClickButtonOptions,
  ForgeOptions,
  DriverResult,
} from './driver.js';
export { SocketModeHub, SOCKET_MODE_PATH } from './socket-mode.js';
export type { SocketAck, SocketFrame, SocketConnectionInfo } from './socket-mode.js';
export { parseClientFrame, makeEnvelope, helloMessage, disconnectMessage } from './socket-frames.js';
export type { Envelope, EnvelopeType, ClientFrame } from './socket-frames.js';
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
