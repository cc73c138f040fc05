// Reading and decoding request bodies, with the apiserver's size limit. Nothing is parsed
// until the whole body is known to be under the limit.

import type { IncomingMessage } from 'node:http';
import { parseAllDocuments } from 'yaml';
import { decodeProtobufObject, PROTOBUF_MEDIA_TYPE } from './protobuf.js';
import { badRequest, failure } from './status.js';

/** The apiserver refuses request bodies over 3 MiB. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume(); // drain so the 413 can still be written on this connection
      reject(failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        reject(failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!tooLarge) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => reject(err));
  });
}

/**
 * Deepest nesting a body may have. The apiserver's JSON decoder stops at 10000; the simulator stops
 * at 1000 so its recursive merge and clone code stays well within the stack. No real object nests
 * anywhere near that.
 */
export const MAX_DEPTH = 1000;

/** Refuses values nested deeper than MAX_DEPTH, walking iteratively so the check itself cannot overflow. */
export function checkDepth(value: unknown): unknown {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_DEPTH) throw badRequest(`the request body is nested more than ${MAX_DEPTH} levels deep`);
    for (const child of Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return value;
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw badRequest(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${(error as Error).message})`);
  }
  return checkDepth(parsed);
}

/** YAML (which includes JSON) with one document; aliases are capped to refuse "billion laughs". */
export function parseYaml(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  let docs;
  try {
    docs = parseAllDocuments(text, { prettyErrors: false });
  } catch (error) {
    throw badRequest(`error decoding YAML: ${(error as Error).message}`);
  }
  if (!Array.isArray(docs)) throw badRequest('error decoding YAML: unexpected end of stream');
  if (docs.length !== 1) throw badRequest(`error decoding YAML: expected exactly one document, found ${docs.length}`);
  const doc = docs[0];
  if (!doc) throw badRequest('error decoding YAML: empty document');
  if (doc.errors.length > 0) throw badRequest(`error decoding YAML: ${doc.errors[0]?.message ?? 'syntax error'}`);
  let parsed: unknown;
  try {
    parsed = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    throw badRequest(`error decoding YAML: ${(error as Error).message}`);
  }
  return checkDepth(parsed);
}

/**
 * Decodes a create/update body: JSON, YAML when the client says so, or protobuf, which kubectl's
 * typed clients send for built-in kinds (see protobuf.ts for the kinds it covers).
 */
export function parseObjectBody(req: IncomingMessage, body: Buffer): unknown {
  const type = mediaType(req);
  if (type === '' || type === 'application/json') return parseJson(body);
  if (type === 'application/yaml') return parseYaml(body);
  if (type === PROTOBUF_MEDIA_TYPE) return decodeProtobufObject(body).object;
  throw failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, ${PROTOBUF_MEDIA_TYPE}`);
}
