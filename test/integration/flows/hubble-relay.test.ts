import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { FlowNormalizer } from '../../../src/flows/normalize.js';

import { HubbleRelayClient, type RelayClientEvent } from '../../../src/flows/sources/hubble-grpc.js';
import { flowFingerprint } from '../../../src/flows/sources/resend-window.js';
import { FakeHubbleRelay } from '../../../src/sim/hubble/relay-server.js';
import { shopTraffic, type HubbleRecord } from '../../../src/sim/hubble/shop-traffic.js';

const fixtures = join(import.meta.dirname, '../../fixtures/hubble');

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function relay(): Promise<FakeHubbleRelay> {
  const r = new FakeHubbleRelay();
  await r.start();
  cleanup.push(() => r.stop());
  return r;
}

function client(r: FakeHubbleRelay, extra: Partial<ConstructorParameters<typeof HubbleRelayClient>[0]> = {}) {
  const records: Record<string, unknown>[] = [];
  const events: RelayClientEvent[] = [];
  const c = new HubbleRelayClient({
    address: r.address,
    since: 0,
    backoff: { initialMs: 20, maxMs: 200 },
    onRecord: (rec) => records.push(rec),
    onEvent: (e) => events.push(e),
    ...extra,
  });
  cleanup.push(() => c.close());
  return { c, records, events };
}

const shop = (minutes: number, offset = 0): HubbleRecord[] =>
  [...shopTraffic({ normalMinutes: minutes + offset, incidentMinutes: 0 })].slice(offset === 0 ? 0 : undefined);

describe('Hubble Relay client against the stand-in (gRPC on loopback)', () => {
  it('streams history and live flows; every record normalizes', async () => {
    const r = await relay();
    const all = shop(4);
    const half = Math.floor(all.length / 2);
    r.publish(all.slice(0, half));
    const { c, records } = client(r);
    c.start();
    await waitFor(() => records.length === half);
    r.publish(all.slice(half));
    await waitFor(() => records.length === all.length);
    const normalizer = new FlowNormalizer();
    const flows = records.map((rec) => normalizer.normalizeRecord(rec));
    expect(flows.every((f) => f.ok)).toBe(true);
    const viaGrpc = flows[0];
    const viaJson = normalizer.parseLine(JSON.stringify(all[0]));
    if (!viaGrpc?.ok || !viaJson.ok) throw new Error('first record did not normalize');
    expect(viaGrpc.flow).toEqual(viaJson.flow);
  });

  it('carries the real hubble-otel captures through the proto subset without losing a field the normalizer reads', async () => {
    const r = await relay();
    const dir = join(fixtures, 'hubble-otel/testdata');
    const lines = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
    r.publish(lines.map((l) => JSON.parse(l) as HubbleRecord));
    const { c, records } = client(r);
    c.start();
    await waitFor(() => records.length === 1916);
    const normalizer = new FlowNormalizer();
    const viaGrpc = records.map((rec) => normalizer.normalizeRecord(rec));
    const viaJson = lines.map((l) => normalizer.parseLine(l));
    // The relay sends in time order; compare as multisets of normalized flows.
    const key = (x: (typeof viaGrpc)[number]): string => (x.ok ? JSON.stringify({ ...x.flow, time: Math.round(x.flow.time * 1000) }) : x.reason);
    expect(viaGrpc.map(key).sort()).toEqual(viaJson.map(key).sort());
  });

  it('applies namespace allow and deny filters on the relay side', async () => {
    const r = await relay();
    const all = shop(2);
    r.publish(all);
    const allowed = client(r, { namespaces: { allow: ['db'] } });
    const denied = client(r, { namespaces: { deny: ['kube-system', 'frontend'] } });
    allowed.c.start();
    denied.c.start();
    const touches = (rec: HubbleRecord | Record<string, unknown>, ns: string): boolean => {
      const f = (rec as HubbleRecord).flow as { source: { namespace?: string }; destination: { namespace?: string } };
      return f.source.namespace === ns || f.destination.namespace === ns;
    };
    const expectAllowed = all.filter((x) => touches(x, 'db')).length;
    const expectDenied = all.filter((x) => !touches(x, 'kube-system') && !touches(x, 'frontend')).length;
    await waitFor(() => allowed.records.length === expectAllowed && denied.records.length === expectDenied);
    expect(allowed.records.every((x) => touches(x, 'db'))).toBe(true);
    expect(denied.records.some((x) => touches(x, 'kube-system'))).toBe(false);
    expect(r.requests[0]?.whitelist).toEqual([{ source_pod: ['db/'] }, { destination_pod: ['db/'] }]);
  });

  it('answers ServerStatus', async () => {
    const r = await relay();
    r.publish(shop(1));
    const { c } = client(r);
    const status = await c.serverStatus();
    expect(status).toMatchObject({ num_flows: shop(1).length, seen_flows: shop(1).length, max_flows: 65535, num_connected_nodes: { value: 1 } });
    expect(String(status.version)).toContain('stand-in');
  });

  it('keeps only the newest flows its ring buffer holds, across many trims', async () => {
    const r = new FakeHubbleRelay({ capacity: 50 });
    await r.start();
    cleanup.push(() => r.stop());
    const all = shop(4);
    expect(all.length).toBeGreaterThan(200);
    for (const record of all) r.publish([record]);
    const { c, records } = client(r);
    expect(await c.serverStatus()).toMatchObject({ num_flows: 50, seen_flows: all.length, max_flows: 50 });
    c.start();
    await waitFor(() => records.length === 50);
    // Shop flows carry no uuid; their source ports are drawn at random, so the sequence identifies them.
    const sourcePorts = (list: { flow: unknown }[]) =>
      list.map((x) => {
        const l4 = (x.flow as { l4?: Record<string, { source_port?: number }> }).l4 ?? {};
        return Object.values(l4)[0]?.source_port;
      });
    const expected = sourcePorts(all.slice(-50));
    expect(new Set(expected).size).toBeGreaterThan(40);
    expect(sourcePorts(records as { flow: unknown }[])).toEqual(expected);
  });

  it('reconnects after the relay drops the stream mid-way and resumes without duplicates or gaps', async () => {
    const r = await relay();
    const all = shop(5);
    r.faults.dropAfter = 97;
    r.publish(all);
    const { c, records, events } = client(r);
    c.start();
    await waitFor(() => records.length >= all.length, 10_000);
    const fingerprints = new Set(records.map((x) => flowFingerprint(x)));
    expect(records.length).toBe(all.length);
    expect(fingerprints.size).toBe(all.length);
    expect(events.filter((e) => e.type === 'disconnected').length).toBeGreaterThan(2);
    expect(c.stats.duplicatesDropped).toBeGreaterThan(0);
    // Each resume asked for the window behind the newest flow delivered.
    const resumes = r.requests.slice(1).map((req) => req.since as { seconds: number });
    expect(resumes.every((s) => typeof s.seconds === 'number')).toBe(true);
  });

  it('a restart that reaches back for a namespace just added, cut before it caught up, resumes where it got to', async () => {
    const r = await relay();
    const all = shop(5);
    r.publish(all);
    const { c, records } = client(r, { namespaces: { allow: ['frontend'] } });
    const touches = (rec: { flow?: unknown }, ns: string): boolean => {
      const flow = rec.flow as { source?: { namespace?: string }; destination?: { namespace?: string } };
      return flow.source?.namespace === ns || flow.destination?.namespace === ns;
    };
    c.start();
    const frontend = all.filter((x) => touches(x, 'frontend')).length;
    await waitFor(() => records.length >= frontend, 10_000);
    // db added, its flows wanted from the first one on; the relay cuts that stream 40 flows in, then each next one too.
    r.faults.dropAfter = 40;
    c.setNamespaces({ allow: ['frontend', 'db'] }, Date.parse(all[0]!.time));
    const db = new Set(all.filter((x) => touches(x, 'db')).map((x) => flowFingerprint(x as unknown as Record<string, unknown>)));
    const seen = (): number => new Set(records.filter((x) => touches(x, 'db')).map((x) => flowFingerprint(x))).size;
    await waitFor(() => seen() === db.size, 20_000);
    expect(db.size).toBeGreaterThan(100);
  });

  it('survives a relay restart and gets the flows published while it was down', async () => {
    const r = await relay();
    const all = shop(3);
    const third = Math.floor(all.length / 3);
    r.publish(all.slice(0, third));
    const { c, records } = client(r);
    c.start();
    await waitFor(() => records.length === third);
    await r.stop();
    r.publish(all.slice(third, 2 * third)); // the nodes kept observing while the relay was down
    await new Promise((res) => setTimeout(res, 100));
    await r.start(r.port);
    await waitFor(() => records.length === 2 * third, 10_000);
    r.publish(all.slice(2 * third));
    await waitFor(() => records.length === all.length, 10_000);
    expect(new Set(records.map((x) => flowFingerprint(x))).size).toBe(all.length);
    expect(c.stats.connects).toBeGreaterThanOrEqual(2);
  });

  it('retries with backoff when the relay answers with an error status', async () => {
    const r = await relay();
    r.publish(shop(1));
    r.faults.error = { code: grpc.status.PERMISSION_DENIED, details: 'not allowed', count: 3 };
    const { c, records, events } = client(r);
    c.start();
    await waitFor(() => records.length === shop(1).length, 10_000);
    const failures = events.filter((e) => e.type === 'disconnected');
    expect(failures.slice(0, 3).map((e) => e.type === 'disconnected' && e.code)).toEqual([7, 7, 7]);
    const delays = failures.slice(0, 3).map((e) => (e.type === 'disconnected' ? e.retryInMs : 0));
    expect(delays[2]).toBeGreaterThan(delays[0] as number);
    await expect(
      (async () => {
        r.faults.error = { code: grpc.status.INTERNAL, details: 'boom', count: 1 };
        return c.serverStatus();
      })(),
    ).rejects.toMatchObject({ code: grpc.status.INTERNAL });
  });

  it('a relay that sends nothing: the client waits, reconnects on the idle timeout, and picks up flows when they come', async () => {
    const r = await relay();
    r.faults.silent = true;
    r.publish(shop(1));
    const { c, records } = client(r, { idleTimeoutMs: 150 });
    c.start();
    await waitFor(() => c.stats.connects >= 3, 5_000);
    expect(records).toHaveLength(0);
    r.faults.silent = false;
    await waitFor(() => records.length === shop(1).length, 5_000);
  });

  it('a relay that is not there at all: keeps retrying without throwing, then connects when it appears', async () => {
    const r = new FakeHubbleRelay();
    const port = await r.start();
    await r.stop();
    const { c, records, events } = client(r);
    c.start();
    await waitFor(() => events.filter((e) => e.type === 'disconnected').length >= 2, 5_000);
    await r.start(port);
    cleanup.push(() => r.stop());
    r.publish(shop(1));
    await waitFor(() => records.length === shop(1).length, 10_000);
  });
});
