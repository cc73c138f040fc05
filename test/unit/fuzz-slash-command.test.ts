// Property tests: `/netpol …` command text and the label selectors it carries.
// Runs per property: FUZZ_RUNS (default 200, fixed seed; more runs go in chunks of 1000, seeds seed, seed+1, ...); e.g. `FUZZ_RUNS=20000 npx vitest run test/unit/fuzz-slash-command.test.ts`.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LabelSelectorSyntaxError, MAX_SELECTOR_LENGTH, parseLabelSelector } from '../../src/kube/label-selector.js';
import { HELP_TEXT, MAX_COMMAND_TEXT, parseNetpolCommand, type NetpolCommand } from '../../src/slack/commands.js';
import { expectClearMessage, expectNoPollution, FUZZ_TIMEOUT_MS, fuzzAssert, fuzzOptions, HOSTILE_KEYS } from '../helpers/fuzz.js';

const SEED = 13_001;
const MESSAGE_MAX = 600 + HELP_TEXT.length;

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });
afterEach(() => expectNoPollution());

const VERBS = ['incident', 'status', 'export', 'restore', 'help', 'INCIDENT', 'Restore', 'bogus'];
const word: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('db', 'app=postgres', 'tier in (a,b)', '!legacy', '--', 'inc-20260101-abcd', 'md', 'json', 'html', 'main:abc123', '-rf', ':x', ...HOSTILE_KEYS),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.stringMatching(/^[a-z0-9=!(),./ -]{0,40}$/),
);
const commandText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.tuple(fc.constantFrom(...VERBS), fc.array(word, { maxLength: 8 }), fc.constantFrom(' ', '  ', '\t', '\n', '\u00a0', '\u2028')).map(([verb, words, sep]) => [verb, ...words].join(sep)),
  fc.integer({ min: MAX_COMMAND_TEXT - 2, max: MAX_COMMAND_TEXT * 50 }).map((n) => `incident db ${'a'.repeat(n)}`),
  fc.integer({ min: 1, max: 5000 }).map((n) => `incident db ${'('.repeat(n)}`),
);

function checkCommand(result: NetpolCommand): void {
  expect(['incident', 'status', 'export', 'restore', 'help', 'invalid']).toContain(result.kind);
  if (result.kind === 'invalid') expectClearMessage(result.message, MESSAGE_MAX);
}

describe('parseNetpolCommand: any text', () => {
  it('returns a command or an invalid result with a clear message; never throws', async () => {
    await fuzzAssert(
      fc.property(commandText, (text) => {
        checkCommand(parseNetpolCommand(text));
      }),
      fuzzOptions(SEED),
    );
  });

  it('an incident with a selector: parsed labels are well-formed, or the refusal says why', async () => {
    await fuzzAssert(
      fc.property(fc.string({ maxLength: 200 }), (selector) => {
        const result = parseNetpolCommand(`incident db ${selector}`);
        checkCommand(result);
        if (result.kind === 'incident' && result.labelSelector) {
          for (const [k, v] of Object.entries(result.labelSelector.matchLabels ?? {})) expect(typeof k === 'string' && typeof v === 'string').toBe(true);
        }
      }),
      fuzzOptions(SEED + 1),
    );
  });
});

const selectorText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.constantFrom('app', '=', '==', '!=', ',', ' in ', ' notin ', '(', ')', '!', 'a', 'b/c', 'x.io/y', ' ', '__proto__', 'constructor', '-', '.'), { maxLength: 40 }).map((parts) => parts.join('')),
  fc.integer({ min: MAX_SELECTOR_LENGTH - 2, max: MAX_SELECTOR_LENGTH * 20 }).map((n) => `app in (${'a,'.repeat(n / 2)}b)`),
  fc.tuple(fc.integer({ min: 60, max: MAX_SELECTOR_LENGTH }), fc.constantFrom('k', '-', '/', '\u0007')).map(([n, c]) => `${c.repeat(n)}=v`),
);

describe('parseLabelSelector: any text', () => {
  it('returns a selector or throws only LabelSelectorSyntaxError with a bounded message', async () => {
    await fuzzAssert(
      fc.property(selectorText, (text) => {
        try {
          const parsed = parseLabelSelector(text);
          for (const [k, v] of Object.entries(parsed.matchLabels)) expect(typeof k === 'string' && typeof v === 'string').toBe(true);
          for (const expression of parsed.matchExpressions) expect(['In', 'NotIn', 'Exists', 'DoesNotExist']).toContain(expression.operator);
        } catch (error) {
          expect(error).toBeInstanceOf(LabelSelectorSyntaxError);
          expectClearMessage((error as Error).message, 450);
        }
      }),
      fuzzOptions(SEED + 2),
    );
  });

  it('a `__proto__` label key does not reach Object.prototype', () => {
    for (const text of ['__proto__=x', 'constructor=y', '__proto__ in (a)', 'toString=z']) {
      try {
        parseLabelSelector(text);
      } catch (error) {
        expect(error).toBeInstanceOf(LabelSelectorSyntaxError);
      }
    }
    expectNoPollution();
  });
});

describe('counterexamples found by the properties (kept as examples)', () => {
  it('a control character typed as the command is shown escaped, not echoed raw', () => {
    const result = parseNetpolCommand('\u0000');
    expect(result.kind).toBe('invalid');
    expect(result.kind === 'invalid' && result.message.split('\n')[0]).toBe('Unknown command `\\x00`.');
  });

  it('a selector with control or bidi characters: the error escapes them', () => {
    expect(() => parseLabelSelector('\u0000')).toThrow('invalid label selector "\\x00": control character at position 0');
    const result = parseNetpolCommand('incident db app=\u202egnp.exe');
    expect(result.kind).toBe('invalid');
    expect(result.kind === 'invalid' && result.message).not.toContain('\u202e');
  });

  it('a selector error quoting a 4000-character key stays short', () => {
    try {
      parseLabelSelector(`${'k'.repeat(4000)}=v`);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LabelSelectorSyntaxError);
      expect((error as Error).message.length).toBeLessThanOrEqual(450);
    }
  });
});
