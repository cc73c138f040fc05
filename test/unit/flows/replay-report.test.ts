// replay() over in-memory inputs: per-input line numbers in the skip examples, the span of the
// accepted flows, the learning-window flag, and the messages for inputs that hold no flow.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CaptureReadError, formatReplayText, inputProblem, replay, type ReplayInput } from '../../../src/flows/replay.js';
import { shopTraffic } from '../../../src/sim/hubble/shop-traffic.js';

const input = (name: string, lines: readonly string[]): ReplayInput => ({ name, open: () => Readable.from([lines.join('\n')]) });
const shop = [...shopTraffic({ normalMinutes: 3, incidentMinutes: 0 })].map((r) => JSON.stringify(r));

describe('replay report', () => {
  it('numbers lines per input (blank lines count) and keeps the first example of each reason', async () => {
    const a = input('a.jsonl', [shop[0] as string, '', 'nope', shop[1] as string]);
    const b = input('b.jsonl', ['[1]', 'also nope', '{"flow":{"time":"2026-01-15T09:00:00Z"}}']);
    const report = await replay([a, b]);
    expect(report.replay.sources).toEqual(['a.jsonl', 'b.jsonl']);
    expect(report.replay.counts).toEqual({ read: 6, accepted: 2, skipped: { invalid_json: 2, not_an_object: 1, unknown_verdict: 1 } });
    expect(report.replay.firstSkipped).toEqual({
      invalid_json: { source: 'a.jsonl', line: 3, excerpt: 'nope' },
      not_an_object: { source: 'b.jsonl', line: 1, excerpt: '[1]' },
      unknown_verdict: { source: 'b.jsonl', line: 3, excerpt: '{"flow":{"time":"2026-01-15T09:00:00Z"}}' },
    });
    const text = formatReplayText(report);
    expect(text).toContain('replayed a.jsonl, b.jsonl: 6 read, 2 accepted, 4 skipped; flows from ');
    expect(text).toContain('\n  skipped 2 invalid_json, first at a.jsonl line 3: nope\n');
  });

  it('the clock follows the capture: a flow far in the past or the future is replayed, the jump reported', async () => {
    const at = (line: string, time: string): string => line.replace(/"time":"[^"]+"/g, `"time":"${time}"`);
    const report = await replay([input('c', [...shop.slice(0, 50), at(shop[50] as string, '2020-01-01T00:00:00Z'), at(shop[51] as string, '2099-01-01T00:00:00Z'), ...shop.slice(52, 60)])]);
    expect(report.replay.counts).toEqual({ read: 60, accepted: 60, skipped: {} });
    expect(report.replay.firstSkipped).toEqual({});
    // 2020 (back), 2099 (ahead), then back to the capture's own minutes: three stretches begun.
    expect(report.replay.timeJumps).toEqual({ count: 3, first: { source: 'c', line: 51, from: expect.any(Number), to: Date.UTC(2020, 0, 1) } });
    expect(formatReplayText(report)).toMatch(/\n {2}flow time jumped 3 times \(captures from different times\?\), first at line 51: from 2026-\S+Z to 2020-01-01T00:00:00\.000Z; each jump starts a new stretch, all replayed\n/);
  });

  it('reports the span of the accepted flows and whether the capture never left the learning period', async () => {
    const report = await replay([input('short', shop)]);
    const span = report.replay.span!;
    expect(span.to - span.from).toBeGreaterThan(2 * 60_000);
    expect(span.to - span.from).toBeLessThan(3 * 60_000);
    expect(report.learningPeriodMs).toBe(3_600_000);
    expect(report.learnedWholeCapture).toBe(true);
    expect(formatReplayText(report)).toContain('No anomaly could be raised: the capture spans 3 min of flows, within the 1 h learning period');
    const shorter = await replay([input('short', shop)], [], { baseline: { learningPeriodMs: 60_000 } });
    expect(shorter.learnedWholeCapture).toBe(false);
    const learned = await replay([input('short', shop)], [input('normal', shop)]);
    expect(learned.learnedWholeCapture).toBe(false);
    expect(learned.learn?.sources).toEqual(['normal']);
  });

  it('inputProblem: empty, not flows (with what it looks like), or null when flows were read', async () => {
    const empty = await replay([input('e.jsonl', ['', '  '])]);
    expect(inputProblem(empty)).toMatch(/^nothing to replay: the capture e\.jsonl holds no line\n/);
    const text = await replay([input('t.txt', ['May  4 13:23:40.501: default/a:1 -> default/b:80 http-request FORWARDED (HTTP/1.1 GET /)'])]);
    expect(inputProblem(text)).toBe(
      [
        'no Hubble flow in the capture t.txt: 1 lines read, none is a flow record',
        "replay reads `hubble observe -o json` output (one JSON record per line) or the Hubble flow exporter's file (events.log).",
        'It looks like `hubble observe` text output: capture with `hubble observe -o json` instead.',
        '  skipped 1 invalid_json, first at line 1: May  4 13:23:40.501: default/a:1 -> default/b:80 http-request FORWARDED (HTTP/1.1 GET /)',
        '',
      ].join('\n'),
    );
    const badLearn = await replay([input('ok', shop)], [input('l.yaml', ['apiVersion: v1'])]);
    expect(inputProblem(badLearn)).toMatch(/^no Hubble flow in the --learn capture l\.yaml/);
    expect(inputProblem(await replay([input('ok', shop)]))).toBeNull();
  });

  it('a stream that fails is a CaptureReadError naming the input', async () => {
    const failing: ReplayInput = {
      name: 'broken.jsonl',
      open: () =>
        new Readable({
          read() {
            this.destroy(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
          },
        }),
    };
    await expect(replay([input('ok', shop), failing])).rejects.toEqual(new CaptureReadError('broken.jsonl', 'EIO'));
  });
});
