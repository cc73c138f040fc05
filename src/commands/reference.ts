// The README's CLI reference, rendered from the commands' specs (pure): the same flags and help
// text that `--help` prints, so the two cannot drift apart. `npm run docs:cli` writes it into the
// README between the markers below; a test fails when the README holds anything else.
import { allFlags, flagHelp, flagLabel, type CommandSpec } from './spec.js';

export const START_MARKER = '<!-- cli-reference:start -->';
export const END_MARKER = '<!-- cli-reference:end -->';

/** Inside a Markdown table cell a `|` ends the cell, even in a code span, unless escaped. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** Plain help text as Markdown: `*`, `_`, `<` and `>` escaped outside code spans (globs, <path>). */
function prose(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[*_<>]/g, (ch) => `\\${ch}`)))
    .join('');
}

function commandSection(spec: CommandSpec): string {
  const rows = allFlags(spec).map(([name, flag]) => `| ${cell(`\`${flagLabel(name, flag)}\``)} | ${cell(prose(flagHelp(flag)))} |`);
  return [
    `#### \`netpol-responder ${spec.name}\``,
    '',
    prose(`${spec.summary.charAt(0).toUpperCase()}${spec.summary.slice(1)}.`),
    '',
    '```',
    ...spec.synopsis.map((s) => `netpol-responder ${spec.name} ${s}`.trimEnd()),
    '```',
    '',
    '| option | meaning |',
    '|---|---|',
    ...rows,
    ...(spec.details ? spec.details.trim().split('\n').flatMap((p) => ['', prose(p)]) : []),
  ].join('\n');
}

/** The whole reference: a table of commands, then each command's usage and options. */
export function cliReference(specs: readonly CommandSpec[]): string {
  const index = ['| command | what it does |', '|---|---|', ...specs.map((s) => `| [\`${s.name}\`](#netpol-responder-${s.name}) | ${cell(prose(s.summary))} |`)];
  return [...index, ...specs.map((s) => `\n${commandSection(s)}`)].join('\n');
}

/** The document with the text between the markers replaced (markers kept, on their own lines). */
export function replaceReference(document: string, reference: string): string {
  const start = document.indexOf(START_MARKER);
  const end = document.indexOf(END_MARKER);
  if (start === -1 || end === -1 || end < start) throw new Error(`the document needs ${START_MARKER} followed by ${END_MARKER}`);
  if (document.indexOf(START_MARKER, start + 1) !== -1 || document.indexOf(END_MARKER, end + 1) !== -1) throw new Error('the reference markers appear more than once');
  return `${document.slice(0, start + START_MARKER.length)}\n${reference.trim()}\n${document.slice(end)}`;
}
