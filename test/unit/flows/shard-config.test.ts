import { describe, expect, it } from 'vitest';
import { collectorSchema } from '../../../src/config/schema.js';

const relay = { kind: 'hubble-relay', address: 'hubble-relay.kube-system.svc:80' } as const;

describe('collector.source.sharding and fieldMask in the configuration', () => {
  it('without sharding the source is what it was (one active replica), with the field mask on', () => {
    const parsed = collectorSchema.parse({ source: relay });
    expect(parsed.source).toEqual({ ...relay, fieldMask: true });
    expect(collectorSchema.parse({ source: { ...relay, fieldMask: false } }).source).toMatchObject({ fieldMask: false });
  });

  it('sharding: defaults, and durations become the collector\'s milliseconds', () => {
    expect(collectorSchema.parse({ source: { ...relay, sharding: {} } }).source).toMatchObject({ sharding: { leaseTtlMs: 15_000, snapshotEveryMs: 60_000 } });
    expect(collectorSchema.parse({ source: { ...relay, sharding: { leaseTtl: '30s', heartbeat: '5s', snapshotEvery: '10s' } } }).source).toMatchObject({
      sharding: { leaseTtlMs: 30_000, heartbeatMs: 5_000, snapshotEveryMs: 10_000 },
    });
  });

  it('refuses bad values with a clear message', () => {
    const problem = (sharding: unknown): string => {
      const result = collectorSchema.safeParse({ source: { ...relay, sharding } });
      if (result.success) throw new Error(`accepted ${JSON.stringify(sharding)}`);
      return result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(problem({ leaseTtl: '10s', heartbeat: '6s' })).toContain('heartbeat must be at most half of leaseTtl');
    expect(problem({ leaseTtl: '500ms' })).toContain('must be between 1s and 5m');
    expect(problem({ leaseTtl: '1h' })).toContain('must be between 1s and 5m');
    expect(problem({ leaseTtl: 15 })).toContain('source.sharding.leaseTtl');
    expect(problem({ heartbeat: '10ms' })).toContain('must be at least 50ms');
    expect(problem({ replicas: 3 })).toMatch(/unrecognized key/i);
    expect(problem('yes')).toContain('source.sharding');
    // Sharding needs the relay's namespace filters: a JSON-lines file cannot be sharded.
    expect(collectorSchema.safeParse({ source: { kind: 'jsonl-file', path: '/x', sharding: {} } }).success).toBe(false);
  });
});
