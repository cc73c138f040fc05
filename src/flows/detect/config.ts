// Detector thresholds. Defaults are documented in docs/flows.md; every figure is overridable.
export interface DetectorConfig {
  newExternalEgress: { enabled: boolean };
  newEastWestEdge: { enabled: boolean };
  volumeSpike: {
    enabled: boolean;
    /** Completed buckets of history needed before a workload's rate is judged. */
    minHistoryBuckets: number;
    /** Spike when the bucket count exceeds median + madFactor × 1.4826 × MAD … */
    madFactor: number;
    /** … and is at least minRatio × the median … */
    minRatio: number;
    /** … and at least this many flows in the bucket. */
    minCount: number;
    /** Per-edge spike: count > EWMA mean + edgeDevFactor × EWMA deviation, ≥ edgeMinRatio × mean, ≥ edgeMinCount. */
    edgeDevFactor: number;
    edgeMinRatio: number;
    edgeMinCount: number;
  };
  policyDenySpike: {
    enabled: boolean;
    minHistoryBuckets: number;
    madFactor: number;
    minRatio: number;
    minCount: number;
  };
  fanOut: {
    enabled: boolean;
    /** Distinct destinations (peer × port) in one window that always count as a scan … */
    minDistinct: number;
    /** … or more than peakFactor × the largest fan-out learned for the workload, whichever is higher. */
    peakFactor: number;
  };
}

export const DEFAULT_DETECTOR_CONFIG: DetectorConfig = {
  newExternalEgress: { enabled: true },
  newEastWestEdge: { enabled: true },
  volumeSpike: { enabled: true, minHistoryBuckets: 10, madFactor: 6, minRatio: 3, minCount: 50, edgeDevFactor: 8, edgeMinRatio: 5, edgeMinCount: 100 },
  policyDenySpike: { enabled: true, minHistoryBuckets: 10, madFactor: 6, minRatio: 3, minCount: 10 },
  fanOut: { enabled: true, minDistinct: 30, peakFactor: 3 },
};

export type DetectorOverrides = { [K in keyof DetectorConfig]?: Partial<DetectorConfig[K]> };

export function detectorConfig(overrides: DetectorOverrides = {}): DetectorConfig {
  return {
    newExternalEgress: { ...DEFAULT_DETECTOR_CONFIG.newExternalEgress, ...overrides.newExternalEgress },
    newEastWestEdge: { ...DEFAULT_DETECTOR_CONFIG.newEastWestEdge, ...overrides.newEastWestEdge },
    volumeSpike: { ...DEFAULT_DETECTOR_CONFIG.volumeSpike, ...overrides.volumeSpike },
    policyDenySpike: { ...DEFAULT_DETECTOR_CONFIG.policyDenySpike, ...overrides.policyDenySpike },
    fanOut: { ...DEFAULT_DETECTOR_CONFIG.fanOut, ...overrides.fanOut },
  };
}

/** Median + k·1.4826·MAD (MAD floored so a flat history does not alert on +1), as an integer crossing point. */
export function robustThreshold(median: number, mad: number, madFactor: number, minRatio: number, minCount: number): number {
  const spread = Math.max(mad, 0.1 * median, 1) * 1.4826;
  return Math.max(minCount, Math.ceil(minRatio * Math.max(median, 1)), Math.floor(median + madFactor * spread) + 1);
}
