import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonlFileFollower, LineSplitter, readLines } from '../../../src/flows/sources/jsonl.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'npr-jsonl-'));
  dirs.push(dir);
  return join(dir, 'hubble-events.log');
}

describe('line splitting', () => {
  it('splits across chunks, handles CRLF and a last line without newline', () => {
    const lines: string[] = [];
    const s = new LineSplitter({ onLine: (l) => lines.push(l) });
    s.push('{"a":');
    s.push('1}\r\n{"b":2}\n{"c"');
    s.push(':3}');
    s.end();
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('drops an oversized line up to its newline and keeps going', () => {
    const lines: string[] = [];
    const oversized: number[] = [];
    const s = new LineSplitter({ onLine: (l) => lines.push(l), onOversized: (n) => oversized.push(n) }, 10);
    s.push('short\n');
    s.push('x'.repeat(8));
    s.push('y'.repeat(8));
    s.push('z'.repeat(8) + '\nafter\n');
    s.end();
    expect(lines).toEqual(['short', 'after']);
    expect(oversized).toEqual([24]);
  });

  it('reads a stream (stdin-like) to the end', async () => {
    const lines: string[] = [];
    await readLines(Readable.from([Buffer.from('one\ntw'), Buffer.from('o\n\u00e9\u00e8'.normalize())]), { onLine: (l) => lines.push(l) });
    expect(lines).toEqual(['one', 'two', 'éè']);
  });
});

describe('following a file', () => {
  it('reads what exists, then appended lines, across rotation and truncation', async () => {
    const path = tempFile();
    writeFileSync(path, 'a\nb\n');
    const lines: string[] = [];
    const follower = new JsonlFileFollower({ path, pollMs: 10_000 }, { onLine: (l) => lines.push(l) });
    await follower.start();
    await follower.poll();
    expect(lines).toEqual(['a', 'b']);

    appendFileSync(path, 'c\nd');
    await follower.poll();
    expect(lines).toEqual(['a', 'b', 'c']);
    appendFileSync(path, '\n');
    await follower.poll();
    expect(lines).toEqual(['a', 'b', 'c', 'd']);

    // Rotation as the Hubble exporter and logrotate do it: rename, then a new file at the path.
    appendFileSync(path, 'e\n');
    renameSync(path, `${path}.1`);
    appendFileSync(`${path}.1`, 'f\n'); // written to the old file before the writer switched
    writeFileSync(path, 'g\n');
    await follower.poll();
    expect(lines).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(follower.stats.rotations).toBe(1);

    // copytruncate: same inode, shorter file (detected when the file is shorter than what was read).
    appendFileSync(path, 'a-longer-line\n');
    await follower.poll();
    truncateSync(path, 0);
    appendFileSync(path, 'h\n');
    await follower.poll();
    expect(lines.at(-1)).toBe('h');
    expect(follower.stats.truncations).toBe(1);
    await follower.stop();
  });

  it('waits for a file that does not exist yet', async () => {
    const path = tempFile();
    const lines: string[] = [];
    const follower = new JsonlFileFollower({ path, pollMs: 10_000 }, { onLine: (l) => lines.push(l) });
    await follower.start();
    await follower.poll();
    expect(lines).toEqual([]);
    writeFileSync(path, 'late\n');
    await follower.poll();
    expect(lines).toEqual(['late']);
    await follower.stop();
  });

  it('a poll asked while another is in flight reads what was written before it was asked', async () => {
    // The in-flight poll may have read before the write; sharing its result lost the line (a drain
    // that returned without it). Timing varies per round, so some rounds write mid-poll.
    const path = tempFile();
    const lines: string[] = [];
    const follower = new JsonlFileFollower({ path, pollMs: 10_000 }, { onLine: (l) => lines.push(l) });
    await follower.start();
    for (let round = 0; round < 200; round += 1) {
      const inFlight = follower.poll();
      for (let i = 0; i < round % 4; i += 1) await new Promise((resolve) => setImmediate(resolve));
      appendFileSync(path, `line-${round}\n`);
      await follower.poll();
      expect(lines.at(-1)).toBe(`line-${round}`);
      await inFlight;
    }
    await follower.stop();
  });
});
