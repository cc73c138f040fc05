// Entry point: `netpol-responder <command> [args]`. Each command lives in src/commands/<name>.ts
// and is loaded lazily so that, e.g., `lint` in CI does not pull in Slack or Redis code; the list
// of commands and their summaries come from the specs in src/commands/specs.ts.
import { printable } from './printable.js';
import { overview, type CommandSpec } from './commands/spec.js';
import { COMMAND_SPECS } from './commands/specs.js';

type CommandModule = { run(argv: string[]): Promise<number> };

const loaders: Record<string, (argv: string[]) => Promise<CommandModule>> = {
  serve: () => import('./commands/serve.js'),
  // `demo send` talks to a running demo: it loads none of the environment `demo` starts.
  demo: async (argv) => (argv[0] === 'send' ? { run: async (args) => (await import('./commands/demo-send.js')).run(args.slice(1)) } : import('./commands/demo.js')),
  export: () => import('./commands/export.js'),
  analyze: () => import('./commands/analyze.js'),
  diff: () => import('./commands/diff.js'),
  lint: () => import('./commands/lint.js'),
  test: () => import('./commands/test.js'),
  replay: () => import('./commands/replay.js'),
  trace: () => import('./commands/trace.js'),
  audit: () => import('./commands/audit-report.js'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    process.stderr.write(overview(COMMAND_SPECS));
    return 2;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    process.stdout.write(overview(COMMAND_SPECS));
    return 0;
  }
  // `help <command>` is `<command> --help`.
  const [commandName, commandArgs] = name === 'help' ? [rest[0] as string, ['--help']] : [name, rest];
  const spec: CommandSpec | undefined = COMMAND_SPECS.find((s) => s.name === commandName);
  const load = spec ? loaders[spec.name] : undefined;
  if (!load) {
    process.stderr.write(`unknown command "${printable(commandName, 60)}"\n\n${overview(COMMAND_SPECS)}`);
    return 2;
  }
  const module = await load(commandArgs);
  return module.run(commandArgs);
}

// `netpol-responder analyze … | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`netpol-responder: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
