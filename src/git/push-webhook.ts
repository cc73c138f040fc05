// POST /webhooks/git: GitHub and GitLab push webhooks, so a push to a policy repository is
// re-evaluated in seconds instead of at the next fetch. The decision is pure
// (push-webhook-decision.ts); this is the HTTP side: read the body within the limit, answer, and
// hand a matched push to onPush. Neither the secret nor the body is ever logged.
//
// Answers: 202 a push handed on; 200 a ping, or a delivery ignored with the reason (another
// branch, a repository not configured, not a push); 401 a missing or wrong signature or token;
// 400 a payload that is not a push event; 413 over the limit; 415 a content type other than
// JSON (or GitHub's form); 500 when onPush failed. Neither GitHub nor GitLab sends a delivery
// again by itself (GitHub's "Redeliver" is manual; GitLab pauses a hook that keeps failing), so
// the periodic fetch stays the safety net.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { readLimitedBody } from '../limited-body.js';
import {
  decideGitWebhook,
  DEFAULT_GIT_WEBHOOK_MAX_BODY_BYTES,
  headerOf,
  providerOf,
  refuseBeforeBody,
  type GitPush,
  type GitWebhookDecision,
  type GitWebhookRules,
} from './push-webhook-decision.js';

export { DEFAULT_GIT_WEBHOOK_MAX_BODY_BYTES, type GitPush, type GitPushProvider } from './push-webhook-decision.js';

export const GIT_WEBHOOK_PATH = '/webhooks/git';
/** GitHub and GitLab give up on a delivery after 10 s: answer before, so the failure is ours to name. */
export const DEFAULT_PUSH_DEADLINE_MS = 8000;
/**
 * After a 413 the rest of the body is read and dropped up to this much, so the sender gets to
 * read the answer rather than a reset connection (GitHub caps payloads at 25 MB); past it the
 * connection is cut.
 */
const DRAIN_AFTER_413_BYTES = 32 * 1024 * 1024;

export interface GitWebhookOptions {
  secret: string;
  /** The configured repositories (GitRepositoryConfig): only name, url and branch are used. */
  repositories: GitWebhookRules['repositories'];
  maxBodyBytes?: number;
  /** Called once per configured repository the push is for, and awaited before the answer. */
  onPush(push: GitPush): Promise<void>;
  logger: Logger;
  /** onPush taking longer is answered with 500. */
  pushDeadlineMs?: number;
}

/** Drops what still arrives after a refusal, and cuts a sender that goes on past `bound` bytes. */
function drain(req: IncomingMessage, bound: number): void {
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > bound) req.destroy();
  });
  req.resume();
}

function answer(res: ServerResponse, status: number, payload: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ok: status < 300, ...payload }));
}

/** The delivery id, for the logs, when it looks like one. */
function deliveryOf(req: IncomingMessage): string | undefined {
  const id = headerOf(req.headers, 'x-github-delivery') ?? headerOf(req.headers, 'x-gitlab-event-uuid');
  return id !== undefined && /^[A-Za-z0-9-]{1,64}$/.test(id) ? id : undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function refusalLog(logger: Logger, decision: Extract<GitWebhookDecision, { action: 'refuse' }>, context: Record<string, unknown>): void {
  const what = decision.status === 401 ? 'git webhook: refused, not authenticated' : 'git webhook: delivery refused';
  logger.warn({ ...context, provider: decision.provider, status: decision.status, reason: decision.error }, what);
}

export async function handleGitWebhook(req: IncomingMessage, res: ServerResponse, options: GitWebhookOptions): Promise<void> {
  const { logger } = options;
  const limit = options.maxBodyBytes ?? DEFAULT_GIT_WEBHOOK_MAX_BODY_BYTES;
  const context = { source: 'git-webhook', remote: req.socket.remoteAddress, delivery: deliveryOf(req) };
  const early = refuseBeforeBody(req.headers, options.secret);
  if (early) {
    // An unauthenticated sender is read no further than an accepted body would be.
    drain(req, limit);
    refusalLog(logger, early, context);
    answer(res, early.status, { error: early.error });
    return;
  }
  const read = await readLimitedBody(req, limit);
  if (!read.ok) {
    if (read.reason === 'aborted') {
      logger.warn(context, 'git webhook: the sender went away before the body was complete');
      return;
    }
    drain(req, DRAIN_AFTER_413_BYTES);
    logger.warn({ ...context, provider: providerOf(req.headers), size: read.size, limit }, 'git webhook: body over the size limit refused');
    answer(res, 413, { error: `body larger than ${limit} bytes` });
    return;
  }
  const decision = decideGitWebhook({ headers: req.headers, body: read.body }, { secret: options.secret, repositories: options.repositories, maxBodyBytes: limit });
  switch (decision.action) {
    case 'refuse':
      refusalLog(logger, decision, context);
      answer(res, decision.status, { error: decision.error });
      return;
    case 'ping':
      logger.info({ ...context, provider: decision.provider }, 'git webhook: ping');
      answer(res, 200, { event: 'ping' });
      return;
    case 'ignore':
      logger.info({ ...context, provider: decision.provider, reason: decision.reason }, 'git webhook: delivery ignored');
      answer(res, 200, { ignored: decision.reason });
      return;
    case 'push':
      break;
  }
  const deadline = options.pushDeadlineMs ?? DEFAULT_PUSH_DEADLINE_MS;
  const outcomes = await Promise.allSettled(decision.pushes.map((push) => withTimeout(options.onPush(push), deadline)));
  const failed = decision.pushes.filter((_, i) => outcomes[i]?.status === 'rejected').map((push) => push.repository);
  outcomes.forEach((outcome, i) => {
    const push = decision.pushes[i] as GitPush;
    if (outcome.status === 'rejected') logger.error({ ...context, err: outcome.reason, ...push }, 'git webhook: handling the push failed');
    else logger.info({ ...context, ...push }, 'git webhook: push received');
  });
  if (failed.length > 0) {
    answer(res, 500, { error: `could not handle the push for ${failed.join(', ')}; the next fetch will pick it up` });
    return;
  }
  answer(res, 202, { accepted: decision.pushes.map(({ repository, branch, commit }) => ({ repository, branch, commit })) });
}

/** The route for Bolt's HTTPReceiver customRoutes (createSlackApp's extraRoutes). */
export function gitWebhookRoute(options: GitWebhookOptions) {
  if (!options.secret) throw new Error('the git webhook needs a secret (NETPOL_GIT_WEBHOOK_SECRET)');
  return {
    path: GIT_WEBHOOK_PATH,
    method: ['POST'],
    handler: (req: IncomingMessage, res: ServerResponse) => {
      handleGitWebhook(req, res, options).catch((error: unknown) => {
        options.logger.error({ err: error, source: 'git-webhook' }, 'git webhook failed');
        if (!res.headersSent) answer(res, 500, { error: 'internal error' });
      });
    },
  };
}
