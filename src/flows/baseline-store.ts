// Baseline snapshots in Redis, so a collector restart (or a standby taking over) does not relearn
// from zero. A snapshot is written under a fresh generation (meta + edge chunks), then the
// "current" pointer is switched in one command and the previous generation deleted: a reader
// never sees half a snapshot.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connect.js';
import { Baseline, type BaselineOptions, type BaselineSnapshot, type EdgeSnapshot, type WorkloadSnapshot } from './baseline.js';

export interface BaselineStoreOptions {
  /** Key prefix, e.g. "netpol:<cluster>". */
  prefix: string;
  /** Edges per chunk (one Redis string each). */
  chunkSize?: number;
  /** Snapshots older than this are ignored on load (a baseline that stale is misleading). */
  maxAgeMs?: number;
}

interface SnapshotMeta {
  version: 1;
  savedAt: number;
  startedAt: number | null;
  chunks: number;
  edges: number;
  workloads: WorkloadSnapshot[];
}

export type LoadResult = { baseline: Baseline; savedAt: number; edges: number } | { baseline: null; reason: string };

export class BaselineStore {
  private readonly chunkSize: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: BaselineStoreOptions,
  ) {
    this.chunkSize = options.chunkSize ?? 50_000;
  }

  private key(...parts: string[]): string {
    return [this.options.prefix, 'baseline', ...parts].join(':');
  }

  /** Writes the snapshot; `savedAt` is the caller's clock (flow time or wall clock). */
  async save(baseline: Baseline, savedAt: number): Promise<{ generation: string; edges: number }> {
    const snapshot = baseline.snapshot();
    const generation = `${savedAt}-${randomBytes(4).toString('hex')}`;
    const chunks = Math.ceil(snapshot.edges.length / this.chunkSize);
    const meta: SnapshotMeta = { version: 1, savedAt, startedAt: snapshot.startedAt, chunks, edges: snapshot.edges.length, workloads: snapshot.workloads };
    const write = this.redis.multi();
    write.set(this.key(generation, 'meta'), JSON.stringify(meta));
    for (let i = 0; i < chunks; i++) {
      write.set(this.key(generation, 'edges', String(i)), JSON.stringify(snapshot.edges.slice(i * this.chunkSize, (i + 1) * this.chunkSize)));
    }
    await write.exec();
    const previous = await this.redis.getset(this.key('current'), generation);
    if (previous && previous !== generation) await this.deleteGeneration(previous);
    return { generation, edges: snapshot.edges.length };
  }

  async load(now: number, options: Partial<BaselineOptions> = {}): Promise<LoadResult> {
    const generation = await this.redis.get(this.key('current'));
    if (!generation) return { baseline: null, reason: 'no snapshot' };
    const rawMeta = await this.redis.get(this.key(generation, 'meta'));
    if (!rawMeta) return { baseline: null, reason: `snapshot ${generation} has no meta` };
    let meta: SnapshotMeta;
    try {
      meta = JSON.parse(rawMeta) as SnapshotMeta;
    } catch {
      return { baseline: null, reason: `snapshot ${generation} meta is not JSON` };
    }
    if (meta.version !== 1 || !Array.isArray(meta.workloads) || !Number.isInteger(meta.chunks) || meta.chunks < 0) {
      return { baseline: null, reason: `snapshot ${generation} has an unknown format` };
    }
    if (this.options.maxAgeMs !== undefined && now - meta.savedAt > this.options.maxAgeMs) {
      return { baseline: null, reason: `snapshot is ${Math.round((now - meta.savedAt) / 60_000)} min old` };
    }
    const edges: EdgeSnapshot[] = [];
    for (let i = 0; i < meta.chunks; i++) {
      const raw = await this.redis.get(this.key(generation, 'edges', String(i)));
      if (!raw) return { baseline: null, reason: `snapshot ${generation} misses edge chunk ${i}` };
      try {
        const chunk = JSON.parse(raw) as unknown;
        if (!Array.isArray(chunk)) throw new Error('not an array');
        for (const e of chunk) if (Array.isArray(e) && e.length === 10 && typeof e[1] === 'string') edges.push(e as EdgeSnapshot);
      } catch {
        return { baseline: null, reason: `snapshot ${generation} edge chunk ${i} is corrupt` };
      }
    }
    const snapshot: BaselineSnapshot = { version: 1, startedAt: meta.startedAt, workloads: meta.workloads, edges };
    return { baseline: Baseline.fromSnapshot(snapshot, options), savedAt: meta.savedAt, edges: edges.length };
  }

  private async deleteGeneration(generation: string): Promise<void> {
    const meta = await this.redis.get(this.key(generation, 'meta'));
    let chunks = 0;
    try {
      chunks = meta ? (JSON.parse(meta) as SnapshotMeta).chunks : 0;
    } catch {
      chunks = 0;
    }
    const keys = [this.key(generation, 'meta'), ...Array.from({ length: chunks }, (_, i) => this.key(generation, 'edges', String(i)))];
    await this.redis.del(...keys);
  }
}
