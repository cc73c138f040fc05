// Property tests: Hubble flows as JSON lines (hubble observe -o jsonpb, exporter files) and as
// protobuf frames from Hubble Relay (the GetFlowsResponse decoder). Any line or byte string is a
// flow or a rejection with a reason and a short detail; any frame decodes or throws WireError.
// Runs per property: FUZZ_RUNS (default 200, fixed seed; more runs go in chunks of 1000, seeds seed, seed+1, ...); e.g. `FUZZ_RUNS=20000 npx vitest run test/unit/fuzz-hubble.test.ts`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseHubbleLine, type NormalizeResult } from '../../src/flows/normalize.js';
import { ProtoDecoder, WireError } from '../../src/flows/proto/decode.js';
import { PROTO_LOADER_OPTIONS, toTimestamp } from '../../src/flows/proto/load.js';
import { expectClearMessage, expectNoPollution, FUZZ_TIMEOUT_MS, fuzzAssert, fuzzOptions, textAround } from '../helpers/fuzz.js';

const SEED = 13_301;
const DETAIL_MAX = 1000;

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });
afterEach(() => expectNoPollution());

const fixture = join(import.meta.dirname, '../fixtures/hubble/hubble-otel/testdata/basic-sample-10-flows.json');
const sampleLine = readFileSync(fixture, 'utf8').split('\n').find((line) => line.trim() !== '') as string;
const sample = JSON.parse(sampleLine) as unknown;

function checkNormalized(result: NormalizeResult): void {
  if (result.ok) {
    expect(typeof result.flow).toBe('object');
    return;
  }
  expect(result.reason).toMatch(/^[a-z_]+$/);
  // Present and short. Not checked for printable characters: invalid_json's detail is V8's message,
  // which quotes the bad character raw; no code shows a detail (replay prints the line through printable()).
  expect(typeof result.detail).toBe('string');
  expect(result.detail.length).toBeGreaterThan(0);
  expect(result.detail.length).toBeLessThanOrEqual(DETAIL_MAX);
}

describe('Hubble JSON lines (parseHubbleLine)', () => {
  it('the fixture line is a flow (the mutations start from a valid one)', () => {
    expect(parseHubbleLine(sampleLine).ok).toBe(true);
  });

  it('any line is a flow or a rejection with a reason and a short detail', async () => {
    const lines = textAround(sample);
    await fuzzAssert(
      fc.property(lines, (line) => {
        checkNormalized(parseHubbleLine(line));
      }),
      fuzzOptions(SEED),
    );
  });
});

describe('Hubble protobuf frames (ProtoDecoder, observer.GetFlowsResponse)', () => {
  const reference = protoLoader.loadSync('observer.proto', PROTO_LOADER_OPTIONS);
  const method = (reference['observer.Observer'] as protoLoader.ServiceDefinition).GetFlows as protoLoader.MethodDefinition<object, object>;
  const decode = new ProtoDecoder(reference).decoderFor('observer.GetFlowsResponse');
  const good = method.responseSerialize({
    flow: {
      time: toTimestamp(Date.UTC(2026, 0, 15, 9, 0, 0)),
      verdict: 'DROPPED',
      drop_reason_desc: 'POLICY_DENIED',
      IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 53000, destination_port: 5432 } },
      source: { namespace: 'api', pod_name: 'api-7d9f-abcde', labels: ['k8s:app=api'] },
      destination: { namespace: 'db', pod_name: 'postgres-0', labels: ['k8s:app=postgres'] },
    },
    node_name: 'node-1',
  });

  /** Byte-level mutations of the valid frame: flips, cuts, insertions, repeated spans. */
  const mutatedFrame = fc
    .array(
      fc.record({ op: fc.constantFrom('flip', 'cut', 'insert', 'repeat', 'set'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), span: fc.integer({ min: 1, max: 64 }) }),
      { minLength: 1, maxLength: 6 },
    )
    .map((mutations) => {
      let bytes = [...good];
      for (const m of mutations) {
        const at = bytes.length === 0 ? 0 : m.at % bytes.length;
        if (m.op === 'flip') bytes[at] = (bytes[at] ?? 0) ^ (1 << (m.byte % 8));
        else if (m.op === 'set') bytes[at] = m.byte;
        else if (m.op === 'cut') bytes = bytes.slice(0, at);
        else if (m.op === 'insert') bytes.splice(at, 0, m.byte, 0xff, 0xff, 0xff, 0x0f);
        else bytes.splice(at, 0, ...bytes.slice(at, at + m.span));
      }
      return Buffer.from(bytes);
    });

  const frames = fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
    mutatedFrame,
    mutatedFrame,
    fc.integer({ min: 1, max: 20_000 }).map((depth) => Buffer.from(new Array<number>(depth).fill(0).flatMap(() => [0x0a, 0x7f]))),
  );

  // No differential property against protobufjs: it reads a known field sent with the wrong wire
  // type as if it had the right one, where this decoder skips it (or refuses an unterminated group).
  it('any bytes decode to an object or throw WireError with a clear message', async () => {
    await fuzzAssert(
      fc.property(frames, (bytes) => {
        try {
          const decoded = decode(bytes);
          expect(typeof decoded).toBe('object');
        } catch (error) {
          expect(error).toBeInstanceOf(WireError);
          expectClearMessage((error as Error).message, 300);
        }
      }),
      fuzzOptions(SEED + 1),
    );
  });
});
