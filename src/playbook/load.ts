// Loads a playbook and reports any problem as `file:line:col: path: reason`, so a user who edits
// the YAML is pointed at the exact spot.
import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { printable } from '../printable.js';
import { playbookSchema, type Playbook } from './schema.js';

export class PlaybookError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid playbook:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'PlaybookError';
  }
}

export interface StepActionCheck {
  /** Names of the step actions this version implements. */
  actions: ReadonlySet<string>;
  /** Validates a step's params for its action; returns problems keyed by sub-path. */
  validateParams(action: string, params: unknown): { path: (string | number)[]; message: string }[];
}

const MAX_PLAYBOOK_BYTES = 256 * 1024;

function positionOf(document: Document, lines: LineCounter, path: (string | number | symbol)[]): string {
  // Walk up the path until a node exists (a missing key points at its parent).
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node = document.getIn(path.slice(0, depth) as (string | number)[], true);
    if (isNode(node) && node.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return `${line}:${col}`;
    }
  }
  return '1:1';
}

export function parsePlaybook(text: string, file: string, check?: StepActionCheck): Playbook {
  if (Buffer.byteLength(text) > MAX_PLAYBOOK_BYTES) throw new PlaybookError([`${file}: larger than 256 KiB`]);
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new PlaybookError(
      document.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${file}:${pos ? `${pos.line}:${pos.col}` : '1:1'}: YAML syntax: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 50 });
  } catch (error) {
    throw new PlaybookError([`${file}:1:1: ${(error as Error).message}`]);
  }
  const parsed = playbookSchema.safeParse(data);
  const describe = (issues: Pick<z.core.$ZodIssue, 'path' | 'message'>[]): string[] =>
    // The path and the message may quote the file (an unrecognized key): escaped and bounded.
    issues.map((i) => `${file}:${positionOf(document, lines, i.path)}: ${i.path.length ? printable(i.path.join('.'), 200) : '(root)'}: ${printable(i.message, 1000)}`);
  if (!parsed.success) throw new PlaybookError(describe(parsed.error.issues));

  if (check) {
    const problems: Pick<z.core.$ZodIssue, 'path' | 'message'>[] = [];
    parsed.data.steps.forEach((step, index) => {
      if (!check.actions.has(step.action)) {
        problems.push({
          path: ['steps', index, 'action'],
          message: `unknown action "${step.action}" (this version implements: ${[...check.actions].join(', ')})`,
        });
        return;
      }
      for (const p of check.validateParams(step.action, step.params)) {
        problems.push({ path: ['steps', index, 'params', ...p.path], message: p.message });
      }
    });
    if (problems.length > 0) throw new PlaybookError(describe(problems));
  }
  return parsed.data;
}

export function loadPlaybook(file: string, check?: StepActionCheck): Playbook {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PlaybookError([`${file}: cannot read the file: ${(error as Error).message}`]);
  }
  return parsePlaybook(text, file, check);
}
