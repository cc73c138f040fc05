// POST /webhooks/k8s-audit: kube-apiserver's audit webhook backend (--audit-webhook-config-file)
// posts batches of events here as an audit.k8s.io EventList, with the bearer token of its
// kubeconfig. The answers follow what the apiserver does with them: it retries a batch only on a
// connection reset, 500, 504, 429 or a Retry-After, and drops it on any other error. So a batch
// that cannot be stored (Redis down) gets 500, to come again; a bad token (401), a body that is
// not an EventList (400) or one over the size limit (413) are refused for good, since sending it
// again cannot help, and the apiserver logs the refusal. Events of an unknown apiVersion inside a
// valid list are counted and skipped (200): the rest of the batch is still evidence.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkWebhookToken } from '../flows/sources/webhooks.js';
import type { Logger } from '../log.js';
import { withDeadline } from '../redis/deadline.js';
import { parseEventList, type AuditParseOptions } from './parse.js';
import type { AuditStore } from './store.js';

export const AUDIT_WEBHOOK_PATH = '/webhooks/k8s-audit';
/** Inside the apiserver's 30 s request timeout, so a slow Redis is answered with 500 (retried). */
const STORE_DEADLINE_MS = 10_000;

export interface AuditWebhookOptions {
  token: string;
  store: AuditStore;
  maxBodyBytes: number;
  parse?: AuditParseOptions;
  logger: Logger;
}

type Body = { ok: true; body: string } | { ok: false; size: number };

/** The body, or the size seen when it passed the limit (the rest is discarded as it arrives). */
function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      resolve({ ok: false, size: declared });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (over) return;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve({ ok: false, size });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve({ ok: true, body: Buffer.concat(chunks).toString('utf8') });
    });
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, payload: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ok: status === 200, ...payload }));
}

export async function handleAuditWebhook(req: IncomingMessage, res: ServerResponse, options: AuditWebhookOptions): Promise<void> {
  const { logger } = options;
  // The token is checked before a byte of the body is read.
  if (!checkWebhookToken(req.headers, options.token)) {
    req.resume();
    logger.warn({ source: 'k8s-audit', remote: req.socket.remoteAddress }, 'audit webhook: missing or wrong token');
    answer(res, 401, { error: 'missing or wrong webhook token' });
    return;
  }
  const read = await readBody(req, options.maxBodyBytes);
  if (!read.ok) {
    logger.warn({ source: 'k8s-audit', size: read.size, limit: options.maxBodyBytes }, 'audit webhook: batch over the size limit refused');
    answer(res, 413, { error: `body larger than ${options.maxBodyBytes} bytes: lower --audit-webhook-batch-max-size or raise audit.webhook.maxBodyBytes` });
    return;
  }
  const parsed = parseEventList(read.body, options.parse);
  if (!parsed.ok) {
    logger.warn({ source: 'k8s-audit', error: parsed.error }, 'audit webhook: body refused');
    answer(res, 400, { error: parsed.error });
    return;
  }
  if (parsed.unknownVersions.length > 0) logger.warn({ source: 'k8s-audit', versions: parsed.unknownVersions }, 'audit webhook: events of an unknown apiVersion skipped');
  try {
    const outcome = await withDeadline(options.store.save(parsed.changes), STORE_DEADLINE_MS);
    if (parsed.changes.length > 0) logger.info({ source: 'k8s-audit', items: parsed.items, ...outcome }, 'audit webhook: changes received');
    answer(res, 200, { items: parsed.items, changes: parsed.changes.length, ...outcome, skipped: parsed.skipped });
  } catch (error) {
    logger.error({ err: error, source: 'k8s-audit' }, 'audit webhook: storing failed; the apiserver will send the batch again');
    answer(res, 500, { error: 'could not store the events; retry' });
  }
}

/** The route for Bolt's HTTPReceiver customRoutes. */
export function auditWebhookRoute(options: AuditWebhookOptions) {
  return {
    path: AUDIT_WEBHOOK_PATH,
    method: ['POST'],
    handler: (req: IncomingMessage, res: ServerResponse) => {
      handleAuditWebhook(req, res, options).catch((error: unknown) => {
        options.logger.error({ err: error, source: 'k8s-audit' }, 'audit webhook failed');
        if (!res.headersSent) answer(res, 500, { error: 'internal error' });
      });
    },
  };
}
