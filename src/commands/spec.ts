// One description per CLI command: its flags drive the argument parser, `--help` and the
// README's CLI reference, so the three cannot disagree.
import { parseArgs } from 'node:util';
import { printable } from '../printable.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder of the value in usage lines, e.g. FILE, N, FMT. */
  arg?: string;
  default?: string | boolean;
  multiple?: boolean;
  /** One line: what the flag does. */
  help: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface CommandSpec<F extends FlagSpecs = FlagSpecs> {
  name: string;
  /** One line, shown in `netpol-responder --help`. */
  summary: string;
  /** What follows `netpol-responder <name>` on each usage line, e.g. `<path...> [options]`. */
  synopsis: readonly string[];
  flags: F;
  /** Free text after the flag list (arguments, examples). */
  details?: string;
}

type FlagValue<S extends FlagSpec> = S['type'] extends 'boolean' ? boolean : S['multiple'] extends true ? string[] : string;
export type FlagValues<F extends FlagSpecs> = { [K in keyof F]?: FlagValue<F[K]> } & { help?: boolean };

export interface ParsedCommand<F extends FlagSpecs> {
  values: FlagValues<F>;
  positionals: string[];
  /** Positionals before and after a `--` terminator (`after` is undefined when there is none). */
  before: string[];
  after?: string[];
}

export type ParseOutcome<F extends FlagSpecs> = ({ ok: true } & ParsedCommand<F>) | { ok: false; exitCode: 0 | 2 };

export interface Output {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const HELP_FLAG: FlagSpec = { type: 'boolean', short: 'h', help: 'show this help and exit' };

export function flagLabel(name: string, flag: FlagSpec): string {
  const long = `--${name}${flag.type === 'string' ? ` ${flag.arg ?? 'VALUE'}` : ''}`;
  return flag.short ? `-${flag.short}, ${long}` : long;
}

/** The flag's help with what the label cannot say: its default and whether it may be repeated. */
export function flagHelp(flag: FlagSpec): string {
  const fallback = flag.default !== undefined && flag.default !== false ? ` (default: ${String(flag.default)})` : '';
  return `${flag.help}${fallback}${flag.multiple ? ' (repeatable)' : ''}`;
}

/** Every flag of a command, `--help` included, in the order usage lists them. */
export function allFlags(spec: CommandSpec): [string, FlagSpec][] {
  return Object.entries({ ...spec.flags, help: HELP_FLAG });
}

/** Word-wraps one paragraph for a terminal; continuation lines are indented by two spaces. */
function wrap(paragraph: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of paragraph.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}

/** The text `--help` prints. */
export function usage(spec: CommandSpec): string {
  const lines = spec.synopsis.map((s, i) => `${i === 0 ? 'usage:' : '      '} netpol-responder ${spec.name} ${s}`.trimEnd());
  const flags = allFlags(spec);
  const width = Math.max(...flags.map(([name, f]) => flagLabel(name, f).length));
  const flagLines = flags.map(([name, f]) => `  ${flagLabel(name, f).padEnd(width)}  ${flagHelp(f)}`);
  return [...lines, '', spec.summary, '', 'options:', ...flagLines, ...(spec.details ? ['', ...spec.details.trim().split('\n').flatMap((p, i) => [...(i > 0 ? [''] : []), ...wrap(p)])] : []), ''].join('\n');
}

/** `netpol-responder --help`: the commands and their one-line summaries. */
export function overview(specs: readonly CommandSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length));
  const lines = specs.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`);
  return ['usage: netpol-responder <command> [options]', '', 'commands:', ...lines, '', 'Run `netpol-responder <command> --help` for its options.', ''].join('\n');
}

/** Bad usage found after parsing (a missing argument, a bad value): the reason, then usage; exit 2. */
export function usageError(spec: CommandSpec, message: string, out: Output = process): 2 {
  out.stderr.write(`${printable(message, 500)}\n\n${usage(spec)}`);
  return 2;
}

/**
 * Parses argv for a command. Flags may come before or after positionals and before or after a
 * `--` terminator (everything after `--` that looks like a known flag is still a flag, so
 * `diff a -- b --format json` works). `--help`/`-h` prints usage and asks for exit 0; a bad flag
 * prints the reason and usage and asks for exit 2.
 */
export function parseCommand<F extends FlagSpecs>(spec: CommandSpec<F>, argv: readonly string[], out: Output = process): ParseOutcome<F> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }> = {};
  for (const [name, f] of allFlags(spec)) {
    options[name] = { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}), ...(f.default !== undefined && !f.multiple ? { default: f.default } : {}) };
  }
  const terminator = argv.indexOf('--');
  // Known flags after `--` are lifted in front of it; anything else there stays positional.
  const head = terminator === -1 ? [...argv] : argv.slice(0, terminator);
  const tail: string[] = [];
  if (terminator !== -1) {
    const rest = argv.slice(terminator + 1);
    for (let i = 0; i < rest.length; i++) {
      const arg = rest[i] as string;
      const name = flagName(arg, options);
      if (name === undefined) {
        tail.push(arg);
        continue;
      }
      head.push(arg);
      if (options[name]?.type === 'string' && !arg.includes('=') && i + 1 < rest.length) head.push(rest[++i] as string);
    }
  }
  // Asking for help wins over any other mistake on the line.
  if (head.includes('--help') || head.includes('-h')) {
    out.stdout.write(usage(spec));
    return { ok: false, exitCode: 0 };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: head, options, allowPositionals: true, strict: true });
  } catch (error) {
    return { ok: false, exitCode: usageError(spec, (error as Error).message, out) };
  }
  const values = parsed.values as FlagValues<F>;
  const before = parsed.positionals;
  const after = terminator === -1 ? undefined : tail;
  return { ok: true, values, positionals: [...before, ...(after ?? [])], before, after };
}

function flagName(arg: string, options: Record<string, { short?: string }>): string | undefined {
  if (arg.startsWith('--')) {
    const name = arg.slice(2).split('=')[0] ?? '';
    return name in options ? name : undefined;
  }
  if (/^-[A-Za-z]$/.test(arg)) return Object.entries(options).find(([, o]) => o.short === arg.slice(1))?.[0];
  return undefined;
}

/** `txt` is the text format everywhere; `text` is accepted as its alias. */
const FORMAT_ALIASES: Record<string, string> = { text: 'txt' };

/** The format named by a flag value, or an error that lists the valid ones. */
export function pickFormat<T extends string>(value: string, valid: readonly T[], flag = '--format'): { ok: true; format: T } | { ok: false; message: string } {
  const normalized = (FORMAT_ALIASES[value.toLowerCase()] ?? value.toLowerCase()) as T;
  if (valid.includes(normalized)) return { ok: true, format: normalized };
  return { ok: false, message: `${flag}: unknown format "${printable(value, 40)}" (valid: ${valid.join(', ')}${valid.includes('txt' as T) ? '; "text" means txt' : ''})` };
}
