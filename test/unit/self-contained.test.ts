// A clone of the repository must be enough: no code, test or document may reach outside it.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
// Spelled in pieces so that this file does not match itself.
const DIR = 'shared';
const OUTSIDE = new RegExp(`\\.\\./${DIR}\\b|/work/${DIR}\\b|${DIR}/(fixtures|DESIGN)`);

function files(dir: string, keep: (name: string) => boolean, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files(full, keep, out);
    else if (keep(entry.name)) out.push(full);
  }
  return out;
}

const isText = (name: string): boolean => /\.(ts|js|json|ya?ml|md|proto)$/.test(name);

describe('the repository is self-contained', () => {
  it('nothing under src/ or test/ refers to the shared folder outside the clone', () => {
    const offenders = [...files(join(root, 'src'), isText), ...files(join(root, 'test'), isText)]
      .filter((file) => !file.includes(`${join('test', 'fixtures')}`))
      .filter((file) => OUTSIDE.test(readFileSync(file, 'utf8')))
      .map((file) => relative(root, file));
    expect(offenders).toEqual([]);
  });

  it('the README and docs link only to files inside the repository (or to web addresses)', () => {
    const documents = [join(root, 'README.md'), ...files(join(root, 'docs'), (n) => n.endsWith('.md'))];
    const broken: string[] = [];
    for (const doc of documents) {
      const text = readFileSync(doc, 'utf8');
      if (OUTSIDE.test(text)) broken.push(`${relative(root, doc)}: mentions the shared folder outside the clone`);
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = (match[1] ?? '').split('#')[0] ?? '';
        if (target === '' || /^[a-z]+:/i.test(target)) continue;
        const path = resolve(dirname(doc), target);
        if (!path.startsWith(root + '/') || !existsSync(path)) broken.push(`${relative(root, doc)}: ${match[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
