// Hubble JSON lines from a file (read once, or followed as it grows, is truncated and rotates)
// or from stdin. Lines are bounded: a line longer than maxLineLength is reported as oversized and
// skipped up to its newline, so one runaway record cannot exhaust memory.
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export interface LineSink {
  onLine(line: string): void;
  /** A line longer than the limit was dropped (length seen so far; `head`: its first characters, raw). */
  onOversized?(length: number, head: string): void;
}

/** Characters of a dropped oversized line kept to show what it was. */
const OVERSIZED_HEAD = 256;

/** Splits text chunks into lines (\n or \r\n), bounded in length. */
export class LineSplitter {
  private buffer = '';
  private discarding = false;
  private discarded = 0;
  private head = '';

  constructor(
    private readonly sink: LineSink,
    private readonly maxLineLength = 1_048_576,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      this.finish(chunk.slice(start, nl));
      start = nl + 1;
    }
    this.append(chunk.slice(start));
  }

  /** End of input: a last line without a newline still counts. */
  end(): void {
    if (this.discarding) this.reportDiscard();
    else if (this.buffer.length > 0) this.emit(this.buffer);
    this.buffer = '';
  }

  private append(text: string): void {
    if (text.length === 0) return;
    if (this.discarding) {
      this.discarded += text.length;
      return;
    }
    if (this.buffer.length + text.length > this.maxLineLength) {
      this.discarding = true;
      this.discarded = this.buffer.length + text.length;
      this.head = this.headOf(text);
      this.buffer = '';
      return;
    }
    this.buffer += text;
  }

  private finish(tail: string): void {
    if (this.discarding) {
      this.discarded += tail.length;
      this.reportDiscard();
      return;
    }
    if (this.buffer.length + tail.length > this.maxLineLength) {
      this.sink.onOversized?.(this.buffer.length + tail.length, this.headOf(tail));
      this.buffer = '';
      return;
    }
    const line = this.buffer.length > 0 ? this.buffer + tail : tail;
    this.buffer = '';
    this.emit(line);
  }

  private emit(line: string): void {
    this.sink.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  /** The first characters of the buffered line continued by `text`, without joining them whole. */
  private headOf(text: string): string {
    const start = this.buffer.slice(0, OVERSIZED_HEAD);
    return start.length < OVERSIZED_HEAD ? start + text.slice(0, OVERSIZED_HEAD - start.length) : start;
  }

  private reportDiscard(): void {
    this.sink.onOversized?.(this.discarded, this.head);
    this.discarding = false;
    this.discarded = 0;
    this.head = '';
  }
}

/** Reads a whole stream (a file stream or process.stdin) line by line. */
export async function readLines(stream: Readable, sink: LineSink, maxLineLength?: number): Promise<void> {
  const splitter = new LineSplitter(sink, maxLineLength);
  const decoder = new StringDecoder('utf8');
  for await (const chunk of stream) splitter.push(typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
  splitter.push(decoder.end());
  splitter.end();
}

export interface FollowOptions {
  path: string;
  /** Start at the end of the existing file (like `tail -f`) instead of its beginning. */
  fromEnd?: boolean;
  pollMs?: number;
  maxLineLength?: number;
  /** Errors other than "file not there yet" (which is waited out). */
  onError?: (error: Error) => void;
}

export interface FollowStats {
  bytesRead: number;
  rotations: number;
  truncations: number;
}

/**
 * Follows a file as it grows (polling, which works on every filesystem including network mounts).
 * Rotation (the path now names a different inode: logrotate create, the Hubble exporter's rename)
 * → the old file is read to its end, then the new one from its start. Truncation in place
 * (copytruncate) → reading restarts at offset 0.
 */
export class JsonlFileFollower {
  readonly stats: FollowStats = { bytesRead: 0, rotations: 0, truncations: 0 };
  private handle: FileHandle | null = null;
  private inode = -1;
  private position = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  /** The polls run one after the other: the last one queued, settled or not. */
  private polls: Promise<void> = Promise.resolve();
  private splitter: LineSplitter;
  private decoder = new StringDecoder('utf8');
  private readonly chunk = Buffer.allocUnsafe(256 * 1024);

  constructor(
    private readonly options: FollowOptions,
    sink: LineSink,
  ) {
    this.splitter = new LineSplitter(sink, options.maxLineLength);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.openCurrent(this.options.fromEnd === true);
    this.schedule(0);
  }

  /**
   * Reads whatever is available now (tests and shutdown use it to drain). A poll in flight may have
   * read before the caller's last write, so this one runs after it instead of sharing its result.
   */
  poll(): Promise<void> {
    const next = this.polls.then(() => this.pollOnce());
    this.polls = next.catch(() => undefined);
    return next;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.polls;
    await this.handle?.close();
    this.handle = null;
  }

  private schedule(delay: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.poll().then(
        () => this.schedule(this.options.pollMs ?? 250),
        (error: unknown) => {
          this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
          this.schedule(this.options.pollMs ?? 250);
        },
      );
    }, delay);
  }

  private async openCurrent(atEnd: boolean): Promise<void> {
    try {
      const handle = await open(this.options.path, 'r');
      const info = await handle.stat();
      this.handle = handle;
      this.inode = info.ino;
      this.position = atEnd ? info.size : 0;
      this.decoder = new StringDecoder('utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.handle = null; // not there yet: the next poll tries again
    }
  }

  private async readToEnd(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    for (;;) {
      const { bytesRead } = await handle.read(this.chunk, 0, this.chunk.length, this.position);
      if (bytesRead === 0) return;
      this.position += bytesRead;
      this.stats.bytesRead += bytesRead;
      this.splitter.push(this.decoder.write(this.chunk.subarray(0, bytesRead)));
    }
  }

  private async pollOnce(): Promise<void> {
    if (this.stopped) return; // queued behind the last poll before stop(): the file is closed
    if (!this.handle) {
      await this.openCurrent(false);
      if (!this.handle) return;
    }
    let current: Awaited<ReturnType<typeof stat>> | null = null;
    try {
      current = await stat(this.options.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (current && current.ino !== this.inode) {
      // Rotated: finish the old file, then switch to the new one from its start.
      await this.readToEnd();
      this.splitter.end();
      await this.handle.close();
      this.handle = null;
      this.stats.rotations += 1;
      await this.openCurrent(false);
    } else if (current && current.size < this.position) {
      this.stats.truncations += 1;
      this.position = 0;
      this.splitter.end();
      this.decoder = new StringDecoder('utf8');
    }
    await this.readToEnd();
  }
}
