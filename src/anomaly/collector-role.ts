// The collector role: runs the flow collector, raises its anomalies through the desk, and keeps
// the alert gate in line with "Dismiss as expected" decisions (those already taken, and new ones
// as they arrive on the feedback stream), whichever replica holds the collector lock.
import type { RedisClient } from '../redis/connect.js';
import { FlowCollector, type CollectorSource } from '../flows/collector.js';
import type { PipelineOptions } from '../flows/pipeline.js';
import { flowsKeyPrefix } from '../flows/watch-registry.js';
import type { Logger } from '../log.js';
import type { AnomalyDesk } from './desk.js';
import type { AnomalyStore } from './store.js';

export interface CollectorRoleOptions {
  source: CollectorSource;
  redis: RedisClient;
  keyPrefix: string;
  desk: AnomalyDesk;
  store: AnomalyStore;
  /** Learning period, cooldown, detector thresholds and baseline bounds. */
  pipeline: Partial<PipelineOptions>;
  logger: Logger;
  /** Flow-time clock; the embedded environment replays a scenario with its own times. */
  now?: () => number;
}

export interface CollectorRole {
  collector: FlowCollector;
  stop(): Promise<void>;
}

export async function startCollectorRole(options: CollectorRoleOptions): Promise<CollectorRole> {
  const { store, logger } = options;
  const collector = new FlowCollector({
    source: options.source,
    onAnomaly: (anomaly) => options.desk.raise(anomaly),
    redis: options.redis,
    // The worker finds the lock and the traffic watches under the same prefix (watch-registry.ts).
    keyPrefix: flowsKeyPrefix(options.keyPrefix),
    pipeline: options.pipeline,
    logger,
    ...(options.now ? { now: options.now } : {}),
  });

  // Read the stream position first so no dismissal falls between the snapshot and the tail.
  const last = await options.redis.xrevrange(store.feedbackStream, '+', '-', 'COUNT', 1);
  let cursor = last[0]?.[0] ?? '0-0';
  for (const d of await store.dismissals()) collector.pipeline.gate.mute(d.dedupeKey, d.until);

  const reader = options.redis.duplicate();
  let stopped = false;
  const follow = async (): Promise<void> => {
    while (!stopped) {
      try {
        const batch = await reader.xread('COUNT', 100, 'BLOCK', 1000, 'STREAMS', store.feedbackStream, cursor);
        for (const [, entries] of batch ?? []) {
          for (const [id, fields] of entries) {
            cursor = id;
            const value = (name: string): string | undefined => fields[fields.indexOf(name) + 1];
            const dedupeKey = value('dedupeKey');
            const until = Number(value('until'));
            if (dedupeKey && Number.isFinite(until)) collector.pipeline.gate.mute(dedupeKey, until);
          }
        }
      } catch (error) {
        if (stopped) return;
        logger.warn({ err: error }, 'reading anomaly dismissals failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  const following = follow();
  await collector.start();
  logger.info({ source: options.source.kind, active: collector.isActive }, 'flow collector started');
  return {
    collector,
    async stop() {
      stopped = true;
      await collector.stop();
      reader.disconnect();
      await following;
    },
  };
}
