// Request bodies in the apiserver's protobuf encoding (`application/vnd.kubernetes.protobuf`), which
// kubectl's typed clients send for built-in kinds (`kubectl create namespace`, `kubectl auth can-i`,
// `kubectl auth whoami`). The body is the magic `k8s\0` then a runtime.Unknown envelope whose `raw`
// field holds the object's message; apiVersion and kind travel in the envelope, not the object.
// Only the kinds the simulation accepts this way are described; any other kind is a 415 naming the
// media types it does accept. Pure: bytes in, a JSON-shaped object out.

import { badRequest, failure } from './status.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

type Scalar = 'string' | 'int' | 'bool' | 'bytes';
interface Field {
  name: string;
  type: Scalar | 'map' | Message;
  repeated?: boolean;
}
/** Field number → field. Fields left out (timestamps, managedFields, owner references) are skipped. */
type Message = { readonly [num: number]: Field };

const MAP_ENTRY: Message = { 1: { name: 'key', type: 'string' }, 2: { name: 'value', type: 'string' } };

// Field numbers from k8s.io/apimachinery meta/v1 and k8s.io/api {core,authorization,authentication}/v1 generated.proto.
const OBJECT_META: Message = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  11: { name: 'labels', type: 'map' },
  12: { name: 'annotations', type: 'map' },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const NAMESPACE: Message = {
  1: { name: 'metadata', type: OBJECT_META },
  2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
  3: { name: 'status', type: { 1: { name: 'phase', type: 'string' } } },
};

const RESOURCE_ATTRIBUTES: Message = {
  1: { name: 'namespace', type: 'string' },
  2: { name: 'verb', type: 'string' },
  3: { name: 'group', type: 'string' },
  4: { name: 'version', type: 'string' },
  5: { name: 'resource', type: 'string' },
  6: { name: 'subresource', type: 'string' },
  7: { name: 'name', type: 'string' },
};

const SELF_SUBJECT_ACCESS_REVIEW: Message = {
  1: { name: 'metadata', type: OBJECT_META },
  2: {
    name: 'spec',
    type: {
      1: { name: 'resourceAttributes', type: RESOURCE_ATTRIBUTES },
      2: { name: 'nonResourceAttributes', type: { 1: { name: 'path', type: 'string' }, 2: { name: 'verb', type: 'string' } } },
    },
  },
};

const SELF_SUBJECT_RULES_REVIEW: Message = {
  1: { name: 'metadata', type: OBJECT_META },
  2: { name: 'spec', type: { 1: { name: 'namespace', type: 'string' } } },
};

const SELF_SUBJECT_REVIEW: Message = { 1: { name: 'metadata', type: OBJECT_META } };

/** runtime.Unknown; `raw` is kept as a byte range and decoded once the kind is known. */
const ENVELOPE: Message = {
  1: { name: 'typeMeta', type: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } } },
  2: { name: 'raw', type: 'bytes' },
  3: { name: 'contentEncoding', type: 'string' },
  4: { name: 'contentType', type: 'string' },
};

const KINDS: ReadonlyMap<string, Message> = new Map([
  ['v1/Namespace', NAMESPACE],
  ['authorization.k8s.io/v1/SelfSubjectAccessReview', SELF_SUBJECT_ACCESS_REVIEW],
  ['authorization.k8s.io/v1/SelfSubjectRulesReview', SELF_SUBJECT_RULES_REVIEW],
  ['authentication.k8s.io/v1/SelfSubjectReview', SELF_SUBJECT_REVIEW],
]);

/** The kinds this module decodes, as `apiVersion/Kind`. */
export const PROTOBUF_KINDS: readonly string[] = [...KINDS.keys()];

class Malformed extends Error {}

/** A bounds-checked protobuf wire reader over one message's bytes. */
class Reader {
  pos: number;
  constructor(
    private readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new Malformed('truncated varint');
      const byte = this.buf[this.pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Malformed('varint longer than 10 bytes');
  }

  /** The [start, end) of a length-delimited field's payload; the reader moves past it. */
  bytes(): [number, number] {
    const length = this.varint();
    if (length > BigInt(this.end - this.pos)) throw new Malformed('length past the end of the message');
    const start = this.pos;
    this.pos += Number(length);
    return [start, this.pos];
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 2) this.bytes();
    else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      if (this.pos + size > this.end) throw new Malformed('truncated fixed-size field');
      this.pos += size;
    } else throw new Malformed(`unsupported wire type ${wireType}`);
  }

  sub(range: [number, number]): Reader {
    return new Reader(this.buf, range[0], range[1]);
  }

  text(range: [number, number]): string {
    return this.buf.toString('utf8', range[0], range[1]);
  }
}

// The schemas are finite trees (no recursive message), so input cannot nest deeper than they do.
function decodeMessage(reader: Reader, message: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  while (reader.pos < reader.end) {
    const key = reader.varint();
    const num = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (num === 0) throw new Malformed('field number 0');
    const field = message[num];
    const expected = field && (field.type === 'int' || field.type === 'bool') ? 0 : 2;
    if (!field || wireType !== expected) {
      reader.skip(wireType);
      continue;
    }
    const value = decodeValue(reader, field);
    if (field.type === 'map') {
      const [k, v] = value as [string, string];
      ((out[field.name] ??= {}) as Record<string, string>)[k] = v;
    } else if (field.repeated) {
      ((out[field.name] ??= []) as unknown[]).push(value);
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

function decodeValue(reader: Reader, field: Field): unknown {
  switch (field.type) {
    case 'string':
      return reader.text(reader.bytes());
    case 'bytes':
      return reader.bytes();
    case 'int': {
      const raw = BigInt.asIntN(64, reader.varint());
      if (raw > BigInt(Number.MAX_SAFE_INTEGER) || raw < BigInt(Number.MIN_SAFE_INTEGER)) throw new Malformed(`${field.name} out of range`);
      return Number(raw);
    }
    case 'bool':
      return reader.varint() !== 0n;
    case 'map': {
      const entry = decodeMessage(reader.sub(reader.bytes()), MAP_ENTRY);
      return [String(entry.key ?? ''), String(entry.value ?? '')];
    }
    default:
      return decodeMessage(reader.sub(reader.bytes()), field.type);
  }
}

/**
 * Go's `omitempty`: proto2 writes zero values (`name: ""`, `generation: 0`, empty messages) that the
 * same object in JSON would not carry. Dropping them makes both encodings mean the same thing.
 */
function omitEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(omitEmpty);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    // Label and annotation maps are kept as sent: an empty value is a value.
    if (key === 'labels' || key === 'annotations') {
      out[key] = v;
      continue;
    }
    const inner = omitEmpty(v);
    if (inner === '' || inner === 0 || inner === false) continue;
    if (typeof inner === 'object' && inner !== null && !Array.isArray(inner) && Object.keys(inner).length === 0) continue;
    out[key] = inner;
  }
  return out;
}

export interface DecodedObject {
  apiVersion: string;
  kind: string;
  object: Record<string, unknown>;
}

/** Decodes a protobuf request body into the object as JSON would carry it (apiVersion and kind included). */
export function decodeProtobufObject(body: Buffer): DecodedObject {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw badRequest('the body is not a Kubernetes protobuf object: it does not start with the "k8s\\x00" magic');
  }
  let envelope: Record<string, unknown>;
  try {
    envelope = decodeMessage(new Reader(body, MAGIC.length, body.length), ENVELOPE);
  } catch (error) {
    if (error instanceof Malformed) throw badRequest(`the protobuf envelope is malformed: ${error.message}`);
    throw error;
  }
  const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = typeMeta.apiVersion ?? '';
  const kind = typeMeta.kind ?? '';
  const message = KINDS.get(`${apiVersion}/${kind}`);
  if (!message) {
    throw failure(
      415,
      'UnsupportedMediaType',
      `the simulated API server decodes protobuf only for ${PROTOBUF_KINDS.join(', ')} (got ${JSON.stringify(`${apiVersion}/${kind}`).slice(0, 200)}): send it as application/json or application/yaml`,
    );
  }
  if ((envelope.contentEncoding ?? '') !== '') throw badRequest(`unsupported protobuf content encoding ${JSON.stringify(envelope.contentEncoding).slice(0, 60)}`);
  const raw = envelope.raw as [number, number] | undefined;
  let object: Record<string, unknown>;
  try {
    object = raw ? decodeMessage(new Reader(body, raw[0], raw[1]), message) : {};
  } catch (error) {
    if (error instanceof Malformed) throw badRequest(`the protobuf ${kind} is malformed: ${error.message}`);
    throw error;
  }
  return { apiVersion, kind, object: { apiVersion, kind, ...(omitEmpty(object) as Record<string, unknown>) } };
}
