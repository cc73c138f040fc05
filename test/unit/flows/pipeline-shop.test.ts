import { describe, expect, it } from 'vitest';
import { FlowPipeline } from '../../../src/flows/pipeline.js';
import { EXFIL_IP, shopTimeline, shopTraffic } from '../../../src/sim/hubble/shop-traffic.js';

describe('pipeline over the shop scenario', () => {
  it('learns normal traffic silently, then raises the exfiltration and the policy-deny spike once each', () => {
    const pipeline = new FlowPipeline();
    const raised = [];
    for (const record of shopTraffic()) raised.push(...pipeline.processLine(JSON.stringify(record)));
    const kinds = raised.map((a) => `${a.kind} ${a.workload.namespace}/${a.workload.name}`);
    expect(kinds.sort()).toEqual(['new-external-egress db/postgres', 'policy-deny-spike db/postgres']);

    const exfil = raised.find((a) => a.kind === 'new-external-egress');
    expect(exfil?.details.peer).toBe(EXFIL_IP);
    expect(exfil?.details.port).toBe('443');
    expect(exfil?.details.cidr).toBe('203.0.113.0/24');
    expect(exfil?.severity).toBe('high');
    expect(exfil?.scope).toEqual({ namespace: 'db', podSelector: { app: 'postgres' }, reason: 'pods of db/postgres, selected by app=postgres' });
    expect(exfil?.baseline.expected).toBe(0);
    expect(exfil?.evidence[0]?.destination.ip).toBe(EXFIL_IP);
    expect(exfil?.firstSeen).toBeGreaterThanOrEqual(shopTimeline().incidentStart);

    const deny = raised.find((a) => a.kind === 'policy-deny-spike');
    expect(deny?.evidence.length).toBeGreaterThan(1);
    expect(deny?.evidence.every((f) => f.verdict === 'DROPPED')).toBe(true);
    expect(pipeline.gate.suppressed).toBeGreaterThan(0);
    expect(pipeline.counts.skipped).toEqual({});
  });

  it('raises nothing when the learning period covers the incident', () => {
    const pipeline = new FlowPipeline({ baseline: { learningPeriodMs: 24 * 3_600_000 } });
    let n = 0;
    for (const record of shopTraffic()) n += pipeline.processLine(JSON.stringify(record)).length;
    expect(n).toBe(0);
  });
});
