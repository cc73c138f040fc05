// Checks on a request to the Slack endpoint that run before Bolt reads it: the timestamp must be
// within 5 minutes of now in either direction (Bolt's own check only refuses the past), and the
// body is capped before it is read. Bolt then verifies the signature (timing-safe) on the bytes
// read here: it skips its own unbounded read when the request already carries `rawBody`.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { readLimitedBody } from '../limited-body.js';
import type { Logger } from '../log.js';

/**
 * Slack's requests are small: a slash command is a form of about 1 KB, a block_actions payload
 * carries the whole message it came from (at most 50 blocks of at most 3,000 characters of text
 * each, so tens of KB with JSON and form encoding), and a view_submission its view's state.
 * 256 KiB leaves a margin of several times the largest of those, and keeps what one unsigned
 * request can make the bot hold in memory small.
 */
export const SLACK_MAX_BODY_BYTES = 256 * 1024;

/** Slack's rule: a request whose timestamp is more than 5 minutes from now, either way, is refused. */
export const SLACK_MAX_CLOCK_SKEW_SECONDS = 5 * 60;

/** How far the request's X-Slack-Request-Timestamp is from now, in seconds; undefined when absent or not a number. */
export function timestampSkewSeconds(req: IncomingMessage, nowMs: number): number | undefined {
  const header = req.headers['x-slack-request-timestamp'];
  if (typeof header !== 'string' || !/^\d{1,12}$/.test(header.trim())) return undefined;
  return Number(header.trim()) - Math.floor(nowMs / 1000);
}

export interface SlackRequestGuardOptions {
  /** The paths Bolt serves Slack's requests on (HTTPReceiver's endpoints). */
  endpoints: readonly string[];
  maxBodyBytes?: number;
  logger: Logger;
  now?: () => number;
}

/** Answers without reading what is left of the request, and closes the connection after the answer. */
function refuse(res: ServerResponse, status: 401 | 413 | 500): void {
  if (res.headersSent) return;
  res.writeHead(status, { connection: 'close', 'content-length': '0' });
  res.end();
}

/**
 * Wraps Bolt's request listener: a POST to a Slack endpoint is checked (timestamp, then size) and
 * read within the cap before Bolt sees it; every other request goes straight to Bolt, which throws
 * synchronously for a path it does not serve, as its server expects.
 */
export function guardSlackRequests(listener: RequestListener, options: SlackRequestGuardOptions): RequestListener {
  const limit = options.maxBodyBytes ?? SLACK_MAX_BODY_BYTES;
  const now = options.now ?? Date.now;
  const { logger } = options;
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method?.toUpperCase() !== 'POST' || !options.endpoints.includes(path)) {
      listener(req, res);
      return;
    }
    const skew = timestampSkewSeconds(req, now());
    // A missing or malformed timestamp is left to Bolt, which refuses it (or answers an unsigned ssl_check).
    if (skew !== undefined && Math.abs(skew) > SLACK_MAX_CLOCK_SKEW_SECONDS) {
      logger.warn({ skewSeconds: skew }, 'refused a Slack request: timestamp more than 5 minutes from now');
      refuse(res, 401);
      return;
    }
    readLimitedBody(req, limit).then(
      (read) => {
        if (!read.ok) {
          if (read.reason === 'too-large') {
            logger.warn({ size: read.size, limit }, 'refused a Slack request: body over the size limit');
            refuse(res, 413);
          }
          return;
        }
        // Bolt's bufferIncomingMessage keeps a request that already has its raw body.
        Object.assign(req, { rawBody: read.body });
        try {
          listener(req, res);
        } catch (error) {
          logger.error({ err: error }, 'the Slack request handler failed');
          refuse(res, 500);
        }
      },
      (error: unknown) => {
        logger.warn({ err: error }, 'could not read a Slack request');
        refuse(res, 500);
      },
    );
  };
}
