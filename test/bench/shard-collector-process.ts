// One sharded collector process for the flows benchmark: runs FlowCollector with sharding against
// the relay given in argv, and reports its counts to the parent (IPC) every 200 ms.
import { Redis } from 'ioredis';
import { FlowCollector } from '../../src/flows/collector.js';
import { createLogger, silentLogger } from '../../src/log.js';

const [address, redisUrl, keyPrefix, fieldMask, since] = process.argv.slice(2) as [string, string, string, string, string];
const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
const collector = new FlowCollector({
  // From the measured flows' start: flows published before this process's stream reached the relay are replayed, not missed.
  source: { kind: 'hubble-relay', address, since: Number(since), fieldMask: fieldMask !== 'off', sharding: { leaseTtlMs: 3_000, heartbeatMs: 500, snapshotEveryMs: 0 } },
  onAnomaly: () => undefined,
  redis,
  keyPrefix,
  snapshotEveryMs: 0,
  pipeline: { baseline: { learningPeriodMs: 0 } },
  now: () => Date.UTC(2026, 0, 16),
  // BENCH_VERBOSE: the collector's own log on stderr.
  logger: process.env.BENCH_VERBOSE ? createLogger({ level: 'info' }, process.stderr) : silentLogger,
});
await collector.start();
const report = (): void => {
  if (process.connected) process.send?.({ owned: collector.shards?.owned.length ?? 0, members: collector.shards?.members.members?.length ?? 0, counts: collector.pipeline.counts, cpu: process.cpuUsage() });
};
const timer = setInterval(report, 200);
process.on('message', (m: { stop?: boolean }) => {
  if (!m.stop) return;
  clearInterval(timer);
  void collector.stop().then(() => {
    redis.disconnect();
    process.exit(0);
  });
});
