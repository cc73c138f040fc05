// All detectors over one observation. Pure: reads the baseline, changes nothing.
import type { Baseline, Observation } from '../baseline.js';
import type { Anomaly } from '../types.js';
import type { DetectorConfig } from './config.js';
import { detectFanOut } from './fan-out.js';
import { detectNewEastWestEdge } from './new-east-west-edge.js';
import { detectNewExternalEgress } from './new-external-egress.js';
import { detectPolicyDenySpike } from './policy-deny-spike.js';
import { detectVolumeSpikes } from './volume-spike.js';

export { DEFAULT_DETECTOR_CONFIG, detectorConfig, robustThreshold, type DetectorConfig, type DetectorOverrides } from './config.js';

export function detectAll(obs: Observation, baseline: Baseline, config: DetectorConfig): Anomaly[] {
  if (!obs.source && !obs.destination) return [];
  const found: Anomaly[] = [];
  const egress = detectNewExternalEgress(obs, baseline, config);
  if (egress) found.push(egress);
  const edge = detectNewEastWestEdge(obs, config);
  if (edge) found.push(edge);
  // Loops rather than push(...spread): this runs for every flow and the lists are nearly always empty.
  for (const spike of detectVolumeSpikes(obs, baseline, config)) found.push(spike);
  for (const spike of detectPolicyDenySpike(obs, baseline, config)) found.push(spike);
  const fan = detectFanOut(obs, baseline, config);
  if (fan) found.push(fan);
  return found;
}
