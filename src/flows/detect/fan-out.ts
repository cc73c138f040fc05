// Fan-out / scan: one workload reaching many distinct destinations (peer × port) in a short window.
import type { Baseline, Observation } from '../baseline.js';
import type { Anomaly } from '../types.js';
import type { DetectorConfig } from './config.js';
import { anomaly } from './common.js';

export function detectFanOut(obs: Observation, baseline: Baseline, config: DetectorConfig): Anomaly | null {
  const c = config.fanOut;
  const side = obs.source;
  if (!c.enabled || !side || side.learning || !side.fanoutGrew) return null;
  const w = side.workload;
  const threshold = Math.max(c.minDistinct, Math.ceil(c.peakFactor * w.fanoutPeak) + 1);
  if (w.fanout.size !== threshold) return null;
  const windowS = baseline.options.fanoutWindowMs / 1000;
  return anomaly(
    'fan-out',
    'high',
    `${w.key} reached ${w.fanout.size} distinct destinations in ${windowS}s (scan?)`,
    w,
    {
      metric: 'distinct destinations (peer × port) per window',
      expected: Math.round(w.fanoutPeak),
      observed: w.fanout.size,
      unit: `destinations per ${windowS}s`,
      description: `largest fan-out learned for ${w.key} is ${Math.round(w.fanoutPeak)}; threshold ${threshold}`,
    },
    `fan-out:${w.key}`,
    obs.flow,
    { threshold: String(threshold), sample: baseline.fanoutSample(w, 10).join(', ') },
  );
}
