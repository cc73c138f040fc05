// HTTP routes next to the Slack endpoint for anomalies raised by other detectors: Alertmanager
// and Falcosidekick post here with the shared token; each firing alert becomes an anomaly.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clusterOfRequest, type ClusterRoutes } from './cluster-routes.js';
import type { AnomalyDesk } from '../anomaly/desk.js';
import { handleAlertmanagerWebhook, handleFalcosidekickWebhook, type WebhookRequest, type WebhookResult } from '../flows/sources/webhooks.js';
import type { Logger } from '../log.js';

const MAX_BODY_BYTES = 1024 * 1024;

/** Reads at most one byte past the limit, so the handler can answer 413 without buffering more. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > MAX_BODY_BYTES) return;
      size += chunk.length;
      chunks.push(chunk);
      if (size > MAX_BODY_BYTES) resolve(Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES + 1).toString('utf8'));
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

type Handler = (request: WebhookRequest, token: string, now: number) => WebhookResult;

/**
 * The desk a webhook's anomalies go to: the one cluster's, or, when the bot serves several, the one
 * the route's `?cluster=<name>` names (each cluster's Alertmanager gets its own URL).
 */
export function deskForRequest(req: IncomingMessage, clusters: ClusterRoutes): { desk: AnomalyDesk } | { error: string } {
  const picked = clusterOfRequest(req.url, clusters.names);
  if ('error' in picked) return picked;
  const front = picked.name === undefined ? clusters.fronts[0]! : clusters.fronts.find((f) => f.name === picked.name)!;
  if (front.desk) return { desk: front.desk };
  return { error: front.name && clusters.fronts.length > 1 ? `cluster "${front.name}" has no alerts channel configured` : 'no alerts channel is configured' };
}

export function webhookRoutes(options: { clusters: ClusterRoutes; webhookToken?: string; logger: Logger }) {
  const { clusters, webhookToken, logger } = options;
  if (!clusters.fronts.some((f) => f.desk) || !webhookToken) return [];
  const route = (path: string, source: string, handle: Handler) => ({
    path,
    method: ['POST'],
    handler: async (req: IncomingMessage, res: ServerResponse) => {
      try {
        const result = handle({ headers: req.headers, body: await readBody(req) }, webhookToken, Date.now());
        const target = result.status === 200 ? deskForRequest(req, clusters) : undefined;
        if (target && 'error' in target) {
          logger.warn({ source, error: target.error }, 'webhook refused');
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: target.error }));
          return;
        }
        if (target) for (const anomaly of result.anomalies) await target.desk.raise(anomaly);
        if (result.status !== 200) logger.warn({ source, status: result.status, error: result.error }, 'webhook refused');
        res.writeHead(result.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: result.status === 200, anomalies: result.anomalies.length, skipped: result.skipped, ...(result.error ? { error: result.error } : {}) }));
      } catch (error) {
        logger.error({ err: error, source }, 'webhook failed');
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"ok":false,"error":"internal error"}');
      }
    },
  });
  return [route('/webhooks/alertmanager', 'alertmanager', handleAlertmanagerWebhook), route('/webhooks/falcosidekick', 'falcosidekick', handleFalcosidekickWebhook)];
}
