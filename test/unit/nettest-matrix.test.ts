// The validate step's test matrix: learned edges must stay allowed, anomalous flows must be
// denied, file cases come first; duplicates kept once; what cannot be tested and the cap noted.
import { describe, expect, it } from 'vitest';
import type { NetTestCase } from '../../src/nettest/cases.js';
import { buildMatrix, matrixFrom, type AnomalyProbe, type LearnedEdge } from '../../src/nettest/matrix.js';

const fileCase: NetTestCase = { name: 'web reaches orders', from: 'front/web', to: 'api/orders', port: 8080, protocol: 'TCP', expect: 'allow', origin: 'file', line: 2 };
const probe = (src: string, dst: string, port = 443, protocol: AnomalyProbe['protocol'] = 'TCP'): AnomalyProbe => ({ src, dst, port, protocol, at: 1_700_000_000_000 });
const edge = (src: string, dst: string, port: number, protocol = 'TCP'): LearnedEdge => ({ src, dst, port, protocol });

describe('buildMatrix', () => {
  it('file cases, then anomalies (deny), then learned edges (allow)', () => {
    const m = buildMatrix({ file: [fileCase], anomalies: [probe('db/postgres-0', '203.0.113.66')], learned: [edge('api/orders', 'db/postgres', 5432), edge('front/web', 'kube-system/coredns', 53, 'udp')] });
    expect(m).toEqual({
      cases: [
        fileCase,
        { from: 'db/postgres-0', to: '203.0.113.66', port: 443, protocol: 'TCP', expect: 'deny', origin: 'anomaly' },
        { from: 'api/orders', to: 'db/postgres', port: 5432, protocol: 'TCP', expect: 'allow', origin: 'learned' },
        { from: 'front/web', to: 'kube-system/coredns', port: 53, protocol: 'UDP', expect: 'allow', origin: 'learned' },
      ],
      notes: [],
    });
    expect(matrixFrom({ file: [fileCase], learned: [edge('a/b', 'c/d', 1)] })).toEqual(buildMatrix({ file: [fileCase], learned: [edge('a/b', 'c/d', 1)] }).cases);
    expect(buildMatrix({})).toEqual({ cases: [], notes: [] });
  });

  it('keeps identical cases once, the first in priority order', () => {
    const sameAsFile = edge('front/web', 'api/orders', 8080);
    const m = buildMatrix({
      file: [fileCase],
      anomalies: [probe('a/x', '1.2.3.4'), probe('a/x', '1.2.3.4'), { ...probe('a/x', '1.2.3.4'), at: 5 }],
      learned: [sameAsFile, edge('a/b', 'c/d', 80), edge('a/b', 'c/d', 80), edge('a/b', 'c/d', 80, 'tcp')],
    });
    expect(m.cases.map((c) => `${c.origin} ${c.from} ${c.to} ${c.port} ${c.expect}`)).toEqual(['file front/web api/orders 8080 allow', 'anomaly a/x 1.2.3.4 443 deny', 'learned a/b c/d 80 allow']);
    // The same connection expected both ways is a contradiction to show, not a duplicate.
    const both = buildMatrix({ anomalies: [probe('a/b', 'c/d', 80)], learned: [edge('a/b', 'c/d', 80)] });
    expect(both.cases.map((c) => c.expect)).toEqual(['deny', 'allow']);
  });

  it('notes what the engine cannot test instead of making failing cases of it', () => {
    const m = buildMatrix({
      anomalies: [probe('1.1.1.1', '2.2.2.2'), probe('a/b', 'c/d', 0)],
      learned: [edge('a/b', 'c/d', 0, 'ICMPv4'), edge('a/b', 'c/d', 0, 'ICMPv4'), edge('a/b', 'c/d', 70000), edge('a/b', 'not an endpoint', 80), edge('a/b', 'c/d', 53, 'DNS')],
    });
    expect(m.cases).toEqual([]);
    expect(m.notes).toEqual([
      '1 anomalous flow(s) not tested: both ends outside the cluster',
      '1 anomalous flow(s) not tested: port 0',
      '2 learned edge(s) not tested: protocol ICMPv4 (only TCP, UDP and SCTP are modelled)',
      '1 learned edge(s) not tested: port 70000',
      '1 learned edge(s) not tested: an endpoint that is neither a workload nor an address',
      '1 learned edge(s) not tested: protocol DNS (only TCP, UDP and SCTP are modelled)',
    ]);
  });

  it('caps the matrix, dropping learned edges first, and says so', () => {
    const learned = Array.from({ length: 50 }, (_, i) => edge('a/b', 'c/d', i + 1));
    const anomalies = Array.from({ length: 5 }, (_, i) => probe('a/x', `198.51.100.${i}`));
    const m = buildMatrix({ file: [fileCase], anomalies, learned, limit: 10 });
    expect(m.cases).toHaveLength(10);
    expect(m.cases.map((c) => c.origin)).toEqual(['file', ...Array(5).fill('anomaly'), ...Array(4).fill('learned')]);
    expect(m.notes).toEqual(['the matrix is capped at 10 cases: 46 left out (46 learned)']);
    const tight = buildMatrix({ file: [fileCase], anomalies, learned, limit: 3 });
    expect(tight.notes).toEqual(['the matrix is capped at 3 cases: 53 left out (50 learned, 3 anomaly)']);
    expect(buildMatrix({ learned: learned.slice(0, 3), limit: 3 }).notes).toEqual([]);
    expect(buildMatrix({ learned, limit: 0 }).cases).toEqual([]);
    // Default: the file format's own limit.
    expect(buildMatrix({ learned: Array.from({ length: 10_050 }, (_, i) => edge(`a/w${i}`, 'c/d', 80)) }).notes).toEqual(['the matrix is capped at 10000 cases: 50 left out (50 learned)']);
  });
});
