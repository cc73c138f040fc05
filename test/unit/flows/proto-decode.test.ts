import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { ProtoDecoder, WireError } from '../../../src/flows/proto/decode.js';
import { loadObserver, PROTO_LOADER_OPTIONS, toTimestamp } from '../../../src/flows/proto/load.js';
import { toWireRecord } from '../../../src/sim/hubble/relay-server.js';
import type { HubbleRecord } from '../../../src/sim/hubble/shop-traffic.js';

const fixtures = join(import.meta.dirname, '../../fixtures/hubble/hubble-otel/testdata');

// The reference: proto-loader's own serializer and deserializer (protobufjs encode / decode + toObject).
const reference = protoLoader.loadSync('observer.proto', PROTO_LOADER_OPTIONS);
const method = (reference['observer.Observer'] as protoLoader.ServiceDefinition).GetFlows as protoLoader.MethodDefinition<object, object>;
const encode = (value: object): Buffer => method.responseSerialize(value);
const referenceDecode = (bytes: Buffer): object => method.responseDeserialize(bytes);
const decode = new ProtoDecoder(reference).decoderFor('observer.GetFlowsResponse');

/** Protobuf varint bytes of a non-negative integer. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

const richFlow = {
  time: toTimestamp(Date.UTC(2026, 0, 15, 9, 0, 0, 123.456)),
  uuid: '1b7c5ed2-0b4e-4d36-9d5e-6b1d0f5e3c11',
  verdict: 'DROPPED',
  drop_reason: 133,
  drop_reason_desc: 'POLICY_DENIED',
  IP: { source: '10.0.0.1', destination: '2001:db8::1', ipVersion: 'IPv6' },
  l4: { UDP: { source_port: 53000, destination_port: 53 } },
  source: {
    ID: 7,
    identity: 4_000_000_000,
    namespace: 'shop',
    labels: ['k8s:app=web', 'k8s:app.kubernetes.io/name=web', 'reserved:host'],
    pod_name: 'web-5d8f7c9b6d-abcde',
    workloads: [{ name: 'web', kind: 'Deployment' }],
  },
  destination: { identity: 2, labels: ['reserved:world'] },
  source_names: ['web.shop.svc.cluster.local'],
  destination_names: ['example.com', 'ünïcødé.example'],
  l7: { type: 'REQUEST', dns: { query: 'example.com.', qtypes: ['A', 'AAAA'], rcode: 0 } },
  traffic_direction: 'EGRESS',
  is_reply: { value: true },
  egress_denied_by: [{ name: 'deny-all', namespace: 'shop', labels: ['a=b'], revision: 2 ** 40 + 5 }],
  Summary: 'UDP',
};

describe('ProtoDecoder: same objects as proto-loader (decode + toObject)', () => {
  it('decodes every flow of the hubble-otel captures (1,916 flows) exactly like proto-loader', () => {
    let total = 0;
    for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.json'))) {
      for (const line of readFileSync(join(fixtures, file), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const bytes = encode(toWireRecord(JSON.parse(line) as HubbleRecord).wire);
        expect(decode(bytes), `${file} #${total}`).toEqual(referenceDecode(bytes));
        total += 1;
      }
    }
    expect(total).toBe(1916);
  });

  it('handles enums, uint64 above 2^32, uint32 above 2^31, wrappers, repeated messages and UTF-8', () => {
    const bytes = encode({ flow: richFlow, node_name: 'node-1', time: richFlow.time });
    const decoded = decode(bytes);
    expect(decoded).toEqual(referenceDecode(bytes));
    const flow = decoded.flow as Record<string, unknown>;
    expect(flow.verdict).toBe('DROPPED');
    expect((flow.source as { identity: number }).identity).toBe(4_000_000_000);
    expect((flow.egress_denied_by as { revision: number }[])[0]?.revision).toBe(2 ** 40 + 5);
    expect(flow.destination_names).toEqual(['example.com', 'ünïcødé.example']);
    expect(flow.is_reply).toEqual({ value: true });
  });

  it('keeps an enum number it has no name for, as proto-loader does', () => {
    // Flow.verdict (field 2) = 42, which Verdict does not name.
    const flowBytes = [0x10, 42];
    const bytes = Buffer.from([0x0a, flowBytes.length, ...flowBytes]);
    expect(decode(bytes)).toEqual(referenceDecode(bytes));
    expect((decode(bytes).flow as { verdict: unknown }).verdict).toBe(42);
  });

  it('skips fields it does not know (varint, fixed64, length-delimited, fixed32, group), like a real relay newer than the .proto', () => {
    const known = encode({ flow: richFlow, node_name: 'node-1' });
    const unknown = Buffer.from([
      ...varint((77 << 3) | 0), ...varint(2 ** 35),
      ...varint((78 << 3) | 1), 1, 2, 3, 4, 5, 6, 7, 8,
      ...varint((5000 << 3) | 2), 3, 0x61, 0x62, 0x63,
      ...varint((79 << 3) | 5), 1, 2, 3, 4,
      ...varint((80 << 3) | 3), ...varint((1 << 3) | 0), 5, ...varint((80 << 3) | 4),
    ]);
    const bytes = Buffer.concat([unknown, known, unknown]);
    expect(decode(bytes)).toEqual(referenceDecode(bytes));
    expect(decode(bytes)).toEqual(decode(known));
  });

  it('decodes an empty message and an oversized one (a 1 MiB label)', () => {
    expect(decode(Buffer.alloc(0))).toEqual({});
    const big = 'x'.repeat(1 << 20);
    const bytes = encode({ flow: { ...richFlow, source: { ...richFlow.source, labels: [`k8s:big=${big}`] } } });
    const decoded = decode(bytes) as { flow: { source: { labels: string[] } } };
    expect(decoded.flow.source.labels[0]?.length).toBe(big.length + 8);
    expect(decoded).toEqual(referenceDecode(bytes));
  });
});

describe('ProtoDecoder: malformed input', () => {
  const good = encode({ flow: richFlow, node_name: 'node-1' });

  it('rejects every truncation of a message with a clear error, and still decodes the whole one afterwards', () => {
    let rejected = 0;
    for (let cut = 1; cut < good.length; cut++) {
      try {
        decode(good.subarray(0, cut));
      } catch (error) {
        expect(error).toBeInstanceOf(WireError);
        expect((error as Error).message).toMatch(/^invalid protobuf: /);
        rejected += 1;
      }
    }
    // A cut can fall between two fields and still be a valid (shorter) message; most cuts are not.
    expect(rejected).toBeGreaterThan(good.length / 2);
    expect(decode(good)).toEqual(referenceDecode(good));
  });

  it('rejects a length running past the end, a nested message overrunning its parent, an invalid wire type and an endless varint', () => {
    expect(() => decode(Buffer.from([0x0a, 0x05, 0x10, 0x01]))).toThrow(/length beyond the end/);
    // flow { IP (field 5) with length 10 but only 2 bytes inside flow's declared 4 }
    expect(() => decode(Buffer.from([0x0a, 0x04, 0x2a, 0x0a, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(WireError);
    expect(() => decode(Buffer.from([(9 << 3) | 7, 0]))).toThrow(/invalid wire type 7/);
    expect(() => decode(Buffer.from([(9 << 3) | 4]))).toThrow(/invalid wire type 4/);
    expect(() => decode(Buffer.from([0x08, ...new Array<number>(11).fill(0xff), 0x01]))).toThrow(/varint longer than 10 bytes/);
    expect(() => decode(Buffer.from([...varint((80 << 3) | 3), 0x08, 0x01]))).toThrow(/unterminated group/);
  });

  it('skips a known field sent with the wrong wire type instead of misreading it', () => {
    // node_name (1000) as a varint, then a proper node_name.
    const bytes = Buffer.from([...varint((1000 << 3) | 0), 0x07, ...varint((1000 << 3) | 2), 2, 0x6e, 0x31]);
    expect(decode(bytes)).toEqual({ node_name: 'n1' });
  });
});

describe('loadObserver', () => {
  it('gives grpc-js the direct decoder for GetFlows responses', () => {
    const { definition } = loadObserver();
    const getFlows = (definition['observer.Observer'] as protoLoader.ServiceDefinition).GetFlows as protoLoader.MethodDefinition<object, object>;
    const bytes = encode({ flow: richFlow, node_name: 'node-1', time: richFlow.time });
    expect(getFlows.responseDeserialize(bytes)).toEqual(referenceDecode(bytes));
    expect(getFlows.responseDeserialize.name).not.toBe('deserialize');
  });
});
