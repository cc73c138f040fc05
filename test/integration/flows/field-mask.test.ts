// GetFlowsRequest.field_mask end to end over gRPC: the relay stand-in sends only the masked Flow
// fields (as Hubble does), refuses a path that names no field, and the collector's client asks for
// the fields it reads, normalizes masked flows to the same Flow, and drops the mask when refused.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { FlowNormalizer } from '../../../src/flows/normalize.js';
import { loadObserver } from '../../../src/flows/proto/load.js';
import { COLLECTOR_FIELD_MASK, HubbleRelayClient, type RelayClientEvent } from '../../../src/flows/sources/hubble-grpc.js';
import { fieldMaskTree } from '../../../src/sim/hubble/field-mask.js';
import { FakeHubbleRelay } from '../../../src/sim/hubble/relay-server.js';
import { syntheticRecord } from '../../bench/synthetic-flows.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A relay holding 300 flows in the full shape `hubble observe -o json` prints (ethernet, Summary, trace point…). */
async function relayWithShop(): Promise<FakeHubbleRelay> {
  const relay = new FakeHubbleRelay();
  await relay.start();
  cleanup.push(() => relay.stop());
  relay.publish(Array.from({ length: 300 }, (_, i) => syntheticRecord(i % 60, i % 11, Date.UTC(2026, 0, 15) + i * 10, 60)));
  return relay;
}

/** One non-follow GetFlows with a raw request: the responses, or the error status. */
async function getFlows(address: string, request: Record<string, unknown>): Promise<{ records: Record<string, unknown>[]; error?: grpc.ServiceError }> {
  const { Client } = loadObserver();
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { GetFlows(r: object): grpc.ClientReadableStream<Record<string, unknown>> };
  cleanup.push(() => client.close());
  const call = client.GetFlows(request);
  const records: Record<string, unknown>[] = [];
  return new Promise((resolve) => {
    call.on('data', (r: Record<string, unknown>) => records.push(r));
    call.on('error', (error: grpc.ServiceError) => resolve({ records, error }));
    call.on('end', () => resolve({ records }));
  });
}

describe('field mask', () => {
  it('the relay populates only the masked fields; top-level mask or the experimental one', async () => {
    const relay = await relayWithShop();
    const whole = await getFlows(relay.address, { number: 5 });
    expect(Object.keys(whole.records[0]!.flow as object)).toEqual(expect.arrayContaining(['ethernet', 'Summary', 'event_type', 'trace_observation_point']));
    for (const mask of [{ field_mask: { paths: ['verdict', 'source.namespace'] } }, { experimental: { field_mask: { paths: ['verdict', 'source.namespace'] } } }]) {
      const { records, error } = await getFlows(relay.address, { number: 5, ...mask });
      expect(error).toBeUndefined();
      expect(records).toHaveLength(5);
      for (const r of records) {
        expect(Object.keys(r.flow as object).sort()).toEqual(['source', 'verdict']);
        expect(Object.keys((r.flow as { source: object }).source)).toEqual(['namespace']);
        expect(r.node_name).toBeTruthy(); // the response's own fields are not masked
      }
    }
  });

  it('a path that names no Flow field is INVALID_ARGUMENT, with the path named', async () => {
    const relay = await relayWithShop();
    for (const paths of [['verdict', 'no_such_field'], ['source.nope'], ['verdict.deeper'], [''], ['x'.repeat(500)], ['__proto__'], ['constructor.name']]) {
      const { records, error } = await getFlows(relay.address, { number: 5, field_mask: { paths } });
      expect(error?.code, JSON.stringify(paths)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error?.details).toMatch(/invalid field mask path/);
      expect(records).toEqual([]);
    }
    expect(() => fieldMaskTree([42])).toThrow(/invalid field mask path: 42/);
  });

  it('the collector mask is valid for Hubble\'s Flow, and masked flows normalize to exactly the same Flow', async () => {
    const relay = await relayWithShop();
    expect(() => fieldMaskTree(COLLECTOR_FIELD_MASK)).not.toThrow();
    const whole = await getFlows(relay.address, { number: 200 });
    const masked = await getFlows(relay.address, { number: 200, field_mask: { paths: [...COLLECTOR_FIELD_MASK] } });
    const n = new FlowNormalizer();
    const flows = (list: Record<string, unknown>[]): unknown[] => list.map((r) => n.normalizeRecord(r)).map((x) => (x.ok ? x.flow : x));
    expect(flows(masked.records)).toEqual(flows(whole.records));
    expect(JSON.stringify(masked.records).length).toBeLessThan(JSON.stringify(whole.records).length * 0.9);
  });

  it('a relay that refuses the mask gets the request again without it', async () => {
    const relay = await relayWithShop();
    const events: RelayClientEvent[] = [];
    let delivered = 0;
    const client = new HubbleRelayClient({ address: relay.address, since: 0, fieldMask: ['verdict', 'not_a_field'], backoff: { initialMs: 10, maxMs: 50 }, onRecord: () => void delivered++, onEvent: (e) => void events.push(e) });
    cleanup.push(() => client.close());
    client.start();
    const deadline = Date.now() + 10_000;
    while (delivered < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(events.find((e) => e.type === 'field-mask-refused')).toMatchObject({ details: expect.stringContaining('not_a_field') });
    expect(client.maskPaths).toEqual([]);
    expect(relay.requests[0]?.field_mask).toEqual({ paths: ['verdict', 'not_a_field'] });
    expect(relay.requests.at(-1)?.field_mask).toBeUndefined();
    expect(delivered).toBeGreaterThanOrEqual(10);
  });
});
