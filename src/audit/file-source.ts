// Follows kube-apiserver's audit log (--audit-log-path) into the AuditStore: the current file as it
// grows and through rotation (the same follower as the Hubble JSON-lines source), and, once at
// start, the rotated files still inside the retention (plain or gzipped) for history. Reading a
// file twice is harmless: the store keeps one change per auditID.
import { JsonlFileFollower } from '../flows/sources/jsonl.js';
import type { Logger } from '../log.js';
import { readAuditFile, rotatedFiles } from './files.js';
import { parseAuditLine, type AuditParseOptions } from './parse.js';
import type { AuditStore } from './store.js';
import type { AuditChange } from './types.js';

export interface AuditFileSourceOptions {
  path: string;
  store: AuditStore;
  /** Also read the rotated files (those rotated within `maxAgeMs`) once at start. */
  history: boolean;
  maxAgeMs: number;
  pollMs: number;
  maxLineBytes: number;
  parse?: AuditParseOptions;
  logger: Logger;
  now?: () => number;
}

export interface AuditFileCounts {
  lines: number;
  changes: number;
  stored: number;
  skipped: Record<string, number>;
}

/** Changes waiting for Redis beyond this are dropped (counted as store_backlog): memory stays bounded. */
const MAX_PENDING = 10_000;
const RETRY_MS = 2000;

export class AuditFileSource {
  readonly counts: AuditFileCounts = { lines: 0, changes: 0, stored: 0, skipped: {} };
  private readonly follower: JsonlFileFollower;
  private pending: AuditChange[] = [];
  private flushing: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private history: Promise<void> | null = null;
  private stopped = false;
  private scheduled = false;

  constructor(private readonly options: AuditFileSourceOptions) {
    const sink = { onLine: (line: string) => this.onLine(line), onOversized: () => this.skip('oversized_line') };
    this.follower = new JsonlFileFollower(
      { path: options.path, pollMs: options.pollMs, maxLineLength: options.maxLineBytes, onError: (error) => options.logger.warn({ err: error, path: options.path }, 'reading the audit log failed; retrying') },
      sink,
    );
  }

  async start(): Promise<void> {
    // The current file is opened before the rotated ones are listed, so a rotation in between loses nothing.
    await this.follower.start();
    if (this.options.history) this.history = this.readHistory();
  }

  /** Reads what the current file holds now and stores what is pending (tests, shutdown). */
  async drain(): Promise<void> {
    await this.follower.poll();
    await this.history;
    await this.flush();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.follower.stop();
    await this.history;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.flush().catch(() => undefined);
  }

  private skip(reason: string): void {
    this.counts.skipped[reason] = (this.counts.skipped[reason] ?? 0) + 1;
  }

  private onLine(line: string): void {
    this.counts.lines += 1;
    const parsed = parseAuditLine(line, this.options.parse);
    if (parsed.skip) {
      if (parsed.skip !== 'blank') this.skip(parsed.skip);
      return;
    }
    this.counts.changes += 1;
    if (this.pending.length >= MAX_PENDING) {
      this.skip('store_backlog');
      return;
    }
    this.pending.push(parsed.change);
    if (this.scheduled) return;
    // Once the chunk being split is done: its changes go to Redis in one pipeline.
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async readHistory(): Promise<void> {
    const { path, maxAgeMs, maxLineBytes, logger } = this.options;
    const cutoff = (this.options.now ?? Date.now)() - maxAgeMs;
    let files;
    try {
      files = (await rotatedFiles(path)).filter((f) => f.rotatedAt >= cutoff);
    } catch (error) {
      logger.warn({ err: error, path }, 'cannot list the rotated audit logs; reading the current one only');
      return;
    }
    for (const file of files) {
      if (this.stopped) return;
      try {
        await readAuditFile(file.path, { onLine: (line) => this.onLine(line), onOversized: () => this.skip('oversized_line') }, maxLineBytes);
      } catch (error) {
        // Removed by the apiserver's maxbackup/maxage meanwhile, or a damaged .gz: what was read stays.
        logger.warn({ err: error, path: file.path }, 'a rotated audit log could not be read to its end');
      }
      await this.flush();
    }
    logger.info({ files: files.length, ...this.counts }, 'rotated audit logs read');
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.pending.length > 0 ? this.flush() : undefined));
    if (this.pending.length === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.options.store
      .save(batch)
      .then((outcome) => {
        this.counts.stored += outcome.stored;
      })
      .catch((error: unknown) => {
        this.options.logger.warn({ err: error, changes: batch.length }, 'storing audit changes failed; retrying');
        this.pending = [...batch, ...this.pending].slice(0, MAX_PENDING);
        if (!this.stopped && !this.retryTimer) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            void this.flush();
          }, RETRY_MS);
        }
      })
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }
}
