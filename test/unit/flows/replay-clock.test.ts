// The replay's clock follows the capture (followCapture): captures months apart, in any order,
// are all replayed; the live pipeline (a wall clock given) still skips flows from the future.
// Skip examples of hostile lines are printable and capped.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FlowPipeline } from '../../../src/flows/pipeline.js';
import { followCapture, formatReplayText, replay, type ReplayInput } from '../../../src/flows/replay.js';
import { shopTraffic, type ShopTrafficOptions } from '../../../src/sim/hubble/shop-traffic.js';

const input = (name: string, lines: readonly string[]): ReplayInput => ({ name, open: () => Readable.from([`${lines.join('\n')}\n`]) });
const lines = (o: Partial<ShopTrafficOptions>): string[] => [...shopTraffic(o)].map((r) => JSON.stringify(r));
const JUNE = Date.UTC(2026, 5, 16, 9);
const NOVEMBER = Date.UTC(2026, 10, 10, 9);
const normalJune = lines({ start: JUNE, normalMinutes: 90, incidentMinutes: 0, seed: 9 });
const incidentNovember = lines({ start: NOVEMBER });
const keys = (r: { anomalies: { dedupeKey: string }[] }): string[] => r.anomalies.map((a) => a.dedupeKey).sort();
/** Characters that could drive a terminal (newline excepted). */
const unsafe = (text: string): string[] => [...text].filter((c) => (c < ' ' && c !== '\n') || (c >= '\u007f' && c <= '\u009f') || c === '\u202e');

describe('replay: the clock follows the capture', () => {
  it('two captures months apart, one stream: every record replayed, none skewed, judged as with --learn', async () => {
    const report = await replay([input('june', normalJune), input('november', incidentNovember)]);
    const total = normalJune.length + incidentNovember.length;
    expect(report.replay.counts).toEqual({ read: total, accepted: total, skipped: {} });
    expect(report.replay.timeJumps).toMatchObject({ count: 1, first: { source: 'november', line: 1, to: expect.closeTo(NOVEMBER, -4) } });
    // The June stretch is the baseline November is judged against, as when it is given with --learn.
    const learned = await replay([input('november', incidentNovember)], [input('june', normalJune)]);
    expect(keys(report)).toEqual(keys(learned));
    expect(keys(report).length).toBeGreaterThan(0);
  });

  it('in the wrong order (time going backwards): every record replayed, the earlier stretch learned, nothing invented', async () => {
    const report = await replay([input('november', incidentNovember), input('june', normalJune)]);
    const total = normalJune.length + incidentNovember.length;
    expect(report.replay.counts).toEqual({ read: total, accepted: total, skipped: {} });
    expect(report.replay.timeJumps).toMatchObject({ count: 1, first: { source: 'june', line: 1, to: expect.closeTo(JUNE, -4) } });
    expect(report.replay.span).toEqual({ from: expect.closeTo(JUNE, -4), to: expect.any(Number) });
    // November alone raises what it raises; the normal June traffic read after it adds nothing.
    const alone = await replay([input('november', incidentNovember)]);
    expect(keys(report)).toEqual(keys(alone));
    expect(report.baseline.edges).toBeGreaterThanOrEqual(alone.baseline.edges);
  });

  it('interleaved records: a little late is learned at the watermark (it does not go back); far off starts a stretch', () => {
    const p = new FlowPipeline();
    p.watermark = NOVEMBER;
    expect(followCapture(p, NOVEMBER + 60_000)).toBe(false);
    expect(followCapture(p, NOVEMBER - 5 * 60_000)).toBe(false); // within maxLatenessMs: learned at the watermark
    expect(p.watermark).toBe(NOVEMBER);
    expect(followCapture(p, NOVEMBER + 7 * 3_600_000)).toBe(true); // beyond maxJumpMs ahead
    expect(p.watermark).toBeNaN();
    p.watermark = NOVEMBER;
    expect(followCapture(p, JUNE)).toBe(true); // months back
    expect(p.watermark).toBeNaN();
    expect(followCapture(p, JUNE)).toBe(false); // a fresh pipeline: nothing to jump from
  });

  it('captures alternating line by line between June and November: all replayed, each switch a jump', async () => {
    const mixed = normalJune.slice(0, 40).flatMap((line, i) => [line, incidentNovember[i] as string]);
    const report = await replay([input('mixed', mixed)]);
    expect(report.replay.counts).toEqual({ read: 80, accepted: 80, skipped: {} });
    expect(report.replay.timeJumps?.count).toBe(79);
    expect(formatReplayText(report)).toContain('  flow time jumped 79 times (captures from different times?), first at line 2: from 2026-06-16T09:');
  });
});

describe('the live pipeline keeps its guard', () => {
  it('with a wall clock, a flow far after it is skipped as clock_skew_future; offline a far jump too', () => {
    const live = new FlowPipeline();
    const now = NOVEMBER;
    live.processLine(incidentNovember[0] as string, now);
    expect(live.counts.accepted).toBe(1);
    live.processLine((incidentNovember[1] as string).replace(/"time":"[^"]+"/g, '"time":"2027-03-01T00:00:00Z"'), now);
    expect(live.counts.skipped.clock_skew_future).toBe(1);
    const offline = new FlowPipeline();
    offline.processLine(normalJune[0] as string);
    offline.processLine(incidentNovember[0] as string);
    expect(offline.counts.skipped.clock_skew_future).toBe(1);
  });
});

describe('skip examples of hostile lines', () => {
  it('control characters, ANSI escapes and bidi overrides are escaped; a 1 MB line is cut to an excerpt', async () => {
    const ansi = `\u001b[2J\u001b]0;owned\u0007\u202e${'\u001b[31m'.repeat(200_000)}`; // ~1 MB, under the line limit
    const oversized = `{"flow":${'\u001b[1m'.repeat(300_000)}`; // over 1 MB: dropped by the reader
    const report = await replay([input('hostile', [...normalJune.slice(0, 5), ansi, oversized, '{"flow":{"time":"2026-06-16T09:00:00Z","verdict":"FORWARDED"}}'])]);
    expect(report.replay.counts.skipped).toEqual({ invalid_json: 1, oversized_line: 1, missing_endpoints: 1 });
    const { invalid_json: bad, oversized_line: big, missing_endpoints: missing } = report.replay.firstSkipped;
    expect(bad).toEqual({ source: 'hostile', line: 6, excerpt: expect.stringMatching(/^\\x1b\[2J\\x1b\]0;owned\\x07\\u202e(\\x1b\[31m)+.*…$/) });
    expect(big).toEqual({ source: 'hostile', line: 7, excerpt: expect.stringMatching(/^\(a line of 1200008 characters, longer than 1048576\) \{"flow":(\\x1b\[1m)+.*…$/) });
    expect(missing).toMatchObject({ line: 8, excerpt: '{"flow":{"time":"2026-06-16T09:00:00Z","verdict":"FORWARDED"}}' });
    for (const example of [bad, big, missing]) {
      expect(unsafe(example?.excerpt ?? '')).toEqual([]);
      expect(example?.excerpt.length).toBeLessThan(600);
    }
    const text = formatReplayText(report);
    expect(unsafe(text)).toEqual([]);
    expect(text.length).toBeLessThan(5_000);
    const json = JSON.stringify(report);
    expect(json.length).toBeLessThan(20_000);
  });
});
