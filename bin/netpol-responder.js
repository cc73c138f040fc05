#!/usr/bin/env node
// Runs the CLI. In a git checkout (src/ is there) it runs the TypeScript source through tsx, a
// devDependency, so a stale dist/ never shadows the code being edited. The npm package and the
// image hold no src/: they run the compiled dist/.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const source = new URL('../src/cli.ts', import.meta.url);
const compiled = new URL('../dist/cli.js', import.meta.url);

async function loadTsx() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch {
    return undefined;
  }
}

const register = existsSync(source) ? await loadTsx() : undefined;
if (register) {
  register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write('netpol-responder: neither dist/cli.js nor tsx is installed: run `npm ci && npm run build` in the checkout\n');
  process.exit(1);
}
