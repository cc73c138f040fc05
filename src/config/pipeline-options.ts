// The collector section of the configuration as flow-pipeline options: the same mapping for the
// running collector and for `replay --config`, so thresholds tuned offline are the ones that run.
import type { PipelineOptions } from '../flows/pipeline.js';
import type { FileConfig } from './schema.js';

export type CollectorSettings = Partial<Pick<NonNullable<FileConfig['collector']>, 'learningPeriod' | 'cooldown' | 'detectors' | 'baseline'>>;

export function pipelineOptionsOf(settings: CollectorSettings = {}): Partial<PipelineOptions> {
  const { bucket, halfLife, fanoutWindow, ...bounds } = settings.baseline ?? {};
  const baseline: PipelineOptions['baseline'] = { ...bounds };
  if (bucket !== undefined) baseline.bucketMs = bucket;
  if (halfLife !== undefined) baseline.halfLifeMs = halfLife;
  if (fanoutWindow !== undefined) baseline.fanoutWindowMs = fanoutWindow;
  if (settings.learningPeriod !== undefined) baseline.learningPeriodMs = settings.learningPeriod;
  return {
    baseline,
    detectors: settings.detectors ?? {},
    ...(settings.cooldown !== undefined ? { cooldownMs: settings.cooldown } : {}),
  };
}
