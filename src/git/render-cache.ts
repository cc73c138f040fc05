// Parsed plain manifest files by blob id, kept between renders: a blob id is a content hash, so a
// file unchanged between commits is parsed once and a new commit parses only the files it
// changed. Bounded by the source bytes held (the parsed objects take a few times that). The
// cached objects are shared by every render that uses the file, as one commit's render already
// is by all its readers: nobody may change them.
import type { LocatedProblem, ManifestObject } from './manifests.js';

export interface ParsedFile {
  objects: Array<ManifestObject & { line?: number }>;
  problems: LocatedProblem[];
}

/** 32 MiB of manifests: some 80,000 small policies. */
export const DEFAULT_RENDER_CACHE_BYTES = 32 * 1024 * 1024;

export class RenderCache {
  private readonly files = new Map<string, { parsed: ParsedFile; bytes: number }>();
  private heldBytes = 0;
  /** Files parsed since the cache was made (a file served from the cache is not counted). */
  parsedFiles = 0;

  constructor(private readonly maxBytes = DEFAULT_RENDER_CACHE_BYTES) {}

  /** The parsed file, if this blob was parsed the way this path asks (JSON or YAML) and is still held. */
  get(oid: string, path: string): ParsedFile | undefined {
    const key = cacheKey(oid, path);
    const entry = this.files.get(key);
    if (!entry) return undefined;
    // Least recently used first in the map's order.
    this.files.delete(key);
    this.files.set(key, entry);
    return entry.parsed;
  }

  set(oid: string, path: string, bytes: number, parsed: ParsedFile): void {
    const key = cacheKey(oid, path);
    const old = this.files.get(key);
    if (old) {
      this.files.delete(key);
      this.heldBytes -= old.bytes;
    }
    if (bytes > this.maxBytes) return;
    this.files.set(key, { parsed, bytes });
    this.heldBytes += bytes;
    for (const [k, entry] of this.files) {
      if (this.heldBytes <= this.maxBytes) break;
      this.files.delete(k);
      this.heldBytes -= entry.bytes;
    }
  }

  get size(): number {
    return this.files.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }
}

/** How a blob is parsed depends on its file name (JSON or YAML), so that is part of the key. */
function cacheKey(oid: string, path: string): string {
  return `${oid}:${/\.json$/i.test(path) ? 'j' : 'y'}`;
}
