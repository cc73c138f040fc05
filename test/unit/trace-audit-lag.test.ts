// What the trace waits for from an audit log that delivers in batches (trace/audit-lag.ts).
import { describe, expect, it } from 'vitest';
import type { AuditChange } from '../../src/audit/types.js';
import type { TracedChange } from '../../src/trace/changes.js';
import { auditLag, type AuditLagInput } from '../../src/trace/audit-lag.js';

const LOOKED = Date.UTC(2026, 11, 5, 12, 0, 0);
const DELAY = 30_000;
const iso = (ms: number): string => new Date(ms).toISOString();

function change(over: Partial<TracedChange> = {}): TracedChange {
  return { key: 'NetworkPolicy/db/allow-all', kind: 'NetworkPolicy', namespace: 'db', name: 'allow-all', at: iso(LOOKED - 5_000), verb: 'create', evidence: 'managedFields', auditIDs: [], sourceIPs: [], before: null, after: {}, fromAuditOnly: false, managers: ['kubectl'], ...over };
}

function event(over: Partial<AuditChange> = {}): AuditChange {
  return {
    auditID: 'e1',
    at: iso(LOOKED - 1_000),
    stage: 'ResponseComplete',
    verb: 'create',
    user: { username: 'system:serviceaccount:netpol:responder', groups: [] },
    userAgent: 'netpol-responder',
    tool: 'netpol-responder',
    sourceIPs: [],
    objectRef: { resource: 'networkpolicies', apiGroup: 'networking.k8s.io', namespace: 'db', name: 'netpol-responder-quarantine-x' },
    responseStatus: { code: 201 },
    refused: false,
    ...over,
  };
}

const CONTAINMENT = { startedAt: iso(LOOKED - 2_000), created: [{ namespace: 'db', name: 'netpol-responder-quarantine-x' }] };

type Over = Partial<Omit<AuditLagInput, 'changes'>> & { changes?: TracedChange[] };
const lag = ({ changes = [], ...over }: Over) => auditLag({ lookedAt: LOOKED, delayMs: DELAY, audit: [], own: () => false, ...over, changes: () => changes });

describe('what the trace waits for from the audit log', () => {
  it('nothing recent: nothing to wait for', () => {
    expect(lag({})).toEqual({ unpaired: [], containmentPending: false, until: LOOKED });
    expect(lag({ changes: [change({ at: iso(LOOKED - DELAY - 1) })] }).until).toBe(LOOKED);
  });

  it("a recent change of someone else's without its event is awaited until its time plus the delay", () => {
    const c = change();
    expect(lag({ changes: [c] })).toEqual({ unpaired: [c], containmentPending: false, until: LOOKED - 5_000 + DELAY });
  });

  it('paired, the bot’s own, known only from the audit log or first seen by the watcher: not awaited', () => {
    for (const c of [change({ evidence: 'audit' }), change({ fromAuditOnly: true }), change({ firstSighting: true })]) expect(lag({ changes: [c] }).unpaired).toEqual([]);
    expect(lag({ changes: [change()], own: () => true }).unpaired).toEqual([]);
  });

  it("the containment's own event: awaited while it may still come, until it is in", () => {
    expect(lag({ containment: CONTAINMENT })).toMatchObject({ containmentPending: true, until: LOOKED - 2_000 + DELAY });
    expect(lag({ containment: CONTAINMENT, audit: [event()] })).toMatchObject({ containmentPending: false, until: LOOKED });
    // A patch of it counts too: any write the apiserver logged after the containment's start.
    expect(lag({ containment: CONTAINMENT, audit: [event({ verb: 'patch' })] }).containmentPending).toBe(false);
  });

  it("a refused write, another namespace's object of that name, or none created: not the containment's event", () => {
    expect(lag({ containment: CONTAINMENT, audit: [event({ refused: true, responseStatus: { code: 403 } })] }).containmentPending).toBe(true);
    expect(lag({ containment: CONTAINMENT, audit: [event({ objectRef: { resource: 'networkpolicies', namespace: 'api', name: 'netpol-responder-quarantine-x' } })] }).containmentPending).toBe(true);
    expect(lag({ containment: { ...CONTAINMENT, created: [] } }).containmentPending).toBe(false);
  });

  it('a containment older than the delay is not awaited: its events came, or never will', () => {
    expect(lag({ containment: { ...CONTAINMENT, startedAt: iso(LOOKED - DELAY - 1) } })).toMatchObject({ containmentPending: false, until: LOOKED });
  });

  it("a recent containment is the sign for the changes before it: once its event is in, changes never audited (or made past the API) hold nothing up", () => {
    const unaudited = change({ at: iso(LOOKED - 9_000) });
    expect(lag({ changes: [unaudited], containment: CONTAINMENT })).toEqual({ unpaired: [], containmentPending: true, until: LOOKED - 2_000 + DELAY });
    expect(lag({ changes: [unaudited], containment: CONTAINMENT, audit: [event()] })).toEqual({ unpaired: [], containmentPending: false, until: LOOKED });
    // A containment older than the delay is no sign for what came after it: those changes are awaited one by one.
    expect(lag({ changes: [unaudited], containment: { ...CONTAINMENT, startedAt: iso(LOOKED - DELAY - 1) } }).unpaired).toEqual([unaudited]);
  });

  it('a delay of 0 waits for nothing', () => {
    expect(lag({ delayMs: 0, changes: [change()], containment: CONTAINMENT })).toEqual({ unpaired: [], containmentPending: false, until: LOOKED });
  });

  it('times that are not times (a hostile or broken record) are never awaited', () => {
    expect(lag({ changes: [change({ at: 'not a time' }), change({ at: '' })], containment: { ...CONTAINMENT, startedAt: '9999-99-99' } })).toEqual({ unpaired: [], containmentPending: false, until: LOOKED });
    expect(lag({ containment: { ...CONTAINMENT, startedAt: 'yesterday' } })).toEqual({ unpaired: [], containmentPending: false, until: LOOKED });
  });

  it('an event without a name or namespace does not stand for the containment, and many events are read once', () => {
    const noise = Array.from({ length: 20_000 }, (_, i) => event({ auditID: `n${i}`, objectRef: { resource: 'networkpolicies', ...(i % 2 ? { namespace: 'db' } : {}) } }));
    expect(lag({ containment: CONTAINMENT, audit: noise }).containmentPending).toBe(true);
    expect(lag({ containment: CONTAINMENT, audit: [...noise, event()] }).containmentPending).toBe(false);
  });
});
