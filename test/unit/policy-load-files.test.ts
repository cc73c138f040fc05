// Reading manifests: syntax by name or by content, standard input, bounded reads and paths that
// cannot be read (reported with their errno code, never thrown).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseManifestText, readBounded, readManifests } from '../../src/policy/load-files.js';

const tmp = mkdtempSync(join(tmpdir(), 'load-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const names = (r: { inputs: { object: unknown }[] }) => r.inputs.map((i) => (i.object as { metadata?: { name?: string } }).metadata?.name);

describe('parseManifestText', () => {
  it('auto: JSON when it starts like JSON and parses, else YAML; a BOM is ignored', () => {
    expect(names(parseManifestText('{"kind":"Namespace","metadata":{"name":"j"}}', 'stdin', 'auto'))).toEqual(['j']);
    expect(names(parseManifestText('\ufeff{"kind":"Namespace","metadata":{"name":"b"}}', 'stdin', 'auto'))).toEqual(['b']);
    // A YAML flow mapping starts like JSON but is not: YAML takes it.
    expect(names(parseManifestText('{kind: Namespace, metadata: {name: y}}', 'stdin', 'auto'))).toEqual(['y']);
    expect(names(parseManifestText('kind: Namespace\nmetadata: {name: a}\n---\nkind: Namespace\nmetadata: {name: b}\n', 'stdin', 'auto'))).toEqual(['a', 'b']);
  });

  it('auto: broken JSON is reported as JSON, with JSON.parse reason', () => {
    const r = parseManifestText('{"kind": "Pod", "metadata": {', 'stdin', 'auto');
    expect(r.inputs).toEqual([]);
    expect(r.issues).toEqual([expect.objectContaining({ severity: 'error', source: 'stdin', message: expect.stringMatching(/^invalid JSON: /) })]);
  });

  it('syntax follows the extension: .json is strict JSON, an unknown extension is sniffed', () => {
    expect(parseManifestText('kind: Namespace', 'x.json').issues[0]?.message).toMatch(/invalid JSON/);
    expect(names(parseManifestText('{"kind":"Namespace","metadata":{"name":"t"}}', 'x.txt'))).toEqual(['t']);
  });
});

describe('readBounded', () => {
  it('returns the text, decoding UTF-8 split across chunks', async () => {
    const bytes = Buffer.from('name: é😀', 'utf8');
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    expect(await readBounded(Readable.from(chunks), 100)).toBe('name: é😀');
  });

  it('stops and returns null once the stream passes the limit', async () => {
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled += 1;
        this.push(Buffer.alloc(1024, 0x61));
      },
    });
    expect(await readBounded(endless, 10 * 1024)).toBeNull();
    expect(pulled).toBeLessThan(20);
  });
});

describe('readManifests', () => {
  it('reads "-" from the given stream, named stdin, next to files', async () => {
    const f = join(tmp, 'ns.yaml');
    writeFileSync(f, 'kind: Namespace\nmetadata: {name: file}\n');
    const r = await readManifests([f, '-'], { stdin: Readable.from(['kind: Namespace\nmetadata: {name: piped}\n']) });
    expect(names(r)).toEqual(['file', 'piped']);
    expect(r.inputs[1]?.source).toBe('stdin');
    expect(r.files).toBe(2);
  });

  it('reports unreadable paths with their code: missing, under a file, a dangling link', async () => {
    const f = join(tmp, 'plain.yaml');
    writeFileSync(f, 'kind: Namespace\nmetadata: {name: p}\n');
    symlinkSync(join(tmp, 'nowhere'), join(tmp, 'dangling.yaml'));
    const r = await readManifests([join(tmp, 'missing'), join(f, 'x'), join(tmp, 'dangling.yaml')]);
    expect(r.unreadable).toEqual([
      { path: join(tmp, 'missing'), code: 'ENOENT' },
      { path: join(f, 'x'), code: 'ENOTDIR' },
      { path: join(tmp, 'dangling.yaml'), code: 'ENOENT' },
    ]);
  });

  it('a file or stdin over the limit is an error issue; empty stdin too', async () => {
    const d = join(tmp, 'limits');
    mkdirSync(d);
    writeFileSync(join(d, 'big.yaml'), `kind: Namespace\nmetadata: {name: ${'n'.repeat(2000)}}\n`);
    const big = await readManifests([d], { maxBytes: 1024 });
    expect(big.issues).toEqual([{ severity: 'error', source: join(d, 'big.yaml'), message: 'larger than 1024 bytes' }]);
    const piped = await readManifests(['-'], { stdin: Readable.from([Buffer.alloc(4096, 0x61)]), maxBytes: 1024 });
    expect(piped.issues).toEqual([{ severity: 'error', source: 'stdin', message: 'larger than 1024 bytes' }]);
    const empty = await readManifests(['-'], { stdin: Readable.from([]) });
    expect(empty.issues).toEqual([{ severity: 'error', source: 'stdin', message: 'nothing was read from standard input' }]);
  });
});
