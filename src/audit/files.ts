// Audit log files as kube-apiserver leaves them. With --audit-log-path=/var/log/kubernetes/audit/audit.log
// it writes JSON lines to audit.log and rotates (--audit-log-maxsize/maxage/maxbackup, lumberjack)
// by renaming it to audit-<UTC time>.log, e.g. audit-2026-11-30T10-00-00.000.log, then opening a
// new audit.log. With --audit-log-compress the rotated file becomes audit-<time>.log.gz: the .gz is
// written next to it and the uncompressed one removed once done, so both exist for a moment.
import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { readLines, type LineSink } from '../flows/sources/jsonl.js';

export interface RotatedFile {
  path: string;
  /** When lumberjack rotated it (from its name): every event in it is older. */
  rotatedAt: number;
  gzip: boolean;
}

const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The rotation time in a lumberjack backup name's time part, or NaN. */
export function rotationTime(stamp: string): number {
  const m = TIME.exec(stamp);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as number[];
  const time = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s, ms);
  // Date.UTC rolls a 13th month or a 40th day over: such a name is not lumberjack's.
  return new Date(time).toISOString().slice(0, 23).replace(/:/g, '-') === stamp ? time : Number.NaN;
}

/**
 * The rotated files of `path`, oldest first. When a backup exists both plain and compressed, the
 * plain one is taken: its compression has not finished.
 */
export function rotatedNames(path: string, names: readonly string[]): RotatedFile[] {
  const ext = extname(path);
  const stem = basename(path, ext);
  const pattern = new RegExp(`^${escapeRegExp(stem)}-(.{23})${escapeRegExp(ext)}(\\.gz)?$`);
  const byTime = new Map<number, RotatedFile>();
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const rotatedAt = rotationTime(m[1] as string);
    if (Number.isNaN(rotatedAt)) continue;
    const gzip = m[2] !== undefined;
    const seen = byTime.get(rotatedAt);
    if (seen && !seen.gzip) continue;
    byTime.set(rotatedAt, { path: join(dirname(path), name), rotatedAt, gzip });
  }
  return [...byTime.values()].sort((a, b) => a.rotatedAt - b.rotatedAt);
}

export async function rotatedFiles(path: string): Promise<RotatedFile[]> {
  return rotatedNames(path, await readdir(dirname(path)));
}

/**
 * Files a directory stands for: audit logs, plain or gzipped, in name order (rotated ones sort
 * before the current one). A .gz next to its plain file is still being written: the plain one is read.
 */
export async function auditFilesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.') && /\.(?:log|json|jsonl)(?:\.gz)?$/i.test(e.name))
    .map((e) => e.name);
  const plain = new Set(names);
  return names
    .filter((name) => !(name.toLowerCase().endsWith('.gz') && plain.has(name.slice(0, -3))))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => join(dir, name));
}

/** Whether the file starts with the gzip magic bytes (a rotated file may be compressed whatever its name). */
export async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** A stream of the file's text, decompressed when it is gzip. */
export async function openAuditFile(path: string): Promise<Readable> {
  const raw = createReadStream(path);
  if (!(await isGzip(path))) return raw;
  const gunzip = createGunzip();
  raw.on('error', (error) => gunzip.destroy(error));
  return raw.pipe(gunzip);
}

/** Reads a whole audit file (plain or gzip) line by line. Rejects when it cannot be read or its gzip is damaged. */
export async function readAuditFile(path: string, sink: LineSink, maxLineLength?: number): Promise<void> {
  await readLines(await openAuditFile(path), sink, maxLineLength);
}
