// The protobuf request bodies kubectl's typed clients send, decoded as the apiserver would; the
// hex bodies below were captured from kubectl v1.32.4 with -v=8.
import { describe, expect, it } from 'vitest';
import { decodeProtobufObject, PROTOBUF_KINDS } from '../../../src/sim/kube/protobuf.js';
import { StatusError } from '../../../src/sim/kube/status.js';

const CAPTURED = {
  createNamespace: '6b3873000a0f0a02763112094e616d657370616365121a0a120a02783312001a0022002a0032003800420012001a020a001a002200',
  canICreateNetpol:
    '6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a65637441636365737352657669657712560a100a0012001a0022002a0032003800420012380a360a02646212066372656174651a116e6574776f726b696e672e6b38732e696f22002a0f6e6574776f726b706f6c696369657332003a001a08080012001a0020001a002200',
  canIGetHealthz:
    '6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a656374416363657373526576696577122f0a100a0012001a0022002a003200380042001211120f0a082f6865616c74687a12036765741a08080012001a0020001a002200',
  canIList: '6b3873000a310a17617574686f72697a6174696f6e2e6b38732e696f2f7631121653656c665375626a65637452756c6573526576696577121e0a100a0012001a0022002a0032003800420012040a0264621a04180022001a002200',
  whoami: '6b3873000a2d0a1861757468656e7469636174696f6e2e6b38732e696f2f7631121153656c665375626a656374526576696577121a0a100a0012001a0022002a0032003800420012060a040a0012001a002200',
};
const hex = (h: string): Buffer => Buffer.from(h, 'hex');

// A minimal encoder, to build the bodies kubectl would never send.
const varint = (n: number | bigint): Buffer => {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return Buffer.from(out);
};
const field = (num: number, payload: Buffer | string): Buffer => {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([varint((num << 3) | 2), varint(bytes.length), bytes]);
};
const envelope = (apiVersion: string, kind: string, raw: Buffer): Buffer =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, Buffer.concat([field(1, apiVersion), field(2, kind)])), field(2, raw)]);

function statusOf(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof StatusError) return { code: error.code, message: error.status.message ?? '' };
    throw error;
  }
  throw new Error('expected a StatusError');
}

describe('protobuf bodies from kubectl', () => {
  it('decodes `kubectl create namespace x3` to the object JSON would carry', () => {
    expect(decodeProtobufObject(hex(CAPTURED.createNamespace))).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x3' } },
    });
  });

  it('decodes the access reviews of `kubectl auth can-i`', () => {
    expect(decodeProtobufObject(hex(CAPTURED.canICreateNetpol)).object).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { namespace: 'db', verb: 'create', group: 'networking.k8s.io', resource: 'networkpolicies' } },
    });
    expect(decodeProtobufObject(hex(CAPTURED.canIGetHealthz)).object.spec).toEqual({ nonResourceAttributes: { path: '/healthz', verb: 'get' } });
  });

  it('decodes the rules review of `kubectl auth can-i --list` and the review of `kubectl auth whoami`', () => {
    expect(decodeProtobufObject(hex(CAPTURED.canIList)).object).toEqual({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'db' } });
    expect(decodeProtobufObject(hex(CAPTURED.whoami)).object).toEqual({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  });

  it('keeps labels and annotations, empty values included, and skips fields it does not model', () => {
    const entry = (k: string, v: string): Buffer => Buffer.concat([field(1, k), field(2, v)]);
    const meta = Buffer.concat([field(1, 'team-a'), field(11, entry('team', 'a')), field(11, entry('empty', '')), field(12, entry('note', 'x')), field(13, field(1, 'owner-ref')), field(14, 'kubernetes')]);
    const decoded = decodeProtobufObject(envelope('v1', 'Namespace', field(1, meta))).object;
    expect(decoded.metadata).toEqual({ name: 'team-a', labels: { team: 'a', empty: '' }, annotations: { note: 'x' }, finalizers: ['kubernetes'] });
  });
});

describe('protobuf bodies nobody should send', () => {
  it('refuses a body without the k8s magic, or too short for it, with 400', () => {
    for (const body of [Buffer.alloc(0), Buffer.from('k8s'), Buffer.from('{"kind":"Namespace"}'), Buffer.from('k9s\0')]) {
      const { code, message } = statusOf(() => decodeProtobufObject(body));
      expect(code).toBe(400);
      expect(message).toMatch(/does not start with the "k8s\\x00" magic/);
    }
  });

  it('answers 415 for a kind it does not decode, naming the ones it does and how to send the rest', () => {
    const { code, message } = statusOf(() => decodeProtobufObject(envelope('v1', 'Pod', field(1, field(1, 'p')))));
    expect(code).toBe(415);
    expect(message).toContain('"v1/Pod"');
    for (const kind of PROTOBUF_KINDS) expect(message).toContain(kind);
    expect(message).toContain('application/json');
    expect(statusOf(() => decodeProtobufObject(envelope('x'.repeat(10_000), 'Namespace', Buffer.alloc(0)))).message.length).toBeLessThan(600);
  });

  it('refuses truncated and inconsistent messages with 400', () => {
    const good = hex(CAPTURED.createNamespace);
    for (const cut of [5, 10, 20, good.length - 3]) {
      expect(statusOf(() => decodeProtobufObject(good.subarray(0, cut))).code).toBe(400);
    }
    // a length that runs past the end of the body
    const overrun = Buffer.concat([Buffer.from('k8s\0', 'latin1'), varint((2 << 3) | 2), varint(1_000_000), Buffer.from('abc')]);
    expect(statusOf(() => decodeProtobufObject(overrun)).message).toMatch(/length past the end/);
    // an 11-byte varint
    expect(statusOf(() => decodeProtobufObject(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.alloc(11, 0xff)]))).message).toMatch(/varint/);
    // wire types 3/4 (groups) are not used by Kubernetes
    expect(statusOf(() => decodeProtobufObject(Buffer.concat([Buffer.from('k8s\0', 'latin1'), varint((9 << 3) | 3)]))).message).toMatch(/wire type 3/);
    // field number 0 is never valid
    expect(statusOf(() => decodeProtobufObject(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x02, 0x00])]))).message).toMatch(/field number 0/);
  });

  it('refuses an out-of-range generation and a compressed envelope', () => {
    const huge = Buffer.concat([varint((7 << 3) | 0), varint(2n ** 60n)]);
    expect(statusOf(() => decodeProtobufObject(envelope('v1', 'Namespace', field(1, huge)))).message).toMatch(/generation out of range/);
    expect(statusOf(() => decodeProtobufObject(Buffer.concat([envelope('v1', 'Namespace', Buffer.alloc(0)), field(3, 'gzip')]))).message).toMatch(/content encoding/);
  });

  it('skips a known field sent with the wrong wire type, like an unknown one', () => {
    // metadata.name as a varint instead of a string
    const meta = Buffer.concat([varint((1 << 3) | 0), varint(5), field(2, 'gen-')]);
    expect(decodeProtobufObject(envelope('v1', 'Namespace', field(1, meta))).object.metadata).toEqual({ generateName: 'gen-' });
  });
});
