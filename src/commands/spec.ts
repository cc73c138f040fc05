// One description per CLI command: its flags drive the argument parser, `--help` and the
// README's CLI reference, so the three cannot disagree.
import { parseArgs } from 'node:util';

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

function flagLabel(name: string, flag: FlagSpec): string {
  const long = `--${name}${flag.type === 'string' ? ` ${flag.arg ?? 'VALUE'}` : ''}`;
  return flag.short ? `-${flag.short}, ${long}` : long;
}

/** The text `--help` prints. */
export function usage(spec: CommandSpec): string {
  const lines = spec.synopsis.map((s, i) => `${i === 0 ? 'usage:' : '      '} netpol-responder ${spec.name} ${s}`.trimEnd());
  const flags = Object.entries({ ...spec.flags, help: HELP_FLAG });
  const width = Math.max(...flags.map(([name, f]) => flagLabel(name, f).length));
  const flagLines = flags.map(([name, f]) => {
    const fallback = f.default !== undefined && f.default !== false ? ` (default: ${String(f.default)})` : '';
    return `  ${flagLabel(name, f).padEnd(width)}  ${f.help}${fallback}`;
  });
  return [...lines, '', spec.summary, '', 'options:', ...flagLines, ...(spec.details ? ['', spec.details.trimEnd()] : []), ''].join('\n');
}

/**
 * Parses argv for a command. Flags may come before or after positionals and before or after a
 * `--` terminator (everything after `--` that looks like a known flag is still a flag, so
 * `diff a -- b --format json` works). `--help`/`-h` prints usage and asks for exit 0; a bad flag
 * prints the reason and usage and asks for exit 2.
 */
export function parseCommand<F extends FlagSpecs>(spec: CommandSpec<F>, argv: readonly string[], out: Output = process): ParseOutcome<F> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }> = {};
  for (const [name, f] of Object.entries({ ...spec.flags, help: HELP_FLAG })) {
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
  let parsed;
  try {
    parsed = parseArgs({ args: head, options, allowPositionals: true, strict: true });
  } catch (error) {
    out.stderr.write(`${(error as Error).message}\n\n${usage(spec)}`);
    return { ok: false, exitCode: 2 };
  }
  const values = parsed.values as FlagValues<F>;
  if (values.help) {
    out.stdout.write(usage(spec));
    return { ok: false, exitCode: 0 };
  }
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
  return { ok: false, message: `${flag}: unknown format "${value}" (valid: ${valid.join(', ')}${valid.includes('txt' as T) ? '; "text" means txt' : ''})` };
}
