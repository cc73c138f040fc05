// The Slack surface: the receiver, `/netpol …` (src/slack/slash-command.ts) and the buttons. Every
// request is acknowledged first; work goes to the job queue, or to the engine's quick atomic
// decision for a click.
import { App, HTTPReceiver, LogLevel, type CustomRoute } from '@slack/bolt';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { APPROVE_ACTION, REJECT_ACTION, parseButtonValue } from './blocks.js';
import { KEEP_ACTION, LIFT_ACTION, LIFT_NOW_ACTION, parseIncidentButton, parseStrongerButton, STRONGER_ACTION } from './contain-blocks.js';
import { DISMISS_ACTION, OPEN_INCIDENT_ACTION } from './anomaly-blocks.js';
import { DRIFT_ACCEPT_ACTION, DRIFT_OPEN_INCIDENT_ACTION, DRIFT_REVERT_ACTION } from './drift-blocks.js';
import { webhookRoutes } from './webhook-routes.js';
import { clickedOn, elsewhereText, originOf } from './click-origin.js';
import { rateLimitRoutes, type WebhookRateLimiter } from '../webhook-rate-limit.js';
import { guardSlackRequests } from './request-limits.js';
import { answerUnknownAction, clickFailed, isKnownAction, unknownActionText, type ActionMatcher } from './unknown-action.js';
import { answerInTime, type ClickAnswer } from './click-deadline.js';
import { netpolCommand } from './slash-command.js';
import type { ApproverDirectory } from './approvers.js';
import {
  parseRestoreButton,
  parseSourceButton,
  RESTORE_APPROVE_STEP_ACTION,
  RESTORE_CONTINUE_ACTION,
  RESTORE_FORCE_ACTION,
  RESTORE_RECONTAIN_ACTION,
  RESTORE_RESUME_ACTION,
  RESTORE_ROLLBACK_ACTION,
  RESTORE_SOURCE_ACTION,
  RESTORE_STOP_ACTION,
  type RestoreDecisions,
} from './restore-blocks.js';
import type { RestoreButton } from '../restore/run-model.js';
import { alertOwner, type AlertOwner, type ClusterFront, type ClusterRoutes } from './cluster-routes.js';
import type { AnomalyDesk } from '../anomaly/desk.js';
import type { DriftDesk } from '../drift/desk.js';

export interface SlackAppOptions {
  signingSecret: string;
  botToken: string;
  appToken?: string;
  apiUrl?: string;
  /** The clusters served (one, or those of config `clusters`): each one's engine, stores, queue and desks. */
  clusters: ClusterRoutes;
  /** How long the namespace check may take inside Slack's 3 s acknowledgement budget (default 1.5 s). */
  namespaceCheckMs?: number;
  /** Enables the Alertmanager / Falcosidekick webhooks, which must present this token. */
  webhookToken?: string;
  /** More HTTP routes next to /slack/events (the Kubernetes audit webhook); HTTP mode only. */
  extraRoutes?: CustomRoute[];
  /** Counts each sender of the /webhooks/* routes (shared through Redis); absent: no limit. */
  webhookLimiter?: WebhookRateLimiter;
  /** The bot's identity from the start-up auth.test, so Bolt does not call auth.test itself (and cache a failure). */
  identity?: { botId: string; botUserId: string };
  /** Serves GET /readyz next to /healthz: resolves with a summary when ready, rejects with the reason. */
  readiness?: () => Promise<string>;
  /** Where Bolt (and its Socket Mode client) log, instead of the console. */
  boltLogger?: NonNullable<ConstructorParameters<typeof App>[0]>['logger'];
  /** Who may approve: asked before a click's Redis budget starts (see approverFirst). */
  approvers?: ApproverDirectory;
  logger: Logger;
  clock?: () => Date;
}

export interface SlackSurface {
  /** Starts listening (HTTP) or connecting (Socket Mode); resolves to the HTTP port, if any. */
  start(port: number, host: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** The /webhooks/* routes, each behind the per-sender rate limit when one is configured. */
function limitWebhooks(routes: CustomRoute[], options: SlackAppOptions): CustomRoute[] {
  const { webhookLimiter } = options;
  if (!webhookLimiter) return routes;
  return routes.map((route) => (route.path.startsWith('/webhooks/') ? rateLimitRoutes([route], webhookLimiter, options.logger)[0]! : route));
}

function readyzHandler(readiness: () => Promise<string>): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    readiness().then(
      (text) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${text}\n`),
      (error: unknown) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${error instanceof Error ? error.message : String(error)}\n`),
    );
  };
}

export function createSlackApp(options: SlackAppOptions): SlackSurface {
  const { clusters, logger } = options;
  const clock = options.clock ?? (() => new Date());
  const socketMode = Boolean(options.appToken);
  // Whether the clicker is an approver is asked of Slack before the click's Redis budget starts:
  // a rate-limited answer from Slack is not Redis being unreachable, and must not cost the click.
  const approverFirst = (userId: string) => async (): Promise<void> => {
    await options.approvers?.prefetch(userId);
  };
  const endpoints = ['/slack/events'];
  const receiver = socketMode
    ? undefined
    : new HTTPReceiver({
        signingSecret: options.signingSecret,
        endpoints,
        // Its own refusals (a bad signature) go to the program's logger, not to stderr past its redaction.
        ...(options.boltLogger ? { logger: options.boltLogger } : {}),
        customRoutes: [
          { path: '/healthz', method: ['GET'], handler: (_req, res) => res.writeHead(200).end('ok\n') },
          ...(options.readiness ? [{ path: '/readyz', method: ['GET'], handler: readyzHandler(options.readiness) }] : []),
          ...limitWebhooks([...webhookRoutes({ clusters, webhookToken: options.webhookToken, logger }), ...(options.extraRoutes ?? [])], options),
        ],
      });
  // Timestamp within ±5 minutes and a body cap, checked before Bolt reads the request and verifies its signature.
  if (receiver) receiver.requestListener = guardSlackRequests(receiver.requestListener, { endpoints, logger });
  const app = new App({
    token: options.botToken,
    ...(options.identity ? { botId: options.identity.botId, botUserId: options.identity.botUserId } : {}),
    ...(socketMode ? { socketMode: true, appToken: options.appToken, signingSecret: options.signingSecret } : { receiver }),
    clientOptions: options.apiUrl ? { slackApiUrl: options.apiUrl } : undefined,
    ...(options.boltLogger ? { logger: options.boltLogger } : {}),
    logLevel: LogLevel.ERROR,
    // No listener keeps conversation state: without the store, no lookup runs for every request.
    convoStore: false,
  });

  // Every action id a listener is registered for; any other click is answered by the catch-all below.
  const knownActions: ActionMatcher[] = [];
  const track = <T extends ActionMatcher>(matcher: T): T => {
    knownActions.push(matcher);
    return matcher;
  };

  // A click acts only on the incident whose message it was made on (the server's record says
  // which message that is), never on one a changed button value names.
  const refuseElsewhere = async (front: ClusterFront | undefined, incidentId: string, body: unknown): Promise<{ ok: false; message: string } | undefined> => {
    const incident = front && (await front.store.get(incidentId));
    if (!incident) return { ok: false, message: unknownActionText(incidentId) };
    if (clickedOn({ channel: incident.channel, ts: incident.messageTs }, originOf(body), true)) return undefined;
    logger.warn({ incident: incidentId, origin: originOf(body) }, 'refused a click made on another message than the incident it names');
    return { ok: false, message: elsewhereText(`incident \`${incidentId}\``) };
  };
  /** Runs a click's decision only when it was made on the incident's own message; one promise, so one .catch() covers both. */
  const onIncident = async <R,>(incidentId: string, body: unknown, decide: (front: ClusterFront) => Promise<R>): Promise<R | { ok: false; message: string }> => {
    const front = clusters.forIncident(incidentId);
    return (await refuseElsewhere(front, incidentId, body)) ?? (await decide(front!));
  };
  const onAlert = async <D, R>(owner: () => Promise<AlertOwner<D> | undefined>, body: unknown, what: string, decide: (desk: D) => Promise<R>): Promise<R | { ok: false; message: string }> => {
    const found = await owner();
    if (!found) return { ok: false, message: `That button belongs to ${what} no cluster here knows (expired, or from another install). Nothing changed.` };
    return refuseOffAlert(found.posted, body, what) ?? (await decide(found.desk));
  };
  /** A click on an incident's controls: made on its message, the clicker's approver status asked first, answered within the budget. */
  const incidentClick = (what: string, incidentId: string, body: { user: { id: string } }, decide: (front: ClusterFront) => Promise<ClickAnswer>): Promise<ClickAnswer> =>
    answerInTime(what, () => onIncident(incidentId, body, decide).catch((error: unknown) => clickFailed(error, logger, incidentId)), { logger, before: approverFirst(body.user.id), incidentId });
  /** A click on an anomaly or drift alert; their decisions are kept outside the incident store, so a late write is not refused. */
  const alertClick = <D,>(owner: () => Promise<AlertOwner<D> | undefined>, what: string, body: { user: { id: string } }, decide: (desk: D) => Promise<ClickAnswer>): Promise<ClickAnswer> =>
    answerInTime('choice', () => onAlert(owner, body, what, decide).catch((error: unknown) => clickFailed(error, logger)), { logger, before: approverFirst(body.user.id), writesGuarded: false });
  const notOurs = { ok: false, message: 'That button is not one of ours (malformed value). Nothing changed.' };
  const refuseOffAlert = (posted: { channel: string; ts: string } | undefined, body: unknown, what: string): { ok: false; message: string } | undefined => {
    if (clickedOn(posted, originOf(body))) return undefined;
    logger.warn({ what, origin: originOf(body) }, 'refused a click made on another message than the alert it names');
    return { ok: false, message: elsewhereText(what) };
  };

  app.command('/netpol', netpolCommand({ ...options, clock, approverFirst }));

  for (const [actionId, decision] of [
    [APPROVE_ACTION, 'approve'],
    [REJECT_ACTION, 'reject'],
  ] as const) {
    app.action(track(actionId), async ({ ack, body, action, respond }) => {
      await ack();
      const value = parseButtonValue('value' in action ? (action.value as string | undefined) : undefined);
      if (!value) {
        await respond({ response_type: 'ephemeral', replace_original: false, text: notOurs.message });
        return;
      }
      // A value naming a step this playbook lacks or an incident that is gone is a stale button, not an error.
      const known = clusters.fronts[0]!.engine.playbook.steps.some((s) => s.id === value.stepId);
      const result = known
        ? await incidentClick(decision === 'approve' ? 'approval' : 'rejection', value.incidentId, body, (front) => front.engine.decide({ ...value, userId: body.user.id, decision }))
        : { ok: false, message: unknownActionText(value.incidentId) };
      if (!result.ok) await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
    });
  }

  for (const [actionId, act] of [
    [LIFT_ACTION, (front: ClusterFront, id: string, user: string) => front.engine.containment.decideLift(id, user)],
    [KEEP_ACTION, (front: ClusterFront, id: string, user: string) => front.engine.containment.keep(id, user)],
    [LIFT_NOW_ACTION, (front: ClusterFront, id: string, user: string) => front.engine.containment.liftNow(id, user)],
  ] as const) {
    app.action(track(actionId), async ({ ack, body, action, respond }) => {
      await ack();
      const incidentId = parseIncidentButton('value' in action ? action.value : undefined);
      const result = incidentId
        ? await incidentClick('decision', incidentId, body, (front) => act(front, incidentId, body.user.id))
        : notOurs;
      await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
    });
  }

  // One action id per offered strategy (Slack wants them unique in a block): match the prefix.
  app.action(track(new RegExp(`^${STRONGER_ACTION}\\.`)), async ({ ack, body, action, respond }) => {
    await ack();
    const choice = parseStrongerButton('value' in action ? action.value : undefined);
    const result = choice
      ? await incidentClick('choice', choice.incidentId, body, (front) => front.engine.containStronger(choice.incidentId, body.user.id, choice.strategy))
      : notOurs;
    await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
  });

  // Each restore control carries incident, plan and step, so the runner refuses a stale click.
  const restoreOf = (front: ClusterFront, decide: (r: RestoreDecisions) => Promise<ClickAnswer>): Promise<ClickAnswer> => (front.restore ? decide(front.restore) : Promise.resolve(noRestore));
  const noRestore = { ok: false, message: 'Restore is not available here (no restore runner). Nothing changed.' };
  for (const [actionId, act] of [
    [RESTORE_APPROVE_STEP_ACTION, (r: RestoreDecisions, user: string, b: RestoreButton) => r.approveStep(b.incidentId, user, b)],
    [RESTORE_STOP_ACTION, (r: RestoreDecisions, user: string, b: RestoreButton) => r.stop(b.incidentId, user, b)],
    [RESTORE_RESUME_ACTION, (r: RestoreDecisions, user: string, b: RestoreButton) => r.resume(b.incidentId, user, b)],
    [RESTORE_ROLLBACK_ACTION, (r: RestoreDecisions, user: string, b: RestoreButton) => r.rollback(b.incidentId, user, b)],
    [RESTORE_CONTINUE_ACTION, (r: RestoreDecisions, user: string, b: RestoreButton) => r.continueAnyway(b.incidentId, user, b)],
    [RESTORE_FORCE_ACTION, (r: RestoreDecisions, user: string, b: RestoreButton) => r.force(b.incidentId, user, b)],
  ] as const) {
    app.action(track(actionId), async ({ ack, body, action, respond }) => {
      await ack();
      const button = parseRestoreButton('value' in action ? action.value : undefined);
      const result = !button ? notOurs : await incidentClick('decision', button.incidentId, body, (front) => restoreOf(front, (r) => act(r, body.user.id, button)));
      await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
    });
  }
  app.action(track(RESTORE_RECONTAIN_ACTION), async ({ ack, body, action, respond }) => {
    await ack();
    const incidentId = parseIncidentButton('value' in action ? action.value : undefined);
    const result = !incidentId ? notOurs : await incidentClick('decision', incidentId, body, (front) => restoreOf(front, (r) => r.containAgain(incidentId, body.user.id)));
    await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
  });
  // One action id per source option (unique in the message): match the prefix.
  app.action(track(new RegExp(`^${RESTORE_SOURCE_ACTION}\\.`)), async ({ ack, body, action, respond }) => {
    await ack();
    const choice = parseSourceButton('value' in action ? action.value : undefined);
    const result = !choice ? notOurs : await incidentClick('choice', choice.incidentId, body, (front) => restoreOf(front, (r) => r.chooseSource(choice.incidentId, body.user.id, choice.index)));
    await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
  });

  if (clusters.fronts.some((f) => f.desk)) {
    for (const [actionId, act] of [
      [OPEN_INCIDENT_ACTION, (desk: AnomalyDesk, id: string, user: string) => desk.openIncident(id, user)],
      [DISMISS_ACTION, (desk: AnomalyDesk, id: string, user: string) => desk.dismiss(id, user)],
    ] as const) {
      app.action(track(actionId), async ({ ack, body, action, respond }) => {
        await ack();
        const anomalyId = 'value' in action && typeof action.value === 'string' && action.value.length <= 300 ? action.value : undefined;
        const result = anomalyId
          ? await alertClick(() => alertOwner(clusters, (f) => f.desk, anomalyId, originOf(body)), 'that anomaly', body, (desk) => act(desk, anomalyId, body.user.id))
          : notOurs;
        await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
      });
    }
  }

  if (clusters.fronts.some((f) => f.driftDesk)) {
    for (const [actionId, act] of [
      [DRIFT_REVERT_ACTION, (desk: DriftDesk, id: string, user: string) => desk.revert(id, user)],
      [DRIFT_ACCEPT_ACTION, (desk: DriftDesk, id: string, user: string) => desk.accept(id, user)],
      [DRIFT_OPEN_INCIDENT_ACTION, (desk: DriftDesk, id: string, user: string) => desk.openIncident(id, user)],
    ] as const) {
      app.action(track(actionId), async ({ ack, body, action, respond }) => {
        await ack();
        const episodeId = 'value' in action && typeof action.value === 'string' && /^[A-Za-z0-9._-]{1,80}$/.test(action.value) ? action.value : undefined;
        const result = episodeId
          ? await alertClick(() => alertOwner(clusters, (f) => f.driftDesk, episodeId, originOf(body)), 'that drift', body, (desk) => act(desk, episodeId, body.user.id))
          : notOurs;
        await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
      });
    }
  }

  // A button from an older version of the bot (or one whose feature is not configured here) is still
  // acknowledged, so Slack shows no error, and the clicker is told that nothing was done.
  app.action({ type: 'block_actions' }, async ({ ack, body, action, respond, client }) => {
    if (isKnownAction(knownActions, action.action_id)) return;
    await ack();
    await answerUnknownAction({ body, actionId: action.action_id, respond, client, logger });
  });

  app.error(async (error) => {
    logger.error({ err: error }, 'error in a Slack handler');
  });

  return {
    async start(port, host) {
      if (socketMode) {
        await app.start();
        return undefined;
      }
      const server = (await receiver!.start({ port, host })) as Server;
      return (server.address() as AddressInfo).port;
    },
    async stop() {
      await app.stop();
    },
  };
}
