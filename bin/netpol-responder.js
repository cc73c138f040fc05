#!/usr/bin/env node
// Runs the compiled CLI (dist/, what the npm package and the image hold). In a git checkout that
// has not been built, it runs the TypeScript source through tsx, a devDependency.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const compiled = new URL('../dist/cli.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('netpol-responder: dist/cli.js is missing and tsx is not installed: run `npm ci && npm run build` in the checkout\n');
    process.exit(1);
  }
  register();
  await import('../src/cli.ts');
}
