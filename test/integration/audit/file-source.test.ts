import type { Redis } from 'ioredis';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuditFileSource } from '../../../src/audit/file-source.js';
import { readAuditFile, rotatedNames } from '../../../src/audit/files.js';
import { AuditStore } from '../../../src/audit/store.js';
import { silentLogger } from '../../../src/log.js';
import { auditLine, falcoLines } from '../../helpers/audit-events.js';
import { testRedis, uniquePrefix } from '../../helpers/redis.js';

const DAY = 86_400_000;
let redis: Redis;
const dirs: string[] = [];
beforeAll(() => {
  redis = testRedis();
});
afterAll(() => redis.quit());
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** lumberjack's backup name for a rotation at `ms` (UTC). */
function backupName(ms: number, gz = false): string {
  return `audit-${new Date(ms).toISOString().replace(/:/g, '-').replace('Z', '')}.log${gz ? '.gz' : ''}`;
}

const recent = (minutesAgo: number): string => new Date(Date.now() - minutesAgo * 60_000).toISOString().replace('Z', '123Z');
const lines = (ids: string[], minutesAgo: number): string => ids.map((id) => auditLine({ auditID: id, time: recent(minutesAgo) })).join('\n') + '\n';

describe('rotated audit log names (lumberjack)', () => {
  it('finds the backups of audit.log, oldest first, taking the plain file while its .gz is being written', () => {
    const names = [
      'audit.log',
      'audit-2026-11-30T10-00-00.000.log.gz',
      'audit-2026-11-29T08-30-15.250.log',
      'audit-2026-11-30T11-00-00.000.log',
      'audit-2026-11-30T11-00-00.000.log.gz',
      'audit-2026-13-40T99-00-00.000.log',
      'audit-backup.log',
      'other-2026-11-30T10-00-00.000.log',
      'audit-2026-11-30T10-00-00.000.json',
    ];
    expect(rotatedNames('/var/log/kubernetes/audit/audit.log', names)).toEqual([
      { path: '/var/log/kubernetes/audit/audit-2026-11-29T08-30-15.250.log', rotatedAt: Date.UTC(2026, 10, 29, 8, 30, 15, 250), gzip: false },
      { path: '/var/log/kubernetes/audit/audit-2026-11-30T10-00-00.000.log.gz', rotatedAt: Date.UTC(2026, 10, 30, 10), gzip: true },
      { path: '/var/log/kubernetes/audit/audit-2026-11-30T11-00-00.000.log', rotatedAt: Date.UTC(2026, 10, 30, 11), gzip: false },
    ]);
  });

  it('reads a gzipped file, and fails on a damaged one after giving what it could read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npr-audit-'));
    dirs.push(dir);
    const text = falcoLines().map((l) => l.line).join('\n');
    const gz = gzipSync(Buffer.from(text));
    writeFileSync(join(dir, 'a.log.gz'), gz);
    writeFileSync(join(dir, 'cut.log.gz'), gz.subarray(0, Math.floor(gz.length * 0.6)));
    const got: string[] = [];
    await readAuditFile(join(dir, 'a.log.gz'), { onLine: (l) => got.push(l) });
    expect(got).toHaveLength(52);
    const partial: string[] = [];
    await expect(readAuditFile(join(dir, 'cut.log.gz'), { onLine: (l) => partial.push(l) })).rejects.toThrow(/unexpected end of file/);
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(52);
  });
});

describe('following the apiserver audit log', () => {
  it('stores the changes of the current file, its rotated files inside the retention, growth and a rotation; counts the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npr-audit-'));
    dirs.push(dir);
    const path = join(dir, 'audit.log');
    const now = Date.now();
    writeFileSync(join(dir, backupName(now - 40 * DAY)), lines(['ancient'], 40 * 24 * 60)); // rotated before the retention: not read
    writeFileSync(join(dir, backupName(now - 2 * 3_600_000, true)), gzipSync(lines(['gz-1', 'gz-2'], 200)));
    writeFileSync(join(dir, backupName(now - 3_600_000)), lines(['plain-1'], 90) + 'garbage\n' + auditLine({ verb: 'get' }) + '\n');
    writeFileSync(path, lines(['cur-1', 'plain-1'], 30) + falcoLines().map((l) => l.line).join('\n') + '\n');

    const prefix = uniquePrefix('audit');
    const store = new AuditStore(redis, prefix, { maxAgeMs: 30 * DAY, maxEntries: 1000 });
    const source = new AuditFileSource({ path, store, history: true, maxAgeMs: 30 * DAY, pollMs: 20, maxLineBytes: 65_536, logger: silentLogger });
    await source.start();
    try {
      await source.drain();
      const ids = async () => (await store.query({ since: new Date(now - 31 * DAY).toISOString() })).map((c) => c.auditID).sort();
      const falcoIds = ['693f4726-2430-450a-83e1-123c050fde98', '841d3e6d-90d2-43df-8da4-684738bee3d5'];
      expect(await ids()).toEqual(expect.arrayContaining(['cur-1', 'gz-1', 'gz-2', 'plain-1']));
      expect(await ids()).not.toContain('ancient');
      expect(source.counts.skipped).toMatchObject({ invalid_json: 1, read: 1, not_an_event: 1 });

      // Growth, an oversized line, then a rotation as lumberjack does it (rename, new file).
      appendFileSync(path, lines(['grow-1'], 5) + auditLine({ auditID: 'huge', requestObject: { x: 'y'.repeat(70_000) } }) + '\n');
      await source.drain();
      appendFileSync(path, lines(['before-rotation'], 4));
      renameSync(path, join(dir, backupName(Date.now())));
      writeFileSync(path, lines(['after-rotation'], 3));
      await source.drain();
      await source.drain();
      const all = await ids();
      expect(all).toEqual(expect.arrayContaining(['grow-1', 'before-rotation', 'after-rotation']));
      expect(all).not.toContain('huge');
      expect(source.counts.skipped.oversized_line).toBe(1);
      // Falco's fixtures are from 2018: older than the retention, so counted as changes but not stored.
      expect(all.filter((id) => falcoIds.includes(id))).toEqual([]);
      // plain-1 is in two files: stored once.
      expect(all.filter((id) => id === 'plain-1')).toHaveLength(1);
    } finally {
      await source.stop();
    }
  });

  it('waits for a file that is not there yet, and keeps changes when Redis fails, storing them once it answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npr-audit-'));
    dirs.push(dir);
    const path = join(dir, 'audit.log');
    const prefix = uniquePrefix('audit');
    const real = new AuditStore(redis, prefix, { maxAgeMs: DAY, maxEntries: 1000 });
    let failing = true;
    const flaky = { save: (changes: Parameters<AuditStore['save']>[0]) => (failing ? Promise.reject(new Error('Redis is down')) : real.save(changes)) } as AuditStore;
    const source = new AuditFileSource({ path, store: flaky, history: true, maxAgeMs: DAY, pollMs: 20, maxLineBytes: 65_536, logger: silentLogger });
    await source.start();
    try {
      await source.drain();
      writeFileSync(path, lines(['late-file'], 1));
      await source.drain();
      expect(source.counts.changes).toBe(1);
      expect(await real.size()).toBe(0);
      failing = false;
      await source.drain();
      expect((await real.query({ since: new Date(Date.now() - 3_600_000).toISOString() })).map((c) => c.auditID)).toEqual(['late-file']);
    } finally {
      await source.stop();
    }
  });
});
