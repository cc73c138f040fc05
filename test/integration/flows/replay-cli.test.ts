import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopTraffic } from '../../../src/sim/hubble/shop-traffic.js';

const root = join(import.meta.dirname, '../../..');
let dir = '';

function cli(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli.ts'), 'replay', ...args], { cwd: root, input, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'npr-replay-'));
  const shop = [...shopTraffic()].map((r) => JSON.stringify(r));
  // Bad input mixed in: truncated JSON, garbage, a flow without endpoints, an unknown verdict, an absurd port.
  const bad = [
    shop[5]?.slice(0, 80),
    '\u0000garbage',
    JSON.stringify({ flow: { time: '2026-01-15T09:30:00Z', verdict: 'FORWARDED' } }),
    (shop[6] ?? '').replace('"FORWARDED"', '"SOMETIMES"'),
    (shop[7] ?? '').replace(/"destination_port":\d+/, '"destination_port":99999'),
  ];
  writeFileSync(join(dir, 'shop.jsonl'), [...shop.slice(0, 3000), ...bad, ...shop.slice(3000)].join('\n') + '\n');
  writeFileSync(join(dir, 'normal.jsonl'), [...shopTraffic({ normalMinutes: 60, incidentMinutes: 0, seed: 9 })].map((r) => JSON.stringify(r)).join('\n') + '\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('netpol-responder replay', () => {
  it('prints the anomalies and the record counts, each skip reason with its first example (text)', () => {
    const { status, stdout } = cli([join(dir, 'shop.jsonl')]);
    expect(status).toBe(0);
    expect(stdout).toMatch(/replayed .*shop\.jsonl: 10976 read, 10971 accepted, 5 skipped; flows from 2026-01-15T09:00:00\.\d+Z to 2026-01-15T10:39:59\.\d+Z \(1 h 40 min\)\n/);
    // Lines 3001-3005 are the bad ones; each reason names its first line and shows its beginning.
    expect(stdout).toMatch(/\n {2}skipped 2 invalid_json, first at line 3001: \{"flow":\{"time":"[^\n]{40,}\n/);
    expect(stdout).toContain('\n  skipped 1 missing_endpoints, first at line 3003: {"flow":{"time":"2026-01-15T09:30:00Z","verdict":"FORWARDED"}}\n');
    expect(stdout).toMatch(/\n {2}skipped 1 unknown_verdict, first at line 3004: \{/);
    expect(stdout).toMatch(/\n {2}skipped 1 invalid_port, first at line 3005: \{/);
    expect(stdout).not.toContain('\u0000');
    expect(stdout).toContain('anomalies: 2');
    expect(stdout).toContain('[high] new-external-egress db/postgres');
    expect(stdout).toContain('203.0.113.66:443');
  });

  it('learns from a separate capture with --learn and prints JSON', () => {
    const { status, stdout } = cli([join(dir, 'shop.jsonl'), '--learn', join(dir, 'normal.jsonl'), '--format', 'json']);
    expect(status).toBe(0);
    const report = JSON.parse(stdout) as { learn: { counts: { read: number } }; replay: { firstSkipped: Record<string, { line: number; excerpt: string }> }; anomalies: { kind: string }[] };
    expect(report.learn.counts.read).toBeGreaterThan(5000);
    expect(report.replay.firstSkipped.invalid_json).toMatchObject({ line: 3001 });
    expect(report.replay.firstSkipped.missing_endpoints).toMatchObject({ line: 3003 });
    expect(report.anomalies.map((a) => a.kind).sort()).toEqual(['new-external-egress', 'policy-deny-spike']);
  });

  it('reads standard input', () => {
    const lines = [...shopTraffic({ normalMinutes: 2, incidentMinutes: 0 })].map((r) => JSON.stringify(r)).join('\n');
    const { status, stdout } = cli(['-', '--format', 'json'], lines);
    expect(status).toBe(0);
    expect((JSON.parse(stdout) as { replay: { counts: { accepted: number } } }).replay.counts.accepted).toBe(lines.split('\n').length);
  });

  it('takes thresholds from --config: the bot\'s own file or a collector section alone; flags override it', () => {
    // The shop's policy-deny spike is 10 drops in a bucket; a floor of 1000 silences it, and
    // switching the external-egress detector off leaves nothing.
    const tuning = join(dir, 'tuning.yaml');
    writeFileSync(tuning, 'collector:\n  detectors:\n    policyDenySpike: { minCount: 1000 }\n  baseline: { maxWorkloads: 500 }\n');
    const tuned = cli([join(dir, 'shop.jsonl'), '--learn', join(dir, 'normal.jsonl'), '--format', 'json', '--config', tuning]);
    expect(tuned.stderr).toBe('');
    expect((JSON.parse(tuned.stdout) as { anomalies: { kind: string }[] }).anomalies.map((a) => a.kind)).toEqual(['new-external-egress']);

    const botConfig = join(dir, 'bot.yaml');
    writeFileSync(
      botConfig,
      'slack:\n  approvers: { users: [U0BOB] }\ncollector:\n  source: { kind: hubble-relay, address: hubble-relay.kube-system.svc:80 }\n  detectors:\n    newExternalEgress: { enabled: false }\n    policyDenySpike: { enabled: false }\n',
    );
    const quiet = cli([join(dir, 'shop.jsonl'), '--config', botConfig]);
    expect(quiet.status).toBe(0);
    expect(quiet.stdout).toContain('anomalies: 0');

    // A learning period longer than the capture learns everything and reports nothing, whatever the file says.
    const learnedAll = cli([join(dir, 'shop.jsonl'), '--config', tuning, '--learning-minutes', '600']);
    expect(learnedAll.stdout).toContain('anomalies: 0');
  });

  it.each([
    ['collector:\n  detectors:\n    fanOut: { minDistinct: 0 }\n', 'collector.detectors.fanOut.minDistinct'],
    ['collector:\n  detectors:\n    fanOut: { minDistinct: 5, bogus: 1 }\n', 'Unrecognized key: "bogus"'],
    ['collector:\n  detectors:\n    sixthSense: { enabled: true }\n', 'Unrecognized key: "sixthSense"'],
    ['collector:\n  baseline: { bucket: 500ms }\n', 'collector.baseline.bucket: bucket must be at least 1s'],
    ['collector:\n  baseline: { maxEdgesTotal: -5 }\n', 'collector.baseline.maxEdgesTotal'],
    ['collector: [1, 2]\n', 'collector:'],
    ['collector:\n  detectors: &a [*a]\n', 'collector.detectors'],
  ])('refuses a bad --config (%#) with the field path and exit 1, before reading flows', (yaml, message) => {
    const file = join(dir, 'bad-tuning.yaml');
    writeFileSync(file, yaml);
    const result = cli([join(dir, 'nope.jsonl'), '--config', file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`invalid configuration (${file})`);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('rejects bad usage with exit 2 and a missing file with exit 1', () => {
    expect(cli([]).status).toBe(2);
    expect(cli(['-', '--learn', '-']).status).toBe(2);
    const xml = cli(['x.jsonl', '--format', 'xml']);
    expect(xml.status).toBe(2);
    expect(xml.stderr).toContain('--format: unknown format "xml" (valid: txt, json; "text" means txt)');
    expect(cli(['x.jsonl', '--learning-minutes', 'soon']).status).toBe(2);
    const missing = cli([join(dir, 'nope.jsonl')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`cannot read ${join(dir, 'nope.jsonl')}: no such file\n`);
  });
});
