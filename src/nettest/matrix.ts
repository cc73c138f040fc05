// The test matrix of the validate step: what the apps need (the collector's learned edges, which
// must stay allowed), what the incident must stop (its anomalous flows, which must be denied),
// and the repository's own netpol-tests.yaml. Pure.
import type { AnomalySummary } from '../playbook/steps/types.js';
import { NET_TEST_LIMITS, NET_TEST_PROTOCOLS, type NetTestCase, type NetTestProtocol } from './cases.js';
import { parseTestEndpoint } from './endpoint.js';

/** A connection the collector has seen: `ns/workload` or an IP on each side (learned.ts reads them). */
export interface LearnedEdge {
  src: string;
  dst: string;
  port: number;
  protocol: string;
}

export type AnomalyProbe = NonNullable<AnomalySummary['probes']>[number];

export interface MatrixInput {
  learned?: readonly LearnedEdge[];
  anomalies?: readonly AnomalyProbe[];
  file?: readonly NetTestCase[];
  /** Most cases kept (default NET_TEST_LIMITS.maxCases): file cases first, then anomalies, then learned edges. */
  limit?: number;
}

export interface NetTestMatrix {
  cases: NetTestCase[];
  /** What was left out and why (the cap, connections the engine cannot test). */
  notes: string[];
}

function protocolOf(text: string): NetTestProtocol | undefined {
  const upper = text.toUpperCase();
  return (NET_TEST_PROTOCOLS as readonly string[]).includes(upper) ? (upper as NetTestProtocol) : undefined;
}

/** Why the engine cannot test this connection, or undefined when it can. */
function untestable(src: string, dst: string, port: number, protocol: string): string | undefined {
  if (!protocolOf(protocol)) return `protocol ${protocol} (only TCP, UDP and SCTP are modelled)`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `port ${port}`;
  const a = parseTestEndpoint(src);
  const b = parseTestEndpoint(dst);
  if (typeof a === 'string' || typeof b === 'string') return 'an endpoint that is neither a workload nor an address';
  if (a.kind === 'address' && b.kind === 'address') return 'both ends outside the cluster';
  return undefined;
}

function key(c: NetTestCase): string {
  return [c.from, c.to, String(c.port), c.protocol, c.expect].join('\u0000');
}

function summarize(skipped: Map<string, number>, what: string): string[] {
  return [...skipped].map(([why, n]) => `${n} ${what} not tested: ${why}`);
}

/**
 * The matrix with its notes. Identical cases (same from, to, port, protocol and expectation) are
 * kept once, the first in priority order: file, anomaly, learned.
 */
export function buildMatrix(input: MatrixInput): NetTestMatrix {
  const limit = input.limit ?? NET_TEST_LIMITS.maxCases;
  const notes: string[] = [];
  const candidates: NetTestCase[] = [...(input.file ?? [])];

  const skippedProbes = new Map<string, number>();
  for (const p of input.anomalies ?? []) {
    const why = untestable(p.src, p.dst, p.port, p.protocol);
    if (why) skippedProbes.set(why, (skippedProbes.get(why) ?? 0) + 1);
    else candidates.push({ from: p.src, to: p.dst, port: p.port, protocol: protocolOf(p.protocol) as NetTestProtocol, expect: 'deny', origin: 'anomaly' });
  }
  const skippedEdges = new Map<string, number>();
  for (const e of input.learned ?? []) {
    const why = untestable(e.src, e.dst, e.port, e.protocol);
    if (why) skippedEdges.set(why, (skippedEdges.get(why) ?? 0) + 1);
    else candidates.push({ from: e.src, to: e.dst, port: e.port, protocol: protocolOf(e.protocol) as NetTestProtocol, expect: 'allow', origin: 'learned' });
  }
  notes.push(...summarize(skippedProbes, 'anomalous flow(s)'), ...summarize(skippedEdges, 'learned edge(s)'));

  const seen = new Set<string>();
  const unique = candidates.filter((c) => {
    const k = key(c);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const cases = unique.slice(0, Math.max(0, limit));
  const dropped = unique.slice(cases.length);
  if (dropped.length > 0) {
    const by = (origin: NetTestCase['origin']): number => dropped.filter((c) => c.origin === origin).length;
    const parts = [`${by('learned')} learned`, `${by('anomaly')} anomaly`, `${by('file')} file`].filter((p) => !p.startsWith('0 '));
    notes.push(`the matrix is capped at ${limit} cases: ${dropped.length} left out (${parts.join(', ')})`);
  }
  return { cases, notes };
}

/** The matrix's cases (see buildMatrix for the notes on what was left out). */
export function matrixFrom(input: MatrixInput): NetTestCase[] {
  return buildMatrix(input).cases;
}
