// Flows dropped by network policy for a workload well above its normal drop rate (median/MAD).
import type { Baseline, Observation } from '../baseline.js';
import type { Anomaly } from '../types.js';
import { robustThreshold, type DetectorConfig } from './config.js';
import { anomaly } from './common.js';

export function detectPolicyDenySpike(obs: Observation, baseline: Baseline, config: DetectorConfig): Anomaly[] {
  const c = config.policyDenySpike;
  if (!c.enabled || !obs.policyDrop) return [];
  const found: Anomaly[] = [];
  for (const side of [obs.source, obs.destination]) {
    if (!side || side.learning) continue;
    const w = side.workload;
    if (w.historyLen < c.minHistoryBuckets) continue;
    const threshold = robustThreshold(w.dropMedian, w.dropMad, c.madFactor, c.minRatio, c.minCount);
    if (w.drops !== threshold) continue;
    found.push(
      anomaly(
        'policy-deny-spike',
        w.drops >= 10 * Math.max(w.dropMedian, 1) ? 'high' : 'medium',
        `Spike of policy drops for ${w.key}: ${w.drops} this bucket, usually ${w.dropMedian}`,
        w,
        {
          metric: 'flows dropped by policy per bucket',
          expected: w.dropMedian,
          observed: w.drops,
          unit: `drops per ${baseline.options.bucketMs / 1000}s`,
          description: `median ${w.dropMedian} (MAD ${w.dropMad}) over the last ${w.historyLen} buckets; threshold ${threshold}`,
        },
        `policy-deny-spike:${w.key}`,
        obs.flow,
        { threshold: String(threshold), dropReason: obs.flow.dropReason },
      ),
    );
  }
  return found;
}
