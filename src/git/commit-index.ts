// Builds the per-commit index of declared objects from the clone. Blob ids are content hashes,
// so a file unchanged between commits is parsed once (an LRU of parsed blobs), and a commit's
// index is kept in a small LRU too: only changed files cost anything at a new commit.
import { buildCommitIndex, type CommitIndex, type IndexedFile } from './locate.js';
import { isKustomizationPath, isManifestPath, manifestEntries, type ParsedManifest } from './manifests.js';
import { batches, listTree, readBlobs } from './objects.js';

export interface IndexLimits {
  maxFileBytes: number;
  /** Files beyond this count are not indexed (listed as skipped). */
  maxFiles: number;
  timeoutMs: number;
}

const BLOB_CACHE_ENTRIES = 100_000;
const COMMIT_CACHE_ENTRIES = 16;
/** Blobs per `git cat-file --batch` call, and bytes: keeps one call's output bounded. */
const BATCH_BLOBS = 2000;
const BATCH_BYTES = 32 * 1024 * 1024;

/** A small least-recently-used map. */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly capacity: number) {}
  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }
  delete(k: K): void {
    this.map.delete(k);
  }
  get size(): number {
    return this.map.size;
  }
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class CommitIndexer {
  private readonly blobs = new Lru<string, ParsedManifest>(BLOB_CACHE_ENTRIES);
  private readonly commits = new Lru<string, Promise<CommitIndex>>(COMMIT_CACHE_ENTRIES);

  constructor(
    private readonly repoDir: string,
    private readonly paths: string[],
    private readonly limits: IndexLimits,
  ) {}

  /** The index of a commit (a full sha); built once, then served from the cache. */
  index(commit: string): Promise<CommitIndex> {
    const cached = this.commits.get(commit);
    if (cached) return cached;
    const building = this.build(commit);
    this.commits.set(commit, building);
    building.catch(() => this.commits.delete(commit));
    return building;
  }

  get cachedBlobs(): number {
    return this.blobs.size;
  }

  private async build(commit: string): Promise<CommitIndex> {
    const tree = await listTree(this.repoDir, commit, this.paths, this.limits.timeoutMs);
    const skipped: CommitIndex['skipped'] = [];
    const files: IndexedFile[] = [];
    const toRead: Array<{ path: string; oid: string; size: number }> = [];
    let manifests = 0;
    for (const entry of tree) {
      if (!isManifestPath(entry.path)) continue;
      if (entry.type === 'commit') {
        skipped.push({ path: entry.path, reason: 'a submodule (not followed)' });
        continue;
      }
      if (entry.mode === '120000') {
        skipped.push({ path: entry.path, reason: 'a symbolic link (not followed)' });
        continue;
      }
      if (entry.type !== 'blob') continue;
      if ((entry.size ?? 0) > this.limits.maxFileBytes) {
        skipped.push({ path: entry.path, reason: `larger than ${this.limits.maxFileBytes} bytes (${entry.size} bytes)` });
        continue;
      }
      if (++manifests > this.limits.maxFiles) {
        skipped.push({ path: entry.path, reason: `more than ${this.limits.maxFiles} manifest files` });
        continue;
      }
      const parsed = this.blobs.get(blobKey(entry.path, entry.oid));
      if (parsed) files.push(indexed(entry.path, entry.oid, parsed, skipped));
      else toRead.push({ path: entry.path, oid: entry.oid, size: entry.size ?? 0 });
    }
    for (const batch of batches(toRead, BATCH_BLOBS, BATCH_BYTES)) {
      const contents = await readBlobs(this.repoDir, [...new Set(batch.map((b) => b.oid))], batch.reduce((n, b) => n + b.size, 0), this.limits.timeoutMs);
      let parsedSinceYield = 0;
      for (const { path, oid } of batch) {
        let parsed = this.blobs.get(blobKey(path, oid));
        if (!parsed) {
          const content = contents.get(oid);
          parsed = content ? manifestEntries(content.toString('utf8'), path) : { entries: [], problems: ['could not be read from the clone'] };
          this.blobs.set(blobKey(path, oid), parsed);
          // Parsing thousands of files must not starve the rest of the bot.
          if (++parsedSinceYield % 100 === 0) await yieldToLoop();
        }
        files.push(indexed(path, oid, parsed, skipped));
      }
    }
    return buildCommitIndex(commit, files, skipped);
  }
}

/** How a blob is parsed depends on its file name (JSON, YAML, kustomization), so that is part of the key. */
function blobKey(path: string, oid: string): string {
  return `${oid}:${isKustomizationPath(path) ? 'k' : /\.json$/i.test(path) ? 'j' : 'y'}`;
}

function indexed(path: string, oid: string, parsed: ParsedManifest, skipped: CommitIndex['skipped']): IndexedFile {
  for (const problem of parsed.problems) skipped.push({ path, reason: problem });
  return { path, oid, entries: parsed.entries, ...(parsed.kustomizeNamespace ? { kustomizeNamespace: parsed.kustomizeNamespace } : {}) };
}

