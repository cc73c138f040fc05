// Entry point: `netpol-responder <command> [args]`. Each command lives in src/commands/<name>.ts
// and is loaded lazily so that, e.g., `lint` in CI does not pull in Slack or Redis code.
type CommandModule = { run(argv: string[]): Promise<number> };

const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  serve: { summary: 'run the bot (web, worker and collector roles)', load: () => import('./commands/serve.js') },
  demo: { summary: 'run a whole incident on the embedded environment', load: () => import('./commands/demo.js') },
  export: { summary: 'write an incident postmortem timeline (md|json)', load: () => import('./commands/export.js') },
  analyze: { summary: 'list allowed connections of manifests (or --explain one)', load: () => import('./commands/analyze.js') },
  diff: { summary: 'connections opened/closed between two sets of manifests', load: () => import('./commands/diff.js') },
  lint: { summary: 'check NetworkPolicies; exits non-zero on errors (for CI)', load: () => import('./commands/lint.js') },
  replay: { summary: 'run captured Hubble flows through the anomaly detectors', load: () => import('./commands/replay.js') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: netpol-responder <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
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
