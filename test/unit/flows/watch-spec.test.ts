import { describe, expect, it } from 'vitest';
import { checkWatchSpec, parseWatchSpec, TrafficWatchError, WATCH_LIMITS, type WatchInput } from '../../../src/flows/watch-spec.js';

const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);
const good: WatchInput = { incidentId: '20260115-abc123', scope: { namespace: 'db', podNames: ['postgres-0'], labelSelector: { matchLabels: { app: 'postgres' } } }, fromMs: T0, untilMs: T0 + 30_000 };

function refused(input: Partial<WatchInput> & Record<string, unknown>): string {
  try {
    checkWatchSpec({ ...good, ...input } as WatchInput);
  } catch (error) {
    expect(error).toBeInstanceOf(TrafficWatchError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('checkWatchSpec', () => {
  it('accepts a registration and fills the defaults (kube-dns, 5 forwarded and 3 dropped samples)', () => {
    expect(checkWatchSpec(good)).toEqual({
      incidentId: '20260115-abc123',
      scope: { namespace: 'db', podNames: ['postgres-0'], labelSelector: { matchLabels: { app: 'postgres' } } },
      dns: { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } },
      fromMs: T0,
      untilMs: T0 + 30_000,
      samples: { forwarded: 5, dropped: 3 },
    });
  });

  it('keeps a whole-namespace scope, expressions, a custom DNS target and sample counts; duplicate pod names collapse', () => {
    const spec = checkWatchSpec({
      ...good,
      scope: { namespace: 'db', podNames: ['a', 'a', 'b'], labelSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['x'] }, { key: 'legacy', operator: 'DoesNotExist' }] } },
      dns: { namespace: 'dns-system', podLabels: { app: 'coredns' } },
      samples: { forwarded: 0, dropped: 20 },
    });
    expect(spec.scope).toEqual({ namespace: 'db', podNames: ['a', 'b'], labelSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['x'] }, { key: 'legacy', operator: 'DoesNotExist' }] } });
    expect(spec.dns).toEqual({ namespace: 'dns-system', podLabels: { app: 'coredns' } });
    expect(spec.samples).toEqual({ forwarded: 0, dropped: 20 });
    expect(checkWatchSpec({ ...good, scope: { namespace: 'db', podNames: [] } }).scope).toEqual({ namespace: 'db', podNames: [] });
  });

  it('refuses malformed incident ids, namespaces and pod names with the reason', () => {
    expect(refused({ incidentId: '' })).toMatch(/incident id must be/);
    expect(refused({ incidentId: 'a|b' })).toMatch(/incident id/);
    expect(refused({ incidentId: 'x'.repeat(64) })).toMatch(/incident id/);
    expect(refused({ incidentId: 42 })).toMatch(/incident id .*got 42/);
    expect(refused({ scope: null })).toMatch(/scope must be an object/);
    expect(refused({ scope: { namespace: 'DB', podNames: [] } })).toMatch(/scope.namespace must be a namespace name.*"DB"/);
    expect(refused({ scope: { namespace: 'db' } })).toMatch(/scope.podNames must be a list/);
    expect(refused({ scope: { namespace: 'db', podNames: ['ok', 'Not_OK'] } })).toMatch(/scope.podNames: "Not_OK" is not a pod name/);
    expect(refused({ scope: { namespace: 'db', podNames: [7] } })).toMatch(/is not a pod name/);
  });

  it('refuses bad selectors: unknown fields, bad keys and values, operators, values where none belong', () => {
    const sel = (labelSelector: unknown): string => refused({ scope: { namespace: 'db', podNames: [], labelSelector } });
    expect(sel('app=postgres')).toMatch(/labelSelector must be an object/);
    expect(sel({ matchLabel: {} })).toMatch(/unknown field "matchLabel"/);
    expect(sel({ matchLabels: { 'bad key!': 'x' } })).toMatch(/label key "bad key!"/);
    expect(sel({ matchLabels: { app: 'x'.repeat(64) } })).toMatch(/no more than 63/);
    expect(sel({ matchLabels: { app: 5 } })).toMatch(/must be a string/);
    expect(sel({ matchExpressions: {} })).toMatch(/must be a list/);
    expect(sel({ matchExpressions: [{ key: 'app', operator: 'Like', values: ['x'] }] })).toMatch(/operator must be In, NotIn, Exists or DoesNotExist, got "Like"/);
    expect(sel({ matchExpressions: [{ key: 'app', operator: 'In' }] })).toMatch(/In needs values/);
    expect(sel({ matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] })).toMatch(/Exists takes no values/);
    expect(sel({ matchExpressions: [{ key: 'app', operator: 'In', values: ['ok', 'not ok'] }] })).toMatch(/values must be a list/);
  });

  it('refuses bad windows: not numbers, empty, reversed, longer than an hour', () => {
    expect(refused({ fromMs: '2026-01-15' })).toMatch(/fromMs must be an epoch time/);
    expect(refused({ fromMs: Number.NaN })).toMatch(/fromMs/);
    expect(refused({ untilMs: Number.POSITIVE_INFINITY })).toMatch(/untilMs/);
    expect(refused({ untilMs: T0 })).toMatch(/the window is empty/);
    expect(refused({ untilMs: T0 - 1 })).toMatch(/the window is empty/);
    expect(refused({ untilMs: T0 + WATCH_LIMITS.maxWindowMs + 1 })).toMatch(/at most 3600 s/);
  });

  it('refuses bad DNS targets and sample counts', () => {
    expect(refused({ dns: 'kube-dns' })).toMatch(/dns must be an object/);
    expect(refused({ dns: { namespace: '', podLabels: {} } })).toMatch(/dns.namespace/);
    expect(refused({ dns: { namespace: 'kube-system', podLabels: { '': 'x' } } })).toMatch(/dns.podLabels: label key/);
    expect(refused({ samples: { forwarded: 21 } })).toMatch(/samples.forwarded must be an integer from 0 to 20/);
    expect(refused({ samples: { dropped: 1.5 } })).toMatch(/samples.dropped/);
    expect(refused({ samples: [] })).toMatch(/samples must be an object/);
  });

  it('refuses oversized input before doing much work', () => {
    const many = Array.from({ length: WATCH_LIMITS.maxPodNames + 1 }, (_, i) => `p-${i}`);
    expect(refused({ scope: { namespace: 'db', podNames: many } })).toMatch(/1001 names; at most 1000/);
    const labels = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    expect(refused({ scope: { namespace: 'db', podNames: [], labelSelector: { matchLabels: labels } } })).toMatch(/33 labels; at most 32/);
    expect(refused({ scope: { namespace: 'db', podNames: ['x'.repeat(254)] } })).toMatch(/is not a pod name/);
    const longName = refused({ scope: { namespace: 'n'.repeat(10_000), podNames: [] } });
    expect(longName.length).toBeLessThan(200);
  });
});

describe('parseWatchSpec (what the collector reads back from Redis)', () => {
  it('round-trips a checked spec', () => {
    const spec = checkWatchSpec(good);
    expect(parseWatchSpec(JSON.stringify(spec))).toEqual(spec);
  });

  it('refuses corrupt, foreign or oversized specs', () => {
    expect(() => parseWatchSpec('{oops')).toThrow('watch spec is not JSON');
    expect(() => parseWatchSpec('[]')).toThrow('watch spec is not an object');
    expect(() => parseWatchSpec('null')).toThrow('watch spec is not an object');
    expect(() => parseWatchSpec(JSON.stringify({ ...checkWatchSpec(good), fromMs: 'soon' }))).toThrow(/fromMs/);
    expect(() => parseWatchSpec(' '.repeat(WATCH_LIMITS.maxSpecBytes + 1))).toThrow(/at most/);
  });
});
