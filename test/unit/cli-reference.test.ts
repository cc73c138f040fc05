// The README's CLI reference is the one `npm run docs:cli` generates from the commands' specs:
// a flag added, renamed or re-worded without regenerating it fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliReference, END_MARKER, replaceReference, START_MARKER } from '../../src/commands/reference.js';
import { COMMAND_SPECS } from '../../src/commands/specs.js';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

describe("README's CLI reference", () => {
  it('is the text generated from COMMAND_SPECS (run `npm run docs:cli` after changing a spec)', () => {
    const section = (doc: string): string => doc.slice(doc.indexOf(START_MARKER), doc.indexOf(END_MARKER) + END_MARKER.length);
    expect(section(readme)).toBe(section(replaceReference(readme, cliReference(COMMAND_SPECS))));
  });

  it('documents every flag of every command', () => {
    const section = readme.slice(readme.indexOf(START_MARKER), readme.indexOf(END_MARKER));
    for (const spec of COMMAND_SPECS) {
      expect(section).toContain(`#### \`netpol-responder ${spec.name}\``);
      for (const name of Object.keys(spec.flags)) expect(section, `${spec.name} --${name}`).toMatch(new RegExp(`\\| \`(-\\w, )?--${name}\\b`));
    }
  });
});
