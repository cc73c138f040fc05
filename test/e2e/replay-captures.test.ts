// `netpol-responder replay` as a new user runs it: real Hubble captures (the hubble-otel samples)
// made into a June and a November capture, concatenated into its standard input; and a capture
// with damaged lines, each skip reason shown with its first example. Child processes, real files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const samples = join(root, 'test/fixtures/hubble/hubble-otel/testdata');
let dir = '';

type Result = { status: number | null; stdout: string; stderr: string };
/** A shell pipeline ending in `netpol-responder replay ARGS`. */
function piped(producer: string, args: string): Result {
  const self = `'${process.execPath}' --import tsx src/cli.ts replay ${args}`;
  const r = spawnSync('/bin/bash', ['-c', `set -o pipefail; ${producer} | ${self}`], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, LOG_LEVEL: 'silent' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** The sample's records with their times moved to `month` of 2026 (day and time of day kept). */
function capture(files: readonly string[], month: string): string[] {
  const records = files.flatMap((f) => readFileSync(join(samples, f), 'utf8').split('\n').filter((l) => l.trim() !== ''));
  return records.map((l) => l.replace(/"time":"\d{4}-\d\d-/g, `"time":"2026-${month}-`));
}
type Report = { replay: { counts: { read: number; accepted: number; skipped: Record<string, number> }; firstSkipped: Record<string, { line: number; excerpt: string }>; timeJumps: { count: number } | null } };
const unsafe = (text: string): string[] => [...text].filter((c) => (c < ' ' && c !== '\n') || (c >= '\u007f' && c <= '\u009f'));

let june: string[] = [];
let november: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'npr-replay-e2e-'));
  june = capture(['basic-sample-10-flows.json'], '06');
  november = capture(['basic-sample-400-tcp-flows.json', 'basic-sample-400-udp-flows.json', 'basic-sample-400-l7-redirected-flows.json', 'basic-sample-400-icmpv4-flows.json', 'basic-sample-348-http-flows.json', 'basic-sample-330-dns-flows.json'], '11');
  writeFileSync(join(dir, 'capture-june.json'), `${june.join('\n')}\n`);
  writeFileSync(join(dir, 'capture-november.json'), `${november.join('\n')}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('replay: captures months apart on standard input', () => {
  it('cat capture-june.json capture-november.json | replay -: every record replayed, none as clock_skew_future', () => {
    const files = `cat '${join(dir, 'capture-june.json')}' '${join(dir, 'capture-november.json')}'`;
    // What each capture gives alone: the concatenation must accept the sum.
    const alone = (name: string) => (JSON.parse(piped(`cat '${join(dir, name)}'`, '- --format json').stdout) as Report).replay.counts.accepted;
    const expected = alone('capture-june.json') + alone('capture-november.json');
    expect(expected).toBeGreaterThan(1500);

    const text = piped(files, '-');
    expect(text.stderr).toBe('');
    expect(text.status).toBe(0);
    expect(text.stdout).not.toContain('clock_skew');
    expect(text.stdout).toMatch(new RegExp(`^replayed stdin: ${june.length + november.length} read, ${expected} accepted, `));
    expect(text.stdout).toMatch(/\n {2}flow time jumped \d+ times? \(captures from different times\?\), first at line 11: from 2026-06-\S+ to 2026-11-\S+; each jump starts a new stretch, all replayed\n/);

    const json = JSON.parse(piped(files, '- --format json').stdout) as Report;
    expect(json.replay.counts.accepted).toBe(expected);
    expect(json.replay.counts.skipped.clock_skew_future).toBeUndefined();
    expect(json.replay.counts.skipped.clock_skew_past).toBeUndefined();
    expect(json.replay.timeJumps?.count).toBeGreaterThanOrEqual(1);

    // The other way round (November first, June months earlier): replayed all the same.
    const reversed = JSON.parse(piped(`cat '${join(dir, 'capture-november.json')}' '${join(dir, 'capture-june.json')}'`, '- --format json').stdout) as Report;
    expect(reversed.replay.counts).toEqual(json.replay.counts);
  }, 60_000);
});

describe('replay: every skip reason comes with its first example', () => {
  it('a malformed line, an oversized line, a record missing fields, an unknown verdict, an escape sequence (text and --format json)', () => {
    const good = november.slice(0, 30);
    const damaged = [
      ...good.slice(0, 10),
      (good[10] as string).slice(0, 60), // line 11: cut short
      `{"flow":"${'A'.repeat(2 * 1024 * 1024)}"}`, // line 12: 2 MB
      '{"flow":{"time":"2026-11-10T10:41:00Z","verdict":"FORWARDED"}}', // line 13: no endpoints
      (good[11] as string).replace('"verdict":"FORWARDED"', '"verdict":"SOMETIMES"'), // line 14
      '\u001b[2J\u001b]0;owned\u0007 not json', // line 15
      ...good.slice(12),
    ];
    const path = join(dir, 'damaged.json');
    writeFileSync(path, `${damaged.join('\n')}\n`);

    const text = piped(`cat '${path}'`, '-');
    expect(text.status).toBe(0);
    expect(unsafe(text.stdout)).toEqual([]);
    expect(text.stdout.length).toBeLessThan(20_000);
    expect(text.stdout).toMatch(/\n {2}skipped 2 invalid_json, first at line 11: \{"flow":\{"time":"2026-11-10T[^\n]*\n/);
    expect(text.stdout).toContain(`\n  skipped 1 oversized_line, first at line 12: (a line of ${2 * 1024 * 1024 + 11} characters, longer than 1048576) {"flow":"${'A'.repeat(91)}…\n`);
    expect(text.stdout).toContain('\n  skipped 1 missing_endpoints, first at line 13: {"flow":{"time":"2026-11-10T10:41:00Z","verdict":"FORWARDED"}}\n');
    expect(text.stdout).toMatch(/\n {2}skipped 1 unknown_verdict, first at line 14: \{"flow":\{"time":"2026-11-10T[^\n]*\n/);

    const json = JSON.parse(piped(`cat '${path}'`, '- --format json').stdout) as Report;
    expect(json.replay.counts.skipped).toEqual({ invalid_json: 2, oversized_line: 1, missing_endpoints: 1, unknown_verdict: 1 });
    expect(Object.keys(json.replay.firstSkipped).sort()).toEqual(Object.keys(json.replay.counts.skipped).sort());
    expect(json.replay.firstSkipped.invalid_json).toMatchObject({ line: 11, excerpt: (good[10] as string).slice(0, 60) });
    expect(json.replay.firstSkipped.oversized_line).toMatchObject({ line: 12, excerpt: expect.stringMatching(/^\(a line of \d+ characters, longer than 1048576\) \{"flow":"A+…$/) });
    expect(json.replay.firstSkipped.missing_endpoints).toMatchObject({ line: 13 });
    expect(json.replay.firstSkipped.unknown_verdict).toMatchObject({ line: 14, excerpt: expect.stringContaining('SOMETIMES') });
    for (const example of Object.values(json.replay.firstSkipped)) expect(example.excerpt.length).toBeLessThanOrEqual(200);
  }, 60_000);
});
