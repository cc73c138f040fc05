// The Slack front (web role): one receiver for every cluster served, routing each request (slash
// commands, buttons, webhooks) to its cluster.
import type { Config } from '../config/schema.js';
import { gitWebhookRoute } from '../git/push-webhook.js';
import { untilAborted } from '../lifecycle/backoff.js';
import { appTokenError, slackClientLogger } from '../lifecycle/slack-auth.js';
import type { Logger } from '../log.js';
import { createSlackApp } from '../slack/app.js';
import { clusterOfRequest, ClusterRoutes } from '../slack/cluster-routes.js';
import type { CustomRoute } from '@slack/bolt';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GitPush } from '../git/push-webhook.js';
import { WebhookRateLimiter } from '../webhook-rate-limit.js';
import { portInUse } from '../lifecycle/startup-error.js';
import { intakeBudget, type ClusterRuntime, type RoleContext } from './cluster-roles.js';

/** The Slack front (web role): one receiver for every cluster served, routing each request to its cluster. */
export async function startWebFront(ctx: Omit<RoleContext, 'cluster'>, runtimes: ClusterRuntime[]): Promise<number | undefined> {
  const { options, logger, redis, identity, readiness, resources } = ctx;
  const { config } = options;
  const prefix = config.redis.keyPrefix;
  const { approvers } = runtimes[0]!;
  const web = createSlackApp({
    signingSecret: config.secrets.slackSigningSecret,
    botToken: config.secrets.slackBotToken,
    appToken: config.secrets.slackAppToken,
    apiUrl: config.slack.apiUrl,
    identity,
    readiness: () => readiness.check(),
    boltLogger: slackClientLogger(logger.child({ role: 'web' })),
    clusters: new ClusterRoutes(runtimes.map((r) => r.front)),
    approvers,
    webhookToken: config.secrets.webhookToken,
    webhookLimiter: new WebhookRateLimiter({ redis, keyPrefix: prefix, logger: logger.child({ role: 'web' }) }),
    extraRoutes: [...clusterRoutes(runtimes, 'audit'), ...gitPushRoutes(config, runtimes, logger)],
    logger: logger.child({ role: 'web' }),
  });
  const wanted = options.port ?? config.slack.port;
  const port = await untilAborted(web.start(wanted, config.slack.host), options.signal).catch(async (error: unknown) => {
    await web.stop().catch(() => undefined);
    throw config.secrets.slackAppToken ? appTokenError(error) : portInUse(error, 'slack.port', wanted, config.slack.host);
  });
  resources.add('slack receiver', () => web.stop(), intakeBudget);
  return port;
}

/**
 * A route every cluster serves (the audit webhook): the one cluster's as it is; with several, one
 * route that hands each request to the cluster its `?cluster=<name>` names.
 */
function clusterRoutes(runtimes: ClusterRuntime[], which: 'audit'): CustomRoute[] {
  const routes = runtimes.flatMap((r) => (r[which] ? [{ name: r.name, route: r[which] }] : []));
  if (routes.length === 0) return [];
  if (runtimes.length === 1) return [routes[0]!.route];
  const byName = new Map(routes.map((r) => [r.name, r.route]));
  const names = runtimes.flatMap((r) => (r.name ? [r.name] : []));
  return [
    {
      ...routes[0]!.route,
      handler: (req: IncomingMessage, res: ServerResponse) => {
        const picked = clusterOfRequest(req.url, names);
        const route = 'error' in picked ? undefined : byName.get(picked.name);
        if (!route) {
          const error = 'error' in picked ? picked.error : `cluster "${picked.name}" does not take this webhook (its token is not configured)`;
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error }));
          return;
        }
        return route.handler(req as never, res as never);
      },
    },
  ];
}

/** The Git push webhook: one route for every repository of every cluster; a push wakes each cluster that follows it. */
function gitPushRoutes(config: Config, runtimes: ClusterRuntime[], logger: Logger): CustomRoute[] {
  const following = runtimes.flatMap((r) => (r.gitPush ? [r.gitPush] : []));
  if (!config.secrets.gitWebhookSecret || following.length === 0) return [];
  const repositories = [...new Map(following.flatMap((f) => f.repositories).map((repo) => [`${repo.name}\n${repo.url}\n${repo.branch}`, repo])).values()];
  const onPush = async (push: GitPush): Promise<void> => {
    await Promise.all(following.filter((f) => f.repositories.some((repo) => repo.name === push.repository)).map((f) => f.onPush(push)));
  };
  return [gitWebhookRoute({ secret: config.secrets.gitWebhookSecret, repositories, onPush, logger: logger.child({ role: 'web' }) })];
}
