// `netpol-responder replay` on what users actually feed it: several captures, directories of
// rotated exporter files, and inputs that are not Hubble JSON lines at all (text output, YAML,
// pretty-printed JSON, binary, runaway lines). Real child processes over real files.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopTraffic } from '../../../src/sim/hubble/shop-traffic.js';

const root = join(import.meta.dirname, '../../..');
const fixtures = join(root, 'test', 'fixtures');
let dir = '';
let shop: string[] = [];

type Result = { status: number | null; stdout: string; stderr: string };

function cli(args: string[], input?: string | number): Result {
  const stdio = typeof input === 'number' ? ([input, 'pipe', 'pipe'] as const) : undefined;
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli.ts'), 'replay', ...args], {
    cwd: root,
    ...(typeof input === 'string' ? { input } : {}),
    ...(stdio ? { stdio: [...stdio] } : {}),
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const json = (r: Result) => JSON.parse(r.stdout) as { replay: { sources: string[]; counts: { read: number; accepted: number } }; anomalies: { kind: string; dedupeKey: string }[]; learnedWholeCapture: boolean };
/** Characters that could drive a terminal (newline and tab excepted). */
const controlCharacters = (text: string): string[] => [...text].filter((c) => (c < ' ' && c !== '\n' && c !== '\t') || (c >= '\u007f' && c <= '\u009f'));
const EXPECTED = "replay reads `hubble observe -o json` output (one JSON record per line) or the Hubble flow exporter's file (events.log).";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'npr-replay-input-'));
  shop = [...shopTraffic()].map((r) => JSON.stringify(r));
  file('shop.jsonl', `${shop.join('\n')}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('replay: several captures are one stream', () => {
  it('two files, a directory of rotated exporter files and the whole capture give the same anomalies', () => {
    const half = Math.floor(shop.length / 2);
    const a = file('split/a.jsonl', `${shop.slice(0, half).join('\n')}\n`);
    const b = file('split/b.jsonl', `${shop.slice(half).join('\n')}\n`);
    // The exporter's rotated file sorts before the live one; other files in the directory are ignored.
    file('hubble/events-2026-01-15T09-50-00.000.log', `${shop.slice(0, half).join('\n')}\n`);
    file('hubble/events.log', `${shop.slice(half).join('\n')}\n`);
    file('hubble/notes.txt', 'not a capture\n');
    file('hubble/.events.log.swp', 'hidden\n');
    const whole = json(cli([join(dir, 'shop.jsonl'), '--format', 'json']));
    const parts = json(cli([a, b, '--format', 'json']));
    const fromDir = json(cli([join(dir, 'hubble'), '--format', 'json']));
    expect(whole.anomalies.map((x) => x.dedupeKey)).toHaveLength(2);
    for (const r of [parts, fromDir]) {
      expect(r.anomalies.map((x) => x.dedupeKey)).toEqual(whole.anomalies.map((x) => x.dedupeKey));
      expect(r.replay.counts).toEqual(whole.replay.counts);
    }
    expect(fromDir.replay.sources).toEqual([join(dir, 'hubble/events-2026-01-15T09-50-00.000.log'), join(dir, 'hubble/events.log')]);
    // In the wrong order the clock follows the capture back: every record is replayed, the jump is named.
    const reversed = cli([b, a]);
    expect(reversed.status).toBe(0);
    expect(reversed.stdout).toContain(`${shop.length} read, ${shop.length} accepted, 0 skipped`);
    expect(reversed.stdout).not.toContain('clock_skew');
    expect(reversed.stdout).toMatch(/\n {2}flow time jumped 1 time \(captures from different times\?\), first at .*a\.jsonl line 1: from \S+Z to \S+Z; each jump starts a new stretch, all replayed\n/);
  });

  it('--learn may be repeated; the learned captures are read in order too', () => {
    const normal = [...shopTraffic({ normalMinutes: 60, incidentMinutes: 0, seed: 9 })].map((r) => JSON.stringify(r));
    const one = file('learn/all.jsonl', `${normal.join('\n')}\n`);
    const first = file('learn/1.jsonl', `${normal.slice(0, 1000).join('\n')}\n`);
    const second = file('learn/2.jsonl', `${normal.slice(1000).join('\n')}\n`);
    const single = json(cli([join(dir, 'shop.jsonl'), '--learn', one, '--format', 'json']));
    const repeated = json(cli([join(dir, 'shop.jsonl'), '--learn', first, '--learn', second, '--format', 'txt', '--format', 'json']));
    expect(repeated.anomalies.map((a) => a.kind)).toEqual(single.anomalies.map((a) => a.kind));
    expect(single.anomalies.map((a) => a.kind).sort()).toEqual(['new-external-egress', 'policy-deny-spike']);
  });

  it('a directory without capture files, or a capture under a file, is refused plainly', () => {
    mkdirSync(join(dir, 'empty'), { recursive: true });
    file('empty/readme.md', '# nothing\n');
    const empty = cli([join(dir, 'empty')]);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toBe(`no *.json, *.jsonl, *.log files in ${join(dir, 'empty')}\n`);
    const under = cli([join(dir, 'shop.jsonl', 'x.jsonl')]);
    expect(under.status).toBe(1);
    expect(under.stderr).toBe(`cannot read ${join(dir, 'shop.jsonl', 'x.jsonl')}: a part of the path is not a directory\n`);
    const learnMissing = cli([join(dir, 'shop.jsonl'), '--learn', join(dir, 'nope.jsonl')]);
    expect(learnMissing.status).toBe(1);
    expect(learnMissing.stderr).toBe(`cannot read ${join(dir, 'nope.jsonl')}: no such file\n`);
  });

  it('--config that is a directory or missing is one plain line', () => {
    const asDir = cli([join(dir, 'shop.jsonl'), '--config', dir]);
    expect(asDir.status).toBe(1);
    expect(asDir.stderr).toBe(`cannot read ${dir}: is a directory\n`);
    const missing = cli([join(dir, 'shop.jsonl'), '--config', join(dir, 'none.yaml')]);
    expect(missing.stderr).toBe(`cannot read ${join(dir, 'none.yaml')}: no such file\n`);
  });
});

describe('replay: a capture shorter than the learning period', () => {
  it('says that nothing could be judged, with the span and the period, and what to do', () => {
    const short = file('short.jsonl', `${[...shopTraffic({ normalMinutes: 2, incidentMinutes: 0 })].map((r) => JSON.stringify(r)).join('\n')}\n`);
    const r = cli([short, '--format', 'text']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('anomalies: 0\n');
    expect(r.stdout).toContain('No anomaly could be raised: the capture spans 1 min 59 s of flows, within the 1 h learning period');
    expect(r.stdout).toContain('--learn CAPTURE');
    expect(r.stdout).toContain('--learning-minutes N, N below 1.9');
    expect(json(cli([short, '--format', 'json'])).learnedWholeCapture).toBe(true);
    // Once the period is shorter than the capture, the note goes away.
    const shorter = cli([short, '--learning-minutes', '1']);
    expect(shorter.stdout).not.toContain('No anomaly could be raised');
    expect(json(cli([short, '--learning-minutes', '1', '--format', 'json'])).learnedWholeCapture).toBe(false);
    // With --learn the period is over before the capture starts.
    expect(cli([short, '--learn', short]).stdout).not.toContain('No anomaly could be raised');
  });
});

describe('replay: input that holds no flow', () => {
  const refused = (r: Result): void => {
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(EXPECTED);
    expect(controlCharacters(r.stderr)).toEqual([]);
  };

  it('`hubble observe` text output: names the fix and shows the first line', () => {
    const path = join(fixtures, 'hubble', 'cilium-docs', 'hubble-cli-rst-compact-sample.txt');
    const r = cli([path]);
    refused(r);
    expect(r.stderr).toMatch(/^no Hubble flow in the capture .*compact-sample\.txt: 14 lines read, none is a flow record\n/);
    expect(r.stderr).toContain('It looks like `hubble observe` text output: capture with `hubble observe -o json` instead.');
    expect(r.stderr).toContain('  skipped 14 invalid_json, first at line 1: # hubble observe --pod deathstar --protocol http\n');
    // The same through standard input.
    const piped = cli(['-'], readFileSync(path, 'utf8'));
    refused(piped);
    expect(piped.stderr).toContain('no Hubble flow in the capture stdin');
  });

  it('a YAML manifest, pretty-printed JSON and JSON that is not flows', () => {
    const yaml = cli([join(fixtures, 'netpol', 'tests', 'ipblockstest', 'netpols.yaml')]);
    refused(yaml);
    expect(yaml.stderr).toContain('It looks like YAML');
    const pretty = cli([file('pretty.json', JSON.stringify(shop.slice(0, 3).map((l) => JSON.parse(l) as unknown), null, 2))]);
    refused(pretty);
    expect(pretty.stderr).toContain('It looks like JSON spread over several lines');
    const other = cli([file('other.jsonl', '{"kind":"Pod"}\n[1,2]\n"text"\n{"flow":7}\n')]);
    refused(other);
    expect(other.stderr).toContain('4 lines read, none is a flow record');
    expect(other.stderr).toContain('  skipped 2 not_a_flow, first at line 1: {"kind":"Pod"}\n');
    expect(other.stderr).toContain('  skipped 2 not_an_object, first at line 2: [1,2]\n');
  });

  it('an empty capture and empty standard input are refused', () => {
    const empty = cli([file('empty.jsonl', '')]);
    refused(empty);
    expect(empty.stderr).toMatch(/^nothing to replay: the capture .*empty\.jsonl holds no line\n/);
    const blank = cli(['-'], '\n\n   \n');
    refused(blank);
    expect(blank.stderr).toContain('nothing to replay: the capture stdin holds no line');
  });

  it('binary data and control characters: recognised, escaped in the excerpt', () => {
    const bytes = Buffer.alloc(4096);
    let x = 7;
    for (let i = 0; i < bytes.length; i++) bytes[i] = x = (x * 1103515245 + 12345) & 0xff;
    const binary = cli([file('capture.jsonl.gz', bytes)]);
    refused(binary);
    expect(binary.stderr).toContain('It looks like binary data');
    expect(binary.stderr).toMatch(/first at line 1: .*\\x[0-9a-f]{2}/);
    // One hostile line among good flows: the report escapes it and the run succeeds.
    const hostile = `{"flow":"\u001b[2J\u001b]0;owned\u0007\u202e"}`;
    const mixed = cli([file('mixed.jsonl', `${shop.slice(0, 50).join('\n')}\n${hostile}\n`)]);
    expect(mixed.status).toBe(0);
    expect(controlCharacters(mixed.stdout)).toEqual([]);
    expect(mixed.stdout).not.toContain('\u202e');
    expect(mixed.stdout).toContain('  skipped 1 invalid_json, first at line 51: {"flow":"\\x1b[2J\\x1b]0;owned\\x07\\u202e"}\n');
  });

  it('runaway lines are skipped without holding them: a 3 MB line among flows, a 40 MB file of one line', () => {
    const mixed = cli([file('runaway.jsonl', `${shop.slice(0, 20).join('\n')}\n${'x'.repeat(3 * 1024 * 1024)}\n${shop.slice(20, 40).join('\n')}\n`)]);
    expect(mixed.status).toBe(0);
    expect(mixed.stdout).toContain('41 read, 40 accepted, 1 skipped');
    expect(mixed.stdout).toContain(`  skipped 1 oversized_line, first at line 21: (a line of 3145728 characters, longer than 1048576) ${'x'.repeat(100)}…\n`);
    const huge = join(dir, 'huge.log');
    writeFileSync(huge, '');
    truncateSync(huge, 40 * 1024 * 1024);
    const r = cli([huge]);
    refused(r);
    expect(r.stderr).toContain('1 lines read, none is a flow record');
    expect(r.stderr).toContain(`  skipped 1 oversized_line, first at line 1: (a line of 41943040 characters, longer than 1048576) ${'\\x00'.repeat(100)}…\n`);
    // The same through standard input (the sparse file as the child's stdin).
    const fd = openSync(huge, 'r');
    try {
      const piped = cli(['-'], fd);
      refused(piped);
      expect(piped.stderr).toContain('no Hubble flow in the capture stdin');
    } finally {
      closeSync(fd);
    }
  }, 60_000);
});
