// A request body read up to a size limit, shared by the HTTP routes that take bodies from the
// outside (Slack's endpoint, the Git push webhook): a declared Content-Length over the limit is
// refused before a byte is read, a streamed body as soon as it passes the limit.
import type { IncomingMessage } from 'node:http';

export type LimitedBody = { ok: true; body: Buffer } | { ok: false; reason: 'too-large'; size: number } | { ok: false; reason: 'aborted' };

/**
 * Reads a body of at most `limit` bytes. A declared Content-Length over the limit is refused
 * before a byte is read; a streamed (chunked) body as soon as it passes the limit, and what was
 * read of it is dropped. The caller answers and lets the connection close: the rest is never read.
 */
export function readLimitedBody(req: IncomingMessage, limit: number): Promise<LimitedBody> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (req.headers['content-length'] !== undefined && Number.isFinite(declared) && declared > limit) {
      resolve({ ok: false, reason: 'too-large', size: declared });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: LimitedBody) => {
      if (settled) return;
      settled = true;
      req.removeListener('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.pause();
        settle({ ok: false, reason: 'too-large', size });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => settle({ ok: true, body: Buffer.concat(chunks) }));
    req.on('close', () => settle({ ok: false, reason: 'aborted' }));
    req.on('error', (error) => (settled ? undefined : reject(error)));
  });
}
