// `/netpol …`: help, incident, status, export and restore. Each is acknowledged within Slack's 3 s;
// work that takes longer goes to the job queue, and a command that queues work is accepted only
// while Redis answers: queued during an outage, it would run minutes later, after the user was told
// it had started (or had given up and retried). While the Redis heartbeat is fresh such a command is
// acknowledged at once and Redis is asked before its job is queued.
import type { AllMiddlewareArgs, RespondFn, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import { openedByText, type Incident } from '../incident/model.js';
import { newIncidentId } from '../playbook/engine.js';
import type { IncidentJob } from '../queue/jobs.js';
import { describeScope } from '../timeline/render.js';
import { statusSummary } from './blocks.js';
import { escapeMrkdwn } from './block-text.js';
import { printable } from '../printable.js';
import { answerInTime, readInTime, redisDownText } from './click-deadline.js';
import { HELP_TEXT, parseNetpolCommand } from './commands.js';
import { checkNamespace, NAMESPACE_CHECK_MS } from './namespace-check.js';
import type { SlackAppOptions } from './app.js';
import type { ClusterFront } from './cluster-routes.js';

export interface NetpolCommandDeps extends Pick<SlackAppOptions, 'clusters' | 'namespaceCheckMs' | 'logger'> {
  clock: () => Date;
  /** Asks Slack whether the user approves before a Redis budget starts. */
  approverFirst: (userId: string) => () => Promise<void>;
}

function incidentDetail(incident: Incident): string {
  const steps = incident.stepOrder.map((id) => `${id}: ${incident.steps[id]?.status ?? '?'}`).join(', ');
  return `*Incident \`${incident.id}\`* (${incident.status}) · ${describeScope(incident)} · opened ${incident.createdAt} by ${openedByText(incident)} in <#${incident.channel}> · steps: ${steps}`;
}

export function netpolCommand(deps: NetpolCommandDeps): (args: SlackCommandMiddlewareArgs & AllMiddlewareArgs) => Promise<void> {
  const { clusters, logger, clock, approverFirst } = deps;
  // Commands that arrive together share one PING: fifty at once are one round trip, not fifty
  // writes waking Redis in turn; each still waits for Redis to answer.
  const pings = new Map<ClusterFront, Promise<boolean>>();
  const pingInTime = (front: ClusterFront): Promise<boolean> => {
    let asked = pings.get(front);
    if (!asked) {
      asked = readInTime(front.queue.ping())
        .then((read) => read !== undefined, () => false)
        .finally(() => pings.delete(front));
      pings.set(front, asked);
    }
    return asked;
  };
  /**
   * Whether a command that queues work may be accepted: 'now' when Redis answered a PING for it,
   * 'lately' when the heartbeat says Redis has been answering (no round trip before the
   * acknowledgement: Redis is asked again before the job is queued), 'no' when it did not answer in time.
   */
  const redisAnswers = async (front: ClusterFront): Promise<'now' | 'lately' | 'no'> => {
    if (front.redisHeartbeat?.fresh) return 'lately';
    return (await pingInTime(front)) ? 'now' : 'no';
  };
  /**
   * Queues a command's work after its acknowledgement. Accepted on the heartbeat, the job is queued
   * only if Redis answers a PING in time: queued during an outage, it would run once Redis is
   * back, after the user gave up. Otherwise the user is told, through the response URL, that
   * `notDone` (and nothing is queued). A queueing that fails is told too: `unsure`, as a failed
   * write may still have landed. Resolves whether the job was queued.
   */
  const queueAfterAck = async (front: ClusterFront, redis: 'now' | 'lately', job: IncidentJob, respond: RespondFn, told: { notDone: string; unsure: string }, log: () => Logger): Promise<boolean> => {
    if (redis === 'lately' && !(await pingInTime(front))) {
      log().warn('an acknowledged command was not queued: Redis did not answer in time');
      await respond({ response_type: 'ephemeral', text: redisDownText(told.notDone) });
      return false;
    }
    try {
      await front.queue.enqueue(job);
      return true;
    } catch (error) {
      log().error({ err: error }, 'an acknowledged command could not be queued');
      await respond({ response_type: 'ephemeral', text: `Queueing it failed (${escapeMrkdwn(printable((error as Error).message ?? String(error), 300))}). ${told.unsure}.` });
      return false;
    }
  };
  const noSuchIncident = (id: string): string => `No incident with id \`${id}\`.`;
  /** The most recent incidents of every cluster served. */
  const recentIncidents = async (limit: number): Promise<Incident[]> => {
    const lists = await Promise.all(clusters.fronts.map((front) => front.store.list(limit)));
    return lists.flat().sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, limit);
  };

  return async ({ command, ack, respond }) => {
    const parsed = parseNetpolCommand(command.text ?? '');
    // Made only when something is logged: a child logger runs the redaction over its bindings.
    const log = (): Logger => logger.child({ user: command.user_id, command: parsed.kind });
    switch (parsed.kind) {
      case 'help':
        await ack({ response_type: 'ephemeral', text: HELP_TEXT });
        return;
      case 'invalid':
        log().info('refused a malformed /netpol command');
        await ack({ response_type: 'ephemeral', text: parsed.message });
        return;
      case 'incident': {
        const route = clusters.forScope(parsed.cluster);
        if (!route.ok) {
          log().info({ cluster: parsed.cluster }, 'refused an incident: no such cluster here');
          await ack({ response_type: 'ephemeral', text: route.message });
          return;
        }
        const { front } = route;
        if (front.protectedNamespaces.has(parsed.namespace)) {
          log().warn({ namespace: parsed.namespace }, 'refused to contain a protected namespace');
          await ack({
            response_type: 'ephemeral',
            text: `\`${parsed.namespace}\` is a protected namespace: the bot never contains it (see the playbook's protectedNamespaces). No incident was opened.`,
          });
          return;
        }
        // Asked together, so the answer still comes within Slack's 3 s.
        const [known, redis] = await Promise.all([
          front.namespaceExists
            ? checkNamespace(front.namespaceExists, parsed.namespace, deps.namespaceCheckMs ?? NAMESPACE_CHECK_MS)
            : Promise.resolve({ state: 'unknown', reason: 'the web role has no cluster access' } as const),
          redisAnswers(front),
        ]);
        if (redis === 'no') {
          log().warn({ namespace: parsed.namespace }, 'refused an incident: Redis did not answer in time');
          await ack({ response_type: 'ephemeral', text: redisDownText('No incident was opened') });
          return;
        }
        if (known.state === 'missing') {
          log().info({ namespace: parsed.namespace }, 'refused an incident for an unknown namespace');
          await ack({ response_type: 'ephemeral', text: `Namespace \`${parsed.namespace}\` does not exist in ${front.name ? `cluster \`${front.name}\`` : 'the cluster'}. No incident was opened.` });
          return;
        }
        const id = newIncidentId(clock(), front.name);
        const scope = (parsed.selector ? `pods matching \`${parsed.selector}\` in \`${parsed.namespace}\`` : `namespace \`${parsed.namespace}\``) + (front.name ? ` of cluster \`${front.name}\`` : '');
        // Only a namespace seen to exist is "opening"; otherwise the job checks again and answers through the response_url.
        const text =
          known.state === 'exists'
            ? `Opening incident \`${id}\` for ${scope}: gathering evidence…`
            : `Checking namespace \`${parsed.namespace}\`… (${known.reason}). If it exists, incident \`${id}\` opens for ${scope}; if not, you will be told here.`;
        await ack({ response_type: 'ephemeral', text });
        const job: IncidentJob = {
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
        };
        const told = { notDone: `Incident \`${id}\` was not opened`, unsure: `Incident \`${id}\` may not have been opened: \`/netpol status ${id}\` tells` };
        if (await queueAfterAck(front, redis, job, respond, told, log)) logger.info({ incident: id, user: command.user_id }, 'incident requested');
        return;
      }
      case 'status': {
        await ack();
        const unreachable = redisDownText('Its incidents could not be read');
        if (parsed.incidentId) {
          const front = clusters.forIncident(parsed.incidentId);
          const read = front ? await readInTime(front.store.get(parsed.incidentId)) : { value: undefined };
          await respond({ response_type: 'ephemeral', text: !read ? unreachable : read.value ? incidentDetail(read.value) : noSuchIncident(parsed.incidentId) });
        } else {
          const read = await readInTime(recentIncidents(10));
          await respond({ response_type: 'ephemeral', text: read ? statusSummary(read.value, clusters.fronts[0]!.engine.playbook) : unreachable });
        }
        return;
      }
      case 'export': {
        const front = clusters.forIncident(parsed.incidentId);
        if (!front) {
          await ack({ response_type: 'ephemeral', text: `${noSuchIncident(parsed.incidentId)} Nothing was exported.` });
          return;
        }
        const redis = await redisAnswers(front);
        if (redis === 'no') {
          log().warn({ incident: parsed.incidentId }, 'refused an export: Redis did not answer in time');
          await ack({ response_type: 'ephemeral', text: redisDownText('Nothing was exported') });
          return;
        }
        await ack({ response_type: 'ephemeral', text: `Exporting the postmortem timeline of \`${parsed.incidentId}\` (${parsed.format}) to its thread…` });
        const job: IncidentJob = {
          name: 'export',
          data: {
            incidentId: parsed.incidentId,
            format: parsed.format,
            userId: command.user_id,
            channel: command.channel_id,
            responseUrl: command.response_url,
            requestId: command.trigger_id.replace(/[^A-Za-z0-9]/g, '').slice(0, 64) || String(clock().getTime()),
          },
        };
        await queueAfterAck(front, redis, job, respond, { notDone: 'Nothing was exported', unsure: 'The export may not have started: if nothing is posted in its thread within a minute, try again' }, log);
        return;
      }
      case 'restore': {
        const front = clusters.forIncident(parsed.incidentId);
        if (!front) {
          await ack({ response_type: 'ephemeral', text: `${noSuchIncident(parsed.incidentId)} Nothing changed.` });
          return;
        }
        if (!front.restore) {
          await ack({ response_type: 'ephemeral', text: 'Restore is not available here (no restore runner). Nothing changed.' });
          return;
        }
        // Resolving a revision may take longer than Slack's acknowledgement budget: answer after.
        await ack();
        const { restore } = front;
        const result = await answerInTime('choice', () => restore.chooseRevision(parsed.incidentId, command.user_id, parsed.revision), { logger, before: approverFirst(command.user_id), incidentId: parsed.incidentId });
        log().info({ incident: parsed.incidentId, ok: result.ok }, 'restore revision typed');
        await respond({ response_type: 'ephemeral', text: result.message });
        return;
      }
    }
  };
}
