// The CLI description module: argv parsing, --help, format names and the README reference, on
// good, malformed and hostile argument lists.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { plainReason, cannotRead } from '../../src/commands/file-errors.js';
import { cliReference, END_MARKER, replaceReference, START_MARKER } from '../../src/commands/reference.js';
import { overview, parseCommand, pickFormat, usage, type CommandSpec, type Output } from '../../src/commands/spec.js';
import { COMMAND_SPECS } from '../../src/commands/specs.js';
import { printable } from '../../src/printable.js';

const SPEC = {
  name: 'probe',
  summary: 'a command for the tests',
  synopsis: ['<a...> -- <b...> [--format txt|json]'],
  flags: {
    format: { type: 'string', arg: 'FMT', default: 'txt', help: 'txt or json' },
    learn: { type: 'string', arg: 'FILE', multiple: true, help: 'a capture' },
    quiet: { type: 'boolean', short: 'q', help: 'say less' },
  },
  details: 'A | pipe, a *glob* and a <path>.',
} as const satisfies CommandSpec;

function capture(): Output & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  return { stdout, stderr, out: () => o, err: () => e };
}

function parse(argv: string[]) {
  const io = capture();
  return { result: parseCommand(SPEC, argv, io), io };
}

describe('parseCommand', () => {
  it('answers --help and -h with the usage on stdout and exit 0, even next to a mistake', () => {
    for (const argv of [['--help'], ['-h'], ['x', '--', 'y', '-h'], ['--nope', '--help'], ['--format']]) {
      const { result, io } = parse([...argv, ...(argv[0] === '--format' ? ['-h'] : [])]);
      expect(result).toEqual({ ok: false, exitCode: 0 });
      expect(io.out()).toBe(usage(SPEC));
      expect(io.err()).toBe('');
    }
  });

  it('takes flags before, between and after the positionals and on either side of --', () => {
    for (const argv of [
      ['--format', 'json', 'a', '--', 'b'],
      ['a', '--format', 'json', '--', 'b'],
      ['a', '--', 'b', '--format', 'json'],
      ['a', '--', 'b', '--format=json'],
    ]) {
      const { result } = parse(argv);
      expect(result).toMatchObject({ ok: true, before: ['a'], after: ['b'], positionals: ['a', 'b'], values: { format: 'json' } });
    }
  });

  it('keeps unknown dash words after -- as positionals, and "-" as a positional everywhere', () => {
    const { result } = parse(['-', '--', '--not-a-flag', '-x', '-']);
    expect(result).toMatchObject({ ok: true, before: ['-'], after: ['--not-a-flag', '-x', '-'] });
  });

  it('collects a repeatable flag in order, and applies defaults', () => {
    const { result } = parse(['a', '--learn', 'one', '--learn', 'two', '-q']);
    expect(result).toMatchObject({ ok: true, values: { learn: ['one', 'two'], quiet: true, format: 'txt' }, after: undefined });
  });

  it('refuses an unknown flag or a missing value with the reason, the usage and exit 2', () => {
    for (const argv of [['--nope'], ['a', '--format'], ['a', '--', 'b', '--format'], ['--quiet=yes']]) {
      const { result, io } = parse(argv);
      expect(result).toEqual({ ok: false, exitCode: 2 });
      expect(io.out()).toBe('');
      expect(io.err()).toContain('usage: netpol-responder probe');
      expect(io.err().split('\n')[0]).toMatch(/option|argument/i);
    }
  });

  it('hostile arguments: control characters are escaped and a huge flag is cut in the message', () => {
    const { result, io } = parse(['--\u001b[2Jevil\u0007']);
    expect(result).toEqual({ ok: false, exitCode: 2 });
    expect(io.err()).not.toContain('\u001b');
    expect(io.err()).not.toContain('\u0007');
    expect(io.err()).toContain('\\x1b[2Jevil\\x07');
    const huge = parse([`--${'x'.repeat(1_000_000)}`]);
    expect(huge.result).toEqual({ ok: false, exitCode: 2 });
    expect(huge.io.err().length).toBeLessThan(2_000);
    const many = parse(Array.from({ length: 100_000 }, (_, i) => `p${i}`));
    expect(many.result).toMatchObject({ ok: true });
    expect((many.result as { positionals: string[] }).positionals).toHaveLength(100_000);
  });
});

describe('pickFormat', () => {
  it('txt is the text format; text (any case) is its alias', () => {
    expect(pickFormat('txt', ['txt', 'json'])).toEqual({ ok: true, format: 'txt' });
    expect(pickFormat('text', ['txt', 'json'])).toEqual({ ok: true, format: 'txt' });
    expect(pickFormat('JSON', ['txt', 'json'])).toEqual({ ok: true, format: 'json' });
  });

  it('an unknown format names the valid ones; a hostile value is escaped and cut', () => {
    expect(pickFormat('xml', ['txt', 'json'])).toEqual({ ok: false, message: '--format: unknown format "xml" (valid: txt, json; "text" means txt)' });
    expect(pickFormat('text', ['md', 'json'])).toEqual({ ok: false, message: '--format: unknown format "text" (valid: md, json)' });
    const bad = pickFormat(`\u001b]0;pwned\u0007${'y'.repeat(10_000)}`, ['txt']);
    expect(bad.ok).toBe(false);
    const message = (bad as { message: string }).message;
    expect(message).not.toContain('\u001b');
    expect(message).not.toContain('\u0007');
    expect(message.length).toBeLessThan(150);
  });
});

describe('usage and overview', () => {
  it('usage names every flag with its placeholder, default and repeatability, and wraps the details', () => {
    const text = usage(SPEC);
    expect(text.startsWith('usage: netpol-responder probe <a...> -- <b...> [--format txt|json]\n')).toBe(true);
    expect(text).toMatch(/--format FMT +txt or json \(default: txt\)/);
    expect(text).toMatch(/--learn FILE +a capture \(repeatable\)/);
    expect(text).toMatch(/-q, --quiet +say less/);
    expect(text).toMatch(/-h, --help +show this help and exit/);
    for (const spec of COMMAND_SPECS) expect(usage(spec).split('\n').every((l) => l.length <= 140 || l.startsWith('usage:') || l.startsWith('  -'))).toBe(true);
  });

  it('the overview lists every command with its summary', () => {
    const text = overview(COMMAND_SPECS);
    for (const spec of COMMAND_SPECS) expect(text).toMatch(new RegExp(`\\n  ${spec.name} +${spec.summary.replace(/[()]/g, '\\$&')}\\n`));
    expect(text).toContain('netpol-responder <command> --help');
  });

  it('every command spec is well formed: unique names, flags with help, no clash with -h', () => {
    expect(new Set(COMMAND_SPECS.map((s) => s.name)).size).toBe(COMMAND_SPECS.length);
    for (const spec of COMMAND_SPECS) {
      expect(spec.summary.length).toBeGreaterThan(0);
      expect(spec.synopsis.length).toBeGreaterThan(0);
      for (const [name, flag] of Object.entries(spec.flags)) {
        expect(name).not.toBe('help');
        expect(flag.help.length, `${spec.name} --${name}`).toBeGreaterThan(0);
        expect((flag as { short?: string }).short).not.toBe('h');
      }
    }
  });
});

describe('the Markdown reference', () => {
  it('renders each command with its synopsis and a row per flag, escaping | and Markdown marks', () => {
    const md = cliReference([SPEC]);
    expect(md).toContain('| [`probe`](#netpol-responder-probe) | a command for the tests |');
    expect(md).toContain('#### `netpol-responder probe`');
    expect(md).toContain('```\nnetpol-responder probe <a...> -- <b...> [--format txt|json]\n```');
    expect(md).toContain('| `--format FMT` | txt or json (default: txt) |');
    expect(md).toContain('| `--learn FILE` | a capture (repeatable) |');
    expect(md).toContain('| `-q, --quiet` | say less |');
    expect(md).toContain('A | pipe, a \\*glob\\* and a \\<path\\>.');
    const tableCell = cliReference([{ ...SPEC, flags: { x: { type: 'boolean', help: 'a|b and `c|d`' } } }]);
    expect(tableCell).toContain('| `--x` | a\\|b and `c\\|d` |');
  });

  it('replaces only the text between the markers, and refuses a document without them', () => {
    const doc = `intro\n${START_MARKER}\nold\n${END_MARKER}\noutro\n`;
    expect(replaceReference(doc, 'new\n')).toBe(`intro\n${START_MARKER}\nnew\n${END_MARKER}\noutro\n`);
    expect(replaceReference(replaceReference(doc, 'new'), 'new')).toBe(replaceReference(doc, 'new'));
    expect(() => replaceReference('no markers', 'x')).toThrow(/needs/);
    expect(() => replaceReference(`${END_MARKER}\n${START_MARKER}`, 'x')).toThrow(/needs/);
    expect(() => replaceReference(`${START_MARKER}${END_MARKER}${START_MARKER}${END_MARKER}`, 'x')).toThrow(/more than once/);
  });
});

describe('plain messages', () => {
  it('errno codes become plain words; unknown codes stay', () => {
    expect(cannotRead('/x/y.yaml', 'ENOENT')).toBe('cannot read /x/y.yaml: no such file');
    expect(plainReason('EACCES')).toBe('permission denied');
    expect(plainReason('EPERM')).toBe('permission denied');
    expect(plainReason('EISDIR')).toBe('is a directory');
    expect(plainReason('ENOTDIR')).toBe('a part of the path is not a directory');
    expect(plainReason('EWHATEVER')).toBe('EWHATEVER');
    expect(cannotRead('a\u001b[31mb\nc', 'ENOENT')).toBe('cannot read a\\x1b[31mb\\nc: no such file');
  });

  it('printable escapes control and bidi characters and cuts without splitting a character', () => {
    expect(printable('ok \t\r\n\u0000\u007f\u009b\u202e\ufeff')).toBe('ok \\t\\r\\n\\x00\\x7f\\x9b\\u202e\\ufeff');
    expect(printable('é😀x', 2)).toBe('é😀…');
    expect(printable('abc', 3)).toBe('abc');
    expect(printable('x'.repeat(5_000_000), 10)).toBe(`${'x'.repeat(10)}…`);
  });
});
