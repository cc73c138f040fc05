// A workload's (or one edge's) flow rate far above its learned level, judged with robust
// statistics: median/MAD of the workload's recent buckets, EWMA mean/deviation per edge.
// Fires exactly once per bucket, at the flow that crosses the threshold.
import type { Baseline, Observation, SideObservation } from '../baseline.js';
import { peerLabel } from '../peers.js';
import type { Anomaly } from '../types.js';
import { robustThreshold, type DetectorConfig } from './config.js';
import { anomaly } from './common.js';

function workloadSpike(obs: Observation, side: SideObservation, config: DetectorConfig, bucketMs: number): Anomaly | null {
  const c = config.volumeSpike;
  const w = side.workload;
  if (w.historyLen < c.minHistoryBuckets) return null;
  const threshold = robustThreshold(w.flowMedian, w.flowMad, c.madFactor, c.minRatio, c.minCount);
  if (w.flows !== threshold) return null;
  const perMin = 60_000 / bucketMs;
  return anomaly(
    'volume-spike',
    w.flows >= 10 * Math.max(w.flowMedian, 1) ? 'high' : 'medium',
    `Traffic spike for ${w.key}: ${w.flows} flows this bucket, usually ${w.flowMedian}`,
    w,
    {
      metric: 'flows per bucket (workload)',
      expected: w.flowMedian,
      observed: w.flows,
      unit: `flows per ${bucketMs / 1000}s`,
      description: `median ${w.flowMedian} (MAD ${w.flowMad}) over the last ${w.historyLen} buckets; threshold ${threshold}${perMin !== 1 ? '' : ' per minute'}`,
    },
    `volume-spike:${w.key}`,
    obs.flow,
    { threshold: String(threshold) },
  );
}

function edgeSpike(obs: Observation, side: SideObservation, baseline: Baseline, config: DetectorConfig): Anomaly | null {
  const c = config.volumeSpike;
  const edge = side.edges[0];
  if (!edge || edge.isNew) return null;
  // The threshold is at least edgeMinCount: below it, skip building the edge's figures (every flow gets here).
  if (baseline.edgeBucketCount(edge.slot, obs.time) < c.edgeMinCount) return null;
  const figures = baseline.edge(edge.slot, obs.time);
  if (obs.time - figures.firstSeen < baseline.options.learningPeriodMs) return null;
  const threshold = Math.max(c.edgeMinCount, Math.ceil(c.edgeMinRatio * Math.max(figures.rateMean, 1)), Math.floor(figures.rateMean + c.edgeDevFactor * Math.max(figures.rateDev, 1)) + 1);
  if (figures.bucketCount !== threshold) return null;
  const w = side.workload;
  const peer = peerLabel(edge.peer);
  return anomaly(
    'volume-spike',
    'medium',
    `Traffic spike on ${w.key} → ${peer}:${edge.port}: ${figures.bucketCount} flows this bucket, usually ${figures.rateMean.toFixed(1)}`,
    w,
    {
      metric: 'flows per bucket (edge)',
      expected: Number(figures.rateMean.toFixed(2)),
      observed: figures.bucketCount,
      unit: `flows per ${baseline.options.bucketMs / 1000}s`,
      description: `EWMA ${figures.rateMean.toFixed(1)} ± ${figures.rateDev.toFixed(1)} on this edge; threshold ${threshold}`,
    },
    // Same key as the workload-level spike: one surge is one alert, whichever level noticed it first.
    `volume-spike:${w.key}`,
    obs.flow,
    { peer, port: String(edge.port), direction: edge.direction, threshold: String(threshold) },
  );
}

export function detectVolumeSpikes(obs: Observation, baseline: Baseline, config: DetectorConfig): Anomaly[] {
  if (!config.volumeSpike.enabled) return [];
  const found: Anomaly[] = [];
  for (let i = 0; i < 2; i++) {
    const side = i === 0 ? obs.source : obs.destination;
    if (!side || side.learning || side.edges.length === 0) continue;
    const spike = workloadSpike(obs, side, config, baseline.options.bucketMs) ?? edgeSpike(obs, side, baseline, config);
    if (spike) found.push(spike);
  }
  return found;
}
