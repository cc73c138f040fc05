// The Markdown postmortem's Mermaid timeline: one section per step, events under their times, and
// hostile text (colons, semicolons, #, %%, newlines, backticks, markup) never breaking an item, a
// section or the fence.
import { describe, expect, it } from 'vitest';
import { MERMAID_LIMITS, mermaidText, mermaidTimeline } from '../../src/timeline/mermaid.js';
import { renderMarkdown } from '../../src/timeline/render.js';
import { atS, HOSTILE, recordedIncident } from '../helpers/postmortem-fixture.js';

/** The ```mermaid block of a document, checked line by line for the timeline grammar. */
function mermaidBlock(md: string): string[] {
  const lines = md.split('\n');
  const start = lines.indexOf('```mermaid');
  expect(start).toBeGreaterThan(-1);
  const end = lines.indexOf('```', start + 1);
  expect(end).toBeGreaterThan(start);
  return lines.slice(start + 1, end);
}

function expectWellFormed(block: string[]): void {
  expect(block[0]).toBe('timeline');
  expect(block[1]).toMatch(/^ {4}title [^:;#`\n]+$/);
  for (const line of block.slice(2)) {
    if (line.startsWith('    section ')) {
      expect(line.slice('    section '.length)).toMatch(/^[^:;#`%]+$/);
      continue;
    }
    // An item: `        TIME : event ( : event)*`, no colon, semicolon, hash, %, backtick inside a part.
    expect(line).toMatch(/^ {8}\S/);
    const parts = line.trim().split(' : ');
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const part of parts) {
      expect(part.length).toBeGreaterThan(0);
      expect(part).not.toMatch(/[:;#`%\n\r]/);
    }
  }
}

describe('Mermaid timeline in the Markdown postmortem', () => {
  it('one section per step in the order they began, events under their UTC times', () => {
    const md = renderMarkdown(recordedIncident());
    const block = mermaidBlock(md);
    expectWellFormed(block);
    expect(block.filter((l) => l.startsWith('    section ')).map((l) => l.slice(12))).toEqual(['Incident', 'Confirm & Contain', 'Trace & Audit', 'Validate Rules', 'Restore Safe State']);
    expect(block).toContain('        10∶00∶33 : Proven by the engine∶ contained');
    // The block sits in the Timeline section, before the table.
    expect(md.indexOf('```mermaid')).toBeGreaterThan(md.indexOf('## Timeline'));
    expect(md.indexOf('```mermaid')).toBeLessThan(md.indexOf('| Time (UTC) | Actor | Step | Event |'));
  });

  it('hostile text cannot end an item, a section or the fence', () => {
    const md = renderMarkdown(recordedIncident({ hostile: true }));
    const block = mermaidBlock(md);
    expectWellFormed(block);
    expect(block.join('\n')).not.toContain('```');
    expect(block.join('\n')).not.toMatch(/<script|<img|<\/style/);
    for (const line of block) expect(line.length).toBeLessThan(MERMAID_LIMITS.text * MERMAID_LIMITS.perTime + 100);
  });

  it.each([
    ['colons', 'a: b:c', 'a∶ b∶c'],
    ['semicolons and hashes', 'x; y #35; z', 'x⁏ y ＃35⁏ z'],
    ['newlines of every kind', 'one\ntwo\r\nthree\u2028four', 'one two three four'],
    ['a comment', '%% not a comment', '％％ not a comment'],
    ['a fence', '``` closes', 'ʹʹʹ closes'],
    ['markup and a Slack mention', '<b>x</b> <@U1>', '‹b›x‹/b› @U1'],
    ['Slack bold', '*Most likely cause*', 'Most likely cause'],
    ['braces', '{a}', '❴a❵'],
    ['control characters', 'a\u0007b', 'a\\x07b'],
    ['empty text', '   ', '(no text)'],
  ])('escapes %s', (_case, input, expected) => {
    expect(mermaidText(input)).toBe(expected);
  });

  it('caps each item, each section and the whole chart, saying how many more', () => {
    expect(mermaidText('x'.repeat(10_000))).toBe(`${'x'.repeat(MERMAID_LIMITS.text)}…`);
    const events = Array.from({ length: MERMAID_LIMITS.events + 10 }, (_, i) => ({ at: atS(i).toISOString(), step: i % 2 ? 'a' : 'b', summary: `event ${i}` }));
    const block = mermaidTimeline('t', events, (s) => s ?? 'Incident');
    expect(block[0]).toBe('```mermaid');
    expect(block[block.length - 1]).toBe('```');
    expectWellFormed(block.slice(1, -1));
    expect(block.filter((l) => /^ {8}\d/.test(l))).toHaveLength(2 * MERMAID_LIMITS.perSection);
    expect(block).toContain(`        later : … and ${MERMAID_LIMITS.events / 2 - MERMAID_LIMITS.perSection} more events`);
    expect(block.at(-2)).toBe(`        later : … and 10 more events (see the table below)`);
  });

  it('groups events of the same second, at most a few per item', () => {
    const events = Array.from({ length: MERMAID_LIMITS.perTime + 3 }, (_, i) => ({ at: atS(0).toISOString(), step: 'a', summary: `e${i}` }));
    const block = mermaidTimeline('t', events, () => 'A');
    const item = block.find((l) => l.startsWith('        10∶00∶00'))!;
    expect(item.split(' : ')).toHaveLength(1 + MERMAID_LIMITS.perTime + 1);
    expect(item.endsWith('… and 3 more')).toBe(true);
  });

  it('no events: no block; unusable times read "unknown time"', () => {
    expect(mermaidTimeline('t', [], () => 'x')).toEqual([]);
    expect(mermaidTimeline('t', [{ at: 'never', summary: 's' }], () => 'x')).toContain('        unknown time : s');
    expect(HOSTILE.reason).toContain('\n');
  });
});
