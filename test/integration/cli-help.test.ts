// Every command answers --help and -h with its usage (every flag of its spec named) and exit 0,
// as a real child process; the top level lists the commands from the same specs.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { overview, usage } from '../../src/commands/spec.js';
import { COMMAND_SPECS } from '../../src/commands/specs.js';

const root = join(import.meta.dirname, '..', '..');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // No Slack, Redis or cluster settings: --help must not need any.
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'silent' };
    execFile(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli.ts'), ...args], { cwd: root, env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe.each(COMMAND_SPECS.map((spec) => [spec.name, spec] as const))('netpol-responder %s', (name, spec) => {
  it.each(['--help', '-h'])(`${name} %s prints the usage with every flag and exits 0`, async (flag) => {
    const r = await cli([...name.split(' '), flag]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`usage: netpol-responder ${name}`);
    for (const flagName of Object.keys(spec.flags)) expect(r.stdout, `--${flagName}`).toMatch(new RegExp(`--${flagName}\\b`));
  });
});

describe('netpol-responder (top level)', () => {
  it('--help, -h and help list every command with its summary from the specs, exit 0', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = await cli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(overview(COMMAND_SPECS));
      for (const spec of COMMAND_SPECS) expect(r.stdout).toMatch(new RegExp(`\\n  ${spec.name} +${spec.summary.replace(/[()]/g, '\\$&')}\\n`));
    }
  });

  it('no arguments: the usage on stderr and exit 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(overview(COMMAND_SPECS));
  });

  it('help <command> is <command> --help; an unknown command is exit 2 with the list', async () => {
    const analyze = COMMAND_SPECS.find((s) => s.name === 'analyze');
    const r = await cli(['help', 'analyze']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(usage(analyze!));
    for (const args of [['frobnicate'], ['help', 'frobnicate'], ['\u001b[2Jx']]) {
      const bad = await cli(args);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^unknown command "/);
      expect(bad.stderr).toContain('commands:');
      expect(bad.stderr).not.toContain('\u001b');
    }
  });
});
