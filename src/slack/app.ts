// The Slack surface: `/netpol …` and the Approve/Reject buttons. Every request is acknowledged
// first; work goes to the job queue, or to the engine's quick atomic decision for a click.
import { App, HTTPReceiver, LogLevel, type CustomRoute } from '@slack/bolt';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openedByText, type Incident } from '../incident/model.js';
import type { IncidentStore } from '../incident/store.js';
import type { Logger } from '../log.js';
import { newIncidentId, type IncidentEngine } from '../playbook/engine.js';
import type { JobQueue } from '../queue/bullmq.js';
import { describeScope } from '../timeline/render.js';
import { APPROVE_ACTION, REJECT_ACTION, parseButtonValue, statusSummary } from './blocks.js';
import { HELP_TEXT, parseNetpolCommand } from './commands.js';
import { KEEP_ACTION, LIFT_ACTION, LIFT_NOW_ACTION, parseIncidentButton, parseStrongerButton, STRONGER_ACTION } from './contain-blocks.js';
import { checkNamespace, NAMESPACE_CHECK_MS } from './namespace-check.js';
import { DISMISS_ACTION, OPEN_INCIDENT_ACTION } from './anomaly-blocks.js';
import type { AnomalyDesk } from '../anomaly/desk.js';
import type { DriftDesk } from '../drift/desk.js';
import { DRIFT_ACCEPT_ACTION, DRIFT_OPEN_INCIDENT_ACTION, DRIFT_REVERT_ACTION } from './drift-blocks.js';
import { webhookRoutes } from './webhook-routes.js';
import { guardSlackRequests } from './request-limits.js';
import { answerUnknownAction, clickFailed, isKnownAction, unknownActionText, type ActionMatcher } from './unknown-action.js';
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

export interface SlackAppOptions {
  signingSecret: string;
  botToken: string;
  appToken?: string;
  apiUrl?: string;
  engine: IncidentEngine;
  store: IncidentStore;
  queue: JobQueue;
  protectedNamespaces: ReadonlySet<string>;
  /** Asked before `/netpol incident` is acknowledged, so an unknown namespace is refused at once. */
  namespaceExists?: (name: string) => Promise<boolean>;
  /** How long that question may take inside Slack's 3 s acknowledgement budget (default 1.5 s). */
  namespaceCheckMs?: number;
  /** Alerts and decisions on anomalies; absent when no alerts channel is configured. */
  desk?: AnomalyDesk;
  /** Drift alerts' buttons (Revert to Git, Accept until Git changes, Open incident). */
  driftDesk?: DriftDesk;
  /** The restore step's decisions (its buttons and `/netpol restore`); absent: they answer that restore is not available. */
  restore?: RestoreDecisions;
  /** Enables the Alertmanager / Falcosidekick webhooks, which must present this token. */
  webhookToken?: string;
  /** More HTTP routes next to /slack/events (the Kubernetes audit webhook); HTTP mode only. */
  extraRoutes?: CustomRoute[];
  /** The bot's identity from the start-up auth.test, so Bolt does not call auth.test itself (and cache a failure). */
  identity?: { botId: string; botUserId: string };
  /** Serves GET /readyz next to /healthz: resolves with a summary when ready, rejects with the reason. */
  readiness?: () => Promise<string>;
  /** Where Bolt (and its Socket Mode client) log, instead of the console. */
  boltLogger?: NonNullable<ConstructorParameters<typeof App>[0]>['logger'];
  logger: Logger;
  clock?: () => Date;
}

export interface SlackSurface {
  /** Starts listening (HTTP) or connecting (Socket Mode); resolves to the HTTP port, if any. */
  start(port: number, host: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

function incidentDetail(incident: Incident): string {
  const steps = incident.stepOrder.map((id) => `${id}: ${incident.steps[id]?.status ?? '?'}`).join(', ');
  return `*Incident \`${incident.id}\`* (${incident.status}) · ${describeScope(incident)} · opened ${incident.createdAt} by ${openedByText(incident)} in <#${incident.channel}> · steps: ${steps}`;
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
  const { engine, store, queue, logger } = options;
  const clock = options.clock ?? (() => new Date());
  const socketMode = Boolean(options.appToken);
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
          ...webhookRoutes(options),
          ...(options.extraRoutes ?? []),
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
  });

  // Every action id a listener is registered for; any other click is answered by the catch-all below.
  const knownActions: ActionMatcher[] = [];
  const track = <T extends ActionMatcher>(matcher: T): T => {
    knownActions.push(matcher);
    return matcher;
  };

  app.command('/netpol', async ({ command, ack, respond }) => {
    const parsed = parseNetpolCommand(command.text ?? '');
    const log = logger.child({ user: command.user_id, command: parsed.kind });
    switch (parsed.kind) {
      case 'help':
        await ack({ response_type: 'ephemeral', text: HELP_TEXT });
        return;
      case 'invalid':
        log.info('refused a malformed /netpol command');
        await ack({ response_type: 'ephemeral', text: parsed.message });
        return;
      case 'incident': {
        if (options.protectedNamespaces.has(parsed.namespace)) {
          log.warn({ namespace: parsed.namespace }, 'refused to contain a protected namespace');
          await ack({
            response_type: 'ephemeral',
            text: `\`${parsed.namespace}\` is a protected namespace: the bot never contains it (see the playbook's protectedNamespaces). No incident was opened.`,
          });
          return;
        }
        const known = options.namespaceExists
          ? await checkNamespace(options.namespaceExists, parsed.namespace, options.namespaceCheckMs ?? NAMESPACE_CHECK_MS)
          : ({ state: 'unknown', reason: 'the web role has no cluster access' } as const);
        if (known.state === 'missing') {
          log.info({ namespace: parsed.namespace }, 'refused an incident for an unknown namespace');
          await ack({ response_type: 'ephemeral', text: `Namespace \`${parsed.namespace}\` does not exist in the cluster. No incident was opened.` });
          return;
        }
        const id = newIncidentId(clock());
        const scope = parsed.selector ? `pods matching \`${parsed.selector}\` in \`${parsed.namespace}\`` : `namespace \`${parsed.namespace}\``;
        // Only a namespace seen to exist is "opening"; otherwise the job checks again and answers through the response_url.
        const text =
          known.state === 'exists'
            ? `Opening incident \`${id}\` for ${scope}: gathering evidence…`
            : `Checking namespace \`${parsed.namespace}\`… (${known.reason}). If it exists, incident \`${id}\` opens for ${scope}; if not, you will be told here.`;
        await ack({ response_type: 'ephemeral', text });
        await queue.enqueue({
          name: 'open',
          data: {
            request: {
              id,
              scope: { namespace: parsed.namespace, selector: parsed.selector, labelSelector: parsed.labelSelector },
              reason: parsed.reason,
              requestedBy: command.user_id,
              channel: command.channel_id,
            },
            responseUrl: command.response_url,
          },
        });
        logger.child({ incident: id }).info({ user: command.user_id }, 'incident requested');
        return;
      }
      case 'status': {
        await ack();
        if (parsed.incidentId) {
          const incident = await store.get(parsed.incidentId);
          await respond({ response_type: 'ephemeral', text: incident ? incidentDetail(incident) : `No incident with id \`${parsed.incidentId}\`.` });
        } else {
          await respond({ response_type: 'ephemeral', text: statusSummary(await store.list(10), engine.playbook) });
        }
        return;
      }
      case 'export': {
        await ack({ response_type: 'ephemeral', text: `Exporting the postmortem timeline of \`${parsed.incidentId}\` (${parsed.format}) to its thread…` });
        await queue.enqueue({
          name: 'export',
          data: {
            incidentId: parsed.incidentId,
            format: parsed.format,
            userId: command.user_id,
            channel: command.channel_id,
            responseUrl: command.response_url,
            requestId: command.trigger_id.replace(/[^A-Za-z0-9]/g, '').slice(0, 64) || String(clock().getTime()),
          },
        });
        return;
      }
      case 'restore': {
        if (!options.restore) {
          await ack({ response_type: 'ephemeral', text: 'Restore is not available here (no restore runner). Nothing changed.' });
          return;
        }
        // Resolving a revision may take longer than Slack's acknowledgement budget: answer after.
        await ack();
        const result = await options.restore.chooseRevision(parsed.incidentId, command.user_id, parsed.revision);
        log.info({ incident: parsed.incidentId, ok: result.ok }, 'restore revision typed');
        await respond({ response_type: 'ephemeral', text: result.message });
        return;
      }
    }
  });

  for (const [actionId, decision] of [
    [APPROVE_ACTION, 'approve'],
    [REJECT_ACTION, 'reject'],
  ] as const) {
    app.action(track(actionId), async ({ ack, body, action, respond }) => {
      await ack();
      const value = parseButtonValue('value' in action ? (action.value as string | undefined) : undefined);
      if (!value) {
        await respond({ response_type: 'ephemeral', replace_original: false, text: 'That button is not one of ours (malformed value). Nothing changed.' });
        return;
      }
      // A value naming a step this playbook lacks or an incident that is gone is a stale button, not an error.
      const known = engine.playbook.steps.some((s) => s.id === value.stepId);
      const result = known
        ? await engine.decide({ ...value, userId: body.user.id, decision }).catch((error: unknown) => clickFailed(error, logger, value.incidentId))
        : { ok: false, message: unknownActionText(value.incidentId) };
      if (!result.ok) await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
    });
  }

  for (const [actionId, act] of [
    [LIFT_ACTION, (id: string, user: string) => engine.containment.decideLift(id, user)],
    [KEEP_ACTION, (id: string, user: string) => engine.containment.keep(id, user)],
    [LIFT_NOW_ACTION, (id: string, user: string) => engine.containment.liftNow(id, user)],
  ] as const) {
    app.action(track(actionId), async ({ ack, body, action, respond }) => {
      await ack();
      const incidentId = parseIncidentButton('value' in action ? action.value : undefined);
      const result = incidentId
        ? await act(incidentId, body.user.id).catch((error: unknown) => clickFailed(error, logger, incidentId))
        : { ok: false, message: 'That button is not one of ours (malformed value). Nothing changed.' };
      await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
    });
  }

  // One action id per offered strategy (Slack wants them unique in a block): match the prefix.
  app.action(track(new RegExp(`^${STRONGER_ACTION}\\.`)), async ({ ack, body, action, respond }) => {
    await ack();
    const choice = parseStrongerButton('value' in action ? action.value : undefined);
    const result = choice
      ? await engine.containStronger(choice.incidentId, body.user.id, choice.strategy).catch((error: unknown) => clickFailed(error, logger, choice.incidentId))
      : { ok: false, message: 'That button is not one of ours (malformed value). Nothing changed.' };
    await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
  });

  // Each restore control carries incident, plan and step, so the runner refuses a stale click.
  const { restore } = options;
  const noRestore = { ok: false, message: 'Restore is not available here (no restore runner). Nothing changed.' };
  const notOurs = { ok: false, message: 'That button is not one of ours (malformed value). Nothing changed.' };
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
      const result = !button ? notOurs : restore ? await act(restore, body.user.id, button).catch((error: unknown) => clickFailed(error, logger, button.incidentId)) : noRestore;
      await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
    });
  }
  app.action(track(RESTORE_RECONTAIN_ACTION), async ({ ack, body, action, respond }) => {
    await ack();
    const incidentId = parseIncidentButton('value' in action ? action.value : undefined);
    const result = !incidentId ? notOurs : restore ? await restore.containAgain(incidentId, body.user.id).catch((error: unknown) => clickFailed(error, logger, incidentId)) : noRestore;
    await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
  });
  // One action id per source option (unique in the message): match the prefix.
  app.action(track(new RegExp(`^${RESTORE_SOURCE_ACTION}\\.`)), async ({ ack, body, action, respond }) => {
    await ack();
    const choice = parseSourceButton('value' in action ? action.value : undefined);
    const result = !choice
      ? notOurs
      : restore
        ? await restore.chooseSource(choice.incidentId, body.user.id, choice.index).catch((error: unknown) => clickFailed(error, logger, choice.incidentId))
        : noRestore;
    await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
  });

  const { desk } = options;
  if (desk) {
    for (const [actionId, act] of [
      [OPEN_INCIDENT_ACTION, (id: string, user: string) => desk.openIncident(id, user)],
      [DISMISS_ACTION, (id: string, user: string) => desk.dismiss(id, user)],
    ] as const) {
      app.action(track(actionId), async ({ ack, body, action, respond }) => {
        await ack();
        const anomalyId = 'value' in action && typeof action.value === 'string' && action.value.length <= 300 ? action.value : undefined;
        const result = anomalyId ? await act(anomalyId, body.user.id).catch((error: unknown) => clickFailed(error, logger)) : { ok: false, message: 'That button is not one of ours (malformed value). Nothing changed.' };
        await respond({ response_type: 'ephemeral', replace_original: false, text: result.message });
      });
    }
  }

  const { driftDesk } = options;
  if (driftDesk) {
    for (const [actionId, act] of [
      [DRIFT_REVERT_ACTION, (id: string, user: string) => driftDesk.revert(id, user)],
      [DRIFT_ACCEPT_ACTION, (id: string, user: string) => driftDesk.accept(id, user)],
      [DRIFT_OPEN_INCIDENT_ACTION, (id: string, user: string) => driftDesk.openIncident(id, user)],
    ] as const) {
      app.action(track(actionId), async ({ ack, body, action, respond }) => {
        await ack();
        const episodeId = 'value' in action && typeof action.value === 'string' && /^[A-Za-z0-9._-]{1,80}$/.test(action.value) ? action.value : undefined;
        const result = episodeId ? await act(episodeId, body.user.id).catch((error: unknown) => clickFailed(error, logger)) : { ok: false, message: 'That button is not one of ours (malformed value). Nothing changed.' };
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
